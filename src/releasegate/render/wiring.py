"""Controller wiring: an Argo CD ApplicationSet and Flux objects that apply
``environments/<env>/manifests`` in promotion order (dev -> staging -> prod).

The order comes from the policy pack's ``promotesFrom`` chain: an environment's
wave is its distance from the first environment; Flux ``dependsOn`` names the
environment it promotes from.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from releasegate.render import yamlout
from releasegate.render.config import RenderConfig
from releasegate.render.kustomize import header

ENV_LABEL = "releasegate.dev/environment"
ARGOCD_FILE = "deploy/argocd/applicationset.yaml"
FLUX_DIR = "deploy/flux"
SOURCE_NAME = "releasegate"


@dataclass(frozen=True)
class EnvOrder:
    """One environment's place in the promotion order."""

    name: str
    wave: int
    promotes_from: str | None


def order_environments(env_names: list[str], promotes_from: dict[str, str | None]) -> list[EnvOrder]:
    """Environments sorted by wave (then name); ``promotes_from`` comes from the policy pack."""
    def wave(env: str, seen: frozenset[str] = frozenset()) -> int:
        parent = promotes_from.get(env)
        if not parent or parent in seen or parent not in env_names:
            return 0
        return 1 + wave(parent, seen | {env})

    out = [EnvOrder(e, wave(e), p if (p := promotes_from.get(e)) in env_names else None) for e in env_names]
    return sorted(out, key=lambda o: (o.wave, o.name))


def app_name(env: str) -> str:
    return f"models-{env}"


def applicationset(envs: list[EnvOrder], cfg: RenderConfig) -> dict[str, Any]:
    argo = cfg.argocd
    waves = sorted({e.wave for e in envs})
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "releasegate-models", "namespace": argo["namespace"]},
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [{"list": {"elements": [
                {"env": e.name, "namespace": cfg.namespace(e.name), "server": cfg.cluster(e.name), "wave": str(e.wave)}
                for e in envs
            ]}}],
            "strategy": {"type": "RollingSync", "rollingSync": {"steps": [
                {"matchExpressions": [{"key": "releasegate.dev/wave", "operator": "In", "values": [str(w)]}]}
                for w in waves
            ]}},
            "template": {
                "metadata": {
                    "name": app_name("{{.env}}"),
                    "labels": {ENV_LABEL: "{{.env}}", "releasegate.dev/wave": "{{.wave}}"},
                    "annotations": {"argocd.argoproj.io/sync-wave": "{{.wave}}"},
                },
                "spec": {
                    "project": argo["project"],
                    "source": {"repoURL": cfg.repo_url, "targetRevision": cfg.branch,
                               "path": "environments/{{.env}}/manifests"},
                    "destination": {"server": "{{.server}}", "namespace": "{{.namespace}}"},
                    "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
                },
            },
        },
    }


def git_repository(cfg: RenderConfig) -> dict[str, Any]:
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": SOURCE_NAME, "namespace": cfg.flux["namespace"]},
        "spec": {"interval": cfg.flux["interval"], "url": cfg.repo_url, "ref": {"branch": cfg.branch}},
    }


def flux_kustomization(env: EnvOrder, cfg: RenderConfig) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "interval": cfg.flux["interval"],
        "path": f"./environments/{env.name}/manifests",
        "prune": True,
        "wait": True,
        "timeout": "15m",
        "sourceRef": {"kind": "GitRepository", "name": SOURCE_NAME},
    }
    if env.promotes_from:
        spec["dependsOn"] = [{"name": app_name(env.promotes_from)}]
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": app_name(env.name), "namespace": cfg.flux["namespace"],
                     "labels": {ENV_LABEL: env.name}},
        "spec": spec,
    }


def wiring_files(envs: list[EnvOrder], cfg: RenderConfig) -> dict[str, bytes]:
    """Repo-relative path -> content of every controller wiring file."""
    files = {
        ARGOCD_FILE: yamlout.dump_documents([applicationset(envs, cfg)], header("policies/policy-pack.yaml")),
        f"{FLUX_DIR}/gitrepository.yaml": yamlout.dump_documents([git_repository(cfg)], header()),
    }
    for env in envs:
        files[f"{FLUX_DIR}/{env.name}.yaml"] = yamlout.dump_documents(
            [flux_kustomization(env, cfg)], header("policies/policy-pack.yaml"))
    index = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": ["gitrepository.yaml", *sorted(f"{e.name}.yaml" for e in envs)],
    }
    files[f"{FLUX_DIR}/kustomization.yaml"] = yamlout.dump_documents([index], header())
    return files
