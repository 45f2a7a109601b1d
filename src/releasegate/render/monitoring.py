"""Monitoring of a model served by ``releasegate serve`` (builtin, or KServe with releasegate's runtime),
rendered from its release file's SLOs (docs/monitoring.md).

- a ``PodMonitor`` (Prometheus Operator) that scrapes ``/metrics`` of every pod of the model, both
  tracks, and copies the pod's ``releasegate.dev/environment`` label onto the series as ``environment``;
- a ``PrometheusRule`` with recording rules (request rate, error ratio and the share of requests
  slower than ``slo.p95LatencyMs`` over 5 min, 30 min, 1 h and 6 h; p50/p95/p99 latency) and alerts:
  multiwindow multi-burn-rate alerts on the error and latency budgets (``slo.maxErrorRate``,
  ``slo.p95LatencyMs``), and canary-versus-stable alerts (``monitoring.canary`` of policies/render.yaml).

Alerts that should take traffic away from a version carry ``releasegate_action: rollback``:
``releasegate on-alert`` acts on those only. ``slo.minThroughputRps`` is a capacity the load test
measures; traffic in production follows demand, so no alert is rendered for it (its rate is recorded).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from releasegate.alerts import ACTION_LABEL, ROLLBACK
from releasegate.render import meta, promql, yamlout
from releasegate.render.config import CanaryComparison, RenderConfig
from releasegate.render.workload import Workload

_WHO = "{{ $labels.model }} {{ $labels.version }} ({{ $labels.track }}) in {{ $labels.environment }}"
# The specs of the two objects differ between models only by the model's name: each is emitted once per
# environment, objectives and settings with this stand-in, a DNS label like every model name (so YAML
# quotes both alike), which is then replaced by the name.
_MODEL = "releasegate-model-stand-in"


@dataclass(frozen=True)
class Subject:
    """What the rules of one model depend on (the model's name aside)."""

    model: str
    env: str
    p95_ms: float | None
    max_error_rate: float | None
    canary: CanaryComparison


def render(w: Workload, cfg: RenderConfig, ports: tuple[str, ...] = ("http",)) -> list[dict[str, Any]]:
    """The PodMonitor and PrometheusRule of one workload served by ``releasegate serve`` (none when
    monitoring is off); ``ports``: the names the server's port has in its pods."""
    if not cfg.monitoring.enabled:
        return []
    return [pod_monitor(w, cfg, ports), prometheus_rule(w, cfg)]


def _metadata(w: Workload, cfg: RenderConfig) -> dict[str, Any]:
    labels = meta.labels(w, "monitoring")
    labels.update(cfg.monitoring.labels)
    return meta.metadata(w.name, labels, meta.trace_annotations(w))


def _emitted(text: str, w: Workload) -> yamlout.Emitted:
    return yamlout.Emitted(text.replace(_MODEL, w.name))


def pod_monitor(w: Workload, cfg: RenderConfig, ports: tuple[str, ...] = ("http",)) -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": _metadata(w, cfg),
        "spec": _emitted(_pod_monitor_spec(w.env, cfg.monitoring.interval, ports), w),
    }


@functools.lru_cache(maxsize=256)
def _pod_monitor_spec(env: str, interval: str, ports: tuple[str, ...]) -> str:
    """One endpoint per port name: a pod without that port name gives no target for it."""
    relabel = {"action": "replace", "sourceLabels": ["__meta_kubernetes_pod_label_releasegate_dev_environment"],
               "targetLabel": "environment"}
    return yamlout.emitted({
        "selector": {"matchLabels": {"app.kubernetes.io/name": _MODEL, "releasegate.dev/environment": env}},
        "podMetricsEndpoints": [{"port": port, "path": "/metrics", "interval": interval, "relabelings": [relabel]}
                                for port in ports],
    })


def prometheus_rule(w: Workload, cfg: RenderConfig) -> dict[str, Any]:
    subject = Subject(_MODEL, w.env, w.slo_p95_ms, w.slo_max_error_rate, cfg.monitoring.canary)
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": _metadata(w, cfg),
        "spec": _emitted(_rule_spec(subject), w),
    }


@functools.lru_cache(maxsize=1024)
def _rule_spec(s: Subject) -> str:
    return yamlout.emitted({"groups": [{"name": f"releasegate.{s.env}.{s.model}", "rules": rules(s)}]})


