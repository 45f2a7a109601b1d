"""The load-test permit: bound to the labelled commit, gone with the next push, on forks too."""
from __future__ import annotations

from typing import Any

import pytest

from releasegate.errors import GitHubError, PermitError
from releasegate.github.client import GitHubClient
from releasegate.github.event import Event, parse_event
from releasegate.github.permit import decide, revoke, verify
from tests.support.fake_github import FakeGitHub, Pull
from tests.support.github_events import merge_group_event, pull_request_event

LABEL = "safe-to-loadtest"
BASE, X, Y = "b" * 40, "1" * 40, "2" * 40


def _event(action: str, head: str = X, *, fork: bool = True, labels: tuple[str, ...] = (),
           label: str | None = None, name: str = "pull_request_target") -> Event:
    payload: dict[str, Any] = pull_request_event(action, number=9, base_sha=BASE, head_sha=head, fork=fork,
                                                 labels=labels, label=label)
    return parse_event(payload, name)


@pytest.mark.parametrize(("action", "fork", "labels", "label", "granted", "revokes"), [
    ("opened", False, (), None, True, False),
    ("synchronize", False, (LABEL,), None, True, True),
    ("reopened", False, (), None, True, False),
    ("labeled", False, ("release/prod",), "release/prod", False, False),
    ("labeled", False, (LABEL,), LABEL, True, False),
    ("opened", True, (), None, False, False),
    ("reopened", True, (LABEL,), None, False, False),
    ("labeled", True, (LABEL,), LABEL, True, False),
    ("labeled", True, ("release/prod", LABEL), "release/prod", False, False),
    ("synchronize", True, (LABEL,), None, False, True),
    ("synchronize", True, (), None, False, False),
])
def test_the_permit_comes_from_the_event(action: str, fork: bool, labels: tuple[str, ...], label: str | None,
                                         granted: bool, revokes: bool) -> None:
    permit = decide(_event(action, fork=fork, labels=labels, label=label), LABEL)
    assert (permit.granted, permit.sha, permit.revoke) == (granted, X if granted else None, revokes)
    assert permit.reason


def test_events_without_a_pull_request_carry_their_own_commit() -> None:
    event = parse_event(merge_group_event(BASE, X), "merge_group")
    assert decide(event) == decide(event, "anything")
    assert (decide(event).granted, decide(event).sha) == (True, X)


def test_a_push_to_a_fork_invalidates_the_label(fake_github: FakeGitHub, client: GitHubClient) -> None:
    """The story of issue 'Trust boundary' item 6, against the OpenAPI-checked fake GitHub."""
    fake_github.add_pull(Pull(9, head_sha=X, base_sha=BASE))
    fake_github.labels[9] = [LABEL]
    labelled = _event("labeled", X, labels=(LABEL,), label=LABEL)
    verify(client, labelled, LABEL, checkout_sha=X)  # a maintainer labelled X: X may run

    fake_github.pulls[9].head_sha = Y  # the fork pushes Y; its own run's read-only token cannot touch labels
    pushed = _event("synchronize", Y, labels=(LABEL,))
    assert decide(pushed, LABEL).granted is False
    assert revoke(client, pushed, LABEL) is True  # the base's token (pull_request_target) removes it
    assert fake_github.labels[9] == []
    assert [c.path for c in fake_github.calls_to("DELETE", r"/labels/")] == [
        f"/repos/{fake_github.repo}/issues/9/labels/{LABEL}"]

    with pytest.raises(PermitError) as info:  # a re-run of the old labelled run (its payload still says X)
        verify(client, labelled, LABEL, checkout_sha=X)
    assert "moved after this event" in info.value.message and Y[:12] in info.value.message
    assert f"add `{LABEL}` again" in str(info.value.hint)

    fake_github.labels[9] = [LABEL]  # the maintainer reviews Y and labels it
    verify(client, _event("labeled", Y, labels=(LABEL,), label=LABEL), LABEL, checkout_sha=Y)


def test_a_withdrawn_label_withdraws_the_permit(fake_github: FakeGitHub, client: GitHubClient) -> None:
    fake_github.add_pull(Pull(9, head_sha=X))
    with pytest.raises(PermitError) as info:
        verify(client, _event("labeled", X, labels=(LABEL,), label=LABEL), LABEL)
    assert "no longer on pull request #9" in info.value.message


def test_the_checkout_must_be_the_permitted_commit(fake_github: FakeGitHub, client: GitHubClient) -> None:
    fake_github.add_pull(Pull(9, head_sha=X))
    fake_github.labels[9] = [LABEL]
    with pytest.raises(PermitError) as info:
        verify(client, _event("labeled", X, labels=(LABEL,), label=LABEL), LABEL, checkout_sha=Y)
    assert "github.event.pull_request.head.sha" in str(info.value.hint)


def test_an_event_without_a_permit_is_refused_before_any_request(fake_github: FakeGitHub,
                                                                 client: GitHubClient) -> None:
    with pytest.raises(PermitError) as info:
        verify(client, _event("synchronize", Y, labels=(LABEL,)), LABEL)
    assert "does not permit a load test" in info.value.message and "granted" in str(info.value.hint)
    assert fake_github.calls == []


def test_a_same_repository_branch_needs_no_label(fake_github: FakeGitHub, client: GitHubClient) -> None:
    fake_github.add_pull(Pull(9, head_sha=X))
    verify(client, _event("synchronize", X, fork=False), LABEL, checkout_sha=X)


def test_revoking_with_a_read_only_token_is_an_error_not_a_silent_skip(fake_github: FakeGitHub,
                                                                       client: GitHubClient) -> None:
    fake_github.fail("DELETE", r"/labels/", 403, message="Resource not accessible by integration")
    with pytest.raises(GitHubError) as info:
        revoke(client, _event("synchronize", Y, labels=(LABEL,)), LABEL)
    assert "403" in info.value.message and "permissions" in str(info.value.hint)
