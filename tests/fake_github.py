"""A loopback stand-in for the few GitHub REST endpoints promote/rollback call.

It answers ``POST /repos/{o}/{r}/pulls`` and ``PATCH /repos/{o}/{r}/issues/{n}`` with the
fields PyGithub reads, records every request, and can be told to refuse pull requests.
Only 127.0.0.1 is ever contacted.
"""
from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class FakeGitHub:
    url: str = ""
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    refuse_pulls: bool = False
    next_number: int = 41


def _handler(state: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return

        def _body(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length)) if length else None

        def _reply(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802 - http.server naming
            body = self._body()
            state.requests.append(("POST", self.path, body))
            m = re.fullmatch(r"/repos/([^/]+)/([^/]+)/pulls", self.path)
            if not m:
                return self._reply(404, {"message": "Not Found"})
            if state.refuse_pulls:
                return self._reply(422, {"message": "Validation Failed: base branch does not exist"})
            state.next_number += 1
            n, repo = state.next_number, f"{m.group(1)}/{m.group(2)}"
            return self._reply(201, {
                "number": n, "title": body["title"], "state": "open",
                "url": f"{state.url}/repos/{repo}/pulls/{n}", "issue_url": f"{state.url}/repos/{repo}/issues/{n}",
                "html_url": f"{state.url}/{repo}/pull/{n}"})

        def do_PATCH(self) -> None:  # noqa: N802
            body = self._body()
            state.requests.append(("PATCH", self.path, body))
            m = re.fullmatch(r"/repos/([^/]+)/([^/]+)/issues/(\d+)", self.path)
            if not m:
                return self._reply(404, {"message": "Not Found"})
            labels = [{"name": name} for name in (body or {}).get("labels", [])]
            return self._reply(200, {"number": int(m.group(3)), "labels": labels, "url": f"{state.url}{self.path}"})

    return Handler


@contextmanager
def fake_github() -> Iterator[FakeGitHub]:
    state = FakeGitHub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
