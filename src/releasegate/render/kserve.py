"""``runtime.kind: kserve``: one KServe ``InferenceService`` (serving.kserve.io/v1beta1).

KServe fetches the artifact itself (storage initializer) and, in Serverless
mode, keeps the previously ready revision: ``canaryTrafficPercent`` sends that
share of traffic to the new revision and the rest to the previous one, so the
release file alone is enough. In RawDeployment mode KServe silently ignores
``canaryTrafficPercent`` (kserve/kserve#5335), so that combination is refused.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from releasegate.render import meta
from releasegate.render.config import RenderConfig
from releasegate.render.problems import PathPart, Problem
from releasegate.render.workload import Workload

MODES = ("Serverless", "RawDeployment")
# What KServe's storage initializer can download.
SCHEMES = ("s3", "gs", "https", "pvc", "hdfs", "webhdfs")
_KS: tuple[PathPart, ...] = ("spec", "runtime", "kserve")


def _problem(w: Workload, path: tuple[PathPart, ...], message: str, hint: str, rule: str = "render.kserve") -> Problem:
    return Problem(w.source, path, rule, message, hint)


def check(w: Workload, cfg: RenderConfig) -> list[Problem]:
    """What a kserve workload lacks or asks for that KServe would ignore."""
    problems = []
    mode = w.kserve.get("deploymentMode")
    if not w.kserve.get("modelFormat"):
        problems.append(_problem(w, (*_KS, "modelFormat"), "runtime.kind kserve needs runtime.kserve.modelFormat",
                                 "add spec.runtime.kserve.modelFormat (e.g. pytorch), the name KServe picks "
                                 "its ServingRuntime by", "render.required"))
    if mode is not None and mode not in MODES:
        problems.append(_problem(w, (*_KS, "deploymentMode"), f"unknown deploymentMode {mode!r}",
                                 f"use one of {', '.join(MODES)}"))
    problems += _canary_problems(w, mode)
    scheme = urlsplit(w.artifact.uri).scheme if "://" in w.artifact.uri else ""
    if scheme not in SCHEMES:
        problems.append(_problem(w, ("spec", "model", "artifact", "uri"),
                                 f"KServe cannot fetch {w.artifact.uri!r} (its storage initializer reads "
                                 f"{', '.join(s + '://' for s in SCHEMES)})",
                                 "publish the artifact to object storage and use its s3://, gs:// or https:// URI"))
    for field, why in (("image", "choose the server through modelFormat (KServe ServingRuntime)"),
                       ("dtype", "the dtype is a setting of the builtin server")):
        if getattr(w, field) is not None:
            problems.append(_problem(w, ("spec", "runtime", field), f"runtime.{field} is not used by runtime.kind kserve",
                                     f"remove spec.runtime.{field}: {why}"))
    if w.max_delay_ms is not None and not float(w.max_delay_ms).is_integer():
        problems.append(_problem(w, ("spec", "runtime", "batching", "maxDelayMs"),
                                 f"KServe's batcher takes whole milliseconds, not {w.max_delay_ms}",
                                 "round batching.maxDelayMs to an integer"))
    return problems


def _canary_problems(w: Workload, mode: str | None) -> list[Problem]:
    if w.canary_percent is None:
        return []
    path: tuple[PathPart, ...] = ("spec", "rollout", "strategy")
    if mode == "RawDeployment":
        return [_problem(w, path, "KServe ignores canaryTrafficPercent in RawDeployment mode (kserve/kserve#5335): "
                                  "the new version would take all traffic at once",
                         "use runtime.kserve.deploymentMode: Serverless for a canary, or strategy: rolling")]
    if mode is None:
        return [_problem(w, (*_KS, "deploymentMode"),
                         "a KServe canary needs deploymentMode: Serverless stated explicitly: the cluster's default "
                         "mode may be RawDeployment, which ignores canaryTrafficPercent",
                         "add spec.runtime.kserve.deploymentMode: Serverless")]
    if w.stable is not None:
        return [_problem(w, ("spec", "rollout", "stable"),
                         "spec.rollout.stable is not used by KServe: it keeps the previous revision itself",
                         "remove spec.rollout.stable")]
    return []


def render(w: Workload, cfg: RenderConfig) -> list[dict[str, Any]]:
    """The InferenceService of one kserve workload."""
    annos = meta.trace_annotations(w)
    mode = w.kserve.get("deploymentMode")
    if mode:
        annos["serving.kserve.io/deploymentMode"] = mode
    labels = meta.labels(w, "predictor")
    return [{
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": meta.metadata(w.name, labels, annos),
        "spec": {"predictor": _predictor(w, cfg, labels, meta.trace_annotations(w))},
    }]


def _predictor(w: Workload, cfg: RenderConfig, labels: dict[str, str], annos: dict[str, str]) -> dict[str, Any]:
    model: dict[str, Any] = {
        "modelFormat": {"name": w.kserve["modelFormat"]},
        "storageUri": w.artifact.uri,
    }
    if w.kserve.get("protocolVersion"):
        model["protocolVersion"] = w.kserve["protocolVersion"]
    resources = meta.resources(w, cfg)
    if resources:
        model["resources"] = resources
    predictor: dict[str, Any] = {
        "labels": labels,
        "annotations": annos,
        "minReplicas": w.replicas,
        "maxReplicas": max(w.replicas, 1),
        "model": model,
    }
    if w.canary_percent is not None:
        predictor["canaryTrafficPercent"] = w.canary_percent
    if w.max_batch is not None or w.max_delay_ms is not None:
        predictor["batcher"] = _batcher(w)
    predictor.update(meta.gpu_placement(w, cfg))
    return predictor


def _batcher(w: Workload) -> dict[str, int]:
    out = {}
    if w.max_batch is not None:
        out["maxBatchSize"] = w.max_batch
    if w.max_delay_ms is not None:
        out["maxLatency"] = int(w.max_delay_ms)
    return out
