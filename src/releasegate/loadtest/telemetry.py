"""Telemetry sampled while a phase runs: the GPU (NVML) and the load generator's CPU (psutil).

NVML comes from ``nvidia-ml-py``; its import is guarded, and a machine without the
library or without a GPU records the GPU as unavailable with the reason. The GPU
sampled is the one the server uses: the first that ``CUDA_VISIBLE_DEVICES`` leaves
visible. NVML ignores that variable and numbers every GPU of the machine, so the
entry is looked up in NVML: ``GPU-<uuid>`` (or a unique prefix, as CUDA allows) and
``MIG-<uuid>`` by UUID, an integer as an NVML index (the same GPU as CUDA's index
when ``CUDA_DEVICE_ORDER=PCI_BUS_ID`` or all GPUs are alike; prefer UUIDs). Unset
means device 0; empty, ``-1`` or an invalid first entry means no GPU is visible.
Run one gate per GPU.

The generator's CPU is the busiest locust process's mean CPU over the phase: a locust
process is single-threaded (gevent), so at ~100 % of one core it cannot send faster
and the latencies it measures include its own delay. Such a phase is flagged
``saturated`` and the comparison says so instead of pretending to measure the model.
"""
from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

SAMPLE_SECONDS = 0.1


@dataclass(frozen=True)
class GpuInfo:
    """Whether NVML sees a GPU; ``reason`` says why not."""

    available: bool
    name: str | None = None
    count: int = 0
    reason: str = ""
    uuid: str | None = None  # of the GPU (or MIG device) sampled


@dataclass(frozen=True)
class GpuStats:
    """GPU telemetry of one phase (None fields: not measured)."""

    available: bool
    samples: int = 0
    util_pct_mean: float | None = None
    util_pct_max: float | None = None
    memory_peak_mib: float | None = None
    server_memory_peak_mib: float | None = None
    power_watts_mean: float | None = None
    power_watts_max: float | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "available": self.available,
            "samples": self.samples,
            "utilizationPctMean": self.util_pct_mean,
            "utilizationPctMax": self.util_pct_max,
            "memoryPeakMiB": self.memory_peak_mib,
            "serverMemoryPeakMiB": self.server_memory_peak_mib,
            "powerWattsMean": self.power_watts_mean,
            "powerWattsMax": self.power_watts_max,
            "reason": self.reason,
        }


def _nvml() -> Any:
    import pynvml  # nvidia-ml-py

    pynvml.nvmlInit()
    return pynvml


_INDEX = re.compile(r"[0-9]+", re.ASCII)


def visible_devices(value: str | None) -> tuple[str, ...] | None:
    """``CUDA_VISIBLE_DEVICES`` as CUDA reads it: None when unset (every GPU), else the
    entries before the first invalid one (so ``""``, ``"-1"`` and ``"none"`` leave none)."""
    if value is None:
        return None
    entries: list[str] = []
    for raw in value.split(","):
        entry = raw.strip()
        if not (_INDEX.fullmatch(entry) or (entry.startswith(("GPU-", "MIG-")) and len(entry) > 4)):
            break
        entries.append(entry)
    return tuple(entries)


class _NotVisible(Exception):
    """No GPU to sample; the message says why."""


