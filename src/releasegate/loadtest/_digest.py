"""TEMPORARY stand-in for ``releasegate.serve.artifact.sha256_file`` / ``verify_digest``.

Used only until the serve package lands in main; then this module re-exports those.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from releasegate.errors import InputError

try:  # pragma: no cover - depends on what main has
    from releasegate.serve.artifact import sha256_file, verify_digest  # noqa: F401
except ImportError:

    def sha256_file(path: Path | str) -> str:  # type: ignore[misc]
        digest = hashlib.sha256()
        try:
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
        except OSError as e:
            raise InputError(f"{path}: cannot read the model artifact ({e.strerror or e})") from e
        return digest.hexdigest()

    def verify_digest(path: Path | str, expected: str) -> None:  # type: ignore[misc]
        actual = sha256_file(path)
        if actual != expected.strip().lower().removeprefix("sha256:"):
            raise InputError(f"{path}: sha256 mismatch: expected {expected}, actual {actual}")
