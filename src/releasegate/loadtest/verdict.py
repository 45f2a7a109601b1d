"""Verdicts: each metric at each load point against the policy's limits and the release's SLO.

Comparison metrics (candidate against baseline; the policy's ``loadTest.regression``,
with :data:`DEFAULT_LIMITS` for the fields it leaves out) get one of

* ``regression``   -- the best estimate of the change is beyond the limit *and* its
  confidence interval excludes "no change": the candidate is really worse, by more
  than the policy allows;
* ``pass``         -- the whole interval is within the limit;
* ``inconclusive`` -- neither (too noisy to tell), or the load generator saturated;
* ``not judged``   -- a tail percentile (p95, p99) with too few requests beyond it on
  either side (:data:`MIN_TAIL_SAMPLES`) to say anything about it: it neither passes
  nor blocks, and the message says how many requests would be needed.

A sequential comparison (docs/loadtest.md, "Measure until decided") is *strict*: a
regression needs the whole interval beyond the limit, so both decisions are
"clearly" made and each keeps its error rate under repeated looks.

SLO metrics (the candidate alone, ``spec.slo``) get ``pass`` / ``fail`` / ``inconclusive``.
Every verdict names the rule that decided it (``regression.p95LatencyIncreasePct``,
``slo.p95LatencyMs``, ``generator.saturated``, ...).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from releasegate.loadtest.stats import Comparison, Interval

DEFAULT_LIMITS: dict[str, float] = {
    "p95LatencyIncreasePct": 10.0,
    "p99LatencyIncreasePct": 20.0,
    "throughputDecreasePct": 5.0,
    "errorRateIncrease": 0.001,
}
PASS, REGRESSION, INCONCLUSIVE, FAIL, NOT_JUDGED = "pass", "regression", "inconclusive", "fail", "not judged"
_SEVERITY = {NOT_JUDGED: 0, PASS: 0, INCONCLUSIVE: 1, REGRESSION: 2, FAIL: 2}
# Requests beyond a percentile, on each side, before the percentile is judged (10,000 requests
# for p99, 2,000 for p95): the count beyond it varies by about 1/sqrt(count) between samples, so
# with fewer than 100 the percentile is not even pinned to +-10 % in rank, and on a noisy runner
# its bootstrap interval is too wide to decide anything (A/A p99 intervals of -52 % ... +50 %
# from 63 requests beyond p99 on this project's 2-core benchmark machine).
MIN_TAIL_SAMPLES = 100
# ... and those requests must come from this many slot pairs on each side: a tail made of a few
# stalls of the machine (a noisy neighbour, a burst of another job) says nothing about the model,
# and its percentile swings with whether a stall fell on one side's slot or the other's.
MIN_TAIL_BLOCKS = 20


@dataclass(frozen=True)
class MetricVerdict:
    """The decision on one metric at one load point (``point`` None: over all points)."""

    metric: str
    point: str | None
    verdict: str
    rule: str
    message: str
    observed: float | None = None
    low: float | None = None
    high: float | None = None
    limit: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "point": self.point,
            "verdict": self.verdict,
            "rule": self.rule,
            "message": self.message,
            "observed": _num(self.observed),
            "interval": None if self.low is None else [_num(self.low), _num(self.high)],
            "limit": _num(self.limit),
        }


def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 6)


def limits(policy_regression: Mapping[str, float]) -> dict[str, float]:
    """The regression limits in force: the policy's, defaults for the fields it omits."""
    return {**DEFAULT_LIMITS, **{k: float(v) for k, v in policy_regression.items()}}


def _pct(x: float) -> str:
    return f"{x * 100:+.1f} %" if math.isfinite(x) else "n/a"


def relative(metric: str, point: str, change: Interval, limit_pct: float, rule: str, strict: bool = False) -> MetricVerdict:
    """Verdict on a relative change where positive is worse (latency up, throughput down).

    ``strict``: a regression needs the interval wholly beyond the limit (sequential
    comparisons), not only the estimate beyond it and the interval above zero.
    """
    limit = limit_pct / 100.0
    told = f"{metric} {_pct(change.value)} (CI {_pct(change.low)} … {_pct(change.high)}), limit +{limit_pct:g} %"
    if not (math.isfinite(change.value) and math.isfinite(change.low) and math.isfinite(change.high)):
        return MetricVerdict(metric, point, INCONCLUSIVE, "statistics", f"{metric}: not enough successful requests to compare")
    if change.low > limit if strict else (change.value > limit and change.low > 0):
        verdict, text = REGRESSION, f"{told}: worse beyond the limit"
    elif change.high <= limit:
        verdict, text = PASS, f"{told}: within the limit"
    else:
        verdict, text = INCONCLUSIVE, f"{told}: the interval straddles the limit"
    return MetricVerdict(metric, point, verdict, rule, text, change.value, change.low, change.high, limit)


