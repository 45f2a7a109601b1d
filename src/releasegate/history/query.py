"""Questions asked of the release record: what is live, what was live, and when.

:class:`History` reads the first-parent log of a branch once (cached in ``.git/``) and
answers status, per-model history and "what was live at time T" from it.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from releasegate.history.blobs import BlobInfo, BlobSummaries
from releasegate.history.git import Git, ensure_full_history, open_repo
from releasegate.history.log import Commit, cached_log, read_log
from releasegate.history.timeline import Event, Key, Stint, build_stints, events_by_key


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


class History:
    """The first-parent history of release files on one branch (``ref``)."""

    def __init__(self, git: Git, ref: str, tip: str, commits: Sequence[Commit], summaries: BlobSummaries) -> None:
        self.git, self.ref, self.tip = git, ref, tip
        self.commits = tuple(commits)
        self.summaries = summaries
        self._events: dict[Key, list[Event]] | None = None

    @classmethod
    def open(cls, root: Path, ref: str = "HEAD", *, deepen: bool = False,
             paths: Iterable[str] | None = None, use_cache: bool = True) -> History:
        """Read the history of ``ref``; ``paths`` limits it to those files (no cache used)."""
        git = open_repo(root)
        ensure_full_history(git, deepen)
        tip = git.rev_parse(ref)
        if paths is not None:
            commits = read_log(git, tip, tuple(sorted(set(paths))) or ("environments/",))
        else:
            commits = cached_log(git, tip) if use_cache else read_log(git, tip)
        return cls(git, ref, tip, commits, BlobSummaries(git, use_cache=use_cache))

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
        cutoff = at.timestamp()
        last = max((i for i, c in enumerate(self.commits) if c.time <= cutoff), default=-1)
        return History(self.git, self.ref, self.tip, self.commits[: last + 1], self.summaries)

    @property
    def events(self) -> dict[Key, list[Event]]:
        if self._events is None:
            self._events = events_by_key(self.commits)
        return self._events

    def keys(self) -> list[Key]:
        return sorted(self.events)

    def models(self) -> set[str]:
        return {model for _, model in self.events}

    def environments(self) -> set[str]:
        return {env for env, _ in self.events}

    def stints(self, env: str, model: str) -> tuple[Stint, ...]:
        """Every stint of ``model`` in ``env``, oldest first."""
        events = self.events.get((env, model), [])
        info = self.summaries.get(e.blob for e in events)
        return build_stints((env, model), events, info)

    def model_stints(self, model: str, envs: Iterable[str] | None = None) -> dict[str, tuple[Stint, ...]]:
        """Stints of ``model`` per environment (one batched blob read)."""
        keys = [k for k in self.keys() if k[1] == model and (envs is None or k[0] in set(envs))]
        self.summaries.get(e.blob for k in keys for e in self.events[k])
        return {env: self.stints(env, model) for env, _ in keys}

    def live(self, envs: Iterable[str] | None = None) -> list[LiveEntry]:
        """What is live at the end of this history, per (env, model), sorted."""
        wanted = set(envs) if envs is not None else None
        keys = [k for k, ev in self.events.items() if ev[-1].blob and (wanted is None or k[0] in wanted)]
        return _current(self.events, sorted(keys), self.summaries)

    def blob_info(self, oids: Iterable[str | None]) -> dict[str, BlobInfo]:
        return self.summaries.get(oids)


def _current(events: dict[Key, list[Event]], keys: list[Key], summaries: BlobSummaries) -> list[LiveEntry]:
    """The current stint of each key, reading only the blobs needed: one batch per step back."""
    index = {k: len(events[k]) - 1 for k in keys}
    version: dict[Key, str | None] = {}
    start: dict[Key, int] = {}
    pending = list(keys)
    while pending:
        info = summaries.get(events[k][index[k]].blob for k in pending)
        still = []
        for k in pending:
            i = index[k]
            v = info[events[k][i].blob or ""].version
            version.setdefault(k, v)
            if v != version[k]:
                start[k] = i + 1
            elif i == 0 or events[k][i - 1].blob is None:
                start[k] = i
            else:
                index[k] = i - 1
                still.append(k)
        pending = still
    return [_entry(k, events[k], start[k], summaries) for k in keys]


def _entry(key: Key, events: list[Event], start: int, summaries: BlobSummaries) -> LiveEntry:
    last = events[-1]
    info = summaries.get([last.blob])[last.blob or ""]
    return LiveEntry(key[0], key[1], info.version, info.digest, last.path, last.blob or "",
                     events[start].commit, last.commit)
