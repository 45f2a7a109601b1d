"""Compare a :class:`Plan` with the files on disk: what is changed, missing or stale."""
from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path

from releasegate.layout import RepoLayout, refuse_links
from releasegate.render.kustomize import MARKER
from releasegate.render.plan import Plan

CHANGED = "changed"
MISSING = "missing"
STALE = "stale"


@dataclass(frozen=True)
class Drift:
    """One output file that differs from what the release files render."""

    path: str
    status: str  # changed | missing | stale
    expected: bytes | None
    actual: bytes | None = field(default=None, repr=False)

    @property
    def diff(self) -> str:
        """The unified diff from the file on disk to the rendered one (computed on demand)."""
        return unified_diff(self.path, self.actual, self.expected)

    def to_json(self) -> dict[str, str]:
        return {"file": self.path, "status": self.status, "diff": self.diff}


def unified_diff(path: str, actual: bytes | None, expected: bytes | None) -> str:
    old = _lines(actual)
    new = _lines(expected)
    before = f"a/{path}" if actual is not None else "/dev/null"
    after = f"b/{path}" if expected is not None else "/dev/null"
    return "".join(difflib.unified_diff(old, new, before, after))


def _lines(data: bytes | None) -> list[str]:
    if data is None:
        return []
    lines = data.decode("utf-8", "replace").splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n\\ No newline at end of file\n"
    return lines


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        return b""


def _files_under(root: Path, rel: str) -> list[str]:
    folder = root / rel
    refuse_links(root, [rel])
    if not folder.is_dir():
        return []
    out: list[str] = []
    for dirpath, dirs, names in os.walk(folder):  # os.walk lists linked folders in dirs but never enters them
        found = [(Path(dirpath) / n).relative_to(root).as_posix() for n in (*dirs, *names)]
        refuse_links(root, [f for f in found if (root / f).is_symlink()])
        out.extend(f for f in found if f.split("/")[-1] in names)
    return sorted(out)


def _is_marked(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return MARKER.encode() in f.read(256)
    except OSError:
        return False


def owned_extra(layout: RepoLayout, plan: Plan) -> list[str]:
    """Files in the output directories that the plan does not produce (stale outputs)."""
    extra = []
    for rel in plan.owned_dirs:
        extra += [p for p in _files_under(layout.root, rel) if p not in plan.expected]
    for rel in plan.owned_marked_dirs:
        extra += [p for p in _files_under(layout.root, rel)
                  if p not in plan.expected and _is_marked(layout.root / p)]
    return sorted(set(extra))


def compare(layout: RepoLayout, plan: Plan) -> list[Drift]:
    """Every difference between the plan and the disk, sorted by path.

    Raises :class:`InputError` before reading anything when a rendered path passes through a
    symbolic link (so that neither ``--check`` nor a write ever touches a file outside the repository).
    """
    refuse_links(layout.root, sorted(plan.expected))
    drifts = []
    for path, expected in plan.expected.items():
        actual = _read(layout.root / path)
        if actual == expected:
            continue
        if expected is None:
            drifts.append(Drift(path, STALE, None, actual))
        else:
            drifts.append(Drift(path, MISSING if actual is None else CHANGED, expected, actual))
    for path in owned_extra(layout, plan):
        drifts.append(Drift(path, STALE, None, _read(layout.root / path)))
    return sorted(drifts, key=lambda d: d.path)
