"""Rules that read Git history: promotion order, soak time, no downgrade, immutable versions,
the stable side of a canary (and, from :mod:`~releasegate.validate.rules.canary`, its steps and hold).

They judge the change under review (the release files changed against ``--base``, or the
paths given), never every file of ``--all``, against the first-parent history of the base
(``--base``) or of ``HEAD``: that history is what has been live.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone

from releasegate.digests import is_sha256
from releasegate.history.reporters import duration, iso
from releasegate.history.timeline import Stint
from releasegate.policy import EnvironmentPolicy
from releasegate.release import Release
from releasegate.rollout.state import read_rollout
from releasegate.validate.context import Rule, ValidationContext, Violation, violation_at
from releasegate.validate.history_facts import HistoryFacts
from releasegate.validate.rules.canary import CanaryHoldRule, CanaryStepRule, is_abort

VERSION = ("spec", "model", "version")
DIGEST = ("spec", "model", "artifact", "sha256")


def history_rules(ctx: ValidationContext) -> list[Rule]:
    """The history rules for a change in a Git repository (none otherwise)."""
    if ctx.history is None:
        return []
    return [PromotionOrderRule(), SoakTimeRule(), NoDowngradeRule(), HistoryImmutableRule(), StableIsLiveRule(),
            CanaryStepRule(), CanaryHoldRule()]


def _facts(ctx: ValidationContext) -> HistoryFacts:
    if ctx.history is None:  # history_rules only builds these rules when there are facts
        raise RuntimeError("history rules need ctx.history")
    return ctx.history


class PromotionOrderRule:
    """``promotion-order``: a version enters an environment only if it is or was live in ``promotesFrom``."""

    id = "promotion-order"

    def check(self, ctx: ValidationContext) -> Iterable[Violation]:
        for release, assessment, env in _facts(ctx).promotions():
            if env.promotes_from is None or assessment.rollback:
                continue
            if _facts(ctx).classifier.stints_of_version(env.promotes_from, release.file_model, str(release.version)):
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

    def check(self, ctx: ValidationContext) -> Iterable[Violation]:
        for release, assessment, env in _facts(ctx).promotions():
            if env.promotes_from is None or env.soak_hours <= 0:
                continue
            if assessment.rollback and ctx.policy.rollback.skip_soak:
                continue
            stints = _facts(ctx).classifier.stints_of_version(env.promotes_from, release.file_model, str(release.version))
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

    def check(self, ctx: ValidationContext) -> Iterable[Violation]:
        for release, assessment, _env in _facts(ctx).promotions():
            if not assessment.downgrade or assessment.rollback:
                continue
            if is_abort(_facts(ctx).base_release(release), release):
                continue  # back to the stable side of a running canary: judged as a change, not a downgrade
            live = assessment.live.version if assessment.live else "?"
            if assessment.was_live_before:
                why = (f"but the file is not byte for byte one that was live in {release.env} before "
                       "(a rollback restores the old file; changing anything else makes it a new release)")
                fix = (f"restore the old file exactly (releasegate rollback {release.file_model} --env {release.env}), "
                       "then change it in a separate pull request judged by every rule")
            else:
                why = f"but {release.version} was never live in {release.env} before"
                fix = ("release a new, higher version; only rollbacks to a version previously live in this "
                       f"environment may go down (releasegate history {release.file_model} --env {release.env})")
            yield violation_at(release, VERSION, self.id,
                               f"{release.file_model} goes down from {live} to {release.version} in {release.env}, {why}", fix)


class HistoryImmutableRule:
    """``version-immutable-history``: one digest per model and version across all of history."""

    id = "version-immutable-history"

    def check(self, ctx: ValidationContext) -> Iterable[Violation]:
        for release in ctx.targets:
            for pin in release.pins():
                if pin.version is None or not is_sha256(pin.sha256):
                    continue
                conflicts = _facts(ctx).classifier.digest_conflicts(release.file_model, pin.version, pin.sha256)
                if conflicts:
                    first = conflicts[0]
                    yield violation_at(
                        release, pin.digest_path, self.id,
                        f"{release.file_model} {pin.version} had digest {first.digest[:12]}… in {first.path} "
                        f"(commit {first.commit[:10]}, {iso(first.time)}); here it is {pin.sha256[:12]}…",
                        "versions are immutable: publish the new artifact under a new version number")


class StableIsLiveRule:
    """``stable-is-live``: a canary's ``rollout.stable`` is what the base runs in that environment.

    A canary that starts runs beside the model live at the base; a canary that continues (the
    base runs a canary of the same version) keeps the base's own stable. Anything else would put
    untested traffic on a side door.
    """

    id = "stable-is-live"

    def check(self, ctx: ValidationContext) -> Iterable[Violation]:
        for release in ctx.targets:
            stable = release.stable
            if stable is None:
                continue
            live = _facts(ctx).base_release(release)
            allowed = [] if live is None else [m for m in _stable_sides(live, release) if m is not None]
            if any(_same_model(stable, m) for m in allowed):
                continue
            where = ctx.base or "HEAD"
            expected = " or ".join(f"{m.get('version')} ({_digest(m)[:12]}…)" for m in allowed) or "nothing"
            yield violation_at(
                release, ("spec", "rollout", "stable"), self.id,
                f"rollout.stable is {stable.get('version')} ({_digest(stable)[:12]}…) but {release.env} runs "
                f"{expected} at {where}: the stable side must be what is live",
                "set spec.rollout.stable to the version, uri, sha256 and format that are live now "
                f"(git show {where}:{release.source}); change the stable model only by a release of its own")


def _stable_sides(live: Release, release: Release) -> tuple[dict[str, object] | None, ...]:
    """What ``release``'s stable may be, given the base's file ``live``."""
    running = read_rollout(live.data).running
    if running and live.version == release.version:
        return (live.stable,)  # the canary continues beside what it started beside
    if not running:
        return (_deployed(live.data),)  # a canary starts beside what runs
    return _deployed(live.data), live.stable  # a new version while a canary runs: canary-step reports it


def _deployed(data: dict[str, object]) -> dict[str, object] | None:
    spec = data.get("spec")
    model = spec.get("model") if isinstance(spec, dict) else None
    return model if isinstance(model, dict) else None


def _digest(model: dict[str, object]) -> str:
    artifact = model.get("artifact")
    value = artifact.get("sha256") if isinstance(artifact, dict) else None
    return value if isinstance(value, str) else "?"


def _same_model(stable: dict[str, object], live: dict[str, object]) -> bool:
    """Same version and artifact (uri, sha256, format); the rest of the model block may differ."""
    def artifact(m: dict[str, object]) -> object:
        value = m.get("artifact")
        return {k: value.get(k) for k in ("uri", "sha256", "format")} if isinstance(value, dict) else None
    return stable.get("version") == live.get("version") and artifact(stable) == artifact(live)

