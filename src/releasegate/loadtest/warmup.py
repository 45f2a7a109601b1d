"""Warm a server up before it is measured, and find out early if it answers at all.

One thread, then a few threads, send the load test's own request bodies for ``seconds`` (keep-alive
connections, loopback only). A server that fails every warm-up request is not worth
measuring: that is an ``all-requests-failed`` error with a sample of what it said.
"""
from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from releasegate.loadtest.errors import LoadTestError
from releasegate.loadtest.payloads import Payloads
from releasegate.loadtest.servers import Server

MAX_THREADS = 8
MIN_REQUESTS = 3


@dataclass
class WarmupStats:
    ok: int = 0
    failed: int = 0
    sample_error: str = ""
    seconds: float = 0.0

    @property
    def throughput(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0


def _worker(server: Server, payloads: Payloads, until: float, stats: WarmupStats, lock: threading.Lock, offset: int) -> None:
    parts = urlsplit(server.infer_url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=10)
    i = offset
    try:
        while time.monotonic() < until or stats.ok + stats.failed < MIN_REQUESTS:
            body = payloads.bodies[i % len(payloads.bodies)].encode("utf-8")
            i += 1
            error = _one(conn, path, payloads.content_type, body)
            with lock:
                if error is None:
                    stats.ok += 1
                else:
                    stats.failed += 1
                    stats.sample_error = stats.sample_error or error
                if stats.ok + stats.failed > 100000:
                    return
            if error is not None and not server.alive():
                return
    finally:
        conn.close()


def _one(conn: http.client.HTTPConnection, path: str, content_type: str, body: bytes) -> str | None:
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": content_type})
        response = conn.getresponse()
        data = response.read()
    except (OSError, http.client.HTTPException) as e:
        conn.close()
        return f"{type(e).__name__}: {e}"
    if response.status != 200:
        return f"HTTP {response.status}: {data[:300].decode('utf-8', 'replace')}"
    return None


def _stage(server: Server, payloads: Payloads, seconds: float, threads: int) -> WarmupStats:
    stats, lock = WarmupStats(), threading.Lock()
    started = time.monotonic()
    workers = [
        threading.Thread(target=_worker, args=(server, payloads, started + seconds, stats, lock, i), daemon=True)
        for i in range(threads)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=seconds + 30)
    stats.seconds = time.monotonic() - started
    return stats


def warm_up(server: Server, payloads: Payloads, seconds: float, threads: int) -> WarmupStats:
    """Send requests for ``seconds`` (half one at a time, half with ``threads`` at once).

    Returns the one-at-a-time stage's statistics: its throughput is the inverse of a
    single request's latency, which sizes the interleaving slots. Raises when every
    request failed or the server died.
    """
    threads = max(1, min(MAX_THREADS, threads))
    single = _stage(server, payloads, seconds / 2 if threads > 1 else seconds, 1)
    parallel = _stage(server, payloads, seconds / 2, threads) if threads > 1 and server.alive() else WarmupStats()
    if not server.alive():
        raise server.crash_error("during warm-up")
    ok, failed = single.ok + parallel.ok, single.failed + parallel.failed
    if ok == 0:
        raise LoadTestError(
            f"{server.spec.display}: every warm-up request failed ({failed} of {failed}); "
            f"for example: {single.sample_error or parallel.sample_error}",
            "check that the request bodies fit the model (spec.loadTest.payloadFile or the "
            "input signature) and the server log in the --out directory",
            code="all-requests-failed",
        )
    return single
