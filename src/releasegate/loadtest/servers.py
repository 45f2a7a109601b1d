"""Start a model server for the load test and wait until it is ready.

Two kinds (``spec.runtime.kind``):

* ``builtin`` (and ``kserve``, which the gate measures with the built-in server since it
  speaks the same Open Inference Protocol v2): ``python -m releasegate serve ARTIFACT
  --sha256 HEX ...`` on a free loopback port.
* ``external``: ``spec.runtime.external.command`` (a list, never a shell) with the
  placeholders ``{port}``, ``{artifact}``, ``{sha256}``, ``{model}``, ``{version}``
  substituted; ``readinessUrl`` and ``inferUrl`` must be loopback URLs (``{port}``
  allowed). Runs in the repository root.

The wait for readiness is bounded; a server that exits or never answers is a
:class:`ServerError` with the last lines of its log.
"""
from __future__ import annotations

import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import releasegate
from releasegate.errors import InputError
from releasegate.loadtest.errors import ServerError
from releasegate.loadtest.procs import Managed, free_port

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
POLL_SECONDS = 0.1
HTTP_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class ServerSpec:
    """Everything needed to start one side (candidate or baseline) of the comparison."""

    label: str
    model: str
    version: str | None
    kind: str
    artifact: Path | None
    sha256: str | None
    artifact_format: str
    factory: str | None = None
    dtype: str = "float32"
    max_batch: int = 64
    max_delay_ms: float = 2.0
    device: str = "cpu"
    workers: int = 0  # spec.runtime.workers: HTTP worker processes, as render passes them
    startup_timeout: float = 180.0
    input_specs: tuple[str, ...] = ()  # NAME:DATATYPE:DIMS without the batch dimension
    external: Mapping[str, Any] = field(default_factory=dict)
    root: Path = Path(".")

    @property
    def display(self) -> str:
        return f"{self.label} {self.model}@{self.version or '?'}"


@dataclass
class Server:
    """A started model server."""

    spec: ServerSpec
    process: Managed
    base_url: str
    ready_url: str
    infer_url: str
    metadata_url: str | None

    def alive(self) -> bool:
        return self.process.poll() is None

    def exit_code(self) -> int | None:
        return self.process.poll()

    def stop(self) -> None:
        self.process.stop()

    def log_tail(self, lines: int = 20) -> str:
        return self.process.log_tail(lines)

    def crash_error(self, when: str) -> ServerError:
        """The error for a server that exited on its own ``when`` (e.g. 'during phase 3')."""
        return ServerError(
            f"{self.spec.display}: the server exited with code {self.exit_code()} {when}\n"
            f"{_indent(self.log_tail())}",
            "the log lines above are the server's own output; fix the model or runtime",
            code="server-crashed",
        )


def _indent(text: str) -> str:
    lines = text.splitlines() or ["(no output)"]
    return "    last lines of its log:\n" + "\n".join(f"      | {line}" for line in lines)


def builtin_argv(spec: ServerSpec, port: int) -> list[str]:
    """The command line of the built-in server (see docs/serve.md)."""
    if spec.artifact is None or spec.sha256 is None:
        raise InputError(f"{spec.display}: no verified artifact to serve", "set spec.model.artifact.sha256")
    argv = [sys.executable, "-m", "releasegate", "serve", str(spec.artifact), "--sha256", spec.sha256]
    argv += ["--format", spec.artifact_format]
    if spec.factory:
        argv += ["--factory", spec.factory]
    argv += ["--device", spec.device, "--dtype", spec.dtype]
    argv += ["--max-batch", str(spec.max_batch), "--max-delay-ms", f"{spec.max_delay_ms:g}"]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--model-name", spec.model]
    if spec.workers:
        argv += ["--workers", str(spec.workers)]
    for item in spec.input_specs:
        argv += ["--input-spec", item]
    return argv


