"""``releasegate serve --workers N`` as real processes: answers, overload, drain, and processes that die.

Each test starts the CLI in a subprocess with a model that computes ``x @ W.T + b`` and sleeps
for rows whose first value is 7 (so that a request can be held in flight) and fails for 5, and kills what it
started, workers included, whatever happens.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
psutil = pytest.importorskip("psutil")
pytestmark = pytest.mark.timeout(120)
SRC = Path(__file__).resolve().parents[2] / "src"

SLEEPER = textwrap.dedent(
    '''
    import os, time
    import torch

    class Sleeper(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(4, 2)

        def forward(self, x):
            if bool((x[:, 0] == 7).any()):
                with open(os.environ["RG_TEST_MARKER"], "a") as f:
                    f.write("x")
                time.sleep(float(os.environ.get("RG_TEST_SLEEP", "1.5")))
            if bool((x[:, 0] == 5).any()):
                raise RuntimeError("a row starts with 5")
            return self.lin(x)

    def sleeper():
        torch.manual_seed(0)
        return Sleeper().eval()

    sleeper.input_spec = [{"name": "x", "datatype": "FP32", "shape": [4]}]
    '''
)


@dataclass
class Server:
    proc: subprocess.Popen[str]
    base: str
    port: int
    marker: Path
    weights: dict[str, torch.Tensor]

    def workers(self) -> list[int]:
        """The pids of the live worker processes."""
        pids = []
        for child in psutil.Process(self.proc.pid).children():
            with contextlib.suppress(psutil.Error):  # a zombie not yet reaped is no worker
                if "releasegate.cli.serve_worker" in " ".join(child.cmdline()):
                    pids.append(child.pid)
        return pids

    def expected(self, rows: list[list[float]]) -> list[float]:
        x = torch.tensor(rows, dtype=torch.float32)
        return (x @ self.weights["lin.weight"].T + self.weights["lin.bias"]).reshape(-1).tolist()

    def log(self) -> str:
        if self.proc.poll() is None:
            self.proc.kill()
        return self.proc.communicate(timeout=30)[1]


@pytest.fixture
def sleeper_weights(tmp_path: Path) -> tuple[Path, Path]:
    from safetensors.torch import save_file

    site = tmp_path / "site"
    (site / "rg_sleeper-0.1.dist-info").mkdir(parents=True)
    (site / "rg_sleeper.py").write_text(SLEEPER)
    (site / "rg_sleeper-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: rg-sleeper\nVersion: 0.1\n")
    (site / "rg_sleeper-0.1.dist-info" / "entry_points.txt").write_text(
        "[releasegate.model_factories]\nsleeper = rg_sleeper:sleeper\n"
    )
    torch.manual_seed(0)
    lin = torch.nn.Linear(4, 2)
    weights = tmp_path / "sleeper.safetensors"
    save_file({f"lin.{k}": v for k, v in lin.state_dict().items()}, str(weights))
    return site, weights


@contextlib.contextmanager
def serving(tmp_path: Path, sleeper_weights: tuple[Path, Path], *args: str) -> Iterator[Server]:
    """``releasegate serve --workers 2 …`` until the block ends; then every process it started is gone."""
    from safetensors.torch import load_file

    site, weights = sleeper_weights
    marker = tmp_path / "entered"
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(site)]), "RG_TEST_MARKER": str(marker)}
    cmd = [sys.executable, "-m", "releasegate", "--log-level", "info", "serve", str(weights),
           "--sha256", hashlib.sha256(weights.read_bytes()).hexdigest(), "--factory", "sleeper",
           "--port", str(port), "--device", "cpu", "--max-batch", "8", "--graceful-timeout", "10", *args]
    proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    server = Server(proc, f"http://127.0.0.1:{port}", port, marker, load_file(str(weights)))
    started: set[int] = set()
    try:
        _wait_ready(server)
        started.update(server.workers())
        yield server
    finally:
        with contextlib.suppress(psutil.Error):
            started.update(p.pid for p in psutil.Process(proc.pid).children(recursive=True))
        if proc.poll() is None:
            proc.kill()
        proc.wait(30)
        for pid in started:
            with contextlib.suppress(psutil.Error):
                psutil.Process(pid).kill()


def test_requests_across_workers_get_their_own_rows_and_metrics_add_up(tmp_path: Path, sleeper_weights: tuple[Path, Path]) -> None:
    with serving(tmp_path, sleeper_weights, "--workers", "2") as server:
        assert len(server.workers()) == 2
        bodies = [[[10 + i, i + 0.5, -i, 1.0]] * (1 + i % 3) for i in range(60)]  # no row starts with 5 or 7
        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(lambda rows: _infer(server.base, rows), bodies))
        for rows, (status, answer) in zip(bodies, answers):
            assert status == 200
            out = answer["outputs"][0]
            assert out["shape"] == [len(rows), 2]
            assert out["data"] == pytest.approx(server.expected(rows), rel=1e-5)
        bad, body = _infer(server.base, [[1.0, 2.0, 3.0, 4.0]] * 9)  # over --max-batch 8: refused before the link
        assert bad == 400 and "--max-batch 8" in body["error"]
        failed, body = _infer(server.base, [[5.0, 0, 0, 0]])
        assert failed == 500 and body["error"] == "inference failed: RuntimeError: a row starts with 5"
        metrics = _wait_for(lambda: _metric(server.base, 'status="200"') == 60.0 and _metric(server.base, 'status="400"') == 1.0
                            and _metric(server.base, 'status="500"') == 1.0,
                            lambda: _get(f"{server.base}/metrics")[1].decode())
        assert "releasegate_serve_batch_size_count" in metrics
        assert _metric(server.base, "releasegate_serve_request_seconds_count") == 60.0


def test_client_limits_hold_in_the_workers(tmp_path: Path, sleeper_weights: tuple[Path, Path]) -> None:
    """A body over --max-request-bytes, a slow client, and the worker keeps serving the others."""
    with serving(tmp_path, sleeper_weights, "--workers", "1", "--max-request-bytes", "2048", "--request-timeout", "1") as server:
        status, body = _infer(server.base, [[1.0, 2.0, 3.0, 4.0]] * 8)
        assert status == 200
        big = json.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]}],
                          "id": "x" * 4096}).encode()
        req = urllib.request.Request(f"{server.base}/v2/models/model/infer", big)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(req, timeout=10)  # noqa: S310 - loopback only
        assert refused.value.code == 413
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as slow:
            slow.sendall(b"POST /v2/models/model/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
            assert _read_all(slow).startswith(b"HTTP/1.1 408")
        assert _infer(server.base, [[1.0, 2.0, 3.0, 4.0]])[0] == 200


def test_a_port_held_by_a_server_with_workers_is_refused(
    tmp_path: Path, sleeper_weights: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """The workers' sockets share the port (SO_REUSEPORT); a second server must still not join them."""
    from releasegate.cli import main

    _, weights = sleeper_weights
    with serving(tmp_path, sleeper_weights, "--workers", "2") as server:
        for workers in ("2", "0"):
            code = main(["serve", str(weights), "--sha256", hashlib.sha256(weights.read_bytes()).hexdigest(),
                         "--format", "safetensors", "--factory", "nonexistent", "--port", str(server.port),
                         "--workers", workers])
            assert code == 2
            assert f"--port {server.port}: cannot listen there" in capsys.readouterr().err


