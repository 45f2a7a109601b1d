"""The validate gate of a pull request: validation, approvals, and reporting on GitHub.

One function per step, so the action entry point (``releasegate.actions.validate``)
and the CLI (``releasegate action validate``, ``releasegate approvals``) share them.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from releasegate.base_rules import rules_from
from releasegate.errors import EXIT_FAILED, EXIT_OK, GitHubError, InputError
from releasegate.github import approvals as approval_rules
from releasegate.github import pr as pr_api
from releasegate.github.changes import TouchedEnvironments, changed_files, touched_environments, validation_paths
from releasegate.github.checks import GateReport, publish_gate
from releasegate.github.client import GitHubClient, status_of
from releasegate.github.comment import upsert_sticky
from releasegate.github.event import Event, Review
from releasegate.layout import RepoLayout
from releasegate.policy import load_policy_pack
from releasegate.release import is_release_path, load_release, split_release_path
from releasegate.validate.context import ValidationResult
from releasegate.validate.engine import run_validation
from releasegate.validate.pr_markdown import (
    approvals_markdown,
    gate_markdown,
    validation_markdown,
    validation_title,
    violation_annotations,
)

APPROVAL_MODES = ("off", "report", "require")
RollbackFinder = Callable[[RepoLayout, Sequence[str], str], set[str]]


def history_rollbacks(layout: RepoLayout, changed: Sequence[str], base: str) -> set[str]:
    """Environments in which every changed release file goes back to a version live there before
    (per the first-parent history of ``base``): those get the policy's ``rollback.approvals``."""
    from releasegate.history import is_rollback

    verdicts: dict[str, list[bool]] = {}
    for path in changed:
        if is_release_path(path):
            env, _ = split_release_path(path)
            verdicts.setdefault(env, []).append(_rolls_back(layout, path, base, is_rollback))
    return {env for env, flags in verdicts.items() if all(flags)}


def _rolls_back(layout: RepoLayout, path: str, base: str, is_rollback: Callable[..., bool]) -> bool:
    file = layout.root / path
    if not file.exists():
        return False  # removing a model is not a rollback
    try:
        release = load_release(layout, file)
    except InputError:
        return False  # unreadable: the validation gate reports it; no fast path for it
    return bool(is_rollback(layout, release, ref=base))


@dataclass(frozen=True)
class PullRequestSettings:
    """The inputs of the validate action (and flags of ``releasegate action validate``)."""

    paths: tuple[str, ...] = ()
    all_files: bool = False
    base: str | None = None
    head: str | None = None
    approvals: str = "report"
    comment: bool = True
    checks: bool = True
    labels: bool = True
    revoke_label: str = ""
    now: datetime | None = None
    details_url: str | None = None
    rollbacks: RollbackFinder = field(default=history_rollbacks, compare=False)

    def __post_init__(self) -> None:
        if self.approvals not in APPROVAL_MODES:
            raise InputError(f"approvals: {self.approvals!r} is not one of {', '.join(APPROVAL_MODES)}",
                             "use off, report (evaluate, never fail the step) or require")

    def uses_github(self, event: Event | None) -> bool:
        """Whether this run talks to the GitHub API at all."""
        if event is None:
            return False
        is_pr = event.pull_request is not None
        return self.checks or (is_pr and (self.comment or self.labels or self.approvals != "off"))


@dataclass(frozen=True)
class PullRequestOutcome:
    event: Event | None
    changed: tuple[str, ...]
    environments: TouchedEnvironments
    result: ValidationResult
    approvals: approval_rules.ApprovalResult | None
    require_approvals: bool
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        approved = self.approvals is None or self.approvals.ok or not self.require_approvals
        return self.result.ok and approved

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.ok else EXIT_FAILED

    def markdown(self) -> str:
        return gate_markdown(self.event, self.result, self.approvals, self.environments.names, self.notes)


def check_pull_request(layout: RepoLayout, settings: PullRequestSettings, event: Event | None,
             client: GitHubClient | None) -> PullRequestOutcome:
    """Validate what the event (or the settings) changed, evaluate approvals, report on GitHub."""
    changed, whole = _scope(layout, settings, event)
    touched = touched_environments(changed)
    base = settings.base or (event.base_sha if event else None)
    result = _validate(layout, settings, changed, whole, base)
    approvals = None
    if client is not None and event is not None and event.pull_request is not None and settings.approvals != "off":
        pull = event.pull_request
        approvals = check_approvals(client, layout, pull.number, pull.author, pull.head_sha, changed,
                                    base=settings.base or pull.base_sha, rollbacks=settings.rollbacks,
                                    event_review=event.review)
    outcome = PullRequestOutcome(event, tuple(changed), touched, result, approvals, settings.approvals == "require")
    if client is not None and event is not None:
        notes = publish(client, event, outcome, settings)
        outcome = PullRequestOutcome(event, outcome.changed, touched, result, approvals, outcome.require_approvals, notes)
    return outcome


