"""Load profiles: built-ins, policy overrides, `extends`, choice order, budget scaling."""
from __future__ import annotations

import pytest

from releasegate.errors import ConfigError
from releasegate.loadtest.profiles import BUILTIN, choose, declared, scaled_to_budget, to_dict


def test_builtins_exist_and_smoke_fits_a_minute() -> None:
    assert {"smoke", "standard", "sweep", "open"} <= set(BUILTIN)
    assert BUILTIN["smoke"].estimate_seconds(2) + 15 <= 60  # + model loads on a CPU


def test_policy_overrides_a_builtin_and_declares_new_ones() -> None:
    profiles = declared({"loadTestProfiles": {
        "smoke": {"phaseSeconds": 6},
        "mine": {"extends": "smoke", "concurrency": [2, 8], "sloSearch": {"steps": 1}},
        "heavy": {"arrivalRateFractions": [0.9]},
    }})
    assert profiles["smoke"].phase_seconds == 6 and profiles["smoke"].concurrency == (1, 4)
    assert profiles["mine"].phase_seconds == 6 and profiles["mine"].concurrency == (2, 8)
    assert profiles["mine"].slo_search.enabled and profiles["mine"].slo_search.steps == 1
    assert profiles["heavy"].arrival_rate_fractions == (0.9,)
    assert profiles["heavy"].concurrency == BUILTIN["standard"].concurrency  # new names start from standard


@pytest.mark.parametrize(("body", "fragment"), [
    ({"x": {"rounds": "two"}}, "loadTestProfiles.x.rounds: must be a non-negative number"),
    ({"x": {"concurrency": [1.5]}}, "whole numbers"),
    ({"x": {"bogus": 1}}, "loadTestProfiles.x.bogus: unknown field"),
    ({"x": {"extends": "nope"}}, "no profile named 'nope'"),
    ({"x": {"extends": "y"}, "y": {"extends": "x"}}, "cycle"),
    ({"x": {"concurrency": [], "arrivalRateFractions": []}}, "no load point"),
    ({"x": {"settleSeconds": 1, "slotSeconds": 0.5}}, "settleSeconds must be shorter"),
])
def test_bad_profiles_name_the_field(body: dict, fragment: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError) as e:
        declared({"loadTestProfiles": body})
    assert fragment in str(e.value)
    assert "policies/policy-pack.yaml" in str(e.value)


def test_choice_order_flag_then_policy_then_release() -> None:
    profiles = declared({})
    assert choose(profiles, "sweep", "smoke", "open").name == "sweep"
    assert choose(profiles, None, "smoke", "open").name == "smoke"
    assert choose(profiles, None, None, "open").name == "open"
    assert choose(profiles, None, None, None).name == "standard"
    with pytest.raises(ConfigError, match="--profile: no load profile named 'x'"):
        choose(profiles, "x", None, None)


def test_budget_shortens_phases_but_not_below_four_slots() -> None:
    smoke = BUILTIN["smoke"]
    assert scaled_to_budget(smoke, None, 2, 10) is smoke
    short = scaled_to_budget(smoke, 30, 2, 10)
    assert short.phase_seconds < smoke.phase_seconds
    assert scaled_to_budget(smoke, 1, 2, 10).phase_seconds == 4 * smoke.slot_seconds


def test_to_dict_uses_policy_spelling() -> None:
    data = to_dict(BUILTIN["standard"])
    assert data["name"] == "standard" and data["sloSearch"]["enabled"] is True
    assert data["arrivalRateFractions"] == [0.7]


def test_sequential_and_distributed_fields() -> None:
    profiles = declared({"loadTestProfiles": {
        "seq": {"extends": "gate", "maxPhaseSeconds": 40, "workers": 2},
        "pool": {"extends": "gate", "workers": 4, "remoteWorkers": True, "masterPort": 5557, "masterBindHost": "10.0.0.5"},
    }})
    assert profiles["seq"].sequential and profiles["seq"].max_phase_seconds == 40 and profiles["seq"].workers == 2
    assert profiles["pool"].remote_workers and profiles["pool"].master_port == 5557
    assert BUILTIN["gate"].sequential and BUILTIN["gate"].on_inconclusive == "fail"


@pytest.mark.parametrize(("body", "message"), [
    ({"sequential": "yes"}, "loadTestProfiles.bad.sequential: must be true or false"),
    ({"maxPhaseSeconds": 4}, "maxPhaseSeconds (the cap of a sequential point) must be >= phaseSeconds"),
    ({"remoteWorkers": True, "workers": 2}, "remoteWorkers needs workers >= 1 and a fixed masterPort"),
])
def test_bad_sequential_or_distributed_fields_name_the_field(body: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as e:
        declared({"loadTestProfiles": {"bad": {"extends": "gate", **body}}})
    assert message in e.value.message
