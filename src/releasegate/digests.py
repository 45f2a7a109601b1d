"""SHA-256 digests: the one check of their form, and of a file against one.

A digest that reaches any use (a cache file name, a comparison, a report) has passed
:func:`is_sha256` first.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TypeGuard

from releasegate.errors import ArtifactError

_HEX64 = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1 << 20


def is_sha256(value: object) -> TypeGuard[str]:
    """Whether ``value`` is a sha256 digest as release files write it: 64 lowercase hex characters."""
    return isinstance(value, str) and _HEX64.fullmatch(value) is not None


def sha256_file(path: Path | str) -> str:
    """The lowercase hex sha256 of the file at ``path`` (read in 1 MiB chunks)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(_CHUNK), b""):
                digest.update(chunk)
    except OSError as e:
        raise ArtifactError(
            f"{path}: cannot read the model artifact ({e.strerror or e})",
            "check the path and that the file is readable",
        ) from e
    return digest.hexdigest()


def normalize_digest(expected: str) -> str:
    """``expected`` as 64 lowercase hex digits (an optional ``sha256:`` prefix is dropped)."""
    value = expected.strip().lower()
    if value.startswith("sha256:"):
        value = value[len("sha256:"):]
    if not is_sha256(value):
        raise ArtifactError(
            f"--sha256: {expected!r} is not a sha256 digest (64 hex digits)",
            "compute it with `sha256sum FILE` and pass the first column",
        )
    return value


def verify_digest(path: Path | str, expected: str) -> None:
    """Raise :class:`ArtifactError` (expected vs actual) unless ``path`` has sha256 ``expected``."""
    want = normalize_digest(expected)
    actual = sha256_file(path)
    if actual != want:
        raise ArtifactError(
            f"{path}: sha256 mismatch: expected {want}, actual {actual}; refusing to load it",
            "the file is not the artifact the release names: fetch it again, or fix the digest",
        )
