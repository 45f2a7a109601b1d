"""Measure until decided: looks at a growing measurement, and an error budget spent over them.

A sequential load point is one locust run of at most ``maxPhaseSeconds`` in which the
two sides keep alternating (A B B A ...). At each *look* -- after ``phaseSeconds`` of
measured time, then every time it has grown by :data:`GROWTH` -- the gate compares the
sides on the slot pairs measured so far and decides each metric whose interval is
clearly inside its limit (pass) or clearly beyond it (regression). When every metric
is decided, or one regressed (the release fails whatever the others do), locust
stops; when the cap comes first, the undecided metrics stay
``inconclusive`` (or ``not judged``), each with the measurement time it would need.

Why repeated looks keep the error rates: each wrong decision needs the interval to
miss the true change on the wrong side of the limit -- a harmless candidate called a
regression, or a slow one passed. The interval at look k is ``estimate +- c_k``
standard errors, where ``c_k`` is a group-sequential boundary
(:mod:`~releasegate.loadtest.spending`): alpha spending (Lan-DeMets) with
Hwang-Shih-DeCani's function, computed from the share of the cap measured at each
look, so that over *all* looks each wrong decision has probability at most
``alpha / 2`` (``alpha`` is the profile's ``1 - confidence``, divided over the load
points). Early looks are strict, late ones close to a single test's width: the gate's
11 looks run from about 3.2 standard errors at 8 s to 2.2 at the cap, where equal
shares (Bonferroni, the first version) needed 2.84 at every look and left harmless
candidates undecided at the cap.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from releasegate.loadtest.driver import PhaseData
from releasegate.loadtest.session import BASELINE, CANDIDATE
from releasegate.loadtest.spending import GAMMA, Boundary, two_sided_confidence
from releasegate.loadtest.stats import Blocked, Comparison, compare, make_blocks, t_quantile
from releasegate.loadtest.verdict import (
    FAIL,
    INCONCLUSIVE,
    MIN_TAIL_BLOCKS,
    MIN_TAIL_SAMPLES,
    NOT_JUDGED,
    PASS,
    REGRESSION,
    MetricVerdict,
    compare_point,
)

GROWTH = 1.3  # each look after this many times the measured time of the last
MIN_PAIRS = 8  # no decision from fewer slot pairs (a t-interval from 7 blocks is too wide anyway)
SPENDING_SLACK = 1.1  # a longer cap moves the boundaries a little: what a budget estimate adds for it
FUTILITY_MARGIN = 1.96  # standard errors: give up only when a truth this much further from the limit would not decide
PRACTICAL_SECONDS = 3600.0  # a budget estimate beyond an hour of one point is no advice: the estimate sits on the limit
RULE = (f"group-sequential boundaries by alpha spending (Lan-DeMets, Hwang-Shih-DeCani gamma {GAMMA:g}) over the "
        "share of the cap measured at each look")


def look_seconds(first: float, cap: float, pair: float) -> list[float]:
    """Measured seconds of each look: ``first``, then x :data:`GROWTH`, ..., ``cap`` last; whole pairs."""
    out: list[float] = []
    t = max(first, pair)
    while t < cap:
        whole = math.ceil(t / pair) * pair
        if not out or whole > out[-1]:
            out.append(round(whole, 6))
        t *= GROWTH
    if not out or cap - out[-1] >= pair:
        out.append(round(math.floor(cap / pair) * pair, 6))
    return [s for s in out if s > 0]


def one_sided_alpha(confidence: float, points: int) -> float:
    """The chance each wrong decision may have at one point: half of ``1 - confidence``, split over ``points``."""
    return (1.0 - confidence) / 2.0 / max(1, points)


@dataclass(frozen=True)
class Look:
    """One look at a sequential load point."""

    index: int  # 1-based
    seconds: float  # measured seconds so far (both sides together)
    wall_seconds: float  # since locust started
    confidence: float
    pairs: int
    requests: Mapping[str, int]  # side -> measured requests

    def to_dict(self) -> dict[str, Any]:
        return {"look": self.index, "measuredSeconds": round(self.seconds, 2), "wallSeconds": round(self.wall_seconds, 2),
                "confidence": round(self.confidence, 6), "slotPairs": self.pairs, "requests": dict(self.requests)}


def decided(v: MetricVerdict) -> bool:
    """A verdict that more measurement would not change: pass, regression, or a saturated generator."""
    return v.verdict in (PASS, REGRESSION, FAIL) or v.rule == "generator.saturated"


def blocks(phases: Sequence[PhaseData]) -> Blocked:
    return make_blocks([(d.latency_ms, d.ok, d.unit, d.unit_seconds) for d in phases])


def judge(point: str, cand: PhaseData, base: PhaseData, lim: Mapping[str, float], closed: bool, confidence: float,
          replicates: int, seed: int) -> tuple[Comparison, list[MetricVerdict]]:
    """The comparison and the strict verdicts of one look."""
    comp = compare(blocks([cand]), blocks([base]), confidence=confidence, replicates=replicates, seed=seed,
                   paired=True, method="log-t")
    saturated = cand.generator.saturated or base.generator.saturated
    return comp, compare_point(point, comp, lim, closed, saturated, strict=True)


@dataclass
class PointDecision:
    """The looks at one sequential point and, per metric, the first look that decided it."""

    point: str
    cap_seconds: float
    final_z: float = 1.96  # the boundary planned for the look at the cap (a single test's without a plan)
    looks: list[Look] = field(default_factory=list)
    first: dict[str, tuple[MetricVerdict, Look]] = field(default_factory=dict)
    last: list[MetricVerdict] = field(default_factory=list)
    comparison: Comparison | None = None

    def record(self, look: Look, comp: Comparison, verdicts: list[MetricVerdict]) -> bool:
        """Add one look; True when every metric is decided or cannot be decided before the cap."""
        if look.pairs < MIN_PAIRS:
            verdicts = [v if decided(v) and v.rule == "generator.saturated" else _too_few(v, look) for v in verdicts]
        self.looks.append(look)
        self.comparison, self.last = comp, verdicts
        for v in verdicts:
            if decided(v) and v.metric not in self.first:
                self.first[v.metric] = (v, look)
        if self.failed():  # the release fails whatever the other metrics do: no need to measure them
            return True
        return all(v.metric in self.first or self._hopeless(v, look) for v in verdicts)

    def failed(self) -> str | None:
        """The first metric decided as a regression, if any."""
        return next((m for m, (v, _) in self.first.items() if v.verdict in (REGRESSION, FAIL)), None)

    def _hopeless(self, v: MetricVerdict, look: Look) -> bool:
        """Measuring on to the cap would not decide ``v``: stop early, it stays undecided.

        A tail percentile whose tail samples cannot reach :data:`MIN_TAIL_SAMPLES`, or whose
        tail cannot spread over :data:`MIN_TAIL_BLOCKS` slot pairs, by the cap at the rate so
        far; from the third look on, a metric whose interval would not clear its limit by
        the cap even if the truth sat at the far end of the look's own 95 % interval
        (:data:`FUTILITY_MARGIN` standard errors further from the limit than the estimate):
        an estimate on the limit with an interval already narrow. An early estimate is
        noisy: a harmless candidate whose third look came out near the limit is measured
        on, not given up. Giving up never makes a pass or a regression more likely, so it
        costs no error rate -- only the chance that a later look would have decided.
        """
        if look.seconds <= 0:
            return False
        if v.verdict == NOT_JUDGED:
            scale = self.cap_seconds / look.seconds
            q = 95.0 if v.metric.startswith("p95") else 99.0
            spread = self.comparison.tail_blocks.get(q) if self.comparison is not None else None
            if min(look.requests.values(), default=0) * scale * (1.0 - q / 100.0) < MIN_TAIL_SAMPLES:
                return True
            return spread is not None and spread * scale < MIN_TAIL_BLOCKS
        if v.verdict != INCONCLUSIVE or look.index < 3 or None in (v.low, v.high, v.limit, v.observed):
            return False
        need = needed_seconds(v, look, self.final_z, favourable=FUTILITY_MARGIN)
        return need is None or need > self.cap_seconds

    def verdicts(self) -> list[MetricVerdict]:
        """Each metric's verdict: from the look that decided it, else the last look's with what it would need."""
        out = []
        for v in self.last:
            if v.metric in self.first:
                kept, look = self.first[v.metric]
                out.append(_at(kept, look))
            else:
                out.append(self._undecided(v))
        return out

    def _undecided(self, v: MetricVerdict) -> MetricVerdict:
        look = self.looks[-1]
        failed = self.failed()
        if failed is not None:
            return MetricVerdict(v.metric, v.point, v.verdict, v.rule, f"{v.message}; not measured further: {failed} "
                                 f"had already regressed at look {self.first[failed][1].index}",
                                 v.observed, v.low, v.high, v.limit)
        if v.verdict == NOT_JUDGED:
            return _tail_budget(v, look)
        if v.verdict == INCONCLUSIVE and v.low is not None and v.high is not None and v.limit is not None:
            return _with_budget(v, look, self.final_z)
        return v

    def to_dict(self) -> dict[str, Any]:
        last = self.looks[-1] if self.looks else None
        return {
            "stoppingRule": RULE,
            "capSeconds": round(self.cap_seconds, 2),
            "looks": [lk.to_dict() for lk in self.looks],
            "slotPairs": last.pairs if last else 0,
            "requests": dict(last.requests) if last else {},
            "decided": all(v.metric in self.first for v in self.last) if self.last else False,
            "timeToDecision": {m: {"look": lk.index, "measuredSeconds": round(lk.seconds, 2),
                                   "wallSeconds": round(lk.wall_seconds, 2), "verdict": v.verdict}
                               for m, (v, lk) in self.first.items()},
        }


def _at(v: MetricVerdict, look: Look) -> MetricVerdict:
    text = f"{v.message} (decided at look {look.index}, after {look.seconds:.1f} s measured, {look.pairs} slot pairs)"
    return MetricVerdict(v.metric, v.point, v.verdict, v.rule, text, v.observed, v.low, v.high, v.limit)


def _too_few(v: MetricVerdict, look: Look) -> MetricVerdict:
    if v.verdict == NOT_JUDGED:
        return v
    return MetricVerdict(v.metric, v.point, INCONCLUSIVE, v.rule, f"{v.message}; only {look.pairs} slot pairs "
                         f"(at least {MIN_PAIRS} before deciding)", v.observed, v.low, v.high, v.limit)


def needed_seconds(v: MetricVerdict, look: Look, final_z: float, favourable: float = 0.0) -> float | None:
    """Measured seconds after which ``v``'s interval at ``final_z`` standard errors would clear its limit.

    The standard error comes from the look's interval (its half-width over the look's
    critical value) and shrinks like 1/sqrt(n); ``favourable`` moves the estimate that
    many standard errors further from the limit. None: the estimate sits on the limit.
    """
    assert v.low is not None and v.high is not None and v.limit is not None and v.observed is not None
    centre, limit = math.log1p(v.observed), math.log1p(v.limit)
    se = (math.log1p(v.high) - math.log1p(v.low)) / 2.0 / critical_value(look)
    gap = abs(centre - limit) + favourable * se
    if gap < 0.05 * se or gap < 1e-4:
        return None
    return look.seconds * (final_z * se / gap) ** 2


def critical_value(look: Look) -> float:
    """Standard errors in the half-width of the look's intervals (Student's t at its confidence)."""
    return t_quantile(max(2, look.pairs) - 1, 0.5 + look.confidence / 2.0)


def _with_budget(v: MetricVerdict, look: Look, final_z: float) -> MetricVerdict:
    need = needed_seconds(v, look, final_z)
    if need is None or need * SPENDING_SLACK > PRACTICAL_SECONDS:
        tail = "the estimate sits on the limit, so no practical measurement decides it"
    else:
        tail = (f"about {need * SPENDING_SLACK:.0f} s of measurement at this point would decide it "
                "(raise maxPhaseSeconds or --budget-seconds)")
    return MetricVerdict(v.metric, v.point, INCONCLUSIVE, v.rule,
                         f"{v.message}; undecided after {look.seconds:.1f} s measured ({look.pairs} slot pairs): {tail}",
                         v.observed, v.low, v.high, v.limit)


def _tail_budget(v: MetricVerdict, look: Look) -> MetricVerdict:
    if "slot pair" in v.message:  # concentrated in a few stalls: more time is no cure
        return v
    fewer = min(look.requests.values(), default=0)
    rate = fewer / (look.seconds / 2.0) if look.seconds > 0 else 0.0
    q = 95.0 if v.metric.startswith("p95") else 99.0
    need = math.ceil(MIN_TAIL_SAMPLES / (1.0 - q / 100.0))
    extra = f"; at {rate:.0f} req/s per side that takes about {2 * need / rate:.0f} s measured" if rate > 0 else ""
    return MetricVerdict(v.metric, v.point, NOT_JUDGED, v.rule, v.message + extra, v.observed, v.low, v.high, v.limit)


class PointLooker:
    """The :class:`~releasegate.loadtest.driver.Looker` of one sequential load point."""

    def __init__(self, decision: PointDecision, schedule: Sequence[float], lim: Mapping[str, float], closed: bool,
                 confidence: float, points: int, replicates: int, seed: int,
                 progress: Callable[[str], None]) -> None:
        self.decision, self.schedule, self.lim, self.closed = decision, list(schedule), lim, closed
        self.replicates, self.seed, self.progress = replicates, seed, progress
        alpha = one_sided_alpha(confidence, points)
        self.boundary = Boundary(alpha)
        decision.final_z = planned_boundaries(self.schedule, alpha)[-1]

    def next_look(self) -> float | None:
        k = len(self.decision.looks)
        return self.schedule[k] if k < len(self.schedule) else None

    def look(self, seconds: float, wall: float, data: dict[str, PhaseData]) -> bool:
        if self.boundary.spent_all:
            # A cap between whole slot pairs: the last planned look (whole pairs) came before the
            # driver's look at the cap, which holds no further pair and has nothing left to spend.
            return True
        cand, base = data[CANDIDATE], data[BASELINE]
        k = len(self.decision.looks) + 1
        last = k >= len(self.schedule) or seconds >= self.schedule[-1] - 1e-9
        z = self.boundary.next(seconds / self.schedule[-1], last=last)
        conf = two_sided_confidence(z)
        look = Look(k, seconds, wall, conf, min(cand.units, base.units), {BASELINE: base.count, CANDIDATE: cand.count})
        comp, verdicts = judge(self.decision.point, cand, base, self.lim, self.closed, conf, self.replicates, self.seed)
        done = self.decision.record(look, comp, verdicts)
        open_metrics = [v.metric for v in self.decision.last if v.metric not in self.decision.first]
        self.progress(f"  look {k}: {seconds:.1f} s measured, {look.pairs} slot pairs, boundary {z:.2f} standard "
                      "errors: " + ("all metrics decided" if done else f"undecided: {', '.join(open_metrics)}"))
        return done


def planned_boundaries(schedule: Sequence[float], alpha: float) -> list[float]:
    """The boundaries (standard errors) of looks made exactly at ``schedule``'s measured seconds."""
    plan = Boundary(alpha)
    return [plan.next(s / schedule[-1], last=i == len(schedule) - 1) for i, s in enumerate(schedule)]
