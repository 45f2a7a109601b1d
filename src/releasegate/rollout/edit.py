"""Write a canary's next step, its completion or its abort into the release file's text.

The file is edited with the same ruamel.yaml round trip as ``promote`` (:mod:`releasegate.promote.edit`):
comments, key order and quoting survive, and only what changes is touched.
"""
from __future__ import annotations

from typing import Any

from ruamel.yaml.comments import CommentedMap

from releasegate.errors import InputError
from releasegate.promote.edit import dump, merge, roundtrip


def with_weight(text: str, name: str, weight: int) -> str:
    """The file with ``spec.rollout.canaryPercent: weight`` (the next step, or 0: an aborted KServe canary)."""
    yaml, doc = roundtrip(text, name)
    _rollout(doc, name)["canaryPercent"] = weight
    return dump(yaml, doc)


def at_rest(text: str, name: str, model_from: str | None = None) -> str:
    """The file with no canary running: ``canaryPercent`` and ``stable`` go (a canary without steps
    becomes ``strategy: rolling``). ``model_from`` (abort) is a release file whose ``spec.model``
    replaces this one's; without it (complete) the canary's model stays."""
    yaml, doc = roundtrip(text, name)
    rollout = _rollout(doc, name)
    for key in ("canaryPercent", "stable"):
        if key in rollout:
            del rollout[key]
    if not rollout.get("steps"):
        rollout["strategy"] = "rolling"
    if model_from is not None:
        _, other = roundtrip(model_from, name)
        model, spec = _mapping(other, ("spec", "model")), _mapping(doc, ("spec",))
        if model is None or spec is None:
            raise InputError(f"{name}: has no spec.model to restore", "restore the file by hand")
        if isinstance(spec.get("model"), CommentedMap):
            merge(spec["model"], model)
        else:
            spec["model"] = model
    return dump(yaml, doc)


def _mapping(node: Any, keys: tuple[str, ...]) -> CommentedMap | None:
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, CommentedMap) else None


def _rollout(doc: Any, name: str) -> CommentedMap:
    rollout = _mapping(doc, ("spec", "rollout"))
    if rollout is None:
        raise InputError(f"{name}: has no spec.rollout mapping", "a canary is described under spec.rollout")
    return rollout
