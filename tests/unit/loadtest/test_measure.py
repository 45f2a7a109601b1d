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


def fake_run_phase(phase: Phase, servers: Any, setup: Any) -> dict[str, PhaseData]:
    """Each side: latency = users x service time (a saturated single queue), 100 requests."""
    out = {}
    for side in phase.sides:
        latency = SERVICE_MS[side] * (phase.users if phase.mode == "closed" else 1.5)
        n = 100
        out[side] = PhaseData(phase, side, np.arange(n, dtype=float), np.full(n, latency), np.full(n, 200),
                              np.arange(n) % 10, np.full(10, 0.5), GeneratorStats(1, 20.0, 30.0, False),
                              GpuStats(False), None)
    return out


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[Phase]:
    seen: list[Phase] = []

    def run(phase: Phase, servers: Any, setup: Any) -> dict[str, PhaseData]:
        seen.append(phase)
        return fake_run_phase(phase, servers, setup)

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
