"""The loadtest action's wiring: inputs to the load-test library's options, outputs, check run, comment.

The load test itself is the loadtest library's (tested with real tiny models there); here the
library is replaced by a recording stand-in so that this test needs no GPU, torch or locust.
"""
from __future__ import annotations

import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import releasegate
from releasegate.actions import loadtest as loadtest_action
from releasegate.actions import loadtest_permit
from releasegate.github.comment import marker
from tests.actions.conftest import ActionEnv
from tests.conftest import git
from tests.support.fake_github import Pull
from tests.support.github_events import pull_request_event


@dataclass(frozen=True)
class _Options:
    paths: tuple[str, ...] = ()
    root: Any = None
    base: str | None = None
    profile: str | None = None
    budget_seconds: float | None = None
    out_dir: Any = None
    device: str = "auto"
    no_baseline: bool = False
    plots: bool = True


@dataclass(frozen=True)
class _Result:
    exit_code: int


@pytest.fixture
def library(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seen: dict[str, Any] = {"exit_code": 1}
    module = types.ModuleType("releasegate.loadtest")
    report = types.ModuleType("releasegate.loadtest.reporters")

    def run_loadtest(options: _Options, progress: Any = None) -> _Result:
        seen["options"] = options
        progress("measuring")
        return _Result(seen["exit_code"])

    module.LoadTestOptions = _Options  # type: ignore[attr-defined]
    module.run_loadtest = run_loadtest  # type: ignore[attr-defined]
    module.report = report  # type: ignore[attr-defined]
    report.github = lambda result: "::error title=loadtest::p95 regressed\n"  # type: ignore[attr-defined]
    report.markdown = lambda result: "## load test\n\n| metric | candidate |\n|---|---|\n| p95 | 9 ms |\n"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "releasegate.loadtest", module)
    monkeypatch.setitem(sys.modules, "releasegate.loadtest.reporters", report)
    monkeypatch.setattr(releasegate, "loadtest", module, raising=False)  # `import a.b as c` reads a.b
    return seen


def _labelled_fork(action_env: ActionEnv, event_name: str = "pull_request_target") -> str:
    """A fork's pull request #9 whose head is the checked-out commit, labelled safe-to-loadtest."""
    head = git(action_env.repo, "rev-parse", "HEAD").strip()
    action_env.fake.add_pull(Pull(9, head_sha=head))
    action_env.fake.labels[9] = ["safe-to-loadtest"]
    action_env.event(event_name, pull_request_event("labeled", number=9, base_sha="b" * 40, head_sha=head,
                                                    labels=("safe-to-loadtest",), fork=True))
    return head


def test_inputs_reach_the_library_and_results_reach_the_pull_request(
    action_env: ActionEnv, library: dict[str, Any], tmp_path: Path
) -> None:
    _labelled_fork(action_env)
    action_env.env["RUNNER_TEMP"] = str(tmp_path)

    run = action_env.run(loadtest_action.main, profile="smoke", device="cpu", **{"budget_seconds": "120"})

    options = library["options"]
    assert (options.base, options.profile, options.device, options.budget_seconds) == ("b" * 40, "smoke", "cpu", 120.0)
    assert options.out_dir == tmp_path / "releasegate-loadtest"
    assert run.code == 1
    assert "[loadtest] measuring" in run.stdout and "::error title=loadtest::p95 regressed" in run.stdout
    assert (run.outputs["ok"], run.outputs["exit-code"]) == ("false", "1")
    assert run.outputs["result"] == str(tmp_path / "releasegate-loadtest" / "result.json")
    (check,) = action_env.fake.check_runs.values()
    assert (check["name"], check["conclusion"]) == ("releasegate / loadtest", "failure")
    (comment,) = action_env.fake.comments_on(9)
    assert comment["body"].startswith(marker("loadtest")) and "| p95 | 9 ms |" in comment["body"]


def test_bad_budget_is_exit_2_before_any_measurement(action_env: ActionEnv, library: dict[str, Any]) -> None:
    run = action_env.run(loadtest_action.main, budget_seconds="soon")
    assert run.code == 2 and "budget-seconds" in run.lines[-1]
    assert "options" not in library