def _scope(layout: RepoLayout, settings: PullRequestSettings, event: Event | None) -> tuple[list[str], bool]:
    """The changed paths, and whether to check the whole repository instead."""
    if settings.paths:
        return [layout.relative(Path(p).absolute()) for p in settings.paths], False
    base = settings.base or (event.base_sha if event else None)
    head = settings.head or (event.head_sha if event else None) or "HEAD"
    if settings.all_files or base is None:
        return [], True
    return [c.path for c in changed_files(layout.root, base, head)], False


def _validate(layout: RepoLayout, settings: PullRequestSettings, changed: list[str], whole: bool,
              base: str | None) -> ValidationResult:
    """Validate the change by the rules of ``base`` (the work tree's only when no base is known)."""
    if whole:
        return run_validation(layout, all_files=True, now=settings.now, rules_ref=base)
    targets = validation_paths(p for p in changed if (layout.root / p).exists())
    policy_files = [p for p in changed if p.startswith("policies/")]
    if not targets and not policy_files:
        return ValidationResult((), (), rules_ref=base)
    if not targets:  # only removed policy files: every release is judged again
        return run_validation(layout, all_files=True, now=settings.now, rules_ref=base, policy_files=policy_files)
    return run_validation(layout, [layout.root / p for p in targets], now=settings.now, rules_ref=base,
                          policy_files=policy_files)


def check_approvals(
    client: GitHubClient,
    layout: RepoLayout,
    number: int,
    author: str,
    head_sha: str,
    changed: Sequence[str],
    *,
    base: str | None = None,
    rollbacks: RollbackFinder = history_rollbacks,
    event_review: Review | None = None,
) -> approval_rules.ApprovalResult:
    """Evaluate the policy pack's approval rules for PR ``number`` touching ``changed``.

    With ``base`` (a commit in the checkout), changes that roll an environment back to a
    previously-live version get the pack's ``rollback.approvals``.
    """
    touched = touched_environments(changed)
    rules = rules_from(layout, base) if base else layout
    requirement = approval_rules.requirement_for(
        load_policy_pack(rules), touched.names, policy_changed=touched.policy,
        rollbacks=rollbacks(layout, changed, base) if base else (),
    )
    reviews = pr_api.list_reviews(client, number)
    if event_review is not None and all(r.id != event_review.id for r in reviews):
        reviews.append(event_review)  # the API may not list a review from this very event yet
    candidates = {r.user for r in reviews if r.state == "APPROVED"}
    owner = client.repo_name.split("/")[0]
    members = {team: pr_api.team_members(client, team, candidates, owner) for team in requirement.teams}
    return approval_rules.evaluate(reviews, author=author, head_sha=head_sha, requirement=requirement,
                                   team_members=members)


def publish(client: GitHubClient, event: Event, outcome: PullRequestOutcome, settings: PullRequestSettings) -> tuple[str, ...]:
    """Checks, sticky comment and labels. On a fork PR a 403 (read-only token) becomes a note."""
    notes: list[str] = []
    steps: list[tuple[str, Callable[[], object]]] = []
    if settings.checks:
        steps.append(("check runs", lambda: _publish_checks(client, event, outcome, settings)))
    pull = event.pull_request
    if pull is not None and settings.labels:
        steps.append(("labels", lambda: _publish_labels(client, event, outcome, settings)))
    if pull is not None and settings.comment:
        steps.append(("comment", lambda: upsert_sticky(client, pull.number, "validate", outcome.markdown())))
    for what, step in steps:
        try:
            step()
        except GitHubError as e:
            if not (pull is not None and pull.from_fork and status_of(e) == 403):
                raise
            notes.append(f"Could not post {what}: the token of a fork pull request is read-only. "
                         "The results are in this job's summary and annotations.")
    return tuple(notes)


def _publish_checks(client: GitHubClient, event: Event, outcome: PullRequestOutcome, settings: PullRequestSettings) -> None:
    result = outcome.result
    publish_gate(client, event.head_sha, GateReport(
        "validate", result.ok, validation_title(result), validation_markdown(result),
        violation_annotations(result), settings.details_url,
    ))
    if outcome.approvals is not None:
        publish_gate(client, event.head_sha, GateReport(
            "approvals", outcome.approvals.ok, outcome.approvals.summary,
            approvals_markdown(outcome.approvals), details_url=settings.details_url,
        ))
    elif event.name == "merge_group" and settings.approvals != "off":
        # GitHub queues only pull requests whose required checks (this one included) passed.
        publish_gate(client, event.head_sha, GateReport(
            "approvals", True, "approved before entering the merge queue",
            "The approval rules were checked on the pull request; GitHub queues it only after its "
            "required checks passed.", details_url=settings.details_url,
        ))


def _publish_labels(client: GitHubClient, event: Event, outcome: PullRequestOutcome, settings: PullRequestSettings) -> None:
    pull = event.pull_request
    if pull is None:
        return
    pr_api.add_labels(client, pull.number, [f"release/{env}" for env in outcome.environments.names])
    revoke = settings.revoke_label
    if revoke and event.action == "synchronize" and revoke in pull.labels:
        pr_api.remove_label(client, pull.number, revoke)
