"""The schedule: interleaved points, open-loop rates from capacity, SLO search, budget — with a fake locust."""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from releasegate.loadtest import measure
from releasegate.loadtest.driver import Phase, PhaseData, PhaseSetup
from releasegate.loadtest.profiles import BUILTIN, SloSearch
from releasegate.loadtest.telemetry import GeneratorStats, GpuInfo, GpuStats

SERVICE_MS = {"baseline": 10.0, "candidate": 12.0}


class FakeSession:
    exclusive = False
    warm_throughput = {"baseline": 100.0, "candidate": 80.0}

    def __init__(self, sides: tuple[str, ...] = ("baseline", "candidate")) -> None:
        self.specs = {s: object() for s in sides}

    def server(self, side: str) -> Any:
        return side


def fake_run_phase(phase: Phase, servers: Any, setup: Any, units: int = 10, spread: float = 0.0,
                   per_unit: int = 10) -> dict[str, PhaseData]:
    """Each side: latency = users x service time (a saturated single queue, ``spread`` log-sd), ``per_unit`` requests a unit."""
    out = {}
    rng = np.random.default_rng(units)
    for side in phase.sides:
        latency = SERVICE_MS[side] * (phase.users if phase.mode == "closed" else 1.5)
        n = per_unit * units
        out[side] = PhaseData(phase, side, np.arange(n, dtype=float), latency * rng.lognormal(0, spread, n),
                              np.full(n, 200), np.arange(n) % units, np.full(units, 0.5),
                              GeneratorStats(1, 20.0, 30.0, False), GpuStats(False), None)
    return out


def fake_sequential(phase: Phase, looker: Any) -> dict[str, PhaseData]:
    """What the driver does with a looker: data of the slots so far at each look, until decided."""
    data: dict[str, PhaseData] = {}
    while (seconds := looker.next_look()) is not None and seconds < phase.measure:
        data = fake_run_phase(phase, None, None, units=int(seconds / (2 * phase.slot)), spread=0.05, per_unit=100)
        if looker.look(seconds, seconds, data):
            return data
    data = fake_run_phase(phase, None, None, units=int(phase.measure / (2 * phase.slot)), spread=0.05, per_unit=100)
    looker.look(phase.measure, phase.measure, data)
    return data


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[Phase]:
    seen: list[Phase] = []

    def run(phase: Phase, servers: Any, setup: Any, looker: Any = None) -> dict[str, PhaseData]:
        seen.append(phase)
        return fake_sequential(phase, looker) if looker else fake_run_phase(phase, servers, setup)

    monkeypatch.setattr(measure, "run_phase", run)
    return seen


def _scheduler(profile: Any, slo: dict[str, float] | None = None, sides: tuple[str, ...] = ("baseline", "candidate"),
               deadline: float = float("inf")) -> measure.Scheduler:
    setup = PhaseSetup(Path("."), {}, 1, 10.0, 90.0, GpuInfo(False))
    return measure.Scheduler(FakeSession(sides), setup, profile, slo or {}, deadline, lambda m: None)  # type: ignore[arg-type]


def test_each_point_is_one_interleaved_abba_phase(calls: list[Phase]) -> None:
    m = _scheduler(BUILTIN["smoke"]).run()
    assert [p.id for p in m.points] == ["c1", "c4"]
    assert [c.pattern for c in calls] == [("baseline", "candidate", "candidate", "baseline")] * 2
    assert m.paired and len(m.phases) == 4


def test_open_loop_rates_follow_the_baselines_capacity(calls: list[Phase]) -> None:
    profile = replace(BUILTIN["smoke"], concurrency=(1,), arrival_rate_fractions=(0.5,))
    m = _scheduler(profile).run()
    open_point = m.points[-1]
    assert open_point.mode == "open"
    # baseline at c1: 100 requests over 10 x 0.5 s = 20 req/s
    assert m.capacity == pytest.approx(20.0) and open_point.rate == pytest.approx(10.0)
    assert open_point.users >= measure.MIN_OPEN_USERS


def test_slo_search_bisects_each_side(calls: list[Phase]) -> None:
    profile = replace(BUILTIN["smoke"], concurrency=(1, 8), slo_search=SloSearch(True, 64, 3))
    m = _scheduler(profile, {"p95LatencyMs": 50}).run()
    searched = {side: [d.phase.users for d in m.search[side]] for side in ("baseline", "candidate")}
    # baseline meets 50 ms up to 5 users (10 ms each), candidate up to 4 (12 ms each)
    assert searched["baseline"] == [4, 6, 5]
    assert searched["candidate"] == [4, 6, 5]
    assert all(c.pattern in (("baseline",), ("candidate",)) for c in calls if c.kind == "search")


def test_new_model_measures_the_candidate_alone(calls: list[Phase]) -> None:
    m = _scheduler(BUILTIN["smoke"], sides=("candidate",)).run()
    assert all(c.pattern == ("candidate",) for c in calls) and not m.paired


def test_budget_stops_before_a_phase_that_would_not_fit(calls: list[Phase]) -> None:
    m = _scheduler(BUILTIN["smoke"], deadline=time.monotonic() + 1.0).run()
    assert calls == [] and m.points == []
    assert "time budget exhausted" in m.warnings[0]


def test_slots_grow_with_the_expected_latency() -> None:
    s = _scheduler(BUILTIN["smoke"])
    short = s.slot_for(measure.LoadPoint("c1", "closed", 1), 10.0)
    long = s.slot_for(measure.LoadPoint("c64", "closed", 64), 10.0)
    assert short == BUILTIN["smoke"].slot_seconds and long == pytest.approx(10.0 / measure.MIN_SLOTS)


def test_a_sequential_point_stops_at_the_look_that_decides(calls: list[Phase]) -> None:
    """A candidate 20 % slower than the baseline (limits +10 % p95): a regression at an early look."""
    m = _scheduler(BUILTIN["gate"]).run()
    assert len(calls) == 1 and calls[0].measure == BUILTIN["gate"].max_phase_seconds
    decision = m.decisions["c2"]
    assert 1 <= len(decision.looks) < 4 and decision.failed() == "p95 latency"
    assert decision.to_dict()["timeToDecision"]["p95 latency"]["verdict"] == "regression"


def test_a_sequential_point_caps_itself_at_the_deadline(calls: list[Phase]) -> None:
    m = _scheduler(BUILTIN["gate"], deadline=time.monotonic() + 30.0).run()
    assert calls[0].measure < 30.0 and m.decisions["c2"].cap_seconds == calls[0].measure
