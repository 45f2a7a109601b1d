"""Cutting a locust run into measured slots, and the locust command line."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from releasegate.loadtest.driver import Phase, locust_argv, locust_processes, read_rows, split
from releasegate.loadtest.telemetry import GeneratorStats, GpuInfo, GpuSampler

GEN = GeneratorStats(1, 30.0, 50.0, False)
PATTERN = ("baseline", "candidate", "candidate", "baseline")


def _phase(**kw: object) -> Phase:
    base = dict(index=0, point="c1", mode="closed", users=1, rate=None, ramp=0.0, measure=4.0, slot=1.0,
                settle=0.0, pattern=PATTERN)
    base.update(kw)
    return Phase(**base)  # type: ignore[arg-type]


def _rows(latency: float = 0.05, start: float = 1000.0, seconds: float = 5.0) -> np.ndarray:
    """A single closed-loop user: back-to-back requests, side by slot (sorted names: baseline=0, candidate=1)."""
    rows, t = [], start
    phase = _phase()
    while t < start + seconds:
        side = ["baseline", "candidate"].index(phase.side_at(t))
        rows.append((t, t, latency, 200, side))
        t += latency
    return np.array(rows)


def test_interleaved_phase_splits_into_paired_units() -> None:
    rows = _rows()
    data = split(_phase(), rows, GEN, GpuSampler(GpuInfo(False, reason="none")), {}, Path("."))
    assert set(data) == {"baseline", "candidate"}
    for d in data.values():
        assert d.units == 2  # 4 complete slots = 2 pairs
        assert np.all(np.isin(d.unit, [0, 1]))
        assert 0.9 < d.unit_seconds.min() <= 1.0
        assert d.throughput == pyapprox(20.0)
        assert not d.gpu.available and d.gpu.reason == "none"


def pyapprox(x: float) -> object:
    import pytest

    return pytest.approx(x, rel=0.1)


def test_a_slot_is_measured_only_after_the_other_side_drained() -> None:
    rows = _rows()
    # The last baseline request before t=1001 (slot 1 is the candidate's) takes 0.3 s longer.
    last = np.where((rows[:, 4] == 0) & (rows[:, 0] < 1001.0))[0][-1]
    rows[last, 2] = 0.35
    data = split(_phase(), rows, GEN, GpuSampler(GpuInfo(False)), {}, Path("."))
    cand = data["candidate"]
    done = rows[last, 0] + 0.35
    first_slot = cand.intended[cand.unit == 0]
    assert first_slot.min() >= done
    assert cand.unit_seconds[0] < 1.0 - 0.25


def test_single_side_phase_uses_slots_as_units() -> None:
    rows = _rows()
    rows[:, 4] = 0
    data = split(_phase(pattern=("candidate",)), rows, GEN, GpuSampler(GpuInfo(False)), {}, Path("."))
    assert data["candidate"].units == 4


def test_read_rows_merges_process_files(tmp_path: Path) -> None:
    (tmp_path / "lat-1.csv").write_text("2.0,2.0,0.1,200,0\n")
    (tmp_path / "lat-2.csv").write_text("1.0,1.0,0.1,500,1\n")
    rows = read_rows(tmp_path)
    assert rows[:, 0].tolist() == [1.0, 2.0] and rows[0, 3] == 500
    assert read_rows(tmp_path / "empty").shape == (0, 5)


def test_locust_command_line() -> None:
    argv = locust_argv(_phase(users=64), processes=4)
    assert argv[1:3] == ["-m", "locust"] and "--headless" in argv
    assert argv[argv.index("-u") + 1] == "64" and argv[argv.index("--processes") + 1] == "4"
    assert "--processes" not in locust_argv(_phase(), processes=1)
    assert locust_processes(16) == 8 and locust_processes(2) == 1 and locust_processes(64) == 8
