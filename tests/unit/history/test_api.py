"""The entry points other gates use: live release at a ref or a time, was-live, is-rollback."""
from __future__ import annotations

from datetime import datetime

from releasegate.history import is_rollback, live_release, live_release_at, was_live
from releasegate.layout import RepoLayout
from releasegate.release import parse_release
from tests.gitrepo import Repo, path, release


def test_live_release_at_ref_and_time(story: Repo) -> None:
    layout = RepoLayout(story.root)
    now = live_release(layout, "prod", "sentiment")
    assert now is not None and now.version == "1.0.0" and now.source == path("prod", "sentiment")
    assert live_release(layout, "prod", "sentiment", ref="HEAD~3").version == "1.1.0"  # type: ignore[union-attr]
    assert live_release(layout, "prod", "nope") is None
    then = live_release_at(layout, "prod", "sentiment", datetime.fromisoformat("2026-01-05T12:00:00+00:00"))
    assert then is not None and then.version == "1.1.0" and then.data["spec"]["runtime"]["replicas"] == 5
    assert live_release_at(layout, "prod", "sentiment", datetime.fromisoformat("2025-01-01T00:00:00+00:00")) is None


def test_was_live_and_is_rollback(story: Repo) -> None:
    layout = RepoLayout(story.root)
    assert was_live(layout, "prod", "sentiment", "1.1.0")
    assert not was_live(layout, "prod", "sentiment", "1.0.5")
    assert not was_live(layout, "staging", "sentiment", "1.0.5")  # only on a PR branch, never on main
    # prod runs 1.0.0 now: going "back" to 1.1.0 is not a rollback (it is not lower).
    candidate = parse_release(release("sentiment", "1.1.0", env="prod").encode(), path("prod", "sentiment"))
    assert not is_rollback(layout, candidate)
    story.commit("Promote sentiment 1.1.0 to prod again", "2026-01-09T00:00:00Z",
                 {path("prod", "sentiment"): release("sentiment", "1.1.0", env="prod")})
    back = parse_release(release("sentiment", "1.0.0", env="prod").encode(), path("prod", "sentiment"))
    assert is_rollback(layout, back)
    never = parse_release(release("sentiment", "0.9.0", env="prod").encode(), path("prod", "sentiment"))
    assert not is_rollback(layout, never)
