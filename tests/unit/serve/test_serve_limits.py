"""What one client may take from the server, each limit tested with the attack it stops, on
real sockets against the real server on 127.0.0.1: slow loris, huge URL, huge headers,
connection flood, a pipelining client that never reads, pipelined errors out of order."""
from __future__ import annotations

import json
import logging
import select
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from serve_testkit import closed_by_server, config_for, on_loop, read_responses, running, wait_until

from releasegate.serve.config import HttpLimits

pytest.importorskip("torch")
pytestmark = pytest.mark.timeout(120)
LIVE = b"GET /v2/health/live HTTP/1.1\r\nHost: t\r\n\r\n"


@pytest.fixture(scope="module")
def server(artifacts: dict[str, Path]) -> Any:
    """A server with the default limits."""
    with running(config_for(artifacts["safetensors"], factory="tiny-encoder")) as server:
        yield server


@pytest.fixture
def warnings(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.WARNING, logger="releasegate.serve")
    return caplog


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def _infer_x(first: float, extra: str = "") -> bytes:
    """An infer request for the slow-linear model (a first value of 9 waits for the gate)."""
    body = json.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 4], "data": [first, 0, 0, 0]}]}).encode()
    head = f"POST /v2/models/model/infer HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    return head.encode() + body


def _get(path: bytes = b"/v2/health/live", headers: bytes = b"") -> bytes:
    return b"GET %s HTTP/1.1\r\nHost: t\r\n%s\r\n" % (path, headers)


def _headers(count: int, size: int) -> bytes:
    return b"".join(b"X-H%d: %s\r\n" % (i, b"v" * size) for i in range(count))


def _status(answer: tuple[bytes, dict[bytes, bytes], bytes]) -> int:
    return int(answer[0].split()[1])


def _until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a reset counts as a close)."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


# --- slow loris: a request that never finishes arriving


