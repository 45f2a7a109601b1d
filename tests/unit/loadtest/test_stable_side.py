"""The load test sees a canary's stable side: a changed stable is a deploy change, a foreign one an error."""
from __future__ import annotations

from releasegate.loadtest.release_setup import stable_problem, unchanged
from releasegate.release import parse_release
from tests.gitrepo import path, release

PROD = path("prod", "sentiment")


def _prod(version: str, stable: str = "0.9.0") -> object:
    return parse_release(release("sentiment", version, env="prod", stable=stable).encode(), PROD)


def test_a_stable_side_door_is_an_error_not_an_unchanged_model() -> None:
    baseline = _prod("1.1.0", stable="0.9.0")
    door = _prod("1.1.0", stable="6.6.6")  # same model block, another stable: the hostile PR
    assert not unchanged(door, baseline)  # type: ignore[arg-type]
    problem = stable_problem(door, baseline)  # type: ignore[arg-type]
    assert problem is not None and "spec.rollout.stable (6.6.6) is not the model live at the base (1.1.0, 0.9.0)" in problem


def test_a_canary_beside_the_live_model_has_no_stable_problem() -> None:
    live = _prod("1.0.0", stable="0.9.0")
    canary = _prod("1.1.0", stable="1.0.0")  # 1.0.0 is live as the model: it becomes the stable side
    assert stable_problem(canary, live) is None  # type: ignore[arg-type]
    assert stable_problem(_prod("1.1.0", stable="0.9.0"), live) is None  # type: ignore[arg-type]  # canary continues
    assert unchanged(live, live)  # type: ignore[arg-type]
