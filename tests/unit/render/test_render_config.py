"""policies/render.yaml and the controller wiring it drives."""
from __future__ import annotations

import pytest
import yaml
from render_helpers import write_release

from releasegate.errors import ConfigError
from releasegate.layout import RepoLayout
from releasegate.render import render_plan
from releasegate.render.config import load_config
from releasegate.render.wiring import order_environments

MODEL = ("apiVersion: releasegate/v1\nkind: ModelRelease\nmetadata: {name: a, owner: t}\nspec:\n  model:\n"
         "    version: 1.0.0\n    artifact: {uri: s3://m/a.pt2, sha256: \"" + "a" * 64 + "\", format: torch-export}\n"
         "  runtime: {kind: builtin}\n")


def test_environment_order_follows_promotes_from() -> None:
    order = order_environments(["prod", "dev", "staging", "sandbox"],
                               {"dev": None, "staging": "dev", "prod": "staging", "qa": "dev"})
    assert [(e.name, e.wave, e.promotes_from) for e in order] == [
        ("dev", 0, None), ("sandbox", 0, None), ("staging", 1, "dev"), ("prod", 2, "staging")]


def test_promotion_cycle_does_not_loop() -> None:
    order = order_environments(["a", "b"], {"a": "b", "b": "a"})
    assert sorted(e.name for e in order) == ["a", "b"]


def test_environments_are_independent_by_default(repo: RepoLayout) -> None:
    """No environment waits for another's health: a broken dev never holds up a prod rollback."""
    for env in ("dev", "staging", "prod"):
        write_release(repo, env, "a", MODEL)
    plan = render_plan(repo)
    for env in ("dev", "staging", "prod"):
        flux, routes = yaml.safe_load_all(plan.expected[f"deploy/flux/{env}.yaml"] or b"")
        assert (routes["metadata"]["name"], routes["spec"]["dependsOn"]) == (f"models-{env}-routes", [{"name": f"models-{env}"}])
        assert "dependsOn" not in flux["spec"]
        assert [h["kind"] for h in flux["spec"]["healthCheckExprs"]] == ["HTTPRoute", "InferenceService"]
        app = yaml.safe_load(plan.expected[f"deploy/argocd/applications/{env}.yaml"] or b"")
        assert app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
        assert "annotations" not in app["metadata"]
    appset = yaml.safe_load(plan.expected["deploy/argocd/applicationset.yaml"] or b"")
    assert "strategy" not in appset["spec"]
    assert appset["spec"]["template"]["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert yaml.safe_load(plan.expected["deploy/argocd/applications/kustomization.yaml"] or b"")["resources"] == [
        "dev.yaml", "prod.yaml", "staging.yaml"]


def test_promotion_ordering_is_an_opt_in(repo: RepoLayout) -> None:
    path = repo.root / "policies/render.yaml"
    path.write_text(path.read_text() + "ordering: promotion\n")
    for env in ("dev", "staging", "prod"):
        write_release(repo, env, "a", MODEL)
    plan = render_plan(repo)
    prod = next(yaml.safe_load_all(plan.expected["deploy/flux/prod.yaml"] or b""))
    dev = next(yaml.safe_load_all(plan.expected["deploy/flux/dev.yaml"] or b""))
    assert prod["spec"]["dependsOn"] == [{"name": "models-staging"}]
    assert "dependsOn" not in dev["spec"]
    appset = yaml.safe_load(plan.expected["deploy/argocd/applicationset.yaml"] or b"")
    elements = appset["spec"]["generators"][0]["list"]["elements"]
    assert [(e["env"], e["wave"], e["namespace"]) for e in elements] == [
        ("dev", "0", "ml-dev"), ("staging", "1", "ml-staging"), ("prod", "2", "ml-prod")]
    steps = appset["spec"]["strategy"]["rollingSync"]["steps"]
    assert [s["matchExpressions"][0]["values"] for s in steps] == [["0"], ["1"], ["2"]]
    app = yaml.safe_load(plan.expected["deploy/argocd/applications/prod.yaml"] or b"")
    assert app["metadata"]["annotations"] == {"argocd.argoproj.io/sync-wave": "2"}


def test_namespace_override_and_repository(repo: RepoLayout) -> None:
    path = repo.root / "policies/render.yaml"
    path.write_text(path.read_text() + "environments:\n  prod: {namespace: serving-prod}\n")
    cfg = load_config(repo)
    assert (cfg.namespace("prod"), cfg.namespace("dev")) == ("serving-prod", "ml-dev")
    assert cfg.repo_url == "https://git.acme.internal/ml/models.git"


def test_invalid_config_names_file_line_and_field(repo: RepoLayout) -> None:
    path = repo.root / "policies/render.yaml"
    path.write_text(path.read_text().replace("image: ghcr.io/acme/releasegate-server@sha256:511dec6b6348a7aea592ee8a68b35475989cc7f5c5cd451b59a9e43c1bbd05db", "image: 42"))
    with pytest.raises(ConfigError, match=r"policies/render.yaml:\d+:\d+: \$\.builtin\.image: 42 is not of type"):
        load_config(repo)


def test_config_with_duplicate_keys_is_refused(repo: RepoLayout) -> None:
    path = repo.root / "policies/render.yaml"
    path.write_text(path.read_text() + "namespace: other\n")
    with pytest.raises(ConfigError, match="policies/render.yaml"):
        load_config(repo)


def test_defaults_without_a_config_file(repo: RepoLayout) -> None:
    (repo.root / "policies/render.yaml").unlink()
    cfg = load_config(repo)
    assert (cfg.image, cfg.port, cfg.gateway, cfg.namespace("dev")) == ("releasegate/server:0.1.0", 8080, None, "models-dev")


