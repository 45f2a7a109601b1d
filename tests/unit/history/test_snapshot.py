"""The status snapshot, advanced commit by commit, always equals a fresh computation."""
from __future__ import annotations

from releasegate.history.query import History
from releasegate.history.service import status_report
from releasegate.layout import RepoLayout
from tests.gitrepo import Repo, path, release


def fresh(repo: Repo) -> list[tuple[str, str, str | None, str, str]]:
    with History.open(repo.root, use_cache=False) as history:
        return sorted((e.env, e.model, e.version, e.since.oid, e.changed.oid) for e in history.live())


def from_snapshot(repo: Repo) -> list[tuple[str, str, str | None, str, str]]:
    report = status_report(RepoLayout(repo.root))
    return sorted((e.env, e.model, e.version, e.since.oid, e.changed.oid) for e in report.entries)


def test_snapshot_replays_every_kind_of_change(story: Repo) -> None:
    # Extra twists: a rename onto the name of a retired model, and a re-added retired model.
    story.git("mv", path("dev", "sentiment"), path("dev", "text-embedder"))
    story.commit("Rename dev sentiment onto a retired name", "2026-01-09T00:00:00Z")
    story.commit("Bring embedder back", "2026-01-10T00:00:00Z", {path("dev", "embedder"): release("embedder", "0.1.0")})
    chain = story.git("rev-list", "--first-parent", "--reverse", "HEAD").split()
    story.git("switch", "-q", "-c", "walk", chain[0])
    assert from_snapshot(story) == fresh(story)
    for commit in chain[1:]:
        story.git("reset", "-q", "--hard", commit)
        assert from_snapshot(story) == fresh(story), commit
    # Going back (not a first-parent descendant of the snapshot) recomputes.
    story.git("reset", "-q", "--hard", chain[3])
    assert from_snapshot(story) == fresh(story)
