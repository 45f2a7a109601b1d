"""The permit action (pull_request_target) and the loadtest action's own permit check, with real
payloads and the OpenAPI-checked fake GitHub: a push to a fork's pull request withdraws the
maintainer's `safe-to-loadtest`, although that fork's own runs cannot touch labels."""
from __future__ import annotations

import pytest

from releasegate.actions import permit as permit_action
from tests.actions.conftest import ActionEnv
from tests.support.fake_github import Pull
from tests.support.github_events import pull_request_event

LABEL = "safe-to-loadtest"
BASE, X, Y = "b" * 40, "1" * 40, "2" * 40


def _event(env: ActionEnv, action: str, head: str, *, labels: tuple[str, ...] = (), label: str | None = None,
           name: str = "pull_request_target", fork: bool = True) -> None:
    env.event(name, pull_request_event(action, number=9, base_sha=BASE, head_sha=head, fork=fork, labels=labels,
                                       label=label))


def test_label_then_push_then_stale_rerun_then_label_again(action_env: ActionEnv) -> None:
    fake = action_env.fake
    fake.add_pull(Pull(9, head_sha=X, base_sha=BASE))
    fake.labels[9] = [LABEL]

    _event(action_env, "labeled", X, labels=(LABEL,), label=LABEL)
    granted = action_env.run(permit_action.main)
    assert granted.code == 0, granted.stdout
    assert granted.outputs == {"granted": "true", "sha": X, "revoked": "false", "reason": granted.outputs["reason"]}
    assert granted.lines[-1].startswith(f"::notice title=releasegate permit::load test permitted for {X}")

    fake.pulls[9].head_sha = Y  # the fork pushes; GitHub keeps the label
    _event(action_env, "synchronize", Y, labels=(LABEL,))
    pushed = action_env.run(permit_action.main)
    assert pushed.code == 0 and (pushed.outputs["granted"], pushed.outputs["sha"], pushed.outputs["revoked"]) == (
        "false", "", "true")
    assert fake.labels[9] == [] and "Removed" in pushed.summary

    _event(action_env, "labeled", X, labels=(LABEL,), label=LABEL)  # "Re-run jobs" of the first run
    fake.labels[9] = [LABEL]  # even if the label were back: the permit was for X
    stale = action_env.run(permit_action.main)
    assert stale.code == 2 and stale.outputs == {}
    assert "moved after this event" in stale.lines[-1] and "How to fix it" in stale.summary

    _event(action_env, "labeled", Y, labels=(LABEL,), label=LABEL)  # reviewed Y, labelled again
    again = action_env.run(permit_action.main)
    assert (again.code, again.outputs["granted"], again.outputs["sha"]) == (0, "true", Y)


def test_a_fork_without_the_label_gets_no_permit_and_no_request(action_env: ActionEnv) -> None:
    _event(action_env, "opened", X)
    run = action_env.run(permit_action.main)
    assert run.code == 0 and run.outputs["granted"] == "false" and "only when a maintainer adds" in run.outputs["reason"]
    assert action_env.fake.calls == []


def test_revoking_from_a_forks_read_only_run_fails_loudly(action_env: ActionEnv) -> None:
    """Wired to `pull_request` instead of `pull_request_target`, the fork's token cannot remove the
    label: that is an error naming the permission, not a skipped step."""
    action_env.fake.fail("DELETE", r"/labels/", 403, message="Resource not accessible by integration")
    _event(action_env, "synchronize", Y, labels=(LABEL,), name="pull_request")
    run = action_env.run(permit_action.main)
    assert run.code == 2 and "403" in run.lines[-1] and "permissions" in run.lines[-1]


@pytest.mark.parametrize(("label", "fix"), [("", "set `label:`"), (LABEL, "pull_request_target")])
def test_bad_input_is_exit_2(action_env: ActionEnv, label: str, fix: str) -> None:
    run = action_env.run(permit_action.main, label=label)
    assert run.code == 2 and fix in run.lines[-1]
