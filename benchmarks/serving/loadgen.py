"""A lean closed-loop HTTP/1.1 load generator: C keep-alive connections, no think time, one process.

Why not locust here: the server's own ceiling on a small machine is several thousand
requests/s, and locust spends far more CPU per request than the server does, so it would
measure itself. This client writes pre-encoded request bytes and reads each response by its
Content-Length on a uvloop event loop (about 15-25 µs of CPU per request), and reports its
own CPU time so that a reader can see it is not the bottleneck.

    python loadgen.py --port 8000 --path /v2/models/model/infer --body body.json --connections 64 --seconds 10

Prints one JSON object: requests, rps, p50/p90/p99 ms, statuses, cpu_s (this process), seconds.
Only 127.0.0.1 is ever targeted.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import resource
import sys
import time
from pathlib import Path

HOST = "127.0.0.1"


class Client(asyncio.Protocol):
    """One keep-alive connection sending the same request again as soon as its answer is complete."""

    def __init__(self, request: bytes, run: Run) -> None:
        self.request = request
        self.run = run
        self.buffer = bytearray()
        self.sent = 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.send()

    def send(self) -> None:
        if self.run.stopped or self.transport is None:
            return
        self.sent = time.perf_counter()
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            length = _content_length(head)
            if len(self.buffer) < end + 4 + length:
                return
            status = int(head[9:12])
            del self.buffer[:end + 4 + length]
            self.run.record(status, time.perf_counter() - self.sent)
            self.send()

    def connection_lost(self, exc: Exception | None) -> None:
        self.run.statuses["closed"] += 1
        self.transport = None


def _content_length(head: bytes) -> int:
    start = head.find(b"content-length:")
    if start < 0:
        return 0
    stop = head.find(b"\r\n", start)
    return int(head[start + 15:stop if stop > 0 else len(head)])


class Run:
    def __init__(self, warmup: float) -> None:
        self.latencies: list[float] = []
        self.statuses: collections.Counter[object] = collections.Counter()
        self.stopped = False
        self.measuring = False
        self.warmup = warmup

    def record(self, status: int, seconds: float) -> None:
        if self.measuring:
            self.latencies.append(seconds)
            self.statuses[status] += 1


async def drive(args: argparse.Namespace) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    body = Path(args.body).read_bytes()
    request = (f"POST {args.path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    run = Run(args.warmup)
    transports = []
    for _ in range(args.connections):
        transport, _ = await loop.create_connection(lambda: Client(request, run), HOST, args.port)
        transports.append(transport)
    await asyncio.sleep(args.warmup)
    cpu0 = _cpu()
    started = time.perf_counter()
    run.measuring = True
    await asyncio.sleep(args.seconds)
    run.measuring = False
    elapsed = time.perf_counter() - started
    cpu = _cpu() - cpu0
    run.stopped = True
    for transport in transports:
        transport.close()
    if args.dump:
        Path(args.dump).write_text(json.dumps([round(x, 6) for x in run.latencies]))
    return _summary(run, elapsed, cpu, args.connections)


def _summary(run: Run, elapsed: float, cpu: float, connections: int) -> dict[str, object]:
    lat = sorted(run.latencies)

    def pct(q: float) -> float:
        return round(1000 * lat[min(len(lat) - 1, int(q * len(lat)))], 3) if lat else 0.0

    ok = run.statuses.get(200, 0)
    return {"connections": connections, "requests": len(lat), "ok": ok, "rps": round(len(lat) / elapsed, 1),
            "p50_ms": pct(0.5), "p90_ms": pct(0.9), "p99_ms": pct(0.99), "seconds": round(elapsed, 2),
            "statuses": {str(k): v for k, v in run.statuses.items()},
            "cpu_s": round(cpu, 3), "cpu_us_per_request": round(1e6 * cpu / max(1, len(lat)), 1)}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--path", required=True)
    p.add_argument("--body", required=True, help="file with the request body")
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--dump", default=None, help="write every measured latency (s) to this JSON file")
    args = p.parse_args()
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    print(json.dumps(asyncio.run(drive(args))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