def test_fork_with_read_only_token_keeps_the_verdict(action_env: ActionEnv, library: dict[str, Any]) -> None:
    library["exit_code"] = 0
    _labelled_fork(action_env, "pull_request")  # a fork's own pull_request run: read-only token
    action_env.fake.forbid_check_runs = True
    action_env.fake.fail("POST", r"/statuses/", 403, message="Resource not accessible by integration")
    action_env.fake.fail("POST", r"/comments$", 403, message="Resource not accessible by integration")
    run = action_env.run(loadtest_action.main)
    assert run.code == 0 and run.outputs["ok"] == "true"
    assert action_env.fake.comments == {}


def test_the_measuring_step_has_no_token_and_the_report_step_posts(
    action_env: ActionEnv, library: dict[str, Any], tmp_path: Path
) -> None:
    """As in actions/loadtest/action.yml: the models run in a step without GITHUB_TOKEN; another step reports."""
    from releasegate.actions import loadtest_report

    action_env.fake.add_pull(Pull(9, head_sha="a" * 40))
    action_env.event("pull_request", pull_request_event("labeled", number=9, base_sha="b" * 40, head_sha="a" * 40,
                                                        labels=("safe-to-loadtest",), fork=False))
    action_env.env["RUNNER_TEMP"] = str(tmp_path)
    token = action_env.env.pop("GITHUB_TOKEN")
    measured = action_env.run(loadtest_action.main)
    assert measured.code == 1 and action_env.fake.check_runs == {} and action_env.fake.comments_on(9) == []
    out = Path(measured.outputs["out"])
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.md").write_text("## load test\n\np95 regressed\n")  # what the real library writes there
    action_env.env.update(GITHUB_TOKEN=token, RELEASEGATE_LOADTEST_REPORT=str(out / "report.md"),
                          RELEASEGATE_LOADTEST_EXIT_CODE=measured.outputs["exit-code"])
    reported = action_env.run(loadtest_report.main)
    assert reported.code == 0
    (check,) = action_env.fake.check_runs.values()
    assert (check["name"], check["conclusion"]) == ("releasegate / loadtest", "failure")
    (comment,) = action_env.fake.comments_on(9)
    assert "p95 regressed" in comment["body"]


def test_the_report_step_without_a_measurement_is_exit_2(action_env: ActionEnv) -> None:
    from releasegate.actions import loadtest_report

    run = action_env.run(loadtest_report.main)
    assert run.code == 2 and "RELEASEGATE_LOADTEST_EXIT_CODE" in run.stdout


def test_the_permit_step_lets_the_labelled_commit_through(action_env: ActionEnv) -> None:
    """The first step of actions/loadtest/action.yml, with the token, before the measuring step."""
    head = _labelled_fork(action_env)
    run = action_env.run(loadtest_permit.main)
    assert run.code == 0 and run.lines[-1] == f"::notice title=releasegate loadtest::load test permitted for {head}"


def test_a_push_after_the_label_stops_the_run_before_the_model_loads(action_env: ActionEnv,
                                                                     library: dict[str, Any]) -> None:
    """A re-run of the labelled run after the fork pushed: its payload names the old head."""
    _labelled_fork(action_env)
    action_env.fake.pulls[9].head_sha = "c" * 40
    run = action_env.run(loadtest_permit.main)
    assert run.code == 2 and "moved after this event" in run.lines[-1]
    one_process = action_env.run(loadtest_action.main)  # `releasegate action loadtest`, token in hand
    assert one_process.code == 2 and "moved after this event" in one_process.lines[-1]
    assert "options" not in library and action_env.fake.check_runs == {}


@pytest.mark.parametrize("action", ["synchronize", "opened"])
def test_a_forks_event_without_the_label_is_refused(action_env: ActionEnv, action: str) -> None:
    head = git(action_env.repo, "rev-parse", "HEAD").strip()
    action_env.event("pull_request_target", pull_request_event(action, number=9, base_sha="b" * 40, head_sha=head,
                                                               labels=("safe-to-loadtest",), fork=True))
    run = action_env.run(loadtest_permit.main)
    assert run.code == 2 and "does not permit a load test" in run.lines[-1]


def test_the_checkout_must_be_the_labelled_commit(action_env: ActionEnv) -> None:
    _labelled_fork(action_env)
    git(action_env.repo, "commit", "-q", "--allow-empty", "-m", "a later commit than the labelled one")
    run = action_env.run(loadtest_permit.main)
    assert run.code == 2 and "the commit this event permits" in run.lines[-1]
