"""``runtime.kind: builtin``: Deployments, Services, PodDisruptionBudgets (and an
HTTPRoute) that run ``releasegate serve`` on the model artifact.

Rolling mode (and an idle canary strategy) renders one Deployment ``<name>`` (track
``stable``). A running canary adds ``<name>-canary`` running the release's version while
``<name>`` runs ``spec.rollout.stable``, and a Gateway API HTTPRoute splits traffic by the
current step's weight between the Services ``<name>-stable`` and ``<name>-canary``.
"""
from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlsplit

from releasegate.render import k8s, meta, monitoring
from releasegate.render.config import Gateway, RenderConfig
from releasegate.render.problems import PathPart, Problem
from releasegate.render.workload import Artifact, Workload

_FILE_NAMES = {"torch-export": "model.pt2", "torchscript": "model.pt", "safetensors": "model.safetensors"}
_SERVICE_PORT = 80
DEFAULT_DTYPE = "float32"
DEFAULT_MAX_BATCH = 64
DEFAULT_MAX_DELAY_MS = 2.0


def check(w: Workload, cfg: RenderConfig) -> list[Problem]:
    """What a builtin workload lacks; empty when it can be rendered."""
    problems = _artifact_problems(w, w.artifact, ("spec", "model", "artifact"), cfg)
    if w.stable is not None:
        problems += _artifact_problems(w, w.stable.artifact, ("spec", "rollout", "stable", "artifact"), cfg)
    problems += signature_problems(w)
    problems += _pod_security_problems(w, cfg)
    if w.kserve:
        problems.append(_problem(w, ("spec", "runtime", "kserve"), "runtime.kserve is only read by runtime.kind kserve",
                                 "remove spec.runtime.kserve or set runtime.kind: kserve"))
    if w.canary_percent == 0:
        problems.append(_problem(
            w, ("spec", "rollout", "canaryPercent"),
            "canaryPercent 0 (an aborted canary) is for KServe, which keeps its last rolled-out revision",
            "an aborted builtin canary is a release at the stable version: run releasegate rollout abort, "
            "which writes that"))
    elif w.canary_percent is not None and w.stable is None:
        problems.append(_problem(
            w, ("spec", "rollout"),
            "a builtin canary needs the version it runs beside: spec.rollout.stable is missing",
            "add spec.rollout.stable with the version and artifact (uri, sha256, format) that the environment "
            "runs now (what main's release file said before this change), or use strategy: rolling"))
    if w.canary_percent is not None and cfg.gateway is None:
        problems.append(_problem(
            w, ("spec", "rollout", "canaryPercent"),
            "a builtin canary splits traffic with a Gateway API HTTPRoute, but no gateway is configured",
            "set gateway.name (and gateway.namespace) in policies/render.yaml, or use strategy: rolling"))
    return problems


def _pod_security_problems(w: Workload, cfg: RenderConfig) -> list[Problem]:
    """A node-local artifact is a hostPath volume, which Pod Security baseline and restricted forbid."""
    level = cfg.env(w.env).pod_security
    if level == "privileged" or not _is_local(w.artifact):
        return []
    return [_problem(
        w, ("spec", "model", "artifact", "uri"),
        f"a node-local artifact is mounted with hostPath, which Pod Security {level!r} (the namespace of "
        f"environment {w.env}) forbids: the pods would be rejected",
        f"publish the artifact (s3://, gs://, https://), or, for a single-node demo cluster only, set "
        f"environments.{w.env}.podSecurity: privileged in policies/render.yaml")]


def signature_problems(w: Workload) -> list[Problem]:
    """The server takes each input's shape without the batch dimension, all fixed."""
    problems = []
    base: tuple[PathPart, ...] = ("spec", "model", "signature", "inputs")
    for i, (name, _, shape) in enumerate(w.inputs):
        if len(shape) < 1 or any(d < 1 for d in shape[1:]):
            problems.append(_problem(
                w, (*base, i, "shape"), f"input {name!r}: the built-in server needs fixed dimensions after the "
                f"batch dimension, not {list(shape)}", "write the shape as [-1, <fixed sizes>], e.g. [-1, 64]"))
    if w.artifact.format == "torchscript" and not w.inputs:
        problems.append(_problem(
            w, ("spec", "model", "signature"), "a TorchScript model does not describe its inputs: "
            "the built-in server needs spec.model.signature", "add spec.model.signature.inputs "
            "(name, datatype, shape with the batch dimension first)", "render.required"))
    return problems


