"""The measurement schedule: one interleaved phase per load point, then the SLO search.

At each load point one locust run drives both servers, which take turns in slots of
``slotSeconds`` in the order A B B A A B B A ... (A = baseline, B = candidate), so noise
on the machine (heat, clocks, other jobs) hits both sides alike and the comparison is
paired slot by slot. Closed-loop points come first; their best throughput (the
baseline's, or the candidate's for a new model) sets the open-loop arrival rates given
as ``arrivalRateFractions``. The SLO search then bisects each side's concurrency between
the highest level that met the SLO and the lowest that did not.

Exclusive sides (two external runtimes on the same fixed port) cannot run at once:
each point is then ``rounds`` ABBA sequences of single-side phases, with a restart
and warm-up at every switch.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from releasegate.loadtest.driver import Phase, PhaseData, PhaseSetup, run_phase
from releasegate.loadtest.profiles import Profile
from releasegate.loadtest.sequential import PointDecision, PointLooker, look_seconds
from releasegate.loadtest.session import BASELINE, CANDIDATE, Session
from releasegate.loadtest.verdict import DEFAULT_LIMITS, SLO_LATENCY

OPEN_LOOP_USER_SECONDS = 1.0
SLOT_LATENCIES = 8  # a slot lasts at least this many expected request latencies
MIN_SLOTS = 8  # ... and a phase holds at least this many slots
MIN_OPEN_USERS = 8
PROBE_CONCURRENCY = 32
SEQUENTIAL_OVERHEAD_SECONDS = 10.0  # locust start and stop, the last look, the analysis


@dataclass(frozen=True)
class LoadPoint:
    """One level of load: closed (``users`` concurrent clients) or open (``rate`` req/s)."""

    id: str
    mode: str
    users: int
    rate: float | None = None

    def describe(self) -> str:
        if self.mode == "closed":
            return f"{self.users} concurrent user" + ("s" if self.users != 1 else "")
        return f"{self.rate:.1f} req/s open loop"


@dataclass
class Measurement:
    """Everything measured for one release."""

    points: list[LoadPoint] = field(default_factory=list)
    phases: list[PhaseData] = field(default_factory=list)
    search: dict[str, list[PhaseData]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    capacity: float | None = None
    paired: bool = False
    runs: int = 0
    decisions: dict[str, PointDecision] = field(default_factory=dict)  # point id -> looks (sequential points)


class Scheduler:
    """Runs the phases of one release, within a deadline."""

    def __init__(
        self, session: Session, setup: PhaseSetup, profile: Profile, slo: Mapping[str, float],
        deadline: float, progress: Callable[[str], None], limits: Mapping[str, float] | None = None,
    ) -> None:
        self.limits = limits or DEFAULT_LIMITS
        self.session = session
        self.setup = setup
        self.profile = profile
        self.slo = slo
        self.deadline = deadline
        self.progress = progress
        self.sides = [s for s in (BASELINE, CANDIDATE) if s in session.specs]
        self.result = Measurement(paired=len(self.sides) == 2 and not session.exclusive)
        self.planned = profile.load_points

    def _out_of_time(self, seconds: float) -> bool:
        if time.monotonic() + seconds <= self.deadline:
            return False
        self.result.warnings.append(
            f"time budget exhausted after {self.result.runs} locust run(s); the remaining load points "
            "or search steps were not run (raise --budget-seconds)"
        )
        return True

    def _capacity_seen(self) -> float:
        return max((d.throughput for d in self.result.phases if d.phase.mode == "closed"), default=0.0)

    def slot_for(self, point: LoadPoint, measure: float) -> float:
        """The profile's slot, lengthened so a slot holds :data:`SLOT_LATENCIES` expected latencies.

        Expected latency: a single request's from the warm-up (``single``), at least;
        for a closed loop of ``users``, ``users / capacity`` (Little's law) once a closed
        point measured the capacity, ``users x single`` before; for an open loop,
        ``1 / (capacity - rate)`` (a single queue). Draining the other side's requests
        then takes a small part of each slot.
        """
        warm = [t for t in self.session.warm_throughput.values() if t > 0]
        single = 1.0 / min(warm) if warm else 0.0
        capacity = self._capacity_seen()
        if point.mode == "closed":
            latency = max(single, point.users / capacity if capacity > 0 else point.users * single)
        else:
            cap = capacity or (1.0 / single if single else 0.0)
            latency = 1.0 / max(cap - (point.rate or 0.0), 0.05 * cap) if cap > 0 else 0.0
        slot = max(self.profile.slot_seconds, SLOT_LATENCIES * latency)
        return round(min(slot, max(self.profile.slot_seconds, measure / MIN_SLOTS)), 3)

    def _run(self, point: LoadPoint, pattern: tuple[str, ...], measure: float, kind: str, rnd: int = 0,
             looker: PointLooker | None = None, slot: float | None = None) -> dict[str, PhaseData]:
        p = self.profile
        phase = Phase(self.result.runs, point.id, point.mode, point.users, point.rate, p.ramp_seconds, measure,
                      slot or self.slot_for(point, measure), p.settle_seconds, pattern, rnd, kind)
        servers = {side: self.session.server(side) for side in phase.sides}
        self.result.runs += 1
        what = " vs ".join(phase.sides) if phase.interleaved else phase.sides[0]
        how = f"until decided, at most {measure:g} s" if looker else f"for {measure:g} s"
        self.progress(f"{kind} {point.id}: {what} at {point.describe()} {how} (slots of {phase.slot:g} s)")
        data = run_phase(phase, servers, self.setup, looker)
        self._check_slots(phase, data)
        for side, d in sorted(data.items()):
            self.progress(f"  {side:<9} {d.count:>7} requests {d.throughput:>9.1f} req/s  p50 {_p(d, 50):8.2f} ms"
                          f"  p95 {_p(d, 95):8.2f} ms  errors {d.errors}"
                          + ("  [generator saturated]" if d.generator.saturated else ""))
        return data

    def _check_slots(self, phase: Phase, data: dict[str, PhaseData]) -> None:
        """Warn when most of the slots went to draining the other side (latency ≫ slot)."""
        if not phase.interleaved:
            return
        for side, d in data.items():
            if d.units and d.duration < 0.5 * d.units * phase.slot:
                self.result.warnings.append(
                    f"{phase.point}: {side} was measured in only {d.duration / (d.units * phase.slot):.0%} of its "
                    f"slots (requests take long to drain compared with {phase.slot:g} s slots); raise slotSeconds "
                    "or phaseSeconds for tighter intervals"
                )

    def run(self) -> Measurement:
        closed = [LoadPoint(f"c{c}", "closed", c) for c in self.profile.concurrency]
        if self._points(closed):
            if self._points(self._open_points()) and self.profile.slo_search.enabled:
                self._slo_search()
        return self.result

    def _points(self, points: list[LoadPoint]) -> bool:
        p = self.profile
        for point in points:
            if self._out_of_time(p.ramp_seconds + p.phase_seconds + 2.0):
                return False
            self.result.points.append(point)
            if self.session.exclusive:
                self._exclusive(point)
                continue
            if p.sequential and len(self.sides) == 2:
                self._sequential(point)
                continue
            pattern = (BASELINE, CANDIDATE, CANDIDATE, BASELINE) if len(self.sides) == 2 else (CANDIDATE,)
            self.result.phases.extend(self._run(point, pattern, p.phase_seconds, "compare").values())
        return True

    def _sequential(self, point: LoadPoint) -> None:
        """Alternate the sides at ``point`` until every metric is decided, the cap or the deadline."""
        p = self.profile
        room = self.deadline - time.monotonic() - p.ramp_seconds - SEQUENTIAL_OVERHEAD_SECONDS
        cap = max(p.phase_seconds, min(p.max_phase_seconds, room))
        slot = self.slot_for(point, cap)  # a side far slower than slotSeconds gets longer slots
        decision = PointDecision(point.id, cap)
        looker = PointLooker(decision, look_seconds(p.phase_seconds, cap, 2 * slot), self.limits, point.mode == "closed",
                             p.confidence, p.load_points, p.bootstrap_replicates, len(self.result.points), self.progress)
        self.result.decisions[point.id] = decision
        pattern = (BASELINE, CANDIDATE, CANDIDATE, BASELINE)
        self.result.phases.extend(self._run(point, pattern, cap, "compare", looker=looker, slot=slot).values())

    def _exclusive(self, point: LoadPoint) -> None:
        p = self.profile
        measure = max(2 * p.slot_seconds, p.phase_seconds / (2 * p.rounds))
        for rnd in range(p.rounds):
            for side in (self.sides if rnd % 2 == 0 else self.sides[::-1]):
                self.result.phases.extend(self._run(point, (side,), measure, "compare", rnd).values())

    def _open_points(self) -> list[LoadPoint]:
        rates = list(self.profile.arrival_rates)
        if self.profile.arrival_rate_fractions:
            capacity = self._capacity()
            self.result.capacity = capacity
            rates += [f * capacity for f in self.profile.arrival_rate_fractions if capacity > 0]
        return [LoadPoint(f"r{rate:.0f}" if rate >= 10 else f"r{rate:.2g}", "open", self._open_users(rate), rate)
                for rate in rates]

    def _open_users(self, rate: float) -> int:
        return int(min(self.profile.max_users, max(MIN_OPEN_USERS, math.ceil(rate * OPEN_LOOP_USER_SECONDS))))

    def _capacity(self) -> float:
        reference = self.sides[0]
        closed = [d for d in self.result.phases if d.side == reference and d.phase.mode == "closed"]
        if not closed and not self._out_of_time(self.profile.phase_seconds):
            probe = LoadPoint(f"c{PROBE_CONCURRENCY}", "closed", PROBE_CONCURRENCY)
            closed = list(self._run(probe, (reference,), self.profile.phase_seconds / 2, "probe").values())
            self.result.search.setdefault("probe", []).extend(closed)
        by_point: dict[str, list[float]] = {}
        for d in closed:
            by_point.setdefault(d.phase.point, []).append(d.throughput)
        return max((float(np.mean(v)) for v in by_point.values()), default=0.0)

    def _slo_search(self) -> None:
        if not any(k in self.slo for k, _ in SLO_LATENCY):
            return
        bounds = {side: self._bounds(side) for side in self.sides}
        measure = max(2 * self.profile.slot_seconds, self.profile.phase_seconds / 2)
        for _ in range(self.profile.slo_search.steps):
            for side in self.sides:
                low, high = bounds[side]
                nxt = _next_level(low, high, self.profile.slo_search.max_concurrency)
                if nxt is None or self._out_of_time(measure + self.profile.ramp_seconds + 2.0):
                    continue
                data = self._run(LoadPoint(f"s{nxt}", "closed", nxt), (side,), measure, "search")[side]
                self.result.search.setdefault(side, []).append(data)
                bounds[side] = (nxt, high) if _meets(data, self.slo) else (low, nxt)

    def _bounds(self, side: str) -> tuple[int | None, int | None]:
        low, high = None, None
        for d in self.result.phases:
            if d.side != side or d.phase.mode != "closed":
                continue
            if _meets(d, self.slo):
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
