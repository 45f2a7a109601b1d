from __future__ import annotations

from pathlib import Path

from releasegate.github.approvals import Requirement, evaluate, latest_decisive, requirement_for
from releasegate.github.event import Review
from releasegate.layout import RepoLayout
from releasegate.policy import load_policy_pack

HEAD = "a" * 40
OLD = "b" * 40


def review(i: int, user: str, state: str, commit: str = HEAD, day: int = 1) -> Review:
    return Review(i, user, state, commit, f"2026-11-{day:02d}T10:00:00Z")


def test_strictest_environment_wins(example_repo: Path) -> None:
    policy = load_policy_pack(RepoLayout(example_repo))
    assert requirement_for(policy, ["dev"]).minimum == 0
    req = requirement_for(policy, ["dev", "prod", "staging"])
    assert (req.minimum, req.dismiss_stale, req.sources) == (2, True, ("dev", "prod", "staging"))


def test_rollbacks_use_the_rollback_approvals(example_repo: Path) -> None:
    policy = load_policy_pack(RepoLayout(example_repo))
    req = requirement_for(policy, ["prod"], rollbacks=["prod"])
    assert (req.minimum, req.sources) == (1, ("prod (rollback)",))


def test_policy_changes_and_unknown_environments_get_the_strictest(example_repo: Path) -> None:
    policy = load_policy_pack(RepoLayout(example_repo))
    assert requirement_for(policy, [], policy_changed=True).minimum == 2
    assert requirement_for(policy, ["qa"]).minimum == 2


def test_only_the_latest_decisive_review_per_user_counts() -> None:
    reviews = [
        review(1, "alice", "APPROVED", day=1),
        review(2, "alice", "CHANGES_REQUESTED", day=2),
        review(3, "bob", "CHANGES_REQUESTED", day=1),
        review(4, "bob", "APPROVED", day=2),
        review(5, "bob", "COMMENTED", day=3),
    ]
    latest = latest_decisive(reviews)
    assert {u: r.state for u, r in latest.items()} == {"alice": "CHANGES_REQUESTED", "bob": "APPROVED"}
    result = evaluate(reviews, author="carol", head_sha=HEAD, requirement=Requirement(minimum=1))
    assert result.approvers == ("bob",) and result.ok
    assert result.ignored == (("alice", "latest review requests changes"),)


def test_author_dismissed_and_stale_reviews_do_not_count() -> None:
    reviews = [
        review(1, "Carol", "APPROVED"),
        review(2, "dave", "DISMISSED"),
        review(3, "erin", "APPROVED", commit=OLD),
        review(4, "frank", "APPROVED"),
    ]
    result = evaluate(reviews, author="carol", head_sha=HEAD, requirement=Requirement(minimum=2, dismiss_stale=True))
    assert result.approvers == ("frank",)
    assert not result.ok
    reasons = dict(result.ignored)
    assert "author" in reasons["Carol"] and "dismissed" in reasons["dave"] and "stale" in reasons["erin"]
    assert result.summary == "1 of 2 required approvals"


def test_stale_reviews_count_without_dismiss_stale() -> None:
    reviews = [review(1, "erin", "APPROVED", commit=OLD)]
    assert evaluate(reviews, author="x", head_sha=HEAD, requirement=Requirement(minimum=1)).ok


def test_required_teams_need_an_approving_member() -> None:
    reviews = [review(1, "alice", "APPROVED"), review(2, "bob", "APPROVED")]
    req = Requirement(minimum=1, teams=("ml-leads", "sre"))
    result = evaluate(reviews, author="x", head_sha=HEAD, requirement=req,
                      team_members={"ml-leads": {"Alice"}, "sre": set()})
    assert result.missing_teams == ("sre",)
    assert not result.ok
    assert "missing approval from team(s) sre" in result.summary
