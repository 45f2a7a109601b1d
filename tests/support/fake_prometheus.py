"""A loopback stand-in for Prometheus's ``/api/v1/query`` with canned answers, for the analysis's edge
cases (a real Prometheus runs in tests/acceptance/test_closed_loop.py). Each answer is chosen by what
the query asks for: 5xx answers, latency buckets, or all answers."""
from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from releasegate.serve.metric_names import LATENCY_BUCKETS, le


def vector(samples: list[tuple[dict[str, str], float]]) -> dict[str, Any]:
    return {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": labels, "value": [1700000000.0, repr(float(value))]} for labels, value in samples]}}


def side(track: str, version: str, requests: int, errors: int, latency_s: float) -> dict[str, list[Any]]:
    """Samples of one side: every answered request took ``latency_s``."""
    ids = {"track": track, "version": version}
    answered = requests - errors
    buckets = [({**ids, "le": le(b)}, answered if latency_s <= b else 0) for b in LATENCY_BUCKETS]
    return {"requests": [(ids, requests)], "errors": [(ids, errors)] if errors else [],
            "buckets": [*buckets, ({**ids, "le": "+Inf"}, answered)]}


class FakePrometheus:
    def __init__(self) -> None:
        self.sides: list[dict[str, list[Any]]] = []
        self.answer: Callable[[str], tuple[int, bytes]] | None = None  # overrides everything
        self.queries: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                split = urlsplit(self.path)
                query = parse_qs(split.query).get("query", [""])[0]
                fake.queries.append(query)
                status, body = fake.answer(query) if fake.answer else (200, json.dumps(fake._vector(query)).encode())
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _vector(self, query: str) -> dict[str, Any]:
        kind = "errors" if "status=~" in query else "buckets" if "_bucket" in query else "requests"
        return vector([sample for s in self.sides for sample in s[kind]])

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
