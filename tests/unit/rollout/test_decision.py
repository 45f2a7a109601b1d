"""The decision whether a canary may move on: hold, analysis verdict, policy."""
from __future__ import annotations

from datetime import datetime, timedelta

from releasegate.policy import RolloutPolicy
from releasegate.rollout.decision import NO_ANALYSIS, AnalysisVerdict, StepClock, decide

LANDED = datetime.fromisoformat("2026-01-10T00:00:00+00:00")
CLOCK = StepClock(LANDED, "a" * 40, 60)
WHAT = "step 1/3 (10 %) of m 1.1.0 in prod"
FREE, STRICT = RolloutPolicy(), RolloutPolicy(require_analysis=True)


def at(minutes: int) -> datetime:
    return LANDED + timedelta(minutes=minutes)


def test_the_hold_names_the_time_it_passes() -> None:
    decision = decide(WHAT, CLOCK, at(59), FREE)
    assert not decision.proceed and decision.ready_at == at(60)
    assert decision.message == (f"{WHAT} holds for 60 min from 2026-01-10T00:00:00Z (commit aaaaaaaaaa), "
                                "until 2026-01-10T01:00:00Z; it is 2026-01-10T00:59:00Z")
    assert decision.hint == "run it again at or after 2026-01-10T01:00:00Z"


def test_without_analysis_it_goes_only_where_the_policy_does_not_ask_for_one() -> None:
    assert NO_ANALYSIS.outcome == "none" and NO_ANALYSIS.summary == "no analysis configured"
    going = decide(WHAT, CLOCK, at(60), FREE)
    assert going.proceed and "analysis: none (no analysis configured)" in going.message
    stopped = decide(WHAT, CLOCK, at(600), STRICT)
    assert not stopped.proceed and "requires an analysis verdict" in stopped.message


def test_a_verdict_decides_after_the_hold() -> None:
    passing = AnalysisVerdict("pass", "p95 within 2 % of stable", "prometheus")
    assert decide(WHAT, CLOCK, at(60), STRICT, analysis=passing).proceed
    assert not decide(WHAT, CLOCK, at(30), STRICT, analysis=passing).proceed  # the hold still counts
    hold = decide(WHAT, CLOCK, at(60), FREE, analysis=AnalysisVerdict("hold", "too few requests"))
    assert not hold.proceed and "asks to hold: too few requests" in hold.message


def test_a_failed_analysis_says_abort_even_during_the_hold() -> None:
    failed = decide(WHAT, CLOCK, at(5), FREE, analysis=AnalysisVerdict("fail", "error rate 4x stable"),
                    abort="releasegate rollout abort m --env prod")
    assert not failed.proceed and "failed: error rate 4x stable" in failed.message
    assert failed.hint == "abort the canary: releasegate rollout abort m --env prod"
