"""Write a plan to disk: every new file goes to a temporary file first, and only
when all of them are written are they renamed into place (then stale files are
removed). A render with problems writes nothing."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from releasegate.errors import InputError
from releasegate.layout import RepoLayout
from releasegate.render.drift import STALE, Drift, compare
from releasegate.render.plan import Plan


@dataclass(frozen=True)
class WriteResult:
    """What a render changed on disk."""

    written: tuple[str, ...]
    removed: tuple[str, ...]
    drifts: tuple[Drift, ...]


def _temp_write(target: Path, data: bytes) -> Path:
    """Write ``data`` beside ``target`` under a name unique to this process."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(temp, "wb") as f:
            f.write(data)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def apply_plan(layout: RepoLayout, plan: Plan) -> WriteResult:
    """Make the disk match ``plan``; raises :class:`InputError` (and writes nothing) if it has problems."""
    if plan.problems:
        raise InputError(
            f"{len(plan.problems)} problem(s) in the release files; nothing was written",
            "fix the files named above and run releasegate render again",
        )
    drifts = compare(layout, plan)
    staged: list[tuple[Path, Path]] = []
    try:
        for d in drifts:
            if d.status != STALE and d.expected is not None:
                target = layout.root / d.path
                staged.append((_temp_write(target, d.expected), target))
    except OSError as e:
        for temp, _ in staged:
            temp.unlink(missing_ok=True)
        raise InputError(f"cannot write {e.filename}: {e.strerror}; nothing was written",
                         "check the permissions of the environments/ and deploy/ directories") from e
    for temp, target in staged:
        os.replace(temp, target)
    removed = []
    for d in drifts:
        if d.status == STALE:
            (layout.root / d.path).unlink(missing_ok=True)
            removed.append(d.path)
    written = tuple(d.path for d in drifts if d.status != STALE)
    return WriteResult(written, tuple(removed), tuple(drifts))
