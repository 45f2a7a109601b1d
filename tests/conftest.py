"""Shared fixtures: an isolated copy of the example GitOps repo, clean env, CLI runner."""
from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No GitHub context, no user git config, no releasegate settings leak into a test."""
    home = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name.startswith(("GITHUB_", "RELEASEGATE_", "GIT_")) or name in ("GH_TOKEN", "RUNNER_TEMP"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test Author")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "author@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test Committer")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "committer@example.com")


def copy_example_repo(dest: Path) -> Path:
    """The project's own policies/ and environments/<env>/releases/ copied to ``dest``."""
    shutil.copytree(PROJECT / "policies", dest / "policies")
    for releases in sorted((PROJECT / "environments").glob("*/releases")):
        shutil.copytree(releases, dest / releases.relative_to(PROJECT))
    return dest


@pytest.fixture
def example_repo(tmp_path: Path) -> Path:
    return copy_example_repo(tmp_path / "repo")


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return proc.stdout


@pytest.fixture
def git_repo(example_repo: Path) -> Iterator[Path]:
    """The example repo as a Git repository with one commit on main."""
    git(example_repo, "init", "-q", "-b", "main")
    git(example_repo, "add", "-A")
    git(example_repo, "commit", "-q", "-m", "Initial releases")
    yield example_repo
