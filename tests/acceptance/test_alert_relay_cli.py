"""``releasegate alert-relay`` as a process: loopback HTTP in, GitHub's dispatch API (the fake) out."""
from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.acceptance.cli import run_cli
from tests.conftest import PROJECT
from tests.support.alerts import alert, body
from tests.support.fake_github import FakeGitHub

SECRET = "0123456789abcdef-relay"


@pytest.fixture
def relay(github: FakeGitHub, tmp_path: Path) -> Iterator[int]:
    env = {**os.environ, "RELEASEGATE_RELAY_TOKEN": SECRET, "PYTHONPATH": str(PROJECT / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "releasegate", "alert-relay", "--repo", "org/gitops", "--port", "0",
                             "--per-minute", "3"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline() if proc.stderr else ""
        match = re.search(r"listening on http://127\.0\.0\.1:(\d+)/alert", line)
        assert match, line
        yield int(match.group(1))
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        rest = proc.stderr.read() if proc.stderr else ""
        assert "stopped" in rest and "Traceback" not in rest


def post(port: int, data: bytes, token: str | None = SECRET, path: str = "/alert",
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], dict[str, object]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        conn.request("POST", path, body=data, headers=sent)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), json.loads(resp.read() or b"{}")
    finally:
        conn.close()


def test_an_alert_becomes_one_repository_dispatch(relay: int, github: FakeGitHub) -> None:
    status, _, answer = post(relay, body(alert()))
    assert status == 200 and answer == {"dispatched": 1, "duplicates": 0, "ignored": 0}
    (sent,) = github.dispatches  # checked against GitHub's OpenAPI description by the fake
    assert sent["event_type"] == "releasegate-alert"
    assert sent["client_payload"]["model"] == "sentiment" and sent["client_payload"]["environment"] == "prod"
    assert sent["client_payload"]["alertmanager"]["alerts"][0]["labels"]["version"] == "1.1.0"
    for _ in range(50):  # the storm: Alertmanager re-sends the group
        assert post(relay, body(alert()))[0] == 200
    assert len(github.dispatches) == 1


def test_the_relay_refuses_strangers_and_oversized_bodies(relay: int, github: FakeGitHub) -> None:
    assert post(relay, body(alert()), token=None)[0] == 401
    assert post(relay, body(alert()), token="wrong")[0] == 401
    assert post(relay, body(alert()), path="/other")[0] == 404
    status, _, answer = post(relay, b"x", headers={"Content-Length": str(64 * 1024 * 1024)})
    assert status == 413
    assert post(relay, b"{broken")[0] == 400
    conn = http.client.HTTPConnection("127.0.0.1", relay, timeout=10)
    conn.request("GET", "/healthz")
    assert conn.getresponse().status == 200
    assert github.dispatches == []


def test_more_models_than_the_rate_allows_get_429(relay: int, github: FakeGitHub) -> None:
    answers = [post(relay, body(alert(model=f"m{i}"))) for i in range(5)]
    assert [a[0] for a in answers] == [200, 200, 200, 429, 429]
    assert int(answers[3][1]["Retry-After"]) >= 1 and len(github.dispatches) == 3


def test_bad_settings_are_refused_before_listening(capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_test")
    result = run_cli(capsys, "alert-relay", "--repo", "org/gitops")
    assert result.code == 2 and "RELEASEGATE_RELAY_TOKEN is unset" in result.err
    monkeypatch.setenv("RELEASEGATE_RELAY_TOKEN", "short")
    assert "RELEASEGATE_RELAY_TOKEN is too short" in run_cli(capsys, "alert-relay", "--repo", "org/gitops").err
    monkeypatch.setenv("RELEASEGATE_RELAY_TOKEN", SECRET)
    result = run_cli(capsys, "alert-relay", "--repo", "org/gitops", "--host", "0.0.0.0")
    assert result.code == 2 and "the relay listens on loopback only" in result.err
    monkeypatch.delenv("GITHUB_TOKEN")
    result = run_cli(capsys, "alert-relay", "--repo", "org/gitops")
    assert result.code == 2 and "no GitHub token" in result.err
