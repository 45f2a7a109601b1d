"""The policy corpus: every folder under tests/cases/{valid,invalid} is a test case.

A case has ``case.yaml`` (description, ``now``, what to ``validate``, the exact
``expect``-ed violations) and ``files/``, laid over a copy of the example repo.
"""
from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from releasegate.layout import RepoLayout
from releasegate.validate import run_validation
from tests.conftest import copy_example_repo

CASES = Path(__file__).resolve().parents[2] / "cases"


def _cases(kind: str) -> list[Path]:
    return sorted(p for p in (CASES / kind).iterdir() if p.is_dir())


def _run(case: Path, tmp_path: Path) -> tuple[dict, list]:
    spec = yaml.safe_load((case / "case.yaml").read_text())
    root = copy_example_repo(tmp_path / "repo")
    if (case / "files").is_dir():
        shutil.copytree(case / "files", root, dirs_exist_ok=True)
    paths = [] if spec["validate"] == "all" else [str(root / p) for p in spec["validate"]]
    now = datetime.fromisoformat(spec["now"].replace("Z", "+00:00"))
    result = run_validation(RepoLayout(root), paths, all_files=not paths, now=now)
    return spec, list(result.violations)


@pytest.mark.parametrize("case", _cases("valid"), ids=lambda p: p.name)
def test_valid_case_has_no_violations(case: Path, tmp_path: Path) -> None:
    _, violations = _run(case, tmp_path)
    assert violations == []


@pytest.mark.parametrize("case", _cases("invalid"), ids=lambda p: p.name)
def test_invalid_case_reports_exactly_the_expected_violations(case: Path, tmp_path: Path) -> None:
    spec, violations = _run(case, tmp_path)
    got = sorted((v.rule, v.file, v.line) for v in violations)
    want = sorted((e["rule"], e["file"], e["line"]) for e in spec["expect"])
    assert got == want
    for expected in spec["expect"]:
        if "hint" in expected:
            assert any(expected["hint"] in v.hint for v in violations), [v.hint for v in violations]


def test_every_rule_has_a_valid_and_an_invalid_case() -> None:
    invalid_rules = {e["rule"] for c in _cases("invalid")
                     for e in yaml.safe_load((c / "case.yaml").read_text())["expect"]}
    assert invalid_rules >= {"release-schema", "environment-schema", "unknown-field", "digest-format",
                             "name-mismatch", "unknown-environment", "version-immutable",
                             "freeze-window", "yaml"}
    assert len(_cases("valid")) >= 5
