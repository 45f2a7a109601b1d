"""Put it together: verify, load, warm up, serve over HTTP, drain on SIGTERM/SIGINT.

Order matters for security: the artifact's sha256 is checked before torch even
opens the file. Shutdown is graceful: on a signal the server stops accepting
connections, reports not-ready, answers every request it already holds, then stops
the batcher once the queue is empty.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from releasegate.digests import verify_digest
from releasegate.errors import InputError
from releasegate.serve.config import ServeConfig, ServerInfo

if TYPE_CHECKING:
    from releasegate.serve.assembly import ModelCore
    from releasegate.serve.listener import HttpServer
    from releasegate.serve.workers import WorkerPool

log = logging.getLogger(__name__)


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when a GPU is visible, else ``cpu``; refuse ``cuda`` without one."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError("--device cuda: torch sees no CUDA GPU here", "use --device cpu or auto")
    return device


def verify_signature(cfg: ServeConfig) -> str:
    """The trusted signer of ``cfg.artifact`` (whose sha256 was verified), else :class:`SignatureError`."""
    from datetime import datetime, timezone

    from releasegate.digests import normalize_digest
    from releasegate.signing.bundle import read_bundle
    from releasegate.signing.model import load_signers, verify_model

    if not cfg.signers:
        raise InputError(f"--signature {cfg.signature}: no trusted signer to verify it with",
                         "name one: --trusted-key PEM, --certificate-identity ID with --ca-bundle PEM, or --sigstore-*")
    signature = cfg.signature or Path()
    bundle = read_bundle(signature, str(signature))
    verified = verify_model(bundle, load_signers(cfg.signers), now=datetime.now(timezone.utc),
                            pinned=normalize_digest(cfg.sha256), scope="this server", artifact=cfg.artifact,
                            artifact_source=str(cfg.artifact), artifact_checked=True)
    return verified.signer


class ModelServer:
    """One model behind one HTTP listener. ``prepare()`` then ``run()`` (or ``serve()`` on a loop)."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.app: Any = None
        self.info: ServerInfo | None = None
        self._socket: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._started = False
        self.drained = True
        self.http: HttpServer | None = None  # while serving
        self.pool: WorkerPool | None = None  # with --workers (the HTTP side then lives in the workers)
        self.core: ModelCore | None = None  # the model side: batcher, signature, metrics
        self._stop = threading.Event()  # with --workers: set by SIGTERM/SIGINT or stop()

    def prepare(self) -> ServerInfo:
        """Verify the digest, load and warm up the model, bind the port. Raises ReleasegateError."""
        cfg = self.config
        verify_digest(cfg.artifact, cfg.sha256)
        log.info("%s: sha256 verified (%s)", cfg.artifact, cfg.sha256)
        if cfg.signature is not None:
            signer = verify_signature(cfg)
            log.info("%s: signature %s verified (signed by %s)", cfg.artifact, cfg.signature, signer)
        from releasegate.serve.assembly import build_core
        from releasegate.serve.listener import bind

        self._socket = bind(cfg.host, cfg.port, shared=cfg.workers > 0)
        started = time.monotonic()
        try:
            core = build_core(cfg, resolve_device(cfg.device), self._socket.getsockname()[1])
        except BaseException:
            self._socket.close()
            raise
        self.core, self.info = core, core.info
        if cfg.workers:
            from releasegate.serve.workers import WorkerPool

            self.pool = WorkerPool(core, cfg, self._socket)
        else:
            self.app = core.app()
        _log_ready(self.info, time.monotonic() - started)
        return self.info

    def run(self) -> None:
        """Serve until SIGTERM/SIGINT or :meth:`stop`, then drain (uvloop when installed)."""
        if self.pool is not None:  # signal handlers can only be set from the main thread
            self._run_workers(signals=threading.current_thread() is threading.main_thread())
            return
        _event_loop_policy()
        asyncio.run(self.serve(signals=True))

    def _run_workers(self, signals: bool) -> None:
        """--workers: start the HTTP workers, restart those that die, drain them on a signal or stop()."""
        pool, core = self.pool, self.core
        if pool is None or core is None:
            raise RuntimeError("ModelServer.prepare() must run first")
        previous = {}
        if signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, lambda *_: self._begin_stop())
        try:
            pool.start()
            self._started = True
            log.info("listening on %s (%d worker processes)", self.info.url if self.info else "?", len(pool.links))
            self.drained = pool.run(self._stop)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if not core.batcher.close(self.config.graceful_timeout_s):
                log.warning("the batcher did not finish its queue within %g s (--graceful-timeout)",
                            self.config.graceful_timeout_s)
            log.info("stopped%s", "" if self.drained else " (some requests went unanswered)")

    async def serve(self, signals: bool = False) -> None:
        """Serve on the running loop until stopped; then finish in-flight requests and stop the batcher."""
        from releasegate.serve.listener import HttpServer

        if self.pool is not None:
            raise RuntimeError("with workers (ServeConfig.workers > 0) the server runs through run()")
        if self.app is None or self._socket is None:
            raise RuntimeError("ModelServer.prepare() must run first")
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._stopping = asyncio.Event()
        if signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self._begin_stop)
        self.app.loop = loop
        http = HttpServer(self.app, loop, self.config.http, access_log=self.config.access_log)
        self.http = http
        await http.start(self._socket)
        self._started = True
        log.info("listening on %s (access log %s)", self.info.url if self.info else "?", "on" if http.access_log else "off")
        try:
            await self._stopping.wait()
            self.drained = await http.shutdown(self.config.graceful_timeout_s)
        finally:
            if signals:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(sig)
            stopped = await loop.run_in_executor(None, self.app.batcher.close, self.config.graceful_timeout_s)
            if not stopped:
                log.warning("the batcher did not finish its queue within %g s (--graceful-timeout)", self.config.graceful_timeout_s)
            log.info("stopped%s", "" if self.drained else " (some requests went unanswered)")

    def stop(self) -> None:
        """Begin a graceful shutdown; safe from any thread (SIGTERM/SIGINT do the same)."""
        self._stop.set()
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._begin_stop)

    @property
    def started(self) -> bool:
        return self._started

    def _begin_stop(self) -> None:
        self._stop.set()
        if self._stopping is not None and not self._stopping.is_set():
            log.info("shutting down: readiness answers 503; finishing the requests in flight")
        if self.app is not None:
            self.app.draining = True
        if self._stopping is not None:
            self._stopping.set()


def _log_ready(info: ServerInfo, seconds: float) -> None:
    inputs = ", ".join(f"{s.name}:{s.datatype}{[-1, *s.shape]}" for s in info.inputs)
    outputs = ", ".join(f"{s.name}:{s.datatype}{[-1, *s.shape]}" for s in info.outputs)
    log.info(
        "model %r loaded and warmed up in %.2f s: %s on %s (%s), max batch %d, compile %s; inputs %s; outputs %s",
        info.model, seconds, info.format, info.device, info.dtype, info.max_batch, info.extra.get("compile", "off"),
        inputs, outputs,
    )


def _event_loop_policy() -> None:
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
