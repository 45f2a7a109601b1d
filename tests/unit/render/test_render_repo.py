"""The repository's own rendered manifests: up to date, schema-valid, buildable.

- core kinds against the Kubernetes OpenAPI schemas (kubernetes-validate, strict);
- custom resources (InferenceService, HTTPRoute, ApplicationSet, Flux objects): see
  test_render_crds.py;
- every environment (and deploy/flux) built by a real `kubectl kustomize`
  (scripts/fixtures/fetch-kubectl.sh fetches a pinned kubectl).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from render_helpers import (
    CORE_KINDS,
    CUSTOM_KINDS,
    GOLDEN_ROOTS,
    HAND_WRITTEN_KINDS,
    REPO_ROOT,
    find_kubectl,
    fixture_missing,
    kind_of,
    rendered_documents,
)

from releasegate.command import run_text
from releasegate.layout import RepoLayout
from releasegate.render import compare, render_plan

LAYOUT = RepoLayout(REPO_ROOT)
ENVS = LAYOUT.environment_names()
K8S_VERSION = "1.35"
GOLDEN_FOLDERS = [p.parent for root in GOLDEN_ROOTS for p in root.glob("environments/*/manifests/kustomization.yaml")]
DOCUMENTS = list(rendered_documents())


def test_repository_has_rendered_environments() -> None:
    assert ENVS, "no environments/ in the repository"
    assert any(p.startswith("environments/") for p, _ in DOCUMENTS), "no rendered manifests: run releasegate render"
    assert len(GOLDEN_FOLDERS) == len(GOLDEN_ROOTS) > 0


def test_committed_manifests_are_up_to_date() -> None:
    drifts = compare(LAYOUT, render_plan(LAYOUT))
    assert not drifts, "out of date (run releasegate render):\n" + "\n".join(d.diff for d in drifts)


@pytest.mark.parametrize("path,doc", [d for d in DOCUMENTS if kind_of(d[1]) not in CUSTOM_KINDS | HAND_WRITTEN_KINDS],
                         ids=lambda v: v if isinstance(v, str) else f"{v['kind']}/{v['metadata']['name']}")
def test_core_kinds_are_valid_kubernetes(path: str, doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_every_rendered_kind_is_validated() -> None:
    """Core kinds here, custom resources in test_render_crds.py: nothing rendered goes unchecked."""
    kinds = {kind_of(d) for _, d in DOCUMENTS}
    unchecked = {k for k in kinds if k not in CUSTOM_KINDS | HAND_WRITTEN_KINDS and k[1] not in CORE_KINDS}
    assert not unchecked, f"rendered kinds that no test validates: {sorted(unchecked)}"


@pytest.mark.parametrize("folder", [f"environments/{e}/manifests" for e in ENVS] + ["deploy/flux", "deploy/argocd/applications", "deploy/kserve"] + [
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
