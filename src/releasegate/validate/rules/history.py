"""Rules that read Git history: promotion order, soak time, no downgrade, immutable versions.

They judge the change under review (the release files changed against ``--base``, or the
paths given), never every file of ``--all``, against the first-parent history of the base
(``--base``) or of ``HEAD``: that history is what has been live.
"""
from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone

from releasegate.history.classify import Assessment, Classifier, release_paths
from releasegate.history.query import History
from releasegate.history.reporters import duration, iso
from releasegate.history.timeline import Stint
from releasegate.errors import GitError
from releasegate.history.git import Git, open_repo
from releasegate.policy import EnvironmentPolicy
from releasegate.release import Release
from releasegate.validate.context import Rule, ValidationContext, Violation, violation_at

VERSION = ("spec", "model", "version")
DIGEST = ("spec", "model", "artifact", "sha256")


def history_rules(ctx: ValidationContext) -> list[Rule]:
    """The history rules for a change in a Git repository (none otherwise).

    Also answers ``ctx.is_rollback`` from history, so that the freeze rule (and any other
    rule asking) gives rollbacks to a previously-live version their fast path.
    """
    if not ctx.changed or not ctx.targets:
        return []
    try:
        git = open_repo(ctx.layout.root)
    except GitError:
        return []
    state = HistoryState(ctx, git)
    ctx.is_rollback = state.is_rollback
    return [PromotionOrderRule(state), SoakTimeRule(state), NoDowngradeRule(state), HistoryImmutableRule(state)]


class HistoryState:
    """One targeted read of the history of the changed models, shared by the rules.

    The read starts at once in a background thread (git does the work in its own process),
    so that it overlaps the schema checks that run first; the rules wait for it.
    """

    def __init__(self, ctx: ValidationContext, git: Git) -> None:
        self.ctx = ctx
        self._classifier: Classifier | None = None
        self._failure: BaseException | None = None
        self._history: History | None = None
        self._reader = threading.Thread(target=self._read, args=(git,), name="releasegate-history", daemon=True)
        self._reader.start()

    def _read(self, git: Git) -> None:
        models = {r.file_model for r in self.ctx.targets}
        envs = set(self.ctx.policy.environment_names) | set(self.ctx.layout.environment_names())
        envs |= {r.env for r in self.ctx.targets}
        try:
            self._history = History.open(self.ctx.layout.root, self.ctx.base or "HEAD", git=git,
                                         paths=release_paths(models, envs), use_cache=False)
        except BaseException as e:  # noqa: BLE001 - handed to the rules' thread and re-raised there
            self._failure = e

    @property
    def classifier(self) -> Classifier:
        if self._classifier is None:
            self._reader.join()
            if self._failure is not None:
                raise self._failure
            assert self._history is not None  # set by _read when it did not fail
            self._classifier = Classifier(self._history)
        return self._classifier

    def assess(self, release: Release) -> Assessment:
        return self.classifier.assess(release.env, release.file_model, release.version)

    def is_rollback(self, release: Release) -> bool:
        if release.version is None or not any(release.source == t.source for t in self.ctx.targets):
            return False
        return self.assess(release).rollback

    def promotions(self) -> Iterator[tuple[Release, Assessment, EnvironmentPolicy]]:
        """Targets that bring a new version into an environment of the policy."""
        for release in self.ctx.targets:
            env = self.ctx.policy.environment(release.env)
            if env is None or release.version is None:
                continue
            assessment = self.assess(release)
            if assessment.changes_version:
                yield release, assessment, env


