"""A lean HTTP/1.1 server on asyncio + httptools (the parser uvicorn uses), without ASGI.

Why not an ASGI server: for a small inference request the fixed cost of ASGI (a
task, a scope dict, receive/send coroutines, two socket writes per response) was
about half of the server's CPU time per request. Here a request is parsed by
httptools callbacks and queued; the response is written with one ``transport.write``.

A connection answers its requests strictly in order: a pipelined request waits for
the responses before it, and so does an error answer to one (400, 408, 413, 414,
431), after which the connection closes. What a client can make the server hold is bounded: input is
parsed a slice at a time and parsing stops while a request waits its turn, and while
more than ``WRITE_HIGH_WATER`` response bytes are unsent (a client that does not
read) the connection reads and parses nothing until they drop below
``WRITE_LOW_WATER``. :class:`HttpLimits` caps the URL (414) and the headers' count and
bytes (431), counted as they arrive, and the open connections (one more is answered
503 and closed at once). Time is bounded too: a request must arrive
whole within ``request_timeout_s`` of its first byte (else 408), and a client whose
unsent responses have not shrunk for as long is disconnected. Keep-alive, chunked bodies, ``Expect: 100-continue``, a body
size limit checked against Content-Length before reading, idle timeouts and a
graceful shutdown that lets in-flight requests finish are handled here too.
"""
from __future__ import annotations

import asyncio
import collections
import functools
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Protocol

import httptools

from releasegate.serve.config import HttpLimits

Headers = Iterable[tuple[bytes, bytes]]
_REASONS = {s.value: s.phrase.encode() for s in HTTPStatus}
_JSON = ((b"content-type", b"application/json"),)
_EMPTY = memoryview(b"")
IDLE_TIMEOUT_S = 75.0
LINGER_S = 2.0  # after an error answer, what the client still sends is read and dropped this long, then close
FEED_SLICE = 16 * 1024  # bytes parsed at a time: what one slice can add to the queue is bounded by it
WRITE_HIGH_WATER = 256 * 1024  # unsent response bytes above which a connection stops reading and parsing
WRITE_LOW_WATER = 64 * 1024  # ... and below which it starts again
WARN_EVERY_S = 10.0  # at most one warning of a kind this often (a flood must not flood the log)
log = logging.getLogger("releasegate.serve")


@dataclass(frozen=True)
class Request:
    """A complete HTTP request."""

    method: str
    path: str
    headers: dict[bytes, bytes]
    body: bytes
    keep_alive: bool = True


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


Queued = Request | Callable[[], None]  # a request for the handler, or an error answer ready to go


