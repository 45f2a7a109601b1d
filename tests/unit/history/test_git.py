"""``Git.dirty_paths`` against real repositories: renames and copies in ``status --porcelain -z``."""
from __future__ import annotations

from pathlib import Path

import pytest

from releasegate.history.git import Git
from tests.gitrepo import Repo, init_repo, path, release

STAGING = path("staging", "sentiment")
PROD = path("prod", "sentiment")


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return init_repo(tmp_path / "repo", {STAGING: release("sentiment", "1.0.0"),
                                         PROD: release("sentiment", "1.0.0", env="prod")})


def test_clean_tree_has_no_dirty_paths(repo: Repo) -> None:
    assert Git(repo.root).dirty_paths() == []


def test_staged_rename_names_both_paths(repo: Repo) -> None:
    renamed = path("staging", "sentiment-v2")
    repo.git("mv", STAGING, renamed)
    assert repo.git("status", "--porcelain").startswith("R  ")
    assert sorted(Git(repo.root).dirty_paths()) == sorted([renamed, STAGING])


def test_rename_among_other_changes_and_odd_names(repo: Repo) -> None:
    odd = "environments/dev/releases/a b\nc.yaml"  # -z writes names verbatim: spaces, newlines, no quoting
    repo.write({odd: "x: 1\n"})
    repo.commit("odd name", "2026-01-02T00:00:00Z")
    repo.git("mv", PROD, "moved.yaml")
    repo.git("rm", "-q", "--cached", odd)
    (repo.root / STAGING).write_text(release("sentiment", "1.1.0"))
    assert sorted(Git(repo.root).dirty_paths()) == sorted(["moved.yaml", PROD, odd, STAGING])


def test_staged_copy_names_the_new_path_only(repo: Repo) -> None:
    repo.git("config", "status.renames", "copies")
    copy = path("dev", "sentiment")
    (repo.root / STAGING).write_text(release("sentiment", "1.0.1"))  # copies are found among modified sources
    (repo.root / copy).parent.mkdir(parents=True, exist_ok=True)
    (repo.root / copy).write_text(release("sentiment", "1.0.0"))
    repo.git("add", STAGING, copy)
    assert any(line.startswith("C  ") for line in repo.git("status", "--porcelain").splitlines())
    assert sorted(Git(repo.root).dirty_paths()) == sorted([copy, STAGING])


def test_objects_answers_each_name_in_order(repo: Repo) -> None:
    """One cat-file call for many names; a name that names nothing (or could not be asked) is None."""
    git = Git(repo.root)
    head = repo.git("rev-parse", "HEAD").strip()
    file = path("prod", "sentiment")
    names = [f"{head}:{file}", f"{'ab' * 20}^{{commit}}", f"{head}^{{commit}}", f"{head}:no such file",
             f"{head}:a\nb", " x", f"{head}:{file}"]
    found = git.objects(names)
    assert found[f"{head}:{file}"] == (repo.root / file).read_bytes()
    assert found[f"{head}^{{commit}}"] is not None and found[f"{head}^{{commit}}"].startswith(b"tree ")
    assert [found[n] for n in names[1:2] + names[3:6]] == [None, None, None, None]
