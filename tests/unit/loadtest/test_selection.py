"""Targets and baselines from Git."""
from __future__ import annotations

from pathlib import Path

import pytest

from releasegate import history
from releasegate.errors import GitError, InputError
from releasegate.layout import RepoLayout
from releasegate.loadtest import selection
from releasegate.release import load_release
from tests.conftest import git

PROD = "environments/prod/releases/sentiment.yaml"


def test_baseline_is_the_file_at_the_base_ref(git_repo: Path) -> None:
    layout = RepoLayout(git_repo)
    text = (git_repo / PROD).read_text()
    (git_repo / PROD).write_text(text.replace("version: 1.4.0", "version: 1.5.0"))
    base = selection.baseline(layout, "HEAD", PROD)
    assert base is not None and base.version == "1.4.0"
    assert load_release(layout, git_repo / PROD).version == "1.5.0"
    assert selection.baseline(layout, "HEAD", "environments/prod/releases/new-model.yaml") is None


def test_changed_releases_since_head(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    layout = RepoLayout(git_repo)
    monkeypatch.chdir(git_repo)
    assert selection.select(layout, (), None) == []
    (git_repo / PROD).write_text((git_repo / PROD).read_text() + "\n")
    assert selection.select(layout, (), None) == [PROD]
    assert selection.select(layout, (PROD,), "HEAD") == [PROD]
    with pytest.raises(InputError, match="not a release file"):
        selection.select(layout, ("policies/policy-pack.yaml",), None)


def test_bad_ref(git_repo: Path) -> None:
    with pytest.raises(GitError, match="--base nope: not a commit"):
        selection.check_ref(RepoLayout(git_repo), "nope")


def test_rollback_detection(git_repo: Path) -> None:
    layout = RepoLayout(git_repo)
    original = (git_repo / PROD).read_text()
    (git_repo / PROD).write_text(original.replace("version: 1.4.0", "version: 1.5.0"))
    git(git_repo, "commit", "-qam", "1.5.0")
    (git_repo / PROD).write_text(original)
    candidate = load_release(layout, git_repo / PROD)
    assert history.is_rollback(layout, candidate, "HEAD")
    (git_repo / PROD).write_text(original.replace("version: 1.4.0", "version: 1.6.0"))
    assert not history.is_rollback(layout, load_release(layout, git_repo / PROD), "HEAD")
