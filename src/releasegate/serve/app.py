"""The HTTP side: a minimal hand-written ASGI application (no web framework).

Every request is handled on the event loop: route by path, read the body (bounded
by ``max_request_bytes``, checked against Content-Length before reading), parse and
check it, queue it for the batcher, and await a future that the batcher's completion
thread resolves (one loop wake-up per batch, not per request).
"""
from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from releasegate import __version__
from releasegate.errors import RequestError
from releasegate.serve.batching import Batcher, Job, Overloaded
from releasegate.serve.metrics import CONTENT_TYPE, ServeMetrics
from releasegate.serve.protocol import Signature, encode_response, error_body, parse_infer, server_metadata

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_JSON = [(b"content-type", b"application/json")]
_BINARY = b"application/octet-stream"
_HEADER_LENGTH = b"inference-header-content-length"
CLIENT_GONE = 499


class _Disconnected(Exception):
    """The client closed the connection before its request body was complete."""


@dataclass(frozen=True)
class Limits:
    """Request limits: body size and the Retry-After seconds sent with a 503."""

    max_request_bytes: int = 64 * 1024 * 1024
    retry_after_s: int = 1


class ServeApp:
    """ASGI 3 application serving one model over the Open Inference Protocol v2."""

    def __init__(self, sig: Signature, batcher: Batcher, metrics: ServeMetrics, limits: Limits) -> None:
        self.sig = sig
        self.batcher = batcher
        self.metrics = metrics
        self.limits = limits
        self.draining = False
        self._loop: asyncio.AbstractEventLoop | None = None
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

    def deliver(self, results: list[tuple[Job, Any]]) -> None:
        """Called by the batcher's completion thread: resolve the futures on the event loop."""
        loop = self._loop
        if loop is not None:
            loop.call_soon_threadsafe(_resolve, results)

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        path: str = scope["path"]
        method: str = scope["method"]
        if path in self._infer_paths:
            if method == "POST":
                await self._infer(scope, receive, send)
            else:
                await _respond(send, 405, error_body(f"{path}: use POST"))
            return
        await self._other(path, method, send)

    async def _other(self, path: str, method: str, send: Send) -> None:
        if path == "/metrics" and method == "GET":
            body = self.metrics.render(self.batcher.queued)
            await _respond(send, 200, body, [(b"content-type", CONTENT_TYPE.encode())])
            return
        handler = self._get.get(path.rstrip("/") or path)
        if handler is None:
            await _respond(send, 404, error_body(f"{path}: not found (model {self.sig.name!r} is served)"))
        elif method not in ("GET", "HEAD"):
            await _respond(send, 405, error_body(f"{path}: use GET"))
        else:
            status, body = handler()
            await _respond(send, status, body)

    def _ready(self) -> tuple[int, bytes]:
        if self.draining:
            return 503, b'{"ready":false}'
        return 200, b'{"ready":true}'

    def _metadata(self) -> tuple[int, bytes]:
        return 200, json.dumps(self.sig.metadata()).encode()

    async def _infer(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        status = await self._infer_status(scope, receive, send)
        self.metrics.count(status)

    async def _infer_status(self, scope: dict[str, Any], receive: Receive, send: Send) -> int:
        headers = dict(scope["headers"])
        declared = _int_header(headers.get(b"content-length"))
        limit = self.limits.max_request_bytes
        if declared is not None and declared > limit:
            return await self._too_large(send, declared)
        try:
            body = await _read_body(receive, limit)
        except _Disconnected:
            return CLIENT_GONE
        if body is None:
            return await self._too_large(send, None)
        started = time.perf_counter()
        try:
            header_length = _int_header(headers.get(_HEADER_LENGTH), strict=True)
            request = parse_infer(body, header_length, self.sig)
        except RequestError as e:
            return await _respond(send, e.status, error_body(str(e)))
        return await self._run(request, send, started)

    async def _run(self, request: Any, send: Send, started: float) -> int:
        future = asyncio.get_running_loop().create_future()
        try:
            self.batcher.submit(Job(request.arrays, request.rows, future))
        except Overloaded as e:
            retry = [(b"retry-after", str(self.limits.retry_after_s).encode()), *_JSON]
            return await _respond(send, 503, error_body(f"overloaded: {e}; retry later"), retry)
        try:
            results = await future
        except Exception as e:  # noqa: BLE001 - a failed forward is this request's 500, not the server's end
            return await _respond(send, 500, error_body(f"inference failed: {type(e).__name__}: {e}"))
        body, header_length = encode_response(self.sig, request, results)
        self.metrics.request_seconds.observe(time.perf_counter() - started)
        if header_length is None:
            return await _respond(send, 200, body)
        headers = [(b"content-type", _BINARY), (_HEADER_LENGTH, str(header_length).encode())]
        return await _respond(send, 200, body, headers)

    async def _too_large(self, send: Send, declared: int | None) -> int:
        size = f"{declared} bytes" if declared is not None else "the body"
        message = f"request body: {size} is over the {self.limits.max_request_bytes}-byte limit (--max-request-bytes)"
        closing = [(b"connection", b"close"), *_JSON]
        return await _respond(send, 413, error_body(message), closing)


def _resolve(results: list[tuple[Job, Any]]) -> None:
    for job, result in results:
        future: asyncio.Future[Any] = job.token
        if future.done():
            continue
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body; None when it grows past ``limit``; raises _Disconnected if the client left."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _int_header(value: bytes | None, strict: bool = False) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError as e:
        if strict:
            raise RequestError(f"Inference-Header-Content-Length: {value!r} is not an integer") from e
        return None


async def _respond(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> int:
    all_headers = [*(headers or _JSON), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body})
    return status
