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
from releasegate.rollout.state import Rollout, Step

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
CACHE_FORMAT = 3
_INT, _FLOAT = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"


@dataclass(frozen=True)
class BlobInfo:
    """The identity fields of one release file version (None where absent or unreadable),
    and where its rollout stands (a canary's step and weight)."""

    version: str | None
    digest: str | None
    name: str | None
    error: str | None = None
    rollout: Rollout | None = None


def summarise(data: bytes) -> BlobInfo:
    """Read ``spec.model.version``, ``spec.model.artifact.sha256``, ``metadata.name`` and ``spec.rollout``.

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
                    _scalar(_get(root, "metadata", "name")), None, _rollout(_get(root, "spec", "rollout")))


def _rollout(node: yaml.Node | None) -> Rollout:
    """As :func:`releasegate.rollout.state.read_rollout` reads it, from the composed nodes."""
    steps = []
    items = _get(node, "steps")
    for item in items.value if isinstance(items, yaml.SequenceNode) else []:
        weight = _number(_get(item, "weight"), (_INT,))
        if weight is not None:
            hold = _number(_get(item, "holdMinutes"), (_INT, _FLOAT))
            steps.append(Step(int(weight), float(hold or 0)))
    weight = _number(_get(node, "canaryPercent"), (_INT,))
    return Rollout(_scalar(_get(node, "strategy")) or "rolling", tuple(steps),
                   None if weight is None else int(weight), _scalar(_get(node, "stable", "version")))


def _number(node: yaml.Node | None, tags: tuple[str, ...]) -> float | None:
    if not isinstance(node, yaml.ScalarNode) or node.tag not in tags:
        return None
    try:
        value = yaml.load(node.value, Loader=_Loader)
    except yaml.YAMLError:
        return None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


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
        rows = {k: [v.version, v.digest, v.name, v.error, rollout_row(v.rollout)] for k, v in self.known.items()}
        write_json(self.path, {"format": CACHE_FORMAT, "blobs": rows})
        self.dirty = False

    def _load(self) -> dict[str, BlobInfo]:
        if self.path is None:
            return {}
        try:
            data = json.loads(Path(self.path).read_text(encoding="utf-8"))
            if data.get("format") != CACHE_FORMAT:
                return {}
            return {k: BlobInfo(v[0], v[1], v[2], v[3], rollout_from_row(v[4])) for k, v in data["blobs"].items()}
        except (OSError, ValueError, KeyError, TypeError):
            return {}


def rollout_row(rollout: Rollout | None) -> list[Any] | None:
    """A rollout as JSON for the caches: ``[strategy, [[weight, holdMinutes], ...], canaryPercent, stable]``."""
    if rollout is None:
        return None
    return [rollout.strategy, [[s.weight, s.hold_minutes] for s in rollout.steps], rollout.weight,
            rollout.stable_version]


def rollout_from_row(row: list[Any] | None) -> Rollout | None:
    if row is None:
        return None
    strategy, steps, weight, stable = row
    return Rollout(strategy, tuple(Step(int(w), float(h)) for w, h in steps), weight, stable)
