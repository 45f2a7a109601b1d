"""Helpers for the serving tests (imported by conftest.py and the tests)."""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import socket
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from releasegate.serve.server import ModelServer, ServeConfig

SEQ = 16  # tiny-encoder's sequence length
T = TypeVar("T")

FACTORY_MODULE = textwrap.dedent(
    '''
    import os, threading, time
    import torch

    GATE = threading.Event()
    GATE.set()
    ENTERED = threading.Event()

    class Slow(torch.nn.Module):
        """x -> linear(x); rows whose first value is 7 sleep, 9 wait for GATE, 5 raise."""

        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(4, 2)

        def forward(self, x):
            if bool((x[:, 0] == 7).any()):
                marker = os.environ.get("RG_TEST_MARKER")
                if marker:
                    with open(marker, "a") as f:
                        f.write("x")
                time.sleep(float(os.environ.get("RG_TEST_SLEEP", "1")))
            if bool((x[:, 0] == 9).any()):
                ENTERED.set()
                GATE.wait(30)
            if bool((x[:, 0] == 5).any()):
                raise RuntimeError("a row starts with 5")
            return self.lin(x)

    def slow():
        torch.manual_seed(0)
        return Slow().eval()

    slow.input_spec = [{"name": "x", "datatype": "FP32", "shape": [4]}]
    '''
)


def write_factory_dist(root: Path) -> Path:
    """An 'installed' distribution (dist-info + module) registering the slow-linear factory."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "rg_test_factories.py").write_text(FACTORY_MODULE)
    info = root / "rg_test_factories-0.1.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: rg-test-factories\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[releasegate.model_factories]\nslow-linear = rg_test_factories:slow\n"
    )
    return root


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextlib.contextmanager
def running(config: ServeConfig) -> Iterator[ModelServer]:
    """An in-process server on its own thread and event loop; stopped gracefully on exit."""
    server = ModelServer(config)
    server.prepare()
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    try:
        yield server
    finally:
        server.stop()
        thread.join(30)


def config_for(path: Path, **overrides: object) -> ServeConfig:
    fields: dict[str, object] = {"artifact": path, "sha256": digest(path), "device": "cpu", "port": 0}
    fields.update(overrides)
    return ServeConfig(**fields)  # type: ignore[arg-type]


def http(
    port: int, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request to the loopback server: status, headers (lower-case names), body."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def infer_json(port: int, name: str, datatype: str, rows: list[list[float]], model: str = "model") -> tuple[int, dict[str, str], bytes]:
    import json

    doc = {"inputs": [{"name": name, "datatype": datatype, "shape": [len(rows), len(rows[0])], "data": rows}]}
    return http(port, "POST", f"/v2/models/{model}/infer", json.dumps(doc).encode())


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def metric(port: int, line_prefix: str) -> float:
    """The value of the first /metrics sample line starting with ``line_prefix`` (0 when absent)."""
    _, _, body = http(port, "GET", "/metrics")
    for line in body.decode().splitlines():
        if line.startswith(line_prefix):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def read_responses(sock: socket.socket, count: int) -> list[tuple[bytes, dict[bytes, bytes], bytes]]:
    """Read ``count`` complete responses (content-length framed) from ``sock``: status line, headers, body."""
    data = b""
    out = []
    while len(out) < count:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, "connection closed early"
            data += chunk
        head, data = data.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        headers = dict(line.lower().split(b": ", 1) for line in lines[1:])
        length = int(headers[b"content-length"])
        while len(data) < length:
            chunk = sock.recv(65536)
            assert chunk, "connection closed early"
            data += chunk
        out.append((lines[0], headers, data[:length]))
        data = data[length:]
    return out


def closed_by_server(sock: socket.socket) -> bool:
    return sock.recv(1) == b""


def on_loop(server: ModelServer, fn: Callable[[], T]) -> T:
    """``fn()`` run on the server's event loop thread (to read a connection's state safely)."""
    assert server.http is not None
    done: concurrent.futures.Future[Any] = concurrent.futures.Future()

    def call() -> None:
        try:
            done.set_result(fn())
        except BaseException as e:  # noqa: BLE001 - handed to the test thread
            done.set_exception(e)

    server.http.loop.call_soon_threadsafe(call)
    return done.result(10)  # type: ignore[no-any-return]
