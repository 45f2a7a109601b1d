"""Per-request CPU cost of the server's own Python path, without sockets, load generator or model.

Feeds N complete HTTP requests (v2 JSON, bert-base-sized: 128 INT64 ids) through the real
code: httptools parsing in `http.Connection`, the v2 checks, the batcher's queue and
batch forming, splitting, response encoding and the write — with a runner that returns
constant logits and a transport that discards bytes. Reports microseconds per request
(the best of several repeats), i.e. the ceiling one event loop puts on req/s before any
model time. Usage: python benchmarks/serving/overhead.py [--requests 20000] [--batch 64]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from releasegate.serve.app import Limits, ServeApp  # noqa: E402
from releasegate.serve.batching import Batcher, Job, split_rows  # noqa: E402
from releasegate.serve.http import Connection  # noqa: E402
from releasegate.serve.listener import HttpServer  # noqa: E402
from releasegate.serve.metrics import ServeMetrics  # noqa: E402
from releasegate.serve.protocol import Signature  # noqa: E402
from releasegate.serve.tensors import TensorSpec  # noqa: E402

SEQ = 128


class _Done:
    def __init__(self, rows: int) -> None:
        self.rows = rows

    def wait(self) -> list[np.ndarray]:
        return [np.zeros((self.rows, 2), np.float32)]


class ConstantRunner:
    slots = 2

    def prepare(self) -> None:
        pass

    def launch(self, slot: int, jobs: Sequence[Job], rows: int) -> _Done:
        return _Done(rows)


class NullTransport:
    def __init__(self) -> None:
        self.bytes = 0

    def write(self, data: bytes) -> None:
        self.bytes += len(data)

    def close(self) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def is_closing(self) -> bool:
        return False

    def set_write_buffer_limits(self, high: int, low: int) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str) -> None:
        return None


def request_bytes() -> bytes:
    ids = list(range(1000, 1000 + SEQ))
    body = json.dumps({"inputs": [{"name": "input_ids", "datatype": "INT64", "shape": [1, SEQ], "data": ids}]})
    head = (f"POST /v2/models/model/infer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body.encode()


def run(n: int, batch: int) -> float:
    """Seconds of CPU for ``n`` requests, driven on one thread (batches formed synchronously)."""
    sig = Signature("model", "1", "bench", (TensorSpec("input_ids", "INT64", (SEQ,)),),
                    (TensorSpec("logits", "FP32", (2,)),), batch)
    runner = ConstantRunner()
    batcher = Batcher(runner, lambda r: None, max_batch=batch, max_delay_s=0.0, max_queue=n + 1)
    app = ServeApp(sig, batcher, ServeMetrics("model"), Limits())
    loop = asyncio.new_event_loop()
    server = HttpServer(app, loop)
    conns = []
    for _ in range(batch):
        conn = Connection(server)
        conn.connection_made(NullTransport())
        conns.append(conn)
    raw = request_bytes()
    start = time.process_time()
    for _ in range(0, n, batch):
        for conn in conns:
            conn.data_received(raw)            # parse + check + queue
        jobs = batcher._pop_batch()            # what the launch thread does, minus the wake-up
        outputs = runner.launch(0, jobs, sum(j.rows for j in jobs)).wait()
        app.finish(list(zip(jobs, split_rows(outputs, jobs))))   # encode + write
    spent = time.process_time() - start
    for conn in conns:
        conn.connection_lost(None)
    loop.close()
    return spent


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--requests", type=int, default=20_000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    best = min(run(args.requests, args.batch) for _ in range(args.repeats))
    per = 1e6 * best / args.requests
    print(json.dumps({"us_per_request": round(per, 1), "req_per_s_one_core": round(1e6 / per),
                      "requests": args.requests, "batch": args.batch, "seq": SEQ}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