class PromotionOrderRule:
    """``promotion-order``: a version enters an environment only if it is or was live in ``promotesFrom``."""

    id = "promotion-order"

    def __init__(self, state: HistoryState) -> None:
        self.state = state

    def check(self, ctx: ValidationContext) -> Iterable[Violation]:
        for release, assessment, env in self.state.promotions():
            if env.promotes_from is None or assessment.rollback:
                continue
            if self.state.classifier.stints_of_version(env.promotes_from, release.file_model, str(release.version)):
                continue
            yield violation_at(
                release, VERSION, self.id,
                f"{release.file_model} {release.version} was never live in {env.promotes_from}; "
                f"{release.env} only takes versions that are or were live in {env.promotes_from}",
                f"promote it to {env.promotes_from} first (releasegate promote {release.file_model} "
                f"--to {env.promotes_from}) and merge that, or roll back to a version live here before")


class SoakTimeRule:
    """``soak-time``: the version was live in ``promotesFrom`` for at least ``soakHours``."""

    id = "soak-time"

    def __init__(self, state: HistoryState) -> None:
        self.state = state

    def check(self, ctx: ValidationContext) -> Iterable[Violation]:
        for release, assessment, env in self.state.promotions():
            if env.promotes_from is None or env.soak_hours <= 0:
                continue
            if assessment.rollback and ctx.policy.rollback.skip_soak:
                continue
            stints = self.state.classifier.stints_of_version(env.promotes_from, release.file_model, str(release.version))
            if not stints:
                continue  # promotion-order reports it
            yield from self._short(release, env, stints, ctx.now)

    def _short(self, release: Release, env: EnvironmentPolicy, stints: list[Stint],
               now: datetime) -> Iterator[Violation]:
        need = env.soak_hours * 3600
        longest = max(stints, key=lambda s: _lived(s, now))
        lived = _lived(longest, now)
        if lived >= need:
            return
        ready = datetime.fromtimestamp(longest.start.time, timezone.utc) + timedelta(seconds=need)
        when = f"wait until {iso(ready.timestamp())}" if longest.live else \
            f"it left {env.promotes_from} early: promote it there again and let it soak"
        yield violation_at(
            release, VERSION, self.id,
            f"{release.file_model} {release.version} was live in {env.promotes_from} for {duration(lived)}; "
            f"{release.env} requires {env.soak_hours:g}h of soak there",
            f"{when} (soakHours of {release.env} in policies/policy-pack.yaml)")


def _lived(stint: Stint, now: datetime) -> float:
    end = stint.end.time if stint.end is not None else now.timestamp()
    return end - stint.start.time


class NoDowngradeRule:
    """``no-downgrade``: a lower version only as a rollback to one previously live here."""

    id = "no-downgrade"

    def __init__(self, state: HistoryState) -> None:
        self.state = state

    def check(self, ctx: ValidationContext) -> Iterable[Violation]:
        for release, assessment, _env in self.state.promotions():
            if not assessment.downgrade or assessment.rollback:
                continue
            live = assessment.live.version if assessment.live else "?"
            yield violation_at(
                release, VERSION, self.id,
                f"{release.file_model} goes down from {live} to {release.version} in {release.env}, "
                f"but {release.version} was never live in {release.env} before",
                "release a new, higher version; only rollbacks to a version previously live in this "
                f"environment may go down (releasegate history {release.file_model} --env {release.env})")


class HistoryImmutableRule:
    """``version-immutable-history``: one digest per model and version across all of history."""

    id = "version-immutable-history"

    def __init__(self, state: HistoryState) -> None:
        self.state = state

    def check(self, ctx: ValidationContext) -> Iterable[Violation]:
        for release in ctx.targets:
            digest = release.sha256
            if release.version is None or digest is None or len(digest) != 64:
                continue
            conflicts = self.state.classifier.digest_conflicts(release.file_model, release.version, digest)
            if conflicts:
                first = conflicts[0]
                yield violation_at(
                    release, DIGEST, self.id,
                    f"{release.file_model} {release.version} had digest {first.digest[:12]}… in {first.path} "
                    f"(commit {first.commit[:10]}, {iso(first.time)}); here it is {digest[:12]}…",
                    "versions are immutable: publish the new artifact under a new version number")

