"""Find a release's model artifact on this machine and verify its sha256 before anything loads it.

``spec.model.artifact.uri`` may be

* a path or ``file://`` URI: relative to the repository root (``file://models/m.pt2``,
  ``models/m.pt2``) or absolute (``file:///srv/models/m.pt2``);
* ``https://``, ``s3://`` or ``gs://``: releasegate downloads nothing itself. CI stages the
  file first, and the gate looks for it in the directory ``RELEASEGATE_ARTIFACT_CACHE``
  under its digest, ``<cache>/<sha256>``; or, when ``RELEASEGATE_ARTIFACT_FETCHER`` names a
  program, runs ``<program> URI DEST`` (no shell) and expects the file at ``DEST``.

A file that is missing, unreadable or has another digest is a :class:`LoadTestError`
(``artifact-unreachable`` / ``digest-mismatch`` / ``no-digest``): the gate fails with the
reason and nothing is loaded.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from releasegate.command import run
from releasegate.errors import ReleasegateError
from releasegate.loadtest.errors import LoadTestError

CACHE_ENV = "RELEASEGATE_ARTIFACT_CACHE"
FETCHER_ENV = "RELEASEGATE_ARTIFACT_FETCHER"
REMOTE_SCHEMES = ("https://", "s3://", "gs://")
FETCH_TIMEOUT_SECONDS = 1800.0


@dataclass(frozen=True)
class Artifact:
    """A verified artifact file."""

    uri: str
    path: Path
    sha256: str
    format: str
    factory: str | None


def artifact_fields(data: dict[str, Any], source: str) -> tuple[str, str | None, str, str | None]:
    """``(uri, sha256, format, factory)`` of a release's ``spec.model.artifact``."""
    artifact = (data.get("spec") or {}).get("model", {}).get("artifact") or {}
    uri = artifact.get("uri")
    if not isinstance(uri, str) or not uri:
        raise LoadTestError(
            f"{source}: spec.model.artifact.uri is missing", "name the model file", code="artifact-unreachable"
        )
    sha = artifact.get("sha256")
    return uri, sha if isinstance(sha, str) else None, str(artifact.get("format", "auto")), artifact.get("factory")


def locate(uri: str, sha256: str, root: Path, work_dir: Path) -> Path:
    """The local file for ``uri`` (fetched through the hooks for remote URIs)."""
    if uri.startswith(REMOTE_SCHEMES):
        return _remote(uri, sha256, work_dir)
    text = uri[len("file://"):] if uri.startswith("file://") else uri
    path = Path(text)
    path = path if path.is_absolute() else root / path
    if not path.is_file():
        raise LoadTestError(
            f"artifact unreachable: {uri} ({path} is not a file)",
            "commit or stage the model file, or fix spec.model.artifact.uri "
            "(paths and file:// URIs are relative to the repository root)",
            code="artifact-unreachable",
        )
    return path


def _remote(uri: str, sha256: str, work_dir: Path) -> Path:
    cache = os.environ.get(CACHE_ENV)
    if cache and (Path(cache) / sha256).is_file():
        return Path(cache) / sha256
    fetcher = os.environ.get(FETCHER_ENV)
    if fetcher:
        dest = (Path(cache) if cache else work_dir / "artifacts") / sha256
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            run([fetcher, uri, str(dest)], timeout=FETCH_TIMEOUT_SECONDS)
        except ReleasegateError as e:
            raise LoadTestError(f"artifact unreachable: {uri}: the fetcher failed: {e.message}",
                                f"check {FETCHER_ENV}={fetcher}", code="artifact-unreachable") from e
        if dest.is_file():
            return dest
    where = f"{cache}/{sha256}" if cache else f"${CACHE_ENV}/<sha256> ({CACHE_ENV} is not set)"
    raise LoadTestError(
        f"artifact unreachable: {uri} is not staged at {where}",
        f"releasegate downloads nothing itself: have CI copy the file to ${CACHE_ENV}/{sha256} "
        f"before the gate runs, or set {FETCHER_ENV} to a program called as PROGRAM URI DEST",
        code="artifact-unreachable",
    )


def verify(path: Path, expected: str, uri: str) -> None:
    """Raise ``digest-mismatch`` unless ``path`` has sha256 ``expected``."""
    from releasegate.digests import verify_digest

    try:
        verify_digest(path, expected)
    except ReleasegateError as e:
        raise LoadTestError(
            f"digest mismatch for {uri}: {e.message}",
            "the file is not the artifact the release names: fix spec.model.artifact.sha256 or the file",
            code="digest-mismatch",
        ) from e


def fetch(data: dict[str, Any], source: str, root: Path, work_dir: Path) -> Artifact:
    """Locate and verify the artifact of the release ``data`` (from file ``source``)."""
    uri, sha, fmt, factory = artifact_fields(data, source)
    if sha is None:
        raise LoadTestError(
            f"{source}: spec.model.artifact.sha256 is missing; the gate only loads verified artifacts",
            "add the artifact's sha256 (sha256sum FILE)",
            code="no-digest",
        )
    path = locate(uri, sha, root, work_dir)
    verify(path, sha, uri)
    return Artifact(uri, path, sha, fmt, factory if isinstance(factory, str) else None)
