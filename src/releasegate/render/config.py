"""The renderer's settings: ``policies/render.yaml`` (optional) over built-in defaults.

Rendering depends only on the release files and this committed file, so that
rendering a restored release file gives back the manifests of its time.
"""
from __future__ import annotations

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

DEFAULTS: dict[str, Any] = {
    "repository": {"url": "https://git.example.com/ml/models.git", "branch": "main"},
    "namespace": "models-{env}",
    "environments": {},
    "builtin": {
        "image": "releasegate/server:0.1.0",
        "port": 8080,
        "modelDir": "/models",
        "localArtifactRoot": "/var/lib/releasegate/artifacts",
        "fetchers": {
            "s3": {"image": "amazon/aws-cli:2.22.35", "command": ["aws", "s3", "cp", "{uri}", "{path}"]},
            "gs": {"image": "google/cloud-sdk:502.0.0-slim", "command": ["gcloud", "storage", "cp", "{uri}", "{path}"]},
            "https": {"image": "curlimages/curl:8.11.1", "command": ["curl", "-fsSL", "--retry", "3", "-o", "{path}", "{uri}"]},
        },
    },
    "gpu": {
        "resource": "nvidia.com/gpu",
        "nodeLabel": "nvidia.com/gpu.product",
        "types": {},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
    },
    "gateway": None,
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


@dataclass(frozen=True)
class Fetcher:
    image: str
    command: tuple[str, ...]


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
class RenderConfig:
    """Everything the manifests depend on besides the release files."""

    repo_url: str
    branch: str
    namespace_template: str
    env_namespaces: dict[str, str]
    env_clusters: dict[str, str]
    image: str
    port: int
    model_dir: str
    local_artifact_root: str
    fetchers: dict[str, Fetcher]
    gpu_resource: str
    gpu_node_label: str
    gpu_types: dict[str, str]
    gpu_tolerations: tuple[dict[str, Any], ...]
    gateway: Gateway | None
    argocd: dict[str, str] = field(default_factory=dict)
    flux: dict[str, str] = field(default_factory=dict)
    monitoring: Monitoring = Monitoring()

    def namespace(self, env: str) -> str:
        return self.env_namespaces.get(env) or self.namespace_template.replace("{env}", env)

    def cluster(self, env: str) -> str:
        return self.env_clusters.get(env) or self.argocd["server"]

    def gpu_product(self, gpu_type: str) -> str:
        return self.gpu_types.get(gpu_type, gpu_type)


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
    envs = raw.get("environments") or {}
    builtin, gpu = raw["builtin"], raw["gpu"]
    gateway = raw.get("gateway")
    return RenderConfig(
        repo_url=raw["repository"]["url"],
        branch=raw["repository"]["branch"],
        namespace_template=raw["namespace"],
        env_namespaces={k: v["namespace"] for k, v in envs.items() if v and v.get("namespace")},
        env_clusters={k: v["cluster"] for k, v in envs.items() if v and v.get("cluster")},
        image=builtin["image"],
        port=int(builtin["port"]),
        model_dir=builtin["modelDir"],
        local_artifact_root=builtin["localArtifactRoot"],
        fetchers={k: Fetcher(v["image"], tuple(v["command"])) for k, v in builtin["fetchers"].items()},
        gpu_resource=gpu["resource"],
        gpu_node_label=gpu["nodeLabel"],
        gpu_types=dict(gpu.get("types") or {}),
        gpu_tolerations=tuple(gpu.get("tolerations") or ()),
        gateway=None if not gateway else Gateway(
            gateway["name"], gateway.get("namespace"), tuple(gateway.get("hostnames") or ())
        ),
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
