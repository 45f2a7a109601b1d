"""Fixtures of the commands that write release changes (promote, rollback, rollout): a story
repository with a bare ``origin``, and the loopback fake GitHub that checks every request and
answer against GitHub's OpenAPI description. (test_status_cli.py has a ``story`` of its own.)"""
from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PROJECT
from tests.gitrepo import Repo, init_repo
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
def kserve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    """The shipped prod fraud-score alone: a KServe canary of 2.1.0 at step 1/3 (20 %), landed at 00:00
    on the canary day of test_rollout_cli.py."""
    fraud = "environments/prod/releases/fraud-score.yaml"
    repo = init_repo(tmp_path / "kserve", {fraud: (PROJECT / fraud).read_text()}, when="2026-01-10T00:00:00Z")
    shutil.copy(PROJECT / "policies/render.yaml", repo.root / "policies/render.yaml")
    monkeypatch.chdir(repo.root)
    return repo


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    with serving(monkeypatch, "org/gitops", GITHUB_REPOSITORY="org/gitops",
                 GITHUB_SERVER_URL="https://github.example") as server:
        yield server
