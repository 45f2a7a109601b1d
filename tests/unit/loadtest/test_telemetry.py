"""Which GPU the telemetry samples: the one CUDA_VISIBLE_DEVICES gives the server, found in NVML.

No GPU here: NVML is the fake of ``tests/support/fake_nvml.py`` (pynvml's published
functions and errors); the selection code under test is the real one.
"""
from __future__ import annotations

import sys
import time

import pytest

from releasegate.loadtest import telemetry
from releasegate.loadtest.telemetry import GpuSampler, gpu_info, visible_devices
from tests.support.fake_nvml import Device, FakeNvml

UUIDS = [
    "GPU-1a2b3c4d-0000-1111-2222-333344445555",
    "GPU-9f8e7d6c-aaaa-bbbb-cccc-ddddeeeeffff",
    "GPU-9f00aaaa-1234-5678-9abc-def012345678",
    "GPU-77777777-8888-9999-aaaa-bbbbccccdddd",
]
MIG = "MIG-5c6d7e8f-1111-2222-3333-444455556666"


@pytest.fixture
def nvml(monkeypatch: pytest.MonkeyPatch) -> FakeNvml:
    fake = FakeNvml([Device(u, name=f"gpu{i}", util_pct=10 * (i + 1), used_mib=1000 * (i + 1),
                            milliwatts=100_000 * (i + 1), processes={4242: 500 + i}) for i, u in enumerate(UUIDS)],
                    mig=[Device(MIG, name="mig 1g.10gb", util_pct=55, used_mib=777, milliwatts=1)])
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    return fake


@pytest.mark.parametrize(("value", "entries"), [
    (None, None),
    ("", ()),
    ("-1", ()),
    ("0", ("0",)),
    ("2,0", ("2", "0")),
    (" 1 , 3 ", ("1", "3")),
    ("1,-1,2", ("1",)),  # CUDA stops at the first invalid entry
    ("abc,0", ()),
    ("NoDevFiles", ()),
    (UUIDS[1], (UUIDS[1],)),
    (f"{MIG},1", (MIG, "1")),
    ("GPU-", ()),
])
def test_visible_devices_reads_cuda_visible_devices_as_cuda_does(value: str | None,
                                                                 entries: tuple[str, ...] | None) -> None:
    assert visible_devices(value) == entries


@pytest.mark.parametrize(("value", "uuid"), [
    (None, UUIDS[0]),
    ("0", UUIDS[0]),
    ("2", UUIDS[2]),
    ("3,0", UUIDS[3]),
    (UUIDS[1], UUIDS[1]),
    (f"{UUIDS[3]},{UUIDS[0]}", UUIDS[3]),
    ("GPU-1a2b", UUIDS[0]),  # CUDA accepts a unique prefix of a UUID
    ("GPU-9f8e", UUIDS[1]),
    (MIG, MIG),
])
def test_the_server_s_first_visible_gpu_is_the_one_selected(nvml: FakeNvml, value: str | None, uuid: str) -> None:
    env = {} if value is None else {"CUDA_VISIBLE_DEVICES": value}
    info = gpu_info(env)
    assert info.available and info.uuid == uuid
    assert info.name == ("mig 1g.10gb" if uuid == MIG else f"gpu{UUIDS.index(uuid)}")
    assert info.count == 4


@pytest.mark.parametrize(("value", "fragment"), [
    ("", "CUDA_VISIBLE_DEVICES='' leaves no GPU visible"),
    ("-1", "CUDA_VISIBLE_DEVICES='-1' leaves no GPU visible"),
    ("7", "CUDA_VISIBLE_DEVICES='7' names GPU 7, but NVML sees 4 (0-3)"),
    ("GPU-00000000-dead-beef-0000-000000000000", "no GPU or MIG device with UUID GPU-00000000-dead-beef"),
    ("GPU-9f", "GPU-9f matches 2 GPUs"),
    ("MIG-GPU-1a2b3c4d-0000-1111-2222-333344445555/1/0", "no GPU or MIG device with UUID MIG-GPU-1a2b"),
])
def test_no_or_unknown_visible_gpu_is_unavailable_with_the_reason(nvml: FakeNvml, value: str, fragment: str) -> None:
    info = gpu_info({"CUDA_VISIBLE_DEVICES": value})
    assert not info.available
    assert fragment in info.reason
    assert "nvidia-smi -L" in info.reason or "leaves no GPU" in info.reason


def test_default_is_the_process_environment(nvml: FakeNvml, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    assert gpu_info().uuid == UUIDS[1]
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert gpu_info().uuid == UUIDS[0]


def test_sampler_samples_the_selected_gpu(nvml: FakeNvml, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(telemetry, "SAMPLE_SECONDS", 0.01)
    info = gpu_info({"CUDA_VISIBLE_DEVICES": f"{UUIDS[2]},{UUIDS[0]}"})
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")  # the sampler follows the info, not a later environment
    sampler = GpuSampler(info).start()
    deadline = time.monotonic() + 5
    while not sampler.samples and time.monotonic() < deadline:
        time.sleep(0.01)
    stats = sampler.stop().stats(server_pid=4242)
    assert stats.samples >= 1
    assert (stats.util_pct_max, stats.memory_peak_mib, stats.power_watts_max) == (30.0, 3000.0, 300.0)
    assert stats.server_memory_peak_mib == 502.0
