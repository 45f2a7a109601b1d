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
import yaml
from render_helpers import CASES, GOLDEN, make_repo

from releasegate.render import render_plan

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


def _server_commands() -> list[tuple[str, list[str]]]:
    out = []
    for path in sorted(GOLDEN.glob("*/environments/*/manifests/*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc["kind"] == "Deployment":
                container = doc["spec"]["template"]["spec"]["containers"][0]
                out.append((f"{path.relative_to(GOLDEN)}:{doc['metadata']['name']}", container["command"] + container["args"]))
    return out


@pytest.mark.parametrize("where,argv", _server_commands(), ids=lambda v: v if isinstance(v, str) else "")
def test_rendered_server_command_parses_with_the_real_cli(where: str, argv: list[str]) -> None:
    """The contract with `releasegate serve`: every rendered flag exists and its value is accepted."""
    from releasegate.cli.serve import serve

    assert argv[:2] == ["releasegate", "serve"]
    ctx = serve.make_context("serve", argv[2:])
    assert ctx.params["host"] == "0.0.0.0" and ctx.params["port"] == 8080
    assert len(ctx.params["sha256"]) == 64
