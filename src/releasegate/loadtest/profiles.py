"""Load profiles: what load the gate applies, for how long, and how it decides.

Built-in profiles (:data:`BUILTIN`) can be overridden and new ones declared in the
policy pack under ``loadTestProfiles.<name>`` (camelCase fields, see
docs/loadtest.md). A declared profile starts from the built-in of the same name, or
from the one named by ``extends``, or from ``standard``, and overrides the fields it
gives. Which profile a release gets: ``--profile``, else the environment's
``loadTest.profile``, else the release's ``spec.loadTest.profile``, else
``standard`` -- the policy wins over the release, so a pull request cannot pick a
weaker test for itself.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from releasegate.errors import ConfigError


@dataclass(frozen=True)
class SloSearch:
    """Search for the highest concurrency whose p95/p99 still meet the release's SLO."""

    enabled: bool = False
    max_concurrency: int = 256
    steps: int = 3


@dataclass(frozen=True)
class Profile:
    """One load profile (all durations in seconds)."""

    name: str
    description: str = ""
    concurrency: tuple[int, ...] = (1, 8)
    arrival_rates: tuple[float, ...] = ()
    arrival_rate_fractions: tuple[float, ...] = ()
    phase_seconds: float = 10.0
    slot_seconds: float = 0.5
    settle_seconds: float = 0.0
    ramp_seconds: float = 0.5
    warmup_seconds: float = 2.0
    rounds: int = 2
    slo_search: SloSearch = SloSearch()
    confidence: float = 0.95
    bootstrap_replicates: int = 1000
    generator_cpu_limit_pct: float = 90.0
    request_timeout_seconds: float = 10.0
    startup_timeout_seconds: float = 180.0
    max_users: int = 1024
    processes: int = 0  # 0: sized to the runner's cores
    on_inconclusive: str = "fail"
    sequential: bool = False  # measure each compared point until decided (sequential.py), up to:
    max_phase_seconds: float = 60.0
    workers: int = 0  # locust distributed mode (distributed.py): 0 = off
    remote_workers: bool = False  # the runner pool starts the workers (else the gate, on this runner)
    master_bind_host: str = "127.0.0.1"
    master_port: int = 0  # 0: a free port (local workers only)
    worker_connect_seconds: float = 30.0

    @property
    def load_points(self) -> int:
        return len(self.concurrency) + len(self.arrival_rates) + len(self.arrival_rate_fractions)

    def estimate_seconds(self, sides: int) -> float:
        """Rough wall time of the measurement (without model loads); sequential: at most this."""
        measured = self.max_phase_seconds if self.sequential else self.phase_seconds
        per_point = self.ramp_seconds + measured + 2 * self.slot_seconds + PHASE_OVERHEAD_SECONDS
        search = self.slo_search.steps * sides if self.slo_search.enabled else 0
        search_phase = self.ramp_seconds + self.phase_seconds / 2 + PHASE_OVERHEAD_SECONDS
        return self.load_points * per_point + search * search_phase + sides * self.warmup_seconds


PHASE_OVERHEAD_SECONDS = 1.5

BUILTIN: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        description="CPU tests and demos: concurrency 1 and 4, 10 s each; under a minute for both sides.",
        concurrency=(1, 4),
        phase_seconds=10.0,
        slot_seconds=0.2,
        ramp_seconds=0.5,
        warmup_seconds=1.0,
        startup_timeout_seconds=60.0,
        on_inconclusive="pass",
    ),
    "gate": Profile(
        name="gate",
        description="Release gate on any runner: 2 concurrent users, sides alternating in 0.25 s slots until "
                    "every metric is decided (first look after 8 s, at most 90 s).",
        concurrency=(2,),
        phase_seconds=8.0,
        slot_seconds=0.25,
        ramp_seconds=0.5,
        warmup_seconds=2.0,
        startup_timeout_seconds=120.0,
        sequential=True,
        max_phase_seconds=90.0,
    ),
    "standard": Profile(
        name="standard",
        description="GPU gate: concurrency 1/16/64, open loop at 70 % of the baseline's capacity, each until "
                    "decided (first look after 15 s, at most 60 s), SLO search.",
        concurrency=(1, 16, 64),
        arrival_rate_fractions=(0.7,),
        phase_seconds=15.0,
        sequential=True,
        max_phase_seconds=60.0,
        ramp_seconds=1.0,
        warmup_seconds=5.0,
        slo_search=SloSearch(enabled=True, max_concurrency=512, steps=2),
    ),
    "sweep": Profile(
        name="sweep",
        description="Capacity study: concurrency 1..256 doubling.",
        concurrency=(1, 2, 4, 8, 16, 32, 64, 128, 256),
        phase_seconds=12.0,
        ramp_seconds=1.0,
        warmup_seconds=5.0,
        slo_search=SloSearch(enabled=True, max_concurrency=1024, steps=4),
    ),
    "open": Profile(
        name="open",
        description="Arrival-rate (open-loop) only: 50 % and 80 % of the baseline's capacity.",
        concurrency=(),
        arrival_rate_fractions=(0.5, 0.8),
        phase_seconds=20.0,
        ramp_seconds=1.0,
        warmup_seconds=5.0,
    ),
}

