"""Stints: the periods during which one version of a model was live in one environment.

Built from the first-parent log (:mod:`releasegate.history.commit_log`) and blob summaries
(:mod:`releasegate.history.blobs`). A stint starts when a commit lands a version that
differs from the one live before (or adds the file) and ends when the next version
lands, the file is deleted (the model is retired) or renamed.
"""
from __future__ import annotations

from dataclasses import dataclass

from releasegate.history.blobs import BlobInfo
from releasegate.history.commit_log import Commit
from releasegate.history.semver import is_downgrade
from releasegate.layout import parse_release_source
from releasegate.rollout.state import Rollout

Key = tuple[str, str]  # (environment, model)

ENDED_PROMOTION = "promotion"
ENDED_ROLLBACK = "rollback"
ENDED_RETIRED = "retired"
ENDED_RENAMED = "renamed"


def release_key(path: str | None) -> Key | None:
    """(env, model) of ``environments/<env>/releases/<model>.yaml``, else None."""
    return parse_release_source(path) if path else None


@dataclass(frozen=True)
class Event:
    """One commit's effect on one release file. ``blob`` is None when it removed the file."""

    commit: Commit
    path: str
    blob: str | None
    renamed_to: str | None = None


@dataclass(frozen=True)
class Stint:
    """One version live in one environment, from ``start`` until ``end`` (None: live now)."""

    env: str
    model: str
    version: str | None
    digest: str | None
    path: str
    start: Commit
    end: Commit | None
    ended_by: str | None
    rollback: bool
    first_blob: str
    last_blob: str
    changes: int
    rollout: Rollout | None = None  # where the rollout stood at the end of the stint (its last file)

    @property
    def live(self) -> bool:
        return self.end is None


def build_stints(key: Key, events: list[Event], info: dict[str, BlobInfo]) -> tuple[Stint, ...]:
    """All stints of one (env, model), oldest first; ``info`` must cover every event's blob."""
    done: list[Stint] = []
    open_: _Open | None = None
    seen: set[str | None] = set()
    for ev in events:
        if ev.blob is None:
            if open_ is not None:
                done.append(open_.close(ev.commit, ENDED_RENAMED if ev.renamed_to else ENDED_RETIRED))
                open_ = None
            continue
        blob = info[ev.blob]
        if open_ is not None and blob.version == open_.version:
            open_.extend(ev, blob)
            continue
        rollback = _is_rollback(ev.commit, open_.version if open_ else None, blob.version, seen)
        if open_ is not None:
            done.append(open_.close(ev.commit, ENDED_ROLLBACK if rollback else ENDED_PROMOTION))
        open_ = _Open(key, blob, ev, rollback)
        seen.add(blob.version)
    if open_ is not None:
        done.append(open_.close(None, None))
    return tuple(done)


def _is_rollback(commit: Commit, old: str | None, new: str | None, seen: set[str | None]) -> bool:
    """A change back to a version live here before that is a downgrade or says it is a rollback."""
    if new is None or new not in seen:
        return False
    declared = (commit.trailer("Action") or "").lower() in ("rollback", "abort") or commit.reverts is not None
    return declared or is_downgrade(old, new)


class _Open:
    """A stint being built."""

    def __init__(self, key: Key, blob: BlobInfo, ev: Event, rollback: bool) -> None:
        self.key, self.version, self.digest = key, blob.version, blob.digest
        self.path, self.start, self.rollback = ev.path, ev.commit, rollback
        self.first_blob = self.last_blob = ev.blob or ""
        self.changes = 1
        self.rollout = blob.rollout

    def extend(self, ev: Event, blob: BlobInfo) -> None:
        self.last_blob, self.path, self.digest = ev.blob or "", ev.path, blob.digest
        self.rollout = blob.rollout
        self.changes += 1

    def close(self, end: Commit | None, ended_by: str | None) -> Stint:
        return Stint(
            self.key[0], self.key[1], self.version, self.digest, self.path, self.start, end,
            ended_by, self.rollback, self.first_blob, self.last_blob, self.changes, self.rollout,
        )
