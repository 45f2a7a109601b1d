"""The first-parent log of release-file changes, read in one ``git log`` pass and cached.

What was live on a branch is what its first-parent chain says: a merge commit (or a
squash commit, or a rebased commit) lands a change at the moment it lands on the branch.
:mod:`releasegate.history.cache` keeps it in ``.git/releasegate/``.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from releasegate.history.git import Git

ENV_PREFIX = "environments/"
_START = "\x1e\x1fRGC\x1f"
_END = "\x1f\x1dRGE"
_FIELDS = ("%H", "%P", "%ct", "%an", "%ae", "%B")
LOG_FORMAT = _START + "\x1f".join(_FIELDS) + _END
_MERGE_PR = re.compile(r"^Merge pull request #(\d+) ")
_SQUASH_PR = re.compile(r"\(#(\d+)\)\s*$")
_TRAILER = re.compile(r"^Releasegate-([A-Za-z][A-Za-z-]*):[ \t]*(\S.*?)\s*$", re.M)
_REVERTS = re.compile(r"This reverts commit ([0-9a-f]{7,64})")


class Change(NamedTuple):
    """One release file added (A), modified (M), deleted (D) or renamed (R) by a commit.

    Commits and changes are named tuples rather than frozen dataclasses: a large history
    has tens of thousands of them and tuples are built several times faster from the cache.
    """

    status: str
    path: str
    blob: str | None
    old_path: str | None = None
    old_blob: str | None = None


class Commit(NamedTuple):
    """A commit on the first-parent chain that changed release files."""

    oid: str
    parent: str | None
    time: int
    author: str
    email: str
    subject: str
    pr: int | None
    trailers: tuple[tuple[str, str], ...]
    reverts: str | None
    merge: bool
    changes: tuple[Change, ...]

    def trailer(self, key: str) -> str | None:
        """The last ``Releasegate-<key>:`` trailer value (case-insensitive key)."""
        found = [v for k, v in self.trailers if k.lower() == key.lower()]
        return found[-1] if found else None


def read_log(git: Git, tip: str, paths: tuple[str, ...] = (ENV_PREFIX,), stop: str | None = None) -> list[Commit]:
    """First-parent commits from ``tip`` back (to ``stop``, exclusive) touching ``paths``, oldest first."""
    args = [
        "-c", "core.quotePath=false", "-c", "log.showSignature=false",
        "log", "--first-parent", "-m", "-M", "--raw", "--no-abbrev", "-z", "--no-color",
        f"--format={LOG_FORMAT}", tip if stop is None else f"{stop}..{tip}", "--", *paths,
    ]
    out = git.run(args).decode("utf-8", "replace")
    commits = [_parse_record(rec) for rec in out.split(_START)[1:]]
    commits.reverse()
    return commits


def _parse_record(record: str) -> Commit:
    header, _, raw = record.partition(_END)
    oid, parents, ctime, author, email, body = header.split("\x1f", 5)
    parent_list = parents.split()
    subject = body.strip().splitlines()[0] if body.strip() else ""
    return Commit(
        oid=oid,
        parent=parent_list[0] if parent_list else None,
        time=int(ctime),
        author=author,
        email=email,
        subject=subject,
        pr=_pr_number(subject, body),
        trailers=tuple((m.group(1), m.group(2)) for m in _TRAILER.finditer(body)),
        reverts=(m.group(1) if (m := _REVERTS.search(body)) else None),
        merge=len(parent_list) > 1,
        changes=tuple(_parse_raw(raw)),
    )


def _pr_number(subject: str, body: str) -> int | None:
    for pattern in (_MERGE_PR, _SQUASH_PR):
        if m := pattern.search(subject):
            return int(m.group(1))
    m = re.search(r"^Releasegate-PR:[ \t]*#?(\d+)\s*$", body, re.M)
    return int(m.group(1)) if m else None


def _parse_raw(raw: str) -> list[Change]:
    tokens = [t.strip("\n") for t in raw.split("\0")]
    changes: list[Change] = []
    i = 0
    while i < len(tokens):
        meta = tokens[i]
        if not meta.startswith(":"):
            i += 1
            continue
        _, _, old_blob, blob, status = meta[1:].split(" ", 4)
        kind = status[0]
        if kind in "RC":
            old_path, path = tokens[i + 1], tokens[i + 2]
            i += 3
        else:
            old_path, path = None, tokens[i + 1]
            i += 2
        changes.append(_change(kind, path, old_path, old_blob, blob))
    return changes


def _change(kind: str, path: str, old_path: str | None, old_blob: str, blob: str) -> Change:
    new = None if set(blob) == {"0"} else blob
    old = None if set(old_blob) == {"0"} else old_blob
    if kind == "C":  # a copy is an addition of the new path
        return Change("A", path, new)
    if kind == "R":
        return Change("R", path, new, old_path, old)
    if kind in "MT":
        return Change("M", path, new, None, old)
    return Change(kind, path, new, None, old)
