"""The loop closed for real, with every component the real program on a free loopback port.

Three ``releasegate serve`` processes under steady traffic for the module: the stable 1.0.0, shared by
both environments; prod's canary 1.1.0, which sleeps 30 ms a batch; staging's canary 1.1.0, which
does not. Prometheus 2.x scrapes them every second (one job per environment, the label the rendered
PodMonitor relabels in).

- The alert path: Prometheus evaluates the rules ``releasegate render`` wrote for the repository
  (its ``monitoring.canary`` set to ``for: 2s`` and ``minRequests: 20``, for speed), Alertmanager posts
  to ``releasegate alert-relay`` with the bearer token, the relay dispatches to the fake GitHub (every
  request checked against GitHub's OpenAPI description), and the test plays the workflow's part:
  ``releasegate on-alert "$GITHUB_EVENT_PATH"`` on each dispatched event.
- The analysis: ``rollout advance --prometheus-url`` against the same kind of Prometheus passes the
  healthy canary and fails the slow one.
"""
from __future__ import annotations

import json
import time
import urllib.request
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


@dataclass(frozen=True)
class Servers:
    stable: Process
    slow: Process
    healthy: Process

    def jobs(self) -> dict[str, list[int]]:
        return {"prod": [self.stable.port, self.slow.port], "staging": [self.stable.port, self.healthy.port]}


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    root = tmp_path_factory.mktemp("servers")
    dist, weights, sha = loop.model(root / "model")
    with loop.serve(root, dist, weights, sha, "1.0.0", "stable", 0) as stable, \
            loop.serve(root, dist, weights, sha, "1.1.0", "canary", 0.03) as slow, \
            loop.serve(root, dist, weights, sha, "1.1.0", "canary", 0) as healthy, \
            loop.Traffic([stable.port, slow.port, healthy.port]):
        yield Servers(stable, slow, healthy)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    path = loop.gitops_repo(tmp_path)
    monkeypatch.chdir(path)
    return Repo(path)


# --- an alert opens the abort ------------------------------------------------------------------------

@dataclass
class AlertPath:
    prometheus: Process
    alertmanager: Process
    capture: loop.Capture
    config: dict[str, Any]
    tmp: Path

    @property
    def logs(self) -> list[Process]:
        return [self.prometheus, self.alertmanager]


@pytest.fixture
def alert_path(servers: Servers, repo: Repo, tmp_path: Path, github: FakeGitHub) -> Iterator[AlertPath]:
    rules = loop.rule_files(repo.root, tmp_path)
    token = tmp_path / "relay-token"
    token.write_text(SECRET)
    with loop.Capture() as capture, loop.relay(tmp_path, SECRET) as relay_port:
        auth = {"authorization": {"type": "Bearer", "credentials_file": str(token)}}
        am_config = {"route": {"receiver": "capture", "group_by": ["environment", "model"], "group_wait": "1s",
                               "group_interval": "1s", "repeat_interval": "1h",
                               "routes": [{"receiver": "relay", "matchers": ['releasegate_action="rollback"'],
                                           "continue": True}, {"receiver": "capture"}]},
                     "receivers": [{"name": "relay", "webhook_configs": [
                                        {"url": f"http://127.0.0.1:{relay_port}/alert", "send_resolved": True,
                                         "http_config": auth}]},
                                   {"name": "capture", "webhook_configs": [
                                       {"url": f"http://127.0.0.1:{capture.port}/", "send_resolved": True}]}]}
        with alertmanager(tmp_path, am_config) as am:
            config = loop.scrape_config(servers.jobs(), am.port)
            with prometheus(tmp_path, config, rules) as prom:
                yield AlertPath(prom, am, capture, config, tmp_path)


def on_alert(tmp: Path, capsys: pytest.CaptureFixture[str], payload: dict[str, Any]) -> tuple[int, str]:
    event = example("repository_dispatch")  # what GitHub hands the workflow in GITHUB_EVENT_PATH
    event.update(action="releasegate-alert", client_payload=payload)
    path = tmp / "event.json"
    path.write_text(json.dumps(event))
    result = run_cli(capsys, "on-alert", str(path))
    return result.code, result.out + result.err


