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
