"""The repository setup this repository ships (.github/rulesets/main.json, .github/CODEOWNERS)."""
from __future__ import annotations

import json
from pathlib import Path

from openapi_core.datatypes import RequestParameters

from tests.support.fake_github import _Request, load_spec

RULESET = Path(__file__).resolve().parents[3] / ".github/rulesets/main.json"


def test_the_shipped_ruleset_is_a_valid_request_to_create_a_ruleset() -> None:
    """.github/rulesets/main.json is the body of POST /repos/{owner}/{repo}/rulesets, by GitHub's description."""
    api, _ = load_spec()
    body = RULESET.read_bytes()
    api.validate_request(_Request("/repos/octo-org/gitops/rulesets", "post", RequestParameters(), "application/json",
                                  body))
    rules = {rule["type"]: rule.get("parameters", {}) for rule in json.loads(body)["rules"]}
    assert {c["context"]: c["integration_id"] for c in rules["required_status_checks"]["required_status_checks"]} == {
        "releasegate / validate": 15368, "releasegate / approvals": 15368, "releasegate / render": 15368}
    assert rules["pull_request"]["dismiss_stale_reviews_on_push"] and rules["pull_request"]["require_code_owner_review"]
    assert {"deletion", "non_fast_forward"} <= set(rules)
