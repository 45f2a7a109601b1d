"""``runtime.kind: kserve``: one KServe ``InferenceService`` (serving.kserve.io/v1beta1), and the
``ClusterServingRuntime`` that runs ``releasegate serve`` for it (deploy/kserve/).

Without ``runtime.kserve.modelFormat`` the InferenceService selects releasegate's runtime by name
(``spec.predictor.model.runtime``) and the artifact's format: KServe's storage initializer downloads
the artifact to /mnt/models and the server verifies its sha256 before loading it. The
InferenceService's ``args`` are appended to the runtime container's (KServe merges the two
containers so), so the runtime holds what every model shares and each release what is its own.
With ``modelFormat`` the cluster's own ServingRuntime for that format serves it, unverified.

KServe keeps the previously ready revision in Knative mode: ``canaryTrafficPercent`` sends that
share of traffic to the new revision and the rest to the previous one. In Standard mode
(RawDeployment) KServe < 0.20 silently ignores ``canaryTrafficPercent`` (kserve/kserve#5335);
KServe 0.20's ``spec.canary`` is not rendered (no published schema to check it against), so that
combination is refused.
"""
from __future__ import annotations

import posixpath
from typing import Any
from urllib.parse import urlsplit

from releasegate.render import builtin, meta, monitoring
from releasegate.render.config import RenderConfig
from releasegate.render.problems import PathPart, Problem
from releasegate.render.workload import Workload

MODES = ("Knative", "Standard")
# KServe < 0.15 names; still read by KServe, rendered with the current name.
LEGACY_MODES = {"Serverless": "Knative", "RawDeployment": "Standard"}
# What KServe's storage initializer can download.
SCHEMES = ("s3", "gs", "https", "pvc", "hdfs", "webhdfs")
RUNTIME_NAME = "releasegate-serve"
RUNTIME_FILE = "deploy/kserve/clusterservingruntime.yaml"
RUNTIME_DIR = "deploy/kserve"
FORMATS = ("torch-export", "torchscript", "safetensors")
MODEL_DIR = "/mnt/models"  # where the storage initializer puts the artifact
# The server's port in a predictor pod: Knative (its name for the user container's port) or Standard mode.
MONITORED_PORTS = ("user-port", "http1")
KNATIVE_FLAGS = "kubernetes.podspec-nodeselector and kubernetes.podspec-tolerations"
_KS: tuple[PathPart, ...] = ("spec", "runtime", "kserve")


def _problem(w: Workload, path: tuple[PathPart, ...], message: str, hint: str, rule: str = "render.kserve") -> Problem:
    return Problem(w.source, path, rule, message, hint)


def mode(w: Workload) -> str | None:
    """The deployment mode by its current name (None: the cluster's default)."""
    given = w.kserve.get("deploymentMode")
    return LEGACY_MODES.get(given, given) if given else None


def ours(w: Workload) -> bool:
    """Served by releasegate's ClusterServingRuntime (no modelFormat naming another runtime)."""
    return not w.kserve.get("modelFormat")


def check(w: Workload, cfg: RenderConfig) -> list[Problem]:
    """What a kserve workload lacks or asks for that KServe would ignore."""
    given = w.kserve.get("deploymentMode")
    problems = []
    if given is not None and given not in MODES and given not in LEGACY_MODES:
        problems.append(_problem(w, (*_KS, "deploymentMode"), f"unknown deploymentMode {given!r}",
                                 f"use one of {', '.join(MODES)}"))
    problems += _canary_problems(w, mode(w))
    scheme = urlsplit(w.artifact.uri).scheme if "://" in w.artifact.uri else ""
    if scheme not in SCHEMES:
        problems.append(_problem(w, ("spec", "model", "artifact", "uri"),
                                 f"KServe cannot fetch {w.artifact.uri!r} (its storage initializer reads "
                                 f"{', '.join(s + '://' for s in SCHEMES)})",
                                 "publish the artifact to object storage and use its s3://, gs:// or https:// URI"))
    problems += _ours_problems(w) if ours(w) else _other_runtime_problems(w)
    return problems