def _deployment(plan_bytes: bytes | None) -> dict:
    return next(d for d in yaml.safe_load_all(plan_bytes or b"") if d["kind"] == "Deployment")


def test_environment_settings_override_the_top_level(repo: RepoLayout) -> None:
    """Service account, update strategy, Pod Security level and GPU platform per environment."""
    path = repo.root / "policies/render.yaml"
    path.write_text(path.read_text() + (
        "serviceAccount: {name: models, annotations: {eks.amazonaws.com/role-arn: arn:aws:iam::1:role/models}}\n"
        "environments:\n"
        "  prod:\n"
        "    serviceAccount: {name: models-prod, create: false}\n"
        "    updateStrategy: {maxSurge: 1, maxUnavailable: 0}\n"
        "    gpu: {preset: gke}\n"
        "  dev: {podSecurity: baseline, gpu: {types: {nvidia-l4: L4-custom}}}\n"))
    gpu_model = MODEL.replace("runtime: {kind: builtin}", "runtime: {kind: builtin, resources: {gpu: 1, gpuType: nvidia-l4}}")
    for env in ("dev", "prod"):
        write_release(repo, env, "a", gpu_model.replace("format: torch-export}", "format: torch-export, sizeBytes: 5}"))
    plan = render_plan(repo)
    assert plan.problems == []
    prod, dev = (_deployment(plan.expected[f"environments/{e}/manifests/a.yaml"]) for e in ("prod", "dev"))
    assert prod["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    assert dev["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 1}
    assert prod["spec"]["template"]["spec"]["serviceAccountName"] == "models-prod"
    assert prod["spec"]["template"]["spec"]["nodeSelector"] == {"cloud.google.com/gke-accelerator": "nvidia-l4"}
    assert dev["spec"]["template"]["spec"]["nodeSelector"] == {"nvidia.com/gpu.product": "L4-custom"}
    prod_ns = list(yaml.safe_load_all(plan.expected["environments/prod/manifests/namespace.yaml"] or b""))
    dev_ns = list(yaml.safe_load_all(plan.expected["environments/dev/manifests/namespace.yaml"] or b""))
    assert [d["kind"] for d in prod_ns] == ["Namespace"]  # create: false: the account exists already
    assert dev_ns[1]["metadata"] == {
        "name": "models", "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/models"},
        "labels": {"app.kubernetes.io/managed-by": "releasegate", "releasegate.dev/environment": "dev"}}
    assert dev_ns[0]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    assert prod_ns[0]["metadata"]["annotations"] == {"argocd.argoproj.io/sync-options": "Prune=false",
                                                    "kustomize.toolkit.fluxcd.io/prune": "disabled"}


@pytest.mark.parametrize("preset,label,value", [
    ("nvidia-gpu-operator", "nvidia.com/gpu.product", "NVIDIA-H100-80GB-HBM3"),
    ("gke", "cloud.google.com/gke-accelerator", "nvidia-h100-80gb"),
    ("eks-karpenter", "karpenter.k8s.aws/instance-gpu-name", "h100"),
])
def test_gpu_presets(repo: RepoLayout, preset: str, label: str, value: str) -> None:
    path = repo.root / "policies/render.yaml"
    path.write_text(path.read_text().replace("gpu:\n  nodeLabel: nvidia.com/gpu.product\n", f"gpu:\n  preset: {preset}\n")
                    .replace("    nvidia-h100: NVIDIA-H100-80GB-HBM3\n", ""))
    gpu = load_config(repo).env("prod").gpu
    assert (gpu.node_label, gpu.product("nvidia-h100"), gpu.resource) == (label, value, "nvidia.com/gpu")
    assert gpu.toleration_list()[0]["key"] == "nvidia.com/gpu"


def test_fetcher_images_must_be_pinned_by_digest(repo: RepoLayout) -> None:
    path = repo.root / "policies/render.yaml"
    path.write_text(path.read_text().replace("builtin:\n", "builtin:\n  fetchers:\n    s3: {image: amazon/aws-cli:2.22.35, "
                                                            "command: [aws, s3, cp, '{uri}', '{path}']}\n"))
    with pytest.raises(ConfigError, match=r"\$\.builtin\.fetchers\.s3\.image: 'amazon/aws-cli:2.22.35' does not match"):
        load_config(repo)


def test_placeholders_are_named_and_real_values_are_not(repo: RepoLayout) -> None:
    from releasegate.errors import PlaceholderError
    from releasegate.render.placeholders import find_placeholders, refuse_placeholders

    cfg = load_config(repo)
    assert find_placeholders(cfg, ["dev", "prod"]) == []
    refuse_placeholders(cfg, ["dev"])  # nothing to refuse
    path = repo.root / "policies/render.yaml"
    path.write_text(path.read_text().replace("git.acme.internal", "git.example.org").replace(
        "models.acme.internal", "example.net").replace("ghcr.io/acme/releasegate-server@sha256:511dec6b6348a7aea592ee8a68b35475989cc7f5c5cd451b59a9e43c1bbd05db", "releasegate/server:0.1.0")
        + "environments:\n  prod: {cluster: 'https://prod.k8s.example.com:6443'}\n")
    cfg = load_config(repo)
    assert [p.setting for p in find_placeholders(cfg, ["dev", "prod"])] == [
        "repository.url", "gateway.hostnames", "environments.prod.cluster", "builtin.image"]
    with pytest.raises(PlaceholderError, match="repository.url: 'https://git.example.org/ml/models.git'") as e:
        refuse_placeholders(cfg, ["dev", "prod"])
    assert e.value.exit_code == 1 and "--allow-placeholders" in str(e.value)
