"""Release files as the renderer reads them: path, environment, parsed data."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from releasegate.layout import RELEASE_SUFFIX, RepoLayout
from releasegate.render.problems import Problem


@dataclass(frozen=True)
class ReleaseSource:
    """One release file: where it is and what it says (``data`` is None when unreadable)."""

    path: str
    env: str
    stem: str
    data: Any


def release_paths(layout: RepoLayout, env: str) -> list[Path]:
    folder = layout.releases_dir(env)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix == RELEASE_SUFFIX and p.is_file())


def read_release(layout: RepoLayout, env: str, path: Path) -> tuple[ReleaseSource, list[Problem]]:
    rel = f"environments/{env}/releases/{path.name}"
    stem = path.name[: -len(RELEASE_SUFFIX)]
    try:
        data = yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        problem = Problem(rel, (), "render.yaml", f"cannot read the release file: {_one_line(e)}",
                          "fix the YAML (releasegate validate shows the exact line)")
        return ReleaseSource(rel, env, stem, None), [problem]
    return ReleaseSource(rel, env, stem, data), []


def read_releases(layout: RepoLayout, env: str, paths: Iterable[Path]) -> tuple[list[ReleaseSource], list[Problem]]:
    sources: list[ReleaseSource] = []
    problems: list[Problem] = []
    for path in paths:
        source, found = read_release(layout, env, path)
        sources.append(source)
        problems += found
    return sources, problems


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())