def _problem(w: Workload, path: tuple[PathPart, ...], message: str, hint: str, rule: str = "render.builtin") -> Problem:
    return Problem(w.source, path, rule, message, hint)


def _artifact_problems(w: Workload, a: Artifact, path: tuple[PathPart, ...], cfg: RenderConfig) -> list[Problem]:
    problems = []
    if not a.sha256:
        problems.append(_problem(
            w, (*path, "sha256"), "runtime.kind builtin needs the artifact's sha256: the server verifies it before loading",
            "add sha256 (64 hex digits: sha256sum of the artifact file)", "render.required"))
    if a.format and a.format not in _FILE_NAMES:
        problems.append(_problem(w, (*path, "format"), f"unknown artifact format {a.format!r}",
                                 f"use one of {', '.join(sorted(_FILE_NAMES))}"))
    if a.format == "safetensors" and not a.factory:
        problems.append(_problem(w, (*path, "factory"), "safetensors weights need a model factory",
                                 "add artifact.factory: the name of an installed model factory", "render.required"))
    scheme = urlsplit(a.uri).scheme if "://" in a.uri else ""
    if scheme not in ("", "file") and scheme not in cfg.fetchers:
        problems.append(_problem(w, (*path, "uri"), f"no fetcher for {scheme}:// artifacts",
                                 f"use one of {', '.join(sorted(cfg.fetchers))}:// or add builtin.fetchers.{scheme} "
                                 "to policies/render.yaml"))
    if not _is_local(a) and a.size_bytes is None:
        problems.append(_problem(
            w, (*path, "sizeBytes"), "a fetched artifact needs its size: it sizes the pod's model volume "
            "(emptyDir sizeLimit) and ephemeral-storage request, so that the pod lands on a node with room for it",
            "add sizeBytes: the artifact's size in bytes (stat -c %s <artifact>)", "render.required"))
    return problems


def render(w: Workload, cfg: RenderConfig) -> list[dict[str, Any]]:
    """All objects of one builtin workload, in a fixed order."""
    if w.canary_percent is None or w.stable is None or cfg.gateway is None:
        return [
            deployment(w, cfg, w.name, "stable", w.version, w.artifact, w.replicas),
            service(w, w.name, None),
            pdb(w, w.name, "stable"),
            network_policy(w, cfg),
            *([route(w, cfg.gateway, [(w.name, 1)])] if cfg.gateway else []),
            *monitoring.render(w, cfg),
        ]
    canary_replicas = max(1, math.ceil(w.replicas * w.canary_percent / 100))
    canary = f"{w.name}-canary"
    return [
        deployment(w, cfg, w.name, "stable", w.stable.version, w.stable.artifact, w.replicas),
        _prune_last(deployment(w, cfg, canary, "canary", w.version, w.artifact, canary_replicas)),
        service(w, w.name, None),
        service(w, f"{w.name}-stable", "stable"),
        _prune_last(service(w, canary, "canary")),
        pdb(w, w.name, "stable"),
        _prune_last(pdb(w, canary, "canary")),
        network_policy(w, cfg),
        route(w, cfg.gateway, [(f"{w.name}-stable", 100 - w.canary_percent), (canary, w.canary_percent)]),
        *monitoring.render(w, cfg),
    ]


def _prune_last(obj: dict[str, Any]) -> dict[str, Any]:
    """When the canary ends, Argo CD deletes its objects after the route (wave 1) has moved off them."""
    obj["metadata"]["annotations"]["argocd.argoproj.io/sync-options"] = "PruneLast=true"
    return obj


def deployment(w: Workload, cfg: RenderConfig, name: str, track: str, version: str, a: Artifact,
               replicas: int) -> dict[str, Any]:
    labels = meta.labels(w, "predictor", version, track)
    annos = meta.trace_annotations(w, version, a.sha256, a.uri)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta.metadata(name, labels, annos),
        "spec": {
            "replicas": replicas,
            "revisionHistoryLimit": 3,
            "selector": {"matchLabels": meta.selector(w, track)},
            "strategy": _strategy(w, cfg),
            "template": {
                "metadata": {"labels": labels, "annotations": annos},
                "spec": pod_spec(w, cfg, a, version, track),
            },
        },
    }


