"""Status, status at a time and per-model history of a hand-built story, against hand-computed answers."""
from __future__ import annotations

from datetime import datetime

from releasegate.history.query import History
from tests.gitrepo import Repo
from tests.unit.history.conftest import T0, T1, T2, T3, T4, T5, T6


def ts(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def live(history: History) -> dict[tuple[str, str], tuple[str | None, int, int | None, str]]:
    return {(e.env, e.model): (e.version, e.since.time, e.since.pr, e.since.author) for e in history.live()}


def test_status_now_follows_first_parent_merges_squashes_rebases_and_rollbacks(story: Repo) -> None:
    with History.open(story.root) as history:
        assert live(history) == {
            ("dev", "sentiment"): ("1.1.0", ts(T1), 1, "Test Author"),
            ("staging", "sentiment"): ("1.1.0", ts(T2), 2, "Sam Squash"),
            ("prod", "sentiment"): ("1.0.0", ts(T4), 4, "Olly Oncall"),
        }


def test_status_at_a_time(story: Repo) -> None:
    with History.open(story.root) as history:
        assert live(history.until(at("2026-01-05T00:30:00Z"))) == {
            ("dev", "sentiment"): ("1.1.0", ts(T1), 1, "Test Author"),
            ("staging", "sentiment"): ("1.1.0", ts(T2), 2, "Sam Squash"),
            ("prod", "sentiment"): ("1.1.0", ts(T3), None, "Rita Rebase"),
            ("dev", "embedder"): ("0.1.0", ts(T0), None, "Alice Admin"),
        }
        # The branch-only 1.0.5 was never live: just before the merge, dev still ran 1.0.0.
        before_merge = live(history.until(at("2026-01-02T11:59:59Z")))
        assert before_merge[("dev", "sentiment")] == ("1.0.0", ts(T0), None, "Alice Admin")
        # After the rename the model is live under its new name, since its original promotion.
        renamed = live(history.until(at("2026-01-07T12:00:00+00:00")))
        assert renamed[("dev", "text-embedder")] == ("0.1.0", ts(T0), None, "Alice Admin")
        assert ("dev", "embedder") not in renamed
        assert live(history.until(at("2025-12-31T23:59:59Z"))) == {}


def test_time_offsets_are_honoured(story: Repo) -> None:
    with History.open(story.root) as history:
        # 2026-01-06T00:30+01:00 is 23:30Z on the 5th: before the rollback.
        prod = live(history.until(at("2026-01-06T00:30:00+01:00")))[("prod", "sentiment")]
        assert prod[0] == "1.1.0"


def test_history_of_prod_with_rollback(story: Repo) -> None:
    with History.open(story.root) as history:
        stints = history.model_stints("sentiment")["prod"]
    summary = [(s.version, s.start.time, s.end.time if s.end else None, s.ended_by, s.rollback, s.changes)
               for s in stints]
    assert summary == [
        ("1.0.0", ts(T0), ts(T3), "promotion", False, 1),
        ("1.1.0", ts(T3), ts(T4), "rollback", False, 2),
        ("1.0.0", ts(T4), None, None, True, 1),
    ]
    assert stints[1].last_blob != stints[1].first_blob  # the replicas change stayed within the stint
    assert stints[2].last_blob == stints[0].last_blob  # the rollback restored the very same bytes


def test_renamed_and_retired_models(story: Repo) -> None:
    with History.open(story.root) as history:
        old = history.model_stints("embedder")["dev"]
        new = history.model_stints("text-embedder")["dev"]
    assert [(s.version, s.ended_by, s.end.time if s.end else None) for s in old] == [("0.1.0", "renamed", ts(T5))]
    assert [(s.version, s.start.time, s.ended_by, s.end.time if s.end else None, s.path) for s in new] == [
        ("0.1.0", ts(T0), "retired", ts(T6), "environments/dev/releases/text-embedder.yaml")]


def test_dev_history_skips_branch_only_versions(story: Repo) -> None:
    with History.open(story.root) as history:
        dev = history.model_stints("sentiment", ["dev"])
    assert list(dev) == ["dev"]
    assert [s.version for s in dev["dev"]] == ["1.0.0", "1.1.0"]
    assert dev["dev"][1].start.merge and dev["dev"][1].start.pr == 1


def test_cache_is_reused_and_extended(story: Repo) -> None:
    with History.open(story.root) as first:
        count = first.commit_count
        live(first)
    cache = story.root / ".git" / "releasegate" / "history-log.json"
    assert cache.is_file() and (story.root / ".git/releasegate/blob-summaries.json").is_file()
    story.commit("Promote sentiment 1.1.0 to prod again (#7)", "2026-01-09T00:00:00Z",
                 {"environments/prod/releases/sentiment.yaml":
                  (story.root / "environments/staging/releases/sentiment.yaml").read_text()})
    with History.open(story.root) as second:
        assert second.commit_count == count + 1
        assert live(second)[("prod", "sentiment")][0] == "1.1.0"
    # A history rewritten under the cache (force-push, reset) is read afresh, not trusted.
    story.git("reset", "-q", "--hard", "HEAD~2")
    with History.open(story.root) as third:
        assert third.commit_count == count - 1
        assert ("dev", "text-embedder") in live(third)


def test_damaged_cache_is_ignored(story: Repo) -> None:
    History.open(story.root).close()
    (story.root / ".git/releasegate/history-log.json").write_text("{not json")
    (story.root / ".git/releasegate/blob-summaries.json").write_text('{"format": 1, "blobs": {"x": 1}}')
    with History.open(story.root) as history:
        assert live(history)[("prod", "sentiment")][0] == "1.0.0"


def test_a_git_revert_of_a_merge_is_a_rollback(story: Repo) -> None:
    merge = story.git("log", "--first-parent", "--format=%H", "--grep", "Merge pull request #1")
    story.git("revert", "--no-edit", "-m", "1", merge, when="2026-01-09T00:00:00Z")
    with History.open(story.root) as history:
        dev = history.model_stints("sentiment", ["dev"])["dev"]
        assert [(s.version, s.ended_by, s.rollback) for s in dev] == [
            ("1.0.0", "promotion", False), ("1.1.0", "rollback", False), ("1.0.0", None, True)]
        assert dev[-1].start.reverts == merge and dev[-1].start.subject.startswith('Revert "Merge pull request #1')
        assert dev[-1].last_blob == dev[0].last_blob
