"""``releasegate on-alert``: open the rollback (or the canary's abort) that an alert asks for.

One pull request per model and environment, however many alerts name it. Before planning one,
the open pull requests are read from GitHub: one that carries the marker of that model and
environment (:func:`releasegate.alerts.pr_markdown.marker`), or whose branch is the one this change
would create, means it is already open, and nothing more is done (Git holds no state of its own
for this: the open pull request is the state). The change itself is what ``releasegate rollback``
and ``releasegate rollout abort`` write, with the rollback fast path where it restores a file.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from releasegate.alerts import PR_LABEL
from releasegate.alerts.payload import Alert, Notification
from releasegate.alerts.pr_markdown import marker, section
from releasegate.alerts.triage import Verdict, triage
from releasegate.errors import EXIT_FAILED, EXIT_INPUT, EXIT_OK, GitError, InputError, RefusedError, ReleasegateError
from releasegate.layout import release_source
from releasegate.promote.change import ReleaseChange
from releasegate.promote.pr import GitHubTarget, connect, resolve_target
from releasegate.promote.proposal import Workspace, carry_out, plan_rollback
from releasegate.rollout.clock import FileState, file_state
from releasegate.rollout.plan import plan_abort

MAX_OPEN_PULLS = 1000  # open pull requests read for the de-duplication

OPENED, DUPLICATE, COMMITTED, REFUSED, FAILED = "opened", "duplicate", "committed", "refused", "failed"


@dataclass(frozen=True)
class OpenPull:
    number: int
    url: str
    branch: str
    body: str


@dataclass(frozen=True)
class TargetResult:
    """What became of one model and environment that alerts asked to roll back."""

    env: str
    model: str
    action: str  # rollback | abort
    outcome: str  # opened | duplicate | committed | refused | failed
    detail: str
    alerts: tuple[Alert, ...]
    pull_request: int | None = None
    url: str | None = None
    branch: str | None = None


@dataclass(frozen=True)
class Handled:
    """Everything ``on-alert`` did with one notification."""

    notification: Notification
    verdicts: tuple[Verdict, ...]
    targets: tuple[TargetResult, ...]

    @property
    def exit_code(self) -> int:
        """2 when GitHub or Git failed, 1 when a wanted rollback was refused, else 0."""
        outcomes = {t.outcome for t in self.targets}
        if FAILED in outcomes:
            return EXIT_INPUT
        return EXIT_FAILED if REFUSED in outcomes else EXIT_OK

    def result_of(self, verdict: Verdict) -> TargetResult | None:
        return next((t for t in self.targets if verdict.action and (t.env, t.model) == verdict.target), None)


def handle(ws: Workspace, note: Notification, *, open_pr: bool, remote: str = "origin",
           deepen: bool = False) -> Handled:
    """Triage every alert of ``note`` and open (or, without ``open_pr``, commit) one change per target.

    The change is ``rollback``'s (labelled ``rollback`` when it restores a file, which gives it the
    policy's fast path) or ``rollout abort``'s, labelled ``releasegate-alert`` too."""
    verdicts = tuple(triage(a, tuple(ws.policy.environment_names), _states(ws)) for a in note.alerts)
    groups = _groups(verdicts)
    if not groups:
        return Handled(note, verdicts, ())
    target = _github(ws, remote) if open_pr else None
    pulls = _open_pulls(target, ws.branch) if target is not None else []
    results = [_one(ws, note, key, action, alerts, pulls, open_pr, remote, deepen)
               for key, (action, alerts) in groups.items()]
    return Handled(note, verdicts, tuple(results))


def _states(ws: Workspace) -> Any:
    cache: dict[tuple[str, str], FileState | None] = {}

    def release(env: str, model: str) -> FileState | None:
        if (env, model) not in cache:
            data = ws.git.blob_at(ws.head, release_source(env, model))
            cache[(env, model)] = None if data is None else file_state(data)
        return cache[(env, model)]

    return release


def _groups(verdicts: Iterable[Verdict]) -> dict[tuple[str, str], tuple[str, list[Alert]]]:
    groups: dict[tuple[str, str], tuple[str, list[Alert]]] = {}
    for v in verdicts:
        if v.action is not None:
            groups.setdefault(v.target, (v.action, []))[1].append(v.alert)
    return groups


def _github(ws: Workspace, remote: str) -> GitHubTarget:
    if remote not in ws.git.remotes():
        raise GitError(f"no Git remote named {remote!r} to push the branch to",
                       "add one (git remote add origin URL), pass --remote, or use --no-pr")
    return resolve_target(ws.git, remote)


def _open_pulls(target: GitHubTarget, base: str) -> list[OpenPull]:
    client = connect(target)

    def fetch() -> list[OpenPull]:
        out = []
        for pull in client.repo().get_pulls(state="open", base=base):
            out.append(OpenPull(pull.number, pull.html_url, pull.head.ref, pull.body or ""))
            if len(out) >= MAX_OPEN_PULLS:
                break
        return out

    return client.call(f"list the open pull requests into {base}", fetch)


def _one(ws: Workspace, note: Notification, key: tuple[str, str], action: str, alerts: list[Alert],
         pulls: list[OpenPull], open_pr: bool, remote: str, deepen: bool) -> TargetResult:
    env, model = key
    result = TargetResult(env, model, action, REFUSED, "", tuple(alerts))
    same = _already_open(pulls, env, model)
    if same is not None:
        return _duplicate(result, same)
    try:
        change = _plan(ws, env, model, action, deepen)
    except (RefusedError, InputError, GitError) as e:
        return dataclasses.replace(result, detail=str(e))
    change = dataclasses.replace(change, rationale=section(note, alerts, env, model),
                                 labels=tuple(sorted({*change.labels, PR_LABEL})), command="on-alert")
    try:
        outcome = carry_out(ws, change, open_pr=open_pr, remote=remote)
    except ReleasegateError as e:
        return dataclasses.replace(result, outcome=FAILED, detail=str(e), branch=change.branch)
    pr = outcome.pull_request
    return dataclasses.replace(
        result, outcome=OPENED if pr else COMMITTED, branch=change.branch, pull_request=pr.number if pr else None,
        url=pr.url if pr else None, detail=f"{change.subject()} ({outcome.commit[:10]} on {change.branch})")


def _already_open(pulls: list[OpenPull], env: str, model: str) -> OpenPull | None:
    """An open pull request that rolls back ``model`` in ``env``: with on-alert's marker, or on the branch
    that ``releasegate rollback``/``rollout abort`` name by default (``releasegate/abort-<model>-<env>-<version>``)."""
    branch = re.compile(rf"releasegate/(abort|rollback)-{re.escape(model)}-{re.escape(env)}-[0-9]")
    return next((p for p in pulls if marker(env, model) in p.body or branch.match(p.branch)), None)


def _duplicate(result: TargetResult, pull: OpenPull) -> TargetResult:
    return dataclasses.replace(result, outcome=DUPLICATE, pull_request=pull.number, url=pull.url, branch=pull.branch,
                               detail=f"pull request #{pull.number} ({pull.branch}) is open for it already")


def _plan(ws: Workspace, env: str, model: str, action: str, deepen: bool) -> ReleaseChange:
    if action == "abort":
        return plan_abort(ws, model, env, deepen=deepen)
    return plan_rollback(ws, model, env, deepen=deepen)
