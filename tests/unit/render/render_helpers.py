"""Helpers for the render tests: small GitOps repositories built from case folders."""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from releasegate.layout import RepoLayout

HERE = Path(__file__).parent
DATA = HERE / "data"
CASES = HERE / "cases"
REPO_ROOT = HERE.parents[2]
GOLDEN = REPO_ROOT / "tests" / "golden" / "render"
GOLDEN_ROOTS = sorted(p for p in GOLDEN.iterdir() if p.is_dir())
KUSTOMIZE_CONFIG = ("kustomize.config.k8s.io/v1beta1", "Kustomization")
# Read at import: the autouse isolated_env fixture removes RELEASEGATE_* variables during tests.
SHARED_CRDS = os.environ.get("RELEASEGATE_SHARED_CRDS")
CORE_KINDS = {"Namespace", "ServiceAccount", "Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy"}
# Custom resources whose only contract is hand-written (tests/support/), no upstream CRD schema here.
HAND_WRITTEN_KINDS = {
    ("serving.kserve.io/v1alpha1", "ClusterServingRuntime"): "kserve-clusterservingruntime-v1alpha1.schema.json",
}
# The custom resources releasegate renders, with the file of each in shared/crds (an optional extra;
# None: shared/crds has no schema of the kind, whose @kubernetes-models validator is then the only check).
CUSTOM_KINDS: dict[tuple[str, str], str | None] = {
    ("serving.kserve.io/v1beta1", "InferenceService"): "serving.kserve.io_v1beta1_inferenceservice.schema.json",
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): "gateway.networking.k8s.io_v1_httproute.schema.json",
    ("argoproj.io/v1alpha1", "ApplicationSet"): "argoproj.io_v1alpha1_applicationset.schema.json",
    ("argoproj.io/v1alpha1", "Application"): "argoproj.io_v1alpha1_application.schema.json",
    ("source.toolkit.fluxcd.io/v1", "GitRepository"): "source.toolkit.fluxcd.io_v1_gitrepository.schema.json",
    ("kustomize.toolkit.fluxcd.io/v1", "Kustomization"): "kustomize.toolkit.fluxcd.io_v1_kustomization.schema.json",
    ("monitoring.coreos.com/v1", "PodMonitor"): None,
    ("monitoring.coreos.com/v1", "PrometheusRule"): None,
}


def make_repo(dest: Path, case: str | None = None) -> RepoLayout:
    """A repository with the test policies and (optionally) a case's release files."""
    shutil.copytree(DATA / "policies", dest / "policies")
    shutil.copytree(REPO_ROOT / "policies" / "schemas", dest / "policies" / "schemas")
    (dest / "environments").mkdir(exist_ok=True)
    if case:
        shutil.copytree(CASES / case / "environments", dest / "environments", dirs_exist_ok=True)
        if (CASES / case / "policies").is_dir():  # a case's own settings over the test policies
            shutil.copytree(CASES / case / "policies", dest / "policies", dirs_exist_ok=True)
    return RepoLayout(dest)


def write_release(layout: RepoLayout, env: str, name: str, text: str) -> Path:
    path = layout.release_file(env, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def in_ci() -> bool:
    return bool(os.environ.get("CI"))


def fixture_missing(what: str, how: str) -> None:
    """Skip locally, fail in CI (CI must never pass silently without a fixture)."""
    import pytest

    message = f"{what} not found; {how}"
    if in_ci():
        pytest.fail(message + " (CI is set: a missing fixture is a failure)")
    pytest.skip(message)


def find_kubectl() -> Path:
    """kubectl from scripts/fixtures/fetch-kubectl.sh, else from PATH."""
    cached = REPO_ROOT / ".cache" / "fixtures" / "bin" / "kubectl"
    if cached.is_file() and os.access(cached, os.X_OK):
        return cached
    found = shutil.which("kubectl")
    if found:
        return Path(found)
    fixture_missing("kubectl", "run scripts/fixtures/fetch-kubectl.sh to fetch the pinned one")
    raise AssertionError("unreachable")


def shared_crds(configured: str | None = SHARED_CRDS) -> Path | None:
    """The converted upstream CRD schemas, an optional extra check: ``RELEASEGATE_SHARED_CRDS`` if
    set, else shared/crds beside the checkout or one of its parents (these machines have it;
    GitHub-hosted runners do not). None when the folder is absent or holds no schema."""
    candidates = [Path(configured)] if configured else [p / "shared" / "crds" for p in REPO_ROOT.parents]
    for candidate in candidates:
        if candidate.is_dir() and any(candidate.glob("*.schema.json")):
            return candidate
    return None


def kind_of(doc: dict[str, Any]) -> tuple[str, str]:
    return doc["apiVersion"], doc["kind"]


def _rendered_files(root: Path) -> list[Path]:
    return (sorted(root.glob("environments/*/manifests/*.yaml")) + sorted(root.glob("environments/*/routes/*.yaml"))
            + sorted(root.glob("deploy/**/*.yaml")))


def rendered_documents() -> Iterator[tuple[str, dict[str, Any]]]:
    """The repository's rendered files, then the golden files of every render test case:
    (path relative to the repository, document), kustomization.yaml files left out."""
    files = _rendered_files(REPO_ROOT) + [f for root in GOLDEN_ROOTS for f in _rendered_files(root)]
    for path in files:
        for doc in yaml.safe_load_all(path.read_bytes()):
            if isinstance(doc, dict) and kind_of(doc) != KUSTOMIZE_CONFIG:
                yield path.relative_to(REPO_ROOT).as_posix(), doc
