"""Plan and carry out ``promote`` and ``rollback``: a new branch, one commit, a push, a pull request.

Planning checks everything first (repository state, names, versions, credentials), so that
a refused request writes nothing; carrying out undoes its own steps when a later one fails.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass

from releasegate.errors import GitError, InputError, RefusedError
from releasegate.history.blobs import summarise
from releasegate.history.classify import Classifier
from releasegate.history.commit_log import Commit
from releasegate.history.git import Git, ensure_full_history, open_repo
from releasegate.history.query import History
from releasegate.history.semver import is_downgrade
from releasegate.history.timeline import Stint
from releasegate.layout import RepoLayout, release_source
from releasegate.policy import PolicyPack, load_policy_pack
from releasegate.promote.branch import BranchCommit, check_branch_name, commit_file, delete_remote_branch, push
from releasegate.promote.change import ReleaseChange
from releasegate.promote.edit import promoted_text
from releasegate.promote.pr import GitHubTarget, OpenedPullRequest, connect, open_pull_request, resolve_target
from releasegate.rollout.clock import file_state


@dataclass(frozen=True)
class Workspace:
    """A clean checkout on a branch: where changes are planned from."""

    layout: RepoLayout
    git: Git
    policy: PolicyPack
    branch: str
    head: str


@dataclass(frozen=True)
class Outcome:
    change: ReleaseChange
    commit: str
    pushed: bool
    pull_request: OpenedPullRequest | None


def workspace(layout: RepoLayout) -> Workspace:
    """The repository at ``layout``, refusing a detached HEAD or uncommitted changes."""
    git = open_repo(layout.root)
    branch = git.current_branch()
    if branch is None:
        raise GitError("HEAD is detached: releasegate branches off the branch you are on",
                       "check out the branch to change first, e.g. git switch main")
    dirty = git.dirty_paths()
    if dirty:
        shown = ", ".join(dirty[:5]) + (" ..." if len(dirty) > 5 else "")
        raise GitError(f"the work tree has uncommitted changes: {shown}",
                       "commit or stash them first (git stash), then re-run")
    return Workspace(layout, git, load_policy_pack(layout), branch, git.rev_parse("HEAD"))


def check_environment(ws: Workspace, flag: str, name: str) -> None:
    """InputError naming ``flag`` and the closest environment when ``name`` is not in the policy pack."""
    names = list(ws.policy.environment_names)
    if name not in names:
        close = difflib.get_close_matches(name, names, n=1)
        raise InputError(f"{flag} {name!r}: no such environment in policies/policy-pack.yaml",
                         f"did you mean {close[0]!r}?" if close else f"use one of: {', '.join(names)}")


def _models(ws: Workspace, env: str) -> list[str]:
    out = ws.git.text(["ls-tree", "--name-only", ws.head, f"environments/{env}/releases/"])
    return sorted(p.rsplit("/", 1)[-1][:-5] for p in out.splitlines() if p.endswith(".yaml"))


def check_model(ws: Workspace, env: str, model: str) -> None:
    """InputError naming the closest model when ``env`` has no release file of ``model`` on the branch."""
    known = _models(ws, env)
    if model not in known:
        close = difflib.get_close_matches(model, known, n=1)
        raise InputError(f"MODEL {model!r}: no release file {release_source(env, model)} on {ws.branch}",
                         f"did you mean {close[0]!r}?" if close else
                         f"models in {env}: {', '.join(known) or '(none)'}")


def _classifier(ws: Workspace, env: str, model: str, deepen: bool) -> Classifier:
    ensure_full_history(ws.git, deepen)
    return Classifier(History.open(ws.layout.root, ws.head, paths=[release_source(env, model)], use_cache=False))


def plan_promotion(ws: Workspace, model: str, to_env: str, *, from_env: str | None = None,
                   version: str | None = None, branch: str | None = None, deepen: bool = False) -> ReleaseChange | None:
    """The change that promotes ``model`` to ``to_env``; None when ``to_env`` already has it."""
    check_environment(ws, "--to", to_env)
    source_env = from_env or _promotes_from(ws, to_env)
    check_environment(ws, "--from", source_env)
    if source_env == to_env:
        raise InputError(f"--from {source_env!r} is the environment promoted to", "promote from another environment")
    check_model(ws, source_env, model)
    source, source_commit, how = _source_bytes(ws, model, source_env, version, deepen)
    target = ws.git.blob_at(ws.head, release_source(to_env, model))
    _refuse_into_running_canary(model, to_env, target, summarise(source).version)
    new = promoted_text(source.decode(), target.decode() if target is not None else None,
                        release_source(source_env, model), release_source(to_env, model)).encode()
    if new == target:
        return None
    name = branch or f"releasegate/promote-{model}-{to_env}-{summarise(new).version}"
    check_branch_name(ws.git, name)
    return ReleaseChange("promote", model, to_env, release_source(to_env, model), target, new, how, source_env,
                         source_commit, None, None, name, ws.branch, ws.head)


def _refuse_into_running_canary(model: str, env: str, target: bytes | None, version: str | None) -> None:
    """A new version may not enter ``env`` while a canary runs there: it would become that canary's
    stable side (or replace it) without a gate of its own. RefusedError naming complete and abort."""
    state = file_state(target)
    if target is None or not state.rollout.running or state.version == version:
        return
    raise RefusedError(
        f"{model} {state.version} is a canary in {env} ({state.rollout.describe()}): finish it before "
        f"promoting {version}",
        f"complete it (releasegate rollout complete {model} --env {env}) or abort it (releasegate rollout abort "
        f"{model} --env {env}), merge that, then promote again")


def _promotes_from(ws: Workspace, env: str) -> str:
    policy = ws.policy.environment(env)
    if policy is None or policy.promotes_from is None:
        raise InputError(f"--to {env!r}: the policy pack gives {env} no promotesFrom environment",
                         "name the source environment with --from ENV")
    return policy.promotes_from


def _source_bytes(ws: Workspace, model: str, env: str, version: str | None,
                  deepen: bool) -> tuple[bytes, str, str]:
    """The source release file: current, or as it was when ``version`` was last live in ``env``."""
    current = ws.git.blob_at(ws.head, release_source(env, model)) or b""
    if version is None or summarise(current).version == version:
        return current, ws.head, f"{release_source(env, model)} as on {ws.branch}"
    stints = _classifier(ws, env, model, deepen).stints_of_version(env, model, version)
    if not stints:
        raise InputError(f"--version {version!r}: {model} {version} was never live in {env}",
                         f"versions live in {env}: {_versions(ws, env, model, deepen)}")
    stint = stints[-1]
    data = ws.git.cat_blobs([stint.last_blob])[stint.last_blob]
    return data, stint.start.oid, f"{release_source(env, model)} as it was when {version} was live there"


def _versions(ws: Workspace, env: str, model: str, deepen: bool) -> str:
    stints = _classifier(ws, env, model, deepen).stints(env, model)
    return ", ".join(dict.fromkeys(str(s.version) for s in reversed(stints))) or "(none)"


def plan_rollback(ws: Workspace, model: str, env: str, *, to_version: str | None = None,
                  branch: str | None = None, deepen: bool = False) -> ReleaseChange:
    """The change that takes ``env`` back to ``to_version`` (default: the version live before).

    While a canary runs in ``env``, a rollback is its abort (:func:`releasegate.rollout.plan.plan_abort`):
    restoring an older file would move the stable side too, and restart it.
    """
    check_environment(ws, "--env", env)
    check_model(ws, env, model)
    if file_state(ws.git.blob_at(ws.head, release_source(env, model))).rollout.running:
        from releasegate.rollout.plan import plan_abort  # rollout builds on this module

        return plan_abort(ws, model, env, to_version=to_version, branch=branch, deepen=deepen)
    stints = _classifier(ws, env, model, deepen).stints(env, model)
    current = stints[-1] if stints and stints[-1].live else None
    if current is None:
        raise InputError(f"{model} is not live in {env}", "nothing to roll back")
    back = _rollback_target(model, env, stints, current, to_version)
    data = ws.git.cat_blobs([back.last_blob])[back.last_blob]
    name = branch or f"releasegate/rollback-{model}-{env}-{back.version}"
    check_branch_name(ws.git, name)
    reverts = _revertible(stints, current, back)
    how = f"{release_source(env, model)} byte for byte as it was when {back.version} was last live there"
    return ReleaseChange("rollback", model, env, release_source(env, model), ws.git.blob_at(ws.head, release_source(env, model)),
                         data, how, None, back.start.oid, reverts.oid if reverts else None,
                         reverts.subject if reverts else None, name, ws.branch, ws.head, labels=("rollback",))


def _rollback_target(model: str, env: str, stints: tuple[Stint, ...], current: Stint,
                     to_version: str | None) -> Stint:
    """The latest earlier stint of ``to_version`` (default: of the latest lower version)."""
    lower = [s for s in stints[:-1] if is_downgrade(current.version, s.version)]
    if to_version is None:
        if not lower:
            raise InputError(f"{model} {current.version} is live in {env} and no lower version was live there before",
                             "there is nothing to roll back to; to go up, use releasegate promote")
        return lower[-1]
    matching = [s for s in lower if s.version == to_version]
    if matching:
        return matching[-1]
    if to_version == current.version:
        raise InputError(f"--to {to_version!r}: {model} {to_version} is live in {env} now", "nothing to do")
    if any(s.version == to_version for s in stints):
        raise InputError(f"--to {to_version!r}: {to_version} is not lower than {current.version}, the version live "
                         f"in {env}", f"that is a promotion: releasegate promote {model} --to {env} --version {to_version}")
    versions = ", ".join(dict.fromkeys(str(s.version) for s in reversed(lower))) or "(none)"
    raise InputError(f"--to {to_version!r}: {model} {to_version} was never live in {env}",
                     f"lower versions live in {env} before: {versions}")


def _revertible(stints: tuple[Stint, ...], current: Stint, back: Stint) -> Commit | None:
    """The promoting commit, when reverting it restores ``back``: the latest change, right after ``back``."""
    previous = stints[-2] if len(stints) > 1 else None
    if current.changes == 1 and previous is back and back.end is not None and back.end.oid == current.start.oid:
        return current.start
    return None


def carry_out(ws: Workspace, change: ReleaseChange, *, open_pr: bool, remote: str = "origin") -> Outcome:
    """Commit on the new branch; with ``open_pr`` also push and open the pull request.

    On any failure after the commit, the local branch (and a pushed remote branch) is deleted.
    """
    target = _pr_target(ws, remote) if open_pr else None
    made = commit_file(ws.git, change.base_commit, change.path, change.new, change.message(), change.branch)
    if target is None:
        return Outcome(change, made.commit, False, None)
    return _publish(ws, change, made, target, remote)


def _pr_target(ws: Workspace, remote: str) -> GitHubTarget:
    if remote not in ws.git.remotes():
        raise GitError(f"no Git remote named {remote!r} to push the branch to",
                       "add one (git remote add origin URL), pass --remote, or use --no-pr")
    return resolve_target(ws.git, remote)


def _publish(ws: Workspace, change: ReleaseChange, made: BranchCommit, target: GitHubTarget, remote: str) -> Outcome:
    pushed = False
    try:
        push(ws.git, remote, change.branch)
        pushed = True
        pr = open_pull_request(connect(target), head=change.branch, base=change.base_branch,
                               title=change.subject(), body=change.pr_body(target.html_url), labels=change.labels)
    except BaseException:
        if pushed:
            delete_remote_branch(ws.git, remote, change.branch)
        made.delete()
        raise
    return Outcome(change, made.commit, True, pr)
