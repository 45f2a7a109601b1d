"""A connection's closing deadlines, on a stub transport (no sockets, no torch): the lingering close
after an error answer ends, and a client that never takes its last response is dropped. And the
access log: nothing of it runs while it is off."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("httptools")
pytest.importorskip("numpy")
from releasegate.serve import http  # noqa: E402
from releasegate.serve.config import HttpLimits  # noqa: E402
from releasegate.serve.http import LINGER_S, Connection, Request  # noqa: E402
from releasegate.serve.listener import HttpServer  # noqa: E402


class StubTransport:
    """Keeps whatever is written (a client that reads nothing); records close, abort and EOF."""

    def __init__(self) -> None:
        self.written = b""
        self.closed = self.aborted = self.eof = False

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def write_eof(self) -> None:
        self.eof = True

    def can_write_eof(self) -> bool:
        return True

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def get_write_buffer_size(self) -> int:
        return len(self.written)

    def set_write_buffer_limits(self, high: int, low: int) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_extra_info(self, name: str) -> Any:
        return ("127.0.0.1", 1) if name == "peername" else None


class Answer:
    """A handler that answers every request at once."""

    max_body = 1000

    def handle(self, request: Request, conn: Connection) -> None:
        conn.respond(200, b"{}")

    def too_large(self, path: str, declared: int | None, conn: Connection) -> None:
        conn.respond(413, b"{}", close=True)

    def aborted(self, path: str) -> None:
        pass


@pytest.fixture
def connection() -> Iterator[tuple[Connection, StubTransport]]:
    loop = asyncio.new_event_loop()
    conn = Connection(HttpServer(Answer(), loop, HttpLimits(request_timeout_s=5)))
    transport = StubTransport()
    conn.connection_made(transport)
    yield conn, transport
    loop.close()


def test_a_client_that_never_takes_its_last_response_is_dropped(connection: tuple[Connection, StubTransport]) -> None:
    conn, transport = connection
    conn.data_received(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert transport.written.startswith(b"HTTP/1.1 200 OK\r\n") and transport.closed
    now = time.monotonic()
    conn.check_time(now + 1)
    assert not transport.aborted  # close() waits for the client to take the response
    conn.check_time(now + 6)  # past --request-timeout
    assert transport.aborted


def test_the_lingering_close_after_an_error_answer_ends(connection: tuple[Connection, StubTransport]) -> None:
    conn, transport = connection
    conn.data_received(b"\x16\x03\x01 not HTTP\r\n\r\n")
    assert transport.written.startswith(b"HTTP/1.1 400 Bad Request\r\n") and transport.eof and not transport.closed
    conn.data_received(b"more from the client, dropped")
    now = time.monotonic()
    conn.check_time(now + LINGER_S / 2)
    assert not transport.closed
    conn.check_time(now + LINGER_S + 0.1)
    assert transport.closed and not transport.aborted


class Untouchable:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the access log is off, yet its logger's {name} was used")


@pytest.mark.parametrize("on", [False, True])
def test_the_access_log_is_not_touched_while_off(on: bool, monkeypatch: pytest.MonkeyPatch,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="releasegate.serve.access")
    if not on:
        monkeypatch.setattr(http, "access_log", Untouchable())
    loop = asyncio.new_event_loop()
    try:
        conn = Connection(HttpServer(Answer(), loop, access_log=on))
        transport = StubTransport()
        conn.connection_made(transport)
        conn.data_received(b"GET /a HTTP/1.1\r\nHost: t\r\n\r\n" * 50 + b"\x16 not HTTP\r\n\r\n")
    finally:
        loop.close()
    assert transport.written.count(b"HTTP/1.1 200 OK") == 50 and b"HTTP/1.1 400" in transport.written
    lines = [r.getMessage() for r in caplog.records if r.name == "releasegate.serve.access"]
    if on:
        assert len(lines) == 51 and lines[0].startswith('127.0.0.1:1 "GET /a" 200 2 ') and '"- -" 400' in lines[-1]
    else:
        assert lines == []
