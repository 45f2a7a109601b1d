"""``releasegate doctor``'s library against the OpenAPI-checking fake GitHub."""
from __future__ import annotations

import pytest

from releasegate.errors import GitHubError, InputError
from releasegate.github.client import GitHubClient
from releasegate.github.doctor import run_doctor
from tests.support.fake_github import FakeGitHub
from tests.support.repo_settings import badly_configured, classic_protection, well_configured


def _status(diagnosis: object) -> dict[str, str]:
    return {f.id: f.status for f in diagnosis.findings}  # type: ignore[attr-defined]


def test_what_this_repository_ships_passes(fake_github: FakeGitHub, client: GitHubClient) -> None:
    diagnosis = run_doctor(client)
    assert diagnosis.findings and not diagnosis.ok  # nothing configured yet
    well_configured(fake_github)
    diagnosis = run_doctor(client)
    assert (diagnosis.ok, diagnosis.exit_code, diagnosis.branch) == (True, 0, "main")
    assert set(_status(diagnosis).values()) == {"ok"}
    assert all(f.fix is None for f in diagnosis.findings)


def test_classic_branch_protection_counts_too(fake_github: FakeGitHub, client: GitHubClient) -> None:
    well_configured(fake_github)
    fake_github.branch_rules["main"] = []
    fake_github.protection["main"] = classic_protection(fake_github)
    diagnosis = run_doctor(client)
    assert diagnosis.ok, [f for f in diagnosis.findings if f.status != "ok"]
    assert "branch protection" in next(f.detail for f in diagnosis.findings if f.id == "no-force-push")


def test_a_badly_configured_repository_gets_a_fix_per_item(fake_github: FakeGitHub, client: GitHubClient) -> None:
    badly_configured(fake_github)
    diagnosis = run_doctor(client)
    findings = {f.id: f for f in diagnosis.findings}
    assert diagnosis.exit_code == 1
    assert _status(diagnosis) == {
        "required-checks": "missing", "pull-request": "ok", "dismiss-stale-reviews": "missing",
        "code-owner-review": "ok", "no-force-push": "missing", "no-deletion": "ok", "codeowners": "missing",
        "workflow-token-read-only": "missing", "actions-cannot-approve": "missing", "fork-pr-approval": "missing"}
    checks = findings["required-checks"]
    assert checks.detail.startswith("releasegate / validate, releasegate / approvals: required from any source")
    assert "commit status" in checks.detail
    assert "integration_id 15368" in str(checks.fix) and "repos/octo-org/gitops/rulesets" in str(checks.fix)
    owners = findings["codeowners"]
    assert owners.detail.startswith("CODEOWNERS: Unknown owner on line 2")
    assert "policies/any-folder/any-file.json has no owner" in owners.detail
    assert ".github/workflows/any-file.yaml has no owner" in owners.detail
    assert "Allow GitHub Actions to create and approve pull requests" in str(findings["actions-cannot-approve"].fix)
    assert findings["fork-pr-approval"].required is False
    for finding in diagnosis.findings:
        assert (finding.fix is None) == (finding.status == "ok"), finding


def test_settings_the_token_cannot_read_are_unknown_and_say_which_permission(
    fake_github: FakeGitHub, client: GitHubClient
) -> None:
    well_configured(fake_github)
    fake_github.branch_rules["main"] = []
    forbidden = {"message": "Resource not accessible by integration", "documentation_url": "https://docs.github.com"}
    for path in (r"/protection$", r"/actions/permissions/workflow$", r"/fork-pr-contributor-approval$"):
        fake_github.fail("GET", path, 403, body=forbidden)
    diagnosis = run_doctor(client)
    findings = {f.id: f for f in diagnosis.findings}
    assert findings["no-force-push"].status == "unknown" and "Administration: read" in str(findings["no-force-push"].fix)
    assert findings["workflow-token-read-only"].status == "unknown"
    assert findings["fork-pr-approval"].status == "unknown"
    assert findings["codeowners"].status == "ok" and diagnosis.exit_code == 1


