"""Reporters for render results: JSON and GitHub workflow commands, shared by the CLI and the action."""
from __future__ import annotations

import json
from collections.abc import Sequence

from releasegate.github.workflow import annotation
from releasegate.render.drift import Drift
from releasegate.render.problems import Problem

FIX = "releasegate render"


def problem_annotation(p: Problem) -> str:
    """An ``::error`` at the problem's position in its release file."""
    message = f"{p.json_path}: {p.message}" + (f"\nhint: {p.hint}" if p.hint else "")
    return annotation("error", message, file=p.file, line=p.line or 1, col=p.column or 1, title=p.rule)


def drift_annotation(d: Drift) -> str:
    """An ``::error`` on a rendered file that is out of date."""
    return annotation("error", f"{d.path} is {d.status}: run {FIX} and commit the result", file=d.path,
                      title="render drift")


def problems_json(problems: Sequence[Problem]) -> str:
    return json.dumps({"ok": False, "problems": [p.to_json() for p in problems]}, indent=2, sort_keys=True)


def drift_json(drifts: Sequence[Drift], checked: int) -> str:
    return json.dumps({"ok": not drifts, "checked": checked, "drift": [d.to_json() for d in drifts],
                       "fix": FIX if drifts else None}, indent=2, sort_keys=True)
