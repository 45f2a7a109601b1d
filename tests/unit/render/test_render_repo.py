"""The repository's own rendered manifests: up to date, schema-valid, buildable.

- core kinds against the Kubernetes OpenAPI schemas (kubernetes-validate, strict);
- custom resources (InferenceService, HTTPRoute, ApplicationSet, Flux objects) against
  their upstream CRD schemas (shared/crds, see find_crds);
- every environment (and deploy/flux) built by a real `kubectl kustomize`
  (scripts/fixtures/fetch-kubectl.sh fetches a pinned kubectl).
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from render_helpers import REPO_ROOT, find_crds, find_kubectl, fixture_missing

from releasegate.command import run_text
from releasegate.layout import RepoLayout
from releasegate.render import compare, render_plan

LAYOUT = RepoLayout(REPO_ROOT)
ENVS = LAYOUT.environment_names()
K8S_VERSION = "1.35"
CRD_FILES = {
    ("serving.kserve.io/v1beta1", "InferenceService"): "serving.kserve.io_v1beta1_inferenceservice.schema.json",
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): "gateway.networking.k8s.io_v1_httproute.schema.json",
    ("argoproj.io/v1alpha1", "ApplicationSet"): "argoproj.io_v1alpha1_applicationset.schema.json",
    ("argoproj.io/v1alpha1", "Application"): "argoproj.io_v1alpha1_application.schema.json",
    ("source.toolkit.fluxcd.io/v1", "GitRepository"): "source.toolkit.fluxcd.io_v1_gitrepository.schema.json",
    ("kustomize.toolkit.fluxcd.io/v1", "Kustomization"): "kustomize.toolkit.fluxcd.io_v1_kustomization.schema.json",
}
KUSTOMIZE_CONFIG = ("kustomize.config.k8s.io/v1beta1", "Kustomization")


def _rendered_files(root: Path) -> list[Path]:
    return sorted(root.glob("environments/*/manifests/*.yaml")) + sorted(root.glob("deploy/**/*.yaml"))


GOLDEN_ROOTS = sorted(p for p in (REPO_ROOT / "tests" / "golden" / "render").iterdir() if p.is_dir())
GOLDEN_FOLDERS = [p.parent for root in GOLDEN_ROOTS for p in root.glob("environments/*/manifests/kustomization.yaml")]


def _documents() -> Iterator[tuple[str, dict[str, Any]]]:
    """The repository's rendered files, then the golden files of every render test case."""
    files = _rendered_files(REPO_ROOT) + [f for root in GOLDEN_ROOTS for f in _rendered_files(root)]
    for path in files:
        for doc in yaml.safe_load_all(path.read_bytes()):
            if isinstance(doc, dict) and (doc.get("apiVersion"), doc.get("kind")) != KUSTOMIZE_CONFIG:
                yield path.relative_to(REPO_ROOT).as_posix(), doc


DOCUMENTS = list(_documents())


def _strict(schema: Any) -> Any:
    """A CRD schema as the API server applies it with strict field validation: unknown
    fields are errors unless x-kubernetes-preserve-unknown-fields says otherwise."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v) for k, v in schema.items()}
    if "properties" in out and "additionalProperties" not in out and not out.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    return out


@cache
def _validator(file: str) -> jsonschema.Draft7Validator:
    schema = _strict(json.loads((find_crds() / file).read_text()))
    # metadata is validated by the API server itself, not by the CRD schema.
    schema["properties"]["metadata"] = {"type": "object"}
    return jsonschema.Draft7Validator(schema)


def test_repository_has_rendered_environments() -> None:
    assert ENVS, "no environments/ in the repository"
    assert any(p.startswith("environments/") for p, _ in DOCUMENTS), "no rendered manifests: run releasegate render"
    assert len(GOLDEN_FOLDERS) == len(GOLDEN_ROOTS) > 0


def test_committed_manifests_are_up_to_date() -> None:
    drifts = compare(LAYOUT, render_plan(LAYOUT))
    assert not drifts, "out of date (run releasegate render):\n" + "\n".join(d.diff for d in drifts)


@pytest.mark.parametrize("path,doc", [d for d in DOCUMENTS if (d[1]["apiVersion"], d[1]["kind"]) not in CRD_FILES],
                         ids=lambda v: v if isinstance(v, str) else f"{v['kind']}/{v['metadata']['name']}")
def test_core_kinds_are_valid_kubernetes(path: str, doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


@pytest.mark.parametrize("path,doc", [d for d in DOCUMENTS if (d[1]["apiVersion"], d[1]["kind"]) in CRD_FILES],
                         ids=lambda v: v if isinstance(v, str) else f"{v['kind']}/{v['metadata']['name']}")
def test_custom_resources_match_their_crd_schema(path: str, doc: dict[str, Any]) -> None:
    errors = sorted(_validator(CRD_FILES[(doc["apiVersion"], doc["kind"])]).iter_errors(doc), key=str)
    assert not errors, f"{path}: " + "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def test_every_rendered_kind_is_validated() -> None:
    core = {"Namespace", "Deployment", "Service", "PodDisruptionBudget"}
    kinds = {(d["apiVersion"], d["kind"]) for _, d in DOCUMENTS}
    assert {k for _, k in kinds} <= core | {k for _, k in CRD_FILES}


def test_strict_crd_validation_catches_an_unknown_field() -> None:
    """Guards the guard: the CRD check would notice a misspelt field."""
    doc = next(d for _, d in DOCUMENTS if d["kind"] == "InferenceService")
    bad = json.loads(json.dumps(doc))
    bad["spec"]["predictor"]["canaryTraficPercent"] = 10
    assert list(_validator(CRD_FILES[(bad["apiVersion"], bad["kind"])]).iter_errors(bad))


@pytest.mark.parametrize("folder", [f"environments/{e}/manifests" for e in ENVS] + ["deploy/flux"] + [
    p.relative_to(REPO_ROOT).as_posix() for p in GOLDEN_FOLDERS])
def test_kubectl_kustomize_builds(folder: str, tmp_path: Path) -> None:
    kubectl = find_kubectl()
    out = run_text([str(kubectl), "kustomize", str(REPO_ROOT / folder)], env={"HOME": str(tmp_path)}, timeout=60)
    built = [d for d in yaml.safe_load_all(out) if d]
    expected = [d for p, d in DOCUMENTS if p.startswith(folder + "/")]
    assert len(built) == len(expected) > 0
    if "manifests" in folder:
        namespace = yaml.safe_load((REPO_ROOT / folder / "kustomization.yaml").read_text())["namespace"]
        assert all(d["metadata"].get("namespace", namespace) == namespace for d in built)


def test_missing_fixture_fails_in_ci_and_skips_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        fixture_missing("kubectl", "run scripts/fixtures/fetch-kubectl.sh")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="fetch-kubectl.sh"):
        fixture_missing("kubectl", "run scripts/fixtures/fetch-kubectl.sh")
