"""The first-parent log of release-file changes, read in one ``git log`` pass and cached.

What was live on a branch is what its first-parent chain says: a merge commit (or a
squash commit, or a rebased commit) lands a change at the moment it lands on the branch.
The log is cached in ``.git/releasegate/`` keyed by the tip commit id and extended
incrementally when the branch moves forward; it is never committed.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import NamedTuple

from releasegate.history.git import Git

ENV_PREFIX = "environments/"
CACHE_FORMAT = 1
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


# -- cache ---------------------------------------------------------------------------------


def cached_log(git: Git, tip: str) -> list[Commit]:
    """The full first-parent log of release files up to ``tip``, using and refreshing the cache."""
    cache_file = git.git_dir() / "releasegate" / "history-log.json"
    cached = _load_cache(cache_file)
    if cached is not None:
        cached_tip, commits = cached
        if cached_tip == tip:
            return commits
        newer = _extend(git, cached_tip, tip)
        if newer is not None:
            commits = commits + newer
            _save_cache(cache_file, tip, commits)
            return commits
    commits = read_log(git, tip)
    _save_cache(cache_file, tip, commits)
    return commits


def _extend(git: Git, cached_tip: str, tip: str) -> list[Commit] | None:
    """Commits after ``cached_tip`` when it lies on ``tip``'s first-parent chain, else None."""
    chain = git.text(["rev-list", "--first-parent", "--parents", f"{cached_tip}..{tip}"]).splitlines()
    if not chain:
        return None
    last = chain[-1].split()
    if len(last) < 2 or last[1] != cached_tip:
        return None
    return read_log(git, tip, stop=cached_tip)


def _load_cache(path: Path) -> tuple[str, list[Commit]] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != CACHE_FORMAT:
            return None
        return data["tip"], [_commit_from_json(c) for c in data["commits"]]
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None  # a missing or damaged cache is rebuilt from git


def _save_cache(path: Path, tip: str, commits: list[Commit]) -> None:
    data = {"format": CACHE_FORMAT, "tip": tip, "commits": [_commit_to_json(c) for c in commits]}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".history-log.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, separators=(",", ":"))
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError:
        return  # a read-only .git only costs speed


def _commit_to_json(c: Commit) -> list[object]:
    changes = [[ch.status, ch.path, ch.blob, ch.old_path, ch.old_blob] for ch in c.changes]
    return [c.oid, c.parent, c.time, c.author, c.email, c.subject, c.pr,
            [list(t) for t in c.trailers], c.reverts, c.merge, changes]


def _commit_from_json(row: list) -> Commit:  # type: ignore[type-arg]
    oid, parent, time, author, email, subject, pr, trailers, reverts, merge, changes = row
    return Commit(
        oid, parent, time, author, email, subject, pr,
        tuple(map(tuple, trailers)), reverts, merge,
        tuple(Change(*ch) for ch in changes),
    )
