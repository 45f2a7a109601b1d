"""The webhook body Alertmanager would post when a rendered alert fires, for the demo.

The demo has no cluster, so no Prometheus scrapes its canary. What it can show truthfully is the
rest of the loop: the alert is one of the rules ``render`` wrote into the demo repository (its name,
labels and annotations are read from the rendered PrometheusRule), wrapped the way Alertmanager
wraps it (webhook version 4), and handed to ``releasegate on-alert``. The loop with a real
Prometheus and Alertmanager is tested in tests/acceptance/test_closed_loop.py.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from releasegate.errors import InputError

_TEMPLATE = re.compile(r"\{\{\s*\$labels\.(\w+)\s*\}\}")


def rendered_alert(manifest: Path, alertname: str) -> dict[str, Any]:
    """The alerting rule ``alertname`` of the PrometheusRule in the rendered ``manifest``."""
    for doc in yaml.safe_load_all(manifest.read_text(encoding="utf-8")):
        if not isinstance(doc, dict) or doc.get("kind") != "PrometheusRule":
            continue
        for group in doc["spec"]["groups"]:
            for rule in group["rules"]:
                if rule.get("alert") == alertname:
                    return dict(rule)
    raise InputError(f"{manifest}: no alert {alertname} in its PrometheusRule",
                     "render the manifests with monitoring on (policies/render.yaml: monitoring)")


def fingerprint(labels: Mapping[str, str]) -> str:
    """Prometheus's label-set fingerprint (FNV-1a 64 over sorted name, 0xff, value, 0xff), as Alertmanager sends it."""
    h = 0xcbf29ce484222325
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in part.encode() + b"\xff":
                h = ((h ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def firing_body(rule: Mapping[str, Any], series: Mapping[str, str], starts_at: str) -> dict[str, Any]:
    """Alertmanager's webhook body (version 4) for ``rule`` firing on the series with ``series`` labels."""
    labels = {"alertname": str(rule["alert"]), **series, **rule.get("labels", {})}
    annotations = {key: _TEMPLATE.sub(lambda m: labels.get(m.group(1), ""), str(value))
                   for key, value in rule.get("annotations", {}).items()}
    alert = {"status": "firing", "labels": labels, "annotations": annotations, "startsAt": starts_at,
             "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": fingerprint(labels)}
    return {"version": "4", "receiver": "releasegate", "status": "firing", "alerts": [alert],
            "groupLabels": {"alertname": labels["alertname"]}, "commonLabels": labels,
            "commonAnnotations": annotations, "externalURL": "",
            "groupKey": '{}:{alertname="' + labels["alertname"] + '"}', "truncatedAlerts": 0}