# policy-pack field -> Profile attribute
_FIELDS: dict[str, str] = {
    "description": "description",
    "concurrency": "concurrency",
    "arrivalRates": "arrival_rates",
    "arrivalRateFractions": "arrival_rate_fractions",
    "rounds": "rounds",
    "phaseSeconds": "phase_seconds",
    "rampSeconds": "ramp_seconds",
    "warmupSeconds": "warmup_seconds",
    "slotSeconds": "slot_seconds",
    "settleSeconds": "settle_seconds",
    "sloSearch": "slo_search",
    "confidence": "confidence",
    "bootstrapReplicates": "bootstrap_replicates",
    "generatorCpuLimitPct": "generator_cpu_limit_pct",
    "requestTimeoutSeconds": "request_timeout_seconds",
    "startupTimeoutSeconds": "startup_timeout_seconds",
    "maxUsers": "max_users",
    "processes": "processes",
    "onInconclusive": "on_inconclusive",
    "sequential": "sequential",
    "maxPhaseSeconds": "max_phase_seconds",
    "workers": "workers",
    "remoteWorkers": "remote_workers",
    "masterBindHost": "master_bind_host",
    "masterPort": "master_port",
    "workerConnectSeconds": "worker_connect_seconds",
}


def _bad(where: str, what: str) -> ConfigError:
    return ConfigError(f"policies/policy-pack.yaml: {where}: {what}", "see docs/loadtest.md, section Profiles")


def _convert(where: str, key: str, value: Any) -> Any:
    if key == "description":
        return str(value)
    if key in ("concurrency", "arrivalRates", "arrivalRateFractions"):
        if not isinstance(value, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in value):
            raise _bad(where, "must be a list of positive numbers")
        if key == "concurrency":
            if not all(float(v).is_integer() for v in value):
                raise _bad(where, "concurrency levels are whole numbers of users")
            return tuple(int(v) for v in value)
        return tuple(float(v) for v in value)
    if key == "sloSearch":
        return _slo_search(where, value)
    if key == "masterBindHost":
        if not isinstance(value, str) or not value:
            raise _bad(where, "must be a host name or address to bind the locust master to")
        return value
    if key in ("sequential", "remoteWorkers"):
        if not isinstance(value, bool):
            raise _bad(where, "must be true or false")
        return value
    if key == "onInconclusive":
        if value not in ("fail", "pass"):
            raise _bad(where, "must be fail or pass")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise _bad(where, "must be a non-negative number")
    if key in ("rounds", "bootstrapReplicates", "maxUsers", "processes", "workers", "masterPort"):
        return int(value)
    return float(value)


def _slo_search(where: str, value: Any) -> SloSearch:
    if not isinstance(value, Mapping):
        raise _bad(where, "must be a mapping {enabled, maxConcurrency, steps}")
    unknown = set(value) - {"enabled", "maxConcurrency", "steps"}
    if unknown:
        raise _bad(where, f"unknown field(s) {', '.join(sorted(unknown))}")
    return SloSearch(
        enabled=bool(value.get("enabled", True)),
        max_concurrency=int(value.get("maxConcurrency", 256)),
        steps=int(value.get("steps", 3)),
    )


