from __future__ import annotations

import pytest

from releasegate.errors import GitHubError
from releasegate.github.client import GitHubClient
from releasegate.github.pr import add_labels, get_pull, list_files, list_reviews, remove_label, team_members
from tests.support.fake_github import FakeGitHub, Pull


def test_files_are_paginated_up_to_the_api_cap(fake_github: FakeGitHub, client: GitHubClient) -> None:
    files = [f"environments/dev/releases/m{i}.yaml" for i in range(3000)]
    fake_github.add_pull(Pull(9, files=files))
    assert list_files(client, get_pull(client, 9)) == files
    assert len(fake_github.calls_to("GET", r"/pulls/9/files$")) == 30


def test_more_files_than_the_api_lists_is_refused_not_truncated(fake_github: FakeGitHub, client: GitHubClient) -> None:
    fake_github.add_pull(Pull(9, files=["a"] * 3000, changed_files=3500))
    with pytest.raises(GitHubError) as info:
        list_files(client, get_pull(client, 9))
    assert "3500 files" in info.value.message and "fetch-depth: 0" in str(info.value.hint)
    assert fake_github.calls_to("GET", r"/files$") == []


def test_reviews_are_normalised(fake_github: FakeGitHub, client: GitHubClient) -> None:
    fake_github.add_pull(Pull(3))
    fake_github.add_review(3, "alice", "APPROVED", "a" * 40, "2026-11-20T10:00:00Z")
    (review,) = list_reviews(client, 3)
    assert (review.user, review.state, review.commit_id) == ("alice", "APPROVED", "a" * 40)
    assert review.submitted_at is not None and review.submitted_at.startswith("2026-11-20T10:00:00")


def test_team_membership_counts_only_active_members(fake_github: FakeGitHub, client: GitHubClient) -> None:
    fake_github.teams[("octo-org", "ml-leads")] = {"alice": "active", "bob": "pending"}
    assert team_members(client, "ml-leads", ["alice", "bob", "carol"], "octo-org") == {"alice"}
    assert team_members(client, "octo-org/ml-leads", ["alice"], "other") == {"alice"}


def test_team_membership_without_permission_says_which_token(fake_github: FakeGitHub, client: GitHubClient) -> None:
    fake_github.fail("GET", r"/memberships/", 403, message="Resource not accessible by integration")
    with pytest.raises(GitHubError, match="cannot read membership of team octo-org/ml-leads") as info:
        team_members(client, "ml-leads", ["alice"], "octo-org")
    assert "members: read" in str(info.value.hint)


def test_labels_use_the_documented_body_and_removal_tolerates_absence(
    fake_github: FakeGitHub, client: GitHubClient
) -> None:
    add_labels(client, 4, ["release/prod", "release/dev"])
    assert fake_github.labels[4] == ["release/dev", "release/prod"]
    assert remove_label(client, 4, "release/dev") is True
    assert remove_label(client, 4, "safe-to-loadtest") is False
    assert fake_github.labels[4] == ["release/prod"]
