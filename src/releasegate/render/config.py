"""The renderer's settings: ``policies/render.yaml`` (optional) over built-in defaults.

Rendering depends only on the release files and this committed file, so that
rendering a restored release file gives back the manifests of its time.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from releasegate.errors import ConfigError, InputError
from releasegate.layout import RepoLayout
from releasegate.policy import schema_validator
from releasegate.yamlio import YamlDocument, load_yaml_file

CONFIG_FILE = "policies/render.yaml"
SCHEMA_FILE = "policies/schemas/render.schema.json"

# Images by digest: a tag can be moved to other bytes; a digest cannot (docs/render.md, "Images").
# The digests are those that public repositories pin for these tags.
AWS_CLI = "amazon/aws-cli:2.22.35@sha256:6977c83ae3dc99f28fcf8276b9ea5eec33833cd5be40574b34112e98113ec7a2"
CLOUD_SDK = "google/cloud-sdk:530.0.0-alpine@sha256:25acf81d3b7db5a22f5c5b8dad9b191b70f0cec2c0743ee59c5c9244ef7b6996"
CURL = "curlimages/curl:8.11.1@sha256:c1fe1679c34d9784c1b0d1e5f62ac0a79fca01fb6377cdd33e90473c6f9f9a69"

DEFAULTS: dict[str, Any] = {
    "repository": {"url": "https://git.example.com/ml/models.git", "branch": "main"},
    "namespace": "models-{env}",
    "environments": {},
    "serviceAccount": {"name": "releasegate-model", "create": True, "annotations": {}},
    "podSecurity": "restricted",
    "updateStrategy": {"maxSurge": 0, "maxUnavailable": 1},
    "networkPolicy": {"allowNamespaces": ["monitoring"]},
    "builtin": {
        "image": "releasegate/server:0.1.0",
        "port": 8080,
        "modelDir": "/models",
        "localArtifactRoot": "/var/lib/releasegate/artifacts",
        "user": 65532,
        "tmpSize": "1Gi",
        "fetcherResources": {"cpu": "500m", "memory": "512Mi"},
        "fetchers": {
            "s3": {"image": AWS_CLI, "command": ["aws", "s3", "cp", "--no-progress", "{uri}", "{path}"]},
            "gs": {"image": CLOUD_SDK, "command": ["gcloud", "storage", "cp", "{uri}", "{path}"],
                   "env": {"CLOUDSDK_CONFIG": "/tmp/gcloud"}},
            "https": {"image": CURL, "command": ["curl", "-fsSL", "--retry", "3", "-o", "{path}", "{uri}"]},
        },
    },
    "gpu": {"preset": "nvidia-gpu-operator"},
    "gateway": None,
    "ordering": "independent",
    "argocd": {"namespace": "argocd", "project": "default", "server": "https://kubernetes.default.svc"},
    "flux": {"namespace": "flux-system", "interval": "1m"},
    "monitoring": {
        "enabled": True,
        "interval": "30s",
        "labels": {},
        "canary": {"maxLatencyRatio": 1.2, "minLatencyIncreaseMs": 5, "errorRatioMargin": 0.01,
                   "minRequests": 100, "for": "5m"},
    },
}
# How GPU nodes are labelled and tainted, per platform: the label that names the GPU model, its
# value for each gpuType, the resource name and the tolerations. Every field can be overridden
# (gpu.*, environments.<env>.gpu.*).
GPU_PRESETS: dict[str, dict[str, Any]] = {
    # NVIDIA GPU operator: GPU feature discovery labels nodes with the product name.
    "nvidia-gpu-operator": {
        "resource": "nvidia.com/gpu",
        "nodeLabel": "nvidia.com/gpu.product",
        "types": {"nvidia-h100": "NVIDIA-H100-80GB-HBM3", "nvidia-h200": "NVIDIA-H200", "nvidia-l4": "NVIDIA-L4",
                  "nvidia-a100": "NVIDIA-A100-SXM4-80GB", "nvidia-a10g": "NVIDIA-A10G", "nvidia-t4": "Tesla-T4"},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
    },
    # GKE: node pools carry cloud.google.com/gke-accelerator and the nvidia.com/gpu taint.
    "gke": {
        "resource": "nvidia.com/gpu",
        "nodeLabel": "cloud.google.com/gke-accelerator",
        "types": {"nvidia-h100": "nvidia-h100-80gb", "nvidia-h200": "nvidia-h200-141gb", "nvidia-l4": "nvidia-l4",
                  "nvidia-a100": "nvidia-a100-80gb", "nvidia-t4": "nvidia-tesla-t4"},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}],
    },
    # EKS with Karpenter: well-known label karpenter.k8s.aws/instance-gpu-name; the taint is the
    # one your GPU NodePool sets (nvidia.com/gpu:NoSchedule in Karpenter's examples).
    "eks-karpenter": {
        "resource": "nvidia.com/gpu",
        "nodeLabel": "karpenter.k8s.aws/instance-gpu-name",
        "types": {"nvidia-h100": "h100", "nvidia-h200": "h200", "nvidia-l4": "l4", "nvidia-a100": "a100",
                  "nvidia-a10g": "a10g", "nvidia-t4": "t4"},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
    },
}
POD_SECURITY_LEVELS = ("restricted", "baseline", "privileged")


@dataclass(frozen=True)
class Fetcher:
    image: str
    command: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Gateway:
    name: str
    namespace: str | None
    hostnames: tuple[str, ...]


@dataclass(frozen=True)
class CanaryComparison:
    """When a canary counts as worse than its stable side (docs/monitoring.md): the rendered
    canary alerts and the analysis of ``rollout advance`` both read it."""

    max_latency_ratio: float = 1.2  # canary p95 above stable p95 times this ...
    min_latency_increase_ms: float = 5.0  # ... and by at least this much
    error_ratio_margin: float = 0.01  # canary error ratio above stable's plus this (slo.maxErrorRate when set)
    min_requests: int = 100  # requests of each side in the window before anything is compared
    for_: str = "5m"  # how long a canary alert's condition must hold


@dataclass(frozen=True)
class Monitoring:
    """``monitoring`` of policies/render.yaml: a PodMonitor and a PrometheusRule per builtin model."""

    enabled: bool = True
    interval: str = "30s"
    labels: tuple[tuple[str, str], ...] = ()
    canary: CanaryComparison = CanaryComparison()


@dataclass(frozen=True)
class GpuPlacement:
    """How one environment's GPU pods find and tolerate GPU nodes."""

    resource: str
    node_label: str
    types: tuple[tuple[str, str], ...]
    tolerations: tuple[tuple[tuple[str, str], ...], ...]

    def product(self, gpu_type: str) -> str:
        return dict(self.types).get(gpu_type, gpu_type)

    def toleration_list(self) -> list[dict[str, str]]:
        return [dict(t) for t in self.tolerations]


