"""The canary analysis of ``rollout advance``: canary against stable in Prometheus, over the step's window.

Three instant queries at ``now`` count, per track and version, over the window since the step landed:
answers, 5xx answers, and answered requests per latency bucket (the server's metrics,
:mod:`releasegate.serve.metric_names`). The rule (docs/rollout.md, "Canary analysis"), with the
settings of ``monitoring.canary`` in policies/render.yaml (the same ones the canary alerts use):

1. **Enough data.** Each side needs at least ``minRequests`` answers and as many latency samples in
   the window; otherwise (no series, too few) the verdict is ``hold``. Never ``pass`` without data.
2. **Errors.** The difference of error ratios d = canary − stable gets a 95 % Agresti–Caffo interval
   (one error and one success added to each side, so that no errors on both sides is still an
   interval). The margin m is ``slo.maxErrorRate``, else ``errorRatioMargin``. Lower bound above m:
   ``fail`` (worse, and not by chance); upper bound at most m: no worse; otherwise ``hold`` (more data
   will tell).
3. **Latency.** Each side's p95 is interpolated within its histogram bucket (as ``histogram_quantile``
   does). The canary is slower when its p95 is above ``maxLatencyRatio`` × stable's **and** at least
   ``minLatencyIncreaseMs`` higher: ``fail``; otherwise no worse.
4. ``fail`` if either says fail, else ``hold`` if either says hold, else ``pass``. A Prometheus that is
   down, slow, or answers partially is ``hold``.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from releasegate.render.config import CanaryComparison
from releasegate.render.promql import selector
from releasegate.rollout.decision import AnalysisVerdict
from releasegate.rollout.prometheus import Prometheus, QueryError, Sample
from releasegate.serve.metric_names import ERROR_STATUS, REQUEST_SECONDS, REQUESTS

Z = 1.959964  # two-sided 95 %
SOURCE = "prometheus"


@dataclass(frozen=True)
class Subject:
    """What is compared: ``model`` in ``env``, the canary's and the stable side's versions, since when.
    ``stable`` None: whatever version runs on the stable track (KServe keeps that revision itself)."""

    model: str
    env: str
    canary: str
    stable: str | None
    since: datetime
    now: datetime
    max_error_rate: float | None = None

    @property
    def window_s(self) -> int:
        return max(60, int((self.now - self.since).total_seconds()))


@dataclass(frozen=True)
class Side:
    track: str
    version: str
    requests: float
    errors: float
    buckets: tuple[tuple[float, float], ...]  # (upper bound, cumulative count); math.inf last

    @property
    def samples(self) -> float:
        return self.buckets[-1][1] if self.buckets else 0.0

    @property
    def error_ratio(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def quantile(self, q: float) -> float | None:
        """Seconds, interpolated within the bucket the rank falls in (None without samples)."""
        if not self.samples:
            return None
        rank, lower, below = q * self.samples, 0.0, 0.0
        for bound, count in self.buckets:
            if count >= rank:
                if math.isinf(bound):
                    return lower  # beyond the largest finite bound: that bound, as histogram_quantile says
                return lower + (bound - lower) * ((rank - below) / (count - below) if count > below else 1.0)
            lower, below = bound, count
        return lower


@dataclass(frozen=True)
class Analysis:
    subject: Subject
    verdict: AnalysisVerdict
    canary: Side | None = None
    stable: Side | None = None
    findings: tuple[str, ...] = ()  # one line per rule, with its numbers
    queries: tuple[str, ...] = ()
    source: str = ""  # where the data came from (the Prometheus URL)


def queries(s: Subject) -> tuple[str, str, str]:
    sel, window = selector(s.model, s.env), f"[{s.window_s}s]"
    by = "track, version"
    return (f"sum by ({by}) (increase({REQUESTS}{sel}{window}))",
            f"sum by ({by}) (increase({REQUESTS}{selector(s.model, s.env, status=ERROR_STATUS)}{window}))",
            f"sum by ({by}, le) (increase({REQUEST_SECONDS}_bucket{sel}{window}))")


def analyse(prometheus: Prometheus, s: Subject, settings: CanaryComparison) -> Analysis:
    """The verdict on the canary of ``s``; every failure to get data is ``hold``."""
    texts = queries(s)
    try:
        answers = [prometheus.query(q, s.now) for q in texts]
    except QueryError as e:
        return Analysis(s, _verdict("hold", f"no verdict without data: {e.message}"), queries=texts,
                        source=prometheus.url)
    canary, stable = (_side(answers, track, version) for track, version in (("canary", s.canary), ("stable", s.stable)))
    return dataclasses.replace(judge(s, canary, stable, settings, texts), source=prometheus.url)


def _side(answers: list[list[Sample]], track: str, version: str | None) -> Side:
    def mine(samples: list[Sample]) -> list[Sample]:
        return [x for x in samples if x.label("track") == track and version in (None, x.label("version"))]

    requests, errors, buckets = (mine(a) for a in answers)
    if version is None:  # named by the versions that answered on that track
        version = ", ".join(sorted({str(x.label("version")) for x in requests if x.value > 0})) or "none"
    counts: dict[float, float] = {}
    for x in buckets:
        bound = _bound(x.label("le"))
        if bound is not None:
            counts[bound] = counts.get(bound, 0.0) + x.value
    return Side(track, version, sum(x.value for x in requests), sum(x.value for x in errors),
                _cumulative(counts))


def _bound(text: str) -> float | None:
    if text == "+Inf":
        return math.inf
    try:
        return float(text)
    except ValueError:
        return None


def _cumulative(counts: dict[float, float]) -> tuple[tuple[float, float], ...]:
    """Sorted, made monotone (increase() of neighbouring buckets may extrapolate a little apart)."""
    out, top = [], 0.0
    for bound in sorted(counts):
        top = max(top, counts[bound])
        out.append((bound, top))
    return tuple(out) if out and math.isinf(out[-1][0]) else ()


def judge(s: Subject, canary: Side, stable: Side, c: CanaryComparison, texts: tuple[str, ...] = ()) -> Analysis:
    short = [f"{side.track} {side.version}: {side.requests:.0f} requests, {side.samples:.0f} latency samples"
             for side in (canary, stable) if side.requests < c.min_requests or side.samples < c.min_requests]
    if short:
        findings = (f"too little data in {s.window_s} s: " + "; ".join(short) + f" (need {c.min_requests} each)",)
        return Analysis(s, _verdict("hold", findings[0]), canary, stable, findings, texts)
    errors, error_outcome = _errors(canary, stable, s.max_error_rate if s.max_error_rate is not None
                                    else c.error_ratio_margin)
    latency, latency_outcome = _latency(canary, stable, c)
    outcome = "fail" if "fail" in (error_outcome, latency_outcome) else \
        "hold" if "hold" in (error_outcome, latency_outcome) else "pass"
    shown = [f for f, o in ((errors, error_outcome), (latency, latency_outcome)) if o == outcome] or [errors, latency]
    return Analysis(s, _verdict(outcome, "; ".join(shown)), canary, stable, (errors, latency), texts)


def _errors(canary: Side, stable: Side, margin: float) -> tuple[str, str]:
    low, high = agresti_caffo(canary.errors, canary.requests, stable.errors, stable.requests)
    diff = canary.error_ratio - stable.error_ratio
    text = (f"errors: canary {_pct(canary.error_ratio)} vs stable {_pct(stable.error_ratio)}, difference "
            f"{_pp(diff)} (95 % interval {_pp(low)} … {_pp(high)}), margin {_pp(margin)}")
    if low > margin:
        return text + ": worse beyond the margin", "fail"
    if high <= margin:
        return text + ": no worse", "pass"
    return text + ": not yet resolved, more requests will tell", "hold"


def agresti_caffo(x1: float, n1: float, x2: float, n2: float) -> tuple[float, float]:
    """95 % interval of p1 − p2, with one success and one failure added to each side."""
    p1, p2 = (x1 + 1) / (n1 + 2), (x2 + 1) / (n2 + 2)
    half = Z * math.sqrt(p1 * (1 - p1) / (n1 + 2) + p2 * (1 - p2) / (n2 + 2))
    return p1 - p2 - half, p1 - p2 + half


def _latency(canary: Side, stable: Side, c: CanaryComparison) -> tuple[str, str]:
    mine, theirs = canary.quantile(0.95) or 0.0, stable.quantile(0.95) or 0.0
    ratio = mine / theirs if theirs else math.inf
    text = (f"latency: canary p95 {mine * 1000:.1f} ms vs stable {theirs * 1000:.1f} ms (x{ratio:.2f}; slower means "
            f"above x{c.max_latency_ratio:g} and +{c.min_latency_increase_ms:g} ms)")
    if mine > theirs * c.max_latency_ratio and (mine - theirs) * 1000 > c.min_latency_increase_ms:
        return text + ": slower", "fail"
    return text + ": no slower", "pass"


def _pct(x: float) -> str:
    return f"{x * 100:.2f} %"


def _pp(x: float) -> str:
    return f"{x * 100:+.2f} pp"


def _verdict(outcome: str, summary: str) -> AnalysisVerdict:
    return AnalysisVerdict(outcome, summary, SOURCE)  # type: ignore[arg-type]


@dataclass(frozen=True)
class PrometheusAnalyst:
    """What ``rollout advance --prometheus-url`` hands the planner: ``analyst(subject)``."""

    prometheus: Prometheus
    settings: CanaryComparison

    def __call__(self, subject: Subject) -> Analysis:
        return analyse(self.prometheus, subject, self.settings)


def window_text(s: Subject) -> str:
    end = s.now.astimezone(timezone.utc)
    start = end - timedelta(seconds=s.window_s)
    return f"{start:%Y-%m-%dT%H:%M:%SZ} … {end:%Y-%m-%dT%H:%M:%SZ} ({s.window_s} s)"
