"""Group-sequential boundaries: published values, the error they keep, and looks as they happen."""
from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from releasegate.loadtest import spending
from releasegate.loadtest.sequential import look_seconds, planned_boundaries
from releasegate.loadtest.spending import Boundary, normal_sf, spent, two_sided_confidence


def test_the_recursion_reproduces_published_obrien_fleming_type_boundaries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lan-DeMets O'Brien-Fleming-type spending, 5 equally spaced looks, one-sided 0.025: the textbook
    boundaries (Jennison and Turnbull; gsDesign's sfLDOF) are 4.877, 3.357, 2.680, 2.290, 2.031."""
    z = NormalDist().inv_cdf(1 - 0.025 / 2)
    monkeypatch.setattr(spending, "spent", lambda t, a, g=0.0: 0.0 if t <= 0 else 2 - 2 * NormalDist().cdf(z / math.sqrt(t)))
    b = Boundary(0.025)
    got = [b.next(k / 5, last=k == 5) for k in range(1, 6)]
    assert got == pytest.approx([4.8769, 3.3569, 2.6803, 2.2898, 2.0310], abs=2e-3)


def _crossing_rate(fractions: list[float], bounds: list[float], paths: int = 200_000) -> float:
    """Monte Carlo: the share of Brownian paths whose standardized value crosses any bound."""
    rng = np.random.default_rng(7)
    steps = np.diff([0.0, *fractions])
    w = np.cumsum(rng.standard_normal((paths, len(fractions))) * np.sqrt(steps), axis=1)
    return float(np.mean(np.any(w / np.sqrt(fractions) > np.array(bounds), axis=1)))


def test_the_gate_schedule_keeps_its_error_rate_over_every_look() -> None:
    looks = look_seconds(8.0, 90.0, 0.5)
    bounds = planned_boundaries(looks, 0.025)
    rate = _crossing_rate([s / looks[-1] for s in looks], bounds)
    assert rate == pytest.approx(0.025, abs=0.0015)  # 4 standard errors of the simulation
    # the same 11 looks each at 95 % would have crossed far more often
    assert _crossing_rate([s / looks[-1] for s in looks], [1.96] * len(looks)) > 0.09  # about 0.105
    # stricter than equal shares at the first look, much wider-reaching at the cap
    bonferroni = NormalDist().inv_cdf(1 - 0.025 / len(looks))
    assert bounds[0] > bonferroni > 2.5 > bounds[-1] > 1.96


def test_looks_that_come_late_or_are_skipped_still_keep_the_error_rate() -> None:
    b = Boundary(0.025)
    fractions = [0.1, 0.35, 0.5, 0.93]  # planned 0.09, 0.12, ... : looks skipped, the cap not reached
    bounds = [b.next(t, last=i == len(fractions) - 1) for i, t in enumerate(fractions)]
    assert b.fractions[-1] == 1.0  # the last look spends what is left, whatever its fraction
    assert _crossing_rate([0.1, 0.35, 0.5, 1.0], bounds) == pytest.approx(0.025, abs=0.0015)


def test_the_first_look_spends_exactly_its_share() -> None:
    b = Boundary(0.025)
    z = b.next(0.2)
    assert float(normal_sf(np.array([z]))[0]) == pytest.approx(spent(0.2, 0.025), rel=1e-6)
    assert spent(1.0, 0.025) == pytest.approx(0.025) and spent(0.0, 0.025) == 0.0
    assert spent(0.5, 0.025, gamma=0.0) == pytest.approx(0.0125)


def test_no_more_information_spends_nothing() -> None:
    b = Boundary(0.025)
    b.next(1.0, last=True)
    assert b.next(1.0) == math.inf and two_sided_confidence(math.inf) == 1.0


def test_the_normal_tail_is_accurate_enough() -> None:
    xs = np.array([-4.0, -1.0, 0.0, 0.5, 1.96, 3.0, 5.0])
    want = [1.0 - NormalDist().cdf(x) for x in xs]
    assert normal_sf(xs) == pytest.approx(want, rel=2e-7, abs=1e-12)
    assert two_sided_confidence(1.959964) == pytest.approx(0.95, abs=1e-6)


def test_alpha_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="alpha"):
        Boundary(0.0)
