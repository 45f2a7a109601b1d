"""A minimal Open Inference Protocol v2 server for the load-test gate's tests.

Used as an ``external`` runtime: it serves a TorchScript file with the Python standard
library's threading HTTP server, so tests do not depend on the built-in server.
Misbehaviours for the bad-input tests: ``--never-ready``, ``--crash-after N``
(requests), ``--crash-after-seconds S`` (after the first request), ``--fail`` (every request answers HTTP 500).

    python oip_server.py MODEL.pt --port P --model-name NAME [--input-dim 64]
"""
from __future__ import annotations

import argparse
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import torch


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model-name", default="model")
    parser.add_argument("--input-dim", type=int, default=64)
    parser.add_argument("--never-ready", action="store_true")
    parser.add_argument("--crash-after", type=int, default=0)
    parser.add_argument("--crash-after-seconds", type=float, default=0.0)
    parser.add_argument("--fail", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = torch.jit.load(args.model).eval()
    lock = threading.Lock()
    served = [0]
    first = [0.0]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *a: object) -> None:
            pass

        def _send(self, code: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/v2/health/ready":
                self._send(503 if args.never_ready else 200, {"ready": not args.never_ready})
            elif self.path == f"/v2/models/{args.model_name}":
                inputs = [{"name": "x", "datatype": "FP32", "shape": [-1, args.input_dim]}]
                self._send(200, {"name": args.model_name, "inputs": inputs, "outputs": []})
            else:
                self._send(404, {"error": "not found"})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            with lock:
                served[0] += 1
                first[0] = first[0] or time.monotonic()
                late = args.crash_after_seconds and time.monotonic() - first[0] > args.crash_after_seconds
                if (args.crash_after and served[0] > args.crash_after) or late:
                    print(f"simulated crash after {served[0] - 1} requests", flush=True)
                    os._exit(17)
            if args.fail:
                self._send(500, {"error": "model failed"})
                return
            x = body["inputs"][0]
            tensor = torch.tensor(x["data"], dtype=torch.float32).reshape(x["shape"])
            with lock, torch.inference_mode():
                y = model(tensor)
            out = {"name": "y", "datatype": "FP32", "shape": list(y.shape), "data": y.flatten().tolist()}
            self._send(200, {"model_name": args.model_name, "outputs": [out]})

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"serving {args.model} on 127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
