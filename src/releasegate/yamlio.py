"""Safe YAML loading that remembers where every value came from.

Release files and policy packs are JSON-shaped data written in YAML. This loader
refuses what has no place in such data (duplicate keys, anchors and aliases,
non-string keys, custom tags, several documents, non-UTF-8 bytes, huge files,
``.nan``/``.inf`` and other non-finite numbers)
with a message that names the file, line and column, and records the position of
every key and value so that policy violations can point at exact lines.
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from releasegate.errors import InputError

try:  # libyaml makes composing ~10x faster; fall back to pure Python if absent
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_YAML_BYTES = 1024 * 1024
Path_ = tuple[Hashable, ...]
Position = tuple[int, int]

_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}
_COLLECTION_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
_CONSTRUCTOR = yaml.SafeLoader("")
_SCALAR_CONSTRUCTORS = {
    "tag:yaml.org,2002:int": _CONSTRUCTOR.construct_yaml_int,
    "tag:yaml.org,2002:float": _CONSTRUCTOR.construct_yaml_float,
    "tag:yaml.org,2002:bool": _CONSTRUCTOR.construct_yaml_bool,
    "tag:yaml.org,2002:null": _CONSTRUCTOR.construct_yaml_null,
}


class YamlError(InputError):
    """A YAML file that cannot be read as JSON-shaped data."""

    def __init__(self, source: str, line: int, column: int, problem: str, hint: str) -> None:
        super().__init__(f"{source}:{line}:{column}: {problem}", hint)
        self.source = source
        self.line = line
        self.column = column
        self.problem = problem


@dataclass(frozen=True)
class YamlDocument:
    """Plain data loaded from YAML plus the 1-based (line, column) of every path."""

    source: str
    value: Any
    value_positions: dict[Path_, Position] = field(repr=False)
    key_positions: dict[Path_, Position] = field(repr=False)
    content_id: str = ""  # the Git blob id of the bytes it was parsed from (equal bytes, equal id)

    def position(self, path: Path_) -> Position:
        """Where the value at ``path`` starts, or its nearest ancestor that exists."""
        for depth in range(len(path), -1, -1):
            found = self.value_positions.get(tuple(path[:depth]))
            if found is not None:
                return found
        return (1, 1)

    def key_position(self, path: Path_) -> Position:
        """Where the key of ``path`` is written (the value's position for list items)."""
        return self.key_positions.get(tuple(path)) or self.position(path)


def load_yaml_file(path: Path, source: str | None = None, max_bytes: int = MAX_YAML_BYTES) -> YamlDocument:
    """Read and parse ``path``; ``source`` is the name used in messages."""
    name = source or str(path)
    try:
        size = path.stat().st_size
    except OSError as e:
        raise InputError(f"{name}: cannot read: {e.strerror}", "check the path") from e
    if size > max_bytes:
        raise YamlError(name, 1, 1, f"file is {size:,} bytes, larger than the {max_bytes:,}-byte limit",
                        "a release file is a few dozen lines; check that this is the right file")
    try:
        data = path.read_bytes()
    except IsADirectoryError as e:
        raise InputError(f"{name}: is a directory, expected a YAML file", "give a file path") from e
    except OSError as e:
        raise InputError(f"{name}: cannot read: {e.strerror}", "check the path and its permissions") from e
    return load_yaml_bytes(data, name, max_bytes)


def load_yaml_bytes(data: bytes, source: str, max_bytes: int = MAX_YAML_BYTES) -> YamlDocument:
    """Parse ``data`` (from ``source``) into a :class:`YamlDocument`."""
    if len(data) > max_bytes:
        raise YamlError(source, 1, 1, f"file is {len(data):,} bytes, larger than the {max_bytes:,}-byte limit",
                        "a release file is a few dozen lines; check that this is the right file")
    text = _decode(data, source)
    if not text.strip() or all(_is_comment(line) for line in text.splitlines()):
        raise YamlError(source, 1, 1, "file is empty",
                        "a release file is a YAML mapping starting with apiVersion: and kind:")
    node = _compose(text, source)
    builder = _Builder(source)
    value = builder.build(node, ())
    return YamlDocument(source, value, builder.value_positions, builder.key_positions, git_blob_id(data))


def git_blob_id(data: bytes) -> str:
    """What ``git hash-object`` prints for ``data``: equal to a committed blob's id when the bytes are equal."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _is_comment(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#") or stripped in ("---", "...")


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise YamlError(source, line, column, f"not valid UTF-8 (byte 0x{data[e.start]:02x})",
                        "save the file as UTF-8") from e


def _compose(text: str, source: str) -> yaml.Node:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.composer.ComposerError as e:
        mark = e.problem_mark or e.context_mark
        raise _error_at(source, mark, "several YAML documents in one file",
                        "keep one document per file (remove the extra '---')") from e
    except yaml.MarkedYAMLError as e:
        problem = f"invalid YAML: {e.problem}" if e.problem else "invalid YAML"
        raise _error_at(source, e.problem_mark, problem,
                        "check indentation, quoting and ':' separators near this line") from e
    except yaml.YAMLError as e:
        raise YamlError(source, 1, 1, f"invalid YAML: {e}", "check the file's syntax") from e
    finally:
        loader.dispose()
    if node is None:
        raise YamlError(source, 1, 1, "file is empty",
                        "a release file is a YAML mapping starting with apiVersion: and kind:")
    return node


def _error_at(source: str, mark: Any, problem: str, hint: str) -> YamlError:
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    return YamlError(source, line, column, problem, hint)


class _Builder:
    """Turns a composed node tree into plain data, refusing what JSON cannot hold."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.value_positions: dict[Path_, Position] = {}
        self.key_positions: dict[Path_, Position] = {}
        self._seen: set[int] = set()

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self._refuse_alias(node)
        self.value_positions[path] = _pos(node)
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _COLLECTION_TAGS:
            raise self._fail(node, f"unsupported YAML tag {node.tag}", "remove the tag; plain values only")
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalar(node)  # type: ignore[arg-type]

    def _refuse_alias(self, node: yaml.Node) -> None:
        # The composer hands out the same node object for every alias of an anchor.
        if id(node) in self._seen:
            raise self._fail(node, "YAML anchors and aliases are not allowed",
                             "write the value out in full; aliases can hide very large documents")
        self._seen.add(id(node))

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self._key(key_node)
            if key in result:
                first = self.key_positions[path + (key,)]
                raise self._fail(key_node, f"duplicate key '{key}' (first defined on line {first[0]})",
                                 "remove one of the two entries")
            self.key_positions[path + (key,)] = _pos(key_node)
            result[key] = self.build(value_node, path + (key,))
        return result

    def _key(self, node: yaml.Node) -> str:
        if node.tag == "tag:yaml.org,2002:merge":
            raise self._fail(node, "YAML merge keys ('<<') are not allowed", "write the keys out in full")
        if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:str":
            raise self._fail(node, f"key {_describe(node)} is not a string",
                             "quote the key, e.g. \"on\": instead of on:")
        return str(node.value)

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag not in _SCALAR_TAGS:
            raise self._fail(node, f"unsupported YAML tag {node.tag}", "remove the tag; plain values only")
        if node.tag == "tag:yaml.org,2002:str":
            return node.value
        if node.tag == "tag:yaml.org,2002:timestamp":
            return str(node.value)  # keep times as text, as JSON would
        try:
            value = _SCALAR_CONSTRUCTORS[node.tag](node)
        except (yaml.YAMLError, ValueError) as e:
            raise self._fail(node, f"cannot read value {node.value!r}: {e}", "quote the value") from e
        if isinstance(value, float) and not math.isfinite(value):
            # JSON has no NaN or infinity, no setting means anything by them, and render would write `nan`.
            raise self._fail(node, f"{node.value} is not a finite number",
                             f"write a finite number (a limit as large as you mean, or leave the key out for its "
                             f"default); quote it ('{node.value}') if text is meant")
        return value

    def _fail(self, node: yaml.Node, problem: str, hint: str) -> YamlError:
        line, column = _pos(node)
        return YamlError(self.source, line, column, problem, hint)


def _pos(node: yaml.Node) -> Position:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def _describe(node: yaml.Node) -> str:
    if isinstance(node, yaml.ScalarNode):
        return repr(node.value)
    return "(a mapping)" if isinstance(node, yaml.MappingNode) else "(a list)"
