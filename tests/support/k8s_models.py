"""Validators of Kubernetes custom resources from the npm ``@kubernetes-models/*`` packages.

scripts/fixtures/fetch-k8s-models.sh fetches them (pinned, checksummed) into
.cache/fixtures/k8s-models/node_modules. The packages ship no JSON Schema: each kind comes with a
validator compiled (AJV standalone code) from the upstream CRD schema, so k8s_models.mjs runs
them with node and reports each document's errors, unknown fields included.

In CI (``CI`` set) a missing fixture or a missing node is a test *failure*; locally it is a skip
that says what to run.
"""
from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = Path(os.environ.get("RELEASEGATE_FIXTURES", ROOT / ".cache" / "fixtures")) / "k8s-models" / "node_modules"
PACKAGES = (
    "@kubernetes-models/argo-cd",
    "@kubernetes-models/flux-cd",
    "@kubernetes-models/gateway-api",
    "@kubernetes-models/knative",
    "@kubernetes-models/prometheus-operator",
)
DRIVER = Path(__file__).with_name("k8s_models.mjs")


@dataclass(frozen=True)
class FieldError:
    path: str  # a JSON pointer into the document, e.g. /spec/rules/0/backendRefs/0/port
    message: str


def _missing(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message + " (CI is set: a missing fixture is a failure)")
    pytest.skip(message)


def _node_argv() -> list[str]:
    node = shutil.which("node")
    if node is None:
        _missing("node is needed to run the @kubernetes-models validators; it comes with npm, which fetches them")
    for name in PACKAGES:
        if not (NODE_MODULES / name / "package.json").is_file():
            _missing(f"missing fixture {NODE_MODULES / name}: run scripts/fixtures/fetch-k8s-models.sh")
    return [str(node), str(DRIVER), str(NODE_MODULES), *PACKAGES]


def _run(extra: Sequence[str], stdin: str | None = None) -> Any:
    proc = subprocess.run([*_node_argv(), *extra], input=stdin, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"{DRIVER.name} failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(proc.stdout)


@functools.cache
def known_kinds() -> frozenset[tuple[str, str]]:
    """(apiVersion, kind) of every resource the packages have a validator for."""
    return frozenset(tuple(k.rsplit("/", 1)) for k in _run(["--kinds"]))  # type: ignore[misc]


def validate(docs: Sequence[Mapping[str, Any]]) -> list[list[FieldError] | None]:
    """Per document its errors (empty: valid), or None when no package knows its kind."""
    results = _run([], json.dumps(list(docs)))
    return [None if r is None else [FieldError(e["path"], e["message"]) for e in r] for r in results]
