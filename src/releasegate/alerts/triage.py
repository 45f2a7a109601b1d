"""Which alerts of a notification call for a rollback or a canary's abort, judged by the repository.

An alert acts only when it is firing, asks for it (``releasegate_action: rollback``, which the rendered
pages carry), names a model, environment, version and track, and that version is live there now on the
branch: the canary of a running canary (its abort), or the model of an environment without a running
canary (its rollback). Everything else is answered with the reason and left alone (docs/monitoring.md).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from releasegate.alerts import ACTION_LABEL, ROLLBACK
from releasegate.alerts.payload import IDENTITY, Alert
from releasegate.rollout.clock import FileState
from releasegate.rollout.state import ABORTED

_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")

# Outcomes of an alert that opens nothing (each with a reason in words).
RESOLVED, NOT_FOR_ROLLBACK, INCOMPLETE = "resolved", "not-for-rollback", "incomplete"
UNKNOWN_ENVIRONMENT, UNKNOWN_MODEL, NOT_LIVE, STABLE_SIDE = ("unknown-environment", "unknown-model", "not-live",
                                                             "stable-during-canary")


@dataclass(frozen=True)
class Verdict:
    """What one alert asks for: ``action`` ``abort`` or ``rollback`` of (environment, model), or nothing
    (``action`` None, ``outcome`` saying why)."""

    alert: Alert
    outcome: str
    detail: str
    action: str | None = None

    @property
    def target(self) -> tuple[str, str]:
        return self.alert.label("environment") or "", self.alert.label("model") or ""


def _who(alert: Alert) -> str:
    return (f"{alert.label('model')} {alert.label('version')} ({alert.label('track')}) in "
            f"{alert.label('environment')}")


def triage(alert: Alert, environments: tuple[str, ...], release: Callable[[str, str], FileState | None]) -> Verdict:
    """The verdict on ``alert``; ``release(env, model)`` is the state of its release file on the branch
    (None when there is none)."""
    if alert.status != "firing":
        return Verdict(alert, RESOLVED, "resolved: nothing to roll back")
    if alert.label(ACTION_LABEL) != ROLLBACK:
        return Verdict(alert, NOT_FOR_ROLLBACK, f"no label {ACTION_LABEL}={ROLLBACK}: releasegate does not act on it")
    missing = [name for name in IDENTITY if not alert.label(name)]
    if missing:
        return Verdict(alert, INCOMPLETE, f"no label {', '.join(missing)}: cannot tell which release it is about")
    env, model, track = alert.label("environment") or "", alert.label("model") or "", alert.label("track")
    if env not in environments:
        return Verdict(alert, UNKNOWN_ENVIRONMENT, f"environment {env[:64]!r} is not in the policy pack")
    state = release(env, model) if _NAME.fullmatch(model) else None
    if state is None:
        return Verdict(alert, UNKNOWN_MODEL, f"model {model[:64]!r} has no release file in {env}")
    if track not in ("stable", "canary"):
        return Verdict(alert, INCOMPLETE, f"track {str(track)[:32]!r} is neither stable nor canary")
    return _against(alert, state)


def _against(alert: Alert, state: FileState) -> Verdict:
    version, track, rollout = alert.label("version"), alert.label("track"), state.rollout
    if rollout.running:
        if track == "canary" and version == state.version:
            return Verdict(alert, "act", f"{_who(alert)}: the running canary; abort it", "abort")
        # KServe keeps the stable side itself (no rollout.stable): any stable-track version is it.
        if track == "stable" and rollout.stable_version in (None, version):
            return Verdict(alert, STABLE_SIDE, f"{_who(alert)} is the stable side of the running canary of "
                           f"{state.version}: aborting would move all traffic onto it; a person decides")
        return Verdict(alert, NOT_LIVE, f"{_who(alert)} is not live: the canary of {state.version} runs beside "
                       f"{rollout.stable_version or 'the last rolled-out revision'}")
    if rollout.phase == ABORTED:
        return Verdict(alert, NOT_LIVE, f"{_who(alert)}: the canary of {state.version} was aborted already")
    if track == "stable" and version == state.version:
        return Verdict(alert, "act", f"{_who(alert)}: the live version; roll it back", "rollback")
    return Verdict(alert, NOT_LIVE, f"{_who(alert)} is not live: {state.version} is, without a canary")
