"""Verdict rules: regression / pass / inconclusive against limits, SLO checks."""
from __future__ import annotations

import math

import pytest

from releasegate.loadtest.stats import Comparison, Interval, SideSummary
from releasegate.loadtest.verdict import (
    INCONCLUSIVE,
    NOT_JUDGED,
    PASS,
    REGRESSION,
    PointStats,
    compare_point,
    limits,
    relative,
    slo_verdicts,
    summarize,
)


@pytest.mark.parametrize(("change", "verdict"), [
    (Interval(0.15, 0.08, 0.22), REGRESSION),  # beyond the limit and really worse
    (Interval(0.15, -0.02, 0.30), INCONCLUSIVE),  # beyond, but could be no change
    (Interval(0.02, -0.03, 0.07), PASS),  # whole interval within +10 %
    (Interval(0.05, 0.01, 0.12), INCONCLUSIVE),  # could exceed the limit
    (Interval(-0.2, -0.3, -0.1), PASS),  # faster
])
def test_relative_rule(change: Interval, verdict: str) -> None:
    v = relative("p95 latency", "c1", change, 10.0, "regression.p95LatencyIncreasePct")
    assert v.verdict == verdict
    assert v.rule == "regression.p95LatencyIncreasePct"
    assert "limit +10 %" in v.message


def test_missing_data_is_inconclusive() -> None:
    v = relative("p95 latency", "c1", Interval(math.nan, math.nan, math.nan), 10.0, "r")
    assert v.verdict == INCONCLUSIVE and v.rule == "statistics"


def _summary(errors: int = 0, requests: int = 20000) -> SideSummary:
    i = Interval(1.0, 0.9, 1.1)
    return SideSummary(requests, errors, {50.0: i, 95.0: i, 99.0: i}, Interval(100.0, 95.0, 105.0))


def test_compare_point_checks_every_limit_and_saturation_makes_it_inconclusive() -> None:
    flat = Interval(0.0, -0.02, 0.02)
    comp = Comparison(_summary(errors=100), _summary(), {50.0: flat, 95.0: flat, 99.0: flat}, flat)
    verdicts = compare_point("c4", comp, limits({}), closed=True, saturated=False)
    assert [v.rule for v in verdicts] == [
        "regression.p95LatencyIncreasePct", "regression.p99LatencyIncreasePct",
        "regression.throughputDecreasePct", "regression.errorRateIncrease"]
    assert verdicts[-1].verdict == REGRESSION  # 0.5 % more errors > 0.1 %
    saturated = compare_point("c4", comp, limits({}), closed=True, saturated=True)
    assert {v.rule for v in saturated[:3]} == {"generator.saturated"}
    assert "measure locust, not the model" in saturated[0].message


def test_a_tail_with_too_few_requests_beyond_it_is_not_judged() -> None:
    """2,000 requests a side: 100 beyond p95 (judged), 20 beyond p99 (not judged, whatever its interval)."""
    wild = Interval(0.5, 0.3, 0.7)
    comp = Comparison(_summary(requests=2000), _summary(requests=2000), {50.0: wild, 95.0: wild, 99.0: wild}, wild)
    by = {v.metric: v for v in compare_point("c4", comp, limits({}), closed=True, saturated=True)}
    assert by["p95 latency"].verdict == INCONCLUSIVE and by["p95 latency"].rule == "generator.saturated"
    assert by["p99 latency"].verdict == NOT_JUDGED
    assert "20 request(s) beyond p99" in by["p99 latency"].message and "10000 successful requests" in by["p99 latency"].message


def test_a_tail_from_a_few_slot_pairs_is_not_judged() -> None:
    """20,000 requests a side, 200 beyond p99, but all from 7 slot pairs: machine stalls, not the model."""
    wild = Interval(0.5, 0.3, 0.7)
    comp = Comparison(_summary(), _summary(), {50.0: wild, 95.0: wild, 99.0: wild}, wild, {95.0: 60, 99.0: 7})
    by = {v.metric: v for v in compare_point("c4", comp, limits({}), closed=True, saturated=False)}
    assert by["p95 latency"].verdict == REGRESSION
    assert by["p99 latency"].verdict == NOT_JUDGED and "only 7 slot pair(s)" in by["p99 latency"].message


def test_strict_rule_needs_the_whole_interval_beyond_the_limit() -> None:
    change = Interval(0.15, 0.08, 0.22)
    assert relative("p95 latency", "c1", change, 10.0, "r").verdict == REGRESSION
    assert relative("p95 latency", "c1", change, 10.0, "r", strict=True).verdict == INCONCLUSIVE
    assert relative("p95 latency", "c1", Interval(0.15, 0.11, 0.22), 10.0, "r", strict=True).verdict == REGRESSION


def test_open_loop_points_have_no_throughput_verdict() -> None:
    flat = Interval(0.0, -0.02, 0.02)
    comp = Comparison(_summary(), _summary(), {50.0: flat, 95.0: flat, 99.0: flat}, flat)
    assert "throughput decrease" not in [v.metric for v in compare_point("r50", comp, limits({}), closed=False, saturated=False)]


def test_policy_limits_override_defaults() -> None:
    assert limits({"p95LatencyIncreasePct": 25})["p95LatencyIncreasePct"] == 25.0
    assert limits({})["throughputDecreasePct"] == 5.0


def _point(name: str, tput: float, p95: float, err: float = 0.0) -> PointStats:
    return PointStats(name, tput, err, {50.0: p95 / 2, 95.0: p95, 99.0: p95 * 1.5}, saturated=False)


def test_slo_throughput_is_the_best_point_meeting_latency_times_replicas() -> None:
    points = [_point("c1", 100, 10), _point("c8", 600, 40), _point("c32", 900, 120)]
    verdicts = {v.rule: v for v in slo_verdicts(points, {"p95LatencyMs": 50, "minThroughputRps": 1000}, 2, 0.0)}
    assert verdicts["slo.p95LatencyMs"].verdict == PASS
    assert verdicts["slo.minThroughputRps"].verdict == PASS  # 600 x 2 replicas
    one = {v.rule: v for v in slo_verdicts(points, {"p95LatencyMs": 50, "minThroughputRps": 1000}, 1, 0.0)}
    assert one["slo.minThroughputRps"].verdict == "fail"


def test_slo_latency_missed_everywhere_fails_and_error_rate_is_checked() -> None:
    verdicts = slo_verdicts([_point("c1", 100, 80)], {"p95LatencyMs": 50, "maxErrorRate": 0.01}, 1, 0.02)
    assert [(v.rule, v.verdict) for v in verdicts] == [("slo.p95LatencyMs", "fail"), ("slo.maxErrorRate", "fail")]
    assert "not met at any measured load" in verdicts[0].message


def test_summary_keeps_the_worst_point_per_metric() -> None:
    a = relative("p95 latency", "c1", Interval(0.0, -0.01, 0.01), 10, "r")
    b = relative("p95 latency", "c8", Interval(0.3, 0.2, 0.4), 10, "r")
    assert summarize([a, b]) == [b]
