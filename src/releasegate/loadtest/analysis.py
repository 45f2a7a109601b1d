"""Turn measured phases into per-point statistics, comparisons and verdicts."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from releasegate.loadtest.driver import PhaseData
from releasegate.loadtest.measure import LoadPoint, Measurement
from releasegate.loadtest.profiles import Profile
from releasegate.loadtest.sequential import PointDecision
from releasegate.loadtest.session import BASELINE, CANDIDATE
from releasegate.loadtest.stats import QUANTILES, Blocked, Comparison, SideSummary, compare, make_blocks, percentile
from releasegate.loadtest.verdict import (
    INCONCLUSIVE,
    MetricVerdict,
    PointStats,
    compare_point,
    limits,
    slo_verdicts,
    summarize,
    throughput_at_slo,
)


@dataclass(frozen=True)
class Analysis:
    points: list[dict[str, Any]]
    verdicts: list[MetricVerdict]
    details: list[MetricVerdict]
    slo_search: dict[str, Any] | None
    curves: dict[str, list[PointStats]]
    comparisons: dict[str, Comparison]


def _blocks(phases: Sequence[PhaseData]) -> Blocked:
    return make_blocks([(d.latency_ms, d.ok, d.unit, d.unit_seconds) for d in phases])


def point_stats(point: str, phases: Sequence[PhaseData]) -> PointStats:
    """Plain (interval-free) statistics of one side at one point, for SLO checks and curves."""
    lat = np.concatenate([d.latency_ms[d.ok] for d in phases]) if phases else np.empty(0)
    total = sum(d.count for d in phases)
    errors = sum(d.errors for d in phases)
    seconds = sum(d.duration for d in phases)
    return PointStats(
        point=point,
        throughput=(total - errors) / seconds if seconds > 0 else 0.0,
        error_rate=errors / total if total else math.nan,
        latency={q: percentile(lat, q) for q in QUANTILES},
        saturated=any(d.generator.saturated for d in phases),
    )


def _side_dict(summary: SideSummary, phases: Sequence[PhaseData]) -> dict[str, Any]:
    gpu = [d.gpu for d in phases if d.gpu.available and d.gpu.samples]
    return {
        "requests": summary.requests,
        "errors": summary.errors,
        "errorRate": None if math.isnan(summary.error_rate) else round(summary.error_rate, 6),
        "latencyMs": {f"p{q:g}": summary.latency[q].to_dict(3) for q in QUANTILES},
        "throughputRps": summary.throughput.to_dict(2),
        "generator": {
            "busiestProcessCpuPct": round(max(d.generator.busiest_cpu_pct for d in phases), 1),
            "saturated": any(d.generator.saturated for d in phases),
        },
        "openLoopLatenessP99Ms": _max_or_none(d.lateness_p99_ms for d in phases),
        "gpu": _gpu_summary(gpu, phases),
    }


def _max_or_none(values: Any) -> float | None:
    vals = [v for v in values if v is not None]
    return round(max(vals), 3) if vals else None


def _gpu_summary(gpu: list[Any], phases: Sequence[PhaseData]) -> dict[str, Any]:
    if not gpu:
        reason = next((d.gpu.reason for d in phases if d.gpu.reason), "no GPU sample")
        return {"available": False, "reason": reason}
    return {
        "available": True,
        "utilizationPctMean": round(float(np.mean([g.util_pct_mean for g in gpu])), 1),
        "memoryPeakMiB": round(max(g.memory_peak_mib for g in gpu), 1),
        "serverMemoryPeakMiB": _max_or_none(g.server_memory_peak_mib for g in gpu),
        "powerWattsMean": round(float(np.mean([g.power_watts_mean for g in gpu])), 1),
    }


def analyse(m: Measurement, profile: Profile, regression: Mapping[str, float], slo: Mapping[str, float], replicas: int, has_baseline: bool) -> Analysis:
    """Comparisons with Bonferroni-adjusted intervals, verdicts per point and per metric."""
    lim = limits(regression)
    compared = [p for p in m.points if _sides(m, p.id, CANDIDATE)]
    confidence = 1.0 - (1.0 - profile.confidence) / max(1, len(compared))
    points, details, comparisons = [], [], {}
    curves: dict[str, list[PointStats]] = {CANDIDATE: [], BASELINE: []}
    for i, p in enumerate(compared):
        cand, base = _sides(m, p.id, CANDIDATE), _sides(m, p.id, BASELINE)
        decision = m.decisions.get(p.id)
        if decision is not None and decision.comparison is not None:  # judged look by look (sequential.py)
            comp, verdicts = decision.comparison, decision.verdicts()
        else:
            comp = compare(_blocks(cand), _blocks(base) if base else None, confidence=confidence,
                           replicates=profile.bootstrap_replicates, seed=i, paired=m.paired)
            saturated = any(d.generator.saturated for d in (*cand, *base))
            verdicts = compare_point(p.id, comp, lim, p.mode == "closed", saturated)
        comparisons[p.id] = comp
        details.extend(verdicts)
        curves[CANDIDATE].append(point_stats(p.id, cand))
        if base:
            curves[BASELINE].append(point_stats(p.id, base))
        points.append(_point_dict(p, comp, cand, base, verdicts, decision))
    search = _search(m, slo, curves)
    cand_total = sum(d.count for d in m.phases if d.side == CANDIDATE)
    cand_err = sum(d.errors for d in m.phases if d.side == CANDIDATE)
    overall_err = cand_err / cand_total if cand_total else math.nan
    slo_v = slo_verdicts(curves[CANDIDATE] + _search_stats(m, CANDIDATE), slo, replicas, overall_err)
    verdicts = summarize(details) + slo_v
    if has_baseline and not compared:
        verdicts.append(MetricVerdict("comparison", None, INCONCLUSIVE, "statistics", "no load point was measured on both sides"))
    return Analysis(points, verdicts, details, search, curves, comparisons)


def _sides(m: Measurement, point: str, side: str) -> list[PhaseData]:
    return [d for d in m.phases if d.phase.point == point and d.side == side]


def _point_dict(p: LoadPoint, comp: Comparison, cand: list[PhaseData], base: list[PhaseData], verdicts: list[MetricVerdict],
                decision: PointDecision | None) -> dict[str, Any]:
    change: dict[str, Any] | None = None
    if comp.baseline is not None:
        change = {f"p{q:g}": comp.latency_change[q].to_dict() for q in QUANTILES}
        change["throughput"] = comp.throughput_change.to_dict() if comp.throughput_change else None
    return {
        "id": p.id,
        "mode": p.mode,
        "users": p.users,
        "rateRps": None if p.rate is None else round(p.rate, 2),
        "runs": len(cand),
        "bootstrapUnits": sum(d.units for d in cand),
        "candidate": _side_dict(comp.candidate, cand),
        "baseline": _side_dict(comp.baseline, base) if comp.baseline is not None else None,
        "change": change,
        "verdicts": [v.to_dict() for v in verdicts],
        "sequential": decision.to_dict() if decision is not None else None,
    }


def _search_stats(m: Measurement, side: str) -> list[PointStats]:
    return [point_stats(d.phase.point, [d]) for d in m.search.get(side, [])]


def _search(m: Measurement, slo: Mapping[str, float], curves: dict[str, list[PointStats]]) -> dict[str, Any] | None:
    if not slo:
        return None
    out: dict[str, Any] = {}
    for side in (CANDIDATE, BASELINE):
        stats = curves[side] + _search_stats(m, side)
        if not stats:
            continue
        best = throughput_at_slo(stats, slo)
        out[side] = {
            "throughputRps": None if best is None else round(best.throughput, 2),
            "point": None if best is None else best.point,
            "searched": [d.phase.users for d in m.search.get(side, [])],
        }
    cand, base = out.get(CANDIDATE, {}), out.get(BASELINE, {})
    if cand.get("throughputRps") and base.get("throughputRps"):
        out["ratio"] = round(cand["throughputRps"] / base["throughputRps"], 4)
    return out


def phase_rows(m: Measurement) -> list[dict[str, Any]]:
    """One line per phase, in the order they ran (for the JSON result)."""
    rows = []
    for d in sorted([*m.phases, *(x for v in m.search.values() for x in v)], key=lambda d: d.phase.index):
        good = d.latency_ms[d.ok]
        rows.append({
            "run": d.phase.index, "side": d.side, "point": d.phase.point, "kind": d.phase.kind,
            "round": d.phase.round, "mode": d.phase.mode, "users": d.phase.users, "interleaved": d.phase.interleaved,
            "rateRps": d.phase.rate, "requests": d.count, "errors": d.errors,
            "seconds": round(d.duration, 3), "throughputRps": round(d.throughput, 2),
            "p50Ms": _r(percentile(good, 50)), "p95Ms": _r(percentile(good, 95)), "p99Ms": _r(percentile(good, 99)),
            "generator": d.generator.to_dict(), "gpu": d.gpu.to_dict(),
        })
    return rows


def _r(x: float) -> float | None:
    return None if not math.isfinite(x) else round(x, 3)
