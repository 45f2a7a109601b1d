"""Artifacts: local paths, file:// URIs, staged remote URIs, the fetcher hook, digests."""
from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from releasegate.loadtest.artifacts import fetch
from releasegate.loadtest.errors import LoadTestError

DATA = b"model bytes"
SHA = hashlib.sha256(DATA).hexdigest()


def _release(uri: str, sha: str | None = SHA) -> dict:  # type: ignore[type-arg]
    artifact = {"uri": uri, "format": "torchscript"}
    if sha:
        artifact["sha256"] = sha
    return {"spec": {"model": {"artifact": artifact}}}


@pytest.mark.parametrize("uri", ["models/m.pt", "file://models/m.pt"])
def test_relative_paths_are_from_the_repository_root(tmp_path: Path, uri: str) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "m.pt").write_bytes(DATA)
    art = fetch(_release(uri), "r.yaml", tmp_path, tmp_path / "work")
    assert art.path == tmp_path / "models" / "m.pt" and art.sha256 == SHA and art.format == "torchscript"


def test_absolute_file_uri(tmp_path: Path) -> None:
    (tmp_path / "m.pt").write_bytes(DATA)
    assert fetch(_release(f"file://{tmp_path}/m.pt"), "r", Path("/nonexistent"), tmp_path).path == tmp_path / "m.pt"


def test_remote_uri_from_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / SHA).write_bytes(DATA)
    monkeypatch.setenv("RELEASEGATE_ARTIFACT_CACHE", str(tmp_path))
    assert fetch(_release("s3://bucket/m.pt"), "r", tmp_path, tmp_path).path == tmp_path / SHA


def test_remote_uri_through_the_fetcher(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fetcher = tmp_path / "fetch.sh"
    fetcher.write_text(f"#!/bin/sh\nprintf '{DATA.decode()}' > \"$2\"\necho \"$1\" > {tmp_path}/asked\n")
    fetcher.chmod(fetcher.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("RELEASEGATE_ARTIFACT_FETCHER", str(fetcher))
    art = fetch(_release("https://models.example/m.pt"), "r", tmp_path, tmp_path / "work")
    assert art.path == tmp_path / "work" / "artifacts" / SHA
    assert (tmp_path / "asked").read_text().strip() == "https://models.example/m.pt"


@pytest.mark.parametrize(("release", "code", "fragment"), [
    (_release("models/none.pt"), "artifact-unreachable", "is not a file"),
    (_release("gs://b/m.pt"), "artifact-unreachable", "RELEASEGATE_ARTIFACT_CACHE is not set"),
    (_release("models/m.pt", sha=None), "no-digest", "only loads verified artifacts"),
    (_release("models/m.pt", sha="f" * 64), "digest-mismatch", "sha256 mismatch"),
])
def test_failures_have_codes(tmp_path: Path, release: dict, code: str, fragment: str,  # type: ignore[type-arg]
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RELEASEGATE_ARTIFACT_CACHE", raising=False)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "m.pt").write_bytes(DATA)
    with pytest.raises(LoadTestError) as e:
        fetch(release, "r.yaml", tmp_path, tmp_path / "work")
    assert e.value.code == code and fragment in str(e.value)
    assert os.listdir(tmp_path) == ["models"]  # nothing half-written
