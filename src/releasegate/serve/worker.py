"""One HTTP worker process of ``releasegate serve --workers N`` (entry: :mod:`releasegate.cli.serve_worker`).

Started by the model process (:mod:`releasegate.serve.workers`) with its end of a Unix socket
pair as an inherited file descriptor and its configuration as JSON on stdin; it listens on the
server's port with a socket of its own (SO_REUSEPORT). It runs the same HTTP server and v2 app as the one-process mode; only the queue differs:
:class:`ModelLink` frames each checked request to the model process and hands the results
back to the app on this event loop. It never imports torch. When the link closes (the model
process died) it answers 503 to what it holds, reports not-ready, stops accepting and exits.
"""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import signal
import socket
from typing import Any

from releasegate.errors import ReleasegateError
from releasegate.serve.app import METRICS_HEADERS, Limits, ServeApp
from releasegate.serve.batching import Job, Overloaded, RemoteFailure
from releasegate.serve.config import HttpLimits
from releasegate.serve.http import Connection
from releasegate.serve.ipc import (
    HELLO,
    INFER,
    METRICS,
    METRICS_TEXT,
    RESULT,
    ROWS,
    STATS,
    STATUS,
    FrameReader,
    LinkError,
    decode_tensors,
    encode_tensors,
    frame,
)
from releasegate.serve.metrics import ServeMetrics
from releasegate.serve.protocol import Signature, error_body
from releasegate.serve.tensors import TensorSpec

log = logging.getLogger(__name__)
STATS_EVERY_S = 1.0  # how stale another worker's counts in /metrics may be
_GONE = "the model process is gone"


class ModelLink(asyncio.Protocol):
    """The worker's queue: jobs go to the model process as frames, results come back on the loop."""

    def __init__(self, sig: Signature, max_pending: int, limit: int) -> None:
        self.sig = sig
        self.max_pending = max_pending
        self.app: ServeApp | None = None
        self.lost = asyncio.Event()
        self._reader = FrameReader(limit)
        self._pending: dict[int, Job] = {}
        self._asks: dict[int, Connection] = {}
        self._ids = itertools.count(1)
        self._transport: Any = None
        self._out: list[bytes] = []  # frames written once per loop iteration: fewer system calls on both sides

    @property
    def queued(self) -> int:
        return len(self._pending)

    def submit(self, job: Job) -> None:
        if self.lost.is_set():
            raise Overloaded(_GONE)
        if len(self._pending) >= self.max_pending:
            raise Overloaded(f"{len(self._pending)} requests wait for the model process (--max-queue and two batches)")
        ident = self._next_id()
        self._pending[ident] = job
        self._send(frame(INFER, ident, ROWS.pack(job.rows), encode_tensors(job.inputs)))

    def ask_metrics(self, conn: Connection, samples: list[Any]) -> None:
        """Send this worker's counts and ask for the whole server's exposition, answered on ``conn``."""
        if self.lost.is_set():
            conn.respond(503, error_body(_GONE), ((b"content-type", b"application/json"),))
            return
        ident = self._next_id()
        self._asks[ident] = conn
        self._send(frame(METRICS, ident, json.dumps(samples).encode()))

    def push_stats(self, samples: list[Any]) -> None:
        if not self.lost.is_set() and self._transport is not None:
            self._send(frame(STATS, 0, json.dumps(samples).encode()))

    def hello(self, index: int) -> None:
        self._send(frame(HELLO, index))

    def flush(self) -> None:
        """Write the frames of this loop iteration in one go."""
        out, self._out = self._out, []
        if out and not self.lost.is_set():
            self._transport.write(b"".join(out))

    def _send(self, data: bytes) -> None:
        if not self._out:
            asyncio.get_running_loop().call_soon(self.flush)
        self._out.append(data)

    def _next_id(self) -> int:
        return next(self._ids) & 0xFFFFFFFF

    # asyncio.Protocol
    def connection_made(self, transport: Any) -> None:
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        results: list[tuple[Job, Any]] = []
        try:
            for item in self._reader.feed(data):
                if item.kind == RESULT:
                    job = self._pending.pop(item.id, None)
                    if job is not None:
                        results.append((job, self._result(item.body, job.rows)))
                elif item.kind == METRICS_TEXT:
                    conn = self._asks.pop(item.id, None)
                    if conn is not None:
                        conn.respond(200, bytes(item.body), METRICS_HEADERS)
                else:
                    raise LinkError(f"unknown frame kind {item.kind}")
        except LinkError as e:
            log.error("the link to the model process is broken (%s); stopping", e)
            self._transport.close()
        if results and self.app is not None:
            self.app.finish(results)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.set()
        gone = Overloaded(_GONE)
        results = [(job, gone) for job in self._pending.values()]
        self._pending.clear()
        for conn in self._asks.values():
            conn.respond(503, error_body(_GONE), ((b"content-type", b"application/json"),))
        self._asks.clear()
        if self.app is not None:
            self.app.draining = True  # readiness answers 503 from now on
            if results:
                self.app.finish(results)

    def _result(self, body: memoryview, rows: int) -> Any:
        status = STATUS.unpack_from(body)[0]
        payload = body[STATUS.size:]
        if status == 200:
            return decode_tensors(payload, self.sig.outputs, rows)
        message = bytes(payload).decode("utf-8", "replace")
        return Overloaded(message) if status == 503 else RemoteFailure(message)