def _ours_problems(w: Workload) -> list[Problem]:
    """releasegate serve's own needs: what the builtin runtime asks of the artifact and signature."""
    problems = []
    if not w.artifact.sha256:
        problems.append(_problem(w, ("spec", "model", "artifact", "sha256"),
                                 "releasegate's KServe runtime needs the artifact's sha256: the server verifies it "
                                 "before loading", "add sha256 (64 hex digits: sha256sum of the artifact file)",
                                 "render.required"))
    if w.artifact.format not in FORMATS:
        problems.append(_problem(w, ("spec", "model", "artifact", "format"),
                                 f"releasegate's KServe runtime serves {', '.join(FORMATS)}, not {w.artifact.format!r}",
                                 "set artifact.format, or name the cluster's ServingRuntime format in "
                                 "runtime.kserve.modelFormat"))
    if w.artifact.format == "safetensors" and not w.artifact.factory:
        problems.append(_problem(w, ("spec", "model", "artifact", "factory"), "safetensors weights need a model factory",
                                 "add artifact.factory: the name of a model factory installed in the server image",
                                 "render.required"))
    if w.image is not None:
        problems.append(_problem(w, ("spec", "runtime", "image"), "runtime.image is not used by runtime.kind kserve",
                                 f"remove spec.runtime.image: the image is the ClusterServingRuntime's "
                                 f"({RUNTIME_FILE}, from builtin.image in policies/render.yaml)"))
    return problems + builtin.signature_problems(w)


def _other_runtime_problems(w: Workload) -> list[Problem]:
    problems = []
    for field, why in (("image", "choose the server through modelFormat (KServe ServingRuntime)"),
                       ("dtype", "the dtype is a setting of releasegate's server (leave modelFormat out to use it)"),
                       ("workers", "worker processes are a setting of releasegate's server (leave modelFormat out)")):
        if getattr(w, field) is not None:
            problems.append(_problem(w, ("spec", "runtime", field), f"runtime.{field} is not used by runtime.kind kserve "
                                     "with modelFormat", f"remove spec.runtime.{field}: {why}"))
    if w.max_delay_ms is not None and not float(w.max_delay_ms).is_integer():
        problems.append(_problem(w, ("spec", "runtime", "batching", "maxDelayMs"),
                                 f"KServe's batcher takes whole milliseconds, not {w.max_delay_ms}",
                                 "round batching.maxDelayMs to an integer"))
    return problems


def _canary_problems(w: Workload, current: str | None) -> list[Problem]:
    if w.canary_percent is None:
        return []
    path: tuple[PathPart, ...] = ("spec", "rollout", "strategy")
    if current == "Standard":
        return [_problem(w, path, "no KServe canary in Standard (RawDeployment) mode: KServe before 0.20 ignores "
                                  "canaryTrafficPercent there (kserve/kserve#5335), so the new version would take "
                                  "all traffic at once, and KServe 0.20's spec.canary has no published schema that "
                                  "releasegate could check its output against",
                         "use runtime.kserve.deploymentMode: Knative for a canary, or strategy: rolling")]
    if current is None:
        return [_problem(w, (*_KS, "deploymentMode"),
                         "a KServe canary needs deploymentMode: Knative stated explicitly: the cluster's default "
                         "mode may be Standard, which ignores canaryTrafficPercent",
                         "add spec.runtime.kserve.deploymentMode: Knative")]
    if w.stable is not None:
        return [_problem(w, ("spec", "rollout", "stable"),
                         "spec.rollout.stable is not used by KServe: it keeps the previous revision itself",
                         "remove spec.rollout.stable")]
    return []


def warnings(w: Workload, cfg: RenderConfig) -> list[Problem]:
    """What renders but needs the reader's attention: a legacy mode name, Knative GPU placement."""
    found = []
    given = w.kserve.get("deploymentMode")
    if given in LEGACY_MODES:
        found.append(_problem(w, (*_KS, "deploymentMode"),
                              f"deploymentMode {given!r} is KServe's old name; rendered as {LEGACY_MODES[given]!r}",
                              f"write deploymentMode: {LEGACY_MODES[given]} (KServe >= 0.15 knows both names)"))
    if mode(w) == "Knative" and meta.gpu_placement(w, cfg):
        found.append(_problem(w, ("spec", "runtime", "resources", "gpu"),
                              "Knative rejects the predictor's nodeSelector and tolerations (GPU placement) unless "
                              f"its feature flags {KNATIVE_FLAGS} are enabled",
                              "set both to \"enabled\" in the config-features ConfigMap of knative-serving "
                              "(docs/render.md#kserve-runtime), or use deploymentMode: Standard"))
    return found


def render(w: Workload, cfg: RenderConfig) -> list[dict[str, Any]]:
    """The InferenceService of one kserve workload."""
    annos = meta.trace_annotations(w)
    if mode(w):
        annos["serving.kserve.io/deploymentMode"] = str(mode(w))
    labels = meta.labels(w, "predictor")
    return [{
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": meta.metadata(w.name, labels, annos),
        "spec": {"predictor": _predictor(w, cfg, labels, meta.trace_annotations(w))},
    }, *(monitoring.render(w, cfg, ports=MONITORED_PORTS) if ours(w) else [])]