def _drip(sock: socket.socket, piece: bytes, seconds: float) -> bytes:
    """Send ``piece`` every 0.1 s until the server answers; all it sent until it closed (b"" when it never answered)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            sock.sendall(piece)
        except OSError:
            break
        if select.select([sock], [], [], 0.1)[0]:
            return _until_closed(sock)
    return b""


@pytest.mark.parametrize("stage", ["headers", "body"])
def test_slow_loris_gets_408_and_the_connection_closes(artifacts: dict[str, Path], stage: str, warnings: Any) -> None:
    config = config_for(artifacts["safetensors"], factory="tiny-encoder", http=HttpLimits(request_timeout_s=0.5))
    start = b"POST /v2/models/model/infer HTTP/1.1\r\nHost: t\r\n"
    if stage == "body":
        start += b"Content-Length: 100000\r\n\r\n{"
    with running(config) as server, _connect(server.info.port) as sock:
        sock.sendall(start)
        answer = _drip(sock, b"X-Drip: 1\r\n" if stage == "headers" else b" ", seconds=10)
        assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer[:200]
        assert b"\r\nconnection: close\r\n" in answer and b"--request-timeout" in answer
        with _connect(server.info.port) as other:
            other.sendall(LIVE)
            assert _status(read_responses(other, 1)[0]) == 200
    assert "--request-timeout" in warnings.text


def test_request_timeout_does_not_count_the_servers_own_time(slow_weights: Path, gate: Any) -> None:
    """A request that waits for inference, or for its turn behind a pipelined one, is not a slow client."""
    config = config_for(slow_weights, factory="slow-linear", http=HttpLimits(request_timeout_s=0.3))
    with running(config) as server, _connect(server.info.port) as sock:
        sock.sendall(_infer_x(9) + _infer_x(1) + LIVE)
        assert gate.ENTERED.wait(20)
        time.sleep(1.0)
        gate.GATE.set()
        assert [_status(a) for a in read_responses(sock, 3)] == [200, 200, 200]


# --- huge URL and headers


def test_huge_url_is_414_and_the_connection_closes(server: Any, warnings: Any) -> None:
    with _connect(server.info.port) as sock:
        sock.sendall(_get(b"/" + b"a" * 8000))  # under the 8 KiB default: an ordinary 404
        assert _status(read_responses(sock, 1)[0]) == 404
        sock.sendall(_get(b"/" + b"a" * 9000))
        ((status, headers, body),) = read_responses(sock, 1)
        assert status == b"HTTP/1.1 414 Request-URI Too Long" and headers[b"connection"] == b"close"
        assert b"8192-byte limit (--max-url-bytes)" in body
        assert closed_by_server(sock)
    assert "--max-url-bytes" in warnings.text


@pytest.mark.parametrize(
    ("attack", "limit"),
    [
        (_get(headers=_headers(101, 1)), b"100 headers (--max-headers)"),
        (_get(headers=_headers(70, 1000)), b"65536-byte limit (--max-header-bytes)"),
        (b"GET / HTTP/1.1\r\nHost: t\r\nX-Endless: " + b"v" * 200_000, b"65536-byte limit (--max-header-bytes)"),
    ],
    ids=["count", "bytes", "one-endless-line"],
)
def test_huge_headers_are_431_and_the_connection_closes(server: Any, attack: bytes, limit: bytes) -> None:
    with _connect(server.info.port) as sock:
        sock.sendall(_get(headers=_headers(99, 600)))  # under both defaults: served
        assert _status(read_responses(sock, 1)[0]) == 200
        sock.sendall(attack)
        ((status, headers, body),) = read_responses(sock, 1)
        assert status == b"HTTP/1.1 431 Request Header Fields Too Large" and headers[b"connection"] == b"close"
        assert limit in body
        assert closed_by_server(sock)


# --- connection flood


def _refused(sock: socket.socket) -> bool:
    try:
        sock.sendall(LIVE)
        answer = _until_closed(sock)
    except (BrokenPipeError, ConnectionResetError):
        return True
    return answer == b"" or answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")


def test_connection_flood_is_refused_beyond_the_cap(artifacts: dict[str, Path], warnings: Any) -> None:
    config = config_for(artifacts["safetensors"], factory="tiny-encoder", http=HttpLimits(max_connections=4))
    with running(config) as server:
        port = server.info.port
        held = [_connect(port) for _ in range(4)]
        for sock in held:
            sock.sendall(LIVE)
            assert _status(read_responses(sock, 1)[0]) == 200
        flood = [_connect(port) for _ in range(20)]
        assert all(_refused(sock) for sock in flood)
        for sock in held:  # the connections already open are still served
            sock.sendall(LIVE)
            assert _status(read_responses(sock, 1)[0]) == 200
        held.pop().close()
        deadline = time.monotonic() + 10
        while not _served(port):  # the freed slot takes a new connection
            assert time.monotonic() < deadline, "no connection accepted after one closed"
            time.sleep(0.05)
        for sock in held + flood:
            sock.close()
    assert "--max-connections" in warnings.text


def _served(port: int) -> bool:
    try:
        with _connect(port) as sock:
            sock.sendall(LIVE)
            return _status(read_responses(sock, 1)[0]) == 200
    except (AssertionError, OSError):
        return False


# --- a client that pipelines and never reads


def test_non_reading_pipeliner_holds_bounded_memory(server: Any) -> None:
    from releasegate.serve.http import FEED_SLICE, WRITE_HIGH_WATER

    count = 5000
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)  # no kernel auto-tuning to hide the server's buffer
        sock.connect(("127.0.0.1", server.info.port))
        sender = threading.Thread(target=sock.sendall, args=(b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n" * count,))
        sender.start()
        held = _settled(server, sock)
        assert held.write_buffer <= WRITE_HIGH_WATER + 64 * 1024
        assert held.unparsed <= 320 * 1024  # at most one read from the socket
        assert held.queued <= FEED_SLICE // 18 + 1  # what one slice of the smallest requests adds
        sock.settimeout(30)
        answers = read_responses(sock, count)  # the client reads at last: every request is answered, in order
        sender.join(30)
    assert {_status(a) for a in answers} == {200}


def _settled(server: Any, client: socket.socket) -> Any:
    """The client's connection's buffers once they have not changed for 0.6 s (the server waits for the client)."""
    host, port = client.getsockname()[:2]
    peer = f"{host}:{port}"

    def snapshot() -> Any:
        (conn,) = [c for c in server.http.connections if c.peer == peer]
        return conn.buffered()

    seen: list[Any] = []
    deadline = time.monotonic() + 60
    while len(seen) < 4 or len(set(seen[-4:])) > 1:
        assert time.monotonic() < deadline, f"the server kept buffering: {seen[-4:]}"
        time.sleep(0.2)
        seen.append(on_loop(server, snapshot))
    return seen[-1]


def test_client_that_never_reads_is_disconnected_after_the_request_timeout(artifacts: dict[str, Path], warnings: Any) -> None:
    config = config_for(artifacts["safetensors"], factory="tiny-encoder", http=HttpLimits(request_timeout_s=0.5))
    with running(config) as server, socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        sock.connect(("127.0.0.1", server.info.port))
        sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n" * 2000)
        wait_until(lambda: on_loop(server, lambda: len(server.http.connections) == 1))
        wait_until(lambda: on_loop(server, lambda: not server.http.connections))
    assert "unread for 0.5 s (--request-timeout); disconnected" in warnings.text


# --- pipelined errors answered in order


BAD = {
    "400-malformed": b"\x16\x03\x01 not HTTP\r\n\r\n",
    "413-body-too-large": b"POST /v2/models/model/infer HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000000\r\n\r\n",
    "414-url-too-long": _get(b"/" + b"a" * 9000),
    "431-too-many-headers": _get(headers=_headers(101, 1)),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_pipelined_error_waits_for_the_responses_before_it(slow_weights: Path, gate: Any, case: str) -> None:
    config = config_for(slow_weights, factory="slow-linear", max_request_bytes=10_000)
    with running(config) as server, _connect(server.info.port) as sock:
        sock.sendall(_infer_x(9) + LIVE + BAD[case] + LIVE)
        assert gate.ENTERED.wait(20)
        time.sleep(0.2)  # time to answer out of turn, if the server would
        gate.GATE.set()
        answers = read_responses(sock, 3)
        assert [_status(a) for a in answers] == [200, 200, int(case[:3])]
        assert b"connection" not in answers[0][1] and answers[2][1][b"connection"] == b"close"
        assert closed_by_server(sock)


def test_100_continue_waits_for_the_responses_before_it(slow_weights: Path, gate: Any) -> None:
    second = _infer_x(1, "Expect: 100-continue\r\n")
    head, body = second.split(b"\r\n\r\n", 1)
    with running(config_for(slow_weights, factory="slow-linear")) as server, _connect(server.info.port) as sock:
        sock.sendall(_infer_x(9) + head + b"\r\n\r\n")
        assert gate.ENTERED.wait(20)
        assert not select.select([sock], [], [], 0.3)[0], "answered before the request in flight"
        gate.GATE.set()
        data = b""
        while b"100 Continue\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, "connection closed early"
            data += chunk
        assert data.startswith(b"HTTP/1.1 200 OK\r\n") and data.endswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(body)
        assert _status(read_responses(sock, 1)[0]) == 200
