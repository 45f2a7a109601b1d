"""What is live at a tip commit, cached in ``.git/releasegate/status.json``.

``status`` at an unchanged tip is then answered without reading the log at all. The
snapshot is keyed by the tip commit id: when the branch has moved forward along its
first-parent line, only the new commits are replayed onto it; any other tip recomputes it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from releasegate.history.blobs import BlobInfo, BlobSummaries, rollout_from_row, rollout_row
from releasegate.history.cache import newer_commits
from releasegate.history.commit_log import Change, Commit
from releasegate.history.git import Git
from releasegate.history.jsonfile import write_json
from releasegate.history.query import History, LiveEntry
from releasegate.history.timeline import Key, release_key

SNAPSHOT_FORMAT = 2


@dataclass(frozen=True)
class Snapshot:
    tip: str
    entries: tuple[LiveEntry, ...]
    environments: tuple[str, ...]  # every environment seen in the history
    first_time: int | None


def live_snapshot(history_of: Any, git: Git, tip: str) -> Snapshot:
    """The snapshot for ``tip``: from the cache, or computed with ``history_of()`` and cached."""
    path = git.git_dir() / "releasegate" / "status.json"
    cached = _load(path)
    if cached is not None and cached.tip == tip:
        return cached
    advanced = _advance(git, cached, tip) if cached is not None else None
    if advanced is not None:
        write_json(path, _dump(advanced))
        return advanced
    history: History = history_of()
    with history:
        snap = Snapshot(tip, tuple(history.live()), tuple(sorted(history.environments())), history.first_time())
    write_json(path, _dump(snap))
    return snap


def _dump(snap: Snapshot) -> dict[str, Any]:
    commits: dict[str, list[Any]] = {}
    for e in snap.entries:
        for c in (e.since, e.changed):
            commits[c.oid] = [c.oid, c.parent, c.time, c.author, c.email, c.subject, c.pr,
                              [list(t) for t in c.trailers], c.reverts, c.merge]
    entries = [[e.env, e.model, e.version, e.digest, e.path, e.blob, e.since.oid, e.changed.oid, rollout_row(e.rollout)]
               for e in snap.entries]
    return {"format": SNAPSHOT_FORMAT, "tip": snap.tip, "environments": list(snap.environments),
            "firstTime": snap.first_time, "commits": commits, "entries": entries}


def _advance(git: Git, snap: Snapshot, tip: str) -> Snapshot | None:
    """``snap`` moved forward to ``tip`` by replaying the new commits; None if ``tip`` is elsewhere."""
    newer = newer_commits(git, snap.tip, tip)
    if newer is None:
        return None
    info = BlobSummaries(git, use_cache=False).get(ch.blob for c in newer for ch in c.changes)
    entries = {(e.env, e.model): e for e in snap.entries}
    envs = set(snap.environments)
    for commit in newer:
        for change in commit.changes:
            _replay(entries, envs, commit, change, info)
    first = snap.first_time if snap.first_time is not None else min(c.time for c in newer)
    return Snapshot(tip, tuple(entries[k] for k in sorted(entries)), tuple(sorted(envs)), first)


def _replay(entries: dict[Key, LiveEntry], envs: set[str], commit: Commit, change: Change,
            info: dict[str, BlobInfo]) -> None:
    """The same rules as the stints: a stint goes on while the version stays, across renames."""
    key, old_key = release_key(change.path), release_key(change.old_path)
    previous = entries.pop(old_key, None) if change.status == "R" and old_key is not None else None
    if key is None:
        return
    envs.add(key[0])
    if change.blob is None:
        entries.pop(key, None)
        return
    previous = previous if previous is not None else entries.get(key)
    blob = info[change.blob]
    since = previous.since if previous is not None and previous.version == blob.version else commit
    entries[key] = LiveEntry(key[0], key[1], blob.version, blob.digest, change.path, change.blob, since, commit,
                             blob.rollout)


def _load(path: Any) -> Snapshot | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != SNAPSHOT_FORMAT:
            return None
        commits = {oid: _commit(row) for oid, row in data["commits"].items()}
        entries = tuple(LiveEntry(env, model, version, digest, p, blob, commits[since], commits[changed],
                                  rollout_from_row(rollout))
                        for env, model, version, digest, p, blob, since, changed, rollout in data["entries"])
        return Snapshot(data["tip"], entries, tuple(data["environments"]), data["firstTime"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _commit(row: list[Any]) -> Commit:
    oid, parent, time, author, email, subject, pr, trailers, reverts, merge = row
    return Commit(oid, parent, time, author, email, subject, pr, tuple(map(tuple, trailers)), reverts, merge, ())
