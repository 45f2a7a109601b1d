"""The policy pack: rules that need time, history, reviews or measurements.

The pack is ``policies/policy-pack.yaml``, validated by
``policies/schemas/policy-pack.schema.json``. A broken pack stops every gate with a
:class:`ConfigError` that lists each problem: the gate cannot run without it.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError, ValidationError
from jsonschema.validators import extend

from releasegate.errors import ConfigError, InputError
from releasegate.layout import RepoLayout
from releasegate.runtimes import ExternalRuntime, parse_runtimes
from releasegate.signing.trust import SignerSpec, parse_signers
from releasegate.yamlio import YamlDocument, load_yaml_file

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class ApprovalPolicy:
    minimum: int = 0
    teams: tuple[str, ...] = ()
    dismiss_stale: bool = False


@dataclass(frozen=True)
class LoadTestPolicy:
    required: bool = False
    require_gpu: bool = False
    profile: str | None = None  # unset: the release's spec.loadTest.profile, else loadtest.profiles.DEFAULT_PROFILE
    regression: dict[str, float] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class FreezeWindow:
    """A time during which releases to an environment are refused."""

    name: str
    reason: str = ""
    start: datetime | None = None
    end: datetime | None = None
    days: tuple[str, ...] = ()
    from_time: time | None = None
    to_time: time | None = None  # None with from_time set means "until midnight"
    zone: str = "UTC"

    def contains(self, now: datetime) -> bool:
        if self.start is not None and self.end is not None:
            return self.start <= now < self.end
        return self._weekly_contains(now.astimezone(ZoneInfo(self.zone)))

    def _weekly_contains(self, local: datetime) -> bool:
        start = self.from_time or time(0, 0)
        day = WEEKDAYS[local.weekday()]
        previous = WEEKDAYS[(local.weekday() - 1) % 7]
        moment = local.time().replace(tzinfo=None)
        if self.to_time is None or start < self.to_time:
            return day in self.days and start <= moment and (self.to_time is None or moment < self.to_time)
        # The window crosses midnight: it started today, or started yesterday and runs on.
        return (day in self.days and moment >= start) or (previous in self.days and moment < self.to_time)

    def describe(self) -> str:
        if self.start is not None and self.end is not None:
            return f"{self.start.isoformat()} to {self.end.isoformat()}"
        until = self.to_time.strftime("%H:%M") if self.to_time else "24:00"
        since = (self.from_time or time(0, 0)).strftime("%H:%M")
        return f"every {','.join(self.days)} {since}-{until} {self.zone}"


@dataclass(frozen=True)
class RolloutPolicy:
    """How canaries run in an environment (``environments[].rollout``, docs/rollout.md)."""

    require_steps: bool = False  # a canary must have spec.rollout.steps (no static canaryPercent)
    min_steps: int = 0  # ... at least this many
    require_analysis: bool = False  # rollout advance/complete need a passing analysis verdict


@dataclass(frozen=True)
class EnvironmentPolicy:
    name: str
    promotes_from: str | None = None
    soak_hours: float = 0.0
    approvals: ApprovalPolicy = ApprovalPolicy()
    load_test: LoadTestPolicy = LoadTestPolicy()
    freeze_windows: tuple[FreezeWindow, ...] = ()
    rollout: RolloutPolicy = RolloutPolicy()
    signers: tuple[SignerSpec, ...] = ()  # who may sign this environment's models (signers:)
    require_signature: bool = False  # requireSignature, default: true when signers are named


@dataclass(frozen=True)
class ArtifactPolicy:
    """Where the load test may take model artifacts from (``artifacts:`` of the base policy pack)."""

    roots: tuple[str, ...] = ()  # absolute folders on the runner, besides the repository
    schemes: tuple[str, ...] = ("https", "s3", "gs")
    max_bytes: int = 20 * 1024**3
    allow_hosts: tuple[str, ...] = ()  # hosts the built-in fetcher may reach on private addresses
    fetcher_env: tuple[str, ...] = ()  # variables handed to RELEASEGATE_ARTIFACT_FETCHER


@dataclass(frozen=True)
class EvidencePolicy:
    """Signed records of release decisions (``evidence:`` of the policy pack; docs/evidence.md)."""

    signers: tuple[SignerSpec, ...] = ()  # keys whose records are trusted
    required_for: tuple[str, ...] = ()  # environments whose decisions must all have a record
    since: datetime | None = None  # decisions merged before this need none
    branch: str = "releasegate/evidence"


@dataclass(frozen=True)
class RollbackPolicy:
    skip_load_test: bool = True
    skip_soak: bool = True
    ignore_freeze: bool = False
    approvals: ApprovalPolicy | None = None


@dataclass(frozen=True)
class PolicyPack:
    source: str
    environments: tuple[EnvironmentPolicy, ...]
    rollback: RollbackPolicy
    raw: dict[str, Any] = field(repr=False, compare=False)
    policy_change_approvals: ApprovalPolicy | None = None  # owners of policies/ (policyChange.approvals)
    runtimes: Mapping[str, ExternalRuntime] = field(default_factory=dict, compare=False)  # by name
    artifacts: ArtifactPolicy = ArtifactPolicy()
    evidence: EvidencePolicy = EvidencePolicy()

    def environment(self, name: str) -> EnvironmentPolicy | None:
        return next((e for e in self.environments if e.name == name), None)

    @property
    def environment_names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.environments)


@lru_cache(maxsize=16)
def load_schema(path: Path) -> dict[str, Any]:
    """Load a JSON Schema file and check it against its metaschema."""
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ConfigError(f"{path}: schema file not found", "restore it from the releasegate template") from e
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(f"{path}: not a readable JSON schema: {e}", "fix the JSON syntax") from e
    if not isinstance(schema, dict):
        raise ConfigError(f"{path}: a JSON Schema must be an object", "fix the schema file")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as e:
        where = "/".join(str(p) for p in e.absolute_path) or "(top level)"
        raise ConfigError(f"{path}: invalid JSON Schema at {where}: {e.message}",
                          "fix the schema; it must be valid JSON Schema 2020-12") from e
    return schema


@lru_cache(maxsize=512)
def _ecma_pattern(pattern: str) -> re.Pattern[str]:
    """``pattern`` (ECMA-262, as JSON Schema specifies) compiled so that Python agrees on ``$``.

    In ECMA-262 (without the ``m`` flag) ``$`` matches only at the end of the text; in
    Python it also matches before a final newline, so ``^[0-9a-f]{64}$`` would accept a
    digest followed by ``\\n``. Every ``$`` outside a character class becomes ``\\Z``.
    """
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        out.append("\\Z" if char == "$" and not in_class else char)
        i += 1
    return re.compile("".join(out))


def _pattern_keyword(validator: Any, pattern: str, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _ecma_pattern(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


_Validator = extend(Draft202012Validator, {"pattern": _pattern_keyword})


def schema_validator(schema: dict[str, Any], format_checker: FormatChecker | None = None) -> Draft202012Validator:
    """A JSON Schema 2020-12 validator whose ``pattern`` reads ``$`` as ECMA-262 does (end of text)."""
    validator: Draft202012Validator = _Validator(schema, format_checker=format_checker)
    return validator


def inline_local_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` with every ``{"$ref": "#/$defs/x"}`` replaced by its definition.

    jsonschema spends most of its time resolving references; our schemas are not
    recursive, so inlining them once makes validating thousands of files several
    times faster. Recursive definitions are left as references.
    """
    defs = schema.get("$defs", {})

    def walk(node: Any, active: frozenset[str]) -> Any:
        if isinstance(node, list):
            return [walk(item, active) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/") and "/" not in ref[8:]:
            name = ref[8:]
            if name in defs and name not in active:
                siblings = {k: walk(v, active) for k, v in node.items() if k != "$ref"}
                target = walk(defs[name], active | {name})
                return {**target, **siblings} if isinstance(target, dict) else target
        return {key: walk(value, active) for key, value in node.items()}

    return walk(schema, frozenset())


def load_policy_pack(layout: RepoLayout) -> PolicyPack:
    """Load, schema-check and interpret ``policies/policy-pack.yaml``."""
    source = layout.relative(layout.policy_pack)
    if not layout.policy_pack.is_file():
        raise ConfigError(f"{source}: policy pack not found",
                          "create policies/policy-pack.yaml (see docs/policies.md)")
    try:
        document = load_yaml_file(layout.policy_pack, source)
    except InputError as e:
        raise ConfigError(f"invalid policy pack: {e.message}", e.hint) from e
    if not isinstance(document.value, dict):
        raise ConfigError(f"{source}:1:1: the policy pack must be a mapping", "see docs/policies.md")
    _check_against_schema(document, load_schema(layout.schemas_dir / "policy-pack.schema.json"))
    return _interpret(document, layout.policies_dir)


def _check_against_schema(document: YamlDocument, schema: dict[str, Any]) -> None:
    validator = schema_validator(schema, format_checker=FormatChecker())
    problems = []
    for error in sorted(validator.iter_errors(document.value), key=lambda e: list(map(str, e.absolute_path))):
        line, column = document.position(tuple(error.absolute_path))
        where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        problems.append(f"{document.source}:{line}:{column}: {where}: {error.message}")
    if problems:
        raise ConfigError("invalid policy pack:\n  " + "\n  ".join(problems),
                          "fix the policy pack; its format is in docs/policies.md")


def _interpret(document: YamlDocument, policies_dir: Path) -> PolicyPack:
    raw = document.value
    envs = tuple(_environment(e, document, i, policies_dir) for i, e in enumerate(raw["environments"]))
    _check_environment_graph(envs, document)
    change = raw.get("policyChange", {})
    owners = _approvals(change["approvals"]) if "approvals" in change else None
    return PolicyPack(document.source, envs, _rollback(raw.get("rollback", {})), raw, owners,
                      parse_runtimes(raw.get("runtimes", {})), _artifacts(raw.get("artifacts", {})),
                      _evidence(raw.get("evidence"), document, policies_dir))


def _evidence(raw: dict[str, Any] | None, document: YamlDocument, policies_dir: Path) -> EvidencePolicy:
    if raw is None:
        return EvidencePolicy()
    since = _aware(raw["since"], document, ("evidence", "since")) if "since" in raw else None
    return EvidencePolicy(parse_signers(raw["signers"], policies_dir, f"{document.source}: evidence"),
                          tuple(raw.get("requiredFor", ())), since, str(raw.get("branch", EvidencePolicy.branch)))


def _artifacts(raw: dict[str, Any]) -> ArtifactPolicy:
    default = ArtifactPolicy()
    return ArtifactPolicy(tuple(raw.get("roots", ())), tuple(raw.get("schemes", default.schemes)),
                          int(raw.get("maxBytes", default.max_bytes)), tuple(raw.get("allowHosts", ())),
                          tuple(raw.get("fetcherEnv", ())))


def _environment(raw: dict[str, Any], document: YamlDocument, index: int, policies_dir: Path) -> EnvironmentPolicy:
    windows = tuple(
        _freeze_window(w, document, ("environments", index, "freezeWindows", j))
        for j, w in enumerate(raw.get("freezeWindows", []))
    )
    signers = parse_signers(raw.get("signers", []), policies_dir, f"{document.source}: environments[{index}]")
    if raw.get("requireSignature") and not signers:
        raise _config_error(document, ("environments", index, "requireSignature"),
                            f"environment {raw['name']!r} requires a signature but names no signers",
                            "list the trusted signers under signers:, or remove requireSignature")
    return EnvironmentPolicy(
        name=raw["name"],
        promotes_from=raw.get("promotesFrom"),
        soak_hours=float(raw.get("soakHours", 0)),
        approvals=_approvals(raw.get("approvals", {})),
        load_test=_load_test(raw.get("loadTest", {})),
        freeze_windows=windows,
        rollout=_rollout(raw.get("rollout", {})),
        signers=signers,
        require_signature=bool(raw.get("requireSignature", bool(signers))),
    )


def _rollout(raw: dict[str, Any]) -> RolloutPolicy:
    return RolloutPolicy(bool(raw.get("requireSteps", False)), int(raw.get("minSteps", 0)),
                         bool(raw.get("requireAnalysis", False)))


def _approvals(raw: dict[str, Any]) -> ApprovalPolicy:
    return ApprovalPolicy(int(raw.get("minimum", 0)), tuple(raw.get("teams", ())),
                          bool(raw.get("dismissStale", False)))


def _load_test(raw: dict[str, Any]) -> LoadTestPolicy:
    return LoadTestPolicy(bool(raw.get("required", False)), bool(raw.get("requireGpu", False)),
                          _optional_str(raw.get("profile")), dict(raw.get("regression", {})))


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _rollback(raw: dict[str, Any]) -> RollbackPolicy:
    approvals = _approvals(raw["approvals"]) if "approvals" in raw else None
    return RollbackPolicy(bool(raw.get("skipLoadTest", True)), bool(raw.get("skipSoak", True)),
                          bool(raw.get("ignoreFreeze", False)), approvals)


def _freeze_window(raw: dict[str, Any], document: YamlDocument, path: tuple[Any, ...]) -> FreezeWindow:
    name, reason = raw["name"], raw.get("reason", "")
    if "weekly" in raw:
        weekly = raw["weekly"]
        zone = weekly.get("timezone", "UTC")
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise _config_error(document, (*path, "weekly", "timezone"), f"unknown time zone {zone!r}",
                                "use an IANA name such as UTC or Europe/Berlin") from e
        to_text = weekly["to"]
        to_time = None if to_text == "24:00" else time.fromisoformat(to_text)
        return FreezeWindow(name, reason, days=tuple(weekly["days"]),
                            from_time=time.fromisoformat(weekly["from"]), to_time=to_time, zone=zone)
    start = _aware(raw["start"], document, (*path, "start"))
    end = _aware(raw["end"], document, (*path, "end"))
    if end <= start:
        raise _config_error(document, (*path, "end"), f"freeze window {name!r} ends before it starts",
                            "make end later than start")
    return FreezeWindow(name, reason, start=start, end=end)


def _aware(text: str, document: YamlDocument, path: tuple[Any, ...]) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as e:
        raise _config_error(document, path, f"not an ISO 8601 time: {text!r}",
                            "write e.g. 2026-12-21T00:00:00Z") from e
    if moment.tzinfo is None:
        raise _config_error(document, path, f"time {text!r} has no time zone",
                            "add Z or an offset such as +01:00")
    return moment.astimezone(timezone.utc)


def _check_environment_graph(envs: tuple[EnvironmentPolicy, ...], document: YamlDocument) -> None:
    names = [e.name for e in envs]
    for index, env in enumerate(envs):
        path = ("environments", index)
        if names.count(env.name) > 1:
            raise _config_error(document, (*path, "name"), f"environment {env.name!r} is listed twice",
                                "list each environment once")
        if env.promotes_from is not None and env.promotes_from not in names[:index]:
            raise _config_error(
                document, (*path, "promotesFrom"),
                f"environment {env.name!r} promotes from {env.promotes_from!r}, "
                "which is not an environment listed before it",
                f"use one of: {', '.join(names[:index]) or '(none: remove promotesFrom)'}")


def _config_error(document: YamlDocument, path: tuple[Any, ...], problem: str, hint: str) -> ConfigError:
    line, column = document.position(path)
    return ConfigError(f"invalid policy pack: {document.source}:{line}:{column}: {problem}", hint)

