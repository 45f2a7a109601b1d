"""Statistics of the comparison: percentiles, throughput and their bootstrap intervals.

Requests are not independent (a slow second on the machine slows every request in
it), so the bootstrap resamples *blocks*: the units of the driver (a pair of adjacent
slots, one of each side, in an interleaved phase; a slot otherwise). Each replicate
draws as many blocks as there are, with replacement. When both sides were measured in
the same interleaved phases the draw is *paired*: the same blocks for both sides, so a
burst of noise that hit both halves of a pair cancels in the ratio instead of widening
it -- the bootstrap's version of a paired test.

A replicate's percentile is read from the draw-weighted sum of per-block latency
histograms (a fine log grid), so a replicate costs the same for a thousand or a
million requests; point estimates are exact percentiles of the raw latencies.

Relative differences use the replicates of the two sides: for replicate i,
``stat_B[i] / stat_A[i] - 1``; the interval is the percentile interval of those, widened
for the number of blocks like a t-interval (:func:`small_sample_factor`).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np

QUANTILES = (50.0, 95.0, 99.0)
_CHUNK = 128
HIST_BINS = 4000


@dataclass(frozen=True)
class Blocked:
    """One side's requests at one load point: latencies (ms), ok flags, block ids, block lengths."""

    latency_ms: np.ndarray
    ok: np.ndarray
    block: np.ndarray  # block index per request, 0..n_blocks-1
    block_seconds: np.ndarray  # duration of each block

    @property
    def n_blocks(self) -> int:
        return int(self.block_seconds.size)


def make_blocks(parts: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]) -> Blocked:
    """Concatenate phases ``(latency_ms, ok, unit, unit_seconds)`` into one set of blocks.

    Block ids are the phases' units with an offset per phase, in phase order, so two
    sides measured in the same interleaved phases get aligned block ids (paired).
    """
    lat, ok, block, lengths = [], [], [], []
    offset = 0
    for latency, good, unit, unit_seconds in parts:
        lat.append(latency)
        ok.append(good)
        block.append(unit.astype(np.int64) + offset)
        lengths.append(np.asarray(unit_seconds, dtype=np.float64))
        offset += len(unit_seconds)
    return Blocked(
        np.concatenate(lat) if lat else np.empty(0),
        np.concatenate(ok) if ok else np.empty(0, dtype=bool),
        np.concatenate(block) if block else np.empty(0, dtype=np.int64),
        np.concatenate(lengths) if lengths else np.empty(0),
    )


def percentile(values: np.ndarray, q: float) -> float:
    """The q-th percentile (inverted CDF: an observed value), NaN for no values."""
    if values.size == 0:
        return float("nan")
    return float(np.percentile(values, q, method="inverted_cdf"))


def _draws(n_blocks: int, replicates: int, rng: np.random.Generator) -> np.ndarray:
    """(replicates, n_blocks) draw counts of a block bootstrap."""
    picks = rng.integers(0, n_blocks, size=(replicates, n_blocks))
    counts = np.zeros((replicates, n_blocks), dtype=np.float64)
    np.add.at(counts, (np.arange(replicates)[:, None], picks), 1.0)
    return counts


def _histograms(data: Blocked) -> tuple[np.ndarray, np.ndarray]:
    """Per-block histograms of successful latencies on a fine log grid, and bin values."""
    lat = data.latency_ms[data.ok]
    low, high = max(float(lat.min()), 1e-6), max(float(lat.max()), 1e-6)
    edges = np.geomspace(low, high * (1 + 1e-9), HIST_BINS + 1) if high > low else np.array([low, low * 1.000001])
    index = np.clip(np.searchsorted(edges, lat, side="right") - 1, 0, edges.size - 2)
    hist = np.zeros((data.n_blocks, edges.size - 1))
    np.add.at(hist, (data.block[data.ok], index), 1.0)
    return hist, np.sqrt(edges[:-1] * edges[1:])