@dataclass(frozen=True)
class ServiceAccount:
    name: str
    create: bool
    annotations: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class EnvSettings:
    """The settings of one environment: its own entry under ``environments`` over the top level."""

    namespace: str
    cluster: str
    service_account: ServiceAccount
    pod_security: str
    max_surge: int | str
    max_unavailable: int | str
    gpu: GpuPlacement


@dataclass(frozen=True)
class RenderConfig:
    """Everything the manifests depend on besides the release files."""

    repo_url: str
    branch: str
    image: str
    port: int
    model_dir: str
    local_artifact_root: str
    user: int
    tmp_size: str
    fetcher_cpu: str
    fetcher_memory: str
    fetchers: dict[str, Fetcher]
    gateway: Gateway | None
    monitoring_namespaces: tuple[str, ...]
    ordering: str = "independent"
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    argocd: dict[str, str] = field(default_factory=dict)
    flux: dict[str, str] = field(default_factory=dict)
    monitoring: Monitoring = Monitoring()

    def env(self, env: str) -> EnvSettings:
        """The resolved settings of ``env``."""
        return env_settings(self.raw, env)

    def namespace(self, env: str) -> str:
        return self.env(env).namespace

    def cluster(self, env: str) -> str:
        return self.env(env).cluster

    def ingress_namespaces(self) -> tuple[str, ...]:
        """Namespaces whose pods may reach model servers: the gateway's and monitoring."""
        gateway = (self.gateway.namespace,) if self.gateway and self.gateway.namespace else ()
        return tuple(sorted(set(gateway + self.monitoring_namespaces)))


def _pairs(mapping: dict[str, Any] | None) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(k), str(v)) for k, v in (mapping or {}).items()))


def _gpu(raw: dict[str, Any]) -> GpuPlacement:
    merged = _merge(GPU_PRESETS[raw.get("preset") or "nvidia-gpu-operator"], {k: v for k, v in raw.items() if k != "preset"})
    return GpuPlacement(
        resource=merged["resource"],
        node_label=merged["nodeLabel"],
        types=_pairs(merged.get("types")),
        tolerations=tuple(_pairs(t) for t in merged.get("tolerations") or ()),
    )


