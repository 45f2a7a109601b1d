"""``rollout advance --prometheus-url``: the canary analysis decides with the hold, and its numbers go
into the pull request. Prometheus is a loopback stand-in with canned answers here (the real one:
tests/acceptance/test_closed_loop.py). The story repository: see test_rollout_cli.py."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.acceptance.cli import run_cli
from tests.acceptance.test_promote_cli import merge, snapshot
from tests.acceptance.test_rollout_cli import FRAUD, T, start_canary
from tests.gitrepo import Repo
from tests.support.fake_github import FakeGitHub
from tests.support.fake_prometheus import FakePrometheus, side

PASS = [side("canary", "1.1.0", 20_000, 0, 0.007), side("stable", "1.0.0", 180_000, 0, 0.007)]
SLOW = [side("canary", "1.1.0", 20_000, 0, 0.2), side("stable", "1.0.0", 180_000, 0, 0.007)]
ERRS = [side("canary", "1.1.0", 20_000, 800, 0.007), side("stable", "1.0.0", 180_000, 0, 0.007)]


@pytest.fixture
def prometheus() -> Iterator[FakePrometheus]:
    server = FakePrometheus()
    yield server
    server.stop()


def advance(capsys: pytest.CaptureFixture[str], at: str, url: str, *more: str) -> tuple[int, str, str]:
    result = run_cli(capsys, "rollout", "advance", "sentiment", "--env", "prod", "--now", at,
                     "--prometheus-url", url, *more)
    return result.code, result.out, result.err


def test_a_passing_analysis_goes_into_the_pull_request(story: Repo, github: FakeGitHub, prometheus: FakePrometheus,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    start_canary(story, capsys)
    prometheus.sides = PASS
    code, out, err = advance(capsys, T.format("01:00"), prometheus.url)
    assert code == 0, err
    assert "  analysis: pass: errors: canary 0.00 % vs stable 0.00 %" in out
    body = github.pull_bodies[42]["body"]
    assert "### Canary analysis: pass" in body and "| canary | <code>1.1.0</code> | 20000 | 0 | 0.00 % |" in body
    assert "2026-01-10T00:00:00Z … 2026-01-10T01:00:00Z \\(3600 s\\)" in body  # the step's window
    message = story.git("log", "-1", "--format=%B", "releasegate/advance-sentiment-prod-1.1.0-50")
    assert "Releasegate-Analysis: pass: errors: canary 0.00 % vs stable 0.00 %" in message
    assert all("[3600s]" in q for q in prometheus.queries)


@pytest.mark.parametrize(("sides", "fragment"), [
    (SLOW, "failed: latency: canary p95 195.0 ms vs stable 9.8 ms"),
    (ERRS, "failed: errors: canary 4.00 % vs stable 0.00 %"),
])
def test_a_failing_analysis_refuses_and_says_abort(story: Repo, prometheus: FakePrometheus, sides: list,  # type: ignore[type-arg]
                                                   fragment: str, capsys: pytest.CaptureFixture[str]) -> None:
    start_canary(story, capsys)
    prometheus.sides = sides
    before = snapshot(story)
    code, _, err = advance(capsys, T.format("01:00"), prometheus.url, "--no-pr")
    assert code == 1 and f"the analysis of step 1/3 (10 %) of sentiment 1.1.0 in prod {fragment}" in err
    assert "hint: abort the canary: releasegate rollout abort sentiment --env prod" in err
    # A failure does not wait for the hold: it is reported at once.
    code, _, err = advance(capsys, T.format("00:10"), prometheus.url, "--no-pr")
    assert code == 1 and fragment in err
    assert snapshot(story) == before


def test_no_data_too_little_data_and_no_prometheus_hold(story: Repo, prometheus: FakePrometheus,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    start_canary(story, capsys)
    before = snapshot(story)
    code, _, err = advance(capsys, T.format("01:00"), prometheus.url, "--no-pr")
    assert code == 1 and "asks to hold: too little data in 3600 s: canary 1.1.0: 0 requests" in err
    prometheus.sides = [side("canary", "1.1.0", 50, 0, 0.007), side("stable", "1.0.0", 180_000, 0, 0.007)]
    code, _, err = advance(capsys, T.format("01:00"), prometheus.url, "--no-pr")
    assert code == 1 and "canary 1.1.0: 50 requests, 50 latency samples (need 100 each)" in err
    prometheus.sides = [side("canary", "1.1.0", 300, 0, 0.007), side("stable", "1.0.0", 180_000, 0, 0.007)]
    code, _, err = advance(capsys, T.format("01:00"), prometheus.url, "--no-pr")  # 300: not enough to tell 0.1 %
    assert code == 1 and "not yet resolved, more requests will tell" in err
    prometheus.stop()
    code, _, err = advance(capsys, T.format("01:00"), prometheus.url, "--no-pr")
    assert code == 1 and "asks to hold: no verdict without data: cannot reach Prometheus" in err
    assert snapshot(story) == before
    prometheus.server = FakePrometheus().server  # for the fixture's stop()


def test_a_hold_that_has_not_passed_refuses_even_with_a_passing_analysis(
        story: Repo, prometheus: FakePrometheus, capsys: pytest.CaptureFixture[str]) -> None:
    start_canary(story, capsys)
    prometheus.sides = PASS
    code, _, err = advance(capsys, T.format("00:30"), prometheus.url, "--no-pr")
    assert code == 1 and "holds for 60 min from 2026-01-10T00:00:00Z" in err


def test_the_url_comes_from_the_environment_and_must_be_a_url(story: Repo, prometheus: FakePrometheus,
                                                              capsys: pytest.CaptureFixture[str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    start_canary(story, capsys)
    prometheus.sides = PASS
    monkeypatch.setenv("RELEASEGATE_PROMETHEUS_URL", prometheus.url)
    result = run_cli(capsys, "rollout", "advance", "sentiment", "--env", "prod", "--now", T.format("01:00"), "--no-pr")
    assert result.code == 0 and "analysis: pass" in result.out
    code, _, err = advance(capsys, T.format("01:00"), "prometheus:9090", "--no-pr")
    assert code == 2 and "--prometheus-url 'prometheus:9090' is not an http(s) URL" in err


def test_an_aborted_canary_is_not_analysed(story: Repo, prometheus: FakePrometheus,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    start_canary(story, capsys)
    assert run_cli(capsys, "rollout", "abort", "sentiment", "--env", "prod", "--no-pr").code == 0
    merge(story, "releasegate/abort-sentiment-prod-1.1.0", 43, T.format("00:20"))
    code, _, err = advance(capsys, T.format("01:00"), prometheus.url, "--no-pr")
    assert code == 2 and "the canary of 1.1.0 was aborted at 2026-01-10T00:20:00Z" in err
    assert prometheus.queries == []


def test_complete_is_analysed_too(story: Repo, prometheus: FakePrometheus, capsys: pytest.CaptureFixture[str]) -> None:
    start_canary(story, capsys)
    for at, weight, number in (("01:00", 50, 43), ("02:00", 100, 44)):
        assert run_cli(capsys, "rollout", "advance", "sentiment", "--env", "prod", "--no-pr", "--now",
                       T.format(at)).code == 0
        merge(story, f"releasegate/advance-sentiment-prod-1.1.0-{weight}", number, T.format(at))
    prometheus.sides = SLOW
    result = run_cli(capsys, "rollout", "complete", "sentiment", "--env", "prod", "--no-pr", "--now", T.format("03:00"),
                     "--prometheus-url", prometheus.url)
    assert result.code == 1 and "the analysis of step 3/3 (100 %) of sentiment 1.1.0 in prod failed" in result.err


# --- KServe with releasegate's runtime: the stable side is the stable track, whatever its version ------------

def test_a_kserve_canary_is_compared_with_the_stable_track(kserve: Repo, prometheus: FakePrometheus,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """The shipped fraud-score: a KServe canary of 2.1.0 at 20 %; KServe keeps the rolled-out revision (2.0.x)."""
    def advance_fraud(*more: str) -> tuple[int, str, str]:
        result = run_cli(capsys, "rollout", "advance", "fraud-score", "--env", "prod", "--now", T.format("01:00"),
                         "--prometheus-url", prometheus.url, "--no-pr", *more)
        return result.code, result.out, result.err

    prometheus.sides = [side("canary", "2.1.0", 20_000, 0, 0.2), side("stable", "2.0.3", 180_000, 0, 0.007)]
    code, _, err = advance_fraud()
    assert code == 1 and "latency: canary p95 195.0 ms vs stable 9.8 ms" in err
    prometheus.sides = [side("canary", "2.1.0", 20_000, 0, 0.007), side("stable", "2.0.3", 180_000, 0, 0.007),
                        side("canary", "2.0.9", 5_000, 4_000, 0.007)]  # an older, aborted canary: not counted
    code, out, err = advance_fraud("--branch", "advance-fraud")
    assert code == 0, err
    assert "analysis: pass" in out
    assert "Releasegate-Analysis: pass" in kserve.git("log", "-1", "--format=%B", "advance-fraud")


def test_a_kserve_canary_on_the_clusters_own_runtime_is_not_analysed(kserve: Repo, prometheus: FakePrometheus,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    text = (kserve.root / FRAUD).read_text().replace("    kserve:\n", "    kserve:\n      modelFormat: pytorch\n", 1)
    (kserve.root / FRAUD).write_text(text)
    kserve.git("commit", "-qam", "the cluster's runtime", "--date", T.format("00:00"))
    prometheus.sides = [side("canary", "2.1.0", 20_000, 0, 0.2), side("stable", "2.0.3", 180_000, 0, 0.007)]
    result = run_cli(capsys, "rollout", "advance", "fraud-score", "--env", "prod", "--now", T.format("01:00"),
                     "--prometheus-url", prometheus.url, "--no-pr", "--branch", "advance-fraud")
    assert result.code == 0, result.err  # no analysis: the hold alone decides (policy without requireAnalysis)
    assert prometheus.queries == []
    assert "Releasegate-Analysis" not in kserve.git("log", "-1", "--format=%B", "advance-fraud")
