"""The render action: writes manifests, and as a check fails on drift with a diff and a check run."""
from __future__ import annotations

import json

from releasegate.actions import render as render_action
from tests.actions.conftest import ActionEnv
from tests.conftest import git
from tests.support.fake_github import Pull
from tests.support.github_events import pull_request_event

# The example repository keeps the placeholders of the shipped policies/render.yaml (docs/render.md).
PLACEHOLDERS = {"allow_placeholders": "true"}


def _render_all(action_env: ActionEnv) -> list[str]:
    run = action_env.run(render_action.main, check="false", checks="false", **PLACEHOLDERS)
    assert run.code == 0, run.stdout
    git(action_env.repo, "add", "-A")
    git(action_env.repo, "commit", "-q", "-m", "render")
    return json.loads(run.outputs["written"])


def test_writes_then_finds_no_drift(action_env: ActionEnv) -> None:
    written = _render_all(action_env)
    assert any(p.startswith("environments/prod/manifests/") for p in written)

    run = action_env.run(render_action.main, checks="false", **PLACEHOLDERS)

    assert run.code == 0
    assert (run.outputs["ok"], run.outputs["drift"]) == ("true", "0")
    assert "up to date" in run.summary


def test_drift_fails_with_annotation_diff_and_check_run(action_env: ActionEnv) -> None:
    written = _render_all(action_env)
    target = next(p for p in written if p.startswith("environments/prod/manifests/") and "sentiment" in p)
    path = action_env.repo / target
    path.write_text(path.read_text().replace("replicas: 3", "replicas: 30", 1) + "# ```` hand edit\n")
    git(action_env.repo, "commit", "-q", "-am", "hand edit")
    head = git(action_env.repo, "rev-parse", "HEAD").strip()
    action_env.fake.add_pull(Pull(8, head_sha=head))
    action_env.event("pull_request", pull_request_event("synchronize", number=8, base_sha="b" * 40, head_sha=head))

    run = action_env.run(render_action.main, **PLACEHOLDERS)

    assert run.code == 1
    assert json.loads(run.outputs["drifted-files"]) == [target]
    assert f"::error file={target},title=render drift::" in run.stdout
    assert "`````diff" in run.summary  # the fence is longer than the backticks inside the diff
    (check,) = action_env.fake.check_runs.values()
    assert (check["name"], check["conclusion"], check["head_sha"]) == ("releasegate / render", "failure", head)


def test_placeholders_fail_the_action_naming_each_setting(action_env: ActionEnv) -> None:
    run = action_env.run(render_action.main, check="false", checks="false")
    assert run.code == 1
    assert "::error title=releasegate render::" in run.stdout
    assert "repository.url: 'https://git.example.com/ml/releasegate.git'" in run.stdout
    assert "gateway.hostnames" in run.stdout and "--allow-placeholders" in run.stdout
    assert not (action_env.repo / "environments/prod/manifests/sentiment.yaml").exists() or git(
        action_env.repo, "status", "--porcelain") == ""