def rules(s: Subject) -> list[dict[str, Any]]:
    """Recording rules first (a group evaluates in order), then the alerts."""
    return [*_recording(s), *_error_burns(s), *_latency_burns(s), *_canary_alerts(s)]


def _record(name: str, expr: str) -> dict[str, Any]:
    return {"record": name, "expr": expr}


def _recording(s: Subject) -> list[dict[str, Any]]:
    m, e = s.model, s.env
    out = [_record(promql.REQUESTS_RATE, promql.requests_rate(m, e))]
    out += [_record(f"{promql.ERROR_RATIO}{win}", promql.error_ratio(m, e, win)) for win in promql.WINDOWS]
    if s.p95_ms is not None:
        bound = s.p95_ms / 1000
        out += [_record(f"{promql.SLOW_RATIO}{win}", promql.slow_ratio(m, e, win, bound)) for win in promql.WINDOWS]
    out += [_record(promql.QUANTILE.format(q=q), promql.quantile(m, e, q)) for q in promql.QUANTILES]
    return out


def _alert(name: str, expr: str, for_: str, labels: dict[str, str], summary: str, description: str) -> dict[str, Any]:
    return {"alert": name, "expr": expr, "for": for_, "labels": labels,
            "annotations": {"summary": summary, "description": description}}


def _labels(severity: str, slo: str) -> dict[str, str]:
    labels = {"severity": severity, "slo": slo}
    if severity == "page":
        labels[ACTION_LABEL] = ROLLBACK
    return labels


def _error_burns(s: Subject) -> list[dict[str, Any]]:
    budget = s.max_error_rate
    if budget is None:
        return []
    return [_alert(
        f"ReleasegateErrorBudget{b.name}", promql.burn(promql.ERROR_RATIO, s.model, s.env, b, budget), b.for_,
        _labels(b.severity, "error-rate"), f"{_WHO} burns its error budget {b.factor:g}x too fast",
        f"The error ratio (5xx answers) over {b.long} and {b.short} is above {b.factor:g} x slo.maxErrorRate "
        f"{promql.num(budget)}: at this rate a 30-day error budget lasts {b.days:.1f} days.",
    ) for b in promql.BURNS]


def _latency_burns(s: Subject) -> list[dict[str, Any]]:
    if s.p95_ms is None:
        return []
    return [_alert(
        f"ReleasegateLatencyBudget{b.name}",
        promql.burn(promql.SLOW_RATIO, s.model, s.env, b, promql.LATENCY_BUDGET), b.for_,
        _labels(b.severity, "latency"), f"{_WHO} is slower than its p95 objective, {b.factor:g}x too often",
        f"Over {b.long} and {b.short} more than {b.factor:g} x 5 % of the requests took longer than "
        f"slo.p95LatencyMs {promql.num(s.p95_ms)} ms: at this rate a 30-day budget lasts {b.days:.1f} days.",
    ) for b in promql.BURNS]


def error_margin(max_error_rate: float | None, canary: CanaryComparison) -> float:
    """How much more often than stable a canary may err: slo.maxErrorRate, else the setting."""
    return max_error_rate if max_error_rate is not None else canary.error_ratio_margin


def _canary_alerts(s: Subject) -> list[dict[str, Any]]:
    c = s.canary
    margin = error_margin(s.max_error_rate, c)
    enough = f"with at least {c.min_requests} requests on each side in 5 min"
    return [
        _alert("ReleasegateCanaryErrorsAboveStable",
               promql.canary_errors(s.model, s.env, margin, c.min_requests), c.for_, _labels("page", "canary"),
               f"{_WHO} answers with errors more often than the stable version",
               f"The canary's error ratio over 5 min exceeds the stable side's by more than {promql.num(margin)}, "
               f"{enough}."),
        _alert("ReleasegateCanaryLatencyAboveStable",
               promql.canary_latency(s.model, s.env, c.max_latency_ratio, c.min_latency_increase_ms / 1000,
                                     c.min_requests), c.for_, _labels("page", "canary"),
               f"{_WHO} is slower than the stable version",
               f"The canary's p95 latency over 5 min is above {promql.num(c.max_latency_ratio)} x the stable "
               f"side's and at least {promql.num(c.min_latency_increase_ms)} ms higher, {enough}."),
    ]
