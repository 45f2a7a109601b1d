"""Helpers for the render tests: small GitOps repositories built from case folders."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from releasegate.layout import RepoLayout

HERE = Path(__file__).parent
DATA = HERE / "data"
CASES = HERE / "cases"
REPO_ROOT = HERE.parents[2]
GOLDEN = REPO_ROOT / "tests" / "golden" / "render"


def make_repo(dest: Path, case: str | None = None) -> RepoLayout:
    """A repository with the test policies and (optionally) a case's release files."""
    shutil.copytree(DATA / "policies", dest / "policies")
    shutil.copytree(REPO_ROOT / "policies" / "schemas", dest / "policies" / "schemas")
    (dest / "environments").mkdir(exist_ok=True)
    if case:
        shutil.copytree(CASES / case / "environments", dest / "environments", dirs_exist_ok=True)
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


def find_crds() -> Path:
    """The CRD schemas folder: shared/crds beside the checkout
    (CI clones the project with shared/ beside it) or beside one of its parents."""
    for candidate in (p / "shared" / "crds" for p in REPO_ROOT.parents):
        if candidate.is_dir() and any(candidate.glob("*.schema.json")):
            return candidate
    fixture_missing("CRD schemas (shared/crds)", "put the shared/ folder beside the checkout (see 'Validation in the test suite' in docs/render.md)")
    raise AssertionError("unreachable")
