"""Line and column of a problem's JSON path in its release file (for annotations)."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import yaml

from releasegate.render.problems import PathPart, Problem


def _node_at(root: yaml.Node, path: tuple[PathPart, ...]) -> yaml.Node:
    """The node at ``path``, or the deepest existing ancestor (for missing fields)."""
    node = root
    for part in path:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        if child is None:
            return node
        node = child
    return node


def locate(root: Path, problems: list[Problem]) -> list[Problem]:
    """``problems`` with line and column filled in where the file can be read."""
    cache: dict[str, yaml.Node | None] = {}
    out = []
    for p in problems:
        if p.file not in cache:
            try:
                cache[p.file] = yaml.compose((root / p.file).read_bytes(), Loader=yaml.CSafeLoader)
            except (OSError, yaml.YAMLError):
                cache[p.file] = None
        node = cache[p.file]
        if node is None or p.line is not None:
            out.append(p)
            continue
        target = _node_at(node, p.path)
        out.append(replace(p, line=target.start_mark.line + 1, column=target.start_mark.column + 1))
    return out
