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


def test_wiring_depends_on_the_previous_environment(repo: RepoLayout) -> None:
    for env in ("dev", "staging", "prod"):
        write_release(repo, env, "a", MODEL)
    plan = render_plan(repo)
    prod = yaml.safe_load(plan.expected["deploy/flux/prod.yaml"] or b"")
    dev = yaml.safe_load(plan.expected["deploy/flux/dev.yaml"] or b"")
    assert prod["spec"]["dependsOn"] == [{"name": "models-staging"}]
    assert "dependsOn" not in dev["spec"]
    appset = yaml.safe_load(plan.expected["deploy/argocd/applicationset.yaml"] or b"")
    elements = appset["spec"]["generators"][0]["list"]["elements"]
    assert [(e["env"], e["wave"], e["namespace"]) for e in elements] == [
        ("dev", "0", "ml-dev"), ("staging", "1", "ml-staging"), ("prod", "2", "ml-prod")]
    steps = appset["spec"]["strategy"]["rollingSync"]["steps"]
    assert [s["matchExpressions"][0]["values"] for s in steps] == [["0"], ["1"], ["2"]]


def test_namespace_override_and_repository(repo: RepoLayout) -> None:
    path = repo.root / "policies/render.yaml"
    path.write_text(path.read_text() + "environments:\n  prod: {namespace: serving-prod}\n")
    cfg = load_config(repo)
    assert (cfg.namespace("prod"), cfg.namespace("dev")) == ("serving-prod", "ml-dev")
    assert cfg.repo_url == "https://git.example.com/ml/models.git"


def test_invalid_config_names_file_line_and_field(repo: RepoLayout) -> None:
    path = repo.root / "policies/render.yaml"
    path.write_text(path.read_text().replace("image: releasegate/server:0.1.0", "image: 42"))
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