@functools.cache
def _env_settings(raw_json: str, env: str) -> EnvSettings:
    raw = json.loads(raw_json)
    own = (raw.get("environments") or {}).get(env) or {}
    merged = _merge({k: raw[k] for k in ("serviceAccount", "podSecurity", "updateStrategy")}, own)
    gpu = _merge(raw["gpu"], own.get("gpu") or {})
    if "preset" in (own.get("gpu") or {}):  # another platform: the top level's own overrides do not carry over
        gpu = own["gpu"]
    account = merged["serviceAccount"]
    return EnvSettings(
        namespace=own.get("namespace") or raw["namespace"].replace("{env}", env),
        cluster=own.get("cluster") or raw["argocd"]["server"],
        service_account=ServiceAccount(account["name"], bool(account.get("create", True)),
                                       _pairs(account.get("annotations"))),
        pod_security=merged["podSecurity"],
        max_surge=merged["updateStrategy"]["maxSurge"],
        max_unavailable=merged["updateStrategy"]["maxUnavailable"],
        gpu=_gpu(gpu),
    )


def env_settings(raw: dict[str, Any], env: str) -> EnvSettings:
    return _env_settings(json.dumps(raw, sort_keys=True, default=str), env)


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _merge(base.get(key), value)
        return merged
    return override


def _schema_check(document: YamlDocument, schema_path: Path) -> None:
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    validator = schema_validator(schema)
    errors = sorted(validator.iter_errors(document.value), key=lambda e: [str(p) for p in e.path])
    if errors:
        first = errors[0]
        path = tuple(first.path)
        line, column = document.position(path)
        where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
        raise ConfigError(f"{document.source}:{line}:{column}: {where}: {first.message}",
                          f"fix {document.source}; its fields are documented in docs/render.md")


def load_config(layout: RepoLayout) -> RenderConfig:
    """Read ``policies/render.yaml`` when present, else use the defaults."""
    path = layout.root / CONFIG_FILE
    data: dict[str, Any] = {}
    if path.is_file():
        try:
            document = load_yaml_file(path, CONFIG_FILE)
        except InputError as e:
            raise ConfigError(f"invalid render config: {e.message}", e.hint) from e
        if not isinstance(document.value, dict):
            raise ConfigError(f"{CONFIG_FILE}:1:1: expected a mapping", "see docs/render.md for the format")
        schema = layout.root / SCHEMA_FILE
        if schema.is_file():
            _schema_check(document, schema)
        data = document.value
    return config_from_dict(_merge(DEFAULTS, data))


def config_from_dict(raw: dict[str, Any]) -> RenderConfig:
    """Build the config from the merged mapping (defaults + file)."""
    builtin = raw["builtin"]
    gateway = raw.get("gateway")
    return RenderConfig(
        repo_url=raw["repository"]["url"],
        branch=raw["repository"]["branch"],
        image=builtin["image"],
        port=int(builtin["port"]),
        model_dir=builtin["modelDir"],
        local_artifact_root=builtin["localArtifactRoot"],
        user=int(builtin["user"]),
        tmp_size=str(builtin["tmpSize"]),
        fetcher_cpu=str(builtin["fetcherResources"]["cpu"]),
        fetcher_memory=str(builtin["fetcherResources"]["memory"]),
        fetchers={k: Fetcher(v["image"], tuple(v["command"]), _pairs(v.get("env")))
                  for k, v in builtin["fetchers"].items()},
        gateway=None if not gateway else Gateway(
            gateway["name"], gateway.get("namespace"), tuple(gateway.get("hostnames") or ())
        ),
        monitoring_namespaces=tuple(raw["networkPolicy"].get("allowNamespaces") or ()),
        ordering=raw["ordering"],
        raw=raw,
        argocd=dict(raw["argocd"]),
        flux=dict(raw["flux"]),
        monitoring=_monitoring(raw["monitoring"]),
    )


def _monitoring(raw: dict[str, Any]) -> Monitoring:
    canary = raw["canary"]
    return Monitoring(
        enabled=bool(raw["enabled"]),
        interval=str(raw["interval"]),
        labels=tuple(sorted((str(k), str(v)) for k, v in (raw.get("labels") or {}).items())),
        canary=CanaryComparison(
            max_latency_ratio=float(canary["maxLatencyRatio"]),
            min_latency_increase_ms=float(canary["minLatencyIncreaseMs"]),
            error_ratio_margin=float(canary["errorRatioMargin"]),
            min_requests=int(canary["minRequests"]),
            for_=str(canary["for"]),
        ),
    )
