"""The loop closed for real: model servers -> Prometheus (the rendered rules) -> Alertmanager ->
alert-relay -> GitHub's dispatch API (the fake) -> on-alert -> the abort's pull request.

Every component is the real program on a free loopback port: two ``releasegate serve`` processes per
environment share the stable one (1.0.0); prod's canary (1.1.0) sleeps 30 ms a batch, staging's does
not. Prometheus 2.x scrapes them every second and evaluates the rules ``releasegate render`` wrote for
this repository (monitoring.canary.for 2s and minRequests 20, for speed); Alertmanager posts to the
relay with the bearer token; the test plays the workflow's part (``releasegate on-alert
"$GITHUB_EVENT_PATH"``) on each dispatched event.
"""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.cli import run_cli
from tests.gitrepo import Repo
from tests.support import loop
from tests.support.fake_github import FakeGitHub
from tests.support.github_fixtures import example
from tests.support.prometheus import Process, alertmanager, alerts, prometheus

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
torch = pytest.importorskip("torch")
SECRET = "loop-secret-0123456789"
ALERT = "ReleasegateCanaryLatencyAboveStable"


@dataclass
class Loop:
    repo: Path
    github: FakeGitHub
    prometheus: Process
    alertmanager: Process
    capture: loop.Capture
    config: dict[str, Any]
    rules: list[Path]
    tmp: Path

    @property
    def logs(self) -> list[Process]:
        return [self.prometheus, self.alertmanager]


@pytest.fixture
def running(tmp_path: Path, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> Iterator[Loop]:
    repo = loop.gitops_repo(tmp_path)
    monkeypatch.chdir(repo)
    rules = loop.rule_files(repo, tmp_path)
    dist, weights, sha = loop.model(tmp_path / "model")
    token = tmp_path / "relay-token"
    token.write_text(SECRET)
    with loop.Capture() as capture, loop.relay(tmp_path, SECRET) as relay_port, \
            loop.serve(tmp_path, dist, weights, sha, "1.0.0", "stable", 0) as stable, \
            loop.serve(tmp_path, dist, weights, sha, "1.1.0", "canary", 0.03) as slow, \
            loop.serve(tmp_path, dist, weights, sha, "1.1.0", "canary", 0) as healthy:
        hook = {"send_resolved": True, "http_config": {"authorization": {"type": "Bearer",
                                                                            "credentials_file": str(token)}}}
        am_config = {"route": {"receiver": "capture", "group_by": ["environment", "model"], "group_wait": "1s",
                               "group_interval": "1s", "repeat_interval": "1h",
                               "routes": [{"receiver": "relay", "matchers": ['releasegate_action="rollback"'],
                                           "continue": True}, {"receiver": "capture"}]},
                     "receivers": [{"name": "relay", "webhook_configs": [
                                        {"url": f"http://127.0.0.1:{relay_port}/alert", **hook}]},
                                   {"name": "capture", "webhook_configs": [
                                       {"url": f"http://127.0.0.1:{capture.port}/", "send_resolved": True}]}]}
        with alertmanager(tmp_path, am_config) as am:
            config = loop.scrape_config({"prod": [stable.port, slow.port], "staging": [stable.port, healthy.port]},
                                        am.port)
            with prometheus(tmp_path, config, rules) as prom, loop.Traffic([stable.port, slow.port, healthy.port]):
                yield Loop(repo, github, prom, am, capture, config, rules, tmp_path)


def on_alert(running: Loop, capsys: pytest.CaptureFixture[str], payload: dict[str, Any]) -> tuple[int, str]:
    event = example("repository_dispatch")  # what GitHub hands the workflow in GITHUB_EVENT_PATH
    event.update(action="releasegate-alert", client_payload=payload)
    path = running.tmp / "event.json"
    path.write_text(json.dumps(event))
    result = run_cli(capsys, "on-alert", str(path))
    return result.code, result.out + result.err


def test_a_slow_canary_is_aborted_by_its_alert_once(running: Loop, capsys: pytest.CaptureFixture[str]) -> None:
    github = running.github
    # Prometheus fires the canary alert for prod (staging's canary is as fast as its stable side);
    # Alertmanager posts it to the relay, which dispatches it to GitHub once.
    loop.wait_for("a dispatch", lambda: github.dispatches, 90, running.logs)
    (dispatch,) = github.dispatches
    assert dispatch["event_type"] == "releasegate-alert"
    payload = dispatch["client_payload"]
    assert (payload["environment"], payload["model"]) == ("prod", "sentiment")
    fired = payload["alertmanager"]["alerts"][0]
    assert fired["labels"]["alertname"] == ALERT and fired["status"] == "firing"
    assert {k: fired["labels"][k] for k in ("version", "track", "releasegate_action")} == {
        "version": "1.1.0", "track": "canary", "releasegate_action": "rollback"}
    started = time.monotonic()
    code, out = on_alert(running, capsys, payload)
    opened_in = time.monotonic() - started
    assert code == 0, out
    assert "opened #42" in out and opened_in < 5
    sent = github.pull_bodies[42]
    assert sent["title"] == "Abort the canary of sentiment 1.1.0 in prod: back to 1.0.0"
    assert ALERT in sent["body"] and github.labels[42] == ["releasegate-alert", "rollback"]

    # Alertmanager keeps the alert firing; the relay does not dispatch it again, and the same event
    # handed to on-alert again (a re-run of the workflow) finds the open pull request.
    time.sleep(3)
    assert len(github.dispatches) == 1
    code, out = on_alert(running, capsys, payload)
    assert code == 0 and "duplicate #42" in out

    # Staging's healthy canary never alerted.
    active = alerts(running.prometheus.url)
    assert {(a["labels"]["environment"], a["labels"]["alertname"]) for a in active} == {("prod", ALERT)}

    # The abort merged: the same alert is about a version no longer live.
    running.github.pulls[42].state = "closed"
    Repo(running.repo).git("merge", "-q", "--no-ff", "releasegate/abort-sentiment-prod-1.1.0", "-m", "Merge pull request #42")
    code, out = on_alert(running, capsys, payload)
    assert code == 0 and "not-live: sentiment 1.1.0 (canary) in prod is not live: 1.0.0 is, without a canary" in out

    # The alert resolves (its rules are gone from Prometheus): Alertmanager's resolved notification opens nothing.
    config = running.prometheus.log.parent / "prometheus.yml"
    config.write_text(json.dumps({**running.config, "rule_files": []}))
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{running.prometheus.url}/-/reload", method="POST"), timeout=10)

    def resolved() -> dict[str, Any] | None:
        return next((b for b in running.capture.bodies if b["status"] == "resolved"
                     and b["commonLabels"].get("environment") == "prod"), None)

    body = loop.wait_for("a resolved notification", resolved, 60, running.logs)
    code, out = on_alert(running, capsys, {"environment": "prod", "model": "sentiment", "alertmanager": body})
    assert code == 0 and "resolved: resolved: nothing to roll back" in out
    assert sorted(github.pull_bodies) == [42] and len(github.dispatches) == 1
