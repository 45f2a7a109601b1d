"""The hand-written HTTP/1.1 layer on raw sockets: keep-alive, pipelining, chunked bodies,
Expect: 100-continue, HTTP/1.0, malformed requests."""
from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from serve_testkit import SEQ, closed_by_server, config_for, read_responses, running

pytest.importorskip("torch")
pytestmark = pytest.mark.timeout(120)
IDS = json.dumps({"inputs": [{"name": "input_ids", "datatype": "INT64", "shape": [1, SEQ], "data": [5] * SEQ}]}).encode()


@pytest.fixture(scope="module")
def port(artifacts: dict[str, Path]) -> Any:
    with running(config_for(artifacts["safetensors"], factory="tiny-encoder")) as server:
        yield server.info.port


def _post(body: bytes, extra: str = "", version: str = "1.1") -> bytes:
    head = f"POST /v2/models/model/infer HTTP/{version}\r\nHost: t\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    return head.encode() + body


def test_keep_alive_serves_many_requests_on_one_connection(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        for _ in range(5):
            sock.sendall(_post(IDS))
            ((status, headers, body),) = read_responses(sock, 1)
            assert status == b"HTTP/1.1 200 OK"
            assert b"connection" not in headers
            assert json.loads(body)["outputs"][0]["shape"] == [1, 2]


def test_pipelined_requests_are_answered_in_order(port: int) -> None:
    bad = json.dumps({"inputs": [{"name": "nope", "datatype": "INT64", "shape": [1], "data": [1]}]}).encode()
    get = b"GET /v2/health/live HTTP/1.1\r\nHost: t\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(_post(IDS) + _post(bad) + get + _post(IDS))
        statuses = [r[0] for r in read_responses(sock, 4)]
    assert statuses == [b"HTTP/1.1 200 OK", b"HTTP/1.1 400 Bad Request", b"HTTP/1.1 200 OK", b"HTTP/1.1 200 OK"]


def test_chunked_body(port: int) -> None:
    half = len(IDS) // 2
    chunks = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (half, IDS[:half], len(IDS) - half, IDS[half:])
    head = b"POST /v2/models/model/infer HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head + chunks)
        ((status, _, _),) = read_responses(sock, 1)
    assert status == b"HTTP/1.1 200 OK"


def test_expect_100_continue(port: int) -> None:
    head = _post(IDS, "Expect: 100-continue\r\n")[: -len(IDS)]
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head)
        assert sock.recv(25) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(IDS)
        ((status, _, _),) = read_responses(sock, 1)
    assert status == b"HTTP/1.1 200 OK"


def test_http_1_0_closes_after_the_response(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(_post(IDS, version="1.0"))
        ((status, headers, _),) = read_responses(sock, 1)
        assert status == b"HTTP/1.1 200 OK" and headers[b"connection"] == b"close"
        assert closed_by_server(sock)


def test_connection_close_is_honoured(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(_post(IDS, "Connection: close\r\n"))
        ((status, _, _),) = read_responses(sock, 1)
        assert status == b"HTTP/1.1 200 OK"
        assert closed_by_server(sock)


def test_garbage_is_400_and_closed_and_the_server_goes_on(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"\x16\x03\x01 this is not HTTP\r\n\r\n")
        ((status, _, body),) = read_responses(sock, 1)
        assert status == b"HTTP/1.1 400 Bad Request"
        assert b"malformed HTTP request" in body
        assert closed_by_server(sock)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(_post(IDS))
        assert read_responses(sock, 1)[0][0] == b"HTTP/1.1 200 OK"


def test_chunked_body_over_the_limit_is_413(artifacts: dict[str, Path]) -> None:
    config = config_for(artifacts["safetensors"], factory="tiny-encoder", max_request_bytes=100)
    with running(config) as server, socket.create_connection(("127.0.0.1", server.info.port), timeout=30) as sock:
        head = b"POST /v2/models/model/infer HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        sock.sendall(head + b"%x\r\n%s\r\n" % (len(IDS), IDS))
        ((status, headers, body),) = read_responses(sock, 1)
        assert status.startswith(b"HTTP/1.1 413 ")
        assert headers[b"connection"] == b"close"
        assert b"100-byte limit" in body


def test_thousands_of_pipelined_requests_in_one_packet(port: int) -> None:
    get = b"GET /v2/health/live HTTP/1.1\r\nHost: t\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(_post(IDS) + get * 3000 + _post(IDS))
        statuses = [r[0] for r in read_responses(sock, 3002)]
    assert statuses == [b"HTTP/1.1 200 OK"] * 3002


def test_pipelined_connection_close_applies_to_its_own_request(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(_post(IDS) + _post(IDS, "Connection: close\r\n"))
        (first, kept, _), (second, closing, _) = read_responses(sock, 2)
        assert first == second == b"HTTP/1.1 200 OK"
        assert b"connection" not in kept and closing[b"connection"] == b"close"
        assert closed_by_server(sock)