def _by_uuid(nvml: Any, entry: str, count: int) -> Any:
    try:
        return nvml.nvmlDeviceGetHandleByUUID(entry)
    except nvml.NVMLError:
        pass
    handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
    matches = [h for h in handles if _text(nvml.nvmlDeviceGetUUID(h)).startswith(entry)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise _NotVisible(f"CUDA_VISIBLE_DEVICES entry {entry} matches {len(matches)} GPUs; "
                          "give more of the UUID (nvidia-smi -L lists them)")
    raise _NotVisible(f"no GPU or MIG device with UUID {entry} (CUDA_VISIBLE_DEVICES); "
                      "nvidia-smi -L lists the UUIDs")


def _select(nvml: Any, value: str | None) -> Any:
    """The NVML handle of the first GPU that ``CUDA_VISIBLE_DEVICES`` (``value``) leaves visible."""
    count = int(nvml.nvmlDeviceGetCount())
    entries = visible_devices(value)
    if entries == ():
        raise _NotVisible(f"CUDA_VISIBLE_DEVICES={value!r} leaves no GPU visible")
    if count == 0:
        raise _NotVisible("NVML sees no GPU")
    first = entries[0] if entries else "0"
    if not _INDEX.fullmatch(first):
        return _by_uuid(nvml, first, count)
    if int(first) >= count:
        raise _NotVisible(f"CUDA_VISIBLE_DEVICES={value!r} names GPU {first}, but NVML sees {count} "
                          f"(0-{count - 1}); nvidia-smi -L lists them")
    return nvml.nvmlDeviceGetHandleByIndex(int(first))


def _text(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.decode()


def gpu_info(environ: Mapping[str, str] | None = None) -> GpuInfo:
    """What NVML reports about the GPU the server will use (never raises)."""
    visible = (os.environ if environ is None else environ).get("CUDA_VISIBLE_DEVICES")
    try:
        nvml = _nvml()
    except ImportError:
        return GpuInfo(False, reason="nvidia-ml-py is not installed")
    except Exception as e:  # noqa: BLE001 - pynvml raises its own NVMLError family
        return GpuInfo(False, reason=f"NVML unavailable: {e}")
    try:
        count = int(nvml.nvmlDeviceGetCount())
        handle = _select(nvml, visible)
        name, uuid = _text(nvml.nvmlDeviceGetName(handle)), _text(nvml.nvmlDeviceGetUUID(handle))
        return GpuInfo(True, name, count, uuid=uuid)
    except _NotVisible as e:
        return GpuInfo(False, reason=str(e))
    except Exception as e:  # noqa: BLE001
        return GpuInfo(False, reason=f"NVML error: {e}")


class GpuSampler:
    """Samples the GPU of ``info`` every :data:`SAMPLE_SECONDS` in a thread between ``start`` and ``stop``.

    Samples carry their wall-clock time, so that an interleaved phase can attribute
    each one to the side whose slot it fell in (:meth:`stats`).
    """

    def __init__(self, info: GpuInfo) -> None:
        self.info = info
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # (time, utilisation %, used MiB, watts, {pid: MiB})
        self.samples: list[tuple[float, float, float, float, dict[int, float]]] = []

    def start(self) -> GpuSampler:
        if self.info.available:
            self._thread = threading.Thread(target=self._run, name="gpu-sampler", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        try:
            nvml = _nvml()
            if self.info.uuid:
                handle = nvml.nvmlDeviceGetHandleByUUID(self.info.uuid)
            else:
                handle = _select(nvml, os.environ.get("CUDA_VISIBLE_DEVICES"))
        except Exception:  # noqa: BLE001 - recorded as zero samples
            return
        while not self._stop.is_set():
            self._sample(nvml, handle)
            self._stop.wait(SAMPLE_SECONDS)

    def _sample(self, nvml: Any, handle: Any) -> None:
        try:
            util = float(nvml.nvmlDeviceGetUtilizationRates(handle).gpu)
            used = nvml.nvmlDeviceGetMemoryInfo(handle).used / 2**20
            watts = nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0
            procs = {
                int(p.pid): p.usedGpuMemory / 2**20
                for p in nvml.nvmlDeviceGetComputeRunningProcesses(handle)
                if p.usedGpuMemory is not None
            }
        except Exception:  # noqa: BLE001 - a failed sample is skipped, not fatal
            return
        self.samples.append((time.time(), util, used, watts, procs))

    def stop(self) -> GpuSampler:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        return self

    def stats(self, select: Callable[[float], bool] | None = None, server_pid: int | None = None) -> GpuStats:
        """Telemetry of the samples whose time ``select`` accepts (all by default)."""
        if not self.info.available:
            return GpuStats(False, reason=self.info.reason)
        rows = [s for s in self.samples if select is None or select(s[0])]
        if not rows:
            return GpuStats(True, reason="no NVML sample in this phase")
        server = [s[4][server_pid] for s in rows if server_pid in s[4]]
        return GpuStats(
            True,
            samples=len(rows),
            util_pct_mean=sum(r[1] for r in rows) / len(rows),
            util_pct_max=max(r[1] for r in rows),
            memory_peak_mib=max(r[2] for r in rows),
            server_memory_peak_mib=max(server) if server else None,
            power_watts_mean=sum(r[3] for r in rows) / len(rows),
            power_watts_max=max(r[3] for r in rows),
        )


@dataclass(frozen=True)
class GeneratorStats:
    """The load generator's CPU during a phase."""

    processes: int
    busiest_cpu_pct: float
    machine_cpu_pct: float
    saturated: bool
    workers: tuple[tuple[str, float], ...] = ()  # distributed mode: (worker, mean CPU %) as each reported it

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "processes": self.processes,
            "busiestProcessCpuPct": round(self.busiest_cpu_pct, 1),
            "machineCpuPct": round(self.machine_cpu_pct, 1),
            "saturated": self.saturated,
        }
        if self.workers:
            out["workersCpuPct"] = {name: round(cpu, 1) for name, cpu in self.workers}
        return out


class CpuSampler:
    """CPU of a process tree (locust master and workers), sampled by the caller's loop."""

    def __init__(self, root_pid: int) -> None:
        import psutil

        self._psutil = psutil
        self._root = root_pid
        self._procs: dict[int, Any] = {}
        self._series: dict[int, list[float]] = {}
        self._machine: list[float] = []
        psutil.cpu_percent(None)

    def sample(self) -> None:
        psutil = self._psutil
        try:
            root = psutil.Process(self._root)
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            return
        for proc in tree:
            known = self._procs.setdefault(proc.pid, proc)
            try:
                value = known.cpu_percent(None)
            except psutil.Error:
                continue
            self._series.setdefault(proc.pid, []).append(value)
        self._machine.append(psutil.cpu_percent(None))

    def result(self, limit_pct: float) -> GeneratorStats:
        # The first reading of each process is psutil's priming 0.0: skip it.
        means = [sum(s[1:]) / len(s[1:]) for s in self._series.values() if len(s) > 1]
        busiest = max(means, default=0.0)
        machine = self._machine[1:] or [0.0]
        return GeneratorStats(
            processes=len(self._series),
            busiest_cpu_pct=busiest,
            machine_cpu_pct=sum(machine) / len(machine),
            saturated=busiest >= limit_pct,
        )
