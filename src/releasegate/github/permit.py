"""The permit to load-test a pull request's commit on the self-hosted GPU runner.

A branch of this repository is load-tested on every push: its author can push here anyway.
A fork's pull request is load-tested only on the ``labeled`` event of a maintainer adding the
permit label (``safe-to-loadtest``), and then only the head commit in that event's payload:
the permit belongs to that commit. Three things keep it that way without relying on the
fork's read-only token:

* :func:`decide` reads the permit from the event alone: a ``synchronize`` (new commits) never
  carries one, whatever labels the pull request still has;
* :func:`verify`, right before the runner starts work, asks the API whether the pull request's
  head is still the permitted commit and the label is still on it, and whether the checkout
  is that commit: a re-run of an old ``labeled`` run after a push is refused;
* :func:`revoke` removes the label on ``synchronize``. It needs a token that may write to the
  base repository: run it from a ``pull_request_target`` workflow (the base branch's workflow
  and token), never from the fork's ``pull_request`` run, whose token is read-only.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from releasegate.errors import PermitError
from releasegate.github.client import GitHubClient
from releasegate.github.event import Event, PullRequest
from releasegate.github.pr import get_pull, remove_label

DEFAULT_LABEL = "safe-to-loadtest"
PUSH_ACTIONS = ("opened", "synchronize", "reopened")


@dataclass(frozen=True)
class Permit:
    """Whether this event may run ``sha`` on the runner, and why (one sentence for people)."""

    granted: bool
    sha: str | None
    reason: str
    revoke: bool = False  # new commits on a pull request that has the label: remove it


def decide(event: Event, label: str = DEFAULT_LABEL) -> Permit:
    """The permit this event carries, from the payload alone (no API request)."""
    pull = event.pull_request
    if pull is None:
        return Permit(True, event.head_sha, f"a {event.name} event: the commit is in this repository already")
    revoke = event.action == "synchronize" and label in pull.labels  # the label is per commit, on every pull request
    if not pull.from_fork:
        return replace(_same_repository(event, pull, label), revoke=revoke)
    if event.action == "labeled" and event.label == label:
        return Permit(True, pull.head_sha, f"a maintainer added `{label}` while the head was {_short(pull.head_sha)}")
    if event.action == "synchronize":
        return Permit(False, None, f"new commits ({_short(pull.head_sha)}) on a fork's pull request: a `{label}` "
                      "given to earlier commits does not carry over; review them and add the label again", revoke)
    return Permit(False, None, f"a fork's pull request is load-tested only when a maintainer adds `{label}`")


def _same_repository(event: Event, pull: PullRequest, label: str) -> Permit:
    if event.action in PUSH_ACTIONS or (event.action == "labeled" and event.label == label):
        return Permit(True, pull.head_sha, "a branch of this repository: its author can push here anyway")
    if event.action == "labeled":
        return Permit(False, None, f"the label {event.label!r} does not ask for a load test")
    return Permit(False, None, f"a {event.name} {event.action} event does not ask for a load test")


def verify(client: GitHubClient, event: Event, label: str = DEFAULT_LABEL, checkout_sha: str | None = None) -> None:
    """Raise :class:`PermitError` unless the permitted commit is still the one to run, now.

    Asks ``GET /pulls/{n}``: the head must be the event's head (no push since the label was
    added) and, on a fork, the label must still be there (a maintainer may have withdrawn it).
    ``checkout_sha`` (the commit in the work tree) must be the event's head too.
    """
    permit = decide(event, label)
    if not permit.granted:
        raise PermitError(f"this {event.name} {event.action} event does not permit a load test: {permit.reason}",
                          "run the load-test job only when the permit action grants it (`granted` output)")
    pull = event.pull_request
    if pull is not None:
        _still_current(client, pull, label)
    if checkout_sha is not None and permit.sha is not None and checkout_sha != permit.sha:
        raise PermitError(f"the checkout is commit {checkout_sha}, not {permit.sha}, the commit this event permits",
                          "check out exactly `ref: ${{ github.event.pull_request.head.sha }}`, never the branch")


def _still_current(client: GitHubClient, pull: PullRequest, label: str) -> None:
    now = get_pull(client, pull.number)
    if now.head_sha != pull.head_sha:
        raise PermitError(
            f"pull request #{pull.number} moved after this event: it was at {_short(pull.head_sha)}, "
            f"its head is now {_short(now.head_sha)}; the permit was for {_short(pull.head_sha)} only",
            f"review the new commits; to load-test them, add `{label}` again (it is removed on every push)",
        )
    if pull.from_fork and label not in now.labels:
        raise PermitError(f"`{label}` is no longer on pull request #{pull.number}: a maintainer withdrew the permit",
                          f"add `{label}` again to load-test the head commit {_short(pull.head_sha)}")


def revoke(client: GitHubClient, event: Event, label: str = DEFAULT_LABEL) -> bool:
    """On new commits, remove ``label`` from the pull request; True if this call removed it."""
    pull = event.pull_request
    if pull is None or not decide(event, label).revoke:
        return False
    return remove_label(client, pull.number, label)


def _short(sha: str) -> str:
    return sha[:12]
