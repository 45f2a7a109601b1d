"""The relay's decisions (authentication, de-duplication, rate limit, payload size), without sockets."""
from __future__ import annotations

import json
from typing import Any

import pytest

from releasegate.alerts.relay import MAX_PAYLOAD, Relay, RelayConfig, client_payload
from releasegate.errors import GitHubError
from tests.support.alerts import alert, body, notification

SECRET = "s3cret-s3cret-s3cret"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def relay(per_minute: int = 10, dedup_s: float = 600) -> tuple[Relay, list[dict[str, Any]], Clock]:
    sent: list[dict[str, Any]] = []
    clock = Clock()
    return Relay(RelayConfig(SECRET, per_minute, dedup_s), sent.append, clock), sent, clock


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer wrong", f"Basic {SECRET}", f"Bearer {SECRET}x",
                                    f"Bearer {SECRET[:-1]}"])
def test_only_the_shared_secret_is_accepted(header: str | None) -> None:
    assert not relay()[0].authorized(header)


def test_the_shared_secret_is_accepted() -> None:
    r = relay()[0]
    assert r.authorized(f"Bearer {SECRET}") and r.authorized(f"bearer  {SECRET} ")


def test_a_storm_of_the_same_alert_is_dispatched_once() -> None:
    r, sent, clock = relay()
    for i in range(300):
        clock.now += 0.2  # 300 notifications in a minute
        answer = r.receive(body(alert(description=f"repeat {i}")))
        assert answer.status == 200
    assert len(sent) == 1
    assert sent[0]["environment"] == "prod" and sent[0]["model"] == "sentiment"
    assert sent[0]["alertmanager"]["alerts"][0]["labels"]["track"] == "canary"
    clock.now += 601  # after the de-duplication window it is news again
    assert r.receive(body(alert())).body == {"dispatched": 1, "duplicates": 0, "ignored": 0}


def test_many_models_are_rate_limited_with_retry_after() -> None:
    r, sent, clock = relay(per_minute=5)
    answers = [r.receive(body(alert(model=f"model-{i}"))) for i in range(8)]
    assert [a.status for a in answers] == [200] * 5 + [429] * 3
    assert dict(answers[5].headers)["Retry-After"] == "12" and len(sent) == 5
    clock.now += 12  # one token back
    assert r.receive(body(alert(model="model-5"))).status == 200


def test_what_is_not_dispatched() -> None:
    r, sent, _ = relay()
    answer = r.receive(body(alert(status="resolved"), alert(action=None), alert(track=""),
                            alert(model="other", version="2.0.0")))
    assert answer.body == {"dispatched": 1, "duplicates": 0, "ignored": 3} and len(sent) == 1
    for bad in (b"{", b"[]", json.dumps({"version": "4", "alerts": "x"}).encode(), b"\xff", b"[" * 50_000):
        assert r.receive(bad).status == 400


def test_a_failed_dispatch_is_502_and_not_remembered() -> None:
    calls: list[int] = []

    def flaky(payload: dict[str, Any]) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise GitHubError("dispatch releasegate-alert to org/gitops: GitHub answered 502")

    r = Relay(RelayConfig(SECRET), flaky, Clock())
    assert r.receive(body(alert())).status == 502
    assert r.receive(body(alert())).status == 200 and len(calls) == 2  # Alertmanager's retry goes through


def test_the_client_payload_stays_under_githubs_limit() -> None:
    from releasegate.alerts.payload import notification as parse_notification

    big = [alert(f"A{i}", description="x" * 4000) for i in range(200)]
    note = parse_notification(notification(*big))
    payload = client_payload(note, "prod", "sentiment", list(note.alerts))
    assert len(json.dumps(payload)) < MAX_PAYLOAD and len(payload) <= 10
    body_ = payload["alertmanager"]
    assert body_["truncatedAlerts"] == 200 - len(body_["alerts"]) > 0
    assert all(len(a["annotations"]["description"]) == 500 for a in body_["alerts"])
