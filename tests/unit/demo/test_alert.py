"""The demo's alert: the rendered rule, wrapped as Alertmanager wraps it, read by on-alert's parser."""
from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from releasegate.alerts.payload import parse
from releasegate.demo.alert import fingerprint, firing_body, rendered_alert
from releasegate.errors import InputError
from tests.support.prometheus import alertmanager, get_json

RULE = """apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: sentiment}
spec:
  groups:
  - name: releasegate.prod.sentiment
    rules:
    - record: releasegate:serve_requests:rate5m
      expr: vector(1)
    - alert: ReleasegateCanaryErrorsAboveStable
      expr: vector(1)
      labels: {releasegate_action: rollback, severity: page, slo: canary}
      annotations:
        summary: "{{ $labels.model }} {{ $labels.version }} ({{ $labels.track }}) in {{ $labels.environment }} errs"
        description: more errors than stable
"""
SERIES = {"model": "sentiment", "environment": "prod", "version": "1.3.0", "track": "canary"}


def test_the_body_carries_the_rule_and_the_series(tmp_path: Path) -> None:
    manifest = tmp_path / "sentiment.yaml"
    manifest.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: sentiment}\n---\n" + RULE)
    body = firing_body(rendered_alert(manifest, "ReleasegateCanaryErrorsAboveStable"), SERIES, "2026-11-11T13:15:00Z")
    [alert] = body["alerts"]
    assert alert["labels"] == {"alertname": "ReleasegateCanaryErrorsAboveStable", **SERIES,
                               "releasegate_action": "rollback", "severity": "page", "slo": "canary"}
    assert alert["annotations"]["summary"] == "sentiment 1.3.0 (canary) in prod errs"
    assert body["version"] == "4" and body["status"] == alert["status"] == "firing"

    [parsed] = parse(json.dumps(body).encode(), "demo.json").alerts
    assert dict(parsed.labels)["version"] == "1.3.0" and parsed.fingerprint == alert["fingerprint"]


def test_an_unknown_alert_names_the_manifest(tmp_path: Path) -> None:
    manifest = tmp_path / "sentiment.yaml"
    manifest.write_text(RULE)
    with pytest.raises(InputError, match="sentiment.yaml: no alert Nope in its PrometheusRule"):
        rendered_alert(manifest, "Nope")


def test_the_fingerprint_is_alertmanagers(tmp_path: Path) -> None:
    """Alertmanager computes the fingerprint of every alert it receives: the demo's must be the same."""
    labels = {"alertname": "ReleasegateCanaryErrorsAboveStable", **SERIES, "severity": "page", "team": "nlp ü"}
    config = {"route": {"receiver": "none"}, "receivers": [{"name": "none"}]}
    with alertmanager(tmp_path, config) as am:
        request = urllib.request.Request(f"{am.url}/api/v2/alerts", method="POST",
                                         data=json.dumps([{"labels": labels}]).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as resp:  # noqa: S310 - loopback only
            assert resp.status == 200
        [stored] = get_json(f"{am.url}/api/v2/alerts")
    assert stored["labels"] == labels
    assert fingerprint(labels) == stored["fingerprint"]
