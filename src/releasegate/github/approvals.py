"""Approval rules from the policy pack, evaluated over a pull request's reviews.

* The requirement of a change is the strictest of the environments it touches
  (highest ``minimum``, union of ``teams``, ``dismissStale`` if any says so). An
  environment the change rolls back to a previously-live version uses
  ``rollback.approvals`` instead, if the pack has it. A change to ``policies/``
  or to an environment the pack does not know gets the strictest of all.
* Only each reviewer's latest *decisive* review counts (APPROVED, CHANGES_REQUESTED,
  DISMISSED): a later COMMENTED review does not withdraw an approval, as on GitHub.
* Dismissed reviews never count; with ``dismissStale`` an approval given on another
  commit than the current head does not count; the PR author never counts.
* Each required team needs at least one counted approver who is an active member.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from releasegate.github.event import Review

DECISIVE = ("APPROVED", "CHANGES_REQUESTED", "DISMISSED")


@dataclass(frozen=True)
class Requirement:
    """What a change needs; ``sources`` says which environments (or ``rollback``) imposed it."""

    minimum: int = 0
    teams: tuple[str, ...] = ()
    dismiss_stale: bool = False
    sources: tuple[str, ...] = ()

    def stricter(self, other: Requirement) -> Requirement:
        return Requirement(
            minimum=max(self.minimum, other.minimum),
            teams=tuple(sorted(set(self.teams) | set(other.teams))),
            dismiss_stale=self.dismiss_stale or other.dismiss_stale,
            sources=tuple(sorted(set(self.sources) | set(other.sources))),
        )


@dataclass(frozen=True)
class ApprovalResult:
    requirement: Requirement
    approvers: tuple[str, ...]
    ignored: tuple[tuple[str, str], ...]  # (reviewer, why the review does not count)
    missing_teams: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return len(self.approvers) >= self.requirement.minimum and not self.missing_teams

    @property
    def summary(self) -> str:
        req = self.requirement
        text = f"{len(self.approvers)} of {req.minimum} required approvals"
        if self.missing_teams:
            text += "; missing approval from team(s) " + ", ".join(self.missing_teams)
        return text


def _from_policy(approvals: Any, source: str) -> Requirement:
    if approvals is None:
        return Requirement(sources=(source,))
    return Requirement(
        minimum=int(getattr(approvals, "minimum", 0) or 0),
        teams=tuple(getattr(approvals, "teams", ()) or ()),
        dismiss_stale=bool(getattr(approvals, "dismiss_stale", False)),
        sources=(source,),
    )


def requirement_for(
    policy: Any,
    environments: Sequence[str],
    *,
    policy_changed: bool = False,
    rollbacks: Iterable[str] = (),
) -> Requirement:
    """The strictest requirement over ``environments`` under ``policy`` (a ``PolicyPack``)."""
    known = {e.name: e for e in policy.environments}
    rollback_approvals = getattr(getattr(policy, "rollback", None), "approvals", None)
    rolled_back = set(rollbacks)
    everything = any(env not in known for env in environments) or policy_changed
    names = list(known) if everything else list(environments)
    req = Requirement()
    for name in names:
        if name in rolled_back and rollback_approvals is not None and not everything:
            req = req.stricter(_from_policy(rollback_approvals, f"{name} (rollback)"))
        else:
            req = req.stricter(_from_policy(known[name].approvals, name))
    if policy_changed:
        owners = getattr(policy, "policy_change_approvals", None)
        req = req.stricter(_from_policy(owners, "policies/") if owners is not None else Requirement(sources=("policies/",)))
    return req


def latest_decisive(reviews: Iterable[Review]) -> dict[str, Review]:
    """Each reviewer's latest decisive review (by submission time, then id)."""
    latest: dict[str, Review] = {}
    for review in sorted(reviews, key=lambda r: (r.submitted_at or "", r.id)):
        if review.state in DECISIVE:
            latest[review.user.lower()] = review
    return latest


def evaluate(
    reviews: Iterable[Review],
    *,
    author: str,
    head_sha: str,
    requirement: Requirement,
    team_members: Mapping[str, set[str]] | None = None,
) -> ApprovalResult:
    """Count the approvals of ``reviews`` that satisfy ``requirement``."""
    approvers: list[str] = []
    ignored: list[tuple[str, str]] = []
    for review in latest_decisive(reviews).values():
        reason = _why_not(review, author, head_sha, requirement)
        if reason:
            ignored.append((review.user, reason))
        else:
            approvers.append(review.user)
    members = team_members or {}
    lowered = {a.lower() for a in approvers}
    missing = tuple(
        t for t in requirement.teams if not lowered & {m.lower() for m in members.get(t, set())}
    )
    return ApprovalResult(requirement, tuple(sorted(approvers)), tuple(sorted(ignored)), missing)


def _why_not(review: Review, author: str, head_sha: str, req: Requirement) -> str | None:
    if review.user.lower() == author.lower():
        return "the pull request author cannot approve their own change"
    if review.state == "DISMISSED":
        return "review was dismissed"
    if review.state != "APPROVED":
        return "latest review requests changes"
    if req.dismiss_stale and review.commit_id != head_sha:
        sha = (review.commit_id or "unknown")[:12]
        return f"approval is stale: given on {sha}, head is now {head_sha[:12]}"
    return None
