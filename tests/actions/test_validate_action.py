"""The validate action end to end: real (derived) webhook payloads, a real Git checkout,
and the GitHub client talking to the loopback server that checks GitHub's OpenAPI description."""
from __future__ import annotations

import json
from pathlib import Path

from releasegate.github.comment import marker
from tests.actions.conftest import ActionEnv, commit_change
from tests.support.fake_github import Pull
from tests.support.github_events import merge_group_event, pull_request_event, review_event
from tests.support.github_fixtures import example

STAGING = "environments/staging/releases/sentiment.yaml"
MARK = marker("validate")


def _staging_edit(repo: Path, old: str, new: str) -> dict[str, str]:
    text = (repo / STAGING).read_text()
    assert old in text
    return {STAGING: text.replace(old, new, 1)}


def _open_pr(action_env: ActionEnv, edits: dict[str, str], action: str = "opened", **kwargs: object) -> tuple[str, str]:
    base, head = commit_change(action_env.repo, "release", edits)
    action_env.fake.add_pull(Pull(7, author="Codertocat", head_sha=head, base_sha=base))
    action_env.event("pull_request", pull_request_event(action, number=7, base_sha=base, head_sha=head, **kwargs))
    return base, head


def test_valid_pull_request_passes_comments_once_and_reports_checks(action_env: ActionEnv) -> None:
    _, head = _open_pr(action_env, _staging_edit(action_env.repo, "replicas: 1", "replicas: 3"),
                       title="Bump replicas <img src=x> @everyone")
    run = action_env.run()

    assert run.code == 0, run.stdout
    assert run.outputs["ok"] == "true"
    assert json.loads(run.outputs["checked"]) == [STAGING]
    assert json.loads(run.outputs["environments"]) == ["staging"]
    assert (run.outputs["approved"], run.outputs["required-approvals"]) == ("false", "1")
    (comment,) = action_env.fake.comments_on(7)
    assert comment["body"].startswith(MARK)
    assert "&lt;img src=x&gt;" in comment["body"] and "<img" not in comment["body"]
    assert "&#64;everyone" in comment["body"]
    runs = {r["name"]: r for r in action_env.fake.check_runs.values()}
    assert runs["releasegate / validate"]["conclusion"] == "success"
    assert runs["releasegate / approvals"]["conclusion"] == "failure"
    assert {r["head_sha"] for r in runs.values()} == {head}
    assert action_env.fake.labels[7] == ["release/staging"]
    assert "releasegate ✅ passed" not in run.summary  # approvals still missing
    assert "0 of 1 required approvals" in run.summary


def test_violation_fails_with_annotation_on_the_exact_line(action_env: ActionEnv) -> None:
    edits = _staging_edit(action_env.repo, "replicas: 1", "replicas: many")
    _open_pr(action_env, edits)
    line = edits[STAGING].splitlines().index("    replicas: many") + 1

    run = action_env.run()

    assert run.code == 1
    assert run.outputs["ok"] == "false" and int(run.outputs["violations"]) >= 1
    errors = [x for x in run.lines if x.startswith("::error ")]
    assert any(x.startswith(f"::error file={STAGING},line={line},col=") for x in errors), errors
    (check,) = [r for r in action_env.fake.check_runs.values() if r["name"] == "releasegate / validate"]
    assert check["conclusion"] == "failure"
    assert any(a["start_line"] == line for a in check["annotations"])


def test_new_push_updates_the_same_comment_and_revokes_the_load_test_label(action_env: ActionEnv) -> None:
    _open_pr(action_env, _staging_edit(action_env.repo, "replicas: 1", "replicas: many"))
    assert action_env.run().code == 1
    action_env.fake.labels[7] = ["safe-to-loadtest"]
    base, head = commit_change(action_env.repo, "release", _staging_edit(action_env.repo, "replicas: many", "replicas: 4"))
    action_env.fake.pulls[7].head_sha = head
    action_env.event("pull_request", pull_request_event("synchronize", number=7, base_sha=action_env.fake.pulls[7].base_sha,
                                                        head_sha=head, labels=("safe-to-loadtest",)))

    run = action_env.run()

    assert run.code == 0, run.stdout
    (comment,) = action_env.fake.comments_on(7)
    assert "### Validation ✅ passed" in comment["body"]
    assert "safe-to-loadtest" not in action_env.fake.labels[7]


def test_approved_review_event_re_evaluates_approvals(action_env: ActionEnv) -> None:
    base, head = _open_pr(action_env, _staging_edit(action_env.repo, "replicas: 1", "replicas: 3"))
    action_env.fake.add_review(7, "Codertocat", "APPROVED", head, "2026-11-20T10:00:00Z")  # the author
    action_env.event("pull_request_review", review_event(
        "submitted", "approved", number=7, base_sha=base, head_sha=head, reviewer="octo-reviewer", review_id=99,
    ))

    run = action_env.run(approvals="require")

    assert run.code == 0, run.stdout
    assert (run.outputs["approved"], run.outputs["approvals"]) == ("true", "1")
    approvals = [r for r in action_env.fake.check_runs.values() if r["name"] == "releasegate / approvals"]
    assert [r["conclusion"] for r in approvals] == ["success"]


def test_required_approvals_fail_the_step(action_env: ActionEnv) -> None:
    _open_pr(action_env, _staging_edit(action_env.repo, "replicas: 1", "replicas: 3"))
    run = action_env.run(approvals="require")
    assert run.code == 1
    assert run.outputs["ok"] == "false" and run.outputs["approved"] == "false"


