"""Plan ``rollout advance``, ``complete`` and ``abort`` as release changes.

Each reads the release file at the tip of the branch and its first-parent history, checks
everything first (a refused request writes nothing), and returns a
:class:`~releasegate.promote.change.ReleaseChange` that :func:`releasegate.promote.proposal.carry_out`
commits on a new branch, pushes and proposes, as for ``promote`` and ``rollback``.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import yaml

from releasegate.errors import InputError, RefusedError
from releasegate.history.classify import Classifier
from releasegate.history.git import ensure_full_history
from releasegate.history.query import History
from releasegate.history.reporters import iso
from releasegate.history.timeline import Stint
from releasegate.layout import release_source
from releasegate.policy import RolloutPolicy
from releasegate.promote.branch import check_branch_name
from releasegate.promote.change import ReleaseChange
from releasegate.promote.proposal import Workspace, check_environment, check_model
from releasegate.rollout.analysis import Analysis, Subject
from releasegate.rollout.clock import FileState, file_state, last_canary_end, step_landed
from releasegate.rollout.decision import NO_ANALYSIS, AnalysisVerdict, StepClock, decide
from releasegate.rollout.edit import at_rest, with_weight
from releasegate.rollout.pr_markdown import section
from releasegate.rollout.state import ABORTED, rollout_problems

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
Analyst = Callable[[Subject], Analysis]  # e.g. releasegate.rollout.analysis.PrometheusAnalyst
KSERVE_NOT_ANALYSED = AnalysisVerdict("none", "a KServe canary with runtime.kserve.modelFormat is not analysed: "
                                              "the cluster's model server's metrics are not releasegate serve's "
                                              "(docs/monitoring.md)")


@dataclass(frozen=True)
class Canary:
    """The release file of ``model`` in ``env`` at the tip of the branch, with a running canary."""

    ws: Workspace
    model: str
    env: str
    text: bytes
    state: FileState
    history: History

    @property
    def path(self) -> str:
        return release_source(self.env, self.model)

    @property
    def what(self) -> str:
        """``step 2/4 (25 %) of sentiment 1.4.0 in prod``."""
        rollout = self.state.rollout
        index = rollout.step_index
        where = f"step {index + 1}/{len(rollout.steps)} ({rollout.weight} %)" if index is not None \
            else f"the canary ({rollout.weight} %)"
        return f"{where} of {self.model} {self.state.version} in {self.env}"

    def command(self, verb: str) -> str:
        return f"releasegate rollout {verb} {self.model} --env {self.env}"

    def change(self, action: str, new: bytes, branch: str | None, *, title: str, how: str, suffix: str = "",
               notes: tuple[tuple[str, str], ...] = (), labels: tuple[str, ...] = ()) -> ReleaseChange:
        """``new`` as the change ``action`` on a new branch (default ``releasegate/<action>-<model>-<env>-<version>``)."""
        name = branch or f"releasegate/{action}-{self.model}-{self.env}-{self.state.version}{suffix}"
        check_branch_name(self.ws.git, name)
        return ReleaseChange(action, self.model, self.env, self.path, self.text, new, how, None, self.ws.head,
                             None, None, name, self.ws.branch, self.ws.head, title=title, notes=notes, labels=labels)


def running_canary(ws: Workspace, model: str, env: str, verb: str, deepen: bool = False) -> Canary:
    """The canary of ``model`` in ``env``; InputError (exit 2) when none runs, saying why."""
    check_environment(ws, "--env", env)
    check_model(ws, env, model)
    ensure_full_history(ws.git, deepen)
    text = ws.git.blob_at(ws.head, release_source(env, model)) or b""
    history = History.open(ws.layout.root, ws.head, paths=[release_source(env, model)], use_cache=False,
                           git=ws.git)
    canary = Canary(ws, model, env, text, file_state(text), history)
    if not canary.state.rollout.running:
        raise _not_running(canary, verb)
    problems = rollout_problems(_data(text))
    if problems:
        raise InputError(f"{canary.path}: the canary's steps are not usable: " + "; ".join(p.message for p in problems),
                         problems[0].hint + " (releasegate validate lists every problem)")
    return canary


def _not_running(canary: Canary, verb: str) -> InputError:
    state, model, env = canary.state, canary.model, canary.env
    start = f"start one by promoting a new version: releasegate promote {model} --to {env}"
    if state.rollout.phase == ABORTED:
        return InputError(f"the canary of {model} {state.version} in {env} was aborted (canaryPercent: 0): "
                          f"there is nothing to {verb}", start)
    end = last_canary_end(canary.history, env, model)
    now = f"{env} runs {model} {state.version} ({state.rollout.describe()})"
    if end is None:
        return InputError(f"{model} has no canary running in {env}: {now}; there is nothing to {verb}", start)
    return InputError(f"{model} has no canary running in {env}: the canary of {end.version} was {end.how} at "
                      f"{iso(end.commit.time)} (commit {end.commit.oid[:10]}); {now}", start)


def _clock(canary: Canary, hold_minutes: float) -> StepClock:
    landed = step_landed(canary.history, canary.env, canary.model)
    if landed is None:  # the file exists at the tip, so it has a history
        raise InputError(f"{canary.path}: not found in the first-parent history of {canary.ws.branch}",
                         "commit the release file first")
    return StepClock(datetime.fromtimestamp(landed.time, timezone.utc), landed.oid, hold_minutes)


def _go(canary: Canary, hold_minutes: float, now: datetime, analyst: Analyst | None) -> Analysis | None:
    """RefusedError (exit 1) unless the hold has passed and the analysis and the policy allow it;
    the analysis it rests on (None without an analyst)."""
    env_policy = canary.ws.policy.environment(canary.env)
    policy = env_policy.rollout if env_policy is not None else RolloutPolicy()
    clock = _clock(canary, hold_minutes)
    analysis, verdict = _analyse(canary, clock, now, analyst)
    decision = decide(canary.what, clock, now, policy, analysis=verdict, abort=canary.command("abort"))
    if not decision.proceed:
        raise RefusedError(decision.message, decision.hint)
    return analysis


def _analyse(canary: Canary, clock: StepClock, now: datetime,
             analyst: Analyst | None) -> tuple[Analysis | None, AnalysisVerdict]:
    """Canary against stable since the step landed, wherever ``releasegate serve`` serves both sides: the
    builtin runtime (stable: ``rollout.stable``'s version) and KServe with releasegate's runtime (stable:
    the stable track, the revision KServe rolled out last, whatever its version)."""
    if analyst is None:
        return None, NO_ANALYSIS
    data = _data(canary.text)
    kserve = _runtime_kind(canary.text) == "kserve"
    if kserve and _kserve_model_format(data):
        return None, KSERVE_NOT_ANALYSED
    if not kserve and canary.state.rollout.stable_version is None:
        return None, AnalysisVerdict("none", "no spec.rollout.stable beside the canary: nothing to compare with")
    slo = data.get("spec", {}).get("slo") if isinstance(data, dict) and isinstance(data.get("spec"), dict) else None
    rate = slo.get("maxErrorRate") if isinstance(slo, dict) else None
    subject = Subject(canary.model, canary.env, str(canary.state.version), canary.state.rollout.stable_version,
                      clock.landed, now, float(rate) if isinstance(rate, (int, float)) else None)
    analysis = analyst(subject)
    return analysis, analysis.verdict


def _rationale(analysis: Analysis | None) -> dict[str, Any]:
    """What an analysis adds to the change: the section of the pull request and a trailer."""
    if analysis is None:
        return {}
    verdict = analysis.verdict
    return {"rationale": section(analysis), "notes": (("Analysis", f"{verdict.outcome}: {verdict.summary}"),)}


def plan_advance(ws: Workspace, model: str, env: str, *, now: datetime, analyst: Analyst | None = None,
                 branch: str | None = None, deepen: bool = False) -> ReleaseChange:
    """The change that moves the canary of ``model`` in ``env`` to its next step."""
    canary = running_canary(ws, model, env, "advance", deepen)
    rollout = canary.state.rollout
    if not rollout.steps:
        raise InputError(f"the canary of {model} {canary.state.version} in {env} has no steps "
                         f"({rollout.describe()}): there is no next step",
                         f"add spec.rollout.steps (docs/rollout.md), or end it: {canary.command('complete')} "
                         f"or {canary.command('abort')}")
    step, following = rollout.step, rollout.next_step
    if step is None:
        raise InputError(f"{canary.path}: canaryPercent {rollout.weight} is not one of the steps",
                         "fix the release file: canaryPercent names the current step by its weight")
    if following is None:
        raise InputError(f"{canary.what} is the last step: there is no next one",
                         f"complete the canary: {canary.command('complete')}")
    extra = _rationale(_go(canary, step.hold_minutes, now, analyst))
    number = f"{(rollout.step_index or 0) + 2}/{len(rollout.steps)}"
    new = with_weight(canary.text.decode(), canary.path, following.weight).encode()
    change = canary.change("advance", new, branch, suffix=f"-{following.weight}",
                           title=f"Advance the canary of {model} {canary.state.version} in {env} to step {number} "
                                 f"({following.weight} %)",
                           how=f"{canary.path} as on {ws.branch}, at the next step",
                           notes=(("Canary-Step", number), ("Canary-Weight", str(following.weight)),
                                  *extra.get("notes", ())))
    return dataclasses.replace(change, rationale=extra.get("rationale", ""))


def plan_complete(ws: Workspace, model: str, env: str, *, now: datetime, analyst: Analyst | None = None,
                  branch: str | None = None, deepen: bool = False) -> ReleaseChange:
    """The change that ends the canary of ``model`` in ``env`` with its version taking all traffic."""
    canary = running_canary(ws, model, env, "complete", deepen)
    rollout = canary.state.rollout
    if rollout.steps and not rollout.at_last_step:
        raise RefusedError(f"{canary.what} is not the last step: a canary completes from its last step "
                           f"({rollout.steps[-1].weight} %)", f"advance it first: {canary.command('advance')}")
    extra = _rationale(_go(canary, rollout.step.hold_minutes if rollout.step is not None else 0.0, now, analyst))
    new = at_rest(canary.text.decode(), canary.path).encode()
    change = canary.change("complete", new, branch,
                           title=f"Complete the canary of {model} {canary.state.version} in {env}",
                           how=f"{canary.path} as on {ws.branch}, at rest with the canary's model",
                           notes=tuple(extra.get("notes", ())))
    return dataclasses.replace(change, rationale=extra.get("rationale", ""))


def plan_abort(ws: Workspace, model: str, env: str, *, to_version: str | None = None, branch: str | None = None,
               deepen: bool = False) -> ReleaseChange:
    """The change that ends the canary of ``model`` in ``env``, all traffic back on the stable side.

    KServe: ``canaryPercent: 0`` (its last rolled-out revision takes the traffic). Builtin: the
    model that ran before the canary, at rest; when that says the same as the file that was live
    before the canary began, that file is restored byte for byte (a rollback for the policy's fast path).
    """
    canary = running_canary(ws, model, env, "abort", deepen)
    if _runtime_kind(canary.text) == "kserve":
        back = _kserve_back(canary)
        _check_to(canary, to_version, back)
        new = with_weight(canary.text.decode(), canary.path, 0).encode()
        return canary.change("abort", new, branch, title=f"Abort the canary of {model} {canary.state.version} "
                             f"in {env}: all traffic to the last rolled-out revision",
                             how=f"{canary.path} as on {ws.branch}, canaryPercent 0 (KServe keeps its revisions)")
    before = _before_canary(canary)
    _check_to(canary, to_version, file_state(before).version)
    new = at_rest(canary.text.decode(), canary.path, model_from=before.decode()).encode()
    restores = _data(new) == _data(before)
    back = file_state(before).version
    return canary.change(
        "abort", before if restores else new, branch,
        title=f"Abort the canary of {model} {canary.state.version} in {env}: back to {back}",
        how=(f"{canary.path} byte for byte as it was before the canary began" if restores else
             f"{canary.path} as on {ws.branch} at rest, with the model that ran before the canary ({back})"),
        labels=("rollback",) if restores else ())


def _runtime_kind(text: bytes) -> str | None:
    data = _data(text)
    runtime = data.get("spec", {}).get("runtime") if isinstance(data, dict) and isinstance(data.get("spec"), dict) \
        else None
    kind = runtime.get("kind") if isinstance(runtime, dict) else None
    return kind if isinstance(kind, str) else None


def _kserve_model_format(data: Any) -> bool:
    """Whether the release names the cluster's own KServe runtime (``runtime.kserve.modelFormat``)."""
    runtime = data.get("spec", {}).get("runtime") if isinstance(data, dict) and isinstance(data.get("spec"), dict) \
        else None
    kserve = runtime.get("kserve") if isinstance(runtime, dict) else None
    return isinstance(kserve, dict) and bool(kserve.get("modelFormat"))


def _data(text: bytes | None) -> Any:
    try:
        return yaml.load(text or b"", Loader=_Loader)
    except yaml.YAMLError:
        return None


def _stints(canary: Canary) -> tuple[Stint, Stint | None]:
    """The canary's stint and the one before it (None when the canary's version was the first)."""
    stints = Classifier(canary.history).stints(canary.env, canary.model)
    current = stints[-1]
    previous = stints[-2] if len(stints) > 1 and stints[-2].end is not None \
        and stints[-2].end.oid == current.start.oid else None
    return current, previous


def _kserve_back(canary: Canary) -> str | None:
    _, previous = _stints(canary)
    return previous.version if previous is not None else None


def _before_canary(canary: Canary) -> bytes:
    """The release file that was live right before the canary's version landed; its model must be the stable."""
    _, previous = _stints(canary)
    stable = canary.state.rollout.stable_version
    if previous is None or (stable is not None and previous.version != stable):
        ran = f"{previous.version}, not the stable {stable}" if previous is not None else "nothing"
        raise InputError(f"cannot abort the canary of {canary.model} {canary.state.version} in {canary.env}: "
                         f"before it began, {canary.env} ran {ran} (first-parent history of {canary.ws.branch})",
                         f"write the abort by hand: {canary.path} at rest with the model that ran before")
    return canary.ws.git.cat_blobs([previous.last_blob])[previous.last_blob]


def _check_to(canary: Canary, to_version: str | None, back: str | None) -> None:
    if to_version is None or to_version == back:
        return
    raise InputError(f"--to {to_version!r}: a canary of {canary.model} {canary.state.version} is running in "
                     f"{canary.env}; rolling back aborts it, back to {back or 'the last rolled-out revision'}",
                     f"abort it first ({canary.command('abort')}), merge that, then roll back further")
