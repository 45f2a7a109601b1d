"""Golden files: the exact bytes rendered for each target and rollout mode.

Regenerate after an intended change with:
    UPDATE_GOLDEN=1 PYTHONPATH=src python -m pytest tests/unit/render/test_render_golden.py
and review the diff of tests/golden/render/ like any other change.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from releasegate.render import render_plan
from render_helpers import CASES, GOLDEN, make_repo

CASE_NAMES = sorted(p.name for p in CASES.iterdir() if p.is_dir())


def _rendered(tmp_path: Path, case: str) -> dict[str, bytes]:
    layout = make_repo(tmp_path / case, case)
    plan = render_plan(layout)
    assert plan.problems == []
    return {path: data for path, data in plan.expected.items() if data is not None}


def _golden(case: str) -> dict[str, bytes]:
    root = GOLDEN / case
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", CASE_NAMES)
def test_render_matches_golden(tmp_path: Path, case: str) -> None:
    rendered = _rendered(tmp_path, case)
    if os.environ.get("UPDATE_GOLDEN"):
        shutil.rmtree(GOLDEN / case, ignore_errors=True)
        for path, data in rendered.items():
            target = GOLDEN / case / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    golden = _golden(case)
    assert sorted(rendered) == sorted(golden), "files differ; see the module docstring to regenerate"
    for path, data in rendered.items():
        assert data.decode() == golden[path].decode(), f"{case}/{path} differs from its golden file"


def test_every_case_has_golden_files() -> None:
    assert CASE_NAMES, "no render cases found"
    for case in CASE_NAMES:
        assert (GOLDEN / case).is_dir(), f"no golden files for {case}: run with UPDATE_GOLDEN=1"
