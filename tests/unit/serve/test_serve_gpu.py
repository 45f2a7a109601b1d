"""The CUDA path (page-locked buffers, async copies, events, bf16, CUDA graphs). Skipped without a GPU."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from releasegate.serve.batching import Job  # noqa: E402
from releasegate.serve.loader import LoadRequest, load_model  # noqa: E402
from releasegate.serve.runner import TorchRunner  # noqa: E402

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
    pytest.mark.timeout(600),
]
SEQ = 16


def _jobs() -> list[Job]:
    rng = np.random.default_rng(3)
    return [Job([rng.integers(0, 1000, (rows, SEQ))], rows, i) for i, rows in enumerate([1, 4, 2, 1])]


@pytest.mark.parametrize(("fmt", "dtype", "compile_mode"), [
    ("torch-export", "float32", "off"),
    ("safetensors", "bfloat16", "off"),
    ("safetensors", "float32", "reduce-overhead"),
])
def test_cuda_batches_match_the_cpu_model(
    artifacts: dict[str, Path], tiny_model: torch.nn.Module, fmt: str, dtype: str, compile_mode: str
) -> None:
    factory = "tiny-encoder" if fmt == "safetensors" else None
    model = load_model(LoadRequest(artifacts[fmt], factory=factory, device="cuda", dtype=dtype))
    runner = TorchRunner(model, max_batch=8, compile_mode=compile_mode)
    runner.prepare()
    jobs = _jobs()
    pendings = [runner.launch(slot, [job], job.rows) for slot, job in zip([0, 1], jobs[:2])]
    outs = [p.wait()[0] for p in pendings]
    (rest,) = runner.launch(0, jobs[2:], 3).wait()
    tol = 0.1 if dtype == "bfloat16" else 1e-3
    with torch.inference_mode():
        for job, out in zip(jobs, [*outs, rest[:2], rest[2:]]):
            want = tiny_model(torch.from_numpy(job.inputs[0])).numpy()
            np.testing.assert_allclose(out, want, atol=tol, rtol=tol)
