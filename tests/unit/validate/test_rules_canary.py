"""The canary rules of validate (canary-step, canary-hold, and what abort is judged as), on the story.

At the story's HEAD prod is idle at 1.0.0 (steps 10/50/100 %, 60 min each) and staging runs 1.1.0;
``canary`` lands a canary of 1.1.0 at 10 % beside 1.0.0 on Monday 2026-01-12 at 00:00.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from releasegate import history
from releasegate.layout import RepoLayout
from releasegate.release import load_release
from tests.gitrepo import Repo, path, release
from tests.unit.history.conftest import build_story
from tests.unit.validate.test_rules_history import check, rules

PROD = path("prod", "sentiment")
LANDED = "2026-01-12T00:00:00Z"
LATER = datetime.fromisoformat("2026-01-14T12:00:00+00:00")  # a Wednesday: no freeze window


@pytest.fixture
def story(tmp_path: Path) -> Repo:
    return build_story(tmp_path / "story")


def canary(repo: Repo) -> None:
    repo.commit("Promote sentiment 1.1.0 to prod (#10)", LANDED,
                {PROD: release("sentiment", "1.1.0", env="prod", stable="1.0.0")})


def step(weight: int, **more: str) -> dict[str, str]:
    return {PROD: release("sentiment", "1.1.0", env="prod", stable="1.0.0", weight=weight, **more)}


def test_an_advance_by_one_step_after_the_hold_passes(story: Repo) -> None:
    canary(story)
    assert check(story, step(50), now=LATER) == []


def test_an_advance_skipping_a_step_is_refused(story: Repo) -> None:
    canary(story)
    found = check(story, step(100), now=LATER)
    assert found == [("canary-step", "an advance moves exactly one step: the canary is at 10 %, the next step is "
                                     "50 %, not 100 %")]


def test_an_advance_before_the_hold_is_refused_with_the_time(story: Repo) -> None:
    canary(story)
    found = check(story, step(50), now=datetime.fromisoformat("2026-01-12T00:30:00+00:00"))
    assert rules(found) == ["canary-hold"]
    assert "landed at 2026-01-12T00:00:00Z" in found[0][1] and "until 2026-01-12T01:00:00Z" in found[0][1]


def test_a_new_canary_starts_at_the_first_step(story: Repo) -> None:
    found = check(story, step(50), now=LATER)
    assert found == [("canary-step", "a new canary starts at the first step (10 %), not 50 %")]


def test_a_new_version_skipping_the_canary_is_refused(story: Repo) -> None:
    found = check(story, {PROD: release("sentiment", "1.1.0", env="prod")}, now=LATER)
    assert rules(found) == ["canary-step"] and "enters with no canary running" in found[0][1]


def test_no_new_version_while_a_canary_runs(story: Repo) -> None:
    canary(story)
    story.commit("Promote sentiment 1.2.0 to staging (#11)", "2026-01-12T00:10:00Z",
                 {path("staging", "sentiment"): release("sentiment", "1.2.0")})
    found = check(story, {PROD: release("sentiment", "1.2.0", env="prod", stable="1.1.0")}, now=LATER)
    assert "canary-step" in rules(found)
    assert "a canary of sentiment 1.1.0 is running in prod (canary step 1/3 (10 %)): 1.2.0 may enter only after" \
        in dict(found)["canary-step"]


def test_a_canary_completes_from_its_last_step_only(story: Repo) -> None:
    canary(story)
    found = check(story, {PROD: release("sentiment", "1.1.0", env="prod")}, now=LATER)
    assert rules(found) == ["canary-step"] and "completes from its last step (100 %)" in found[0][1]


def test_the_steps_of_a_running_canary_stay(story: Repo) -> None:
    canary(story)
    quicker = release("sentiment", "1.1.0", env="prod", stable="1.0.0").replace("holdMinutes: 60}", "holdMinutes: 1}")
    found = check(story, {PROD: quicker}, now=LATER)
    assert found == [("canary-step", "the steps of the running canary of sentiment 1.1.0 in prod changed")]


def test_a_continuing_canary_keeps_the_stable_it_started_beside(story: Repo) -> None:
    canary(story)
    moved = release("sentiment", "1.1.0", env="prod", stable="1.1.0", weight=50)
    assert "stable-is-live" in rules(check(story, {PROD: moved}, now=LATER))


def test_an_abort_that_restores_the_file_live_before_is_a_rollback(story: Repo) -> None:
    canary(story)
    assert check(story, {PROD: release("sentiment", "1.0.0", env="prod")}, now=LATER) == []
    layout = RepoLayout(story.root)
    assert history.is_rollback(layout, load_release(layout, story.root / PROD))  # the fast path


def test_an_abort_that_changes_more_is_judged_as_a_change_not_a_downgrade(story: Repo) -> None:
    canary(story)
    assert check(story, {PROD: release("sentiment", "1.0.0", env="prod", replicas=3)}, now=LATER) == []
    layout = RepoLayout(story.root)
    assert not history.is_rollback(layout, load_release(layout, story.root / PROD))
    # ...so the freeze window applies to it, as to any change.
    saturday = datetime.fromisoformat("2026-01-17T12:00:00+00:00")
    assert rules(check(story, {PROD: release("sentiment", "1.0.0", env="prod", replicas=3)}, now=saturday)) == [
        "freeze-window"]


def test_loosening_the_rollout_policy_is_reported_as_a_weakening() -> None:
    from dataclasses import replace

    from releasegate.policy import EnvironmentPolicy, PolicyPack, RollbackPolicy, RolloutPolicy
    from releasegate.validate.policy_change import pack_weakenings

    def pack(rollout: RolloutPolicy) -> PolicyPack:
        return PolicyPack("p", (EnvironmentPolicy("prod", rollout=rollout),), RollbackPolicy(), {})

    strict = RolloutPolicy(require_steps=True, min_steps=3, require_analysis=True)
    assert pack_weakenings(pack(strict), pack(replace(strict, min_steps=4))) == []
    assert pack_weakenings(pack(strict), pack(RolloutPolicy())) == [
        "prod: rollout.requireSteps turned off (canaries without steps)",
        "prod: rollout.minSteps lowered from 3 to 0",
        "prod: rollout.requireAnalysis turned off (canaries move on by their hold alone)"]
