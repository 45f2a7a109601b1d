"""The benchmark's repository generator still produces a history status/history can read (tiny scale)."""
from __future__ import annotations

import sys
from pathlib import Path

from releasegate.history.query import History
from tests.conftest import PROJECT

sys.path.insert(0, str(PROJECT / "benchmarks" / "history"))

from generate_repo import main as generate  # noqa: E402


def test_generated_history_reads_back(tmp_path: Path) -> None:
    assert generate([str(tmp_path / "repo"), "--models", "4", "--promotions", "40"]) == 0
    with History.open(tmp_path / "repo") as history:
        live = history.live()
        assert len(live) == 12 and history.commit_count == 41
        stints = history.model_stints("model-0000")
    # Promotions go dev -> staging -> prod: prod never runs a version staging has not run.
    staged = {s.version for s in stints["staging"]}
    assert all(s.version in staged for s in stints["prod"])
    assert {e.since.pr for e in live if e.since.pr is not None}  # merge and squash subjects carry PR numbers
