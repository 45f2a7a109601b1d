"""Real Prometheus and Alertmanager for the tests: promtool, amtool, and processes on loopback.

The Debian packages ``prometheus`` (2.42, with promtool) and ``prometheus-alertmanager`` (0.25, with
amtool) provide them; ``scripts/fixtures/install-prometheus.sh`` installs them (``scripts/test.sh``
runs it; CI installs them with apt). Where they are missing a test is skipped locally with the
command to run, and fails when ``CI`` is set.

Every process started here listens on 127.0.0.1 on a free port, keeps its data in a temporary
folder, and is stopped (terminated, then killed) when its context ends: the tests leave nothing running.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

INSTALL = "run scripts/fixtures/install-prometheus.sh (apt-get install prometheus prometheus-alertmanager, as root)"


def tool(name: str) -> str:
    """The path of ``name`` (promtool, prometheus, alertmanager, amtool); skip or fail when missing.
    Debian calls the Alertmanager binary ``prometheus-alertmanager``."""
    names = [name, f"prometheus-{name}"] if name == "alertmanager" else [name]
    found = next((p for n in names for p in (shutil.which(n), f"/usr/bin/{n}") if p and os.access(p, os.X_OK)), None)
    if found is None:
        message = f"{name} not found; {INSTALL}"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI is set: a missing fixture is a failure)")
        pytest.skip(message)
    return found


def run_tool(name: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool(name), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get_json(url: str, timeout: float = 5) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback only
        return json.loads(resp.read())


@dataclass
class Process:
    """A started program, its port and its log file."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def _die_with_parent() -> None:
    """In the child: be sent SIGTERM when the process that started it dies, even killed (Linux
    PR_SET_PDEATHSIG), so that a test or benchmark killed midway leaves no server behind."""
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@contextlib.contextmanager
def started(name: str, argv: Sequence[str], port: int, log: Path, ready_path: str,
            env: dict[str, str] | None = None, timeout: float = 60) -> Iterator[Process]:
    """Start ``argv``, wait until ``GET ready_path`` answers 200, and stop it on exit."""
    with log.open("wb") as out:
        proc = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True, preexec_fn=_die_with_parent)  # noqa: PLW1509
    process = Process(name, proc, port, log)
    try:
        wait_ready(process, ready_path, timeout)
        yield process
    finally:
        stop(proc)


def wait_ready(process: Process, path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.proc.poll() is not None:
            raise AssertionError(f"{process.name} exited {process.proc.returncode}:\n{process.output()}")
        try:
            with urllib.request.urlopen(process.url + path, timeout=2) as resp:  # noqa: S310 - loopback only
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{process.name} not ready after {timeout} s:\n{process.output()}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(15)


def prometheus(tmp: Path, config: dict[str, Any], rule_files: Sequence[Path] = ()) -> contextlib.AbstractContextManager[Process]:
    """A Prometheus with ``config`` (its ``rule_files`` set to ``rule_files``) on a free port.

    ``--rules.alert.resend-delay=1s``: the default (1 min) would hide an alert that fired before
    Alertmanager was discovered for a minute (TESTING.md)."""
    port = free_port()
    folder = tmp / f"prometheus-{port}"
    (folder / "data").mkdir(parents=True)
    path = folder / "prometheus.yml"
    path.write_text(json.dumps({**config, "rule_files": [str(p) for p in rule_files]}))
    argv = [tool("prometheus"), f"--config.file={path}", f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}", "--rules.alert.resend-delay=1s",
            "--storage.tsdb.retention.time=1h", "--web.enable-lifecycle"]
    return started("prometheus", argv, port, folder / "prometheus.log", "/-/ready")


def alertmanager(tmp: Path, config: dict[str, Any]) -> contextlib.AbstractContextManager[Process]:
    """An Alertmanager with ``config`` on a free port; ``--cluster.listen-address=`` turns gossip off."""
    port = free_port()
    folder = tmp / f"alertmanager-{port}"
    (folder / "data").mkdir(parents=True)
    path = folder / "alertmanager.yml"
    path.write_text(json.dumps(config))
    argv = [tool("alertmanager"), f"--config.file={path}", f"--storage.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="]
    return started("alertmanager", argv, port, folder / "alertmanager.log", "/-/ready")


def query(base: str, promql: str) -> list[dict[str, Any]]:
    """The result of an instant query (``/api/v1/query``)."""
    answer = get_json(f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": promql}))
    assert answer["status"] == "success", answer
    return list(answer["data"]["result"])


def alerts(base: str) -> list[dict[str, Any]]:
    """Prometheus's active alerts (pending and firing)."""
    return list(get_json(f"{base}/api/v1/alerts")["data"]["alerts"])
