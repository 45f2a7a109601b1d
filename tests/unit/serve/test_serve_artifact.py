"""Digests and format detection (torch-free module, tiny real artifacts)."""
from __future__ import annotations

import hashlib
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from releasegate import digests
from releasegate.errors import ArtifactError
from releasegate.serve import artifact


def test_sha256_file_matches_hashlib(tmp_path: Path) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(b"x" * 3_000_000)
    assert digests.sha256_file(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_verify_digest_accepts_prefix_and_upper_case(tmp_path: Path) -> None:
    path = tmp_path / "m.bin"
    path.write_bytes(b"model")
    good = hashlib.sha256(b"model").hexdigest()
    digests.verify_digest(path, "sha256:" + good.upper())


def test_verify_digest_mismatch_says_expected_and_actual(tmp_path: Path) -> None:
    path = tmp_path / "m.bin"
    path.write_bytes(b"model")
    wrong = "0" * 64
    with pytest.raises(ArtifactError) as err:
        digests.verify_digest(path, wrong)
    text = str(err.value)
    assert f"expected {wrong}" in text
    assert f"actual {hashlib.sha256(b'model').hexdigest()}" in text
    assert str(path) in text


def test_verify_digest_rejects_malformed_digest(tmp_path: Path) -> None:
    path = tmp_path / "m.bin"
    path.write_bytes(b"model")
    with pytest.raises(ArtifactError, match="not a sha256 digest"):
        digests.verify_digest(path, "abc")


def test_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="nothere.pt2: cannot read"):
        digests.sha256_file(tmp_path / "nothere.pt2")


def test_artifact_module_does_not_import_torch() -> None:
    code = "import sys, releasegate.serve.artifact; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("fmt", ["torch-export", "torchscript", "safetensors", "state-dict"])
def test_detect_format_of_real_artifacts(artifacts: dict[str, Path], fmt: str) -> None:
    assert artifact.detect_format(artifacts[fmt]) == fmt


def test_pickled_module_is_detected_as_torch_save_checkpoint(artifacts: dict[str, Path]) -> None:
    assert artifact.detect_format(artifacts["pickle"]) == artifact.STATE_DICT


def test_legacy_pickle_is_a_torch_save_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "legacy.pkl"
    path.write_bytes(pickle.dumps({"a": 1}, protocol=4))
    assert artifact.detect_format(path) == artifact.STATE_DICT


def test_text_file_is_not_a_model(tmp_path: Path) -> None:
    path = tmp_path / "README.md"
    path.write_text("# not a model\n")
    with pytest.raises(ArtifactError, match="README.md: not a model artifact"):
        artifact.detect_format(path)


@pytest.mark.parametrize("fmt", ["torch-export", "torchscript"])
def test_truncated_zip_is_reported(artifacts: dict[str, Path], tmp_path: Path, fmt: str) -> None:
    data = artifacts[fmt].read_bytes()
    cut = tmp_path / f"cut-{fmt}"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactError, match="truncated"):
        artifact.detect_format(cut)


def test_truncated_safetensors_is_reported(artifacts: dict[str, Path], tmp_path: Path) -> None:
    data = artifacts["safetensors"].read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(data[: len(data) - 100])
    assert artifact.detect_format(cut) == artifact.SAFETENSORS
    with pytest.raises(ArtifactError, match="truncated safetensors"):
        artifact.read_safetensors_header(cut)
