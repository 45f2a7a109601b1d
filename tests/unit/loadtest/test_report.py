"""Rendering a gate result: Markdown tables, text, GitHub commands, JSON, files on disk."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from releasegate.loadtest.reporters import MARKER, github, markdown, text, write_outputs
from releasegate.loadtest.result import LoadTestResult, ReleaseResult, SideInfo
from releasegate.loadtest.verdict import MetricVerdict, PointStats

POINT = {
    "id": "c4", "mode": "closed", "users": 4, "rateRps": None,
    "candidate": {"requests": 900, "errors": 0, "errorRate": 0.0, "latencyMs": {q: {"value": 12.0, "low": 11.0, "high": 13.0} for q in ("p50", "p95", "p99")},
                  "throughputRps": {"value": 300.0, "low": 290.0, "high": 310.0}, "generator": {"saturated": True},
                  "gpu": {"available": False, "reason": "NVML unavailable"}},
    "baseline": {"requests": 1000, "errors": 0, "errorRate": 0.0, "latencyMs": {q: {"value": 10.0, "low": 9.5, "high": 10.5} for q in ("p50", "p95", "p99")},
                 "throughputRps": {"value": 330.0, "low": 320.0, "high": 340.0}, "generator": {"saturated": False},
                 "gpu": {"available": False, "reason": "NVML unavailable"}},
    "change": {"p50": {"value": 0.2, "low": 0.1, "high": 0.3}, "p95": {"value": 0.2, "low": 0.1, "high": 0.3},
               "p99": {"value": 0.2, "low": 0.1, "high": 0.3}, "throughput": {"value": -0.09, "low": -0.12, "high": -0.06}},
    "verdicts": [],
}
VERDICT = MetricVerdict("p95 latency", "c4", "regression", "regression.p95LatencyIncreasePct",
                        "p95 latency +20.0 % (CI +10.0 % … +30.0 %), limit +10 %: worse beyond the limit", 0.2, 0.1, 0.3, 0.1)


def validate_result(data: dict) -> None:  # type: ignore[type-arg]
    """Check a result against the published JSON Schema (src/releasegate/data/loadtest-result.schema.json)."""
    from jsonschema import Draft202012Validator

    schema = json.loads((Path(__file__).parents[3] / "src/releasegate/data/loadtest-result.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    Draft202012Validator(schema).validate(data)


def _result() -> LoadTestResult:
    curves = {"candidate": [PointStats("c4", 300, 0, {50.0: 12, 95.0: 12, 99.0: 12}, False)],
              "baseline": [PointStats("c4", 330, 0, {50.0: 10, 95.0: 10, 99.0: 10}, False)]}
    plot_data = {"curves": curves, "modes": {"c4": "closed"},
                 "latencies": {"c4": {"candidate": [np.linspace(10, 14, 50)], "baseline": [np.linspace(9, 11, 50)]}}}
    failed = ReleaseResult(
        "environments/prod/releases/m.yaml", "prod", "m", "fail", "p95 latency: regression (regression.p95LatencyIncreasePct)",
        candidate=SideInfo("candidate", "1.1.0", "b" * 64, "models/b.pt", "builtin", 3.0),
        baseline=SideInfo("baseline", "1.0.0", "a" * 64, "models/a.pt", "builtin", 3.0),
        profile={"name": "smoke", "phaseSeconds": 10, "onInconclusive": "pass"}, points=[POINT], verdicts=(VERDICT,),
        details=(VERDICT,), warnings=("example warning",), plot_data=plot_data,
    )
    error = ReleaseResult("environments/staging/releases/n.yaml", "staging", "n", "error", "artifact unreachable: s3://x",
                          code="artifact-unreachable", hint="stage it")
    skipped = ReleaseResult("environments/dev/releases/o.yaml", "dev", "o", "skipped", "not required")
    return LoadTestResult((failed, error, skipped), "origin/main", {"cpuCount": 2, "gpu": {"available": False}},
                      "2026-11-22T20:00:00+00:00", 42.0)


def test_markdown_has_verdicts_tables_and_fixes() -> None:
    md = markdown(_result())
    assert md.startswith(MARKER)
    assert "**Verdict: ❌ fail**" in md
    assert "| p95 latency | ❌ regression | `regression.p95LatencyIncreasePct` |" in md
    assert "| 4 users | candidate | 900 | 0 | 12.00 | 12.00 [11.00–13.00] | 12.00 | 300.00 | +20.0 % [+10.0, +30.0] |" in md
    assert "load generator saturated at c4" in md
    assert "*How to fix:* stage it" in md
    assert "⚠️ example warning" in md


def test_text_and_github() -> None:
    result = _result()
    assert result.exit_code == 1 and result.verdict == "fail"
    out = text(result)
    assert "environments/prod/releases/m.yaml: fail:" in out and "  hint: stage it" in out
    gh = github(result)
    assert "::error file=environments/prod/releases/m.yaml,title=load test fail::" in gh
    assert "::error file=environments/staging/releases/n.yaml,title=load test error::artifact unreachable" in gh


def test_json_is_versioned_and_plots_are_written(tmp_path: Path) -> None:
    result = write_outputs(_result(), tmp_path)
    data = json.loads((tmp_path / "result.json").read_text())
    validate_result(data)
    assert data["schemaVersion"] == "releasegate/loadtest-result/v1"
    assert data["verdict"] == "fail" and data["exitCode"] == 1
    assert [r["verdict"] for r in data["releases"]] == ["fail", "error", "skipped"]
    assert data["releases"][0]["plots"] == ["prod-m-latency-throughput.png", "prod-m-latency-cdf.png"]
    for name in data["releases"][0]["plots"]:
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    assert "![prod-m-latency-cdf.png](prod-m-latency-cdf.png)" in (tmp_path / "report.md").read_text()
    assert result.releases[0].plots


def test_nothing_to_test_passes() -> None:
    empty = LoadTestResult((), "HEAD", {}, "t", 0.0)
    assert empty.verdict == "skipped" and empty.exit_code == 0
    assert "No changed release file needs a load test." in markdown(empty)


def test_a_sequential_point_shows_the_rule_what_was_measured_and_time_to_decision(tmp_path: Path) -> None:
    from releasegate.loadtest.sequential import Look, PointDecision

    decision = PointDecision("c4", 75.0)
    p99 = MetricVerdict("p99 latency", "c4", "inconclusive", "regression.p99LatencyIncreasePct", "p99 straddles",
                        0.05, -0.1, 0.4, 0.3)
    decision.record(Look(1, 8.0, 9.5, 0.975, 16, {"baseline": 2000, "candidate": 1900}), object(), [p99])  # type: ignore[arg-type]
    decision.record(Look(2, 10.5, 12.0, 0.99, 21, {"baseline": 2600, "candidate": 2500}), object(), [VERDICT, p99])  # type: ignore[arg-type]
    point = {**POINT, "verdicts": [VERDICT.to_dict(), p99.to_dict()], "sequential": decision.to_dict()}
    base = _result()
    seq = ReleaseResult(**{**base.releases[0].__dict__, "points": [point],
                           "profile": {"name": "gate", "phaseSeconds": 8, "maxPhaseSeconds": 75, "sequential": True}})
    result = LoadTestResult((seq,), "origin/main", base.machine, base.started_at, 30.0)
    md = markdown(result)
    assert "Stopping rule: group-sequential boundaries by alpha spending (Lan-DeMets" in md
    assert "sides alternating until decided: first look after 8 s, at most 75 s per load point" in md
    assert "| c4 | 2 | 21 | 2600 / 2500 | p95 latency | ❌ regression | look 2: 10.5 s measured, 12 s wall |" in md
    assert "| | | | p99 latency | ⚠️ inconclusive | not decided |" in md
    assert "c4: 2 look(s), 21 slot pairs" in text(result)
    data = json.loads(result.to_json())
    validate_result(data)
    assert data["releases"][0]["points"][0]["sequential"]["timeToDecision"]["p95 latency"]["measuredSeconds"] == 10.5