def boot_percentiles(
    data: Blocked, quantiles: Sequence[float], draws: np.ndarray
) -> np.ndarray:
    """(replicates, len(quantiles)) bootstrap percentiles of the successful latencies.

    Each replicate's latency distribution is the draw-weighted sum of per-block
    histograms on a log grid of :data:`HIST_BINS` bins (about 0.2 % wide for a
    1000:1 latency range), which keeps the cost independent of the request count.
    """
    out = np.full((draws.shape[0], len(quantiles)), np.nan)
    if not np.any(data.ok):
        return out
    hist, values = _histograms(data)
    for lo in range(0, draws.shape[0], _CHUNK):
        cum = np.cumsum(draws[lo : lo + _CHUNK] @ hist, axis=1)
        total = cum[:, -1:]
        for j, q in enumerate(quantiles):
            idx = np.minimum((cum < total * (q / 100.0)).sum(axis=1), values.size - 1)
            value = values[idx]
            value[total[:, 0] == 0] = np.nan
            out[lo : lo + _CHUNK, j] = value
    return out


def boot_throughput(data: Blocked, draws: np.ndarray) -> np.ndarray:
    """(replicates,) bootstrap throughput: successful requests per second of the drawn blocks."""
    per_block = np.bincount(data.block[data.ok], minlength=data.n_blocks).astype(np.float64)
    seconds = draws @ data.block_seconds
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(seconds > 0, (draws @ per_block) / seconds, np.nan)


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided confidence interval."""

    value: float
    low: float
    high: float

    def to_dict(self, digits: int = 4) -> dict[str, float | None]:
        return {"value": _round(self.value, digits), "low": _round(self.low, digits), "high": _round(self.high, digits)}


def _round(x: float, digits: int) -> float | None:
    return None if not np.isfinite(x) else round(float(x), digits)


def t_quantile(nu: int, p: float) -> float:
    """Student's t quantile with ``nu`` degrees of freedom (Cornish-Fisher expansion; no scipy)."""
    z = NormalDist().inv_cdf(p)
    return z + (z**3 + z) / (4 * nu) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * nu**2)


def small_sample_factor(units: int, confidence: float) -> float:
    """How much to widen a bootstrap percentile interval from ``units`` blocks.

    The percentile bootstrap behaves like a z-interval with the plug-in variance, so with
    few blocks it is too narrow; widening it by ``sqrt(n/(n-1)) * t(n-1)/z`` makes it
    behave like a t-interval.
    """
    if units < 3:
        return 1.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    nu = units - 1
    return math.sqrt(units / nu) * t_quantile(nu, 0.5 + confidence / 2.0) / z


def interval(point: float, replicates: np.ndarray, confidence: float, units: int = 0) -> Interval:
    """Percentile interval of ``replicates`` around ``point`` (NaN replicates ignored),
    widened for ``units`` blocks by :func:`small_sample_factor`."""
    finite = replicates[np.isfinite(replicates)]
    if finite.size == 0 or not np.isfinite(point):
        return Interval(point, float("nan"), float("nan"))
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(finite, [alpha, 1.0 - alpha])
    f = small_sample_factor(units, confidence)
    return Interval(float(point), float(point - f * (point - low)), float(point + f * (high - point)))


def log_t_interval(ratio: float, replicates: np.ndarray, confidence: float, units: int) -> Interval:
    """Interval of a relative change ``ratio - 1`` from bootstrap replicates of the ratio.

    ``log(ratio) +- t(units-1) * sd(log replicates)``: the bootstrap gives the standard
    error, Student's t the width. Unlike a percentile interval this holds at the extreme
    confidence levels that repeated looks spend (1 - 0.05/110 and beyond), which a
    thousand replicates cannot resolve; the log scale makes slower and faster symmetric.
    """
    good = replicates[np.isfinite(replicates) & (replicates > 0)]
    if good.size < 2 or units < 3 or not (np.isfinite(ratio) and ratio > 0):
        return Interval(ratio - 1.0, float("nan"), float("nan"))
    half = t_quantile(units - 1, 0.5 + confidence / 2.0) * float(np.std(np.log(good), ddof=1))
    centre = math.log(ratio)
    return Interval(ratio - 1.0, math.expm1(centre - half), math.expm1(centre + half))


