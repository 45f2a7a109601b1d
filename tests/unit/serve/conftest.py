"""Fixtures for the serving tests: tiny real models saved in every format and a
fake installed factory package (helpers live in serve_testkit.py).

Nothing here imports torch at collection time: the torch-free modules (batching, protocol,
tensors, artifact digests, factory lookup) run without it, and each fixture that builds a
model skips its tests where torch is missing. CI installs torch, so there only GPU tests skip."""
from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from serve_testkit import SEQ, write_factory_dist

if TYPE_CHECKING:
    import torch


@pytest.fixture(scope="session")
def tiny_model() -> torch.nn.Module:
    pytest.importorskip("torch")
    from releasegate.serve.models import build

    return build("tiny-encoder")


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory, tiny_model: torch.nn.Module) -> dict[str, Path]:
    """The tiny encoder saved as torch.export, TorchScript, safetensors, state dict and pickle."""
    import torch
    from safetensors.torch import save_file

    out = tmp_path_factory.mktemp("artifacts")
    example = torch.zeros(2, SEQ, dtype=torch.long)
    batch = torch.export.Dim("batch", min=1, max=1024)
    program = torch.export.export(tiny_model, (example,), dynamic_shapes={"input_ids": {0: batch}})
    paths = {
        "torch-export": out / "tiny.pt2",
        "torchscript": out / "tiny.ts",
        "safetensors": out / "tiny.safetensors",
        "state-dict": out / "tiny.pth",
        "pickle": out / "tiny-module.pt",
    }
    torch.export.save(program, paths["torch-export"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracing warns about Python control flow it cannot see
        torch.jit.trace(tiny_model, (example,), check_trace=False).save(str(paths["torchscript"]))
    save_file(tiny_model.state_dict(), str(paths["safetensors"]))
    torch.save(tiny_model.state_dict(), paths["state-dict"])
    torch.save(tiny_model, paths["pickle"])
    return paths


@pytest.fixture(scope="session")
def factory_dist(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Puts the fake factory distribution on sys.path for the session."""
    root = write_factory_dist(tmp_path_factory.mktemp("site"))
    sys.path.insert(0, str(root))
    yield root
    sys.path.remove(str(root))


@pytest.fixture(scope="session")
def slow_weights(tmp_path_factory: pytest.TempPathFactory, factory_dist: Path) -> Path:
    pytest.importorskip("torch")
    import rg_test_factories  # type: ignore[import-not-found]
    from safetensors.torch import save_file

    path = tmp_path_factory.mktemp("slow") / "slow.safetensors"
    save_file(rg_test_factories.slow().state_dict(), str(path))
    return path




@pytest.fixture
def gate(factory_dist: Path) -> Iterator[Any]:
    """The slow-linear factory's module: a row starting with 9 blocks in the forward pass until GATE is set."""
    import rg_test_factories  # type: ignore[import-not-found]

    rg_test_factories.GATE.clear()
    rg_test_factories.ENTERED.clear()
    yield rg_test_factories
    rg_test_factories.GATE.set()
