"""Block bootstrap: intervals cover no change for equal sides and exclude it for a 15 % shift."""
from __future__ import annotations

import numpy as np
import pytest

from releasegate.loadtest.stats import Blocked, compare, make_blocks, percentile


def _side(rng: np.random.Generator, scale: float, units: int = 40, per_unit: int = 60, noise: np.ndarray | None = None) -> Blocked:
    lat, unit = [], []
    for u in range(units):
        burst = 1.0 if noise is None else noise[u]
        lat.append(rng.lognormal(np.log(5.0 * scale * burst), 0.25, per_unit))
        unit.append(np.full(per_unit, u))
    latency = np.concatenate(lat)
    return make_blocks([(latency, np.ones(latency.size, bool), np.concatenate(unit), np.full(units, 0.5))])


def test_equal_sides_interval_covers_zero() -> None:
    rng = np.random.default_rng(1)
    comp = compare(_side(rng, 1.0), _side(rng, 1.0), replicates=500)
    for q in (50.0, 95.0, 99.0):
        assert comp.latency_change[q].low < 0 < comp.latency_change[q].high
    assert comp.throughput_change is not None
    assert comp.throughput_change.low <= 0 <= comp.throughput_change.high


def test_fifteen_percent_slower_is_outside_the_interval() -> None:
    rng = np.random.default_rng(2)
    comp = compare(_side(rng, 1.15), _side(rng, 1.0), replicates=500)
    assert 0.10 < comp.latency_change[95.0].value < 0.20
    assert comp.latency_change[95.0].low > 0.05


def test_pairing_cancels_noise_shared_by_both_sides() -> None:
    rng = np.random.default_rng(3)
    bursts = rng.choice([1.0, 1.6], size=40, p=[0.8, 0.2])
    cand, base = _side(rng, 1.0, noise=bursts), _side(rng, 1.0, noise=bursts)
    paired = compare(cand, base, replicates=500, paired=True).latency_change[50.0]
    unpaired = compare(cand, base, replicates=500, paired=False).latency_change[50.0]
    assert paired.high - paired.low < 0.7 * (unpaired.high - unpaired.low)


def test_throughput_counts_successful_requests_per_second() -> None:
    latency = np.full(100, 2.0)
    ok = np.array([True] * 90 + [False] * 10)
    blocks = make_blocks([(latency, ok, np.repeat(np.arange(10), 10), np.full(10, 0.5))])
    comp = compare(blocks, None, replicates=200)
    assert comp.candidate.throughput.value == pytest.approx(90 / 5.0)
    assert comp.candidate.errors == 10 and comp.candidate.error_rate == pytest.approx(0.1)
    assert comp.baseline is None and comp.throughput_change is None


def test_no_successful_request_gives_nan_not_a_crash() -> None:
    blocks = make_blocks([(np.full(5, 1.0), np.zeros(5, bool), np.zeros(5, int), np.full(1, 1.0))])
    comp = compare(blocks, blocks, replicates=100)
    assert np.isnan(comp.latency_change[95.0].value)


def test_percentile_is_an_observed_value() -> None:
    assert percentile(np.array([1.0, 2.0, 3.0, 4.0]), 50) == 2.0
    assert np.isnan(percentile(np.empty(0), 95))


def test_tail_blocks_count_the_slot_pairs_a_tail_comes_from() -> None:
    from releasegate.loadtest.stats import tail_blocks

    i = np.arange(1000)
    block = i // 10  # 100 slot pairs of 10 requests
    stalls = np.where(block < 3, 200.0 + i % 10 * 1e-3, 10.0 + i * 1e-6)  # three stalled pairs hold every slow request
    spread = 10.0 + i % 10 + i * 1e-6  # each pair has its own slowest request
    ok = np.ones(1000, bool)
    seconds = np.full(100, 0.5)
    assert tail_blocks(Blocked(stalls, ok, block, seconds), 99.0) == 3
    assert tail_blocks(Blocked(spread, ok, block, seconds), 95.0) == 50  # the 50 slowest: one in each of 50 pairs
