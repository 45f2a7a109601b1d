"""Copy the model block of one release file into another, keeping the target's formatting.

Only ``spec.model`` travels from the source environment (version, artifact, lineage,
metrics, signature: what identifies the model); everything else of the target file
(metadata, runtime, rollout, slo, loadTest) stays as the target environment has it,
except where the promotion starts a canary: with ``strategy: canary`` and ``steps``,
``canaryPercent`` becomes the first step's weight, and on the builtin runtime
``spec.rollout.stable`` becomes the outgoing version (the one the canary runs beside).
ruamel.yaml round-trips the target, so its comments, key order and quoting survive;
values are only touched where they change.
"""
from __future__ import annotations

import copy
import io
from typing import Any

import yaml as pyyaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

from releasegate.errors import InputError

TRAVELS = ("spec", "model")
# (mapping indent, sequence indent, sequence dash offset): the usual house styles.
_INDENTS = ((2, 2, 0), (2, 4, 2), (4, 4, 2), (4, 6, 4), (2, 4, 0), (4, 4, 0))


def promoted_text(source: str, target: str | None, source_name: str, target_name: str) -> str:
    """The target file with the source's ``spec.model``; the source verbatim when there is no target."""
    if target is None:
        return source
    src = _load(source, source_name)
    yaml, dst = roundtrip(target, target_name)
    model = _dig(src, TRAVELS)
    if not isinstance(model, CommentedMap):
        raise InputError(f"{source_name}: has no spec.model mapping to promote", "fix the source release file")
    spec = _dig(dst, TRAVELS[:1])
    if not isinstance(spec, CommentedMap):
        raise InputError(f"{target_name}: has no spec mapping to write into", "fix the target release file")
    outgoing = copy.deepcopy(spec.get("model"))
    if isinstance(spec.get("model"), CommentedMap):
        merge(spec["model"], model)
    else:
        spec["model"] = model
    _start_canary(spec, outgoing)
    return dump(yaml, dst)


def _start_canary(spec: CommentedMap, outgoing: Any) -> None:
    """A new version in a canary environment starts a canary at the first step.

    With ``steps``, ``canaryPercent`` := the first step's weight. On the builtin runtime the
    canary runs beside the version it replaces: ``rollout.stable`` := the outgoing model
    (KServe keeps its previous revision itself). Nothing changes when the version stays.
    """
    rollout, runtime = spec.get("rollout"), spec.get("runtime")
    if not isinstance(rollout, CommentedMap) or not isinstance(outgoing, CommentedMap):
        return
    if _plain(outgoing.get("version")) == _plain(_dig(spec, ("model", "version"))):
        return
    builtin = isinstance(runtime, CommentedMap) and runtime.get("kind") == "builtin"
    canary = rollout.get("strategy") == "canary"
    first = _first_weight(rollout.get("steps")) if canary else None
    if first is not None:
        put_after(rollout, "canaryPercent", first, "steps")
    if "stable" not in rollout and not (canary and builtin):
        return
    stable = CommentedMap([("version", outgoing.get("version")), ("artifact", outgoing.get("artifact"))])
    if isinstance(rollout.get("stable"), CommentedMap):
        merge(rollout["stable"], stable)
    else:
        put_after(rollout, "stable", stable, "canaryPercent")


def _first_weight(steps: Any) -> int | None:
    first = steps[0] if isinstance(steps, list) and steps else None
    weight = first.get("weight") if isinstance(first, dict) else None
    return weight if isinstance(weight, int) and not isinstance(weight, bool) else None


def put_after(mapping: CommentedMap, key: str, value: Any, after: str) -> None:
    """Set ``key``: in place when it exists, else right after ``after`` (or at the end)."""
    if key in mapping:
        mapping[key] = value
        return
    keys = list(mapping)
    mapping.insert(keys.index(after) + 1 if after in keys else len(keys), key, value)


def merge(target: CommentedMap, source: CommentedMap) -> None:
    """Make ``target`` equal ``source`` in content, changing as little of ``target`` as possible."""
    for key in [k for k in target if k not in source]:
        del target[key]
    previous = None
    for key, value in source.items():
        if key not in target:
            position = list(target).index(previous) + 1 if previous in target else 0
            target.insert(position, key, value)
        elif isinstance(target[key], CommentedMap) and isinstance(value, CommentedMap):
            merge(target[key], value)
        elif _plain(target[key]) != _plain(value) or type(_plain(value)) is not type(_plain(target[key])):
            target[key] = _styled_like(value, target[key])
        previous = key


def _plain(value: Any) -> Any:
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (CommentedMap, dict)):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (CommentedSeq, list)):
        return [_plain(v) for v in value]
    return value


def _styled_like(value: Any, old: Any) -> Any:
    """``value`` written in the quoting style ``old`` had, when that keeps it a string."""
    if not isinstance(value, str) or not isinstance(old, str):
        return value
    for style in (DoubleQuotedScalarString, SingleQuotedScalarString):
        if isinstance(old, style):
            return style(str(value))
    if _plain_scalar_is_string(str(value)):
        return str(value)
    return value


def _plain_scalar_is_string(text: str) -> bool:
    try:
        return pyyaml.safe_load(text) == text
    except pyyaml.YAMLError:
        return False


def _dig(node: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _load(text: str, name: str) -> Any:
    try:
        return _yaml(2, 2, 0).load(text)
    except YAMLError as e:
        raise InputError(f"{name}: cannot be read as YAML: {str(e).splitlines()[0]}", "fix the file") from e


def _yaml(mapping: int, sequence: int, offset: int) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


def roundtrip(text: str, name: str) -> tuple[YAML, Any]:
    """A loader/dumper whose indentation reproduces ``text`` unchanged (or the closest one)."""
    best: tuple[int, YAML, Any] | None = None
    for indents in _INDENTS:
        yaml = _yaml(*indents)
        yaml.explicit_start = text.lstrip().startswith("---")
        try:
            doc = yaml.load(text)
        except YAMLError as e:
            raise InputError(f"{name}: cannot be read as YAML: {str(e).splitlines()[0]}", "fix the file") from e
        changed = _distance(dump(yaml, doc), text)
        if changed == 0:
            return yaml, yaml.load(text)
        if best is None or changed < best[0]:
            best = (changed, yaml, yaml.load(text))
    assert best is not None  # _INDENTS is not empty
    return best[1], best[2]


def _distance(a: str, b: str) -> int:
    la, lb = a.splitlines(), b.splitlines()
    return sum(x != y for x, y in zip(la, lb)) + abs(len(la) - len(lb))


def dump(yaml: YAML, doc: Any) -> str:
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()
