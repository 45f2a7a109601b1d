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
``artifact-outside-roots``, ``digest-mismatch``, ``no-digest``, and for signatures
``signature-missing``, ``untrusted-signer``, ``signature-mismatch``, ``signature-invalid``,
``certificate-expired`` ...): the release's verdict is ``error`` with the reason, and nothing is loaded.

Signatures: when the environment names trusted signers (:class:`SignatureTrust`, from the base
policy), the bundle in ``spec.model.artifact.signature`` is reached through the same fences
(inside the repository or the roots, or fetched into the cache under its own sha256), checked
against its sha256, and verified with OpenSSF model-signing before the model is handed on.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from releasegate.child_env import child_env
from releasegate.command import run
from releasegate.digests import is_sha256, verify_digest
from releasegate.errors import ReleasegateError, SignatureError, SignatureInputError
from releasegate.loadtest.errors import LoadTestError
from releasegate.policy import ArtifactPolicy
from releasegate.signing.trust import SignerSpec

log = logging.getLogger(__name__)

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
    signed_by: str | None = None  # the trusted signer whose signature verified, if one was checked


@dataclass(frozen=True)
class SignatureTrust:
    """Whose signatures the artifact of an environment must carry (from the base policy pack)."""

    scope: str  # the environment, for messages
    signers: tuple[SignerSpec, ...]
    required: bool  # a release without a signature is refused


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


def reachable(uri: str, sha256: str | None, root: Path) -> Path | None:
    """The local copy of ``uri`` without fetching anything, else None.

    A path or ``file://`` URI inside the repository (links resolved), or a remote URI already in
    the cache (``$RELEASEGATE_ARTIFACT_CACHE/<sha256>``). ``validate`` reads only these.
    """
    scheme = urlsplit(uri).scheme if "://" in uri else ""
    if scheme and scheme != "file":
        cache_env = os.environ.get(CACHE_ENV)
        cached = Path(cache_env) / sha256 if cache_env and is_sha256(sha256) else None
        return cached if cached is not None and cached.is_file() else None
    text = uri[len("file://"):] if uri.startswith("file://") else uri
    real = (root / text).resolve()
    inside = not Path(text).is_absolute() and root.resolve() in real.parents
    return real if inside and real.is_file() and ".git" not in real.relative_to(root.resolve()).parts else None


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
          policy: ArtifactPolicy | None = None, trust: SignatureTrust | None = None) -> Artifact:
    """Locate and verify the artifact of the release ``data`` (from file ``source``), and its
    signature when ``trust`` names signers."""
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
    signer = verify_signature(data, source, root, work_dir, policy, trust, path, sha) if trust else None
    return Artifact(uri, path, sha, fmt, factory if isinstance(factory, str) else None, signer)


def verify_signature(data: dict[str, Any], source: str, root: Path, work_dir: Path, policy: ArtifactPolicy,
                     trust: SignatureTrust, artifact: Path, sha256: str) -> str | None:
    """The signer of the (already digest-verified) ``artifact``; None when nothing is to be checked."""
    block = ((data.get("spec") or {}).get("model", {}).get("artifact") or {}).get("signature")
    if not isinstance(block, dict):
        if trust.required:
            raise LoadTestError(f"{source}: spec.model.artifact.signature is missing; {trust.scope} only loads models "
                                "signed by its trusted signers", "sign the model and name the bundle in the release",
                                code="signature-missing")
        return None
    if not trust.signers:
        log.info("%s: %s names no signers; the signature is not checked", source, trust.scope)
        return None
    uri, digest = block.get("uri"), block.get("sha256")
    if not isinstance(uri, str) or not is_sha256(digest):
        raise LoadTestError(f"{source}: spec.model.artifact.signature needs uri and a 64-hex sha256",
                            "name the bundle and its sha256", code="signature-invalid")
    from releasegate.signing.bundle import read_bundle
    from releasegate.signing.model import load_signers, verify_model

    bundle_path = locate(uri, digest, root, work_dir, policy)
    try:
        bundle = read_bundle(bundle_path, uri, digest)
        verified = verify_model(bundle, load_signers(trust.signers), now=datetime.now(timezone.utc), pinned=sha256,
                                scope=trust.scope, artifact=artifact, artifact_checked=True)
    except (SignatureError, SignatureInputError) as e:
        raise LoadTestError(e.message, e.hint, code=e.code) from e
    return verified.signer
