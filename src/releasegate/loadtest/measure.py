"""The measurement schedule: interleaved phases for each load point, then the SLO search.

For every load point the sides alternate in ABBA order (round 0: baseline, candidate;
round 1: candidate, baseline; ...), so slow drifts of the machine (heat, clocks, other
jobs) hit both sides alike. Closed-loop points come first; their best throughput
(the baseline's, or the candidate's for a new model) sets the open-loop arrival rates
given as ``arrivalRateFractions``. The SLO search then bisects each side's
concurrency between the highest level that met the SLO and the lowest that did not.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from releasegate.loadtest.driver import Phase, PhaseData, PhaseSetup, run_phase
from releasegate.loadtest.profiles import Profile
from releasegate.loadtest.session import BASELINE, CANDIDATE, Session
from releasegate.loadtest.verdict import SLO_LATENCY

OPEN_LOOP_USER_SECONDS = 1.0
MIN_OPEN_USERS = 8
PROBE_CONCURRENCY = 32


@dataclass(frozen=True)
class LoadPoint:
    """One level of load: closed (``users`` concurrent clients) or open (``rate`` req/s)."""

    id: str
    mode: str
    users: int
    rate: float | None = None

    def describe(self) -> str:
        return f"{self.users} concurrent" if self.mode == "closed" else f"{self.rate:.1f} req/s open loop"


@dataclass
class Measurement:
    """Everything measured for one release."""

    points: list[LoadPoint] = field(default_factory=list)
    phases: list[PhaseData] = field(default_factory=list)
    search: dict[str, list[PhaseData]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    capacity: float | None = None


class Scheduler:
    """Runs the phases of one release, within a deadline."""

    def __init__(
        self, session: Session, setup: PhaseSetup, profile: Profile, slo: Mapping[str, float],
        deadline: float, progress: Callable[[str], None],
    ) -> None:
        self.session = session
        self.slo = slo
        self.setup = setup
        self.profile = profile
        self.deadline = deadline
        self.progress = progress
        self.sides = [s for s in (BASELINE, CANDIDATE) if s in session.specs]
        self.result = Measurement()
        self.planned = profile.load_points * profile.rounds * len(self.sides)

    def _out_of_time(self) -> bool:
        per_phase = self.profile.ramp_seconds + self.profile.phase_seconds + 1.0
        if time.monotonic() + per_phase > self.deadline:
            self.result.warnings.append(
                f"time budget exhausted after {len(self.result.phases)} of {self.planned} planned phases; "
                "the rest were not run (raise --budget-seconds)"
            )
            return True
        return False

    def _phase(self, side: str, point: LoadPoint, rnd: int, kind: str = "compare") -> PhaseData:
        index = len(self.result.phases) + sum(len(v) for v in self.result.search.values())
        phase = Phase(index, side, point.id, point.mode, point.users, point.rate,
                      self.profile.ramp_seconds, self.profile.phase_seconds, rnd, kind)
        server = self.session.server(side)
        self.progress(f"phase {index + 1}/{self.planned}: {side} at {point.describe()}, round {rnd + 1}")
        data = run_phase(phase, server, self.setup)
        self.progress(
            f"  {data.count} requests, {data.throughput:.1f} req/s, p95 "
            f"{_p(data, 95):.2f} ms, errors {data.errors}" + (" [generator saturated]" if data.generator.saturated else "")
        )
        return data

    def run(self) -> Measurement:
        closed = [LoadPoint(f"c{c}", "closed", c) for c in self.profile.concurrency]
        if not self._points(closed):
            return self.result
        self._points(self._open_points())
        if self.profile.slo_search.enabled:
            self._slo_search()
        return self.result

    def _points(self, points: list[LoadPoint]) -> bool:
        for point in points:
            self.result.points.append(point)
            for rnd in range(self.profile.rounds):
                order = self.sides if rnd % 2 == 0 else self.sides[::-1]
                for side in order:
                    if self._out_of_time():
                        return False
                    self.result.phases.append(self._phase(side, point, rnd))
        return True

    def _open_points(self) -> list[LoadPoint]:
        rates = list(self.profile.arrival_rates)
        if self.profile.arrival_rate_fractions:
            capacity = self._capacity()
            self.result.capacity = capacity
            rates += [f * capacity for f in self.profile.arrival_rate_fractions if capacity > 0]
        return [LoadPoint(f"r{rate:.0f}" if rate >= 10 else f"r{rate:.2g}", "open", self._open_users(rate), rate) for rate in rates]

    def _open_users(self, rate: float) -> int:
        return int(min(self.profile.max_users, max(MIN_OPEN_USERS, math.ceil(rate * OPEN_LOOP_USER_SECONDS))))

    def _capacity(self) -> float:
        reference = self.sides[0]
        closed = [d for d in self.result.phases if d.phase.side == reference and d.phase.mode == "closed"]
        if not closed and not self._out_of_time():
            probe = LoadPoint(f"c{PROBE_CONCURRENCY}", "closed", PROBE_CONCURRENCY)
            closed = [self._phase(reference, probe, 0, "probe")]
            self.result.search.setdefault("probe", []).extend(closed)
        by_point: dict[str, list[float]] = {}
        for d in closed:
            by_point.setdefault(d.phase.point, []).append(d.throughput)
        return max((float(np.mean(v)) for v in by_point.values()), default=0.0)

    def _slo_search(self) -> None:
        slo = self.slo
        if not any(k in slo for k, _ in SLO_LATENCY):
            return
        bounds = {side: self._bounds(side, slo) for side in self.sides}
        for _ in range(self.profile.slo_search.steps):
            for side in self.sides:
                low, high = bounds[side]
                nxt = _next_level(low, high, self.profile.slo_search.max_concurrency)
                if nxt is None or self._out_of_time():
                    continue
                data = self._phase(side, LoadPoint(f"s{nxt}", "closed", nxt), 0, "search")
                self.result.search.setdefault(side, []).append(data)
                ok = _meets(data, slo)
                bounds[side] = (nxt, high) if ok else (low, nxt)

    def _bounds(self, side: str, slo: Mapping[str, float]) -> tuple[int | None, int | None]:
        low, high = None, None
        for d in self.result.phases:
            if d.phase.side != side or d.phase.mode != "closed":
                continue
            if _meets(d, slo):
                low = max(low or 0, d.phase.users)
            else:
                high = min(high or 1 << 30, d.phase.users)
        if low is not None and high is not None and high < low:
            high = None
        return low, high


def _next_level(low: int | None, high: int | None, cap: int) -> int | None:
    if low is None:
        return None  # even the lightest load misses the SLO: nothing to search
    if high is None:
        nxt = min(cap, low * 2)
        return nxt if nxt > low else None
    mid = (low + high) // 2
    return mid if low < mid < high else None


def _p(data: PhaseData, q: float) -> float:
    good = data.latency_ms[data.ok]
    return float(np.percentile(good, q)) if good.size else float("nan")


def _meets(data: PhaseData, slo: Mapping[str, float]) -> bool:
    return all(_p(data, q) <= float(slo[key]) for key, q in SLO_LATENCY if key in slo)