def test_full_queue_answers_503_with_retry_after(tmp_path: Path, sleeper_weights: tuple[Path, Path]) -> None:
    with serving(tmp_path, sleeper_weights, "--workers", "2", "--max-queue", "1") as server:
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            first = pool.submit(_infer, server.base, [[7.0, 0, 0, 0]])
            _wait_for(server.marker.exists, lambda: "the request never reached the model")
            others = [pool.submit(_infer_raw, server.base, [[1.0, 0, 0, 0]]) for _ in range(5)]
            statuses = [f.result()[0] for f in others]
            assert first.result()[0] == 200
        assert statuses.count(503) >= 3, statuses  # one may wait in the queue of 1; none may be lost
        assert set(statuses) <= {200, 503}
        refused = next(f.result() for f in others if f.result()[0] == 503)
        assert refused[1].get("retry-after") == "1" and b"request queue is full" in refused[2]


def test_sigterm_drains_the_workers_and_reaps_them(tmp_path: Path, sleeper_weights: tuple[Path, Path]) -> None:
    with serving(tmp_path, sleeper_weights, "--workers", "2") as server:
        workers = server.workers()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            answer = pool.submit(_infer, server.base, [[7.0, 1, 2, 3]])
            _wait_for(server.marker.exists, lambda: "the request never reached the model")
            server.proc.send_signal(signal.SIGTERM)
            status, body = answer.result()
        assert status == 200 and body["outputs"][0]["data"] == pytest.approx(server.expected([[7.0, 1, 2, 3]]), rel=1e-5)
        assert server.proc.wait(30) == 0
        assert not [pid for pid in workers if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
        assert "stopped after finishing in-flight requests" in server.log()


def test_a_killed_worker_is_restarted_and_its_lost_request_counted(tmp_path: Path, sleeper_weights: tuple[Path, Path]) -> None:
    with serving(tmp_path, sleeper_weights, "--workers", "1") as server:
        (victim,) = server.workers()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            held = pool.submit(_infer_raw, server.base, [[7.0, 0, 0, 0]])
            _wait_for(server.marker.exists, lambda: "the request never reached the model")
            os.kill(victim, signal.SIGKILL)
            with pytest.raises((ConnectionError, urllib.error.URLError, OSError)):
                held.result()  # its connection died with the worker: closed, never left hanging
        _wait_for(lambda: len(server.workers()) == 1 and server.workers()[0] != victim, lambda: "no new worker")
        _wait_ready(server)
        assert _infer(server.base, [[1.0, 2.0, 3.0, 4.0]])[0] == 200
        _wait_for(lambda: _metric(server.base, 'status="503"') == 1.0, lambda: _get(f"{server.base}/metrics")[1].decode())
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(30) == 0
        assert re.search(r"HTTP worker 0 \(pid \d+\) exited with code -9 holding 1 requests in flight", server.log())


def test_when_the_model_process_dies_workers_answer_503_turn_not_ready_and_exit(
    tmp_path: Path, sleeper_weights: tuple[Path, Path]
) -> None:
    with serving(tmp_path, sleeper_weights, "--workers", "1") as server:
        (worker,) = server.workers()
        body = json.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 4], "data": [7, 0, 0, 0]}]}).encode()
        pipelined = (f"POST /v2/models/model/infer HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                     + body + b"GET /v2/health/ready HTTP/1.1\r\nHost: x\r\n\r\n")
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(pipelined)
            _wait_for(server.marker.exists, lambda: "the request never reached the model")
            os.kill(server.proc.pid, signal.SIGKILL)
            answers = _read_all(sock)
        assert answers.startswith(b"HTTP/1.1 503")
        assert b"the model process is gone" in answers
        assert re.search(rb'HTTP/1.1 503 [^\r]*\r\n(?:[^\r]+\r\n)*\r\n\{"ready":false\}', answers), answers
        _wait_for(lambda: not psutil.pid_exists(worker) or psutil.Process(worker).status() == psutil.STATUS_ZOMBIE,
                  lambda: "the worker outlived the model process")
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", server.port), timeout=2).close()


# ---------------------------------------------------------------- helpers

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(server: Server) -> None:
    def ready() -> bool:
        assert server.proc.poll() is None, server.log()
        with contextlib.suppress(OSError):
            return _get(f"{server.base}/v2/health/ready")[0] == 200
        return False

    _wait_for(ready, lambda: "server did not become ready")


def _wait_for(check: object, why: object, timeout: float = 30) -> object:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, why()  # type: ignore[operator]
        time.sleep(0.05)
    return why()  # type: ignore[operator]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - loopback only
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _infer_raw(base: str, rows: list[list[float]]) -> tuple[int, dict[str, str], bytes]:
    body = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [len(rows), 4], "data": rows}]}
    req = urllib.request.Request(f"{base}/v2/models/model/infer", json.dumps(body).encode())
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback only
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def _infer(base: str, rows: list[list[float]]) -> tuple[int, dict[str, object]]:
    status, _, body = _infer_raw(base, rows)
    return status, json.loads(body)


def _metric(base: str, fragment: str) -> float:
    """The sum of the /metrics samples of releasegate_serve_requests_total (or the family named) matching ``fragment``."""
    text = _get(f"{base}/metrics")[1].decode()
    family = fragment if fragment.startswith("releasegate_") else "releasegate_serve_requests_total"
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(family) and fragment in line)


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)
