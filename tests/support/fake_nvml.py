"""A small stand-in for the ``pynvml`` module (nvidia-ml-py) on machines without a GPU.

It stands for NVML, not for the code under test: it offers the functions releasegate
calls, with the signatures and failure modes the published ``pynvml`` has (str in and
out, ``NVMLError`` subclasses from the real module: an index past the last GPU is
Invalid Argument, an unknown UUID is Not Found). NVML numbers every GPU of the machine
and ignores ``CUDA_VISIBLE_DEVICES``; MIG devices are reached by their UUID only.
Install it with ``monkeypatch.setitem(sys.modules, "pynvml", FakeNvml(...))``.
"""
from __future__ import annotations

import types
from dataclasses import dataclass, field

import pynvml as _real  # for its error classes and constants only


@dataclass(frozen=True)
class Device:
    uuid: str
    name: str = "NVIDIA H100 80GB HBM3"
    util_pct: int = 0
    used_mib: int = 0
    milliwatts: int = 0
    processes: dict[int, int] = field(default_factory=dict)  # pid -> MiB


@dataclass(frozen=True)
class _Handle:
    device: Device


class FakeNvml(types.ModuleType):
    """``gpus`` in NVML (PCI bus) order; ``mig`` devices reachable by UUID."""

    NVMLError = _real.NVMLError

    def __init__(self, gpus: list[Device], mig: list[Device] | None = None) -> None:
        super().__init__("pynvml")
        self.gpus = gpus
        self.mig = mig or []
        self.initialised = False
        self.calls: list[str] = []

    def _check(self, name: str) -> None:
        self.calls.append(name)
        if not self.initialised:
            raise _real.NVMLError(_real.NVML_ERROR_UNINITIALIZED)

    def nvmlInit(self) -> None:
        self.initialised = True

    def nvmlDeviceGetCount(self) -> int:
        self._check("nvmlDeviceGetCount")
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> _Handle:
        self._check("nvmlDeviceGetHandleByIndex")
        if not isinstance(index, int) or not 0 <= index < len(self.gpus):
            raise _real.NVMLError(_real.NVML_ERROR_INVALID_ARGUMENT)
        return _Handle(self.gpus[index])

    def nvmlDeviceGetHandleByUUID(self, uuid: str | bytes) -> _Handle:
        self._check("nvmlDeviceGetHandleByUUID")
        text = uuid.decode() if isinstance(uuid, bytes) else uuid
        for device in self.gpus + self.mig:
            if device.uuid == text:
                return _Handle(device)
        raise _real.NVMLError(_real.NVML_ERROR_NOT_FOUND)

    def nvmlDeviceGetUUID(self, handle: _Handle) -> str:
        self._check("nvmlDeviceGetUUID")
        return handle.device.uuid

    def nvmlDeviceGetName(self, handle: _Handle) -> str:
        self._check("nvmlDeviceGetName")
        return handle.device.name

    def nvmlDeviceGetUtilizationRates(self, handle: _Handle) -> types.SimpleNamespace:
        self._check("nvmlDeviceGetUtilizationRates")
        return types.SimpleNamespace(gpu=handle.device.util_pct, memory=0)

    def nvmlDeviceGetMemoryInfo(self, handle: _Handle) -> types.SimpleNamespace:
        self._check("nvmlDeviceGetMemoryInfo")
        used = handle.device.used_mib * 2**20
        return types.SimpleNamespace(total=80 * 2**30, used=used, free=80 * 2**30 - used)

    def nvmlDeviceGetPowerUsage(self, handle: _Handle) -> int:
        self._check("nvmlDeviceGetPowerUsage")
        return handle.device.milliwatts

    def nvmlDeviceGetComputeRunningProcesses(self, handle: _Handle) -> list[types.SimpleNamespace]:
        self._check("nvmlDeviceGetComputeRunningProcesses")
        return [types.SimpleNamespace(pid=pid, usedGpuMemory=mib * 2**20) for pid, mib in handle.device.processes.items()]
