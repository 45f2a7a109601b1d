"""A lean HTTP/1.1 server on asyncio + httptools (the parser uvicorn uses), without ASGI.

Why not an ASGI server: for a small inference request the fixed cost of ASGI (a
task, a scope dict, receive/send coroutines, two socket writes per response) was
about half of the server's CPU time per request. Here a request is parsed by
httptools callbacks and handed to the handler synchronously; the response is
written with one ``transport.write``. A connection serves its requests in order
(pipelined ones wait); keep-alive, chunked bodies, ``Expect: 100-continue``, a body
size limit checked against Content-Length before reading, idle timeouts and a
graceful shutdown that lets in-flight requests finish are handled here.
"""
from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Protocol

import httptools

Headers = Iterable[tuple[bytes, bytes]]
_REASONS = {s.value: s.phrase.encode() for s in HTTPStatus}
IDLE_TIMEOUT_S = 75.0


@dataclass(frozen=True)
class Request:
    """A complete HTTP request."""

    method: str
    path: str
    headers: dict[bytes, bytes]
    body: bytes


@dataclass(frozen=True)
class Buffered:
    """What one connection holds for its client: bytes not yet sent, bytes not yet parsed, requests waiting."""

    write_buffer: int
    unparsed: int
    queued: int


class Handler(Protocol):
    max_body: int

    def handle(self, request: Request, conn: Connection) -> None:
        """Answer now (``conn.respond``) or later, from the event loop thread."""

    def too_large(self, path: str, declared: int | None, conn: Connection) -> None:
        """The body is over ``max_body``: answer (the connection closes afterwards)."""

    def aborted(self, path: str) -> None:
        """The client went away before its request was complete."""


