"""Release files as the renderer reads them (through the foundation's safe loader)."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from releasegate.errors import InputError
from releasegate.layout import RELEASE_SUFFIX, RepoLayout
from releasegate.release import Release, load_release
from releasegate.render.problems import Problem
from releasegate.yamlio import YamlDocument, YamlError


def release_paths(layout: RepoLayout, env: str) -> list[Path]:
    folder = layout.releases_dir(env)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.endswith(RELEASE_SUFFIX) and p.is_file())


def read_release(layout: RepoLayout, path: Path) -> tuple[Release | None, list[Problem]]:
    """The parsed release file, or the problem that keeps it from being read."""
    try:
        return load_release(layout, path), []
    except YamlError as e:
        return None, [Problem(e.source, (), "render.yaml", f"cannot read the release file: {e.problem}",
                              e.hint or "fix the YAML", e.line, e.column)]
    except InputError as e:
        return None, [Problem(layout.relative(path), (), "render.yaml", e.message, e.hint or "fix the file")]


def positioned(problems: list[Problem], document: YamlDocument) -> list[Problem]:
    """``problems`` with the line and column of their path in ``document``."""
    out = []
    for p in problems:
        if p.line is None:
            line, column = document.position(p.path)
            p = replace(p, line=line, column=column)
        out.append(p)
    return out
