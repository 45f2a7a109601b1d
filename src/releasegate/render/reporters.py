"""Reporters for render results: JSON and GitHub workflow commands, shared by the CLI and the action.

Each JSON form carries ``schemaVersion`` and is described by
src/releasegate/data/render-result.schema.json (docs/render.md).
"""
from __future__ import annotations

import json
from collections.abc import Sequence

from releasegate.github.workflow import annotation
from releasegate.render.drift import Drift
from releasegate.render.problems import Problem
from releasegate.render.writer import WriteResult

FIX = "releasegate render"
SCHEMA_VERSION = "releasegate/render-result/v1"


def problem_annotation(p: Problem, level: str = "error") -> str:
    """An ``::error`` (or ``::warning``) at the problem's position in its release file."""
    message = f"{p.json_path}: {p.message}" + (f"\nhint: {p.hint}" if p.hint else "")
    return annotation(level, message, file=p.file, line=p.line or 1, col=p.column or 1, title=p.rule)


def drift_annotation(d: Drift) -> str:
    """An ``::error`` on a rendered file that is out of date."""
    return annotation("error", f"{d.path} is {d.status}: run {FIX} and commit the result", file=d.path,
                      title="render drift")


def _dumps(payload: dict[str, object]) -> str:
    return json.dumps({"schemaVersion": SCHEMA_VERSION, **payload}, indent=2, sort_keys=True)


def problems_json(problems: Sequence[Problem]) -> str:
    """Why nothing was rendered."""
    return _dumps({"ok": False, "problems": [p.to_json() for p in problems]})


def drift_json(drifts: Sequence[Drift], checked: int) -> str:
    """What ``--check`` found."""
    return _dumps({"ok": not drifts, "checked": checked, "drift": [d.to_json() for d in drifts],
                   "fix": FIX if drifts else None})


def written_json(result: WriteResult, skipped: Sequence[tuple[str, str]]) -> str:
    """What a render wrote and removed; ``skipped`` is (release file, why) per model not rendered."""
    return _dumps({"ok": True, "written": list(result.written), "removed": list(result.removed),
                   "skipped": [{"file": f, "reason": r} for f, r in skipped]})
