"""``releasegate status`` and ``releasegate history`` end to end, in-process."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.acceptance.cli import run_cli
from tests.gitrepo import Repo
from tests.unit.history.conftest import build_story


@pytest.fixture
def story(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    repo = build_story(tmp_path / "story")
    monkeypatch.chdir(repo.root)
    return repo


def test_status_text(story: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "status")
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0].startswith("Live now on HEAD (")
    assert lines[1].split() == ["MODEL", "ENV", "VERSION", "DIGEST", "SINCE", "COMMIT", "PR", "AUTHOR", "ROLLOUT"]
    rows = [line.split() for line in lines[2:]]
    assert [(r[0], r[1], r[2], r[4], r[6]) for r in rows] == [
        ("sentiment", "dev", "1.1.0", "2026-01-02T12:00:00Z", "#1"),
        ("sentiment", "staging", "1.1.0", "2026-01-03T00:00:00Z", "#2"),
        ("sentiment", "prod", "1.0.0", "2026-01-06T00:00:00Z", "#4"),
    ]


def test_status_json_at_time_and_env(story: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "status", "--at", "2026-01-05T00:30Z", "--env", "prod", "--format", "json")
    assert result.code == 0
    payload = json.loads(result.out)
    assert payload["at"] == "2026-01-05T00:30:00Z" and payload["environments"] == ["prod"]
    [entry] = payload["releases"]
    assert entry["model"] == "sentiment" and entry["version"] == "1.1.0"
    assert entry["since"] == "2026-01-05T00:00:00Z" and entry["pr"] is None and entry["author"] == "Rita Rebase"
    assert entry["lastChange"]["at"] == "2026-01-05T00:00:00Z"


def test_status_before_history_began(story: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "status", "--at", "2025-06-01T00:00:00+02:00")
    assert result.code == 0
    assert "Nothing was live yet: the release history starts at 2026-01-01T00:00:00Z" in result.out


@pytest.mark.parametrize(("args", "fragment"), [
    (["status", "--at", "2026-01-05T00:30"], "--at '2026-01-05T00:30' has no time zone"),
    (["status", "--at", "yesterday"], "--at 'yesterday' is not an ISO 8601 time"),
    (["status", "--env", "prd"], "did you mean 'prod'?"),
    (["history", "sentimnet"], "MODEL 'sentimnet': no such model in the release history"),
    (["history", "sentiment", "--env", "stagin"], "did you mean 'staging'?"),
    (["status", "--ref", "no-such-branch"], "git ref 'no-such-branch' does not name a commit"),
])
def test_bad_input_exits_2(story: Repo, capsys: pytest.CaptureFixture[str], args: list[str], fragment: str) -> None:
    result = run_cli(capsys, *args)
    assert result.code == 2
    assert fragment in result.err


def test_history_text_and_json(story: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "history", "sentiment", "--env", "prod", "--now", "2026-01-10T00:00Z")
    assert result.code == 0
    rows = result.out.splitlines()[2:]
    assert [(r.split()[1], "  rollback  " in r) for r in rows] == [("1.0.0", True), ("1.1.0", False), ("1.0.0", False)]
    assert "4d 0h     live now" in rows[0] and "Olly Oncall" in rows[0] and "#4" in rows[0]
    assert rows[0].split()[-3:] == ["live", "now", "idle"]  # a canary strategy, no canary running
    assert "rollback 2026-01-06T00:00:00Z" in result.out.splitlines()[3]
    payload = json.loads(run_cli(capsys, "history", "text-embedder", "--format", "json").out)
    [stint] = payload["environments"]["dev"]
    assert stint["endedBy"] == "retired" and stint["promotedAt"] == "2026-01-01T00:00:00Z"
    assert stint["liveSeconds"] == 7 * 86400 and stint["live"] is False


def test_not_a_git_repository(example_repo: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(example_repo)
    result = run_cli(capsys, "status")
    assert result.code == 2
    assert "not a Git repository" in result.err


def test_shallow_clone_is_refused_with_the_fix_or_deepened(story: Repo, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{story.root}", str(clone)], check=True)
    monkeypatch.chdir(clone)
    result = run_cli(capsys, "status")
    assert result.code == 2
    assert "shallow clone" in result.err and "fetch-depth: 0" in result.err
    assert run_cli(capsys, "history", "sentiment").code == 2
    deepened = run_cli(capsys, "status", "--deepen")
    assert deepened.code == 0, deepened.err
    assert "2026-01-06T00:00:00Z" in deepened.out  # the true "since", not the clone's single commit


def test_shallow_clone_deepened_by_environment(story: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{story.root}", str(clone)], check=True)
    subprocess.run(["git", "remote", "remove", "origin"], cwd=clone, check=True)
    monkeypatch.chdir(clone)
    monkeypatch.setenv("RELEASEGATE_AUTO_UNSHALLOW", "1")
    result = run_cli(capsys, "status")
    assert result.code == 2 and "has no remote to fetch from" in result.err


def test_status_snapshot_follows_the_branch(story: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    first = run_cli(capsys, "status", "--env", "prod")
    assert "1.0.0" in first.out and (story.root / ".git/releasegate/status.json").is_file()
    assert run_cli(capsys, "status", "--env", "prod").out == first.out  # from the snapshot
    text = (story.root / "environments/staging/releases/sentiment.yaml").read_text()
    story.commit("Promote sentiment 1.1.0 to prod (#9)", "2026-01-09T00:00:00Z",
                 {"environments/prod/releases/sentiment.yaml": text.replace("replicas: 1", "replicas: 2")})
    again = run_cli(capsys, "status", "--env", "prod")
    assert "1.1.0" in again.out and "2026-01-09T00:00:00Z" in again.out and "#9" in again.out
