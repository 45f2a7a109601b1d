"""Starting servers: command lines, loopback-only URLs, bounded readiness waits with the log tail."""
from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

import pytest

from releasegate.errors import InputError
from releasegate.loadtest.errors import ServerError
from releasegate.loadtest.servers import ServerSpec, builtin_argv, loopback_url, start, wait_ready


def _external(command: list[str], ready: str = "http://127.0.0.1:{port}/ready", timeout: float = 2.0) -> ServerSpec:
    return ServerSpec(label="candidate", model="m", version="1.0.0", kind="external", artifact=Path("/a.pt"),
                      sha256="0" * 64, artifact_format="torchscript", startup_timeout=timeout,
                      external={"command": command, "readinessUrl": ready, "inferUrl": "http://127.0.0.1:{port}/v2/models/m/infer"})


def test_builtin_command_line() -> None:
    spec = ServerSpec(label="baseline", model="sentiment", version="1.4.0", kind="builtin", artifact=Path("/m.pt2"),
                      sha256="a" * 64, artifact_format="torch-export", factory="bert-base", dtype="bfloat16",
                      max_batch=64, max_delay_ms=2.0, device="cuda", input_specs=("x:FP32:64",))
    argv = builtin_argv(spec, 8123)
    assert argv[:5] == [sys.executable, "-m", "releasegate", "serve", "/m.pt2"]
    joined = " ".join(argv)
    for part in ("--sha256 " + "a" * 64, "--format torch-export", "--factory bert-base", "--device cuda",
                 "--dtype bfloat16", "--max-batch 64", "--max-delay-ms 2", "--host 127.0.0.1", "--port 8123",
                 "--model-name sentiment", "--input-spec x:FP32:64"):
        assert part in joined
    assert "--workers" not in argv  # one process unless the release asks for workers
    argv = builtin_argv(dataclasses.replace(spec, workers=4), 8123)
    assert argv[argv.index("--workers") + 1] == "4"


@pytest.mark.parametrize("url", ["http://10.0.0.1:80/x", "https://127.0.0.1/x", "http://example.com/x"])
def test_only_loopback_urls(url: str) -> None:
    with pytest.raises(InputError, match="not an http URL on 127.0.0.1/localhost"):
        loopback_url(url, "spec.runtime.external.readinessUrl")
    assert loopback_url("http://localhost:8080/ready", "x")


def test_placeholders_are_substituted(tmp_path: Path) -> None:
    server = start(_external([sys.executable, "-c", "import sys; print(sys.argv[1:])", "{port}", "{artifact}", "{model}"]),
                   tmp_path)
    try:
        server.process.wait(10)
        port = server.ready_url.split(":")[2].split("/")[0]
        assert f"'{port}', '/a.pt', 'm'" in server.log_tail()
        assert server.infer_url == f"http://127.0.0.1:{port}/v2/models/m/infer"
        assert server.metadata_url == f"http://127.0.0.1:{port}/v2/models/m"
    finally:
        server.stop()


def test_never_ready_is_bounded_and_shows_the_log(tmp_path: Path) -> None:
    server = start(_external([sys.executable, "-c", "print('loading weights...', flush=True); import time; time.sleep(60)"],
                             timeout=1.0), tmp_path)
    try:
        with pytest.raises(ServerError) as e:
            wait_ready(server, 1.0)
        assert e.value.code == "server-not-ready"
        assert "not ready after 1 s" in str(e.value) and "| loading weights..." in str(e.value)
    finally:
        server.stop()
    assert not server.alive()


def test_exit_before_ready_reports_the_exit_code(tmp_path: Path) -> None:
    server = start(_external([sys.executable, "-c", "import sys; print('bad model'); sys.exit(3)"]), tmp_path)
    with pytest.raises(ServerError, match="exited with code 3 before it was ready"):
        wait_ready(server, 10.0)
    server.stop()


@pytest.mark.parametrize(("asked", "started"), [(None, 0), (0, 0), (1, 1), (10_000, os.cpu_count() or 1), ("4", 0), (True, 0)])
def test_workers_are_capped_at_the_runners_cores(asked: object, started: int) -> None:
    from releasegate.loadtest.release_setup import workers_on_this_runner

    assert workers_on_this_runner({} if asked is None else {"workers": asked}) == started
