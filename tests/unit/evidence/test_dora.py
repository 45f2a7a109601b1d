"""The four DORA figures from Git history alone, on histories whose answers are known by construction."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from releasegate.evidence.dora import dora
from releasegate.layout import RepoLayout
from tests.acceptance.cli import run_cli
from tests.gitrepo import Repo, init_repo, path, release
from tests.unit.history.conftest import build_story

UNTIL = datetime.fromisoformat("2026-01-15T00:00:00+00:00")


def test_the_story_prod_one_failure_restored_in_a_day(tmp_path: Path) -> None:
    story = build_story(tmp_path / "story")
    (prod,) = dora(RepoLayout(story.root), envs=["prod"], until=UNTIL)
    # prod: 1.0.0 (initial, Jan 1), 1.1.0 (Jan 5, rebase-merged), rolled back to 1.0.0 on Jan 6.
    assert prod.deployments == 2 and prod.failures == 1 and prod.change_failure_rate == 0.5
    assert prod.restore_hours == 24.0 and prod.restored == 1
    assert prod.lead_time_hours == 0.0  # both commits were authored when they landed
    assert prod.per_week == pytest.approx(2 / 2.0)  # Jan 1 .. Jan 15 is two weeks


def test_lead_time_starts_at_the_first_commit_of_the_pull_request(tmp_path: Path) -> None:
    repo: Repo = init_repo(tmp_path / "repo", {path("dev", "m"): release("m", "1.0.0")}, when="2026-01-01T00:00:00Z")
    repo.git("switch", "-q", "-c", "feature")
    repo.commit("start the change", "2026-01-02T00:00:00Z", {"notes.txt": "wip\n"})
    repo.commit("Promote m 1.1.0 to dev", "2026-01-03T00:00:00Z", {path("dev", "m"): release("m", "1.1.0")})
    repo.git("switch", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "feature", "-m", "Merge pull request #7 from org/feature", when="2026-01-04T12:00:00Z")
    (dev,) = dora(RepoLayout(repo.root), envs=["dev"], since=datetime.fromisoformat("2026-01-02T00:00:00+00:00"),
                  until=datetime.fromisoformat("2026-01-09T00:00:00+00:00"))
    assert dev.deployments == 1 and dev.lead_time_hours == 60.0  # Jan 2 00:00 (first commit) to Jan 4 12:00
    assert dev.failures == 0 and dev.change_failure_rate == 0.0 and dev.restore_hours is None


def test_audit_dora_from_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    story = build_story(tmp_path / "story")
    table = run_cli(capsys, "audit", "--dora", "--env", "prod", "--until", "2026-01-15T00:00Z", "--root", str(story.root))
    assert table.code == 0
    assert "DEPLOYMENTS" in table.out and "50.0 % (1)" in table.out and "24.0 h (1)" in table.out
    bad = run_cli(capsys, "audit", "--dora", "--since", "yesterday", "--root", str(story.root))
    assert bad.code == 2 and "--since" in bad.err


def test_status_at_a_moment_explains_the_evidence_behind_what_was_live(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    story = build_story(tmp_path / "story")
    text = run_cli(capsys, "status", "--at", "2026-01-05T12:00Z", "--env", "prod", "--explain", "--root", str(story.root))
    assert text.code == 0 and "EVIDENCE" in text.out
    assert "sentiment prod 1.1.0: none; landed by" in text.out and "promoted by Rita Rebase" in text.out
    from tests.unit.test_json_outputs import check_output

    payload = check_output("status-report", run_cli(capsys, "status", "--at", "2026-01-05T12:00Z", "--env", "prod",
                                                    "--explain", "--format", "json", "--root", str(story.root)).out)
    assert [(e["model"], e["version"], e["evidence"]) for e in payload["explain"]] == [("sentiment", "1.1.0", "none")]
