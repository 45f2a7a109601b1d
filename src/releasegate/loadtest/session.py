"""The servers of one comparison: start both, keep them running, stop them on every exit path.

Both sides normally run side by side for the whole test, so that phases can alternate
between them without reloading models. An external runtime whose URLs name a fixed
port cannot run twice at once; then the sides are *exclusive*: before each phase the
other side is stopped and this one (re)started, waited for and warmed up again.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from releasegate.loadtest.errors import LoadTestError
from releasegate.loadtest.payloads import Payloads
from releasegate.loadtest.servers import Server, ServerSpec, start, wait_ready
from releasegate.loadtest.warmup import warm_up

CANDIDATE, BASELINE = "candidate", "baseline"


def _fixed_port(spec: ServerSpec) -> str | None:
    if spec.kind != "external":
        return None
    url = str(spec.external.get("readinessUrl", ""))
    if "{port}" in url or "{port}" in str(spec.external.get("inferUrl", "")):
        return None
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 80}"


def _as_baseline_error(e: LoadTestError) -> LoadTestError:
    return LoadTestError(
        f"the baseline no longer loads: {e.message}",
        "the live version's artifact or runtime is broken; fix it, or run with --no-baseline "
        "to measure the candidate against its SLO alone",
        code="baseline-unusable",
    )


class Session:
    """Servers by side, started on demand."""

    def __init__(self, specs: dict[str, ServerSpec], log_dir: Path, progress: Callable[[str], None]) -> None:
        self.specs = specs
        self.log_dir = log_dir
        self.progress = progress
        ports = [_fixed_port(s) for s in specs.values()]
        self.exclusive = len(specs) > 1 and ports[0] is not None and ports[0] == ports[-1]
        self.servers: dict[str, Server] = {}
        self.startup_seconds: dict[str, float] = {}
        self.payloads: dict[str, Payloads] = {}
        self.warmup_seconds = 0.0
        self.warmup_threads = 1
        self.warm_throughput: dict[str, float] = {}

    def start(self) -> None:
        """Start the sides (both at once unless exclusive) and wait until they are ready."""
        # Exclusive: the candidate first (its inputs define the request bodies for both).
        labels = [CANDIDATE] if self.exclusive else list(self.specs)
        started = {label: (start(self.specs[label], self.log_dir), time.monotonic()) for label in labels}
        for label, (server, t0) in started.items():
            self.servers[label] = server
            self._wait(label, server, t0)

    def _wait(self, label: str, server: Server, t0: float) -> None:
        self.progress(f"waiting for {server.spec.display} to be ready")
        try:
            wait_ready(server, server.spec.startup_timeout)
        except LoadTestError as e:
            raise _as_baseline_error(e) if label == BASELINE else e from None
        self.startup_seconds[label] = time.monotonic() - t0
        self.progress(f"{server.spec.display} ready after {self.startup_seconds[label]:.1f} s")

    def warm(self, label: str) -> None:
        server = self.servers[label]
        payloads = self.payloads.get(label) or self.payloads[CANDIDATE]
        self.progress(f"warming up {server.spec.display} for {self.warmup_seconds:g} s")
        try:
            stats = warm_up(server, payloads, self.warmup_seconds, self.warmup_threads)
        except LoadTestError as e:
            raise _as_baseline_error(e) if label == BASELINE else e from None
        self.warm_throughput[label] = stats.throughput

    def server(self, label: str) -> Server:
        """The running server of ``label`` (restarted and warmed up in exclusive mode)."""
        server = self.servers.get(label)
        if server is not None:
            if not server.alive():
                error = server.crash_error("between phases")
                raise _as_baseline_error(error) if label == BASELINE else error
            return server
        for other in list(self.servers):
            self.servers.pop(other).stop()
        server = start(self.specs[label], self.log_dir)
        self.servers[label] = server
        self._wait(label, server, time.monotonic())
        self.warm(label)
        return server

    def stop(self) -> None:
        for label in list(self.servers):
            self.servers.pop(label).stop()
