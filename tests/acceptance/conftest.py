"""Fixtures of the commands that write release changes (promote, rollback, rollout): a story
repository with a bare ``origin``, and the loopback fake GitHub that checks every request and
answer against GitHub's OpenAPI description. (test_status_cli.py has a ``story`` of its own.)"""
from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gitrepo import Repo
from tests.support.fake_github import FakeGitHub, serving
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
    with serving(monkeypatch, "org/gitops", GITHUB_REPOSITORY="org/gitops",
                 GITHUB_SERVER_URL="https://github.example") as server:
        yield server
