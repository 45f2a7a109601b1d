"""One sticky comment per pull request and key, edited in place, never duplicated.

The comment starts with a hidden marker ``<!-- releasegate:<key> -->``. Only comments
that start with the marker *and* were written by the bot (``author``; by default any
account of type ``Bot``, which is what ``GITHUB_TOKEN`` writes as) are ours, so a
person quoting the marker cannot make releasegate edit or delete their comment.

Concurrent runs: two jobs may both find no comment and both create one. So after
creating, the job lists the comments again, keeps the *oldest* of ours (lowest id),
writes its body there if that is not the one it created, and deletes the newer
ones. Every run converges on the same survivor, so at most one comment remains;
a 404 on deleting a duplicate that a concurrent run removed first is ignored. The
same re-listing also cleans up duplicates left by a retried POST whose first try
GitHub did complete.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from releasegate.errors import GitHubError
from releasegate.github.client import GitHubClient, status_of

MAX_BODY = 65536
_TRUNCATED = "\n\n_(truncated: the full report is in the job summary)_"


@dataclass(frozen=True)
class StickyResult:
    """What :func:`upsert_sticky` did: ``action`` is created, updated or unchanged."""

    comment_id: int
    action: str
    duplicates_removed: int


def marker(key: str) -> str:
    if not key.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"sticky comment key must be alphanumeric with - or _: {key!r}")
    return f"<!-- releasegate:{key} -->"


def compose(key: str, body: str) -> str:
    """The full comment text: marker line, then ``body`` cut to GitHub's 65536 characters."""
    head = marker(key) + "\n"
    room = MAX_BODY - len(head)
    if len(body) > room:
        body = body[: room - len(_TRUNCATED)] + _TRUNCATED
    return head + body


def upsert_sticky(
    client: GitHubClient, number: int, key: str, body: str, author: str | None = None
) -> StickyResult:
    """Create or update the sticky comment ``key`` on PR/issue ``number`` to say ``body``."""
    full = compose(key, body)
    issue = client.repo().get_issue(number)
    is_ours = _matcher(marker(key), author)
    existing = _ours(client, issue, is_ours, number)
    if existing:
        keep = existing[0]
        action = "unchanged"
        if keep.body != full:
            client.call(f"edit comment {keep.id} on #{number}", lambda: keep.edit(full))
            action = "updated"
        return StickyResult(keep.id, action, _delete(client, existing[1:]))
    created = client.call(f"create comment on #{number}", lambda: issue.create_comment(full))
    again = _ours(client, issue, is_ours, number)
    keep = again[0] if again else created
    if keep.id != created.id:
        client.call(f"edit comment {keep.id} on #{number}", lambda: keep.edit(full))
    removed = _delete(client, [c for c in again if c.id != keep.id])
    if created.id != keep.id and all(c.id != created.id for c in again):
        removed += _delete(client, [created])
    return StickyResult(keep.id, "created" if keep.id == created.id else "updated", removed)


def _matcher(mark: str, author: str | None) -> Callable[[Any], bool]:
    def is_ours(comment: Any) -> bool:
        body = comment.body or ""
        user = comment.user
        if not body.startswith(mark) or user is None:
            return False
        return user.login == author if author else user.type == "Bot"

    return is_ours


def _ours(client: GitHubClient, issue: Any, is_ours: Callable[[Any], bool], number: int) -> list[Any]:
    comments = client.call(f"list comments on #{number}", lambda: list(issue.get_comments()))
    return sorted((c for c in comments if is_ours(c)), key=lambda c: c.id)


def _delete(client: GitHubClient, comments: list[Any]) -> int:
    removed = 0
    for comment in comments:
        try:
            client.call(f"delete duplicate comment {comment.id}", comment.delete)
            removed += 1
        except GitHubError as e:
            if status_of(e) != 404:  # a concurrent run deleted it first
                raise
    return removed
