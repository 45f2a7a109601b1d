from __future__ import annotations

from pathlib import Path

import pytest

from releasegate.errors import GitError
from releasegate.github.changes import changed_files, release_env, touched_environments, validation_paths
from tests.conftest import git


def test_changed_files_are_those_of_the_branch_since_the_merge_base(git_repo: Path) -> None:
    base = git(git_repo, "rev-parse", "HEAD").strip()
    git(git_repo, "checkout", "-q", "-b", "pr")
    (git_repo / "environments/dev/releases/sentiment.yaml").write_text("changed: true\n")
    (git_repo / "environments/staging/releases/embedder.yaml").unlink()
    git(git_repo, "commit", "-qam", "pr")
    head = git(git_repo, "rev-parse", "HEAD").strip()
    git(git_repo, "checkout", "-q", "main")
    (git_repo / "README.md").write_text("main moved on\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "main")
    main = git(git_repo, "rev-parse", "HEAD").strip()

    changes = changed_files(git_repo, main, head)

    assert [(c.path, c.status) for c in changes] == [
        ("environments/dev/releases/sentiment.yaml", "M"),
        ("environments/staging/releases/embedder.yaml", "D"),
    ]
    assert base != main


def test_missing_commit_says_how_to_fetch_history(git_repo: Path, tmp_path: Path) -> None:
    with pytest.raises(GitError, match="commit f+ of the event is not in this checkout") as info:
        changed_files(git_repo, "f" * 40, "HEAD")
    assert "fetch-depth: 0" in str(info.value.hint)

    git(git_repo, "commit", "-q", "--allow-empty", "-m", "second")
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{git_repo}", str(shallow))
    first = git(git_repo, "rev-list", "--max-parents=0", "HEAD").strip()
    with pytest.raises(GitError, match="not in this shallow clone"):
        changed_files(shallow, first, "HEAD")


def test_environments_and_policy_changes() -> None:
    paths = ["environments/prod/releases/a.yaml", "environments/dev/manifests/a.yaml", "docs/x.md",
             "policies/policy-pack.yaml"]
    touched = touched_environments(paths)
    assert touched.names == ("dev", "prod") and touched.policy
    assert release_env("environments/prod") is None
    assert validation_paths(paths) == ["environments/prod/releases/a.yaml", "policies/policy-pack.yaml"]
