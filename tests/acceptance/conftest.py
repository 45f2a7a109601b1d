"""Fixtures of the commands that write release changes (promote, rollback, rollout): a story
repository with a bare ``origin``, and the loopback fake GitHub that checks every request and
answer against GitHub's OpenAPI description. (test_status_cli.py has a ``story`` of its own.)"""
from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gitrepo import Repo
from tests.support.fake_github import FakeGitHub
from tests.unit.history.conftest import build_story


@pytest.fixture
def story(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    repo = build_story(tmp_path / "story")
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    repo.git("remote", "add", "origin", str(origin))
    repo.git("push", "-q", "origin", "main")
    monkeypatch.chdir(repo.root)
    return repo


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    fake = FakeGitHub(repo="org/gitops").start()
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_test")
    monkeypatch.setenv("GITHUB_REPOSITORY", "org/gitops")
    monkeypatch.setenv("GITHUB_API_URL", fake.url)
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.example")
    monkeypatch.setenv("RELEASEGATE_THROTTLE", "0")
    monkeypatch.setenv("RELEASEGATE_RETRY_BACKOFF", "0")
    try:
        yield fake
    finally:
        fake.stop()
    assert fake.violations == []
