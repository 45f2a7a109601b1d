"""Drive one phase of load with locust, and read back every request.

A phase is one headless locust run (``python -m locust -f <shipped locustfile>
--headless -u USERS -r USERS -t SECONDS``), with ``--processes N`` when the runner has
the cores for it (:func:`locust_processes`). Within the phase the sides take turns in
slots of ``slot`` seconds following ``pattern`` (A B B A ...); a phase with one side
in its pattern measures that side alone.

Only *complete* slots after the ramp count, and a slot's measurement starts only when
the other side's requests of the previous slot have all completed (and at least
``settle`` seconds in): the two servers are never measured while both have work.
Requests are grouped into *units* for the bootstrap: a pair of adjacent slots (one
of each side) in an interleaved phase, a single slot otherwise. While locust runs,
this module checks that the servers are alive and how busy the generator is.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from releasegate.loadtest import distributed
from releasegate.loadtest.distributed import Distributed
from releasegate.loadtest.errors import LoadTestError
from releasegate.loadtest.payloads import Payloads
from releasegate.loadtest.procs import Managed, log_tail
from releasegate.loadtest.servers import Server
from releasegate.loadtest.telemetry import CpuSampler, GeneratorStats, GpuInfo, GpuSampler, GpuStats

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
MONITOR_SECONDS = 0.25
STOP_SLACK_SECONDS = 0.6
MAX_PROCESSES = 8


@dataclass(frozen=True)
class Phase:
    """One locust run at one load point."""

    index: int
    point: str  # load point id, e.g. "c4" or "r120"
    mode: str  # "closed" | "open"
    users: int
    rate: float | None
    ramp: float
    measure: float
    slot: float
    settle: float
    pattern: tuple[str, ...]  # sides by slot, e.g. (baseline, candidate, candidate, baseline)
    round: int = 0
    kind: str = "compare"  # "compare" | "search" | "probe"

    @property
    def sides(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.pattern)))

    @property
    def interleaved(self) -> bool:
        return len(self.sides) > 1

    def side_at(self, t: float) -> str:
        return self.pattern[int(math.floor(t / self.slot)) % len(self.pattern)]


@dataclass(frozen=True)
class PhaseData:
    """One side's requests in one phase (those in its measured slots)."""

    phase: Phase
    side: str
    intended: np.ndarray  # wall-clock seconds
    latency_ms: np.ndarray
    status: np.ndarray
    unit: np.ndarray  # bootstrap unit per request (slot pair, or slot), 0-based within the phase
    unit_seconds: np.ndarray  # this side's measured seconds in each unit
    generator: GeneratorStats
    gpu: GpuStats
    lateness_p99_ms: float | None

    @property
    def ok(self) -> np.ndarray:
        return self.status == 200

    @property
    def count(self) -> int:
        return int(self.latency_ms.size)

    @property
    def errors(self) -> int:
        return int(np.count_nonzero(self.status != 200))

    @property
    def units(self) -> int:
        return int(self.unit_seconds.size)

    @property
    def duration(self) -> float:
        return float(self.unit_seconds.sum())

    @property
    def throughput(self) -> float:
        """Successful requests per second of this side's measured time."""
        return float(np.count_nonzero(self.ok)) / self.duration if self.duration > 0 else 0.0