class Connection(asyncio.Protocol):
    """One client connection: parse requests, answer them in order, hold a bounded amount for the client."""

    def __init__(self, server: HttpServer) -> None:
        self._server = server
        self._handler = server.handler
        self._limits = server.limits
        self._parser = httptools.HttpRequestParser(self)
        self._transport: Any = None
        self._backlog: collections.deque[Queued] = collections.deque()
        self._unparsed = _EMPTY
        self._busy = False  # a request is being answered
        self._keep_alive = True  # ... and whether the connection stays open after it
        self._advancing = False
        self._reading = True
        self._write_paused = False
        self._unread_since = 0.0  # when the unsent responses last went over the high-water mark or shrank
        self._unread_size = 0
        self._refused = False  # an error answer is queued: nothing more is parsed
        self._closing = False
        self._linger_until = 0.0
        self.closed = False
        self._reset_message()
        self.last_active = time.monotonic()

    # asyncio.Protocol
    def connection_made(self, transport: Any) -> None:
        self._transport = transport
        if not self._server.admit(self):
            self.closed = True
            transport.write(_FULL)
            transport.close()
            return
        transport.set_write_buffer_limits(high=WRITE_HIGH_WATER, low=WRITE_LOW_WATER)

    def data_received(self, data: bytes) -> None:
        if self.closed or self._refused:
            return  # an error answer is on its way (or lingering after it): drop the rest
        self._unparsed = memoryview(bytes(self._unparsed) + data) if self._unparsed else memoryview(data)
        self._advance()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._backlog.clear()
        self._server.connections.discard(self)
        if self._in_message and not self._refused:
            self._handler.aborted(self._path)

    def pause_writing(self) -> None:
        self._write_paused = True
        self._unread_since = time.monotonic()
        self._unread_size = self._transport.get_write_buffer_size()

    def resume_writing(self) -> None:
        self._write_paused = False
        self._advance()

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._reset_message()
        self._in_message = True
        self._in_head = True
        self._started = time.monotonic()

    def on_url(self, url: bytes) -> None:
        if self._refused:
            return
        self._url += url
        if len(self._url) > self._limits.max_url_bytes:
            self._refuse(414, f"request URL: over the {self._limits.max_url_bytes}-byte limit (--max-url-bytes)")

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._refused:
            return
        self._header_count += 1
        self._header_bytes += len(name) + len(value) + 4
        limits = self._limits
        if self._header_count > limits.max_headers:
            self._refuse(431, f"request headers: more than {limits.max_headers} headers (--max-headers)")
        elif self._header_bytes > limits.max_header_bytes:
            self._refuse(431, f"request headers: over the {limits.max_header_bytes}-byte limit (--max-header-bytes)")
        else:
            self._headers[name.lower()] = value

    def on_headers_complete(self) -> None:
        self._in_head = False
        if self._refused:
            return
        self._path = httptools.parse_url(self._url).path.decode("latin-1")
        declared = _content_length(self._headers.get(b"content-length"))
        if declared is not None and declared > self._handler.max_body:
            self._refuse_body(declared)
        elif self._headers.get(b"expect", b"").lower() == b"100-continue":
            self._continue_owed = True  # sent once the responses before this request are out

    def on_body(self, body: bytes) -> None:
        if self._refused:
            return
        self._size += len(body)
        if self._size > self._handler.max_body:
            self._refuse_body(None)
            return
        self._body.append(body)

    def on_message_complete(self) -> None:
        self._in_message = False
        self._continue_owed = False
        if self._refused:
            return
        body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
        method = self._parser.get_method().decode("latin-1")
        self._backlog.append(Request(method, self._path, self._headers, body, self._parser.should_keep_alive()))

    # responses
    def respond(self, status: int, body: bytes, headers: Headers = (), close: bool = False) -> None:
        """Write the response to the request being answered; then go on with the next one."""
        if self.closed:
            return
        close = close or self._closing or not self._keep_alive
        self._transport.write(_encode(status, body, headers, close))
        self._busy = False
        if close:
            self._close()
        else:
            self.last_active = time.monotonic()
            self._advance()

    def shutdown(self) -> None:
        """Close now when idle, else right after the response in progress."""
        self._closing = True
        if not self.busy and not self._in_message:
            self._close()

    @property
    def busy(self) -> bool:
        return not self.closed and (self._busy or bool(self._backlog))

    @property
    def peer(self) -> str:
        """The client's address, ``host:port``."""
        address = self._transport.get_extra_info("peername") if self._transport is not None else None
        return f"{address[0]}:{address[1]}" if address else "?"

    def buffered(self) -> Buffered:
        size = self._transport.get_write_buffer_size() if self._transport is not None else 0
        return Buffered(size, len(self._unparsed), len(self._backlog))

    def _advance(self) -> None:
        """Answer what is queued, in order; parse more while nothing waits; read while all is parsed.

        Every change ends here. A nested call (a handler answering inside ``_dispatch``)
        returns at once and the loop further up the stack carries on: a loop, not
        recursion, since a client may pipeline thousands of requests.
        """
        if self._advancing:
            return
        self._advancing = True
        try:
            while not (self.closed or self._write_paused or self._transport.is_closing()):  # closing: the peer is gone
                if self._backlog:
                    if self._busy:
                        break
                    self._dispatch(self._backlog.popleft())
                elif self._unparsed and not self._refused:
                    self._parse_slice()
                else:
                    break
        finally:
            self._advancing = False
        if self.closed:
            return
        if self._continue_owed and not self._busy and not self._backlog:
            self._continue_owed = False
            self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self._set_reading(not (self._write_paused or self._backlog or self._unparsed or self._refused))

    def _parse_slice(self) -> None:
        piece, rest = self._unparsed[:FEED_SLICE], self._unparsed[FEED_SLICE:]
        self._unparsed = rest if rest else _EMPTY
        try:
            self._parser.feed_data(piece)
        except httptools.HttpParserUpgrade:
            self._refuse(400, "protocol upgrades are not supported")
        except httptools.HttpParserError as e:
            self._refuse(400, f"malformed HTTP request ({e})")
        if self._in_head and not self._refused:
            self._check_head(len(piece))

    def _check_head(self, size: int) -> None:
        """httptools holds a header line until it ends: count the head's raw bytes so that one endless line is
        refused too (the slice in which the message began counts whole, hence one slice of slack)."""
        self._head_seen += size
        limits = self._limits
        if self._head_seen > limits.max_url_bytes + limits.max_header_bytes + FEED_SLICE:
            self._refuse(431, f"request headers: over the {limits.max_header_bytes}-byte limit (--max-header-bytes)")

    def _dispatch(self, item: Queued) -> None:
        self._busy = True
        if isinstance(item, Request):
            self._keep_alive = item.keep_alive
            self._handler.handle(item, self)
        else:
            item()

    def _refuse(self, status: int, message: str) -> None:
        """Answer the request being received with an error, in its turn, and close after it."""
        body = json.dumps({"error": message}).encode()
        self._queue_refusal(functools.partial(self.respond, status, body, _JSON, True), status, message)

    def _refuse_body(self, declared: int | None) -> None:
        message = f"request body over the {self._handler.max_body}-byte limit (--max-request-bytes)"
        self._queue_refusal(functools.partial(self._handler.too_large, self._path, declared, self), 413, message)

    def _queue_refusal(self, answer: Callable[[], None], status: int, message: str) -> None:
        if self._refused:
            return
        self._server.warn(str(status), f"{self.peer}: {message}; answered {status} and closed")
        self._refused = True
        self._unparsed = _EMPTY
        self._backlog.append(answer)
        self._advance()

    def _set_reading(self, reading: bool) -> None:
        if reading != self._reading:
            self._reading = reading
            if reading:
                self._transport.resume_reading()
                self._started = time.monotonic()  # the wait was the server's: the client's time starts again
            else:
                self._transport.pause_reading()

    def _close(self) -> None:
        """No more responses. After an error answer the client may still be sending (a body, the rest
        of a huge header); closing with unread input would reset the connection and could destroy
        the answer before the client reads it, so input is read and dropped for LINGER_S first."""
        if self.closed or self._transport is None:
            return
        self.closed = True
        self._backlog.clear()
        self._unparsed = _EMPTY
        if self._refused and self._transport.can_write_eof():
            self._transport.write_eof()
            self._linger_until = time.monotonic() + LINGER_S
            self._set_reading(True)
        else:
            self._transport.close()

    def close_now(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()

    def check_time(self, now: float) -> None:
        """Enforce the deadlines: a lingering close that is over, a request that takes too long to arrive,
        responses left unread too long, a keep-alive connection idle for IDLE_TIMEOUT_S."""
        timeout = self._limits.request_timeout_s
        if self.closed:
            if self._linger_until and now > self._linger_until:
                self._transport.close()
        elif self._write_paused:
            self._check_unread(now, timeout)
        elif self._in_message and self._reading and not self._refused and now - self._started > timeout:
            self._refuse(408, f"request not received within {timeout:g} s of its first byte (--request-timeout)")
        elif not self.busy and not self._in_message and not self._unparsed and now - self.last_active > IDLE_TIMEOUT_S:
            self._close()

    def _check_unread(self, now: float, timeout: float) -> None:
        size = self._transport.get_write_buffer_size()
        if size < self._unread_size:  # the client reads, if slowly
            self._unread_size, self._unread_since = size, now
        elif now - self._unread_since > timeout:
            self._server.warn("unread", f"{self.peer}: {size} response bytes unread for {timeout:g} s (--request-timeout); disconnected")
            self.closed = True
            self._transport.abort()  # close() would wait for the client to read them

    def _reset_message(self) -> None:
        self._url = b""
        self._path = ""
        self._headers: dict[bytes, bytes] = {}
        self._header_count = 0
        self._header_bytes = 0
        self._head_seen = 0
        self._in_head = False
        self._body: list[bytes] = []
        self._size = 0
        self._started = 0.0
        self._in_message = False
        self._continue_owed = False


class HttpServer:
    """Listens on a bound socket and drains its connections on shutdown."""

    def __init__(self, handler: Handler, loop: asyncio.AbstractEventLoop, limits: HttpLimits | None = None) -> None:
        self.handler = handler
        self.loop = loop
        self.limits = limits = limits or HttpLimits()
        self.connections: set[Connection] = set()
        self._server: asyncio.base_events.Server | None = None
        self._sweeper: asyncio.TimerHandle | None = None
        self._sweep_every = max(0.05, min(IDLE_TIMEOUT_S, limits.request_timeout_s) / 10)
        self._warned: dict[str, float] = {}
        self._unreported: collections.Counter[str] = collections.Counter()

    async def start(self, sock: Any) -> None:
        self._server = await self.loop.create_server(lambda: Connection(self), sock=sock, backlog=4096)
        self._sweep()

    def _sweep(self) -> None:
        """Every few seconds, enforce the connections' deadlines (cheaper than a timer per response)."""
        now = time.monotonic()
        for conn in list(self.connections):
            conn.check_time(now)
        self._sweeper = self.loop.call_later(self._sweep_every, self._sweep)

    def admit(self, conn: Connection) -> bool:
        """Count a new connection in, unless --max-connections are open."""
        if len(self.connections) >= self.limits.max_connections:
            self.warn("connections", f"{conn.peer}: refused, {len(self.connections)} connections are open (--max-connections)")
            return False
        self.connections.add(conn)
        return True

    def warn(self, kind: str, message: str) -> None:
        """Log a warning about a client; of each kind at most one every WARN_EVERY_S, with a count of the others."""
        now = time.monotonic()
        last = self._warned.get(kind)
        if last is not None and now - last < WARN_EVERY_S:
            self._unreported[kind] += 1
            return
        self._warned[kind] = now
        more = self._unreported.pop(kind, 0)
        log.warning("%s%s", message, f" ({more} more like it since the last warning)" if more else "")

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
            conn.close_now()
        return drained


def _encode(status: int, body: bytes, headers: Headers, close: bool) -> bytes:
    head = [b"HTTP/1.1 %d %s\r\ncontent-length: %d\r\n" % (status, _REASONS.get(status, b""), len(body))]
    head.extend(b"%s: %s\r\n" % pair for pair in headers)
    if close:
        head.append(b"connection: close\r\n")
    head.append(b"\r\n")
    head.append(body)
    return b"".join(head)


_FULL = _encode(
    503, b'{"error": "too many open connections (--max-connections); retry later"}', (*_JSON, (b"retry-after", b"1")), True
)


def _content_length(value: bytes | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None