def _check(profile: Profile, where: str) -> Profile:
    if profile.load_points == 0:
        raise _bad(where, "no load point: give concurrency, arrivalRates or arrivalRateFractions")
    if profile.rounds < 1 or profile.phase_seconds <= 0 or profile.slot_seconds <= 0:
        raise _bad(where, "rounds must be >= 1, phaseSeconds and slotSeconds > 0")
    if profile.settle_seconds >= profile.slot_seconds:
        raise _bad(where, "settleSeconds must be shorter than slotSeconds")
    if profile.phase_seconds < 4 * profile.slot_seconds:
        raise _bad(where, "phaseSeconds must hold at least 4 slots (2 per side)")
    if not 0.5 <= profile.confidence < 1.0:
        raise _bad(where, "confidence must be in [0.5, 1)")
    if profile.bootstrap_replicates < 100:
        raise _bad(where, "bootstrapReplicates must be >= 100")
    if profile.remote_workers and (profile.workers < 1 or not profile.master_port):
        raise _bad(where, "remoteWorkers needs workers >= 1 and a fixed masterPort for the pool's workers to connect to")
    if profile.sequential and profile.max_phase_seconds < profile.phase_seconds:
        raise _bad(where, "maxPhaseSeconds (the cap of a sequential point) must be >= phaseSeconds (its first look)")
    return profile


def declared(raw_policy: Mapping[str, Any]) -> dict[str, Profile]:
    """Built-in profiles with the policy pack's ``loadTestProfiles`` applied."""
    result = dict(BUILTIN)
    declared_raw = raw_policy.get("loadTestProfiles") or {}
    pending = dict(declared_raw)
    for _ in range(len(pending) + 1):  # resolve `extends` chains in declaration order
        for name, body in list(pending.items()):
            parent = (body or {}).get("extends") or (name if name in BUILTIN else "standard")
            if parent in pending and parent != name:
                continue
            if parent not in result:
                raise _bad(f"loadTestProfiles.{name}.extends", f"no profile named {parent!r}")
            result[name] = _apply(replace(result[parent], name=name), name, body or {})
            del pending[name]
    if pending:
        raise _bad("loadTestProfiles", f"profiles extend each other in a cycle: {', '.join(pending)}")
    return result


def _apply(base: Profile, name: str, body: Mapping[str, Any]) -> Profile:
    if not isinstance(body, Mapping):
        raise _bad(f"loadTestProfiles.{name}", "must be a mapping of profile fields")
    changes = {}
    for key, value in body.items():
        if key == "extends":
            continue
        if key not in _FIELDS:
            raise _bad(f"loadTestProfiles.{name}.{key}", f"unknown field; known: {', '.join(sorted(_FIELDS))}")
        changes[_FIELDS[key]] = _convert(f"loadTestProfiles.{name}.{key}", key, value)
    return _check(replace(base, **changes), f"loadTestProfiles.{name}")


DEFAULT_PROFILE = "standard"  # when neither --profile, the policy nor the release names one


def choose(
    profiles: Mapping[str, Profile], flag: str | None, environment: str | None, release: str | None
) -> Profile:
    """The profile of one release: ``--profile``, environment policy, release file, :data:`DEFAULT_PROFILE`."""
    for source, name in (("--profile", flag), ("loadTest.profile", environment), ("spec.loadTest.profile", release)):
        if name:
            if name not in profiles:
                raise ConfigError(
                    f"{source}: no load profile named {name!r}",
                    f"known profiles: {', '.join(sorted(profiles))} (declare more under loadTestProfiles)",
                )
            return profiles[name]
    return profiles[DEFAULT_PROFILE]


def scaled_to_budget(profile: Profile, budget: float | None, sides: int, startup: float) -> Profile:
    """``profile`` with shorter phases (not below 4 slots) when its estimate exceeds ``budget`` seconds."""
    if budget is None or profile.sequential:  # a sequential point caps itself at the deadline
        return profile
    estimate = profile.estimate_seconds(sides) + startup
    if estimate <= budget:
        return profile
    measured = profile.load_points * profile.phase_seconds
    if profile.slo_search.enabled:
        measured += profile.slo_search.steps * sides * profile.phase_seconds / 2
    fixed = estimate - measured
    factor = max(0.0, budget - fixed) / measured if measured else 1.0
    return replace(profile, phase_seconds=max(4 * profile.slot_seconds, profile.phase_seconds * factor))


def to_dict(profile: Profile) -> dict[str, Any]:
    """The profile in policy-pack spelling (for the JSON result)."""
    out: dict[str, Any] = {"name": profile.name}
    for key, attr in _FIELDS.items():
        value = getattr(profile, attr)
        if isinstance(value, SloSearch):
            value = {"enabled": value.enabled, "maxConcurrency": value.max_concurrency, "steps": value.steps}
        elif isinstance(value, tuple):
            value = list(value)
        out[key] = value
    return out

