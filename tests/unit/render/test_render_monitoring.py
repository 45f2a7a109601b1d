"""The rendered PodMonitor and PrometheusRule: valid rules (``promtool check rules``), and alerts that
fire exactly when they should (``promtool test rules``: input series -> expected alerts).

The scenarios run against the repository's own rendered prod ``sentiment`` (a canary of 1.4.0 beside
1.3.0; slo.p95LatencyMs 50, slo.maxErrorRate 0.001; monitoring.canary of policies/render.yaml at its
defaults). Each builds per-minute counter series of the server's metrics for the two tracks and
lists every alert expected at the evaluation time, labels and annotations included.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from render_helpers import REPO_ROOT, kind_of, make_repo, rendered_documents, write_release

from releasegate.alerts import ACTION_LABEL
from releasegate.render import render_plan
from releasegate.serve.metric_names import LATENCY_BUCKETS, REQUEST_SECONDS, REQUESTS, le
from tests.support.prometheus import run_tool

PROD = REPO_ROOT / "environments/prod/manifests/sentiment.yaml"
RULE = ("monitoring.coreos.com/v1", "PrometheusRule")
ALERTS = ("ReleasegateErrorBudgetFastBurn", "ReleasegateErrorBudgetSlowBurn", "ReleasegateLatencyBudgetFastBurn",
          "ReleasegateLatencyBudgetSlowBurn", "ReleasegateCanaryErrorsAboveStable",
          "ReleasegateCanaryLatencyAboveStable")
BASE = {"model": "sentiment", "environment": "prod"}


@dataclass(frozen=True)
class Side:
    """Steady traffic of one track: answers per minute, 5xx answers per minute, every answer's latency."""

    version: str
    track: str
    ok: int
    errors: int = 0
    latency_s: float = 0.007


def _rule(path: Path = PROD) -> dict[str, Any]:
    return next(d for d in yaml.safe_load_all(path.read_bytes()) if d and kind_of(d) == RULE)


def _counter(name: str, labels: dict[str, str], per_minute: int, minutes: int) -> dict[str, str]:
    text = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{text}}}", "values": f"0+{per_minute}x{minutes}"}


def _series(sides: list[Side], minutes: int) -> list[dict[str, str]]:
    out = []
    for s in sides:
        ids = {**BASE, "version": s.version, "track": s.track}
        out.append(_counter(REQUESTS, {**ids, "status": "200"}, s.ok, minutes))
        if s.errors:
            out.append(_counter(REQUESTS, {**ids, "status": "503"}, s.errors, minutes))
        for bound in LATENCY_BUCKETS:  # the server observes the latency of answered requests
            out.append(_counter(f"{REQUEST_SECONDS}_bucket", {**ids, "le": le(bound)},
                                s.ok if s.latency_s <= bound else 0, minutes))
        out.append(_counter(f"{REQUEST_SECONDS}_bucket", {**ids, "le": "+Inf"}, s.ok, minutes))
        out.append(_counter(f"{REQUEST_SECONDS}_count", ids, s.ok, minutes))
    return out


def _expected(rule: dict[str, Any], name: str, side: Side) -> dict[str, Any]:
    """The alert ``name`` about ``side``: the rule's labels, the series' labels, the annotations filled in."""
    spec = next(r for g in rule["spec"]["groups"] for r in g["rules"] if r.get("alert") == name)
    labels = {**BASE, "version": side.version, "track": side.track}

    def fill(text: str) -> str:
        return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels[m.group(1)], text)

    return {"exp_labels": {**labels, **spec["labels"]},
            "exp_annotations": {k: fill(v) for k, v in spec["annotations"].items()}}


