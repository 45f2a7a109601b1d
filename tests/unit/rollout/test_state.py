"""Where a release stands in its rollout, read from the file alone, and what is wrong with its steps."""
from __future__ import annotations

from typing import Any

import pytest

from releasegate.rollout.state import ABORTED, IDLE, ROLLING, RUNNING, Step, read_rollout, rollout_problems

STEPS = [{"weight": 5, "holdMinutes": 30}, {"weight": 25, "holdMinutes": 60}, {"weight": 100, "holdMinutes": 0}]


def data(**rollout: Any) -> dict[str, Any]:
    return {"spec": {"model": {"version": "1.0.0"}, "rollout": rollout}}


@pytest.mark.parametrize(("rollout", "phase", "described"), [
    ({"strategy": "rolling"}, ROLLING, "rolling"),
    ({"strategy": "canary", "steps": STEPS}, IDLE, "idle"),
    ({"strategy": "canary", "steps": STEPS, "canaryPercent": 25}, RUNNING, "canary step 2/3 (25 %)"),
    ({"strategy": "canary", "steps": STEPS, "canaryPercent": 0}, ABORTED, "canary aborted (0 %)"),
    ({"strategy": "canary", "canaryPercent": 10}, RUNNING, "canary 10 % (no steps)"),
])
def test_phases(rollout: dict[str, Any], phase: str, described: str) -> None:
    state = read_rollout(data(**rollout))
    assert state.phase == phase and state.describe() == described


def test_steps_and_the_next_one() -> None:
    state = read_rollout(data(strategy="canary", steps=STEPS, canaryPercent=5, stable={"version": "0.9.0"}))
    assert state.steps == (Step(5, 30.0), Step(25, 60.0), Step(100, 0.0))
    assert state.step == Step(5, 30.0) and state.next_step == Step(25, 60.0) and not state.at_last_step
    assert state.stable_version == "0.9.0"
    last = read_rollout(data(strategy="canary", steps=STEPS, canaryPercent=100))
    assert last.at_last_step and last.next_step is None


def test_reading_is_lenient() -> None:
    assert read_rollout(None).phase == ROLLING
    odd = read_rollout({"spec": {"rollout": {"strategy": "canary", "canaryPercent": True, "steps": [{"weight": "x"}]}}})
    assert odd.weight is None and odd.steps == () and odd.phase == IDLE


def messages(**rollout: Any) -> list[tuple[str, str]]:
    return [(".".join(map(str, p.path)), p.message) for p in rollout_problems(data(**rollout))]


def test_good_steps_have_no_problems() -> None:
    assert messages(strategy="canary", steps=STEPS, canaryPercent=25) == []
    assert messages(strategy="canary", steps=STEPS) == []
    assert messages(strategy="canary", steps=STEPS, canaryPercent=0) == []
    assert messages(strategy="canary", canaryPercent=10) == []


def test_steps_must_ascend_and_end_at_100() -> None:
    found = messages(strategy="canary", steps=[{"weight": 50, "holdMinutes": 1}, {"weight": 25, "holdMinutes": 1},
                                               {"weight": 90, "holdMinutes": 1}])
    assert found == [("spec.rollout.steps.1.weight", "steps must be ascending: step 2 (25 %) is not above step 1 (50 %)"),
                     ("spec.rollout.steps.2.weight", "the last step is 90 %, but steps must end at 100")]


def test_the_current_weight_must_be_a_step() -> None:
    assert messages(strategy="canary", steps=STEPS, canaryPercent=30) == [
        ("spec.rollout.canaryPercent", "canaryPercent 30 is not one of the steps (5 %, 25 %, 100 %)")]
    assert messages(strategy="canary", canaryPercent=100) == [
        ("spec.rollout.canaryPercent", "canaryPercent 100 needs steps (a canary without steps takes 1-99 %)")]


def test_stable_belongs_to_a_running_canary() -> None:
    assert messages(strategy="canary", steps=STEPS, stable={"version": "1.0.0"}) == [
        ("spec.rollout.stable", "spec.rollout.stable is set but no canary is running")]