def _strategy(w: Workload, cfg: RenderConfig) -> dict[str, Any]:
    """RollingUpdate from the environment's updateStrategy (default maxSurge 0: no spare GPU needed)."""
    env = cfg.env(w.env)
    return {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": env.max_surge, "maxUnavailable": env.max_unavailable}}


def pod_spec(w: Workload, cfg: RenderConfig, a: Artifact, version: str, track: str) -> dict[str, Any]:
    path = f"{cfg.model_dir.rstrip('/')}/{_FILE_NAMES[a.format]}"
    volume, init = _artifact_source(a, path, cfg)
    spec: dict[str, Any] = {
        "automountServiceAccountToken": False,
        "containers": [_server(w, cfg, a, path, version, track)],
        "enableServiceLinks": False,
        "securityContext": {
            "fsGroup": cfg.user,
            "runAsGroup": cfg.user,
            "runAsNonRoot": True,
            "runAsUser": cfg.user,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "serviceAccountName": cfg.env(w.env).service_account.name,
        "terminationGracePeriodSeconds": 60,
        "volumes": [volume, {"name": "tmp", "emptyDir": {"sizeLimit": cfg.tmp_size}}],
    }
    if init:
        spec["initContainers"] = [init]
    spec.update(meta.gpu_placement(w, cfg))
    return spec


def container_security() -> dict[str, Any]:
    """What Pod Security "restricted" asks of every container, and a read-only root file system."""
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def volume_size(a: Artifact) -> str | None:
    """The model volume's size: the artifact plus 10 %, in whole MiB (None for node-local files)."""
    if a.size_bytes is None:
        return None
    return f"{math.ceil(a.size_bytes * 1.1 / 2**20)}Mi"


def _ephemeral(a: Artifact, cfg: RenderConfig) -> str:
    """ephemeral-storage a pod writes: the model volume (if any) and /tmp, in MiB."""
    tmp_mi = k8s.mebibytes(cfg.tmp_size)
    model_mi = math.ceil(a.size_bytes * 1.1 / 2**20) if a.size_bytes is not None and not _is_local(a) else 0
    return f"{tmp_mi + model_mi}Mi"


def _artifact_source(a: Artifact, path: str, cfg: RenderConfig) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The model volume, and the init container that fills it (None for node-local files)."""
    scheme = urlsplit(a.uri).scheme if "://" in a.uri else ""
    if scheme in ("", "file"):
        local = a.uri[len("file://"):] if scheme == "file" else a.uri
        if not local.startswith("/"):
            local = f"{cfg.local_artifact_root.rstrip('/')}/{local}"
        return {"name": "model", "hostPath": {"path": local, "type": "File"}}, None
    fetcher = cfg.fetchers[scheme]
    command = [part.replace("{uri}", a.uri).replace("{path}", path) for part in fetcher.command]
    storage = _ephemeral(a, cfg)
    init = {
        "name": "fetch-model",
        "image": fetcher.image,
        "command": command,
        "env": [{"name": "HOME", "value": "/tmp"}, *({"name": k, "value": v} for k, v in fetcher.env)],
        "resources": {
            "requests": {"cpu": cfg.fetcher_cpu, "ephemeral-storage": storage, "memory": cfg.fetcher_memory},
            "limits": {"memory": cfg.fetcher_memory},
        },
        "securityContext": container_security(),
        "volumeMounts": [{"name": "model", "mountPath": cfg.model_dir}, {"name": "tmp", "mountPath": "/tmp"}],
    }
    return {"name": "model", "emptyDir": {"sizeLimit": volume_size(a)}}, init


def _server_args(w: Workload, cfg: RenderConfig, a: Artifact, path: str, version: str, track: str) -> list[str]:
    """``releasegate serve`` arguments. Batching and dtype defaults are the load test's
    (releasegate.loadtest), so what is deployed is what was measured. Version and track label
    every metric, which the rendered monitoring rules compare (render/monitoring.py)."""
    delay = float(w.max_delay_ms if w.max_delay_ms is not None else DEFAULT_MAX_DELAY_MS)
    args = [path, "--sha256", a.sha256 or "", "--format", a.format]
    if a.factory:
        args += ["--factory", a.factory]
    args += ["--device", "cuda" if w.gpu else "cpu", "--dtype", w.dtype or DEFAULT_DTYPE,
             "--max-batch", str(w.max_batch or DEFAULT_MAX_BATCH),
             "--max-delay-ms", str(int(delay)) if delay.is_integer() else repr(delay),
             "--host", "0.0.0.0", "--port", str(cfg.port), "--model-name", w.name,
             "--model-version", version, "--track", track, *worker_args(w)]
    for name, datatype, shape in w.inputs:
        args += ["--input-spec", f"{name}:{datatype}:{','.join(str(d) for d in shape[1:])}"]
    return args


def worker_args(w: Workload) -> list[str]:
    """``--workers N`` when the release asks for HTTP worker processes (the load test starts the same)."""
    return ["--workers", str(w.workers)] if w.workers else []


def _server(w: Workload, cfg: RenderConfig, a: Artifact, path: str, version: str, track: str) -> dict[str, Any]:
    mount = {"name": "model", "mountPath": path if _is_local(a) else cfg.model_dir, "readOnly": True}
    resources = meta.resources(w, cfg)
    resources.setdefault("requests", {})["ephemeral-storage"] = _ephemeral(a, cfg)
    return {
        "name": "server",
        "image": w.image or cfg.image,
        "command": ["releasegate", "serve"],
        "args": _server_args(w, cfg, a, path, version, track),
        # torch and triton write caches under HOME; the root file system is read-only.
        "env": [{"name": "HOME", "value": "/tmp"}],
        "ports": [{"name": "http", "containerPort": cfg.port, "protocol": "TCP"}],
        "readinessProbe": _probe("/v2/health/ready", period=5, failures=3),
        "livenessProbe": _probe("/v2/health/live", period=10, failures=3),
        "startupProbe": _probe("/v2/health/live", period=5, failures=120),
        "resources": resources,
        "securityContext": container_security(),
        "volumeMounts": [mount, {"name": "tmp", "mountPath": "/tmp"}],
    }


def _is_local(a: Artifact) -> bool:
    return "://" not in a.uri or a.uri.startswith("file://")


def _probe(path: str, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": 2,
        "failureThreshold": failures,
    }



def service(w: Workload, name: str, track: str | None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta.metadata(name, meta.labels(w, "predictor", track=track), meta.trace_annotations(w)),
        "spec": {
            "type": "ClusterIP",
            "selector": meta.selector(w, track),
            "ports": [{"name": "http", "port": _SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def pdb(w: Workload, name: str, track: str) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": meta.metadata(name, meta.labels(w, "predictor", track=track), meta.trace_annotations(w)),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": meta.selector(w, track)}},
    }


def network_policy(w: Workload, cfg: RenderConfig) -> dict[str, Any]:
    """Ingress to the model's pods (every track) only from the gateway's and monitoring namespaces."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta.metadata(w.name, meta.labels(w, "predictor"), meta.trace_annotations(w)),
        "spec": {
            "podSelector": {"matchLabels": meta.selector(w)},
            "policyTypes": ["Ingress"],
            "ingress": [{
                "from": [{"namespaceSelector": {"matchExpressions": [{
                    "key": "kubernetes.io/metadata.name", "operator": "In", "values": list(cfg.ingress_namespaces()),
                }]}}],
                "ports": [{"port": cfg.port, "protocol": "TCP"}],
            }],
        },
    }


def route_prefix(w: Workload) -> str:
    """The only path a model's route forwards: its Open Inference Protocol v2 URLs (not health, not /metrics)."""
    return f"/v2/models/{w.name}"


def route(w: Workload, gateway: Gateway, backends: list[tuple[str, int]]) -> dict[str, Any]:
    """A Gateway API HTTPRoute sending the model's hostnames to ``backends`` by weight."""
    parent: dict[str, Any] = {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": gateway.name}
    if gateway.namespace:
        parent["namespace"] = gateway.namespace
    spec: dict[str, Any] = {
        "parentRefs": [parent],
        "rules": [{
            "matches": [{"path": {"type": "PathPrefix", "value": route_prefix(w)}}],
            "backendRefs": [
                {"group": "", "kind": "Service", "name": name, "port": _SERVICE_PORT, "weight": weight}
                for name, weight in backends
            ],
        }],
    }
    hostnames = [h.replace("{model}", w.name).replace("{env}", w.env) for h in gateway.hostnames]
    if hostnames:
        spec["hostnames"] = hostnames
    # Argo CD applies it after the Deployments of wave 0 are healthy (Flux: the routes Kustomization).
    annotations = {**meta.trace_annotations(w), "argocd.argoproj.io/sync-wave": "1"}
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": meta.metadata(w.name, meta.labels(w, "predictor"), annotations),
        "spec": spec,
    }