class WorkerApp(ServeApp):
    """The v2 app of a worker: /metrics is the whole server's, assembled by the model process."""

    link: ModelLink

    def answer_metrics(self, conn: Connection) -> None:
        self.link.ask_metrics(conn, self.metrics.http_samples())


def signature(doc: dict[str, Any]) -> Signature:
    def specs(items: list[dict[str, Any]]) -> tuple[TensorSpec, ...]:
        return tuple(TensorSpec(i["name"], i["datatype"], tuple(i["shape"])) for i in items)

    return Signature(doc["name"], doc["version"], doc["platform"], specs(doc["inputs"]), specs(doc["outputs"]),
                     doc["max_batch"])


async def serve(config: dict[str, Any]) -> int:
    """Serve until SIGTERM/SIGINT or the model process goes; then drain. The exit code."""
    from releasegate.serve.listener import HttpServer, bind_worker

    loop = asyncio.get_running_loop()
    sig = signature(config["signature"])
    link = ModelLink(sig, config["max_pending"], config["frame_limit"])
    app = WorkerApp(sig, link, ServeMetrics(*config["metrics"]), Limits(**config["limits"]))
    app.link = link
    app.loop = loop
    link.app = app
    await loop.create_unix_connection(lambda: link, sock=socket.socket(fileno=config["link_fd"]))
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    http = HttpServer(app, loop, HttpLimits(**config["http"]), access_log=config["access_log"])
    await http.start(bind_worker(config["host"], config["port"]))
    link.hello(config["index"])
    pusher = loop.create_task(_push_stats(link, app))
    await asyncio.wait([loop.create_task(stopping.wait()), loop.create_task(link.lost.wait())],
                       return_when=asyncio.FIRST_COMPLETED)
    app.draining = True
    drained = await http.shutdown(config["graceful_timeout_s"])
    pusher.cancel()
    link.push_stats(app.metrics.http_samples())
    link.flush()
    return 0 if drained and not link.lost.is_set() else 1


async def _push_stats(link: ModelLink, app: ServeApp) -> None:
    while True:
        await asyncio.sleep(STATS_EVERY_S)
        link.push_stats(app.metrics.http_samples())


def run(config: dict[str, Any]) -> int:
    """Run the worker described by ``config`` (logging is set up by its entry point); the exit code."""
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    try:
        return asyncio.run(serve(config))
    except ReleasegateError as e:
        log.error("HTTP worker %s: %s", config.get("index"), e)
        return e.exit_code
