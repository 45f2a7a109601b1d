"""The Open Inference Protocol v2 endpoints on top of :mod:`releasegate.serve.http`.

All of it runs on the event loop thread. An infer request is parsed and checked
as soon as its body is complete and queued for the batcher with its connection as
the delivery token; the batcher's completion thread hands a finished batch back
with one ``call_soon_threadsafe`` (one loop wake-up per batch, not per request),
and each response is encoded and written directly. No futures, no tasks.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from releasegate import __version__
from releasegate.errors import RequestError
from releasegate.serve.batching import Job, Overloaded, failure_text
from releasegate.serve.http import Connection, Request
from releasegate.serve.logs import Throttle
from releasegate.serve.metrics import CONTENT_TYPE, ServeMetrics
from releasegate.serve.protocol import (
    InferRequest,
    Signature,
    encode_response,
    error_body,
    parse_infer,
    server_metadata,
)

log = logging.getLogger(__name__)
_JSON = ((b"content-type", b"application/json"),)
_HEADER_LENGTH = b"inference-header-content-length"
METRICS_HEADERS = ((b"content-type", CONTENT_TYPE.encode()),)
CLIENT_GONE = 499


class Queue(Protocol):
    """Where infer jobs go: the batcher in one process, the link to the model process in a worker."""

    @property
    def queued(self) -> int:
        """Requests waiting for a batch (the queue-depth gauge)."""

    def submit(self, job: Job) -> None:
        """Queue ``job`` or raise :class:`Overloaded`."""


@dataclass(frozen=True)
class Limits:
    """Request limits: body size and the Retry-After seconds sent with a 503."""

    max_request_bytes: int = 64 * 1024 * 1024
    retry_after_s: int = 1


class ServeApp:
    """Serves one model: health, metadata, infer, metrics."""

    def __init__(self, sig: Signature, batcher: Queue, metrics: ServeMetrics, limits: Limits) -> None:
        self.sig = sig
        self.batcher = batcher
        self.metrics = metrics
        self.limits = limits
        self.max_body = limits.max_request_bytes
        self.draining = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self._log = Throttle(log)
        model = f"/v2/models/{sig.name}"
        versioned = f"{model}/versions/{sig.version}"
        self._get: dict[str, Callable[[], tuple[int, bytes]]] = {
            "/v2": lambda: (200, json.dumps(server_metadata(__version__)).encode()),
            "/v2/health/live": lambda: (200, b'{"live":true}'),
            "/v2/health/ready": self._ready,
            model: self._metadata,
            versioned: self._metadata,
            f"{model}/ready": self._ready,
            f"{versioned}/ready": self._ready,
        }
        self._infer_paths = {f"{model}/infer", f"{versioned}/infer"}

    # --- the http.Handler interface
    def handle(self, request: Request, conn: Connection) -> None:
        path = request.path
        if path in self._infer_paths:
            if request.method == "POST":
                self._infer(request, conn)
            else:
                conn.respond(405, error_body(f"{path}: use POST"), _JSON)
            return
        if path == "/metrics" and request.method == "GET":
            self.answer_metrics(conn)
            return
        handler = self._get.get(path.rstrip("/") or path)
        if handler is None:
            conn.respond(404, error_body(f"{path}: not found (this server serves model {self.sig.name!r})"), _JSON)
        elif request.method != "GET":
            conn.respond(405, error_body(f"{path}: use GET"), _JSON)
        else:
            status, body = handler()
            conn.respond(status, body, _JSON)

    def too_large(self, path: str, declared: int | None, conn: Connection) -> None:
        size = f"{declared} bytes" if declared is not None else "the body"
        message = f"request body: {size} is over the {self.max_body}-byte limit (--max-request-bytes)"
        if path in self._infer_paths:
            self.metrics.count(413)
        conn.respond(413, error_body(message), _JSON, close=True)

    def aborted(self, path: str) -> None:
        if path in self._infer_paths:
            self.metrics.count(CLIENT_GONE)

    def answer_metrics(self, conn: Connection) -> None:
        """``GET /metrics``: this process's metrics (a worker asks the model process for the whole server's)."""
        conn.respond(200, self.metrics.render(self.batcher.queued), METRICS_HEADERS)

    # --- batcher side
    def deliver(self, results: list[tuple[Job, Any]]) -> None:
        """Called by the batcher's completion thread: finish the batch on the event loop."""
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.finish, results)

    def finish(self, results: list[tuple[Job, Any]]) -> None:
        """Answer each request of a finished batch (on the event loop)."""
        now = time.perf_counter()
        for job, result in results:
            conn, request, started = job.token
            try:
                answered = self._finish_one(conn, request, result)
            except Exception as e:  # noqa: BLE001 - one broken response must not cost the batch's others
                self._log.log(logging.ERROR, "encode", "model %r: cannot encode a response: %s: %s",
                              self.sig.name, type(e).__name__, e, exc_info=e)
                conn.respond(500, error_body(f"cannot encode the response: {type(e).__name__}: {e}"), _JSON, close=True)
                self.metrics.count(500)
                continue
            if answered:
                self.metrics.request_seconds.observe(now - started)

    def _finish_one(self, conn: Connection, request: InferRequest, result: Any) -> bool:
        """Answer one request of a finished batch; True when it got its result."""
        if conn.closed:
            self.metrics.count(CLIENT_GONE)
            return False
        if isinstance(result, Overloaded):  # from the model process, or the link to it is gone
            self._overloaded(conn, result)
            return False
        if isinstance(result, BaseException):
            self._answer(conn, 500, error_body(f"inference failed: {failure_text(result)}"))
            return False
        self._answer_result(conn, request, result)
        return True

    def _answer_result(self, conn: Connection, request: InferRequest, result: list[Any]) -> None:
        body, header_length = encode_response(self.sig, request, result)
        if header_length is None:
            self._answer(conn, 200, body)
        else:
            headers = ((b"content-type", b"application/octet-stream"), (_HEADER_LENGTH, b"%d" % header_length))
            self._answer(conn, 200, body, headers)

    # --- endpoints
    def _infer(self, http_request: Request, conn: Connection) -> None:
        started = time.perf_counter()
        try:
            request = parse_infer(http_request.body, _header_length(http_request), self.sig)
        except RequestError as e:
            self._answer(conn, e.status, error_body(str(e)))
            return
        try:
            self.batcher.submit(Job(request.arrays, request.rows, (conn, request, started)))
        except Overloaded as e:
            self._overloaded(conn, e)

    def _overloaded(self, conn: Connection, error: Overloaded) -> None:
        self._log.log(logging.WARNING, "overloaded", "model %r: %s; answered 503", self.sig.name, error)
        retry = ((b"retry-after", b"%d" % self.limits.retry_after_s), *_JSON)
        self._answer(conn, 503, error_body(f"overloaded: {error}; retry later"), retry)

    def _answer(self, conn: Connection, status: int, body: bytes, headers: tuple[tuple[bytes, bytes], ...] = _JSON) -> None:
        self.metrics.count(status)
        conn.respond(status, body, headers)

    def _ready(self) -> tuple[int, bytes]:
        if self.draining:
            return 503, b'{"ready":false}'
        return 200, b'{"ready":true}'

    def _metadata(self) -> tuple[int, bytes]:
        return 200, json.dumps(self.sig.metadata()).encode()


def _header_length(request: Request) -> int | None:
    value = request.headers.get(_HEADER_LENGTH)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError as e:
        raise RequestError(f"Inference-Header-Content-Length: {value!r} is not an integer") from e