def locust_processes(cpu_count: int | None = None) -> int:
    """Locust worker processes for this runner: half the cores (the servers need the rest), 1..8."""
    cores = cpu_count or os.cpu_count() or 1
    return max(1, min(MAX_PROCESSES, cores // 2))


def locust_argv(phase: Phase, processes: int) -> list[str]:
    """The locust command line of ``phase``."""
    seconds = math.ceil(phase.ramp + phase.measure + 2 * phase.slot + STOP_SLACK_SECONDS)
    argv = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless"]
    argv += ["-u", str(phase.users), "-r", str(phase.users), "-t", f"{seconds}s"]
    argv += ["--only-summary", "--stop-timeout", "1", "--exit-code-on-error", "0", "--loglevel", "WARNING"]
    if processes > 1:
        argv += ["--processes", str(processes)]
    return argv


@dataclass(frozen=True)
class PhaseSetup:
    """What every phase of one gate run shares."""

    work_dir: Path
    payloads: Mapping[str, Payloads]  # side -> request bodies and path
    processes: int
    request_timeout: float
    generator_limit_pct: float
    gpu: GpuInfo
    distributed: Distributed | None = None  # locust master and workers (distributed.py)


def _targets_file(phase: Phase, servers: Mapping[str, Server], setup: PhaseSetup, out: Path) -> Path:
    targets = {
        side: {"url": servers[side].infer_url, "contentType": setup.payloads[side].content_type,
               "bodies": list(setup.payloads[side].bodies)}
        for side in phase.sides
    }
    path = out / "targets.json"
    spec = {"slotSeconds": phase.slot, "pattern": list(phase.pattern), "targets": targets, "mode": phase.mode,
            "rate": phase.rate or 0, "users": phase.users, "timeout": setup.request_timeout}
    path.write_text(json.dumps(spec))  # distributed: the master ships it to its workers
    return path


class Looker(Protocol):
    """Decides, from the data measured so far, whether a sequential phase may stop."""

    def next_look(self) -> float | None:
        """Measured seconds of the next look (None: no more looks before the end)."""

    def look(self, seconds: float, wall: float, data: dict[str, PhaseData]) -> bool:
        """Judge the first ``seconds`` measured; True: decided, stop locust."""


LOOK_MARGIN_SECONDS = 0.75  # after a look's last slot: requests still in flight complete, rows get flushed


def run_phase(phase: Phase, servers: Mapping[str, Server], setup: PhaseSetup,
              looker: Looker | None = None) -> dict[str, PhaseData]:
    """Run ``phase``; its data per side. Raises :class:`LoadTestError` if it cannot be measured.

    With a ``looker`` the phase is sequential: ``phase.measure`` is the cap, and at each of
    the looker's looks the data of the slots measured so far is handed to it; once it
    says decided, locust is stopped and that look's data is the phase's data.
    """
    out = setup.work_dir / "phases" / f"{phase.index:03d}-{phase.point}-{'-'.join(phase.sides)}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    env = {
        "RG_LT_TARGETS": str(_targets_file(phase, servers, setup, out)),
        "RG_LT_OUT": str(out),
        "RG_LT_MODE": phase.mode,
        "RG_LT_RATE": f"{phase.rate or 0:g}",
        "RG_LT_USERS": str(phase.users),
        "RG_LT_TIMEOUT": f"{setup.request_timeout:g}",
    }
    processes = 1 if phase.users < 2 * setup.processes or setup.distributed else setup.processes
    argv = locust_argv(phase, processes)
    d = setup.distributed
    port = distributed.master_port(d) if d else 0
    gpu = GpuSampler(setup.gpu).start()
    locust = Managed(argv + (distributed.master_args(d, port) if d else []), out / "locust.log", env=env, cwd=out)
    workers: list[Managed] = []
    try:
        workers = distributed.start_workers(d, LOCUSTFILE, port, out) if d else []
        pids = {s: servers[s].process.pid for s in phase.sides}
        watch = _Watch(locust, servers, phase, setup, looker, gpu, pids, out)
        generator = watch.run()
    finally:
        locust.stop(grace=2.0)
        for worker in workers:
            worker.stop(grace=2.0)
        gpu.stop()
    if watch.decided is not None:
        return watch.decided
    data = split(phase, read_rows(out), generator, gpu, pids, out)
    if looker is not None:
        looker.look(phase.measure, watch.wall(), data)  # the last look, at the cap
    return data


def _check_servers(servers: Mapping[str, Server], phase: Phase) -> None:
    for side in phase.sides:
        if not servers[side].alive():
            raise servers[side].crash_error(f"during phase {phase.index + 1} (load {phase.point})")


class _Watch:
    """Watches one locust run: servers alive, generator CPU, and the looks of a sequential phase."""

    def __init__(self, locust: Managed, servers: Mapping[str, Server], phase: Phase, setup: PhaseSetup,
                 looker: Looker | None, gpu: GpuSampler, pids: Mapping[str, int], out: Path) -> None:
        self.locust, self.servers, self.phase, self.setup = locust, servers, phase, setup
        self.looker, self.gpu, self.pids, self.out = looker, gpu, pids, out
        self.cpu = CpuSampler(locust.pid)
        self.started = time.monotonic()
        self.decided: dict[str, PhaseData] | None = None
        self.first_report: float | None = None  # distributed: when a worker first reported (wall clock)

    def wall(self) -> float:
        return time.monotonic() - self.started

    def run(self) -> GeneratorStats:
        phase, d = self.phase, self.setup.distributed
        limit = self.started + phase.ramp + phase.measure + 2 * phase.slot + 30.0 + (d.connect_seconds if d else 0.0)
        while self.locust.poll() is None:
            _check_servers(self.servers, phase)
            if time.monotonic() > limit:
                raise LoadTestError(f"locust did not finish phase {phase.index + 1} in time\n{self.locust.log_tail()}",
                                    "see the locust log in the --out directory", code="generator-failed")
            self.cpu.sample()
            self._check_workers()
            if self._look():
                return self.generator()
            time.sleep(MONITOR_SECONDS)
        _check_servers(self.servers, phase)
        if self.locust.poll() not in (0, None):
            tail = self.locust.log_tail()
            lost = distributed.never_connected(tail, d) if d else None
            raise lost or LoadTestError(f"locust failed (exit {self.locust.poll()}) in phase {phase.index + 1}:\n{tail}",
                                        "see the locust log in the --out directory", code="generator-failed")
        return self.generator()

    def _check_workers(self) -> None:
        d = self.setup.distributed
        if d is None:
            return
        if self.first_report is None and distributed.reports(self.out):
            self.first_report = time.time()
        distributed.check(d, self.out, self.first_report)

    def generator(self) -> GeneratorStats:
        """The generator's CPU: locust's process tree here, and in distributed mode what every worker reported."""
        limit = self.setup.generator_limit_pct
        local = self.cpu.result(limit)
        if self.setup.distributed is None:
            return local
        top, seen = distributed.busiest(self.out)
        workers = tuple((name, float(r.get("cpuMean", 0.0))) for name, r in sorted(seen.items()))
        return GeneratorStats(local.processes + len(workers), max(local.busiest_cpu_pct, top), local.machine_cpu_pct,
                              local.saturated or top >= limit, workers)

    def _look(self) -> bool:
        """Hand the looker the slots measured so far once the next look's slots are complete."""
        seconds = self.looker.next_look() if self.looker else None
        if self.looker is None or seconds is None or seconds >= self.phase.measure:
            return False
        rows = read_rows(self.out)
        if rows.shape[0] == 0:
            return False
        slots = _measured_slots(replace(self.phase, measure=seconds), rows, complete=False)
        longest = float(rows[:, 2].max())
        if slots.size == 0 or time.time() < (slots[-1] + 1) * self.phase.slot + LOOK_MARGIN_SECONDS + 2 * longest:
            return False
        truncated = replace(self.phase, measure=seconds)
        data = split(truncated, rows, self.generator(), self.gpu, self.pids, self.out)
        if self.looker.look(seconds, self.wall(), data):
            self.decided = data
            return True
        return False


def read_rows(out: Path) -> np.ndarray:
    """All rows the locust processes wrote in ``out``: an (n, 5) array sorted by intended time."""
    parts = [np.loadtxt(p, delimiter=",", ndmin=2, dtype=np.float64) for p in sorted(out.glob("lat-*.csv"))
             if p.stat().st_size]
    if not parts:
        return np.empty((0, 5))
    rows = np.concatenate(parts)
    return rows[np.argsort(rows[:, 0], kind="stable")]


def _measured_slots(phase: Phase, rows: np.ndarray, complete: bool = True) -> np.ndarray:
    """Absolute indexes of the complete slots after the ramp (whole pairs when interleaved).

    ``complete=False``: the slots ``phase.measure`` asks for, whether or not the rows reach them yet.
    """
    start, end = float(rows[0, 0]) + phase.ramp, float(rows[-1, 0])
    first = math.ceil(start / phase.slot)
    last = math.floor(end / phase.slot) - 1 if complete else 1 << 62
    last = min(last, first + max(1, round(phase.measure / phase.slot)) - 1)
    if phase.interleaved:
        first += first % 2  # pairs start on even slots
        last -= (last - first + 1) % 2
    return np.arange(first, last + 1, dtype=np.int64)


def _measured_from(phase: Phase, rows: np.ndarray, side: int, slots: np.ndarray) -> np.ndarray:
    """Per slot, when this side's measurement starts: after ``settle`` and after the other
    side's last earlier request has completed (so the two servers are never measured
    while both have work)."""
    starts = slots * phase.slot + (phase.settle if phase.interleaved else 0.0)
    if not phase.interleaved:
        return starts
    other = rows[rows[:, 4] != side]
    if other.shape[0] == 0:
        return starts
    done = np.maximum.accumulate(other[:, 0] + other[:, 2])  # completion, cumulative max by send time
    idx = np.searchsorted(other[:, 0], slots * phase.slot, side="left") - 1
    drained = np.where(idx >= 0, done[np.clip(idx, 0, None)], -np.inf)
    return np.maximum(starts, drained)


def split(phase: Phase, rows: np.ndarray, generator: GeneratorStats, gpu: GpuSampler,
          pids: Mapping[str, int], out: Path) -> dict[str, PhaseData]:
    """Cut a phase's rows into its sides' measured requests."""
    if rows.shape[0] == 0:
        raise LoadTestError(f"phase {phase.index + 1} (load {phase.point}): locust sent no request\n"
                            f"{log_tail(out / 'locust.log', 15)}", "see the locust log in the --out directory",
                            code="generator-failed")
    slots = _measured_slots(phase, rows)
    k = np.floor(rows[:, 0] / phase.slot).astype(np.int64)
    per_unit = 2 if phase.interleaved else 1
    names = sorted(phase.sides)
    slot_set = set(slots.tolist())
    result = {}
    for side in phase.sides:
        code = names.index(side)
        mine = slots[[phase.side_at((j + 0.5) * phase.slot) == side for j in slots]]
        begin = _measured_from(phase, rows, code, mine)
        seconds = np.clip((mine + 1) * phase.slot - begin, 0.0, phase.slot)
        start_of = dict(zip(mine.tolist(), begin.tolist()))
        from_time = np.array([start_of.get(int(x), np.inf) for x in k])
        keep = (rows[:, 4] == code) & (rows[:, 0] >= from_time)
        window = rows[keep]
        lateness = None
        if phase.mode == "open" and window.shape[0]:
            lateness = float(np.percentile((window[:, 1] - window[:, 0]) * 1000.0, 99))
        select = (lambda t, s=side: phase.side_at(t) == s and math.floor(t / phase.slot) in slot_set)  # noqa: E731 - binds this side
        result[side] = PhaseData(
            phase=phase, side=side, intended=window[:, 0], latency_ms=window[:, 2] * 1000.0,
            status=window[:, 3].astype(np.int64), unit=(k[keep] - slots[0]) // per_unit if slots.size else k[keep] * 0,
            unit_seconds=seconds if slots.size else np.zeros(0), generator=generator,
            gpu=gpu.stats(select, pids.get(side)), lateness_p99_ms=lateness,
        )
    return result