class Connection(asyncio.Protocol):
    """One client connection: parse requests, hand them over in order, write responses."""

    def __init__(self, server: HttpServer) -> None:
        self._server = server
        self._handler = server.handler
        self._parser = httptools.HttpRequestParser(self)
        self._transport: Any = None
        self._backlog: collections.deque[Request] = collections.deque()
        self._busy = False
        self._in_backlog = False
        self._closing = False
        self.closed = False
        self._reset_message()
        self.last_active = time.monotonic()

    # asyncio.Protocol
    def connection_made(self, transport: Any) -> None:
        self._transport = transport
        self._server.connections.add(self)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(400, b"protocol upgrades are not supported")
        except httptools.HttpParserError as e:
            self._fail(400, f"malformed HTTP request ({e})".encode())

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._server.connections.discard(self)
        if self._in_message and not self._discard:
            self._handler.aborted(self._path)

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._reset_message()
        self._in_message = True

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.lower()] = value

    def on_headers_complete(self) -> None:
        self._path = httptools.parse_url(self._url).path.decode("latin-1")
        declared = _content_length(self._headers.get(b"content-length"))
        if declared is not None and declared > self._handler.max_body:
            self._discard = True
            self._handler.too_large(self._path, declared, self)
        elif self._headers.get(b"expect", b"").lower() == b"100-continue":
            self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        if self._discard:
            return
        self._size += len(body)
        if self._size > self._handler.max_body:
            self._discard = True
            self._handler.too_large(self._path, None, self)
            return
        self._body.append(body)

    def on_message_complete(self) -> None:
        self._in_message = False
        if self._discard:
            return
        body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
        method = self._parser.get_method().decode("latin-1")
        request = Request(method, self._path, self._headers, body)
        self._keep_alive = self._parser.should_keep_alive()
        if self._busy:
            self._backlog.append(request)
            self._transport.pause_reading()
        else:
            self._dispatch(request)

    # responses
    def respond(self, status: int, body: bytes, headers: Headers = (), close: bool = False) -> None:
        """Write one complete response; then serve the next pipelined request or idle."""
        if self.closed:
            return
        close = close or self._closing or not self._keep_alive
        head = [b"HTTP/1.1 %d %s\r\ncontent-length: %d\r\n" % (status, _REASONS.get(status, b""), len(body))]
        head.extend(b"%s: %s\r\n" % pair for pair in headers)
        if close:
            head.append(b"connection: close\r\n")
        head.append(b"\r\n")
        head.append(body)
        self._transport.write(b"".join(head))
        self._busy = False
        if close:
            self._close()
        elif self._backlog:
            if not self._in_backlog:  # else the loop below is already running further up the stack
                self._serve_backlog()
        else:
            self.last_active = time.monotonic()

    def shutdown(self) -> None:
        """Close now when idle, else right after the response in progress."""
        self._closing = True
        if not self._busy and not self._in_message:
            self._close()

    @property
    def peer(self) -> str:
        """The client's address, ``host:port``."""
        address = self._transport.get_extra_info("peername") if self._transport is not None else None
        return f"{address[0]}:{address[1]}" if address else "?"

    def buffered(self) -> Buffered:
        size = self._transport.get_write_buffer_size() if self._transport is not None else 0
        return Buffered(size, 0, len(self._backlog))

    @property
    def busy(self) -> bool:
        return self._busy or bool(self._backlog)

    def _serve_backlog(self) -> None:
        """Pipelined requests, one after the other: a loop, not recursion (a client may pipeline thousands)."""
        self._in_backlog = True
        try:
            while self._backlog and not self._busy and not self.closed:
                self._dispatch(self._backlog.popleft())
        finally:
            self._in_backlog = False
        if not self._backlog and not self.closed:
            self._transport.resume_reading()

    def _dispatch(self, request: Request) -> None:
        self._busy = True
        self._handler.handle(request, self)

    def _fail(self, status: int, message: bytes) -> None:
        self._discard = True
        self._busy = False
        self.respond(status, b'{"error": "%s"}' % message.replace(b'"', b"'"), [(b"content-type", b"application/json")], close=True)

    def _close(self) -> None:
        if not self.closed and self._transport is not None:
            self.closed = True
            self._transport.close()

    def close_if_idle(self, now: float) -> None:
        """Close a keep-alive connection that has had nothing to do for IDLE_TIMEOUT_S."""
        if not self.busy and not self._in_message and now - self.last_active > IDLE_TIMEOUT_S:
            self._close()

    def _reset_message(self) -> None:
        self._url = b""
        self._path = ""
        self._headers: dict[bytes, bytes] = {}
        self._body: list[bytes] = []
        self._size = 0
        self._discard = False
        self._in_message = False
        self._keep_alive = True


class HttpServer:
    """Listens on a bound socket and drains its connections on shutdown."""

    def __init__(self, handler: Handler, loop: asyncio.AbstractEventLoop) -> None:
        self.handler = handler
        self.loop = loop
        self.connections: set[Connection] = set()
        self._server: asyncio.base_events.Server | None = None
        self._sweeper: asyncio.TimerHandle | None = None

    async def start(self, sock: Any) -> None:
        self._server = await self.loop.create_server(lambda: Connection(self), sock=sock, backlog=4096)
        self._sweep()

    def _sweep(self) -> None:
        """Every few seconds, close idle connections (cheaper than a timer per response)."""
        now = time.monotonic()
        for conn in list(self.connections):
            conn.close_if_idle(now)
        self._sweeper = self.loop.call_later(IDLE_TIMEOUT_S / 10, self._sweep)

    async def shutdown(self, timeout: float) -> bool:
        """Stop accepting, close idle connections, wait (up to ``timeout``) for busy ones."""
        if self._server is not None:
            self._server.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
        for conn in list(self.connections):
            conn.shutdown()
        deadline = time.monotonic() + timeout
        while any(c.busy for c in self.connections) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        drained = not any(c.busy for c in self.connections)
        for conn in list(self.connections):
            conn._close()
        return drained


def _content_length(value: bytes | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None
