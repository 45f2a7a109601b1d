"""``releasegate alert-relay``: Alertmanager's webhook in, a GitHub ``repository_dispatch`` out.

Alertmanager (0.25 and older) posts a fixed body and cannot template the request GitHub's dispatch
API wants. The relay listens on loopback (a sidecar beside Alertmanager), and for each model and
environment that firing ``releasegate_action: rollback`` alerts name it dispatches one event
``releasegate-alert`` whose ``client_payload`` carries those alerts; the workflow
``.github/workflows/alert.yml`` then runs ``releasegate on-alert`` on it.

- **Authenticated:** ``Authorization: Bearer <secret>``, the secret from an environment variable,
  compared in constant time; anything else is 401 before the body is read.
- **Bounded:** bodies over ``max_body`` are 413 unread; a client has ``timeout_s`` per request.
- **De-duplicated:** the same model, environment, versions and tracks are dispatched once per
  ``dedup_s``; repeats are answered 200 without a dispatch.
- **Rate-limited:** at most ``per_minute`` dispatches a minute (a token bucket); beyond, 429 with
  ``Retry-After``, so Alertmanager retries later and nothing is lost.
- A dispatch GitHub refuses is 502 (Alertmanager retries), and is not remembered as sent.
"""
from __future__ import annotations

import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from releasegate.alerts import ACTION_LABEL, ROLLBACK
from releasegate.alerts.payload import IDENTITY, Alert, Notification, notification
from releasegate.errors import InputError, ReleasegateError

log = logging.getLogger(__name__)
PATH = "/alert"
MAX_PAYLOAD = 60_000  # GitHub takes client_payloads under 64 KB
MAX_ANNOTATION = 500


@dataclass(frozen=True)
class RelayConfig:
    secret: str
    per_minute: int = 10
    dedup_s: float = 600.0
    max_body: int = 1024 * 1024
    timeout_s: float = 10.0


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class _Bucket:
    """``per_minute`` tokens, refilled continuously."""

    per_minute: int
    tokens: float
    at: float

    def take(self, now: float) -> float:
        """0 when a token was taken, else the seconds until one is there."""
        self.tokens = min(self.per_minute, self.tokens + (now - self.at) * self.per_minute / 60)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) * 60 / self.per_minute


@dataclass
class Relay:
    """The relay's decisions; :func:`serve` puts it behind HTTP. ``dispatch`` sends one client payload."""

    config: RelayConfig
    dispatch: Callable[[dict[str, Any]], None]
    clock: Callable[[], float] = time.monotonic
    _seen: dict[tuple[Any, ...], float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _bucket: _Bucket | None = None

    def authorized(self, header: str | None) -> bool:
        scheme, _, token = (header or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), self.config.secret.encode())

    def receive(self, body: bytes) -> Answer:
        """One authorized POST: dispatch what is new, within the rate limit."""
        try:
            note = _parse(body)
        except InputError as e:
            return Answer(400, {"error": e.message})
        groups = _groups(note)
        counts = {"dispatched": 0, "duplicates": 0, "ignored": len(note.alerts) - sum(len(a) for a in groups.values())}
        with self._lock:  # one request at a time decides and dispatches: no double dispatch
            for key, alerts in groups.items():
                answer = self._one(note, key, alerts, counts)
                if answer is not None:
                    return answer
        log.info("alert-relay: %s", counts)
        return Answer(200, counts)

    def _one(self, note: Notification, key: tuple[Any, ...], alerts: list[Alert],
             counts: dict[str, int]) -> Answer | None:
        now = self.clock()
        self._seen = {k: t for k, t in self._seen.items() if now - t < self.config.dedup_s}
        if key in self._seen:
            counts["duplicates"] += 1
            return None
        if self._bucket is None:
            self._bucket = _Bucket(self.config.per_minute, float(self.config.per_minute), now)
        wait = self._bucket.take(now)
        if wait:
            log.warning("alert-relay: rate limit (%d a minute) reached; answered 429", self.config.per_minute)
            return Answer(429, {"error": f"more than {self.config.per_minute} dispatches a minute; retry later",
                                **counts}, (("Retry-After", str(max(1, round(wait)))),))
        try:
            self.dispatch(client_payload(note, key[0], key[1], alerts))
        except ReleasegateError as e:
            log.error("alert-relay: dispatch failed: %s", e.message)
            return Answer(502, {"error": f"GitHub refused the dispatch: {e.message}", **counts})
        self._seen[key] = now
        counts["dispatched"] += 1
        return None


def _parse(body: bytes) -> Notification:
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise InputError(f"the body is not JSON: {type(e).__name__}") from e
    if not isinstance(doc, dict):
        raise InputError("the body is not a JSON object")
    return notification(doc, "body")


