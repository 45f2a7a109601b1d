"""A hand-built history with merges, squashes, rebases, a rollback, a rename and a retirement."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.gitrepo import Repo, init_repo, path, release

T0 = "2026-01-01T00:00:00Z"
T1 = "2026-01-02T12:00:00Z"
T2 = "2026-01-03T00:00:00Z"
T3 = "2026-01-05T00:00:00Z"
T3B = "2026-01-05T01:00:00Z"
T4 = "2026-01-06T00:00:00Z"
T5 = "2026-01-07T00:00:00Z"
T6 = "2026-01-08T00:00:00Z"


def build_story(root: Path) -> Repo:
    repo = init_repo(root, {
        path("dev", "sentiment"): release("sentiment", "1.0.0"),
        path("staging", "sentiment"): release("sentiment", "1.0.0"),
        path("prod", "sentiment"): release("sentiment", "1.0.0", env="prod"),
        path("dev", "embedder"): release("embedder", "0.1.0"),
    }, when=T0)
    # PR #1, merged with a merge commit; 1.0.5 only ever existed on the branch.
    repo.merge_pr(1, "promote-dev", T1, {path("dev", "sentiment"): release("sentiment", "1.1.0")},
                  "Promote sentiment 1.1.0 to dev", steps=[{path("dev", "sentiment"): release("sentiment", "1.0.5")}])
    # PR #2, squash-merged.
    repo.commit("Promote sentiment 1.1.0 to staging (#2)", T2,
                {path("staging", "sentiment"): release("sentiment", "1.1.0")}, author="Sam Squash")
    # Rebase-merged: two linear commits, no PR number in either.
    repo.commit("Promote sentiment 1.1.0 to prod", T3,
                {path("prod", "sentiment"): release("sentiment", "1.1.0", env="prod")}, author="Rita Rebase")
    repo.commit("Scale sentiment in prod", T3B,
                {path("prod", "sentiment"): release("sentiment", "1.1.0", env="prod", replicas=5)},
                author="Rita Rebase")
    repo.commit("Roll back sentiment in prod to 1.0.0 (#4)\n\nReleasegate-Action: rollback", T4,
                {path("prod", "sentiment"): release("sentiment", "1.0.0", env="prod")}, author="Olly Oncall")
    repo.git("mv", path("dev", "embedder"), path("dev", "text-embedder"))
    repo.commit("Rename embedder (#5)", T5, author="Nora Rename")
    repo.commit("Retire text-embedder (#6)", T6, {path("dev", "text-embedder"): None}, author="Ray Retire")
    return repo


@pytest.fixture
def story(tmp_path: Path) -> Repo:
    return build_story(tmp_path / "story")