def _flip(i: Interval) -> Interval:
    return Interval(-i.value, -i.high, -i.low)


TAIL_METRICS = ((95.0, "p95 latency", "p95LatencyIncreasePct"), (99.0, "p99 latency", "p99LatencyIncreasePct"))


def tail_samples(comp: Comparison, q: float) -> int:
    """Successful requests beyond the ``q``-th percentile on the side that has fewer."""
    assert comp.baseline is not None
    ok = min(s.requests - s.errors for s in (comp.candidate, comp.baseline))
    return int(ok * (1.0 - q / 100.0))


def _not_judged(metric: str, point: str, q: float, have: int, rule: str) -> MetricVerdict:
    need = math.ceil(MIN_TAIL_SAMPLES / (1.0 - q / 100.0))
    return MetricVerdict(metric, point, NOT_JUDGED, rule,
                         f"{metric}: not judged: {have} request(s) beyond p{q:g} on the side with fewer, at least "
                         f"{MIN_TAIL_SAMPLES} are needed ({need} successful requests per side)")


def _concentrated(metric: str, point: str, q: float, have: int, blocks: int, rule: str) -> MetricVerdict:
    return MetricVerdict(metric, point, NOT_JUDGED, rule,
                         f"{metric}: not judged: the requests beyond p{q:g} ({have} on the side with fewer) come from "
                         f"only {blocks} slot pair(s) on one side, at least {MIN_TAIL_BLOCKS} are needed: a few stalls "
                         "of the machine, not the model's tail")


def compare_point(point: str, comp: Comparison, lim: Mapping[str, float], closed: bool, saturated: bool,
                  strict: bool = False) -> list[MetricVerdict]:
    """Comparison verdicts at one load point (throughput only for closed-loop points)."""
    if comp.baseline is None:
        return []
    out = []
    for q, metric, key in TAIL_METRICS:
        have = tail_samples(comp, q)
        blocks = comp.tail_blocks.get(q)
        if have < MIN_TAIL_SAMPLES:
            out.append(_not_judged(metric, point, q, have, f"regression.{key}"))
        elif blocks is not None and blocks < MIN_TAIL_BLOCKS:
            out.append(_concentrated(metric, point, q, have, blocks, f"regression.{key}"))
        else:
            out.append(relative(metric, point, comp.latency_change[q], lim[key], f"regression.{key}", strict))
    if closed and comp.throughput_change is not None:
        out.append(relative("throughput decrease", point, _flip(comp.throughput_change), lim["throughputDecreasePct"],
                            "regression.throughputDecreasePct", strict))
    out.append(error_rate(point, comp, lim["errorRateIncrease"]))
    if saturated:
        out = [_saturated(v) if v.rule != "regression.errorRateIncrease" and v.verdict != NOT_JUDGED else v for v in out]
    return out


def _saturated(v: MetricVerdict) -> MetricVerdict:
    return MetricVerdict(
        v.metric, v.point, INCONCLUSIVE, "generator.saturated",
        f"{v.metric}: the load generator was saturated at this point, so its latencies "
        "measure locust, not the model (give locust more cores, or use distributed mode)",
        v.observed, v.low, v.high, v.limit,
    )


def error_rate(point: str, comp: Comparison, limit: float) -> MetricVerdict:
    """The candidate's error rate may exceed the baseline's by at most ``limit`` (absolute)."""
    assert comp.baseline is not None
    cand, base = comp.candidate.error_rate, comp.baseline.error_rate
    increase = cand - base
    text = f"error rate {cand:.4%} vs {base:.4%} (increase {increase:+.4%}, limit +{limit:.4%})"
    verdict = REGRESSION if increase > limit else PASS
    return MetricVerdict("error rate", point, verdict, "regression.errorRateIncrease", text, increase, None, None, limit)


@dataclass(frozen=True)
class PointStats:
    """What the SLO checks need of one measured load point of one side."""

    point: str
    throughput: float
    error_rate: float
    latency: Mapping[float, float]  # quantile -> ms
    saturated: bool


