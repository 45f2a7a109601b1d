"""Find a release's model artifact on this machine and verify its sha256 before anything loads it.

The URI comes from a pull request, so every way of reaching a file is fenced in by the
base policy's ``artifacts:`` section (:class:`releasegate.policy.ArtifactPolicy`):

* a path or ``file://`` URI resolves (links followed) inside the repository or inside one
  of ``artifacts.roots``; anything else is refused without reading it, so the report can
  never become an oracle for other files on the runner;
* a remote URI must use one of ``artifacts.schemes``. It is taken from the cache
  (``RELEASEGATE_ARTIFACT_CACHE``, else the run's work folder) under its digest, else fetched:
  by the program ``RELEASEGATE_ARTIFACT_FETCHER`` (called as ``PROGRAM URI DEST``, no shell,
  with a scrubbed environment plus the variables ``artifacts.fetcherEnv`` names), or for
  ``http(s)`` by the built-in fetcher (:mod:`releasegate.loadtest.download`), which refuses
  private, loopback and link-local addresses unless ``artifacts.allowHosts`` names the host;
* the digest is checked to be 64 lowercase hex before it is used as a file name, files
  larger than ``artifacts.maxBytes`` are refused, and a cache entry with the wrong digest is
  deleted so that it cannot block later runs.

A problem is a :class:`LoadTestError` with a code (``artifact-unreachable``,
``artifact-outside-roots``, ``digest-mismatch``, ``no-digest``): the release's verdict is
``error`` with the reason, and nothing is loaded.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from releasegate.child_env import child_env
from releasegate.command import run
from releasegate.digests import is_sha256, verify_digest
from releasegate.errors import ReleasegateError
from releasegate.loadtest.errors import LoadTestError
from releasegate.policy import ArtifactPolicy

CACHE_ENV = "RELEASEGATE_ARTIFACT_CACHE"
FETCHER_ENV = "RELEASEGATE_ARTIFACT_FETCHER"
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


def locate(uri: str, sha256: str, root: Path, work_dir: Path, policy: ArtifactPolicy) -> Path:
    """The local file for ``uri``: inside the allowed roots, or fetched into the cache."""
    scheme = urlsplit(uri).scheme if "://" in uri else ""
    if scheme and scheme != "file":
        if scheme not in policy.schemes:
            raise LoadTestError(f"artifact refused: {uri}: scheme {scheme}:// is not allowed",
                                f"use one of {', '.join(policy.schemes) or '(none)'} (artifacts.schemes in the policy pack)",
                                code="artifact-unreachable")
        return _remote(uri, sha256, work_dir, policy)
    return _local(uri, root, policy)


def _local(uri: str, root: Path, policy: ArtifactPolicy) -> Path:
    text = uri[len("file://"):] if uri.startswith("file://") else uri
    path = Path(text) if Path(text).is_absolute() else root / text
    real = path.resolve()
    allowed = [root.resolve(), *(Path(r).resolve() for r in policy.roots)]
    if not any(real == a or a in real.parents for a in allowed):
        raise LoadTestError(
            f"artifact refused: {uri} is outside the repository and the artifact roots",
            "commit the model file into the repository, stage it in the artifact cache, or add its folder to "
            "artifacts.roots in the base policy pack",
            code="artifact-outside-roots",
        )
    if not real.is_file():
        raise LoadTestError(
            f"artifact unreachable: {uri} ({path} is not a file)",
            "commit or stage the model file, or fix spec.model.artifact.uri "
            "(paths and file:// URIs are relative to the repository root)",
            code="artifact-unreachable",
        )
    _check_size(real, uri, policy)
    return real


def _remote(uri: str, sha256: str, work_dir: Path, policy: ArtifactPolicy) -> Path:
    cache_env = os.environ.get(CACHE_ENV)
    cache = Path(cache_env) if cache_env else work_dir / "artifacts"
    dest = cache / sha256  # sha256 is 64 hex here (checked by fetch), never a path
    if dest.is_file():
        return dest
    fetcher = os.environ.get(FETCHER_ENV)
    if fetcher:
        cache.mkdir(parents=True, exist_ok=True)
        _run_fetcher(fetcher, uri, dest, policy)
    elif urlsplit(uri).scheme in ("http", "https"):
        from releasegate.loadtest.download import download

        cache.mkdir(parents=True, exist_ok=True)
        download(uri, dest, policy)
    if dest.is_file():
        _check_size(dest, uri, policy, remove=True)
        return dest
    where = f"{cache}/{sha256}" if cache_env else f"{dest} ({CACHE_ENV} is not set)"
    raise LoadTestError(
        f"artifact unreachable: {uri} is not staged at {where}",
        f"have CI copy the file to ${CACHE_ENV}/{sha256} before the gate runs, or set {FETCHER_ENV} "
        "to a program called as PROGRAM URI DEST",
        code="artifact-unreachable",
    )


def _run_fetcher(fetcher: str, uri: str, dest: Path, policy: ArtifactPolicy) -> None:
    try:
        run([fetcher, uri, str(dest)], timeout=FETCH_TIMEOUT_SECONDS,
            replace_env=child_env(passthrough=policy.fetcher_env))
    except ReleasegateError as e:
        dest.unlink(missing_ok=True)
        raise LoadTestError(f"artifact unreachable: {uri}: the fetcher failed: {e.message}",
                            f"check {FETCHER_ENV}={fetcher}", code="artifact-unreachable") from e


def _check_size(path: Path, uri: str, policy: ArtifactPolicy, *, remove: bool = False) -> None:
    size = path.stat().st_size
    if size > policy.max_bytes:
        if remove:
            path.unlink(missing_ok=True)
        raise LoadTestError(f"artifact refused: {uri} is {size:,} bytes, more than artifacts.maxBytes ({policy.max_bytes:,})",
                            "raise artifacts.maxBytes in the base policy pack if the model really is that large",
                            code="artifact-unreachable")


def verify(path: Path, expected: str, uri: str, *, cached: bool) -> None:
    """Raise ``digest-mismatch`` unless ``path`` has sha256 ``expected``; a bad cache entry is deleted."""
    try:
        verify_digest(path, expected)
    except ReleasegateError as e:
        if cached:
            path.unlink(missing_ok=True)  # a wrong download must not block the next run
        raise LoadTestError(
            f"digest mismatch for {uri}: {e.message}" + (" (the cached copy was removed)" if cached else ""),
            "the file is not the artifact the release names: fix spec.model.artifact.sha256 or the file",
            code="digest-mismatch",
        ) from e


def fetch(data: dict[str, Any], source: str, root: Path, work_dir: Path,
          policy: ArtifactPolicy | None = None) -> Artifact:
    """Locate and verify the artifact of the release ``data`` (from file ``source``)."""
    policy = policy or ArtifactPolicy()
    uri, sha, fmt, factory = artifact_fields(data, source)
    if sha is None:
        raise LoadTestError(
            f"{source}: spec.model.artifact.sha256 is missing; the gate only loads verified artifacts",
            "add the artifact's sha256 (sha256sum FILE)",
            code="no-digest",
        )
    if not is_sha256(sha):
        raise LoadTestError(f"{source}: spec.model.artifact.sha256 {sha[:80]!r} is not 64 lowercase hex characters",
                            "write the first column of `sha256sum FILE`", code="no-digest")
    path = locate(uri, sha, root, work_dir, policy)
    verify(path, sha, uri, cached="://" in uri and not uri.startswith("file://"))
    return Artifact(uri, path, sha, fmt, factory if isinstance(factory, str) else None)
