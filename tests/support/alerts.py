"""Alertmanager webhook bodies (version 4) for the alert tests, shaped like Alertmanager 0.25 sends them."""
from __future__ import annotations

import hashlib
import json
from typing import Any


def alert(name: str = "ReleasegateCanaryLatencyAboveStable", *, model: str = "sentiment", env: str = "prod",
          version: str = "1.1.0", track: str = "canary", status: str = "firing", action: str | None = "rollback",
          **annotations: str) -> dict[str, Any]:
    labels = {"alertname": name, "model": model, "environment": env, "version": version, "track": track,
              "severity": "page", "slo": "canary"}
    if action is not None:
        labels["releasegate_action"] = action
    fingerprint = hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]
    return {
        "status": status, "labels": labels,
        "annotations": annotations or {"summary": f"{model} {version} ({track}) in {env} is slower than the stable "
                                                  "version", "description": "p95 above 1.2 x stable's"},
        "startsAt": "2026-01-10T00:30:00.000Z",
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-01-10T00:40:00.000Z",
        "generatorURL": "http://prometheus.example:9090/graph?g0.expr=releasegate%3Aserve",
        "fingerprint": fingerprint,
    }


def notification(*alerts: dict[str, Any], status: str | None = None) -> dict[str, Any]:
    """The webhook body around ``alerts`` (labels common to all of them, as Alertmanager computes them)."""
    common = dict(alerts[0]["labels"]) if alerts else {}
    for a in alerts[1:]:
        common = {k: v for k, v in common.items() if a["labels"].get(k) == v}
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "receiver": "releasegate", "status": status or ("firing" if firing else "resolved"), "alerts": list(alerts),
        "groupLabels": {"alertname": common.get("alertname", "")}, "commonLabels": common,
        "commonAnnotations": {}, "externalURL": "http://alertmanager.example:9093", "version": "4",
        "groupKey": '{}:{alertname="' + str(common.get("alertname", "")) + '"}', "truncatedAlerts": 0,
    }


def body(*alerts: dict[str, Any]) -> bytes:
    return json.dumps(notification(*alerts)).encode()
