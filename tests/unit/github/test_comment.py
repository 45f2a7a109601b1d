from __future__ import annotations

import pytest

from releasegate.errors import GitHubError
from releasegate.github.client import GitHubClient
from releasegate.github.comment import MAX_BODY, compose, marker, upsert_sticky
from tests.support.fake_github import FakeGitHub

MARK = marker("validate")


def test_creates_one_comment_then_edits_it_in_place(fake_github: FakeGitHub, client: GitHubClient) -> None:
    first = upsert_sticky(client, 7, "validate", "first report")
    second = upsert_sticky(client, 7, "validate", "second report")
    third = upsert_sticky(client, 7, "validate", "second report")

    comments = fake_github.comments_on(7)
    assert [c["body"] for c in comments] == [MARK + "\nsecond report"]
    assert (first.action, second.action, third.action) == ("created", "updated", "unchanged")
    assert first.comment_id == second.comment_id == third.comment_id
    assert len(fake_github.calls_to("POST", r"/comments$")) == 1


def test_ignores_people_quoting_the_marker_and_other_keys(fake_github: FakeGitHub, client: GitHubClient) -> None:
    human = fake_github.add_comment(7, MARK + "\nI copied this", login="mallory", kind="User")
    other = fake_github.add_comment(7, marker("loadtest") + "\nload test")

    upsert_sticky(client, 7, "validate", "report")

    bodies = {c["id"]: c["body"] for c in fake_github.comments_on(7)}
    assert bodies[human] == MARK + "\nI copied this"
    assert bodies[other] == marker("loadtest") + "\nload test"
    assert len(bodies) == 3


def test_removes_duplicates_left_by_earlier_runs(fake_github: FakeGitHub, client: GitHubClient) -> None:
    oldest = fake_github.add_comment(7, MARK + "\nold")
    fake_github.add_comment(7, MARK + "\nduplicate")

    result = upsert_sticky(client, 7, "validate", "new")

    assert [(c["id"], c["body"]) for c in fake_github.comments_on(7)] == [(oldest, MARK + "\nnew")]
    assert result.duplicates_removed == 1


def test_concurrent_run_creating_at_the_same_time_leaves_one_comment(
    fake_github: FakeGitHub, client: GitHubClient
) -> None:
    # Another job's comment appears between our listing and our POST (both saw none).
    state = {"done": False}

    def racing_job(method: str, path: str) -> None:
        if method == "POST" and path.endswith("/comments") and not state["done"]:
            state["done"] = True
            fake_github.add_comment(7, MARK + "\nfrom the other job")

    fake_github.on_request = racing_job
    result = upsert_sticky(client, 7, "validate", "ours")

    comments = fake_github.comments_on(7)
    assert len(comments) == 1
    assert comments[0]["body"] == MARK + "\nours"
    assert comments[0]["id"] == result.comment_id
    assert result.duplicates_removed == 1


def test_retried_post_that_github_completed_does_not_duplicate(
    fake_github: FakeGitHub, client: GitHubClient, sleeps: list[float]
) -> None:
    fake_github.fail("POST", r"/comments$", 502, then_apply=True, message="Bad Gateway")

    upsert_sticky(client, 7, "validate", "report")

    assert len(fake_github.comments_on(7)) == 1
    assert sleeps == [1.0]


def test_failure_to_create_leaves_no_comment_and_names_the_request(
    fake_github: FakeGitHub, client: GitHubClient
) -> None:
    fake_github.fail("POST", r"/comments$", 403, message="Resource not accessible by integration")

    with pytest.raises(GitHubError) as info:
        upsert_sticky(client, 7, "validate", "report")

    assert "create comment on #7" in info.value.message
    assert "403" in info.value.message and "pull-requests: write" in str(info.value.hint)
    assert fake_github.comments_on(7) == []


def test_long_bodies_are_cut_to_githubs_limit() -> None:
    body = compose("validate", "x" * (MAX_BODY * 2))
    assert len(body) <= MAX_BODY
    assert body.startswith(MARK) and "truncated" in body


def test_marker_key_must_be_plain() -> None:
    with pytest.raises(ValueError):
        marker("a -->")


def test_concurrent_run_creating_just_after_us_is_removed_and_we_keep_ours(
    fake_github: FakeGitHub, client: GitHubClient
) -> None:
    state = {"posted": False, "raced": False}

    def racing_job(method: str, path: str) -> None:
        if method == "POST" and path.endswith("/comments"):
            state["posted"] = True
        elif method == "GET" and path.endswith("/comments") and state["posted"] and not state["raced"]:
            state["raced"] = True  # the other job's comment lands between our POST and our re-listing
            fake_github.add_comment(7, MARK + "\nfrom the other job")

    fake_github.on_request = racing_job
    result = upsert_sticky(client, 7, "validate", "ours")

    (comment,) = fake_github.comments_on(7)
    assert (comment["id"], comment["body"]) == (result.comment_id, MARK + "\nours")
    assert result.action == "created" and result.duplicates_removed == 1
