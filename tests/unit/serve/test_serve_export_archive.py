"""Settled on the pinned torch: torch.export.load runs code from a crafted .pt2; the server refuses such files.

Each crafted archive is a real torch.export.save output with one member replaced by a pickle
whose unpickling creates a marker file. The first test shows that plain torch.export.load
executes it (so the question is settled, not assumed); the others that releasegate's loader
refuses the file, naming the member, before torch opens it, and that nothing ran.
"""
from __future__ import annotations

import io
import json
import os
import pickle
import zipfile
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from releasegate.errors import ArtifactError  # noqa: E402
from releasegate.serve.export_archive import check_export_archive  # noqa: E402
from releasegate.serve.loader import LoadRequest, load_model  # noqa: E402


class _Marker:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.path}",))


def _exported(tmp_path: Path) -> Path:
    class Tiny(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(4, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.layer(x)

    path = tmp_path / "good.pt2"
    torch.export.save(torch.export.export(Tiny(), (torch.randn(1, 4),)), str(path))
    return path


def _craft(good: Path, out: Path, replace: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            short = "/".join(info.filename.split("/")[1:])
            dst.writestr(info, replace.get(short, src.read(info.filename)))
    return out


def _variants(tmp_path: Path, good: Path, marker: Path) -> dict[str, Path]:
    with zipfile.ZipFile(good) as z:
        top = z.namelist()[0].split("/")[0]
        config = json.loads(z.read(f"{top}/data/weights/model_weights_config.json"))
    first = next(iter(config["config"].values()))
    first["use_pickle"] = True
    saved = io.BytesIO()
    torch.save(_Marker(marker), saved)
    return {
        "sample-inputs-pickle": _craft(good, tmp_path / "a.pt2", {"data/sample_inputs/model.pt": pickle.dumps(_Marker(marker))}),
        "sample-inputs-torch-save": _craft(good, tmp_path / "b.pt2", {"data/sample_inputs/model.pt": saved.getvalue()}),
        "pickled-weight": _craft(good, tmp_path / "c.pt2", {
            "data/weights/model_weights_config.json": json.dumps(config).encode(),
            f"data/weights/{first['path_name']}": saved.getvalue()}),
    }


def test_plain_torch_export_load_runs_code_from_a_crafted_archive(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    crafted = _variants(tmp_path, _exported(tmp_path), marker)["sample-inputs-pickle"]
    try:
        torch.export.load(str(crafted))
    except Exception:  # noqa: BLE001, S110 - whether it then loads does not matter: the code already ran
        pass
    assert marker.exists(), "torch.export.load did not execute the pickle: revisit serve/export_archive.py"


@pytest.mark.parametrize("variant", ["sample-inputs-pickle", "sample-inputs-torch-save", "pickled-weight"])
def test_releasegate_refuses_a_crafted_archive_before_torch_opens_it(tmp_path: Path, variant: str) -> None:
    marker = tmp_path / "ran"
    crafted = _variants(tmp_path, _exported(tmp_path), marker)[variant]
    with pytest.raises(ArtifactError, match="refusing to load") as e:
        load_model(LoadRequest(crafted, "torch-export", None, "cpu", "float32", ()))
    assert "could run code" in str(e.value)
    assert not marker.exists()


def test_an_honest_export_still_loads(tmp_path: Path) -> None:
    good = _exported(tmp_path)
    check_export_archive(str(good))
    model = load_model(LoadRequest(good, "torch-export", None, "cpu", "float32", ()))
    assert [s.name for s in model.inputs]
