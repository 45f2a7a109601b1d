"""The listening side of the HTTP server: admit connections up to a cap, enforce their deadlines,
drain them on shutdown, and log what clients are refused (a few lines, however many are refused)."""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

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
