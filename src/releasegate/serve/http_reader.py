"""Requests out of a connection's bytes (httptools callbacks), refused as soon as one is over a limit.

Limits are counted as the bytes arrive: the URL in ``on_url``'s pieces, each header
line in ``on_header``, the body in ``on_body`` and, before any of it, its declared
Content-Length. httptools holds a header line until it ends, so the raw bytes of a
request's head are counted per fed slice as well: one endless line is refused at the
URL and header limits plus one slice. After the first refusal nothing more is read.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

import httptools

from releasegate.serve.config import HttpLimits

FEED_SLICE = 16 * 1024  # bytes parsed at a time: what one slice can add to a connection's queue is bounded by it


@dataclass(frozen=True)
class Request:
    """A complete HTTP request."""

    method: str
    path: str
    headers: dict[bytes, bytes]
    body: bytes
    keep_alive: bool = True


class Sink(Protocol):
    def received(self, request: Request) -> None:
        """A complete request, in arrival order."""

    def refused(self, status: int, message: str) -> None:
        """The request being read is refused (400, 408, 414, 431); nothing more will be read."""

    def too_large(self, path: str, declared: int | None) -> None:
        """Its body is over the limit (declared by Content-Length, else ``None``); nothing more will be read."""


class RequestReader:
    """Parses one request after another and hands each, or the first refusal, to ``sink``."""

    def __init__(self, sink: Sink, limits: HttpLimits, max_body: int) -> None:
        self._sink = sink
        self._limits = limits
        self._max_body = max_body
        self._parser = httptools.HttpRequestParser(self)
        self.stopped = False  # a request was refused: nothing more is read
        self._reset()

    def feed(self, piece: memoryview) -> None:
        """Parse ``piece`` (at most FEED_SLICE bytes, else the head's count loses its bound)."""
        try:
            self._parser.feed_data(piece)
        except httptools.HttpParserUpgrade:
            self.refuse(400, "protocol upgrades are not supported")
        except httptools.HttpParserError as e:
            self.refuse(400, f"malformed HTTP request ({e})")
        if self.in_head and not self.stopped:
            self._count_head(len(piece))

    def refuse(self, status: int, message: str) -> None:
        if not self.stopped:
            self.stopped = True
            self._sink.refused(status, message)

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._reset()
        self.in_message = self.in_head = True
        self.started = time.monotonic()

    def on_url(self, url: bytes) -> None:
        if self.stopped:
            return
        self._url += url
        if len(self._url) > self._limits.max_url_bytes:
            self.refuse(414, f"request URL: over the {self._limits.max_url_bytes}-byte limit (--max-url-bytes)")

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.stopped:
            return
        self._header_count += 1
        self._header_bytes += len(name) + len(value) + 4
        limits = self._limits
        if self._header_count > limits.max_headers:
            self.refuse(431, f"request headers: more than {limits.max_headers} headers (--max-headers)")
        elif self._header_bytes > limits.max_header_bytes:
            self.refuse(431, f"request headers: over the {limits.max_header_bytes}-byte limit (--max-header-bytes)")
        else:
            self._headers[name.lower()] = value

    def on_headers_complete(self) -> None:
        self.in_head = False
        if self.stopped:
            return
        self.path = httptools.parse_url(self._url).path.decode("latin-1")
        declared = _content_length(self._headers.get(b"content-length"))
        if declared is not None and declared > self._max_body:
            self._too_large(declared)
        elif self._headers.get(b"expect", b"").lower() == b"100-continue":
            self.continue_owed = True  # the connection sends it once the responses before this request are out

    def on_body(self, body: bytes) -> None:
        if self.stopped:
            return
        self._size += len(body)
        if self._size > self._max_body:
            self._too_large(None)
            return
        self._body.append(body)

    def on_message_complete(self) -> None:
        self.in_message = False
        self.continue_owed = False
        if self.stopped:
            return
        body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
        method = self._parser.get_method().decode("latin-1")
        self._sink.received(Request(method, self.path, self._headers, body, self._parser.should_keep_alive()))

    def _too_large(self, declared: int | None) -> None:
        self.stopped = True
        self._sink.too_large(self.path, declared)

    def _count_head(self, size: int) -> None:
        """The slice in which the request began counts whole: hence one slice of slack."""
        self._head_seen += size
        limits = self._limits
        if self._head_seen > limits.max_url_bytes + limits.max_header_bytes + FEED_SLICE:
            self.refuse(431, f"request headers: over the {limits.max_header_bytes}-byte limit (--max-header-bytes)")

    def _reset(self) -> None:
        self._url = b""
        self.path = ""
        self._headers: dict[bytes, bytes] = {}
        self._header_count = 0
        self._header_bytes = 0
        self._head_seen = 0
        self._body: list[bytes] = []
        self._size = 0
        self.started = 0.0  # when the request's first byte arrived (or the server last made the client wait)
        self.in_message = False
        self.in_head = False
        self.continue_owed = False


def _content_length(value: bytes | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None
