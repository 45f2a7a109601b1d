"""The first-parent log indexed by release file, cheap to load from the cache.

Commits are kept as raw rows and turned into :class:`Commit` values only when asked for,
so answering about one model out of a thousand touches only that model's commits.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from releasegate.history.commit_log import Change, Commit
from releasegate.history.timeline import Event, Key, release_key

# One event of one release file: (commit index, path, blob or None when gone, renamed-to path,
# index of the commit that put the row in this file's list: a renamed file inherits its old
# rows when the rename lands, so "as of commit n" keeps the rows added before n).
Row = tuple[int, str, "str | None", "str | None", int]


class Record:
    """Commits oldest first; ``index`` maps each (env, model) to its rows in chain order."""

    def __init__(self, rows: Sequence[Any], index: dict[Key, list[Row]], built: dict[int, Commit] | None = None,
                 limit: int | None = None) -> None:
        self._rows = rows
        self.index = index
        self._built = built if built is not None else {}
        self.limit = len(rows) if limit is None else limit

    @classmethod
    def from_commits(cls, commits: Sequence[Commit]) -> Record:
        return cls(commits, extend_index({}, commits, 0), dict(enumerate(commits)))

    def __len__(self) -> int:
        return self.limit

    def commit(self, i: int) -> Commit:
        found = self._built.get(i)
        if found is None:
            found = self._built[i] = _commit(self._rows[i])
        return found

    def time(self, i: int) -> int:
        row = self._rows[i]
        return row.time if isinstance(row, Commit) else int(row[2])

    def until(self, cutoff: float) -> Record:
        """The record up to the newest commit that had landed at ``cutoff`` (epoch seconds)."""
        last = max((i for i in range(self.limit) if self.time(i) <= cutoff), default=-1)
        return Record(self._rows, self.index, self._built, last + 1)

    def rows(self, key: Key) -> list[Row]:
        rows = self.index.get(key, [])
        if self.limit == len(self._rows):
            return rows
        return [r for r in rows if r[4] < self.limit]

    def keys(self) -> list[Key]:
        return sorted(k for k, rows in self.index.items() if rows and rows[0][4] < self.limit)

    def events(self, key: Key) -> list[Event]:
        return [Event(self.commit(i), path, blob, renamed) for i, path, blob, renamed, _ in self.rows(key)]

    def raw(self) -> tuple[list[Any], dict[str, list[Row]]]:
        """Rows and index in the cache's JSON shape."""
        rows = [_row(self.commit(i)) if isinstance(self._rows[i], Commit) else self._rows[i]
                for i in range(len(self._rows))]
        return rows, {f"{env}/{model}": list(r) for (env, model), r in self.index.items()}

    @classmethod
    def from_raw(cls, rows: list[Any], index: dict[str, list[Any]]) -> Record:
        keyed: dict[Key, list[Row]] = {}
        for name, entries in index.items():
            env, _, model = name.partition("/")
            keyed[(env, model)] = [tuple(e) for e in entries]  # type: ignore[misc]
        return cls(rows, keyed)

    def extended(self, newer: Sequence[Commit]) -> Record:
        """This record followed by ``newer`` commits."""
        offset = len(self._rows)
        rows = [*self._rows, *newer]
        built = {**self._built, **{offset + j: c for j, c in enumerate(newer)}}
        index = extend_index({k: list(v) for k, v in self.index.items()}, newer, offset)
        return Record(rows, index, built)


def extend_index(index: dict[Key, list[Row]], commits: Iterable[Commit], offset: int) -> dict[Key, list[Row]]:
    """Add ``commits`` (numbered from ``offset``) to ``index``; a renamed file carries its past along."""
    for i, commit in enumerate(commits, offset):
        for ch in commit.changes:
            key, old_key = release_key(ch.path), release_key(ch.old_path)
            if ch.status == "R" and old_key is not None:
                old_rows = index.setdefault(old_key, [])
                inherited = [(*r[:4], i) for r in old_rows]
                old_rows.append((i, ch.old_path or "", None, ch.path, i))
                if key is not None:
                    target = index.setdefault(key, [])
                    target.extend(inherited)  # after any past of its own, ended by a deletion
                    target.append((i, ch.path, ch.blob, None, i))
                continue
            if key is not None:
                index.setdefault(key, []).append((i, ch.path, ch.blob, None, i))
    return index


def _row(c: Commit) -> list[Any]:
    changes = [[ch.status, ch.path, ch.blob, ch.old_path, ch.old_blob] for ch in c.changes]
    return [c.oid, c.parent, c.time, c.author, c.email, c.subject, c.pr,
            [list(t) for t in c.trailers], c.reverts, c.merge, changes]


def _commit(row: Any) -> Commit:
    if isinstance(row, Commit):
        return row
    oid, parent, time, author, email, subject, pr, trailers, reverts, merge, changes = row
    return Commit(oid, parent, time, author, email, subject, pr, tuple(map(tuple, trailers)), reverts, merge,
                  tuple(Change(*ch) for ch in changes))
