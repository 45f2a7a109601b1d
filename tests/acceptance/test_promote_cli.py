"""``releasegate promote`` and ``releasegate rollback`` end to end: branches, commits, pushes, PRs.

The repository has a bare repository as ``origin``; GitHub is the loopback fake of
tests/support, which checks every request and answer against GitHub's OpenAPI description
(fixtures ``story`` and ``github`` in conftest.py).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from releasegate.layout import RepoLayout
from releasegate.render import render_plan
from tests.acceptance.cli import run_cli
from tests.gitrepo import STEPS, Repo, path, release
from tests.support.fake_github import FakeGitHub

PROD = path("prod", "sentiment")
BRANCH = "releasegate/promote-sentiment-prod-1.1.0"
STEPS_BLOCK = f"canary\n{STEPS}"


def snapshot(repo: Repo) -> tuple[str, str, str, str]:
    """Everything a failed command must leave as it was."""
    origin = repo.git("ls-remote", "origin")
    return repo.head(), repo.git("for-each-ref"), repo.git("status", "--porcelain"), origin


def merge(repo: Repo, branch: str, number: int, when: str) -> None:
    repo.git("merge", "-q", "--no-ff", branch, "-m", f"Merge pull request #{number} from org/{branch}", when=when)


def test_promote_no_pr_commits_on_a_new_branch_only(story: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(story)
    result = run_cli(capsys, "promote", "sentiment", "--to", "prod", "--no-pr")
    assert result.code == 0, result.err
    assert "committed" in result.out and f"on new branch {BRANCH} (from main)" in result.out
    # The checkout, index and main are untouched; only the new branch appeared.
    assert story.head() == before[0] and story.git("status", "--porcelain") == ""
    assert story.git("rev-parse", "--abbrev-ref", "HEAD") == "main"
    # staging's model block, prod's runtime/rollout: exactly what a hand promotion would write.
    # ...and the builtin canary's rollout.stable becomes the outgoing 1.0.0.
    assert story.git("show", f"{BRANCH}:{PROD}") + "\n" == release("sentiment", "1.1.0", env="prod", stable="1.0.0")
    message = story.git("log", "-1", "--format=%B", BRANCH)
    assert message.startswith("Promote sentiment 1.1.0 to prod from staging\n")
    for trailer in ("Releasegate-Action: promote", "Releasegate-Model: sentiment", "Releasegate-Environment: prod",
                    "Releasegate-Version: 1.1.0", "Releasegate-Previous-Version: 1.0.0",
                    "Releasegate-Source-Environment: staging"):
        assert trailer in message.splitlines()
    assert story.git("diff", "--name-only", "main", BRANCH) == PROD


def annotate(text: str, version: str) -> str:
    text = text.replace(f"    version: {version}\n    artifact", f"    version: '{version}'  # bumped by hand\n    artifact")
    return text.replace("  runtime:\n", "  # prod runs on the big pool\n  runtime:\n")


def test_promote_keeps_the_target_files_comments_and_quoting(story: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    text = annotate(release("sentiment", "1.0.0", env="prod"), "1.0.0")
    assert "# bumped by hand" in text
    story.commit("Annotate prod", "2026-01-09T00:00:00Z", {PROD: text})
    assert run_cli(capsys, "promote", "sentiment", "--to", "prod", "--no-pr").code == 0
    promoted = story.git("show", f"{BRANCH}:{PROD}") + "\n"
    # The canary's new stable block is the outgoing model, in the style it was written in.
    expected = annotate(release("sentiment", "1.1.0", env="prod", stable="1.0.0"), "1.1.0")
    assert promoted == expected.replace("      version: 1.0.0\n", "      version: '1.0.0'\n")


def test_promote_pushes_and_opens_a_pull_request(story: Repo, github: FakeGitHub,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "promote", "sentiment", "--to", "prod")
    assert result.code == 0, result.err
    assert "opened pull request #42: https://github.com/org/gitops/pull/42" in result.out
    assert BRANCH in story.git("ls-remote", "origin")
    assert [(c.method, c.path) for c in github.calls] == [("POST", "/repos/org/gitops/pulls")]
    body = github.pull_bodies[42]
    assert body["head"] == BRANCH and body["base"] == "main"
    assert body["title"] == "Promote sentiment 1.1.0 to prod from staging"
    assert "| version | 1.0.0 | 1.1.0 |" in body["body"]
    assert f"https://github.example/org/gitops/blob/{BRANCH}/{PROD}" in body["body"]
    assert "-    version: 1.0.0\n+    version: 1.1.0" in body["body"]


def rendered(repo: Repo) -> dict[str, bytes | None]:
    plan = render_plan(RepoLayout(repo.root))
    assert plan.ok, plan.problems
    return plan.expected


def test_promote_rollback_round_trip_restores_identical_bytes(story: Repo, github: FakeGitHub,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    # prod rolls out new versions at once here (strategy: rolling), so the rollback is a revert.
    story.commit("prod without canaries", "2026-01-09T00:00:00Z",
                 {PROD: release("sentiment", "1.0.0", env="prod").replace(STEPS_BLOCK, "rolling")})
    before = (story.root / PROD).read_bytes()
    manifests_before = rendered(story)
    assert run_cli(capsys, "promote", "sentiment", "--to", "prod").code == 0
    merge(story, BRANCH, 42, "2026-01-10T00:00:00Z")
    merged = story.head()
    assert b"version: 1.1.0" in (story.root / PROD).read_bytes()
    result = run_cli(capsys, "rollback", "sentiment", "--env", "prod")
    assert result.code == 0, result.err
    back = "releasegate/rollback-sentiment-prod-1.0.0"
    message = story.git("log", "-1", "--format=%B", back)
    assert message.startswith('Revert "Merge pull request #42 from org/releasegate/promote-sentiment-prod-1.1.0"')
    assert f"This reverts commit {merged}." in message and "Releasegate-Action: rollback" in message
    assert github.labels == {43: ["rollback"]}  # and the promotion got none
    assert rendered(story) != manifests_before  # 1.1.0 renders differently...
    merge(story, back, 43, "2026-01-10T01:00:00Z")
    assert (story.root / PROD).read_bytes() == before
    assert rendered(story) == manifests_before  # ...and the rollback renders 1.0.0's manifests byte for byte
    result = run_cli(capsys, "history", "sentiment", "--env", "prod", "--format", "json")
    assert '"rollback": true' in result.out


def test_rollback_during_a_canary_is_its_abort_and_restores_identical_bytes(
        story: Repo, github: FakeGitHub, capsys: pytest.CaptureFixture[str]) -> None:
    before = (story.root / PROD).read_bytes()  # idle at 1.0.0: the next version starts a canary
    manifests_before = rendered(story)
    assert run_cli(capsys, "promote", "sentiment", "--to", "prod").code == 0
    assert github.pull_bodies[42]["body"].count("| rollout | idle | canary step 1/3 (10 %) |") == 1
    merge(story, BRANCH, 42, "2026-01-10T00:00:00Z")
    result = run_cli(capsys, "rollback", "sentiment", "--env", "prod")
    assert result.code == 0, result.err
    back = "releasegate/abort-sentiment-prod-1.1.0"
    message = story.git("log", "-1", "--format=%B", back)
    assert message.startswith("Abort the canary of sentiment 1.1.0 in prod: back to 1.0.0\n")
    assert "Releasegate-Action: abort" in message.splitlines()
    assert github.labels == {43: ["rollback"]}  # it restores the file live before the canary: the fast path
    merge(story, back, 43, "2026-01-10T01:00:00Z")
    assert (story.root / PROD).read_bytes() == before
    assert rendered(story) == manifests_before


def test_rollback_restores_bytes_when_the_promotion_is_not_the_latest_change(
        story: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    before = (story.root / PROD).read_bytes()
    assert run_cli(capsys, "promote", "sentiment", "--to", "prod", "--no-pr").code == 0
    merge(story, BRANCH, 42, "2026-01-10T00:00:00Z")
    story.commit("Scale prod", "2026-01-10T02:00:00Z", {PROD: release("sentiment", "1.1.0", env="prod", replicas=4)})
    result = run_cli(capsys, "rollback", "sentiment", "--env", "prod", "--to", "1.0.0", "--no-pr",
                     "--branch", "undo-1.1.0")
    assert result.code == 0, result.err
    assert story.git("log", "-1", "--format=%s", "undo-1.1.0") == "Roll back sentiment in prod to 1.0.0"
    assert story.git("cat-file", "blob", f"undo-1.1.0:{PROD}").encode() + b"\n" == before


@pytest.mark.parametrize(("args", "fragment"), [
    (["promote", "sentimen", "--to", "prod", "--no-pr"], "did you mean 'sentiment'?"),
    (["promote", "sentiment", "--to", "prd", "--no-pr"], "did you mean 'prod'?"),
    (["promote", "sentiment", "--to", "dev", "--no-pr"], "name the source environment with --from ENV"),
    (["promote", "sentiment", "--to", "prod", "--version", "1.0.5", "--no-pr"],
     "sentiment 1.0.5 was never live in staging"),
    (["rollback", "sentiment", "--env", "prod", "--no-pr"], "no lower version was live there before"),
    (["rollback", "sentiment", "--env", "prod", "--to", "1.1.0", "--no-pr"], "that is a promotion"),
    (["rollback", "sentiment", "--env", "prod", "--to", "0.9.0", "--no-pr"], "0.9.0 was never live in prod"),
    (["promote", "sentiment", "--to", "prod", "--branch", "main", "--no-pr"], "branch 'main' already exists"),
    (["promote", "sentiment", "--to", "prod", "--branch", "bad..name", "--no-pr"], "not a valid Git branch name"),
    (["promote", "sentiment", "--to", "prod"], "GITHUB_TOKEN (or GH_TOKEN)"),
])
def test_bad_requests_exit_2_and_leave_nothing(story: Repo, capsys: pytest.CaptureFixture[str],
                                               args: list[str], fragment: str) -> None:
    before = snapshot(story)
    result = run_cli(capsys, *args)
    assert result.code == 2, result.out
    assert fragment in result.err
    assert snapshot(story) == before


def test_missing_credentials_name_both_settings(story: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "promote", "sentiment", "--to", "prod")
    assert result.code == 2
    assert "GITHUB_TOKEN (or GH_TOKEN)" in result.err and "GITHUB_REPOSITORY=owner/name" in result.err
    assert "--no-pr" in result.err


def test_dirty_tree_and_detached_head_are_refused(story: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    (story.root / PROD).write_text("edited\n")
    result = run_cli(capsys, "promote", "sentiment", "--to", "prod", "--no-pr")
    assert result.code == 2 and f"uncommitted changes: {PROD}" in result.err
    story.git("checkout", "-q", "--", PROD)
    story.git("checkout", "-q", "--detach")
    before = snapshot(story)
    result = run_cli(capsys, "rollback", "sentiment", "--env", "prod", "--no-pr")
    assert result.code == 2 and "HEAD is detached" in result.err
    assert snapshot(story) == before


def test_rejected_push_leaves_no_branch(story: Repo, github: FakeGitHub, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    hook = tmp_path / "origin.git" / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'branch rules: pushes need review' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = snapshot(story)
    result = run_cli(capsys, "promote", "sentiment", "--to", "prod")
    assert result.code == 2
    assert "git push to 'origin' was rejected" in result.err and "branch rules: pushes need review" in result.err
    assert snapshot(story) == before and github.calls == []


def test_refused_pull_request_removes_local_and_remote_branch(story: Repo, github: FakeGitHub,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    github.fail("POST", r"/pulls$", 422, message="Validation Failed")
    before = snapshot(story)
    result = run_cli(capsys, "promote", "sentiment", "--to", "prod")
    assert result.code == 2
    assert "open the pull request releasegate/promote-sentiment-prod-1.1.0 -> main: GitHub answered 422" in result.err
    assert snapshot(story) == before


def test_not_a_git_repository(example_repo: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(example_repo)
    result = run_cli(capsys, "promote", "sentiment", "--to", "prod", "--no-pr")
    assert result.code == 2 and "not a Git repository" in result.err


def test_promote_an_older_version_and_nothing_to_do(story: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    story.commit("staging back to 1.0.0", "2026-01-09T00:00:00Z",
                 {path("staging", "sentiment"): release("sentiment", "1.0.0")})
    result = run_cli(capsys, "promote", "sentiment", "--to", "prod", "--no-pr")
    assert result.code == 0 and "nothing to promote" in result.out
    result = run_cli(capsys, "promote", "sentiment", "--to", "prod", "--version", "1.1.0", "--no-pr")
    assert result.code == 0, result.err
    assert story.git("show", f"{BRANCH}:{PROD}") + "\n" == release("sentiment", "1.1.0", env="prod", stable="1.0.0")


def test_promote_into_an_environment_without_the_model_copies_the_file(story: Repo,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    story.commit("Retire sentiment from prod", "2026-01-09T00:00:00Z", {PROD: None})
    result = run_cli(capsys, "promote", "sentiment", "--to", "prod", "--no-pr")
    assert result.code == 0, result.err
    assert "(new) -> 1.1.0" in result.out
    staging = (story.root / path("staging", "sentiment")).read_text()
    assert story.git("show", f"{BRANCH}:{PROD}") + "\n" == staging
    assert "Releasegate-Previous-Version" not in story.git("log", "-1", "--format=%B", BRANCH)
