"""``releasegate on-alert``: an alert opens the canary's abort or the rollback, once, and nothing else does.

The story repository (tests/unit/history/conftest.py, with a bare origin) leaves prod idle at 1.0.0
(after a rollback from 1.1.0) and staging at 1.1.0 (after 1.0.0). Pull requests go to the loopback
fake GitHub, which checks every request and answer against GitHub's OpenAPI description.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.acceptance.cli import run_cli
from tests.acceptance.test_promote_cli import merge, snapshot
from tests.acceptance.test_rollout_cli import T, start_canary
from tests.gitrepo import Repo, path, release
from tests.support.alerts import alert, body, notification
from tests.support.fake_github import FakeGitHub
from tests.support.github_fixtures import example

ABORT = "releasegate/abort-sentiment-prod-1.1.0"


def on_alert(capsys: pytest.CaptureFixture[str], tmp_path: Path, payload: bytes, *more: str) -> tuple[int, str, str]:
    file = tmp_path / "payload.json"  # outside the repository: the checkout stays clean
    file.write_bytes(payload)
    result = run_cli(capsys, "on-alert", str(file), *more)
    return result.code, result.out, result.err


def test_a_canary_alert_opens_the_abort_once(story: Repo, github: FakeGitHub, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    start_canary(story, capsys)
    payload = body(alert(summary="canary slow", description="p95 30 ms against 7 ms"))
    code, out, err = on_alert(capsys, tmp_path, payload)
    assert code == 0, err
    assert "ReleasegateCanaryLatencyAboveStable sentiment 1.1.0 (canary) in prod: opened #42" in out
    sent = github.pull_bodies[42]
    assert sent["title"] == "Abort the canary of sentiment 1.1.0 in prod: back to 1.0.0" and sent["head"] == ABORT
    assert "### Alert: ReleasegateCanaryLatencyAboveStable" in sent["body"] and "p95 30 ms against 7 ms" in sent["body"]
    assert "<!-- releasegate:on-alert environment=prod model=sentiment -->" in sent["body"]
    assert "Opened by `releasegate on-alert`." in sent["body"]
    assert github.labels[42] == ["releasegate-alert", "rollback"]  # the abort restores a file: the fast path
    assert story.git("ls-remote", "origin", ABORT)
    # The same alert again, the group re-sent, another alert about the same canary: nothing new.
    before = snapshot(story)
    for again in (payload, body(alert(), alert("ReleasegateCanaryErrorsAboveStable"))):
        code, out, err = on_alert(capsys, tmp_path, again)
        assert code == 0, err
        assert "duplicate #42: pull request #42 (releasegate/abort-sentiment-prod-1.1.0) is open for it already" in out
    assert snapshot(story) == before and sorted(github.pull_bodies) == [42]


def test_an_open_pull_request_of_the_same_branch_counts_too(story: Repo, github: FakeGitHub, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Someone ran `releasegate rollout abort` by hand: its pull request has no marker but the same branch."""
    start_canary(story, capsys)
    assert run_cli(capsys, "rollout", "abort", "sentiment", "--env", "prod").code == 0
    code, out, _ = on_alert(capsys, tmp_path, body(alert()))
    assert code == 0 and "duplicate #42" in out and sorted(github.pull_bodies) == [42]


