"""``releasegate doctor`` in-process against the OpenAPI-checking fake GitHub."""
from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.acceptance.cli import Outcome, run_cli
from tests.support.fake_github import FakeGitHub, serving
from tests.support.repo_settings import badly_configured, well_configured


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    with serving(monkeypatch, GITHUB_REPOSITORY=None) as server:
        yield server


def _doctor(capsys: pytest.CaptureFixture[str], *extra: str) -> Outcome:
    return run_cli(capsys, "doctor", "--repo", "octo-org/gitops", *extra)


def test_a_well_configured_repository_is_exit_0(capsys: pytest.CaptureFixture[str], fake: FakeGitHub) -> None:
    well_configured(fake)
    outcome = _doctor(capsys)
    assert outcome.code == 0, outcome.out + outcome.err
    assert outcome.out.startswith("releasegate doctor: octo-org/gitops, branch main\n")
    assert "  ok       required-checks: " in outcome.out and "MISSING" not in outcome.out
    assert outcome.out.endswith("BINDING: all 9 required settings are in place\n")


def test_a_badly_configured_repository_is_exit_1_with_a_fix_per_item(capsys: pytest.CaptureFixture[str],
                                                                     fake: FakeGitHub) -> None:
    badly_configured(fake)
    outcome = _doctor(capsys)
    assert outcome.code == 1 and outcome.err == ""
    assert "  MISSING  required-checks: " in outcome.out and "  warning  fork-pr-approval: " in outcome.out
    assert outcome.out.count("           fix: ") == 7
    assert "NOT BINDING: 6 of 9 required settings missing or unreadable" in outcome.out


def test_extra_checks_and_paths(capsys: pytest.CaptureFixture[str], fake: FakeGitHub) -> None:
    well_configured(fake)
    outcome = _doctor(capsys, "--check", "releasegate / render", "--check", "releasegate / loadtest",
                      "--owned", "environments/staging/", "--format", "json")
    findings = {f["id"]: f for f in json.loads(outcome.out)["findings"]}
    assert outcome.code == 1
    assert findings["required-checks"]["detail"] == "releasegate / loadtest: not required"
    assert "environments/staging/any-file.yaml has no owner" in findings["codeowners"]["detail"]


def test_no_token_is_exit_2_naming_the_variable(capsys: pytest.CaptureFixture[str], fake: FakeGitHub,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    monkeypatch.delenv("GH_TOKEN", raising=False)
    outcome = _doctor(capsys)
    assert outcome.code == 2 and "GITHUB_TOKEN" in outcome.err and fake.calls == []


@pytest.mark.parametrize(("args", "message"), [
    (("--repo", "octo-org"), "is not of the form owner/name"),
    (("--repo", "octo-org/other"), "get repository octo-org/other: GitHub answered 404"),
    (("--repo", "octo-org/gitops", "--branch", "nope"), "branch 'nope' does not exist in octo-org/gitops"),
    ((), "Missing option '--repo'"),
])
def test_bad_input_is_exit_2(capsys: pytest.CaptureFixture[str], fake: FakeGitHub, args: tuple[str, ...],
                             message: str) -> None:
    outcome = run_cli(capsys, "doctor", *args)
    assert outcome.code == 2 and message in outcome.err, outcome.err
    assert "Traceback" not in outcome.err
    fake.violations.clear()  # the fake hosts one repository: others have no route


def test_a_garbage_answer_is_one_clear_line(capsys: pytest.CaptureFixture[str], fake: FakeGitHub) -> None:
    well_configured(fake)
    fake.fail("GET", r"/rules/branches/main$", 200, body=b"<html><body>Sign in to your proxy</body></html>")
    outcome = _doctor(capsys)
    assert outcome.code == 2 and "Traceback" not in outcome.err
    assert outcome.err.startswith("error: get rules for branch main: GitHub's answer is not a list")
    assert "hint: " in outcome.err and "GITHUB_API_URL" in outcome.err


def test_a_bad_token_is_exit_2(capsys: pytest.CaptureFixture[str], fake: FakeGitHub) -> None:
    fake.fail("GET", r"/repos/octo-org/gitops$", 401, message="Bad credentials")
    outcome = _doctor(capsys)
    assert outcome.code == 2 and "GitHub answered 401: Bad credentials" in outcome.err
