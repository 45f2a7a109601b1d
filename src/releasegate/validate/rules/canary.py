"""Rules for canaries in steps (docs/rollout.md).

- ``canary-steps`` (every checked file): steps ascending and ending at 100, ``canaryPercent`` one
  of them, ``stable`` only beside a running canary, ``canaryPercent: 0`` only for KServe, and the
  environment's ``rollout.requireSteps`` / ``minSteps`` from the policy pack.
- ``canary-step`` (a change, against the base's file): a new canary starts at the first step; an
  advance moves exactly one step and keeps the steps; a canary completes from its last step; no new
  version while a canary runs, unless the change aborts it or is a rollback.
- ``canary-hold`` (a change): an advance or completion lands only after the base's current step
  has held for its ``holdMinutes``, counted from when that step landed on the base's first-parent line.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone

from releasegate.history.reporters import iso
from releasegate.release import Release
from releasegate.rollout.clock import step_landed
from releasegate.rollout.state import ABORTED, IDLE, Rollout, read_rollout, rollout_problems
from releasegate.validate.context import ValidationContext, Violation, violation_at
from releasegate.validate.history_facts import HistoryFacts

ROLLOUT = ("spec", "rollout")
PERCENT = ("spec", "rollout", "canaryPercent")


def _runtime_kind(release: Release) -> object:
    spec = release.data.get("spec")
    runtime = spec.get("runtime") if isinstance(spec, dict) else None
    return runtime.get("kind") if isinstance(runtime, dict) else None


class CanaryStepsRule:
    """``canary-steps``: the shape of a canary's steps and current step, and the policy's requirements."""

    id = "canary-steps"

    def check(self, ctx: ValidationContext) -> Iterable[Violation]:
        for release in ctx.targets:
            for problem in rollout_problems(release.data):
                yield violation_at(release, problem.path, self.id, problem.message, problem.hint)
            rollout = read_rollout(release.data)
            if rollout.phase == ABORTED and _runtime_kind(release) != "kserve":
                yield violation_at(release, PERCENT, self.id,
                                   "canaryPercent 0 (an aborted canary) is for KServe, which keeps its last "
                                   "rolled-out revision",
                                   "write the abort as the release at the stable version: releasegate rollout abort")
            yield from self._policy(ctx, release, rollout)

    def _policy(self, ctx: ValidationContext, release: Release, rollout: Rollout) -> Iterator[Violation]:
        env = ctx.policy.environment(release.env)
        if env is None or rollout.strategy != "canary":
            return
        where = f"rollout of {release.env} in policies/policy-pack.yaml"
        if env.rollout.require_steps and not rollout.steps:
            yield violation_at(release, ROLLOUT, self.id,
                               f"{release.env} requires canaries in steps (requireSteps in the {where}), and this "
                               "canary has none", "add spec.rollout.steps, e.g. [{weight: 5, holdMinutes: 30}, "
                               "{weight: 25, holdMinutes: 60}, {weight: 100, holdMinutes: 60}] (docs/rollout.md)")
        elif rollout.steps and len(rollout.steps) < env.rollout.min_steps:
            yield violation_at(release, (*ROLLOUT, "steps"), self.id,
                               f"{release.env} requires at least {env.rollout.min_steps} canary steps (minSteps in "
                               f"the {where}); this canary has {len(rollout.steps)}",
                               "add intermediate steps before the final {weight: 100, ...}")


def _facts(ctx: ValidationContext) -> HistoryFacts:
    if ctx.history is None:  # history_rules only builds these rules when there are facts
        raise RuntimeError("canary rules need ctx.history")
    return ctx.history


def _same_model(stable: dict[str, object] | None, release: Release) -> bool:
    """Whether ``release``'s model is ``stable`` (same version and artifact uri, sha256, format)."""
    spec = release.data.get("spec")
    model = spec.get("model") if isinstance(spec, dict) else None
    if stable is None or not isinstance(model, dict):
        return False

    def artifact(m: dict[str, object]) -> object:
        value = m.get("artifact")
        return {k: value.get(k) for k in ("uri", "sha256", "format")} if isinstance(value, dict) else None
    return stable.get("version") == model.get("version") and artifact(stable) == artifact(model)


def is_abort(base: Release | None, head: Release) -> bool:
    """Whether ``head`` ends the canary running in ``base``, all traffic back on the stable side:
    at rest at the base's stable model (builtin), or ``canaryPercent: 0`` (KServe)."""
    if base is None or not read_rollout(base.data).running:
        return False
    after = read_rollout(head.data)
    if after.running:
        return False
    if after.phase == ABORTED:
        return head.version == base.version
    return _same_model(base.stable, head)


