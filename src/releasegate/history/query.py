"""Questions asked of the release record: what is live, what was live, and when.

:class:`History` reads the first-parent log of a branch once (cached in ``.git/``) and
answers status, per-model history and "what was live at time T" from it.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from releasegate.history.blobs import BlobInfo, BlobSummaries
from releasegate.history.cache import cached_log
from releasegate.history.commit_log import Commit, read_log
from releasegate.history.file_index import Record, Row
from releasegate.history.git import Git, ensure_full_history, open_repo
from releasegate.history.timeline import Event, Key, Stint, build_stints
from releasegate.rollout.state import Rollout


@dataclass(frozen=True)
class LiveEntry:
    """The version live in one environment: since ``since`` landed it, last touched by ``changed``."""

    env: str
    model: str
    version: str | None
    digest: str | None
    path: str
    blob: str
    since: Commit
    changed: Commit
    rollout: Rollout | None = None  # where the live file's rollout stands (a canary's step and weight)


class History:
    """The first-parent history of release files on one branch (``ref``)."""

    def __init__(self, git: Git, ref: str, tip: str, record: Record, summaries: BlobSummaries) -> None:
        self.git, self.ref, self.tip = git, ref, tip
        self.record = record
        self.summaries = summaries

    @classmethod
    def open(cls, root: Path, ref: str = "HEAD", *, deepen: bool = False,
             paths: Iterable[str] | None = None, use_cache: bool = True, git: Git | None = None) -> History:
        """Read the history of ``ref``; ``paths`` limits it to those files (no cache used)."""
        git = git or open_repo(root)
        ensure_full_history(git, deepen)
        tip = git.rev_parse(ref)
        if paths is not None:
            record = Record.from_commits(read_log(git, tip, tuple(sorted(set(paths))) or ("environments/",)))
        elif use_cache:
            record = cached_log(git, tip)
        else:
            record = Record.from_commits(read_log(git, tip))
        return cls(git, ref, tip, record, BlobSummaries(git, use_cache=use_cache))

    def close(self) -> None:
        """Persist newly read blob summaries (a cache; losing it only costs time)."""
        self.summaries.save()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the record ------------------------------------------------------------------------

    def until(self, at: datetime) -> History:
        """The history as it stood at ``at``: commits up to the newest one that had landed by then."""
        return History(self.git, self.ref, self.tip, self.record.until(at.timestamp()), self.summaries)

    @property
    def commit_count(self) -> int:
        return len(self.record)

    def first_time(self) -> int | None:
        return self.record.time(0) if len(self.record) else None

    def keys(self) -> list[Key]:
        return self.record.keys()

    def events(self, key: Key) -> list[Event]:
        return self.record.events(key)

    def models(self) -> set[str]:
        return {model for _, model in self.keys()}

    def environments(self) -> set[str]:
        return {env for env, _ in self.keys()}

    def stints(self, env: str, model: str) -> tuple[Stint, ...]:
        """Every stint of ``model`` in ``env``, oldest first."""
        events = self.events((env, model))
        info = self.summaries.get(e.blob for e in events)
        return build_stints((env, model), events, info)

    def model_stints(self, model: str, envs: Iterable[str] | None = None) -> dict[str, tuple[Stint, ...]]:
        """Stints of ``model`` per environment (one batched blob read)."""
        wanted = None if envs is None else set(envs)
        keys = [k for k in self.keys() if k[1] == model and (wanted is None or k[0] in wanted)]
        self.summaries.get(r[2] for k in keys for r in self.record.rows(k))
        return {env: self.stints(env, model) for env, _ in keys}

    def live(self, envs: Iterable[str] | None = None) -> list[LiveEntry]:
        """What is live at the end of this history, per (env, model), sorted."""
        wanted = set(envs) if envs is not None else None
        rows = {k: self.record.rows(k) for k in self.keys() if wanted is None or k[0] in wanted}
        return _current(self.record, {k: r for k, r in rows.items() if r and r[-1][2]}, self.summaries)

    def blob_info(self, oids: Iterable[str | None]) -> dict[str, BlobInfo]:
        return self.summaries.get(oids)


def _current(record: Record, rows: dict[Key, list[Row]], summaries: BlobSummaries) -> list[LiveEntry]:
    """The current stint of each key, reading only the blobs needed: one batch per step back."""
    keys = sorted(rows)
    index = {k: len(rows[k]) - 1 for k in keys}
    version: dict[Key, str | None] = {}
    start: dict[Key, int] = {}
    pending = keys
    while pending:
        info = summaries.get(rows[k][index[k]][2] for k in pending)
        still = []
        for k in pending:
            i = index[k]
            v = info[rows[k][i][2] or ""].version
            version.setdefault(k, v)
            if v != version[k]:
                start[k] = i + 1
            elif i == 0 or rows[k][i - 1][2] is None:
                start[k] = i
            else:
                index[k] = i - 1
                still.append(k)
        pending = still
    known = summaries.get(rows[k][-1][2] for k in keys)
    return [_entry(k, rows[k], start[k], record, known) for k in keys]


def _entry(key: Key, rows: list[Row], start: int, record: Record, info: dict[str, BlobInfo]) -> LiveEntry:
    _, path, blob, _, _ = rows[-1]
    last = info[blob or ""]
    return LiveEntry(key[0], key[1], last.version, last.digest, path, blob or "",
                     record.commit(rows[start][0]), record.commit(rows[-1][0]), last.rollout)
