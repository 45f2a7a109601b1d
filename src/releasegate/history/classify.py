"""How a proposed release relates to the record: promotion, rollback, downgrade, digest conflicts.

Used by the history rules of ``validate``, by the freeze rule and the load-test gate (through
:func:`releasegate.history.is_rollback`) and by ``promote``/``rollback``.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from releasegate.digests import is_sha256
from releasegate.history.query import History
from releasegate.history.semver import is_downgrade
from releasegate.history.timeline import Event, Stint
from releasegate.layout import release_source


@dataclass(frozen=True)
class Assessment:
    """A proposed ``version`` of ``model`` in ``env``, against the history of the reference branch."""

    env: str
    model: str
    version: str | None
    live: Stint | None  # the stint live at the reference tip, None if the model is not live there
    stints: tuple[Stint, ...]  # every stint in env, oldest first
    restores: bool = False  # the proposed file is byte for byte one that was live in env before

    @property
    def changes_version(self) -> bool:
        return self.version is not None and (self.live is None or self.live.version != self.version)

    @property
    def was_live_before(self) -> bool:
        """The version had a stint here that has ended."""
        return any(s.version == self.version and not s.live for s in self.stints)

    @property
    def downgrade(self) -> bool:
        return self.changes_version and self.live is not None and is_downgrade(self.live.version, self.version)

    @property
    def rollback(self) -> bool:
        """A downgrade that restores, byte for byte, a release file that was live in this environment before.

        Anything else (the old version with another image, replica count or stable block) is a
        promotion and gets every rule: the fast path is for known-good content only.
        """
        return self.downgrade and self.was_live_before and self.restores


@dataclass(frozen=True)
class DigestConflict:
    """A blob in history that gave the same model and version another digest."""

    path: str
    digest: str
    commit: str
    time: int


class Classifier:
    """Answers about one or more models, from one read of their history."""

    def __init__(self, history: History) -> None:
        self.history = history
        self._stints: dict[tuple[str, str], tuple[Stint, ...]] = {}

    def stints(self, env: str, model: str) -> tuple[Stint, ...]:
        key = (env, model)
        if key not in self._stints:
            self._stints[key] = self.history.stints(env, model)
        return self._stints[key]

    def assess(self, env: str, model: str, version: str | None, content_id: str | None = None) -> Assessment:
        """``version`` proposed for ``model`` in ``env``; ``content_id`` is the proposed file's Git blob id."""
        stints = self.stints(env, model)
        live = stints[-1] if stints and stints[-1].live else None
        return Assessment(env, model, version, live, stints, self.was_live_content(env, model, content_id))

    def was_live_content(self, env: str, model: str, content_id: str | None) -> bool:
        """Whether a release file with exactly these bytes was ever live in ``env`` (first-parent history)."""
        if not content_id:
            return False
        return any(e.blob == content_id for e in self.history.events((env, model)))

    def stints_of_version(self, env: str, model: str, version: str) -> list[Stint]:
        return [s for s in self.stints(env, model) if s.version == version]

    def digest_conflicts(self, model: str, version: str, digest: str) -> list[DigestConflict]:
        """Every historical blob of ``model`` at ``version`` whose digest is not ``digest``, oldest first."""
        events = list(self._model_events(model))
        info = self.history.blob_info(e.blob for e in events)
        found = []
        for ev in events:
            blob = info[ev.blob or ""]
            if blob.version == version and blob.digest and is_sha256(blob.digest) and blob.digest != digest:
                found.append(DigestConflict(ev.path, blob.digest, ev.commit.oid, ev.commit.time))
        return sorted(found, key=lambda c: c.time)

    def _model_events(self, model: str) -> Iterator[Event]:
        for key in self.history.keys():
            if key[1] == model:
                yield from (e for e in self.history.events(key) if e.blob)


def release_paths(models: Iterable[str], envs: Iterable[str]) -> list[str]:
    """The release file paths of ``models`` in every one of ``envs`` (for a targeted history read)."""
    return [release_source(env, model) for model in sorted(set(models)) for env in sorted(set(envs))]