class CanaryStepRule:
    """``canary-step``: how a change may move a canary (against the file at the base)."""

    id = "canary-step"

    def check(self, ctx: ValidationContext) -> Iterable[Violation]:
        facts = _facts(ctx)
        for release in ctx.targets:
            if ctx.policy.environment(release.env) is None or release.version is None:
                continue
            base = facts.base_release(release)
            before = read_rollout(base.data) if base is not None else None
            if base is not None and before is not None and before.running:
                yield from self._from_running(facts, release, base, before)
            else:
                yield from self._from_rest(facts, release, base, before)

    def _from_running(self, facts: HistoryFacts, release: Release, base: Release,
                      before: Rollout) -> Iterator[Violation]:
        after, env, model = read_rollout(release.data), release.env, release.file_model
        if base.version != release.version:
            if is_abort(base, release) or facts.assess(release).rollback:
                return
            yield violation_at(
                release, ("spec", "model", "version"), self.id,
                f"a canary of {model} {base.version} is running in {env} ({before.describe()}): {release.version} "
                "may enter only after it is completed or aborted",
                f"complete it (releasegate rollout complete {model} --env {env}) or abort it (releasegate rollout "
                f"abort {model} --env {env}) in a pull request of its own first")
        elif after.steps != before.steps:
            yield violation_at(release, (*ROLLOUT, "steps"), self.id,
                               f"the steps of the running canary of {model} {base.version} in {env} changed",
                               "keep the steps of a running canary; change them while no canary runs")
        elif after.running and after.weight != before.weight:
            following = before.next_step
            if following is None or after.weight != following.weight:
                expected = f"the next step is {following.weight} %" if following is not None else \
                    "it is at its last step: complete it"
                yield violation_at(release, PERCENT, self.id,
                                   f"an advance moves exactly one step: the canary is at {before.weight} %, "
                                   f"{expected}, not {after.weight} %",
                                   f"releasegate rollout advance {model} --env {env} writes the next step")
        elif after.phase not in (ABORTED,) and not after.running and before.steps and not before.at_last_step:
            yield violation_at(release, ROLLOUT, self.id,
                               f"the canary of {model} {base.version} in {env} is at {before.describe()}: a canary "
                               f"completes from its last step ({before.steps[-1].weight} %)",
                               f"advance it first: releasegate rollout advance {model} --env {env}")

    def _from_rest(self, facts: HistoryFacts, release: Release, base: Release | None,
                   before: Rollout | None) -> Iterator[Violation]:
        after, env, model = read_rollout(release.data), release.env, release.file_model
        new_version = base is None or base.version != release.version
        if after.running and after.steps:
            first = after.steps[0].weight
            restart = before is not None and before.phase == ABORTED and not new_version
            if not (new_version or restart):
                yield violation_at(release, PERCENT, self.id,
                                   f"a canary runs a new version beside the live one, but {model} {release.version} "
                                   f"is already live in {env}", "promote a new version to start a canary")
            elif after.weight != first:
                yield violation_at(release, PERCENT, self.id,
                                   f"a new canary starts at the first step ({first} %), not {after.weight} %",
                                   f"set canaryPercent: {first}; releasegate promote writes the first step")
        elif after.phase == IDLE and new_version and base is not None and read_rollout(base.data).strategy == "canary":
            assessment = facts.assess(release)
            if assessment.rollback or assessment.downgrade:
                return  # a rollback, or no-downgrade reports it
            start = after.steps[0].weight if after.steps else "the first step's weight"
            yield violation_at(release, ("spec", "model", "version"), self.id,
                               f"{env} takes new versions of {model} as canaries in steps (strategy: canary), but "
                               f"{release.version} enters with no canary running",
                               f"start the canary at the first step: canaryPercent: {start} (and, builtin, "
                               "rollout.stable: the live model); releasegate promote writes that")


class CanaryHoldRule:
    """``canary-hold``: an advance or completion only after the base's step has held long enough."""

    id = "canary-hold"

    def check(self, ctx: ValidationContext) -> Iterable[Violation]:
        facts = _facts(ctx)
        for release in ctx.targets:
            base = facts.base_release(release)
            if base is None or base.version != release.version:
                continue
            before, after = read_rollout(base.data), read_rollout(release.data)
            moves_on = after.weight != before.weight and after.phase != ABORTED  # an advance or completion
            if not before.running or not moves_on or before.step is None:
                continue
            landed = step_landed(facts.classifier.history, release.env, release.file_model)
            if landed is None:
                continue
            ready = datetime.fromtimestamp(landed.time, timezone.utc) + timedelta(minutes=before.step.hold_minutes)
            if ctx.now < ready:
                yield violation_at(
                    release, PERCENT if after.running else ROLLOUT, self.id,
                    f"{before.describe()} of {release.file_model} {base.version} in {release.env} landed at "
                    f"{iso(landed.time)} (commit {landed.oid[:10]}) and holds for {before.step.hold_minutes:g} min, "
                    f"until {iso(ready.timestamp())}",
                    f"wait until {iso(ready.timestamp())} (holdMinutes of the step in the base's release file)")