SLO_LATENCY = (("p50LatencyMs", 50.0), ("p95LatencyMs", 95.0), ("p99LatencyMs", 99.0))


def meets_latency_slo(p: PointStats, slo: Mapping[str, float]) -> bool:
    return all(p.latency.get(q, math.inf) <= float(slo[key]) for key, q in SLO_LATENCY if key in slo)


def throughput_at_slo(points: Iterable[PointStats], slo: Mapping[str, float]) -> PointStats | None:
    """The point with the highest throughput whose latencies (and error rate) meet the SLO."""
    max_err = float(slo.get("maxErrorRate", 1.0))
    ok = [p for p in points if meets_latency_slo(p, slo) and p.error_rate <= max_err]
    return max(ok, key=lambda p: p.throughput, default=None)


def slo_verdicts(points: Sequence[PointStats], slo: Mapping[str, float], replicas: int, overall_error_rate: float) -> list[MetricVerdict]:
    """The candidate against ``spec.slo`` (measured on one replica, scaled by ``replicas``)."""
    out: list[MetricVerdict] = []
    if not slo or not points:
        return out
    latency_keys = [k for k, _ in SLO_LATENCY if k in slo]
    best = throughput_at_slo(points, slo)
    if latency_keys:
        out.append(_latency_slo(points, slo, latency_keys, best))
    if "minThroughputRps" in slo:
        out.append(_throughput_slo(points, slo, replicas, best))
    if "maxErrorRate" in slo:
        limit = float(slo["maxErrorRate"])
        verdict = PASS if overall_error_rate <= limit else FAIL
        out.append(MetricVerdict("error rate (SLO)", None, verdict, "slo.maxErrorRate",
                                 f"error rate {overall_error_rate:.4%}, SLO at most {limit:.4%}", overall_error_rate, None, None, limit))
    return out


def _latency_slo(points: Sequence[PointStats], slo: Mapping[str, float], keys: list[str], best: PointStats | None) -> MetricVerdict:
    rule = "slo." + "/".join(keys)
    wanted = ", ".join(f"{k[:3]} <= {float(slo[k]):g} ms" for k in keys)
    if best is not None:
        return MetricVerdict("latency (SLO)", best.point, PASS, rule, f"{wanted} met up to {best.throughput:.1f} req/s (point {best.point})", best.throughput)
    lowest = min(points, key=lambda p: p.throughput)
    got = ", ".join(f"{k[:3]} {lowest.latency.get(q, math.nan):.1f} ms" for k, q in SLO_LATENCY if k in slo)
    verdict = INCONCLUSIVE if lowest.saturated else FAIL
    rule = "generator.saturated" if lowest.saturated else rule
    return MetricVerdict("latency (SLO)", lowest.point, verdict, rule, f"{wanted} not met at any measured load; at the lightest ({lowest.point}): {got}")


def _throughput_slo(points: Sequence[PointStats], slo: Mapping[str, float], replicas: int, best: PointStats | None) -> MetricVerdict:
    need = float(slo["minThroughputRps"])
    have = (best.throughput if best is not None else 0.0) * replicas
    verdict = PASS if have >= need else FAIL
    scope = f"{replicas} replica(s) × measured" if replicas != 1 else "measured"
    text = f"throughput within the latency SLO: {have:.1f} req/s ({scope}), SLO at least {need:g} req/s"
    if verdict == FAIL and best is not None and best.throughput >= max(p.throughput for p in points):
        text += "; the highest load measured still met the latency SLO, so capacity may be higher (enable sloSearch)"
        verdict = INCONCLUSIVE
    return MetricVerdict("throughput at SLO", best.point if best else None, verdict, "slo.minThroughputRps", text, have, None, None, need)


def worst(verdicts: Iterable[str]) -> str:
    """The most severe of ``verdicts`` (pass when empty)."""
    return max(verdicts, key=lambda v: _SEVERITY.get(v, 0), default=PASS)


def summarize(verdicts: Sequence[MetricVerdict]) -> list[MetricVerdict]:
    """One verdict per metric: the worst point decides (its message is kept)."""
    by_metric: dict[str, MetricVerdict] = {}
    for v in verdicts:
        kept = by_metric.get(v.metric)
        if kept is None or _SEVERITY[v.verdict] > _SEVERITY[kept.verdict]:
            by_metric[v.metric] = v
    return list(by_metric.values())
