"""Loading each artifact format, refusing unsafe or broken ones, and batched == unbatched."""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from releasegate.errors import ArtifactError, InputError  # noqa: E402
from releasegate.serve.batching import Job  # noqa: E402
from releasegate.serve.loader import LoadRequest, load_model  # noqa: E402
from releasegate.serve.runner import TorchRunner  # noqa: E402
from releasegate.serve.tensors import parse_input_spec  # noqa: E402

SEQ = 16  # tiny-encoder
IDS = parse_input_spec(f"input_ids:INT64:{SEQ}")


def _request(path: Path, **kw: object) -> LoadRequest:
    return LoadRequest(path, **kw)  # type: ignore[arg-type]


LOADS = {
    "torch-export": {},
    "torchscript": {"input_spec": (IDS,)},
    "safetensors": {"factory": "tiny-encoder"},
    "state-dict": {"factory": "tiny-encoder"},
}


def _ids(rows: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 1000, size=(rows, SEQ), dtype=np.int64)


@pytest.mark.parametrize("fmt", sorted(LOADS))
def test_each_format_loads_and_matches_the_original(
    artifacts: dict[str, Path], tiny_model: torch.nn.Module, fmt: str
) -> None:
    model = load_model(_request(artifacts[fmt], **LOADS[fmt]))
    assert model.format == fmt
    assert [s.name for s in model.inputs] == ["input_ids"]
    x = torch.from_numpy(_ids(3, 1))
    with torch.inference_mode():
        torch.testing.assert_close(model.module(x), tiny_model(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("fmt", sorted(LOADS))
def test_batched_rows_equal_unbatched_forward(
    artifacts: dict[str, Path], tiny_model: torch.nn.Module, fmt: str
) -> None:
    runner = TorchRunner(load_model(_request(artifacts[fmt], **LOADS[fmt])), max_batch=8)
    runner.prepare()
    assert [(s.name, s.datatype, s.shape) for s in runner.outputs] == [
        ("logits" if fmt in ("safetensors", "state-dict") else "output", "FP32", (2,))
    ]
    jobs = [Job([_ids(rows, seed)], rows, seed) for seed, rows in enumerate([1, 3, 1, 2])]
    (out,) = runner.launch(0, jobs, 7).wait()
    assert out.shape == (7, 2)
    offset = 0
    with torch.inference_mode():
        for job in jobs:
            for r in range(job.rows):
                alone = tiny_model(torch.from_numpy(job.inputs[0][r : r + 1])).numpy()
                np.testing.assert_allclose(out[offset + r], alone[0], rtol=1e-5, atol=1e-5)
            offset += job.rows


def test_pickled_module_is_refused(artifacts: dict[str, Path]) -> None:
    with pytest.raises(ArtifactError, match="a pickle of Python objects") as err:
        load_model(_request(artifacts["pickle"], factory="tiny-encoder"))
    assert str(artifacts["pickle"]) in str(err.value)


def test_arbitrary_pickle_is_refused_without_running_it(tmp_path: Path) -> None:
    path = tmp_path / "evil.pkl"
    marker = tmp_path / "pwned"
    path.write_bytes(pickle.dumps(_Evil(str(marker))))
    with pytest.raises(ArtifactError, match="pickle of Python objects"):
        load_model(_request(path))
    assert not marker.exists()


class _Evil:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (open, (self.marker, "w"))


def test_format_flag_must_match_the_file(artifacts: dict[str, Path]) -> None:
    with pytest.raises(ArtifactError, match="--format torchscript given, but the file is a torch-export"):
        load_model(_request(artifacts["torch-export"], format="torchscript"))


def test_torchscript_needs_input_spec(artifacts: dict[str, Path]) -> None:
    with pytest.raises(InputError, match="--input-spec"):
        load_model(_request(artifacts["torchscript"]))


def test_weights_need_a_factory(artifacts: dict[str, Path]) -> None:
    with pytest.raises(InputError, match="--factory"):
        load_model(_request(artifacts["safetensors"]))


def test_programs_refuse_a_factory(artifacts: dict[str, Path]) -> None:
    with pytest.raises(InputError, match="leave out --factory"):
        load_model(_request(artifacts["torch-export"], factory="tiny-encoder"))


def test_weights_that_do_not_fit_the_factory(artifacts: dict[str, Path]) -> None:
    with pytest.raises(ArtifactError, match="do not fit --factory bert-base"):
        load_model(_request(artifacts["safetensors"], factory="bert-base"))


def test_input_spec_must_name_the_programs_inputs(artifacts: dict[str, Path]) -> None:
    with pytest.raises(InputError, match="takes \\['input_ids'\\]"):
        load_model(_request(artifacts["torch-export"], input_spec=(parse_input_spec("ids:INT64:16"),)))


def test_truncated_state_dict_is_reported(artifacts: dict[str, Path], tmp_path: Path) -> None:
    data = artifacts["state-dict"].read_bytes()
    cut = tmp_path / "cut.pth"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactError, match="cut.pth"):
        load_model(_request(cut, factory="tiny-encoder"))


def test_bfloat16_model_returns_float32(artifacts: dict[str, Path], tiny_model: torch.nn.Module) -> None:
    runner = TorchRunner(load_model(_request(artifacts["safetensors"], factory="tiny-encoder", dtype="bfloat16")), 4)
    runner.prepare()
    (out,) = runner.launch(0, [Job([_ids(2, 5)], 2, None)], 2).wait()
    assert out.dtype == np.float32
    with torch.inference_mode():
        want = tiny_model(torch.from_numpy(_ids(2, 5))).numpy()
    np.testing.assert_allclose(out, want, atol=0.1)


def test_static_batch_export_pads_each_batch(tmp_path: Path, tiny_model: torch.nn.Module) -> None:
    path = tmp_path / "static.pt2"
    torch.export.save(torch.export.export(tiny_model, (torch.zeros(4, SEQ, dtype=torch.long),)), path)
    model = load_model(_request(path))
    assert model.fixed_batch == 4
    runner = TorchRunner(model, max_batch=64)
    assert runner.max_batch == 4 and runner.buckets == [4]
    runner.prepare()
    x = _ids(3, 9)
    (out,) = runner.launch(1, [Job([x], 3, None)], 3).wait()
    assert out.shape == (3, 2)
    with torch.inference_mode():
        np.testing.assert_allclose(out, tiny_model(torch.from_numpy(x)).numpy(), rtol=1e-5, atol=1e-5)


def test_compile_buckets_are_powers_of_two_up_to_max_batch() -> None:
    from releasegate.serve.runner import _buckets

    assert _buckets(48, None, compiled=True) == [1, 2, 4, 8, 16, 32, 48]
    assert _buckets(64, None, compiled=True) == [1, 2, 4, 8, 16, 32, 64]
    assert _buckets(64, None, compiled=False) == []
    assert _buckets(64, 8, compiled=False) == [8]


def test_torchscript_cannot_be_compiled(artifacts: dict[str, Path]) -> None:
    model = load_model(_request(artifacts["torchscript"], input_spec=(IDS,)))
    with pytest.raises(InputError, match="--compile default: a torchscript program cannot go through torch.compile"):
        TorchRunner(model, max_batch=4, compile_mode="default")


def test_input_spec_the_model_cannot_take_fails_at_warm_up(artifacts: dict[str, Path]) -> None:
    model = load_model(_request(artifacts["torchscript"], input_spec=(parse_input_spec("input_ids:FP32:16"),)))
    with pytest.raises(ArtifactError, match="fails a warm-up forward pass with zeros of input_ids:FP32"):
        TorchRunner(model, max_batch=4).prepare()
