"""One user, microsecond resolution: what `releasegate serve` adds to a batch-1 forward pass.

Starts the server (tiny-encoder on CPU unless told otherwise) as a subprocess, sends N
sequential v2 JSON requests over one keep-alive loopback connection with a raw-socket
client (no HTTP library in the way), and compares the latency percentiles with the raw
batch-1 forward time of the same model measured in this process. locust reports whole
milliseconds; this is the check behind the "1 user p50 <= raw batch-1 + 1 ms" target.

    python benchmarks/serving/latency.py [--model tiny-encoder] [--device cpu] [--requests 2000]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "src"))
sys.path.insert(0, str(HERE))

from run import free_port, running_server  # noqa: E402


def raw_batch1_ms(name: str, device: str, dtype: str, n: int) -> float:
    import torch

    from releasegate.serve.models import SHAPES, build

    model = build(name).to(device=device, dtype=getattr(torch, dtype))
    x = torch.randint(0, SHAPES[name].vocab, (1, SHAPES[name].seq), device=device)
    times = []
    with torch.inference_mode():
        for _ in range(n):
            start = time.perf_counter()
            model(x)
            if device == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times[n // 10:])


def request(seq: int) -> bytes:
    body = json.dumps({"inputs": [{"name": "input_ids", "datatype": "INT64", "shape": [1, seq],
                                   "data": list(range(seq))}]}).encode()
    head = f"POST /v2/models/model/infer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def one_user(port: int, payload: bytes, n: int) -> list[float]:
    times = []
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(n):
            start = time.perf_counter()
            sock.sendall(payload)
            data = b""
            while b"\r\n\r\n" not in data:
                data += sock.recv(65536)
            head, rest = data.split(b"\r\n\r\n", 1)
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            while len(rest) < length:
                rest += sock.recv(65536)
            times.append(time.perf_counter() - start)
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(rest.decode())
    return times


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="tiny-encoder")
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="float32")
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--compile", default="off")
    args = p.parse_args()
    if args.device == "cpu":
        os.environ["OMP_NUM_THREADS"] = "1"
        import torch

        torch.set_num_threads(1)
    from safetensors.torch import save_file

    from releasegate.serve.models import SHAPES, build

    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "w.safetensors"
        save_file(build(args.model).state_dict(), str(weights))
        sha = hashlib.sha256(weights.read_bytes()).hexdigest()
        port = free_port()
        cmd = [sys.executable, "-m", "releasegate", "serve", str(weights), "--sha256", sha, "--factory", args.model,
               "--device", args.device, "--dtype", args.dtype, "--port", str(port), "--compile", args.compile]
        with running_server(cmd, f"http://127.0.0.1:{port}/v2/health/ready", Path(tmp) / "server.log"):
            times = one_user(port, request(SHAPES[args.model].seq), args.requests)
    raw = raw_batch1_ms(args.model, args.device, args.dtype, max(200, args.requests // 4))
    ms = sorted(1000 * t for t in times[args.requests // 10:])
    p50, p99 = ms[len(ms) // 2], ms[int(len(ms) * 0.99)]
    print(json.dumps({"model": args.model, "device": args.device, "requests": args.requests,
                      "raw_batch1_ms": round(raw, 3), "served_p50_ms": round(p50, 3), "served_p99_ms": round(p99, 3),
                      "added_p50_ms": round(p50 - raw, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
