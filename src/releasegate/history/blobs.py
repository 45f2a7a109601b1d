"""What a historical release file said: version, digest and name, read from its blob.

Blobs are content-addressed, so a summary never goes stale: summaries are cached in
``.git/releasegate/blob-summaries.json``. Old blobs are read leniently (a file that no
longer parses is reported as such, it does not stop the history from being told).
"""
from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from releasegate.history.git import Git

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
CACHE_FORMAT = 1


@dataclass(frozen=True)
class BlobInfo:
    """The identity fields of one release file version (None where absent or unreadable)."""

    version: str | None
    digest: str | None
    name: str | None
    error: str | None = None


def summarise(data: bytes) -> BlobInfo:
    """Read ``spec.model.version``, ``spec.model.artifact.sha256`` and ``metadata.name``."""
    try:
        doc = yaml.load(data.decode("utf-8"), Loader=_Loader)
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        return BlobInfo(None, None, None, f"not valid YAML: {str(e).splitlines()[0]}")
    if not isinstance(doc, dict):
        return BlobInfo(None, None, None, "not a YAML mapping")
    model = _get(doc, "spec", "model")
    artifact = _get(model, "artifact")
    return BlobInfo(_str(_get(model, "version")), _str(_get(artifact, "sha256")), _str(_get(doc, "metadata", "name")))


def _get(node: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _str(value: object) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value)


class BlobSummaries:
    """Summaries by blob id, read through one ``cat-file --batch`` call and cached on disk."""

    def __init__(self, git: Git, use_cache: bool = True) -> None:
        self.git = git
        self.path = git.git_dir() / "releasegate" / "blob-summaries.json" if use_cache else None
        self.known: dict[str, BlobInfo] = self._load()
        self.dirty = False

    def get(self, oids: Iterable[str | None]) -> dict[str, BlobInfo]:
        wanted = {o for o in oids if o}
        missing = [o for o in wanted if o not in self.known]
        if missing:
            for oid, data in self.git.cat_blobs(missing).items():
                self.known[oid] = summarise(data)
            self.dirty = True
        return {o: self.known.get(o, BlobInfo(None, None, None, "blob missing")) for o in wanted}

    def save(self) -> None:
        if not (self.dirty and self.path):
            return
        rows = {k: [v.version, v.digest, v.name, v.error] for k, v in self.known.items()}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".blob-summaries.")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump({"format": CACHE_FORMAT, "blobs": rows}, f, separators=(",", ":"))
                os.replace(tmp, self.path)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        except OSError:
            return  # a read-only .git only costs speed
        self.dirty = False

    def _load(self) -> dict[str, BlobInfo]:
        if self.path is None:
            return {}
        try:
            data = json.loads(Path(self.path).read_text(encoding="utf-8"))
            if data.get("format") != CACHE_FORMAT:
                return {}
            return {k: BlobInfo(*v) for k, v in data["blobs"].items()}
        except (OSError, ValueError, KeyError, TypeError):
            return {}