def _promtool_test(tmp_path: Path, rule: dict[str, Any], sides: list[Side], minutes: int, eval_at: str,
                   firing: dict[str, list[Side]]) -> None:
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rule["spec"]))
    tests = {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": [{
        "interval": "1m",
        "input_series": _series(sides, minutes),
        "alert_rule_test": [{"eval_time": eval_at, "alertname": name,
                             "exp_alerts": [_expected(rule, name, s) for s in firing.get(name, [])]}
                            for name in ALERTS],
    }]}
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(tests))
    proc = run_tool("promtool", "test", "rules", "tests.yaml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_rendered_rule_passes_promtool_check(tmp_path: Path) -> None:
    rules = [(p, d) for p, d in rendered_documents() if kind_of(d) == RULE]
    assert len(rules) >= 6  # the repository's builtin models and the golden builtin cases
    files = []
    for i, (_, doc) in enumerate(rules):
        files.append(tmp_path / f"rules-{i}.yaml")
        files[-1].write_text(yaml.safe_dump(doc["spec"]))
    proc = run_tool("promtool", "check", "rules", *map(str, files))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    counts = [len(d["spec"]["groups"][0]["rules"]) for _, d in rules]
    assert re.findall(r"SUCCESS: (\d+) rules found", proc.stdout) == [str(n) for n in counts]
    assert 18 in counts  # with both objectives: 12 recording rules, 4 budget alerts, 2 canary alerts


STABLE = Side("1.3.0", "stable", ok=900)


def test_a_healthy_canary_fires_nothing(tmp_path: Path) -> None:
    _promtool_test(tmp_path, _rule(), [STABLE, Side("1.4.0", "canary", ok=100)], 60, "60m", {})


def test_a_canary_with_errors_fires_the_canary_alert_and_burns_its_own_budget(tmp_path: Path) -> None:
    canary = Side("1.4.0", "canary", ok=90, errors=10)
    _promtool_test(tmp_path, _rule(), [STABLE, canary], 60, "60m", {
        "ReleasegateCanaryErrorsAboveStable": [canary],
        "ReleasegateErrorBudgetFastBurn": [canary],  # 10 % errors: far above 14.4 x 0.1 % ...
        "ReleasegateErrorBudgetSlowBurn": [canary],  # ... and 6 x 0.1 %, for longer than 15 min
    })


def test_a_slow_canary_fires_the_latency_alerts(tmp_path: Path) -> None:
    canary = Side("1.4.0", "canary", ok=100, latency_s=0.15)  # every request over the 50 ms objective
    _promtool_test(tmp_path, _rule(), [STABLE, canary], 60, "60m", {
        "ReleasegateCanaryLatencyAboveStable": [canary],
        "ReleasegateLatencyBudgetFastBurn": [canary],
        "ReleasegateLatencyBudgetSlowBurn": [canary],
    })


def test_an_alert_waits_for_its_for_duration(tmp_path: Path) -> None:
    canary = Side("1.4.0", "canary", ok=100, latency_s=0.15)
    # At 4 min the canary comparison has held for less than monitoring.canary.for (5m) and the slow
    # burn for less than 15m: pending, not firing; the fast burn (for: 2m) fires.
    _promtool_test(tmp_path, _rule(), [STABLE, canary], 60, "4m", {"ReleasegateLatencyBudgetFastBurn": [canary]})


def test_too_few_requests_are_not_compared(tmp_path: Path) -> None:
    canary = Side("1.4.0", "canary", ok=15, errors=3, latency_s=0.15)  # 90 requests in 5 min: under 100
    _promtool_test(tmp_path, _rule(), [STABLE, canary], 60, "60m", {
        "ReleasegateErrorBudgetFastBurn": [canary],  # the budget alerts have no minimum
        "ReleasegateErrorBudgetSlowBurn": [canary],
        "ReleasegateLatencyBudgetFastBurn": [canary],
        "ReleasegateLatencyBudgetSlowBurn": [canary],
    })


def test_a_small_latency_difference_is_not_an_alert(tmp_path: Path) -> None:
    # 1.5 ms against 0.7 ms is twice as slow, but below monitoring.canary.minLatencyIncreaseMs (5 ms).
    _promtool_test(tmp_path, _rule(), [Side("1.3.0", "stable", ok=900, latency_s=0.0007),
                                       Side("1.4.0", "canary", ok=100, latency_s=0.0015)], 60, "60m", {})


def test_without_a_canary_only_the_budget_alerts_speak(tmp_path: Path) -> None:
    stable = Side("1.3.0", "stable", ok=980, errors=20)  # 2 % errors, no canary track at all
    _promtool_test(tmp_path, _rule(), [stable], 60, "60m", {"ReleasegateErrorBudgetFastBurn": [stable],
                                                            "ReleasegateErrorBudgetSlowBurn": [stable]})


def test_a_slow_burn_is_a_ticket_that_opens_nothing(tmp_path: Path) -> None:
    stable = Side("1.3.0", "stable", ok=990, errors=10)  # 1 %: above 6 x 0.1 %, below 14.4 x 0.1 %
    rule = _rule()
    _promtool_test(tmp_path, rule, [stable], 420, "7h", {"ReleasegateErrorBudgetSlowBurn": [stable]})
    assert ACTION_LABEL not in _expected(rule, "ReleasegateErrorBudgetSlowBurn", stable)["exp_labels"]
    assert _expected(rule, "ReleasegateErrorBudgetFastBurn", stable)["exp_labels"][ACTION_LABEL] == "rollback"


@pytest.mark.parametrize(("p95_ms", "expected"), [
    (50, "1 - sum by (model, environment, version, track) (rate(releasegate_serve_request_seconds_bucket"
         "{model='m',environment='dev',le='0.05'}[5m])) /"),
    (30, "1 - (sum by (model, environment, version, track) (rate(releasegate_serve_request_seconds_bucket"
         "{model='m',environment='dev',le='0.02'}[5m])) * 0.666667 + sum by (model, environment, version, track) "
         "(rate(releasegate_serve_request_seconds_bucket{model='m',environment='dev',le='0.05'}[5m])) * 0.333333) /"),
    (0.2, "1 - sum by (model, environment, version, track) (rate(releasegate_serve_request_seconds_bucket"
          "{model='m',environment='dev',le='0.0005'}[5m])) * 0.4 /"),
    (20000, "1 - sum by (model, environment, version, track) (rate(releasegate_serve_request_seconds_bucket"
            "{model='m',environment='dev',le='10.0'}[5m])) /"),
])
def test_the_latency_objective_is_interpolated_between_buckets(p95_ms: float, expected: str) -> None:
    from releasegate.render.promql import slow_ratio

    assert slow_ratio("m", "dev", "5m", p95_ms / 1000).startswith(expected)


def test_interpolated_objectives_pass_promtool(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", "builtin-rolling")
    text = (repo.root / "environments/dev/releases/sentiment.yaml").read_text()
    write_release(repo, "dev", "sentiment", text.replace("p95LatencyMs: 50", "p95LatencyMs: 30") if
                  "p95LatencyMs: 50" in text else text + "  slo: {p95LatencyMs: 30, maxErrorRate: 0.02}\n")
    docs = yaml.safe_load_all(render_plan(repo).expected["environments/dev/manifests/sentiment.yaml"] or b"")
    rule = next(d for d in docs if d and kind_of(d) == RULE)
    assert "* 0.666667" in yaml.safe_dump(rule)
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rule["spec"]))
    proc = run_tool("promtool", "check", "rules", str(tmp_path / "rules.yaml"))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_monitoring_can_be_turned_off(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", "builtin-rolling")
    config = repo.root / "policies/render.yaml"
    config.write_text(config.read_text() + "monitoring:\n  enabled: false\n")
    rendered = render_plan(repo).expected["environments/dev/manifests/sentiment.yaml"] or b""
    assert b"PodMonitor" not in rendered and b"PrometheusRule" not in rendered


def test_labels_let_the_prometheus_select_the_objects(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", "builtin-rolling")
    config = repo.root / "policies/render.yaml"
    config.write_text(config.read_text() + "monitoring:\n  labels: {release: kube-prometheus-stack}\n"
                      "  interval: 15s\n")
    docs = [d for d in yaml.safe_load_all(render_plan(repo).expected["environments/dev/manifests/sentiment.yaml"]
                                          or b"") if d]
    monitor = next(d for d in docs if d["kind"] == "PodMonitor")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert monitor["spec"]["podMetricsEndpoints"][0]["interval"] == "15s"
    assert next(d for d in docs if d["kind"] == "PrometheusRule")["metadata"]["labels"]["release"] == \
        "kube-prometheus-stack"


def test_an_unusable_objective_is_a_render_problem(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", "builtin-rolling")
    text = (repo.root / "environments/dev/releases/sentiment.yaml").read_text()
    write_release(repo, "dev", "sentiment", text + "  slo: {p95LatencyMs: 0, maxErrorRate: 1.5}\n")
    problems = render_plan(repo).problems
    assert [(p.rule, p.message) for p in problems] == [
        ("render.slo", "slo.p95LatencyMs 0 must be above 0"),
        ("render.slo", "slo.maxErrorRate 1.5 must be above 0 and at most 1"),
    ]
