"""Whether a running canary may move on: its hold, an analysis verdict, and the policy.

The analysis itself (comparing canary and stable, e.g. in Prometheus) is not done here: it is
handed in as an :class:`AnalysisVerdict`. Without one, :data:`NO_ANALYSIS` says so, and the
canary moves on only where the policy does not require an analysis.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal

from releasegate.policy import RolloutPolicy

Outcome = Literal["pass", "hold", "fail", "none"]


@dataclass(frozen=True)
class AnalysisVerdict:
    """What an analysis of the running canary concluded: ``pass`` (no worse than stable), ``hold``
    (not enough evidence yet), ``fail`` (worse: abort), or ``none`` (no analysis was run)."""

    outcome: Outcome
    summary: str
    source: str = ""  # what produced it, e.g. "prometheus"


NO_ANALYSIS = AnalysisVerdict("none", "no analysis configured")


@dataclass(frozen=True)
class StepClock:
    """The current step of a canary: when it landed on the branch (commit time) and how long it holds."""

    landed: datetime
    commit: str
    hold_minutes: float

    @property
    def ready_at(self) -> datetime:
        return self.landed + timedelta(minutes=self.hold_minutes)


@dataclass(frozen=True)
class Decision:
    """Go, or why not: ``message`` says what stands in the way (or what allowed it), ``hint`` what to do."""

    proceed: bool
    message: str
    hint: str
    ready_at: datetime


def decide(what: str, clock: StepClock, now: datetime, policy: RolloutPolicy, *,
           analysis: AnalysisVerdict = NO_ANALYSIS, abort: str = "releasegate rollout abort") -> Decision:
    """May ``what`` (e.g. ``step 2/4 (25 %) of sentiment 1.4.0 in prod``) move on at ``now``?

    In this order: a failed analysis stops it; then the hold must have passed; then the analysis
    must pass, unless none is configured and the policy (``rollout.requireAnalysis``) does not ask for one.
    """
    ready = clock.ready_at
    if analysis.outcome == "fail":
        return Decision(False, f"the analysis of {what} failed: {analysis.summary}",
                        f"abort the canary: {abort}", ready)
    if now < ready:
        return Decision(False, f"{what} holds for {clock.hold_minutes:g} min from {_iso(clock.landed)} "
                        f"(commit {clock.commit[:10]}), until {_iso(ready)}; it is {_iso(now)}",
                        f"run it again at or after {_iso(ready)}", ready)
    if analysis.outcome == "hold":
        return Decision(False, f"the analysis of {what} asks to hold: {analysis.summary}",
                        "run it again when the analysis has more data", ready)
    if analysis.outcome == "none" and policy.require_analysis:
        return Decision(False, f"{what}: the policy requires an analysis verdict before a canary moves on "
                        "(rollout.requireAnalysis in policies/policy-pack.yaml), and none was given: "
                        f"{analysis.summary}", "configure the canary analysis for this environment", ready)
    return Decision(True, f"the hold of {what} passed at {_iso(ready)}; analysis: {analysis.outcome} "
                    f"({analysis.summary})", "", ready)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
