"""The listening side of the HTTP server: admit connections up to a cap, enforce their deadlines,
drain them on shutdown, and log what clients are refused (a few lines, however many are refused)."""
from __future__ import annotations

import asyncio
import logging
import socket
import time
from typing import Any

from releasegate.errors import InputError
from releasegate.serve.config import HttpLimits
from releasegate.serve.http import IDLE_TIMEOUT_S, Connection, Handler
from releasegate.serve.logs import Throttle

log = logging.getLogger(__name__)


class HttpServer:
    """Listens on a bound socket and drains its connections on shutdown."""

    def __init__(
        self, handler: Handler, loop: asyncio.AbstractEventLoop, limits: HttpLimits | None = None, access_log: bool = False
    ) -> None:
        self.handler = handler
        self.loop = loop
        self.limits = limits = limits or HttpLimits()
        self.access_log = access_log  # one info line per response on releasegate.serve.access
        self.connections: set[Connection] = set()
        self._server: asyncio.base_events.Server | None = None
        self._sweeper: asyncio.TimerHandle | None = None
        self._sweep_every = max(0.05, min(IDLE_TIMEOUT_S, limits.request_timeout_s) / 10)
        self._warnings = Throttle(log)

    async def start(self, sock: Any) -> None:
        self._server = await self.loop.create_server(lambda: Connection(self), sock=sock, backlog=4096)
        self._sweep()

    def admit(self, conn: Connection) -> bool:
        """Count a new connection in, unless --max-connections are open."""
        if len(self.connections) >= self.limits.max_connections:
            self.warn("connections", f"{conn.peer}: refused, {len(self.connections)} connections are open (--max-connections)")
            return False
        self.connections.add(conn)
        return True

    def warn(self, kind: str, message: str) -> None:
        """Log a warning about a client; of each kind at most one every logs.EVERY_S, with a count of the others."""
        self._warnings.log(logging.WARNING, kind, "%s", message)

    def _sweep(self) -> None:
        """Every tenth of the shortest deadline, enforce the connections' deadlines (cheaper than timers)."""
        now = time.monotonic()
        for conn in list(self.connections):
            conn.check_time(now)
        self._sweeper = self.loop.call_later(self._sweep_every, self._sweep)

    async def shutdown(self, timeout: float) -> bool:
        """Stop accepting, close idle connections, wait (up to ``timeout``) for busy ones."""
        if self._server is not None:
            self._server.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
        for conn in list(self.connections):
            conn.shutdown()
        busy = sum(c.busy for c in self.connections)
        log.info("stopped accepting connections; finishing the requests of %d busy connections (up to %g s)", busy, timeout)
        deadline = time.monotonic() + timeout
        while any(c.busy for c in self.connections) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        busy = sum(c.busy for c in self.connections)
        if busy:
            log.warning("%d connections still busy after %g s (--graceful-timeout): closed without their responses", busy, timeout)
        for conn in list(self.connections):
            conn.close_now()
        return not busy


def bind(host: str, port: int, shared: bool = False) -> socket.socket:
    """A listening socket on ``host:port``; InputError when the port is taken.

    ``shared`` (``--workers``): a socket with SO_REUSEPORT that only reserves the port; each worker
    listens on a socket of its own bound to the same port, and the kernel spreads the connections
    evenly over them (one shared listening socket left one worker with 9 of 128 connections and
    another with 75). A plain bind comes first, so that a port held by anyone, another server
    with SO_REUSEPORT included, still fails here, before the model is loaded.
    """
    sock = _socket(host, port, reuse_port=False)
    if not shared:
        sock.listen(4096)
        sock.setblocking(False)
        return sock
    port = sock.getsockname()[1]
    sock.close()
    return _socket(host, port, reuse_port=True)


def bind_worker(host: str, port: int) -> socket.socket:
    """A worker's own listening socket on the port that :func:`bind` reserved (``shared``)."""
    sock = _socket(host, port, reuse_port=True)
    sock.listen(4096)
    sock.setblocking(False)
    return sock


def _socket(host: str, port: int, reuse_port: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise InputError(f"--host {host} --port {port}: cannot listen there ({e.strerror})",
                         "pick a free port (or 0 for any free port)") from e
    return sock
