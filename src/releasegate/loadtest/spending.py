"""Group-sequential boundaries by alpha spending (Lan-DeMets), computed for the looks as they happen.

A metric is looked at K times as its measurement grows. Its standardized estimate
``Z_k`` at information fraction ``t_k`` (the share of the planned slot pairs measured
by look k) behaves like ``W(t_k) / sqrt(t_k)`` for a Brownian motion ``W``: the looks
share their data, so they are correlated, and their increments are independent -- the
same assumption that lets the block bootstrap treat slot pairs as independent units.
A one-sided boundary ``c_1 .. c_K`` keeps the chance that *any* look crosses it, when
the true change sits exactly on the limit, at ``alpha``: look k may spend the part of
``alpha`` that the spending function has released between ``t_{k-1}`` and ``t_k``.

The spending function is Hwang, Shih and DeCani's with ``gamma = -2``: early looks
spend little (a boundary near 3.2 for the first, stricter than equal shares' 2.84
over 11 looks), late ones more (near 2.2 at the cap), because a harmless candidate
is only decided once enough tail samples have been measured while a clearly slow
one crosses even a strict early boundary. Each boundary is computed when its look
happens, from the fractions actually reached (Lan and DeMets), by the recursive
numerical integration of Armitage, McPherson and Rowe on a grid: a few milliseconds
per look.
"""
from __future__ import annotations

import math

import numpy as np

GAMMA = -2.0
GRID = 801  # points of the continuation region's density
_LOW = -10.0  # the density is cut at this many standard deviations below zero


def spent(t: float, alpha: float, gamma: float = GAMMA) -> float:
    """Alpha released by information fraction ``t`` (Hwang-Shih-DeCani; ``gamma`` 0 is linear)."""
    t = min(max(t, 0.0), 1.0)
    if abs(gamma) < 1e-9:
        return alpha * t
    return alpha * (1.0 - math.exp(-gamma * t)) / (1.0 - math.exp(-gamma))


def normal_sf(x: np.ndarray) -> np.ndarray:
    """Upper tail of the standard normal, vectorized.

    numpy has no erfc and scipy is not a dependency: this is the Chebyshev-fitted
    complementary error function of Numerical Recipes (``erfcc``, fractional error below
    1.2e-7 everywhere).
    """
    z = np.abs(x) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))))
    erfc = t * np.exp(poly)
    return np.where(x >= 0, 0.5 * erfc, 1.0 - 0.5 * erfc)


class Boundary:
    """One-sided boundaries of one metric's looks, each computed when its look happens.

    ``next(t)`` answers the critical value (a standard-normal quantile) for a look at
    information fraction ``t``; ``last=True`` spends whatever is left of ``alpha``.
    """

    def __init__(self, alpha: float, gamma: float = GAMMA) -> None:
        if not 0.0 < alpha < 0.5:
            raise ValueError(f"one-sided alpha must be in (0, 0.5), not {alpha}")
        self.alpha, self.gamma = alpha, gamma
        self.fractions: list[float] = []
        self.values: list[float] = []
        self._grid: np.ndarray | None = None  # W values below the last boundary
        self._density: np.ndarray | None = None  # their density (mass of not having crossed yet)

    @property
    def spent_all(self) -> bool:
        """Whether the last look has been made: all of ``alpha`` is spent."""
        return bool(self.fractions) and self.fractions[-1] >= 1.0

    def next(self, t: float, last: bool = False) -> float:
        prev = self.fractions[-1] if self.fractions else 0.0
        t = 1.0 if last else min(1.0, max(t, prev + 1e-6))
        if t <= prev:  # the information did not grow (a look after the last one): nothing left to spend
            return math.inf
        share = (self.alpha if last else spent(t, self.alpha, self.gamma)) - spent(prev, self.alpha, self.gamma)
        if share <= 0.0:
            return math.inf
        w = self._boundary(t, t - prev, share)
        self.fractions.append(t)
        self.values.append(w / math.sqrt(t))
        return self.values[-1]

    def _boundary(self, t: float, step: float, share: float) -> float:
        """The W value at ``t`` above which exactly ``share`` of the paths first cross; updates the density."""
        sd = math.sqrt(step)
        if self._grid is None or self._density is None:
            w = sd * _quantile_upper(share)
        else:
            grid, dens = self._grid, self._density
            weights = _trapezoid(grid)

            def crossing(b: float) -> float:
                return float(np.sum(weights * dens * normal_sf((b - grid) / sd)))

            lo, hi = float(grid[-1]) - 8.0 * sd, float(grid[-1]) + 12.0 * sd + 10.0 * math.sqrt(t)
            if crossing(hi) > share:  # cannot happen for a sane share; keep the strictest boundary
                return hi
            for _ in range(70):
                mid = (lo + hi) / 2.0
                lo, hi = (mid, hi) if crossing(mid) > share else (lo, mid)
            w = (lo + hi) / 2.0
        self._propagate(t, step, w)
        return w

    def _propagate(self, t: float, step: float, w: float) -> None:
        """The density at ``t`` of the paths that have not crossed, on a grid below ``w``."""
        new = np.linspace(_LOW * math.sqrt(t), w, GRID)
        if self._grid is None or self._density is None:
            dens = np.exp(-new**2 / (2.0 * t)) / math.sqrt(2.0 * math.pi * t)
        else:
            grid, old = self._grid, self._density
            kernel = np.exp(-((new[:, None] - grid[None, :]) ** 2) / (2.0 * step)) / math.sqrt(2.0 * math.pi * step)
            dens = kernel @ (old * _trapezoid(grid))
        self._grid, self._density = new, dens


def _trapezoid(grid: np.ndarray) -> np.ndarray:
    """Trapezoid-rule weights of an evenly spaced grid."""
    w = np.full(grid.size, grid[1] - grid[0])
    w[0] = w[-1] = w[0] / 2.0
    return w


def _quantile_upper(p: float) -> float:
    """x with P(Z > x) = p."""
    from statistics import NormalDist

    return NormalDist().inv_cdf(1.0 - p)


def two_sided_confidence(z: float) -> float:
    """The two-sided confidence whose interval has half-width ``z`` standard errors."""
    if math.isinf(z):
        return 1.0
    return 1.0 - 2.0 * float(normal_sf(np.array([z]))[0])
