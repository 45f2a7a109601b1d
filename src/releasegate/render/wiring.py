"""Controller wiring: an Argo CD ApplicationSet (and the same Applications as plain files, for an
app of apps) and Flux objects that apply ``environments/<env>/manifests``, one per environment.

Environments are independent by default: no environment waits for another's health, so a broken
dev never holds up a prod rollback. ``ordering: promotion`` in the render config opts into
controller-side ordering (Argo CD RollingSync, Flux ``dependsOn``) in the policy pack's
``promotesFrom`` order; an environment's wave is its distance from the first environment.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from releasegate.render import yamlout
from releasegate.render.config import RenderConfig
from releasegate.render.kustomize import header

ENV_LABEL = "releasegate.dev/environment"
ARGOCD_FILE = "deploy/argocd/applicationset.yaml"
ARGOCD_APPS_DIR = "deploy/argocd/applications"
FLUX_DIR = "deploy/flux"
# Flux's kstatus knows Deployments and Ready conditions; these say when the custom resources that
# render writes are healthy (kustomize-controller >= 1.5, Flux 2.5: spec.healthCheckExprs, CEL).
HEALTH_CHECKS = (
    {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "current": "has(status.parents) && status.parents.all(p, p.conditions.exists(c, c.type == 'Accepted' "
                   "&& c.status == 'True') && p.conditions.exists(c, c.type == 'ResolvedRefs' && c.status == 'True'))",
        "failed": "has(status.parents) && status.parents.exists(p, p.conditions.exists(c, "
                  "(c.type == 'Accepted' || c.type == 'ResolvedRefs') && c.status == 'False'))",
    },
    {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "current": "has(status.conditions) && status.conditions.exists(c, c.type == 'Ready' && c.status == 'True') "
                   "&& status.observedGeneration == metadata.generation",
        "failed": "has(status.conditions) && status.conditions.exists(c, c.type == 'Ready' && c.status == 'False')",
    },
)
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


def _ordered(cfg: RenderConfig) -> bool:
    return cfg.ordering == "promotion"


def _app_spec(cfg: RenderConfig, env: str, namespace: str, server: str) -> dict[str, Any]:
    return {
        "project": cfg.argocd["project"],
        # manifests and routes (environments/<env>/kustomization.yaml); routes are sync wave 1
        "source": {"repoURL": cfg.repo_url, "targetRevision": cfg.branch, "path": f"environments/{env}"},
        "destination": {"server": server, "namespace": namespace},
        "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
    }


def applicationset(envs: list[EnvOrder], cfg: RenderConfig) -> dict[str, Any]:
    argo = cfg.argocd
    template_meta: dict[str, Any] = {"name": app_name("{{.env}}"), "labels": {ENV_LABEL: "{{.env}}"}}
    spec: dict[str, Any] = {
        "goTemplate": True,
        "goTemplateOptions": ["missingkey=error"],
        "generators": [{"list": {"elements": [
            {"env": e.name, "namespace": cfg.namespace(e.name), "server": cfg.cluster(e.name), "wave": str(e.wave)}
            for e in envs
        ]}}],
        "template": {"metadata": template_meta, "spec": _app_spec(cfg, "{{.env}}", "{{.namespace}}", "{{.server}}")},
    }
    if _ordered(cfg):
        template_meta["labels"]["releasegate.dev/wave"] = "{{.wave}}"
        spec["strategy"] = {"type": "RollingSync", "rollingSync": {"steps": [
            {"matchExpressions": [{"key": "releasegate.dev/wave", "operator": "In", "values": [str(w)]}]}
            for w in sorted({e.wave for e in envs})
        ]}}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "releasegate-models", "namespace": argo["namespace"]},
        "spec": spec,
    }


def application(env: EnvOrder, cfg: RenderConfig) -> dict[str, Any]:
    """The Application of one environment as a plain file: what a parent "app of apps" applies
    where the ApplicationSet controller is not used (deploy/argocd/applications/)."""
    metadata: dict[str, Any] = {"name": app_name(env.name), "namespace": cfg.argocd["namespace"],
                                "labels": {ENV_LABEL: env.name}}
    if _ordered(cfg):
        metadata["annotations"] = {"argocd.argoproj.io/sync-wave": str(env.wave)}
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": metadata,
            "spec": _app_spec(cfg, env.name, cfg.namespace(env.name), cfg.cluster(env.name))}


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
        "healthCheckExprs": [dict(h) for h in HEALTH_CHECKS],
    }
    if env.promotes_from and _ordered(cfg):
        spec["dependsOn"] = [{"name": app_name(env.promotes_from)}]
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": app_name(env.name), "namespace": cfg.flux["namespace"],
                     "labels": {ENV_LABEL: env.name}},
        "spec": spec,
    }


def flux_routes(env: EnvOrder, cfg: RenderConfig) -> dict[str, Any]:
    """The environment's HTTPRoutes, applied only once models-<env> is ready: a canary gets traffic
    only after its Deployment is healthy."""
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": f"{app_name(env.name)}-routes", "namespace": cfg.flux["namespace"],
                     "labels": {ENV_LABEL: env.name}},
        "spec": {
            "interval": cfg.flux["interval"],
            "path": f"./environments/{env.name}/routes",
            "prune": True,
            "wait": True,
            "timeout": "5m",
            "sourceRef": {"kind": "GitRepository", "name": SOURCE_NAME},
            "dependsOn": [{"name": app_name(env.name)}],
            "healthCheckExprs": [dict(HEALTH_CHECKS[0])],
        },
    }


def wiring_files(envs: list[EnvOrder], cfg: RenderConfig) -> dict[str, bytes]:
    """Repo-relative path -> content of every controller wiring file."""
    files = {
        ARGOCD_FILE: yamlout.dump_documents([applicationset(envs, cfg)], header("policies/policy-pack.yaml")),
        f"{FLUX_DIR}/gitrepository.yaml": yamlout.dump_documents([git_repository(cfg)], header()),
    }
    for env in envs:
        files[f"{ARGOCD_APPS_DIR}/{env.name}.yaml"] = yamlout.dump_documents(
            [application(env, cfg)], header("policies/policy-pack.yaml"))
    files[f"{ARGOCD_APPS_DIR}/kustomization.yaml"] = yamlout.dump_documents([{
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": sorted(f"{e.name}.yaml" for e in envs),
    }], header())
    for env in envs:
        files[f"{FLUX_DIR}/{env.name}.yaml"] = yamlout.dump_documents(
            [flux_kustomization(env, cfg), flux_routes(env, cfg)], header("policies/policy-pack.yaml"))
    index = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": ["gitrepository.yaml", *sorted(f"{e.name}.yaml" for e in envs)],
    }
    files[f"{FLUX_DIR}/kustomization.yaml"] = yamlout.dump_documents([index], header())
    return files
