"""The README's main job end to end: ``releasegate demo`` on CPU, with real models and servers."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.acceptance.cli import run_cli

pytestmark = pytest.mark.slow


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


def test_demo_walks_the_release_loop(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    result = run_cli(capsys, "demo", "--workdir", str(workdir))
    out = result.out
    assert result.code == 0, out[-4000:] + result.err[-2000:]
    repo = workdir / "gitops"

    # 1.0.0 and 1.1.0 reached prod through merged PRs; the slow 1.2.0 was stopped by the load test.
    merges = git(repo, "log", "--first-parent", "--format=%s", "main").splitlines()
    assert "Merge pull request #3 from demo/releasegate/promote-sentiment-prod-1.0.0" in merges
    assert "Merge pull request #6 from demo/releasegate/promote-sentiment-prod-1.1.0" in merges
    assert not any("prod-1.2.0" in m for m in merges)
    assert "gate failed: PR #9 closed without merging" in out
    assert "regression" in out

    # The rollback restored prod to 1.0.0 with manifests identical to those of 1.0.0's time.
    prod = (repo / "environments/prod/releases/sentiment.yaml").read_text()
    assert "version: 1.0.0" in prod
    v1_merge = git(repo, "log", "--first-parent", "--format=%H", "--grep", "prod-1.0.0", "main").split()[0]
    assert git(repo, "diff", v1_merge, "HEAD", "--", "environments/prod/manifests") == ""
    assert "prod manifests are byte-identical to those live with 1.0.0" in out

    # status and history were printed, and the reports stay behind for the user.
    assert "Roll back sentiment in prod to 1.0.0" in out
    assert (workdir / "reports").is_dir() and any((workdir / "reports").rglob("result.json"))
    assert f"repository: {repo}" in out


def test_demo_refuses_a_non_empty_workdir(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    result = run_cli(capsys, "demo", "--workdir", str(tmp_path))
    assert result.code == 2
    assert "already exists and is not empty" in result.err