def _groups(note: Notification) -> dict[tuple[Any, ...], list[Alert]]:
    """Firing alerts that ask for a rollback, by (environment, model, versions and tracks)."""
    by_target: dict[tuple[str, str], list[Alert]] = {}
    for a in note.alerts:
        if a.status == "firing" and a.label(ACTION_LABEL) == ROLLBACK and all(a.label(k) for k in IDENTITY):
            by_target.setdefault((a.label("environment") or "", a.label("model") or ""), []).append(a)
    return {(env, model, frozenset((a.label("version"), a.label("track")) for a in alerts)): alerts
            for (env, model), alerts in by_target.items()}


def client_payload(note: Notification, env: str, model: str, alerts: list[Alert]) -> dict[str, Any]:
    """What the workflow hands to ``on-alert``: a v4 body of these alerts, kept under GitHub's 64 KB."""
    kept = [_trimmed(a) for a in alerts]
    while True:
        body = {"version": "4", "groupKey": note.group_key[:1000], "status": "firing",
                "receiver": note.receiver[:200], "externalURL": note.external_url[:500],
                "truncatedAlerts": note.truncated + len(alerts) - len(kept), "alerts": kept}
        payload = {"environment": env[:100], "model": model[:100], "alertmanager": body}
        if len(json.dumps(payload)) < MAX_PAYLOAD or len(kept) == 1:
            return payload
        kept = kept[: len(kept) // 2]


def _trimmed(a: Alert) -> dict[str, Any]:
    doc = a.to_json()
    doc["annotations"] = {k: v[:MAX_ANNOTATION] for k, v in a.annotations}
    return doc


class _Handler(BaseHTTPRequestHandler):
    relay: Relay  # set on the subclass made by serve()
    server_version = "releasegate-alert-relay"
    sys_version = ""

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        if self.path == "/healthz":
            self._send(Answer(200, {"status": "ok"}))
        else:
            self._send(Answer(404 if self.path != PATH else 405, {"error": f"{self.path}: use POST {PATH}"}))

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        if self.path != PATH:
            self._send(Answer(404, {"error": f"{self.path}: not found; Alertmanager posts to {PATH}"}))
        elif not self.relay.authorized(self.headers.get("Authorization")):
            self._send(Answer(401, {"error": "missing or wrong bearer token"}, (("WWW-Authenticate", "Bearer"),)))
        else:
            self._post()

    def _post(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or "")
        except ValueError:
            self._send(Answer(411, {"error": "Content-Length is required"}))
            return
        if length < 0 or length > self.relay.config.max_body:
            self._send(Answer(413, {"error": f"body over {self.relay.config.max_body} bytes"}))
            return
        body = self.rfile.read(length)
        if len(body) < length:
            return  # the client went away
        self._send(self.relay.receive(body))

    def _send(self, answer: Answer) -> None:
        data = json.dumps(answer.body).encode()
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in answer.headers:
            self.send_header(name, value)
        if answer.status >= 400:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server API
        log.info("alert-relay: %s %s", self.address_string(), format % args)


def server(relay: Relay, host: str, port: int) -> ThreadingHTTPServer:
    """The relay's HTTP server, bound (not yet serving); loopback addresses only."""
    if host not in ("127.0.0.1", "::1", "localhost") and not host.startswith("127."):
        raise InputError(f"--host {host}: the relay listens on loopback only",
                         "run it beside Alertmanager (a sidecar in its pod) and keep --host 127.0.0.1")
    # StreamRequestHandler puts `timeout` on each connection's socket: a slow client is cut off.
    handler = type("RelayHandler", (_Handler,), {"relay": relay, "timeout": relay.config.timeout_s})
    try:
        httpd = ThreadingHTTPServer((host, port), handler)
    except OSError as e:
        raise InputError(f"cannot listen on {host}:{port}: {e.strerror}", "pick a free --port") from e
    httpd.daemon_threads = True
    return httpd


def dispatcher(repo: str, event_type: str, env: Mapping[str, str] | None = None,
               api_url: str | None = None) -> Callable[[dict[str, Any]], None]:
    """POST /repos/{repo}/dispatches with the token of ``GITHUB_TOKEN`` (few, short retries: a relay
    answers Alertmanager within seconds, and Alertmanager retries what failed)."""
    from releasegate.github.client import RetryPolicy, connect, token_from_env

    client = connect(repo, token_from_env(env), api_url, retry=RetryPolicy(attempts=2, backoff_s=1, max_wait_s=5),
                     throttle=False)

    def send(payload: dict[str, Any]) -> None:
        body = {"event_type": event_type, "client_payload": payload}
        client.call(f"dispatch {event_type} to {repo}", lambda: client.gh.requester.requestJsonAndCheck(
            "POST", f"/repos/{repo}/dispatches", input=body))

    return send
