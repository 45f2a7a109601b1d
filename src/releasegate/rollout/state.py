"""Where a release stands in its rollout, read from the release file alone.

A canary is a transient state with steps (docs/rollout.md)::

    rollout:
      strategy: canary
      steps:                           # the plan: weights ascending, the last one 100
        - {weight: 5, holdMinutes: 30}
        - {weight: 25, holdMinutes: 60}
        - {weight: 100, holdMinutes: 60}
      canaryPercent: 25                # the current step, named by its weight; absent: no canary runs
      stable: {version: …, artifact: …}  # builtin: what the canary runs beside

Phases: ``rolling`` (``strategy: rolling``), ``idle`` (a canary strategy with steps and no
``canaryPercent``: nothing runs beside the model, it renders like a rolling release, and the next
promotion starts a canary at the first step), ``running`` (``canaryPercent`` 1-100) and
``aborted`` (``canaryPercent: 0``, KServe only: all traffic on the last rolled-out revision).
A canary without ``steps`` is the static canary of schema revision 1: running until it is
completed or aborted.

Everything here is lenient (never raises): validate and render report what is malformed.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from releasegate.release import dig

ROLLING, IDLE, RUNNING, ABORTED = "rolling", "idle", "running", "aborted"
ROLLOUT: tuple[str, ...] = ("spec", "rollout")
PathPart = str | int


@dataclass(frozen=True)
class Step:
    weight: int
    hold_minutes: float


@dataclass(frozen=True)
class Rollout:
    """The ``spec.rollout`` of one release file."""

    strategy: str
    steps: tuple[Step, ...]
    weight: int | None  # canaryPercent: the current step's weight
    stable_version: str | None

    @property
    def phase(self) -> str:
        if self.strategy != "canary":
            return ROLLING
        if self.weight is None:
            return IDLE
        return ABORTED if self.weight == 0 else RUNNING

    @property
    def running(self) -> bool:
        return self.phase == RUNNING

    @property
    def step_index(self) -> int | None:
        """The position of the current weight in ``steps`` (None without steps or a running canary)."""
        if not self.running:
            return None
        return next((i for i, s in enumerate(self.steps) if s.weight == self.weight), None)

    @property
    def step(self) -> Step | None:
        index = self.step_index
        return None if index is None else self.steps[index]

    @property
    def next_step(self) -> Step | None:
        index = self.step_index
        return self.steps[index + 1] if index is not None and index + 1 < len(self.steps) else None

    @property
    def at_last_step(self) -> bool:
        index = self.step_index
        return index is not None and index == len(self.steps) - 1

    def describe(self) -> str:
        """``canary step 2/4 (25 %)``, ``canary 10 % (no steps)``, ``canary aborted (0 %)``, ``idle``, ``rolling``."""
        if self.phase == RUNNING:
            index = self.step_index
            if index is not None:
                return f"canary step {index + 1}/{len(self.steps)} ({self.weight} %)"
            return f"canary {self.weight} % (no steps)"
        if self.phase == ABORTED:
            return "canary aborted (0 %)"
        return self.phase


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def read_rollout(data: Any) -> Rollout:
    """The rollout of a parsed release file; missing or mistyped parts read as absent."""
    raw = dig(data, *ROLLOUT)
    raw = raw if isinstance(raw, dict) else {}
    strategy = raw.get("strategy") if isinstance(raw.get("strategy"), str) else "rolling"
    stable = dig(raw, "stable", "version")
    return Rollout(str(strategy), read_steps(raw.get("steps")), _int(raw.get("canaryPercent")),
                   stable if isinstance(stable, str) else None)


def read_steps(raw: Any) -> tuple[Step, ...]:
    """The well-formed entries of a ``steps`` list, in order."""
    out = []
    for item in raw if isinstance(raw, list) else []:
        weight = _int(dig(item, "weight"))
        hold = _number(dig(item, "holdMinutes"))
        if weight is not None:
            out.append(Step(weight, hold if hold is not None else 0.0))
    return tuple(out)


@dataclass(frozen=True)
class RolloutProblem:
    """Something wrong with a release file's steps or canary state, at ``path``."""

    path: tuple[PathPart, ...]
    message: str
    hint: str


def rollout_problems(data: Any) -> list[RolloutProblem]:
    """What is wrong with the steps and the current step, beyond what the schema says about types.

    Steps must be ascending and end at 100; ``canaryPercent`` must be one of their weights (or 0,
    an aborted canary); 0 and 100 need steps; ``stable`` belongs to a running canary.
    """
    raw = dig(data, *ROLLOUT)
    if not isinstance(raw, dict) or raw.get("strategy") != "canary":
        return []
    problems = list(_steps_problems(raw.get("steps")))
    rollout = read_rollout(data)
    percent = ("spec", "rollout", "canaryPercent")
    if rollout.weight is not None and isinstance(raw.get("steps"), list):
        weights = [s.weight for s in rollout.steps]
        if rollout.weight != 0 and rollout.weight not in weights:
            problems.append(RolloutProblem(
                percent, f"canaryPercent {rollout.weight} is not one of the steps ({_list(weights)})",
                "canaryPercent names the current step by its weight: set it to one of the steps' weights"))
    elif rollout.weight is not None and not 1 <= rollout.weight <= 99:
        problems.append(RolloutProblem(
            percent, f"canaryPercent {rollout.weight} needs steps (a canary without steps takes 1-99 %)",
            "add spec.rollout.steps ending at 100 (docs/rollout.md), or use a weight between 1 and 99"))
    if "stable" in raw and not rollout.running:
        problems.append(RolloutProblem(
            ("spec", "rollout", "stable"), "spec.rollout.stable is set but no canary is running",
            "remove spec.rollout.stable: it is the version a running canary runs beside"))
    return problems


def _steps_problems(raw: Any) -> Iterator[RolloutProblem]:
    if not isinstance(raw, list) or not raw:
        return
    base: tuple[PathPart, ...] = ("spec", "rollout", "steps")
    weights = [_int(dig(item, "weight")) for item in raw]
    for i in range(1, len(weights)):
        before, here = weights[i - 1], weights[i]
        if before is not None and here is not None and here <= before:
            yield RolloutProblem(
                (*base, i, "weight"), f"steps must be ascending: step {i + 1} ({here} %) is not above "
                f"step {i} ({before} %)", "give each step a larger share of traffic than the one before")
    if weights[-1] is not None and weights[-1] != 100:
        yield RolloutProblem(
            (*base, len(raw) - 1, "weight"), f"the last step is {weights[-1]} %, but steps must end at 100",
            "end with {weight: 100, holdMinutes: N}: the canary takes all traffic, then rollout complete")


def _list(weights: list[int]) -> str:
    return ", ".join(f"{w} %" for w in weights) or "none"