def test_what_opens_nothing(story: Repo, github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    start_canary(story, capsys)
    before = snapshot(story)
    cases = [
        (alert(status="resolved"), "resolved: resolved: nothing to roll back"),
        (alert(action=None), "not-for-rollback: no label releasegate_action=rollback"),
        (alert(version="1.0.5"), "not-live: sentiment 1.0.5 (canary) in prod is not live"),
        (alert(version="1.0.0", track="stable"), "stable-during-canary: sentiment 1.0.0 (stable) in prod is the "
                                                 "stable side of the running canary of 1.1.0"),
        (alert(model="ranker"), "unknown-model: model 'ranker' has no release file in prod"),
        (alert(model="../../etc/passwd"), "unknown-model"),
        (alert(env="qa"), "unknown-environment: environment 'qa' is not in the policy pack"),
        (alert(track="blue"), "incomplete: track 'blue' is neither stable nor canary"),
    ]
    for case, expected in cases:
        code, out, err = on_alert(capsys, tmp_path, body(case))
        assert code == 0, err
        assert expected in out, out
    assert snapshot(story) == before and github.pull_bodies == {}
    assert github.calls == []  # nothing asked GitHub anything: no pull request was wanted


def test_an_aborted_canary_opens_nothing_more(story: Repo, github: FakeGitHub, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    start_canary(story, capsys)
    assert on_alert(capsys, tmp_path, body(alert()))[0] == 0
    merge(story, ABORT, 42, T.format("00:40"))
    github.pulls[42].state = "closed"
    code, out, _ = on_alert(capsys, tmp_path, body(alert()))
    assert code == 0 and "not-live: sentiment 1.1.0 (canary) in prod is not live: 1.0.0 is, without a canary" in out
    assert sorted(github.pull_bodies) == [42]


def test_a_stable_alert_rolls_back_the_live_version(story: Repo, github: FakeGitHub, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = on_alert(capsys, tmp_path, body(alert("ReleasegateErrorBudgetFastBurn", env="staging",
                                                           track="stable")))
    assert code == 0, err
    sent = github.pull_bodies[42]
    assert sent["head"] == "releasegate/rollback-sentiment-staging-1.0.0"
    assert github.labels[42] == ["releasegate-alert", "rollback"]
    restored = story.git("show", f"releasegate/rollback-sentiment-staging-1.0.0:{path('staging', 'sentiment')}")
    assert restored + "\n" == release("sentiment", "1.0.0")  # 1.0.0's file, byte for byte


def test_a_rollback_with_nowhere_to_go_is_refused(story: Repo, github: FakeGitHub, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(story)
    code, out, _ = on_alert(capsys, tmp_path, body(alert("ReleasegateErrorBudgetFastBurn", version="1.0.0",
                                                         track="stable")))
    assert code == 1
    assert "refused: sentiment 1.0.0 is live in prod and no lower version was live there before" in out
    assert snapshot(story) == before and github.pull_bodies == {}


def test_github_refusing_leaves_nothing_behind(story: Repo, github: FakeGitHub, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    start_canary(story, capsys)
    github.fail("POST", r"/pulls$", 422, message="Validation Failed")
    before = snapshot(story)
    code, out, _ = on_alert(capsys, tmp_path, body(alert()))
    assert code == 2 and "failed: open the pull request" in out and "GitHub answered 422" in out
    assert snapshot(story) == before


def test_one_pull_request_for_a_storm_in_one_notification(story: Repo, github: FakeGitHub, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    start_canary(story, capsys)
    storm = [alert(f"Alert{i}", description=f"number {i}") for i in range(300)]
    code, out, err = on_alert(capsys, tmp_path, body(*storm), "--format", "json")
    assert code == 0, err
    result = json.loads(out)
    assert [t["outcome"] for t in result["targets"]] == ["opened"] and result["targets"][0]["alerts"] == 300
    assert sorted(github.pull_bodies) == [42] and "… and 290 more." in github.pull_bodies[42]["body"]


def test_a_repository_dispatch_event_is_read_like_the_body(story: Repo, github: FakeGitHub, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """The workflow hands on-alert GITHUB_EVENT_PATH: a real repository_dispatch event around the relay's payload."""
    start_canary(story, capsys)
    event = example("repository_dispatch")
    event.update(action="releasegate-alert", client_payload={"environment": "prod", "model": "sentiment",
                                                             "alertmanager": notification(alert())})
    code, out, err = on_alert(capsys, tmp_path, json.dumps(event).encode())
    assert code == 0, err
    assert "opened #42" in out


@pytest.mark.parametrize(("payload", "message"), [
    (b"{not json", "not JSON"),
    (b"\xff\xfe", "not UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b"[]", "expected a JSON object, found list"),
    (json.dumps({"version": "3", "alerts": []}).encode(), "$.version is '3'"),
    (json.dumps({"version": "4", "alerts": {}}).encode(), "$.alerts must be a list"),
    (json.dumps({"version": "4", "alerts": [{"status": "firing", "labels": {"a": 1}}]}).encode(),
     "$.alerts[0].labels.a: expected a string"),
    (json.dumps({"version": "4", "alerts": [{"status": "exploded"}]}).encode(), "neither firing nor resolved"),
    (json.dumps({"version": "4", "alerts": [{"status": "firing", "labels": {str(i): "x" for i in range(100)}}]}).encode(),
     "100 entries, more than 64"),
    (b" " * (1024 * 1024 + 1), "more than the 1048576 releasegate reads"),
])
def test_malformed_and_hostile_payloads_are_input_errors(story: Repo, github: FakeGitHub, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str], payload: bytes,
                                                         message: str) -> None:
    before = snapshot(story)
    code, out, err = on_alert(capsys, tmp_path, payload)
    assert code == 2 and message in err and "Traceback" not in err
    assert out == "" and snapshot(story) == before and github.calls == []


def test_the_alert_is_escaped_in_the_pull_request(story: Repo, github: FakeGitHub, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    import cmarkgfm
    from cmarkgfm.cmark import Options

    start_canary(story, capsys)
    hostile = ("<img src=x onerror=alert(1)> [click](https://evil.example) ![i](https://evil.example/i.png) "
               "www.evil.example mail@evil.example @octocat `x` | a | b | --> <!-- ")
    code, _, err = on_alert(capsys, tmp_path, body(alert(summary=hostile, description=hostile)))
    assert code == 0, err
    text = github.pull_bodies[42]["body"]
    section = text[text.index("### Alert"):text.index("<details><summary>Diff")]
    html = cmarkgfm.github_flavored_markdown_to_html(section, options=Options.CMARK_OPT_UNSAFE)
    assert "<a " not in html and "<img" not in html and "evil.example" in html
    assert section.count("<!--") == 1  # only the marker: the payload's "<!--" is an entity


def test_no_pr_commits_locally_without_asking_github(story: Repo, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    start_canary(story, capsys)
    code, out, err = on_alert(capsys, tmp_path, body(alert()), "--no-pr")
    assert code == 0, err
    assert "committed: Abort the canary of sentiment 1.1.0 in prod: back to 1.0.0" in out and ABORT in out
    assert story.git("branch", "--list", ABORT)


def test_stdin_and_unreadable_files(story: Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(body(alert(status="resolved")))))
    result = run_cli(capsys, "on-alert", "-", "--no-pr")
    assert result.code == 0 and "resolved" in result.out
    result = run_cli(capsys, "on-alert", str(tmp_path / "missing.json"))
    assert result.code == 2 and "missing.json: cannot read the payload" in result.err


def test_a_kserve_canary_alert_sets_its_traffic_to_0(kserve: Repo, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """KServe models on releasegate's runtime are labelled by version and track too (docs/monitoring.md#kserve)."""
    payload = body(alert(model="fraud-score", version="2.1.0"))
    code, out, err = on_alert(capsys, tmp_path, payload, "--no-pr")
    assert code == 0, err
    branch = "releasegate/abort-fraud-score-prod-2.1.0"
    assert branch in out
    assert "    canaryPercent: 0" in kserve.git("show", f"{branch}:environments/prod/releases/fraud-score.yaml")
    # The rolled-out revision's own alert (track stable) opens nothing: a person decides.
    code, out, _ = on_alert(capsys, tmp_path, body(alert(model="fraud-score", version="2.0.3", track="stable")), "--no-pr")
    assert code == 0 and "is the stable side of the running canary of 2.1.0" in out and "committed" not in out
