"""Canned repository settings for ``releasegate doctor`` on the fake GitHub.

The well-configured repository is exactly what this repository ships: the rules of
``.github/rulesets/main.json`` as ``GET /rules/branches/{branch}`` lists them once the ruleset
is imported, and ``.github/CODEOWNERS``. Every answer is validated against the OpenAPI
description by the fake, like every request doctor sends.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from tests.support.fake_github import FakeGitHub

ROOT = Path(__file__).resolve().parents[2]
RULESET = ROOT / ".github/rulesets/main.json"
CODEOWNERS = ROOT / ".github/CODEOWNERS"


def shipped_rules(fake: FakeGitHub, ruleset_id: int = 42) -> list[dict[str, Any]]:
    ruleset = json.loads(RULESET.read_text(encoding="utf-8"))
    return [dict(rule, ruleset_source_type="Repository", ruleset_source=fake.repo, ruleset_id=ruleset_id)
            for rule in ruleset["rules"]]


def well_configured(fake: FakeGitHub) -> FakeGitHub:
    fake.branch_rules["main"] = shipped_rules(fake)
    fake.files[".github/CODEOWNERS"] = CODEOWNERS.read_text(encoding="utf-8")
    fake.workflow_permissions = {"default_workflow_permissions": "read", "can_approve_pull_request_reviews": False}
    fake.fork_pr_approval = "all_external_contributors"
    return fake


def classic_protection(fake: FakeGitHub, *, app_id: int | None = 15368, force_pushes: bool = False,
                       dismiss_stale: bool = True) -> dict[str, Any]:
    """GitHub's own branch-protection example, with releasegate's checks (from ``app_id``)."""
    data = copy.deepcopy(fake.raw["components"]["examples"]["branch-protection"]["value"])
    for holder in (data["restrictions"], data["required_pull_request_reviews"]["dismissal_restrictions"]):
        for team in holder["teams"]:
            team["type"] = "organization"  # required; missing from the description's own example
        holder["apps"] = []  # the example's app owner matches none of the owner schemas
    contexts = ["releasegate / validate", "releasegate / approvals"]
    data["required_status_checks"].update(contexts=contexts, checks=[{"context": c, "app_id": app_id} for c in contexts])
    data["required_pull_request_reviews"].update(dismiss_stale_reviews=dismiss_stale, required_approving_review_count=1)
    data["allow_force_pushes"]["enabled"] = force_pushes
    data["allow_deletions"]["enabled"] = False
    return data


def badly_configured(fake: FakeGitHub) -> FakeGitHub:
    """Checks from any source, force pushes allowed, stale approvals kept, a CODEOWNERS with holes
    and an unknown owner, a writable token that may approve pull requests."""
    fake.protection["main"] = classic_protection(fake, app_id=None, force_pushes=True, dismiss_stale=False)
    fake.branch_rules["main"] = [{"type": "required_status_checks", "ruleset_source_type": "Organization",
                                  "ruleset_source": "octo-org", "ruleset_id": 7,
                                  "parameters": {"strict_required_status_checks_policy": False,
                                                 "required_status_checks": [{"context": "releasegate / validate"}]}}]
    fake.files["CODEOWNERS"] = "/policies/*.yaml @octo-org/ml-leads\n/environments/prod/ @octo-org/no-such-team\n"
    fake.codeowners_errors = [{
        "line": 2, "column": 22, "kind": "Unknown owner", "source": "/environments/prod/ @octo-org/no-such-team",
        "suggestion": "make sure @octo-org/no-such-team exists and has write access to the repository",
        "message": "Unknown owner on line 2: make sure @octo-org/no-such-team exists and has write access to the "
                   "repository\n\n  /environments/prod/ @octo-org/no-such-team\n                      ^",
        "path": "CODEOWNERS"}]
    fake.workflow_permissions = {"default_workflow_permissions": "write", "can_approve_pull_request_reviews": True}
    fake.fork_pr_approval = "first_time_contributors"
    return fake
