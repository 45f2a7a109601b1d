"""Labels and annotations that trace every rendered object back to its release file."""
from __future__ import annotations

from typing import Any

from releasegate.render import k8s
from releasegate.render.config import RenderConfig
from releasegate.render.workload import Workload

MANAGED_BY = "releasegate"
TRACK_LABEL = "releasegate.dev/track"


def selector(w: Workload, track: str | None = None) -> dict[str, str]:
    """Labels that select the pods of a model (and track). Never contains the version:
    Deployment selectors are immutable, versions are not."""
    labels = {"app.kubernetes.io/name": w.name, "releasegate.dev/environment": w.env}
    if track:
        labels[TRACK_LABEL] = track
    return labels


def labels(w: Workload, component: str, version: str | None = None, track: str | None = None) -> dict[str, str]:
    out = dict(w.labels)
    out.update(selector(w, track))
    out.update({
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/managed-by": MANAGED_BY,
        "app.kubernetes.io/part-of": w.name,
        "releasegate.dev/model": w.name,
    })
    value = k8s.label_value(version if version is not None else w.version)
    if value:
        out["app.kubernetes.io/version"] = value
    return out


def trace_annotations(w: Workload, version: str | None = None, sha256: str | None = None,
                uri: str | None = None) -> dict[str, str]:
    out = {
        "releasegate.dev/release-file": w.source,
        "releasegate.dev/version": version if version is not None else w.version,
        "releasegate.dev/artifact-uri": uri if uri is not None else w.artifact.uri,
    }
    digest = sha256 if sha256 is not None else w.artifact.sha256
    if digest:
        out["releasegate.dev/sha256"] = digest
    if w.owner:
        out["releasegate.dev/owner"] = w.owner
    return out


def metadata(name: str, lbls: dict[str, str], annos: dict[str, str]) -> dict[str, Any]:
    return {"name": name, "labels": lbls, "annotations": annos}


def gpu_placement(w: Workload, cfg: RenderConfig) -> dict[str, Any]:
    """Tolerations and node selector of a GPU pod, from the environment's GPU preset."""
    if not w.gpu:
        return {}
    gpu = cfg.env(w.env).gpu
    out: dict[str, Any] = {"tolerations": gpu.toleration_list()}
    if w.gpu_type:
        out["nodeSelector"] = {gpu.node_label: gpu.product(w.gpu_type)}
    return out


def resources(w: Workload, cfg: RenderConfig) -> dict[str, Any]:
    """Container resources: CPU and memory requests, memory limit = request, GPUs as an
    extended resource (request = limit, as Kubernetes requires). No CPU limit (throttling
    a model server costs latency and buys nothing)."""
    requests: dict[str, Any] = {}
    limits: dict[str, Any] = {}
    if w.cpu:
        requests["cpu"] = w.cpu
    if w.memory:
        requests["memory"] = w.memory
        limits["memory"] = w.memory
    if w.gpu:
        resource = cfg.env(w.env).gpu.resource
        requests[resource] = str(w.gpu)
        limits[resource] = str(w.gpu)
    return {k: v for k, v in (("requests", requests), ("limits", limits)) if v}
