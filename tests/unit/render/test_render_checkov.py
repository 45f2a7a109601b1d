"""What a platform team's admission checks would say about the rendered manifests.

- checkov (its Kubernetes checks, CKV_K8S_*) on every environment as `kubectl kustomize` builds it
  (the repository's and every golden case's) and on deploy/: no failed check, and every check it
  skips is listed, with its reason, in .checkov.yaml;
- Pod Security "restricted" (tests/support/pod_security.py) for every pod template in a namespace
  that the rendered Namespace labels restricted: init containers included.

checkov runs from its own virtual environment (scripts/fixtures/fetch-checkov.sh); without it the
test is skipped locally and fails in CI.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from render_helpers import GOLDEN_ROOTS, REPO_ROOT, find_kubectl, fixture_missing

from releasegate.command import run_text
from tests.support.pod_security import restricted_violations

CONFIG = REPO_ROOT / ".checkov.yaml"
FOLDERS = sorted(p.parent for root in [REPO_ROOT, *GOLDEN_ROOTS]
                 for p in root.glob("environments/*/manifests/kustomization.yaml"))


def _checkov() -> Path:
    cached = REPO_ROOT / ".cache" / "fixtures" / "bin" / "checkov"
    if cached.exists() and os.access(cached, os.X_OK):
        return cached
    found = shutil.which("checkov")
    if found:
        return Path(found)
    fixture_missing("checkov", "run scripts/fixtures/fetch-checkov.sh to install the pinned one")
    raise AssertionError("unreachable")


@cache
def _built(tmp: Path) -> dict[str, str]:
    """name -> built YAML of every environment and of deploy/ (what the controllers apply)."""
    kubectl = find_kubectl()
    out = {}
    for folder in [*FOLDERS, REPO_ROOT / "deploy" / "flux", REPO_ROOT / "deploy" / "argocd" / "applications"]:
        name = folder.relative_to(REPO_ROOT).as_posix().replace("/", "_")
        out[name] = run_text([str(kubectl), "kustomize", str(folder)], env={"HOME": str(tmp)}, timeout=60)
    out["deploy_argocd"] = (REPO_ROOT / "deploy" / "argocd" / "applicationset.yaml").read_text()
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return _built(tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="module")
def checkov_report(built: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("built")
    for name, text in built.items():
        (folder / f"{name}.yaml").write_text(text)
    checkov = _checkov()
    out = run_text([str(checkov), "--config-file", str(CONFIG), "-d", str(folder), "-o", "json", "--quiet"],
                   env={"HOME": str(folder)},
                   timeout=300, check=False)
    report = json.loads(out)
    return report if isinstance(report, list) else [report]


def _skips() -> dict[str, str]:
    """check id -> the comment above it in .checkov.yaml."""
    reasons: dict[str, str] = {}
    comment: list[str] = []
    for line in CONFIG.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            comment.append(stripped.lstrip("# "))
        elif match := re.fullmatch(r"- (CKV\w+)", stripped):
            reasons[match.group(1)] = " ".join(comment)
            comment = []
        else:
            comment = []
    return reasons


def test_every_skipped_check_says_why() -> None:
    skips = _skips()
    assert skips, ".checkov.yaml skips nothing?"
    assert set(skips) == set(yaml.safe_load(CONFIG.read_text())["skip-check"])
    for check, reason in skips.items():
        assert len(reason) > 40, f"{check}: say why it is skipped, in a comment above it"


def test_checkov_finds_nothing(checkov_report: list[dict[str, Any]]) -> None:
    summary = checkov_report[0]["summary"]
    failed = [f"{f['file_path']}: {f['resource']}: {f['check_id']} {f['check_name']}"
              for r in checkov_report for f in r["results"]["failed_checks"]]
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 100 and summary["resource_count"] > 50
    assert failed == []


def test_nothing_is_suppressed_inside_the_manifests(checkov_report: list[dict[str, Any]]) -> None:
    """No checkov.io/skip annotation in a rendered object: .checkov.yaml is the one list of exceptions."""
    skipped = [f["check_id"] for r in checkov_report for f in r["results"].get("skipped_checks", [])]
    assert skipped == []


def _restricted_pods(built: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    pods = []
    for name, text in built.items():
        docs = [d for d in yaml.safe_load_all(text) if d]
        restricted = {d["metadata"]["name"] for d in docs if d["kind"] == "Namespace"
                      and d["metadata"]["labels"].get("pod-security.kubernetes.io/enforce") == "restricted"}
        pods += [(f"{name}: {d['metadata']['name']}", d["spec"]["template"]["spec"]) for d in docs
                 if d["kind"] == "Deployment" and d["metadata"].get("namespace") in restricted]
    return pods


def test_every_pod_passes_pod_security_restricted(built: dict[str, str]) -> None:
    pods = _restricted_pods(built)
    assert len(pods) >= 10
    problems = [f"{where}: {v}" for where, pod in pods for v in restricted_violations(pod)]
    assert problems == []


def test_only_a_privileged_environment_renders_a_host_path(built: dict[str, str]) -> None:
    for name, text in built.items():
        docs = [d for d in yaml.safe_load_all(text) if d]
        levels = {d["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] for d in docs if d["kind"] == "Namespace"}
        if any("hostPath" in v for d in docs if d["kind"] == "Deployment" for v in d["spec"]["template"]["spec"]["volumes"]):
            assert levels == {"privileged"}, name


def test_the_oracle_rejects_what_restricted_rejects() -> None:
    """Guards the guard: each rule of the restricted level is noticed."""
    good = {"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "c", "securityContext": {"allowPrivilegeEscalation": False,
                                                             "capabilities": {"drop": ["ALL"]}}}],
            "volumes": [{"name": "v", "emptyDir": {}}]}
    assert restricted_violations(good) == []
    bad = json.loads(json.dumps(good))
    bad["initContainers"] = [{"name": "init"}]
    bad["volumes"].append({"name": "h", "hostPath": {"path": "/x"}})
    bad["securityContext"] = {}
    found = "\n".join(restricted_violations(bad))
    for fragment in ("hostPath", "init: allowPrivilegeEscalation", "init: capabilities", "c: runAsNonRoot",
                     "c: seccompProfile"):
        assert fragment in found
