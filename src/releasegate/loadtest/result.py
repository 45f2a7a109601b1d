"""The result of a gate run, and its JSON form (schema ``releasegate/loadtest-result/v1``).

The JSON is documented field by field in docs/loadtest.md; ``schemaVersion`` changes
whenever a field changes meaning or disappears (adding fields keeps it).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from releasegate.errors import EXIT_FAILED, EXIT_OK
from releasegate.loadtest.verdict import MetricVerdict

SCHEMA_VERSION = "releasegate/loadtest-result/v1"

# Release verdicts, from best to worst.
SKIPPED, PASSED, INCONCLUSIVE, FAILED, ERROR = "skipped", "pass", "inconclusive", "fail", "error"


@dataclass(frozen=True)
class SideInfo:
    """One side of the comparison: which model, how it was served."""

    label: str
    version: str | None
    sha256: str | None
    uri: str | None
    runtime: str
    startup_seconds: float | None = None
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "sha256": self.sha256,
            "artifact": self.uri,
            "runtime": self.runtime,
            "startupSeconds": _r(self.startup_seconds),
            "source": self.source,
        }


def _r(x: float | None, digits: int = 3) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), digits)


@dataclass(frozen=True)
class ReleaseResult:
    """The gate's decision on one release file."""

    file: str
    environment: str
    model: str
    verdict: str
    reason: str
    code: str = ""
    hint: str | None = None
    candidate: SideInfo | None = None
    baseline: SideInfo | None = None
    profile: dict[str, Any] | None = None
    limits: dict[str, Any] = field(default_factory=dict)
    points: list[dict[str, Any]] = field(default_factory=list)
    verdicts: tuple[MetricVerdict, ...] = ()
    details: tuple[MetricVerdict, ...] = ()
    slo_search: dict[str, Any] | None = None
    phases: list[dict[str, Any]] = field(default_factory=list)
    warnings: tuple[str, ...] = ()
    plots: tuple[str, ...] = ()
    telemetry: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    plot_data: Any = field(default=None, compare=False, repr=False)  # for plots.py, not serialised

    @property
    def blocking(self) -> bool:
        return self.verdict in (FAILED, ERROR, INCONCLUSIVE) and not self._inconclusive_passes

    @property
    def _inconclusive_passes(self) -> bool:
        return self.verdict == INCONCLUSIVE and (self.profile or {}).get("onInconclusive") == "pass"

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "environment": self.environment,
            "model": self.model,
            "verdict": self.verdict,
            "blocking": self.blocking,
            "reason": self.reason,
            "code": self.code,
            "hint": self.hint,
            "candidate": self.candidate.to_dict() if self.candidate else None,
            "baseline": self.baseline.to_dict() if self.baseline else None,
            "profile": self.profile,
            "limits": self.limits,
            "verdicts": [v.to_dict() for v in self.verdicts],
            "pointVerdicts": [v.to_dict() for v in self.details],
            "points": self.points,
            "sloSearch": self.slo_search,
            "phases": self.phases,
            "telemetry": self.telemetry,
            "warnings": list(self.warnings),
            "plots": list(self.plots),
            "durationSeconds": _r(self.seconds, 1),
        }


@dataclass(frozen=True)
class LoadTestResult:
    """What :func:`releasegate.loadtest.run_loadtest` returns."""

    releases: tuple[ReleaseResult, ...]
    base: str
    machine: dict[str, Any]
    started_at: str
    seconds: float
    out_dir: str | None = None

    @property
    def verdict(self) -> str:
        if not self.releases or all(r.verdict == SKIPPED for r in self.releases):
            return SKIPPED
        if any(r.blocking for r in self.releases):
            return FAILED
        return PASSED

    @property
    def exit_code(self) -> int:
        return EXIT_FAILED if self.verdict == FAILED else EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "schemaVersion": SCHEMA_VERSION,
            "verdict": self.verdict,
            "exitCode": self.exit_code,
            "base": self.base,
            "startedAt": self.started_at,
            "durationSeconds": _r(self.seconds, 1),
            "machine": self.machine,
            "outDir": self.out_dir,
            "releases": [r.to_dict() for r in self.releases],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False, allow_nan=False) + "\n"
