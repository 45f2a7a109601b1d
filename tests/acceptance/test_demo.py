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

    # 1.0.0 reached prod, 1.1.0 through a canary in steps; the slow 1.2.0 was stopped by the load test.
    merges = git(repo, "log", "--first-parent", "--format=%s", "main").splitlines()
    for pr in ("#3 from demo/releasegate/promote-sentiment-prod-1.0.0",
               "#4 from demo/platform/sentiment-prod-canary-steps",
               "#7 from demo/releasegate/promote-sentiment-prod-1.1.0",
               "#8 from demo/releasegate/advance-sentiment-prod-1.1.0-50",
               "#9 from demo/releasegate/advance-sentiment-prod-1.1.0-100",
               "#10 from demo/releasegate/complete-sentiment-prod-1.1.0",
               "#16 from demo/releasegate/promote-sentiment-prod-1.3.0",
               "#17 from demo/releasegate/abort-sentiment-prod-1.3.0"):
        assert f"Merge pull request {pr}" in merges, merges
    assert not any("prod-1.2.0" in m for m in merges)
    assert "gate failed: PR #13 closed without merging" in out
    assert "regression" in out
    completed = git(repo, "show", f"{git(repo, 'log', '--first-parent', '--format=%H', '--grep', 'complete-sentiment', 'main').split()[0]}:environments/prod/releases/sentiment.yaml")
    assert "version: 1.1.0" in completed and "canaryPercent" not in completed and "weight: 50" in completed

    # The canary alert opened the abort: back to 1.1.0 at rest, no stable pod restarted; the repeat opened nothing.
    assert "committed: Abort the canary of sentiment 1.3.0 in prod: back to 1.1.0" in out
    assert "the stable Deployment's pod template is unchanged: no stable pod restarts" in out
    assert "sentiment 1.3.0 (canary) in prod is not live: 1.1.0 is, without a canary" in out
    abort = git(repo, "log", "-1", "--format=%B", "--grep", "^Releasegate-Action: abort", "main")
    assert abort.startswith("Abort the canary of sentiment 1.3.0 in prod: back to 1.1.0"), abort

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