def test_merge_group_validates_the_merged_result_without_pr_calls(action_env: ActionEnv) -> None:
    base, head = commit_change(action_env.repo, "queue", _staging_edit(action_env.repo, "replicas: 1", "replicas: many"))
    action_env.event("merge_group", merge_group_event(base, head))

    run = action_env.run()

    assert run.code == 1
    runs = {r["name"]: r for r in action_env.fake.check_runs.values()}
    assert {r["head_sha"] for r in runs.values()} == {head}
    assert runs["releasegate / validate"]["conclusion"] == "failure"
    assert runs["releasegate / approvals"]["conclusion"] == "success"
    assert action_env.fake.calls_to("GET", r"/reviews$") == [] and action_env.fake.comments == {}


def test_fork_pull_request_with_read_only_token_reports_in_the_job_only(action_env: ActionEnv) -> None:
    _open_pr(action_env, _staging_edit(action_env.repo, "replicas: 1", "replicas: 3"), fork=True)
    action_env.fake.forbid_check_runs = True
    for method, path in (("POST", r"/statuses/"), ("POST", r"/comments$"), ("POST", r"/labels$")):
        action_env.fake.fail(method, path, 403, times=5, message="Resource not accessible by integration")

    run = action_env.run()

    assert run.code == 0, run.stdout
    assert action_env.fake.comments == {}
    assert sum(line.startswith("::warning ") for line in run.lines) == 3
    assert "read-only" in run.summary


def test_three_thousand_changed_files_come_from_git_not_the_capped_api(action_env: ActionEnv) -> None:
    edits = {f"docs/notes/n{i}.md": f"{i}\n" for i in range(3000)}
    edits.update(_staging_edit(action_env.repo, "replicas: 1", "replicas: 3"))
    _open_pr(action_env, edits)
    action_env.fake.pulls[7].changed_files = 3001

    run = action_env.run()

    assert run.code == 0, run.stdout
    assert len(json.loads(run.outputs["changed-files"])) == 3001
    assert json.loads(run.outputs["checked"]) == [STAGING]
    assert action_env.fake.calls_to("GET", r"/files$") == []
    assert len(action_env.fake.comments_on(7)) == 1


def test_missing_token_names_the_variable_and_writes_a_fix(action_env: ActionEnv) -> None:
    _open_pr(action_env, _staging_edit(action_env.repo, "replicas: 1", "replicas: 3"))
    del action_env.env["GITHUB_TOKEN"]

    run = action_env.run()

    assert run.code == 2
    assert run.lines[-1].startswith("::error title=releasegate validate::")
    assert "GITHUB_TOKEN" in run.lines[-1]
    assert "**What happened:**" in run.summary and "**How to fix it:**" in run.summary
    assert action_env.fake.calls == []


def test_without_github_reporting_no_token_is_needed(action_env: ActionEnv) -> None:
    _open_pr(action_env, _staging_edit(action_env.repo, "replicas: 1", "replicas: 3"))
    del action_env.env["GITHUB_TOKEN"]
    run = action_env.run(comment="false", checks="false", labels="false", approvals="off")
    assert run.code == 0 and action_env.fake.calls == []


def test_truncated_event_file_is_exit_2(action_env: ActionEnv) -> None:
    action_env.event("pull_request", example("pull_request", "opened"))
    path = Path(action_env.env["GITHUB_EVENT_PATH"])
    path.write_text(path.read_text()[:500])
    run = action_env.run()
    assert run.code == 2
    assert "not valid JSON" in run.lines[-1] and "truncated" in run.lines[-1]
    assert action_env.fake.calls == []


def test_unhandled_event_type_is_exit_2(action_env: ActionEnv) -> None:
    action_env.event("issues", example("issues"))
    run = action_env.run()
    assert run.code == 2 and "does not handle the event type 'issues'" in run.lines[-1]


def test_github_500_on_comment_is_exit_2_and_leaves_no_comment(action_env: ActionEnv) -> None:
    _open_pr(action_env, _staging_edit(action_env.repo, "replicas: 1", "replicas: 3"))
    action_env.fake.fail("POST", r"/comments$", 500, times=10)
    run = action_env.run()
    assert run.code == 2
    assert "answered 500 after 4 attempts" in run.lines[-1]
    assert action_env.fake.comments == {}


def test_github_422_and_404_are_exit_2(action_env: ActionEnv) -> None:
    _open_pr(action_env, _staging_edit(action_env.repo, "replicas: 1", "replicas: 3"))
    action_env.fake.fail("POST", r"/check-runs$", 422, message="Validation Failed")
    assert action_env.run().code == 2
    action_env.fake.fail("GET", r"/reviews$", 404, message="Not Found")
    run = action_env.run()
    assert run.code == 2 and "list reviews of #7: GitHub answered 404" in run.lines[-1]
    assert len(action_env.fake.comments_on(7)) == 0


def test_bad_input_value_is_exit_2(action_env: ActionEnv) -> None:
    run = action_env.run(approvals="maybe")
    assert run.code == 2 and "input approvals (RELEASEGATE_APPROVALS)" in run.lines[-1]


def test_push_of_a_new_branch_validates_everything(action_env: ActionEnv) -> None:
    payload = example("push")
    payload["before"], payload["after"] = "0" * 40, "c" * 40
    action_env.event("push", payload)
    run = action_env.run(checks="false")
    assert run.code == 0, run.stdout
    assert len(json.loads(run.outputs["checked"])) == 8


def test_merged_pull_request_event_is_not_a_gate_event(action_env: ActionEnv) -> None:
    from tests.support.github_events import merged_event

    action_env.event("pull_request", merged_event(number=7, base_sha="b" * 40, head_sha="a" * 40, merge_sha="c" * 40))
    run = action_env.run()
    assert run.code == 2
    assert "does not handle pull_request events with action 'closed'" in run.lines[-1]
    assert action_env.fake.calls == []