def _model(w: Workload, cfg: RenderConfig) -> dict[str, Any]:
    if not ours(w):
        model: dict[str, Any] = {"modelFormat": {"name": w.kserve["modelFormat"]}}
    else:
        model = {"modelFormat": {"name": w.artifact.format}, "runtime": RUNTIME_NAME}
    model["storageUri"] = w.artifact.uri
    if ours(w):
        model["args"] = server_args(w)
    if w.kserve.get("protocolVersion"):
        model["protocolVersion"] = w.kserve["protocolVersion"]
    resources = meta.resources(w, cfg)
    if resources:
        model["resources"] = resources
    return model


def track(w: Workload) -> str:
    """The side of a canary the InferenceService's latest revision is: ``canary`` from the promotion to
    ``complete`` or ``abort`` (an aborted canary keeps its arguments, so no revision starts), else ``stable``.
    KServe keeps the other side, the last rolled-out revision, with the arguments it had."""
    return "canary" if w.canary_percent is not None else "stable"


def server_args(w: Workload) -> list[str]:
    """The release's own ``releasegate serve`` arguments, appended by KServe to the runtime's.
    Version and track label the server's metrics (docs/monitoring.md)."""
    a = w.artifact
    name = posixpath.basename(urlsplit(a.uri).path)
    args = [f"{MODEL_DIR}/{name}", "--sha256", a.sha256 or "", "--format", a.format,
            "--model-version", w.version, "--track", track(w), *builtin.worker_args(w)]
    if a.factory:
        args += ["--factory", a.factory]
    delay = float(w.max_delay_ms if w.max_delay_ms is not None else builtin.DEFAULT_MAX_DELAY_MS)
    args += ["--device", "cuda" if w.gpu else "cpu", "--dtype", w.dtype or builtin.DEFAULT_DTYPE,
             "--max-batch", str(w.max_batch or builtin.DEFAULT_MAX_BATCH),
             "--max-delay-ms", str(int(delay)) if delay.is_integer() else repr(delay)]
    for input_name, datatype, shape in w.inputs:
        args += ["--input-spec", f"{input_name}:{datatype}:{','.join(str(d) for d in shape[1:])}"]
    return args


def _predictor(w: Workload, cfg: RenderConfig, labels: dict[str, str], annos: dict[str, str]) -> dict[str, Any]:
    predictor: dict[str, Any] = {
        "labels": labels,
        "annotations": annos,
        "minReplicas": w.replicas,
        "maxReplicas": max(w.replicas, 1),
        "model": _model(w, cfg),
    }
    if w.canary_percent is not None:
        predictor["canaryTrafficPercent"] = w.canary_percent
    # releasegate serve batches itself; another runtime gets KServe's batcher.
    if not ours(w) and (w.max_batch is not None or w.max_delay_ms is not None):
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


def serving_runtime(cfg: RenderConfig) -> dict[str, Any]:
    """The ClusterServingRuntime that runs ``releasegate serve`` on the downloaded artifact."""
    security = {**builtin.container_security(), "runAsGroup": cfg.user, "runAsUser": cfg.user}
    return {
        "apiVersion": "serving.kserve.io/v1alpha1",
        "kind": "ClusterServingRuntime",
        "metadata": {"name": RUNTIME_NAME, "labels": {"app.kubernetes.io/managed-by": "releasegate"}},
        "spec": {
            "annotations": {"prometheus.kserve.io/path": "/metrics", "prometheus.kserve.io/port": str(cfg.port)},
            "supportedModelFormats": [{"name": f, "autoSelect": True, "priority": 1} for f in FORMATS],
            "protocolVersions": ["v2"],
            "containers": [{
                "name": "kserve-container",
                "image": cfg.image,
                "command": ["releasegate", "serve"],
                # {{.Name}}: KServe's template for the InferenceService's name, the v2 model name.
                "args": ["--host", "0.0.0.0", "--port", str(cfg.port), "--model-name", "{{.Name}}"],
                # torch and triton write caches under HOME; the root file system is read-only.
                "env": [{"name": "HOME", "value": "/tmp"}],
                # Knative allows only the names http1 and h2c, and renames the port user-port in its pods.
                "ports": [{"name": "http1", "containerPort": cfg.port, "protocol": "TCP"}],
                "readinessProbe": {"httpGet": {"path": "/v2/health/ready", "port": cfg.port},
                                   "periodSeconds": 5, "timeoutSeconds": 2, "failureThreshold": 3},
                "securityContext": security,
                "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
            }],
            "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": cfg.tmp_size}}],
        },
    }
