"""The server's throttled log lines: what a client or a failing model can repeat thousands of
times a second (refusals, 503s, failed batches) yields at most one line of a kind every
``EVERY_S`` seconds, each saying how many were held back since the last."""
from __future__ import annotations

import collections
import logging
import threading
import time

EVERY_S = 10.0  # at most one line of a kind this often (a flood must not flood the log)


class Throttle:
    """Logs on ``logger`` at most one record of each kind every ``every_s`` seconds (any thread)."""

    def __init__(self, logger: logging.Logger, every_s: float = EVERY_S) -> None:
        self.logger = logger
        self._every = every_s
        self._last: dict[str, float] = {}
        self._held: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def log(self, level: int, kind: str, message: str, *args: object, exc_info: BaseException | None = None) -> None:
        """Log ``message % args`` unless a record of ``kind`` went out less than ``every_s`` ago."""
        if not self.logger.isEnabledFor(level):
            return
        now = time.monotonic()
        with self._lock:
            last = self._last.get(kind)
            if last is not None and now - last < self._every:
                self._held[kind] += 1
                return
            self._last[kind] = now
            held = self._held.pop(kind, 0)
        if held:
            message, args = message + " (%d more like it since the last one)", (*args, held)
        self.logger.log(level, message, *args, exc_info=exc_info)
