"""What a historical release file said: version, digest and name, read from its blob.

Blobs are content-addressed, so a summary never goes stale: summaries are cached in
``.git/releasegate/blob-summaries.json``. Old blobs are read leniently (a file that no
longer parses is reported as such, it does not stop the history from being told).
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from releasegate.history.git import Git
from releasegate.history.jsonfile import write_json

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
CACHE_FORMAT = 2


@dataclass(frozen=True)
class BlobInfo:
    """The identity fields of one release file version (None where absent or unreadable)."""

    version: str | None
    digest: str | None
    name: str | None
    error: str | None = None


def summarise(data: bytes) -> BlobInfo:
    """Read ``spec.model.version``, ``spec.model.artifact.sha256`` and ``metadata.name``.

    The document is only composed (libyaml), not constructed: 2-3x faster, and a scalar
    is reported as written (``1.10`` stays ``1.10``).
    """
    try:
        root = yaml.compose(data.decode("utf-8"), Loader=_Loader)
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        return BlobInfo(None, None, None, f"not valid YAML: {str(e).splitlines()[0]}")
    if not isinstance(root, yaml.MappingNode):
        return BlobInfo(None, None, None, "not a YAML mapping")
    model = _get(root, "spec", "model")
    return BlobInfo(_scalar(_get(model, "version")), _scalar(_get(model, "artifact", "sha256")),
                    _scalar(_get(root, "metadata", "name")))


def _get(node: yaml.Node | None, *keys: str) -> yaml.Node | None:
    for key in keys:
        if not isinstance(node, yaml.MappingNode):
            return None
        found = [v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == key]
        node = found[-1] if found else None
    return node


def _scalar(node: yaml.Node | None) -> str | None:
    if not isinstance(node, yaml.ScalarNode) or node.tag == "tag:yaml.org,2002:null":
        return None
    return str(node.value)


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
        write_json(self.path, {"format": CACHE_FORMAT, "blobs": rows})
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
