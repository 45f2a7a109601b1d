"""When a canary's current step landed, and how earlier canaries ended, read from Git history.

Times are those of the first-parent commits of the branch (when a change landed on it, as
everywhere in :mod:`releasegate.history`): a step's hold runs from the commit that merged it.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from releasegate.history.commit_log import Commit
from releasegate.history.query import History
from releasegate.history.timeline import Event
from releasegate.rollout.state import Rollout, read_rollout

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class FileState:
    """What one historical version of a release file says about its rollout."""

    version: str | None
    rollout: Rollout

    @property
    def key(self) -> tuple[str | None, str, int | None]:
        """Two files are at the same step when this is equal: same version, phase and weight."""
        return self.version, self.rollout.phase, self.rollout.weight


@dataclass(frozen=True)
class CanaryEnd:
    """How the latest canary of a release file ended: ``completed`` or ``aborted``, by ``commit``."""

    version: str | None
    how: str
    commit: Commit


def file_state(data: bytes | None) -> FileState:
    """The version and rollout of a release file's bytes (lenient: a broken file has neither)."""
    try:
        parsed = yaml.load(data or b"", Loader=_Loader)
    except yaml.YAMLError:
        parsed = None
    model = parsed.get("spec", {}).get("model") if isinstance(parsed, dict) and \
        isinstance(parsed.get("spec"), dict) else None
    version = model.get("version") if isinstance(model, dict) else None
    return FileState(str(version) if version is not None else None, read_rollout(parsed))


def _states(history: History, events: Sequence[Event]) -> list[FileState | None]:
    blobs = history.git.cat_blobs(sorted({e.blob for e in events if e.blob}))
    return [file_state(blobs.get(e.blob)) if e.blob else None for e in events]


def step_landed(history: History, env: str, model: str) -> Commit | None:
    """The first-parent commit that brought the file's current step (None if the file is gone).

    Later commits that keep version, phase and weight (a replica count, say) do not restart it.
    """
    events = history.events((env, model))
    states = _states(history, events)
    if not states or states[-1] is None:
        return None
    current, start = states[-1].key, len(states) - 1
    while start > 0 and _at(states[start - 1], current):
        start -= 1
    return events[start].commit


def _at(state: FileState | None, key: tuple[str | None, str, int | None]) -> bool:
    return state is not None and state.key == key


def last_canary_end(history: History, env: str, model: str) -> CanaryEnd | None:
    """How the latest canary of the file that has ended, ended (None: no canary ever ended).

    Asked when no canary runs now, to say why there is nothing to advance, complete or abort.
    """
    events = history.events((env, model))
    states = _states(history, events)
    for i in range(len(states) - 1, 0, -1):
        before, after = states[i - 1], states[i]
        if before is not None and before.rollout.running and (after is None or not after.rollout.running):
            action = (events[i].commit.trailer("Action") or "").lower()
            completed = action == "complete" or (action != "abort" and after is not None
                                                 and after.version == before.version and after.rollout.weight != 0)
            return CanaryEnd(before.version, "completed" if completed else "aborted", events[i].commit)
    return None
