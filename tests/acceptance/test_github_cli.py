"""``releasegate approvals`` and ``releasegate action ...`` in-process, against the loopback GitHub."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.acceptance.cli import run_cli
from tests.conftest import git
from tests.support.fake_github import FakeGitHub, Pull, serving
from tests.support.github_events import pull_request_event, write_event

PROD = "environments/prod/releases/sentiment.yaml"
HEAD = "a" * 40


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    with serving(monkeypatch) as server:
        yield server


def _approvals(capsys: pytest.CaptureFixture[str], repo: Path, *extra: str):  # type: ignore[no-untyped-def]
    return run_cli(capsys, "approvals", "--pr", "5", "--repo", "octo-org/gitops", "--root", str(repo), *extra)


def test_prod_change_needs_two_fresh_approvals(capsys: pytest.CaptureFixture[str], example_repo: Path,
                                              fake: FakeGitHub) -> None:
    fake.add_pull(Pull(5, author="alice", head_sha=HEAD, files=[PROD]))
    fake.add_review(5, "bob", "APPROVED", HEAD, "2026-11-20T10:00:00Z")
    fake.add_review(5, "carol", "APPROVED", "b" * 40, "2026-11-20T11:00:00Z")
    fake.add_review(5, "alice", "APPROVED", HEAD, "2026-11-20T12:00:00Z")

    outcome = _approvals(capsys, example_repo)

    assert outcome.code == 1
    assert outcome.out.startswith("NOT APPROVED: 1 of 2 required approvals")
    assert "required by: prod" in outcome.out
    assert "not counted: carol: approval is stale" in outcome.out
    assert "not counted: alice: the pull request author cannot approve" in outcome.out

    fake.add_review(5, "dave", "APPROVED", HEAD, "2026-11-21T10:00:00Z")
    outcome = _approvals(capsys, example_repo, "--format", "json")
    report = json.loads(outcome.out)
    assert outcome.code == 0
    assert (report["ok"], report["approvals"], report["required"], report["approvers"]) == (True, 2, 2, ["bob", "dave"])


def test_more_files_than_the_api_lists_needs_base(capsys: pytest.CaptureFixture[str], example_repo: Path,
                                                 fake: FakeGitHub) -> None:
    fake.add_pull(Pull(5, files=[PROD] * 3000, changed_files=3200))
    outcome = _approvals(capsys, example_repo)
    assert outcome.code == 2
    assert "3200 files" in outcome.err and "releasegate approvals --base" in outcome.err


def test_missing_token_is_exit_2_naming_the_variable(capsys: pytest.CaptureFixture[str], example_repo: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    outcome = _approvals(capsys, example_repo)
    assert outcome.code == 2 and "GITHUB_TOKEN" in outcome.err


def test_unknown_pull_request_is_exit_2(capsys: pytest.CaptureFixture[str], example_repo: Path,
                                        fake: FakeGitHub) -> None:
    outcome = _approvals(capsys, example_repo)
    assert outcome.code == 2 and "get pull request #5: GitHub answered 404" in outcome.err


def test_action_validate_runs_locally_without_github(capsys: pytest.CaptureFixture[str], git_repo: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(git_repo)
    outcome = run_cli(capsys, "action", "validate", "--all")
    assert outcome.code == 0
    assert "## releasegate ✅ passed" in outcome.out and "8 release files checked" in outcome.out


def test_action_validate_with_an_event_posts_like_the_action(capsys: pytest.CaptureFixture[str], git_repo: Path,
                                                             fake: FakeGitHub, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    base = git(git_repo, "rev-parse", "HEAD").strip()
    staging = git_repo / "environments/staging/releases/sentiment.yaml"
    staging.write_text(staging.read_text().replace("replicas: 1", "replicas: lots"))
    git(git_repo, "commit", "-qam", "break it")
    head = git(git_repo, "rev-parse", "HEAD").strip()
    fake.repo = "Codertocat/Hello-World"
    fake.add_pull(Pull(3, author="Codertocat", head_sha=head, base_sha=base))
    event = write_event(tmp_path, pull_request_event("opened", number=3, base_sha=base, head_sha=head))
    monkeypatch.chdir(git_repo)

    outcome = run_cli(capsys, "action", "validate", "--event", str(event), "--event-name", "pull_request",
                      "--no-labels", "--approvals", "off")

    assert outcome.code == 1
    assert "::error file=environments/staging/releases/sentiment.yaml,line=" in outcome.out
    assert len(fake.comments_on(3)) == 1 and fake.labels == {}


def test_rollback_to_a_previously_live_version_uses_rollback_approvals(
    capsys: pytest.CaptureFixture[str], git_repo: Path, fake: FakeGitHub
) -> None:
    prod = git_repo / PROD
    current = prod.read_text()
    old = current.replace("version: 1.4.0", "version: 1.3.0").replace("1.4.0/model.pt2", "1.3.0/model.pt2")
    git(git_repo, "checkout", "-q", "-b", "old-history", "main~0")
    prod.write_text(old)
    git(git_repo, "commit", "-qam", "prod: sentiment 1.3.0")
    prod.write_text(current)
    git(git_repo, "commit", "-qam", "prod: sentiment 1.4.0")
    base = git(git_repo, "rev-parse", "HEAD").strip()
    prod.write_text(old)
    git(git_repo, "commit", "-qam", "roll back prod to 1.3.0")
    fake.add_pull(Pull(5, author="alice", head_sha=HEAD, files=[PROD]))
    fake.add_review(5, "bob", "APPROVED", HEAD, "2026-11-20T10:00:00Z")

    outcome = _approvals(capsys, git_repo, "--base", base)
    assert outcome.code == 0, outcome.out + outcome.err
    assert "1 of 1 required approvals" in outcome.out and "prod (rollback)" in outcome.out

    outcome = _approvals(capsys, git_repo)  # from the API alone there is no history: prod's full rule
    assert outcome.code == 1 and "1 of 2 required approvals" in outcome.out