@dataclass(frozen=True)
class SideSummary:
    """Percentiles and throughput of one side at one load point, with intervals."""

    requests: int
    errors: int
    latency: dict[float, Interval]
    throughput: Interval

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else float("nan")


@dataclass(frozen=True)
class Comparison:
    """Candidate (B) against baseline (A) at one load point."""

    candidate: SideSummary
    baseline: SideSummary | None
    latency_change: dict[float, Interval]  # B/A - 1
    throughput_change: Interval | None  # B/A - 1
    tail_blocks: dict[float, int] = field(default_factory=dict)  # q -> :func:`tail_blocks`, the side with fewer


def tail_blocks(data: Blocked, q: float) -> int:
    """How many blocks (slot pairs) the successful requests beyond the ``q``-th percentile come from.

    A tail made of a few machine stalls sits in a few blocks; a model's own tail spreads over
    many. Its percentile can be compared only in the second case (verdict.MIN_TAIL_BLOCKS).
    """
    good = data.ok
    if not np.any(good):
        return 0
    beyond = good & (data.latency_ms > percentile(data.latency_ms[good], q))
    return int(np.unique(data.block[beyond]).size)


def summarize(data: Blocked, draws: np.ndarray, confidence: float, quantiles: Sequence[float]) -> tuple[SideSummary, np.ndarray, np.ndarray]:
    """The side's summary and its raw replicates (percentiles, throughput)."""
    boot_q = boot_percentiles(data, quantiles, draws)
    boot_t = boot_throughput(data, draws)
    good = data.latency_ms[data.ok]
    n = data.n_blocks
    latency = {q: interval(percentile(good, q), boot_q[:, j], confidence, n) for j, q in enumerate(quantiles)}
    total_seconds = float(data.block_seconds.sum())
    point_t = float(np.count_nonzero(data.ok)) / total_seconds if total_seconds > 0 else float("nan")
    summary = SideSummary(
        requests=int(data.latency_ms.size),
        errors=int(np.count_nonzero(~data.ok)),
        latency=latency,
        throughput=interval(point_t, boot_t, confidence, n),
    )
    return summary, boot_q, boot_t


def compare(
    candidate: Blocked,
    baseline: Blocked | None,
    *,
    confidence: float = 0.95,
    replicates: int = 1000,
    seed: int = 0,
    quantiles: Sequence[float] = QUANTILES,
    paired: bool = False,
    method: str = "percentile",
) -> Comparison:
    """Summaries of both sides and the candidate's relative change, with intervals.

    ``method``: ``percentile`` (a fixed-length measurement) or ``log-t`` (the changes of a
    sequential one, :func:`log_t_interval`).
    """
    rng = np.random.default_rng(seed)
    cand_draws = _draws(max(1, candidate.n_blocks), replicates, rng)
    cand, cq, ct = summarize(candidate, cand_draws, confidence, quantiles)
    if baseline is None:
        return Comparison(cand, None, {}, None)
    paired = paired and candidate.n_blocks == baseline.n_blocks
    base_draws = cand_draws if paired else _draws(max(1, baseline.n_blocks), replicates, rng)
    base, bq, bt = summarize(baseline, base_draws, confidence, quantiles)
    n = min(candidate.n_blocks, baseline.n_blocks)
    with np.errstate(divide="ignore", invalid="ignore"):
        changes = {
            q: _change(_ratio(cand.latency[q].value, base.latency[q].value), cq[:, j] / bq[:, j], confidence, n, method)
            for j, q in enumerate(quantiles)
        }
        tput = _change(_ratio(cand.throughput.value, base.throughput.value), ct / bt, confidence, n, method)
    spread = {q: min(tail_blocks(candidate, q), tail_blocks(baseline, q)) for q in quantiles}
    return Comparison(cand, base, changes, tput, spread)


def _change(ratio: float, replicates: np.ndarray, confidence: float, units: int, method: str) -> Interval:
    if method == "log-t":
        return log_t_interval(ratio, replicates, confidence, units)
    return interval(ratio - 1.0, replicates - 1.0, confidence, units)


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 and np.isfinite(a) and np.isfinite(b) else float("nan")