def _substitute(text: str, values: Mapping[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def loopback_url(url: str, field_name: str) -> str:
    """``url`` if it is an http URL on the loopback interface, else an :class:`InputError`."""
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS:
        raise InputError(
            f"{field_name}: {url!r} is not an http URL on 127.0.0.1/localhost",
            "the load test only ever sends traffic to the loopback interface",
        )
    return url


def _source_env() -> dict[str, str]:
    """Make ``python -m releasegate`` in a child find this very releasegate package."""
    import os

    src = str(Path(releasegate.__file__).resolve().parent.parent)
    old = os.environ.get("PYTHONPATH", "")
    return {"PYTHONPATH": src + (os.pathsep + old if old else "")}


def cpu_threads_env(device: str, cores: int | None = None) -> dict[str, str]:
    """Intra-op threads of a built-in server on the CPU: the cores locust leaves, unless the job set them.

    Torch's default (a thread per core) fights locust for the cores, and the losing
    requests wait a scheduler period or more: a tenth of the requests took 100-200 ms
    instead of 10 on a 2-core runner, so p95 measured the scheduler, not the model.
    The sides take turns, so each server may use all the cores the generator leaves.
    """
    import os

    from releasegate.loadtest.driver import locust_processes

    if device != "cpu" or "OMP_NUM_THREADS" in os.environ:
        return {}
    cores = cores or os.cpu_count() or 1
    return {"OMP_NUM_THREADS": str(max(1, cores - locust_processes(cores)))}


def start(spec: ServerSpec, log_dir: Path) -> Server:
    """Start the server of ``spec`` (not yet waiting for it)."""
    log_path = log_dir / f"server-{spec.label}.log"
    if spec.kind == "external":
        return _start_external(spec, log_path)
    port = free_port()
    env = {**_source_env(), **cpu_threads_env(spec.device)}
    process = Managed(builtin_argv(spec, port), log_path, env=env, cwd=log_dir)
    base = f"http://127.0.0.1:{port}"
    return Server(
        spec, process, base, f"{base}/v2/health/ready", f"{base}/v2/models/{spec.model}/infer",
        f"{base}/v2/models/{spec.model}",
    )


def _start_external(spec: ServerSpec, log_path: Path) -> Server:
    ext = spec.external
    values = {
        "port": str(free_port()),
        "artifact": str(spec.artifact or ""),
        "sha256": spec.sha256 or "",
        "model": spec.model,
        "version": spec.version or "",
    }
    argv = [_substitute(str(a), values) for a in ext.get("command", [])]
    if not argv:
        raise InputError(f"{spec.display}: spec.runtime.external.command is empty", "give the program and its arguments")
    ready = loopback_url(_substitute(str(ext["readinessUrl"]), values), "spec.runtime.external.readinessUrl")
    infer = loopback_url(_substitute(str(ext["inferUrl"]), values), "spec.runtime.external.inferUrl")
    process = Managed(argv, log_path, cwd=spec.root)
    parts = urlsplit(infer)
    # An Open Inference Protocol server describes the model at the infer URL minus /infer.
    metadata = infer[: -len("/infer")] if parts.path.endswith("/infer") and not parts.query else None
    return Server(spec, process, f"{parts.scheme}://{parts.netloc}", ready, infer, metadata)


def wait_ready(server: Server, timeout: float) -> float:
    """Poll the readiness URL until it answers 200; the seconds it took.

    Raises :class:`ServerError` (with the log tail) when the server exits first or
    is not ready within ``timeout`` seconds. The server is left running either way:
    the caller stops it.
    """
    started = time.monotonic()
    while True:
        if not server.alive():
            raise ServerError(
                f"{server.spec.display}: the server exited with code {server.exit_code()} "
                f"before it was ready\n{_indent(server.log_tail())}",
                "the log lines above are the server's own output (a model that does not load?)",
                code="server-not-ready",
            )
        if _http_ok(server.ready_url):
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise ServerError(
                f"{server.spec.display}: not ready after {timeout:g} s "
                f"({server.ready_url} never answered 200)\n{_indent(server.log_tail())}",
                "raise spec.runtime.external.startupTimeoutSeconds or the profile's "
                "startupTimeoutSeconds if the model just loads slowly",
                code="server-not-ready",
            )
        time.sleep(POLL_SECONDS)


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_SECONDS) as response:  # noqa: S310 - loopback only
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def fetch_json(url: str) -> Any:
    """GET ``url`` and decode JSON; None when it fails."""
    import json

    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_SECONDS) as response:  # noqa: S310
            return json.loads(response.read().decode("utf-8"))
    except (urllib.error.URLError, OSError, ValueError):
        return None
