"""A lean HTTP/1.1 server on asyncio + httptools (the parser uvicorn uses), without ASGI.

Why not an ASGI server: for a small inference request the fixed cost of ASGI (a
task, a scope dict, receive/send coroutines, two socket writes per response) was
about half of the server's CPU time per request. Here a request is parsed by
httptools callbacks and queued; the response is written with one ``transport.write``.

A connection answers its requests strictly in order: a pipelined request waits for
the responses before it, and so does an error answer to one (400, 408, 413, 414,
431), after which the connection closes. What a client can make the server hold is
bounded: input is parsed a slice at a time (:mod:`releasegate.serve.http_reader`,
which also caps the URL and the headers) and parsing stops while a request waits its
turn; while more than ``WRITE_HIGH_WATER`` response bytes are unsent (a client that
does not read) the connection reads and parses nothing until they drop below
``WRITE_LOW_WATER``. Time is bounded too: a request must arrive whole within
``--request-timeout`` of its first byte (else 408), and a client whose unsent
responses have not shrunk for as long is disconnected. Keep-alive, chunked bodies,
``Expect: 100-continue``, a body size limit checked against Content-Length before
reading, idle timeouts and a graceful shutdown that lets in-flight requests finish
are handled here too; admission, the deadline sweep and draining in
:mod:`releasegate.serve.listener`.

With the access log on (``HttpServer(access_log=True)``, ``--access-log``) each response
is one info line on the ``releasegate.serve.access`` logger: client, method, path,
status, body bytes and milliseconds from taking the request up to writing its
response. Off, it costs one attribute test per request and formats nothing.
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
from typing import TYPE_CHECKING, Any, Protocol

from releasegate.serve.http_reader import FEED_SLICE, Request, RequestReader

if TYPE_CHECKING:
    from releasegate.serve.listener import HttpServer

Headers = Iterable[tuple[bytes, bytes]]
_REASONS = {s.value: s.phrase.encode() for s in HTTPStatus}
_JSON = ((b"content-type", b"application/json"),)
_EMPTY = memoryview(b"")
IDLE_TIMEOUT_S = 75.0
LINGER_S = 2.0  # after an error answer, what the client still sends is read and dropped this long, then close
WRITE_HIGH_WATER = 256 * 1024  # unsent response bytes above which a connection stops reading and parsing
WRITE_LOW_WATER = 64 * 1024  # ... and below which it starts again
access_log = logging.getLogger("releasegate.serve.access")


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
    """One client connection: read requests, answer them in order, hold a bounded amount for the client."""

    def __init__(self, server: HttpServer) -> None:
        self._server = server
        self._handler = server.handler
        self._timeout = server.limits.request_timeout_s
        self._reader = RequestReader(self, server.limits, server.handler.max_body)
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
        self._closing = False
        self._close_by = 0.0  # once closed: when the transport closes (later after an error answer)
        self._access = server.access_log
        self._taken: tuple[str, str, float] = ("-", "-", 0.0)  # access log: the request being answered, since when
        self._peer: str | None = None
        self.closed = False
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
        if self.closed or self._reader.stopped:
            return  # an error answer is on its way (or lingering after it): drop the rest
        self._unparsed = memoryview(bytes(self._unparsed) + data) if self._unparsed else memoryview(data)
        self._advance()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._backlog.clear()
        self._server.connections.discard(self)
        if self._reader.in_message and not self._reader.stopped:
            self._handler.aborted(self._reader.path)

    def pause_writing(self) -> None:
        self._write_paused = True
        self._unread_since = time.monotonic()
        self._unread_size = self._transport.get_write_buffer_size()

    def resume_writing(self) -> None:
        self._write_paused = False
        self._advance()

    # what the reader hands over (http_reader.Sink)
    def received(self, request: Request) -> None:
        self._backlog.append(request)

    def refused(self, status: int, message: str) -> None:
        body = json.dumps({"error": message}).encode()
        self._queue_refusal(functools.partial(self.respond, status, body, _JSON, True), status, message)

    def too_large(self, path: str, declared: int | None) -> None:
        message = f"request body over the {self._handler.max_body}-byte limit (--max-request-bytes)"
        self._queue_refusal(functools.partial(self._handler.too_large, path, declared, self), 413, message)

    # responses
    def respond(self, status: int, body: bytes, headers: Headers = (), close: bool = False) -> None:
        """Write the response to the request being answered; then go on with the next one."""
        if self.closed:
            return
        close = close or self._closing or not self._keep_alive
        self._transport.write(_encode(status, body, headers, close))
        if self._access:
            self._log_access(status, len(body))
        self._busy = False
        if close:
            self._close()
        else:
            self.last_active = time.monotonic()
            self._advance()

    def shutdown(self) -> None:
        """Close now when idle, else right after the response in progress."""
        self._closing = True
        if not self.busy and not self._reader.in_message:
            self._close()

    @property
    def busy(self) -> bool:
        return not self.closed and (self._busy or bool(self._backlog))

    @property
    def peer(self) -> str:
        """The client's address, ``host:port``."""
        if self._peer is None:
            if self._transport is None:
                return "?"
            address = self._transport.get_extra_info("peername")
            self._peer = f"{address[0]}:{address[1]}" if address else "?"
        return self._peer

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
                elif self._unparsed and not self._reader.stopped:
                    piece, rest = self._unparsed[:FEED_SLICE], self._unparsed[FEED_SLICE:]
                    self._unparsed = rest if rest else _EMPTY
                    self._reader.feed(piece)
                else:
                    break
        finally:
            self._advancing = False
        if not self.closed:
            self._after_advance()

    def _after_advance(self) -> None:
        reader = self._reader
        if reader.continue_owed and not self._busy and not self._backlog:
            reader.continue_owed = False
            self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self._set_reading(not (self._write_paused or self._backlog or self._unparsed or reader.stopped))

    def _dispatch(self, item: Queued) -> None:
        self._busy = True
        if isinstance(item, Request):
            self._keep_alive = item.keep_alive
            if self._access:
                self._taken = (item.method, item.path, time.perf_counter())
            self._handler.handle(item, self)
        else:
            if self._access:  # an error answer to a request never read whole
                self._taken = ("-", self._reader.path or "-", time.perf_counter())
            item()

    def _log_access(self, status: int, size: int) -> None:
        method, path, since = self._taken
        elapsed_ms = (time.perf_counter() - since) * 1000
        access_log.info('%s "%s %s" %d %d %.2f ms', self.peer, method, path, status, size, elapsed_ms)

    def _queue_refusal(self, answer: Callable[[], None], status: int, message: str) -> None:
        """Queue an error answer behind the responses owed before it; the connection closes after it."""
        self._server.warn(str(status), f"{self.peer}: {message}; answered {status} and closed")
        self._unparsed = _EMPTY
        self._backlog.append(answer)
        self._advance()

    def _set_reading(self, reading: bool) -> None:
        if reading != self._reading:
            self._reading = reading
            if reading:
                self._transport.resume_reading()
                self._reader.started = time.monotonic()  # the wait was the server's: the client's time starts again
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
        self._close_by = time.monotonic()
        if self._reader.stopped and self._transport.can_write_eof():
            self._transport.write_eof()
            self._close_by += LINGER_S
            self._set_reading(True)
        else:
            self._transport.close()

    def close_now(self) -> None:
        self.closed = True
        self._close_by = time.monotonic()
        if self._transport is not None:
            self._transport.close()

    def check_time(self, now: float) -> None:
        """Enforce the deadlines: a lingering close that is over, a closed connection whose client has not
        taken its last response (close() waits for that), a request that takes too long to arrive, responses
        left unread too long, a keep-alive connection idle for IDLE_TIMEOUT_S."""
        reader = self._reader
        if self.closed:
            if now > self._close_by + self._timeout:
                self._transport.abort()
            elif now > self._close_by:
                self._transport.close()
        elif self._write_paused:
            self._check_unread(now)
        elif reader.in_message and self._reading and not reader.stopped and now - reader.started > self._timeout:
            reader.refuse(408, f"request not received within {self._timeout:g} s of its first byte (--request-timeout)")
        elif not self.busy and not reader.in_message and not self._unparsed and now - self.last_active > IDLE_TIMEOUT_S:
            self._close()

    def _check_unread(self, now: float) -> None:
        size = self._transport.get_write_buffer_size()
        if size < self._unread_size:  # the client reads, if slowly
            self._unread_size, self._unread_since = size, now
        elif now - self._unread_since > self._timeout:
            self._server.warn("unread", f"{self.peer}: {size} response bytes unread for {self._timeout:g} s (--request-timeout); disconnected")
            self.closed = True
            self._transport.abort()  # close() would wait for the client to read them


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
