"""Drive one phase of load against one server with locust, and read back every request.

A phase is one headless locust run (``python -m locust -f <shipped locustfile>
--headless -u USERS -r USERS -t SECONDS``), with ``--processes N`` when the runner has
the cores for it (:func:`locust_processes`). The shipped locustfile writes one CSV row
per request; this module keeps the rows whose intended send time falls inside the
measurement window (after ``ramp`` seconds, for ``measure`` seconds) and watches, while
locust runs, that the server is still alive and how busy the generator is.
"""
from __future__ import annotations

import math
import os
import shutil
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from releasegate.loadtest.errors import LoadTestError
from releasegate.loadtest.procs import Managed
from releasegate.loadtest.runtime import Server
from releasegate.loadtest.telemetry import CpuSampler, GeneratorStats, GpuInfo, GpuSampler, GpuStats

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
MONITOR_SECONDS = 0.25
STOP_SLACK_SECONDS = 0.5
MAX_PROCESSES = 8


@dataclass(frozen=True)
class Phase:
    """One measured stretch of load on one side."""

    index: int
    side: str  # "candidate" | "baseline"
    point: str  # load point id, e.g. "c4" or "r120"
    mode: str  # "closed" | "open"
    users: int
    rate: float | None
    ramp: float
    measure: float
    round: int
    kind: str = "compare"  # "compare" | "search"


@dataclass(frozen=True)
class PhaseData:
    """The requests of one phase that fall in its measurement window."""

    phase: Phase
    intended: np.ndarray  # wall-clock seconds
    latency_ms: np.ndarray
    status: np.ndarray
    window_start: float
    duration: float
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
    def throughput(self) -> float:
        """Successful requests per second over the window."""
        return float(np.count_nonzero(self.ok)) / self.duration if self.duration > 0 else 0.0


def locust_processes(cpu_count: int | None = None) -> int:
    """Locust worker processes for this runner: half the cores (the server needs the rest), 1..8."""
    cores = cpu_count or os.cpu_count() or 1
    return max(1, min(MAX_PROCESSES, cores // 2))


def locust_argv(phase: Phase, host: str, processes: int) -> list[str]:
    """The locust command line of ``phase``."""
    seconds = math.ceil(phase.ramp + phase.measure + STOP_SLACK_SECONDS)
    argv = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless"]
    argv += ["-u", str(phase.users), "-r", str(phase.users), "-t", f"{seconds}s"]
    argv += ["--host", host, "--only-summary", "--stop-timeout", "1", "--exit-code-on-error", "0"]
    argv += ["--loglevel", "WARNING"]
    if processes > 1:
        argv += ["--processes", str(processes)]
    return argv


@dataclass(frozen=True)
class PhaseSetup:
    """What every phase of one gate run shares."""

    work_dir: Path
    payload_files: Mapping[str, Path]  # side -> payloads JSON (same bodies, the side's own path)
    processes: int
    request_timeout: float
    generator_limit_pct: float
    gpu: GpuInfo


def run_phase(phase: Phase, server: Server, setup: PhaseSetup) -> PhaseData:
    """Run ``phase`` against ``server``; raises :class:`LoadTestError` if it cannot be measured."""
    out = setup.work_dir / "phases" / f"{phase.index:03d}-{phase.side}-{phase.point}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    env = {
        "RG_LT_PAYLOADS": str(setup.payload_files[phase.side]),
        "RG_LT_OUT": str(out),
        "RG_LT_MODE": phase.mode,
        "RG_LT_RATE": f"{phase.rate or 0:g}",
        "RG_LT_USERS": str(phase.users),
        "RG_LT_TIMEOUT": f"{setup.request_timeout:g}",
    }
    processes = 1 if phase.users < 2 * setup.processes else setup.processes
    argv = locust_argv(phase, server.base_url, processes)
    gpu = GpuSampler(setup.gpu, server.process.pid).start()
    locust = Managed(argv, out / "locust.log", env=env, cwd=out)
    try:
        generator = _watch(locust, server, phase, setup)
    finally:
        locust.stop(grace=2.0)
        gpu_stats = gpu.stop()
    return _collect(phase, out, generator, gpu_stats)


def _watch(locust: Managed, server: Server, phase: Phase, setup: PhaseSetup) -> GeneratorStats:
    cpu = CpuSampler(locust.pid)
    limit = time.monotonic() + phase.ramp + phase.measure + STOP_SLACK_SECONDS + 30.0
    while locust.poll() is None:
        if not server.alive():
            raise server.crash_error(f"during phase {phase.index} ({phase.side}, {phase.point})")
        if time.monotonic() > limit:
            raise LoadTestError(
                f"locust did not finish phase {phase.index} in time\n{locust.log_tail()}",
                "see the locust log in the --out directory",
                code="generator-failed",
            )
        cpu.sample()
        time.sleep(MONITOR_SECONDS)
    if not server.alive():
        raise server.crash_error(f"during phase {phase.index} ({phase.side}, {phase.point})")
    if locust.poll() not in (0, None):
        raise LoadTestError(
            f"locust failed (exit {locust.poll()}) in phase {phase.index}:\n{locust.log_tail()}",
            "see the locust log in the --out directory",
            code="generator-failed",
        )
    return cpu.result(setup.generator_limit_pct)


def read_rows(out: Path) -> np.ndarray:
    """All rows the locust processes wrote in ``out``: an (n, 4) float array."""
    parts = []
    for path in sorted(out.glob("lat-*.csv")):
        if path.stat().st_size:
            data = np.loadtxt(path, delimiter=",", ndmin=2, dtype=np.float64)
            parts.append(data)
    if not parts:
        return np.empty((0, 4))
    rows = np.concatenate(parts)
    return rows[np.argsort(rows[:, 0], kind="stable")]


def _collect(phase: Phase, out: Path, generator: GeneratorStats, gpu: GpuStats) -> PhaseData:
    rows = read_rows(out)
    if rows.shape[0] == 0:
        raise LoadTestError(
            f"phase {phase.index} ({phase.side}, {phase.point}): locust sent no request\n"
            f"{_tail(out / 'locust.log')}",
            "see the locust log in the --out directory",
            code="generator-failed",
        )
    start = float(rows[0, 0]) + phase.ramp
    end = min(start + phase.measure, float(rows[-1, 0]))
    keep = (rows[:, 0] >= start) & (rows[:, 0] < end)
    window = rows[keep]
    lateness = None
    if phase.mode == "open" and window.shape[0]:
        lateness = float(np.percentile((window[:, 1] - window[:, 0]) * 1000.0, 99))
    return PhaseData(
        phase=phase,
        intended=window[:, 0],
        latency_ms=window[:, 2] * 1000.0,
        status=window[:, 3].astype(np.int64),
        window_start=start,
        duration=max(0.0, end - start),
        generator=generator,
        gpu=gpu,
        lateness_p99_ms=lateness,
    )


def _tail(path: Path) -> str:
    from releasegate.loadtest.procs import log_tail

    return log_tail(path, 15)