def test_the_branch_is_the_default_unless_given(fake_github: FakeGitHub, client: GitHubClient) -> None:
    well_configured(fake_github)
    fake_github.default_branch = "trunk"
    fake_github.branches.add("trunk")
    assert run_doctor(client).branch == "trunk"
    assert run_doctor(client, "main").ok
    with pytest.raises(InputError) as info:
        run_doctor(client, "release/v2")
    assert "branch 'release/v2' does not exist in octo-org/gitops" in info.value.message
    assert fake_github.calls_to("GET", r"/branches/release%2Fv2$")


def test_an_unknown_repository_is_an_error_not_a_report(fake_github: FakeGitHub, client: GitHubClient) -> None:
    fake_github.repo = "octo-org/elsewhere"
    with pytest.raises(GitHubError) as info:
        run_doctor(client)
    assert "get repository octo-org/gitops: GitHub answered 404" in info.value.message
    assert "does not exist or the token cannot see it" in str(info.value.hint)
    fake_github.violations.clear()  # the fake has no route for a repository it does not host


@pytest.mark.parametrize(("path", "body", "field"), [
    (r"/rules/branches/main$", {"message": "not a list"}, "is not a list"),
    (r"/rules/branches/main$", [{"ruleset_id": 1}], "no usable `type`"),
    (r"/rules/branches/main$", [{"type": "pull_request", "parameters": {"required_approving_review_count": "two"}}],
     "no usable `required_approving_review_count`"),
    (r"/rules/branches/main$", [{"type": "required_status_checks", "parameters": {"required_status_checks": [7]}}],
     "required_status_checks[0]: GitHub's answer has no usable `context`"),
    (r"/actions/permissions/workflow$", {"default_workflow_permissions": "admin"}, "one of read, write"),
    (r"/actions/permissions/workflow$", b"<html>Bad gateway</html>", "no usable `default_workflow_permissions`"),
    (r"/contents/\.github/CODEOWNERS$", {"type": "file", "encoding": "base64", "content": "//79"},
     "base64-encoded UTF-8 text"),
    (r"/repos/octo-org/gitops$", [], "no usable `default_branch`"),
])
def test_garbage_answers_are_clear_errors(fake_github: FakeGitHub, client: GitHubClient, path: str, body: object,
                                          field: str) -> None:
    well_configured(fake_github)
    fake_github.fail("GET", path, 200, body=body)
    with pytest.raises(GitHubError) as info:
        run_doctor(client)
    assert field in info.value.message, info.value.message
    assert "GITHUB_API_URL" in str(info.value.hint)


def test_a_pull_request_without_approvals_is_not_enough(fake_github: FakeGitHub, client: GitHubClient) -> None:
    well_configured(fake_github)
    for rule in fake_github.branch_rules["main"]:
        if rule["type"] == "pull_request":
            rule["parameters"]["required_approving_review_count"] = 0
    (finding,) = [f for f in run_doctor(client).findings if f.id == "pull-request"]
    assert finding.status == "missing" and "a pull request is required, with 0 approvals" in finding.detail


def test_loose_checks_with_unreadable_protection_are_unknown(fake_github: FakeGitHub, client: GitHubClient) -> None:
    badly_configured(fake_github)
    del fake_github.protection["main"]
    fake_github.fail("GET", r"/protection$", 403, body={"message": "Resource not accessible by integration",
                                                        "documentation_url": "https://docs.github.com"})
    (finding,) = [f for f in run_doctor(client).findings if f.id == "required-checks"]
    assert finding.status == "unknown"
    assert finding.detail.startswith("by the rulesets, releasegate / validate: required from any source")
    assert "releasegate / approvals: not required" in finding.detail and "Administration: read" in str(finding.fix)