def test_a_slow_canary_is_aborted_by_its_alert_once(alert_path: AlertPath, repo: Repo, github: FakeGitHub,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    # Prometheus fires the canary alert for prod (staging's canary is as fast as its stable side);
    # Alertmanager posts it to the relay, which dispatches it to GitHub once.
    loop.wait_for("a dispatch", lambda: github.dispatches, 90, alert_path.logs)
    (dispatch,) = github.dispatches
    assert dispatch["event_type"] == "releasegate-alert"
    payload = dispatch["client_payload"]
    assert (payload["environment"], payload["model"]) == ("prod", "sentiment")
    fired = payload["alertmanager"]["alerts"][0]
    assert fired["labels"]["alertname"] == ALERT and fired["status"] == "firing"
    assert {k: fired["labels"][k] for k in ("version", "track", "releasegate_action")} == {
        "version": "1.1.0", "track": "canary", "releasegate_action": "rollback"}
    started = time.monotonic()
    code, out = on_alert(alert_path.tmp, capsys, payload)
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
    code, out = on_alert(alert_path.tmp, capsys, payload)
    assert code == 0 and "duplicate #42" in out

    # Staging's healthy canary never alerted.
    active = alerts(alert_path.prometheus.url)
    assert {(a["labels"]["environment"], a["labels"]["alertname"]) for a in active} == {("prod", ALERT)}

    # The abort merged: the same alert is about a version no longer live.
    github.pulls[42].state = "closed"
    repo.git("merge", "-q", "--no-ff", "releasegate/abort-sentiment-prod-1.1.0", "-m", "Merge pull request #42")
    code, out = on_alert(alert_path.tmp, capsys, payload)
    assert code == 0 and "not-live: sentiment 1.1.0 (canary) in prod is not live: 1.0.0 is, without a canary" in out

    # The alert resolves (its rules are gone from Prometheus): Alertmanager's resolved notification opens nothing.
    config = alert_path.prometheus.log.parent / "prometheus.yml"
    config.write_text(json.dumps({**alert_path.config, "rule_files": []}))
    urllib.request.urlopen(urllib.request.Request(f"{alert_path.prometheus.url}/-/reload", method="POST"), timeout=10)

    def resolved() -> dict[str, Any] | None:
        return next((b for b in alert_path.capture.bodies if b["status"] == "resolved"
                     and b["commonLabels"].get("environment") == "prod"), None)

    body = loop.wait_for("a resolved notification", resolved, 60, alert_path.logs)
    code, out = on_alert(alert_path.tmp, capsys, {"environment": "prod", "model": "sentiment", "alertmanager": body})
    assert code == 0 and "resolved: resolved: nothing to roll back" in out
    assert sorted(github.pull_bodies) == [42] and len(github.dispatches) == 1


# --- rollout advance asks Prometheus ------------------------------------------------------------------

def advance(capsys: pytest.CaptureFixture[str], env: str, url: str) -> tuple[int, str]:
    result = run_cli(capsys, "rollout", "advance", "sentiment", "--env", env, "--no-pr", "--prometheus-url", url)
    return result.code, result.out + result.err


def test_advance_passes_the_healthy_canary_and_fails_the_slow_one(servers: Servers, repo: Repo, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    with prometheus(tmp_path, loop.scrape_config(servers.jobs(), None)) as prom:
        # Until each side has answered minRequests (20) requests, and enough of them to tell the error
        # ratios apart within slo.maxErrorRate, the analysis asks to hold (exit 1); then it passes.
        holds = []

        def passed() -> str | None:
            code, out = advance(capsys, "staging", prom.url)
            if code:
                holds.append(out)
            return out if code == 0 else None

        out = loop.wait_for("a passing analysis of staging", passed, 60, [prom])
        assert all("the analysis of step 1/3 (10 %) of sentiment 1.1.0 in staging asks to hold" in h for h in holds)
        assert "analysis: pass: errors: canary 0.00 % vs stable 0.00 %" in out
        message = repo.git("log", "-1", "--format=%B", "releasegate/advance-sentiment-staging-1.1.0-50")
        assert "Releasegate-Analysis: pass: " in message

        code, out = advance(capsys, "prod", prom.url)
        assert code == 1, out
        assert "the analysis of step 1/3 (10 %) of sentiment 1.1.0 in prod failed: latency: canary p95" in out
        assert ": slower" in out and "hint: abort the canary: releasegate rollout abort sentiment --env prod" in out
    # Prometheus is gone: hold, never pass.
    code, out = advance(capsys, "prod", prom.url)
    assert code == 1 and "asks to hold: no verdict without data: cannot reach Prometheus" in out
