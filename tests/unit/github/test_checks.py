from __future__ import annotations

import pytest

from releasegate.errors import GitHubError
from releasegate.github.checks import Annotation, GateReport, publish_gate
from releasegate.github.client import GitHubClient
from tests.support.fake_github import FakeGitHub

SHA = "d" * 40


def _gate(ok: bool | None, annotations: int = 0) -> GateReport:
    notes = tuple(
        Annotation("environments/prod/releases/sentiment.yaml", i + 1, 3, "failure", "rule", f"message {i}")
        for i in range(annotations)
    )
    return GateReport("validate", ok, "2 violations", "## summary", notes)


def test_check_run_carries_conclusion_and_all_annotations_in_batches(
    fake_github: FakeGitHub, client: GitHubClient
) -> None:
    assert publish_gate(client, SHA, _gate(False, annotations=120)) == "check-run"
    (run,) = fake_github.check_runs.values()
    assert run["name"] == "releasegate / validate"
    assert (run["head_sha"], run["conclusion"]) == (SHA, "failure")
    assert len(run["annotations"]) == 120
    assert len(fake_github.calls_to("PATCH", r"/check-runs/\d+$")) == 2


def test_skipped_gate_is_neutral(fake_github: FakeGitHub, client: GitHubClient) -> None:
    publish_gate(client, SHA, _gate(None))
    assert [r["conclusion"] for r in fake_github.check_runs.values()] == ["neutral"]


def test_forbidden_check_runs_fall_back_on_commit_status(fake_github: FakeGitHub, client: GitHubClient) -> None:
    fake_github.forbid_check_runs = True
    assert publish_gate(client, SHA, _gate(True)) == "status"
    assert fake_github.statuses == [
        {"state": "success", "context": "releasegate / validate", "description": "2 violations", "sha": SHA}
    ]


def test_forbidden_status_too_is_a_clear_error(fake_github: FakeGitHub, client: GitHubClient) -> None:
    fake_github.forbid_check_runs = True
    fake_github.fail("POST", r"/statuses/", 403, message="Resource not accessible by integration")
    with pytest.raises(GitHubError, match="fallback after 403"):
        publish_gate(client, SHA, _gate(True))


def test_server_error_on_check_run_is_not_mistaken_for_forbidden(
    fake_github: FakeGitHub, client: GitHubClient
) -> None:
    fake_github.fail("POST", r"/check-runs$", 500, times=5)
    with pytest.raises(GitHubError, match="answered 500 after 3 attempts"):
        publish_gate(client, SHA, _gate(True))
    assert fake_github.statuses == []
