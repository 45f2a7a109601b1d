"""Benchmark `releasegate validate` on a generated repo of N models x 3 environments.

    python benchmarks/validate/bench.py [--models 1000] [--runs 5]

Times (wall, including interpreter start) `validate --base main` for a PR touching
5 release files, and `validate --all`. Prints medians and writes nothing outside a
temporary directory.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
ENVS = ("dev", "staging", "prod")
# A Wednesday outside every freeze window, so the numbers do not depend on the day they are taken.
ENV = {**os.environ, "RELEASEGATE_NOW": "2026-11-18T12:00:00Z"}


def _digest(model: str, version: str) -> str:
    return hashlib.sha256(f"{model}-{version}".encode()).hexdigest()


def release_text(model: str, version: str, stable: str | None = None) -> str:
    """A prod-grade builtin release with canary steps: idle, or (``stable`` given) at its first step."""
    digest = _digest(model, version)
    commit = hashlib.sha1(f"{model}{version}".encode()).hexdigest()
    return f"""apiVersion: releasegate/v1
kind: ModelRelease
metadata:
  name: {model}
  owner: team-{int(hashlib.md5(model.encode()).hexdigest(), 16) % 20}
spec:
  model:
    version: {version}
    artifact:
      uri: s3://models/{model}/{version}/model.pt2
      sha256: "{digest}"
      format: torch-export
    lineage:
      trainingCommit: "{commit}"
      dataset: data-2026-11
    metrics:
      accuracy: 0.93
  runtime:
    kind: builtin
    resources:
      gpu: 1
      gpuType: nvidia-h100
      memory: 16Gi
      cpu: 4
    replicas: 2
  rollout:
    strategy: canary
    steps:
      - {{weight: 10, holdMinutes: 60}}
      - {{weight: 50, holdMinutes: 60}}
      - {{weight: 100, holdMinutes: 60}}
{_canary(model, stable)}  slo:
    p95LatencyMs: 50
    maxErrorRate: 0.001
"""


def _canary(model: str, stable: str | None) -> str:
    if stable is None:
        return ""
    return (f"    canaryPercent: 10\n    stable:\n      version: {stable}\n      artifact:\n"
            f"        uri: s3://models/{model}/{stable}/model.pt2\n"
            f'        sha256: "{_digest(model, stable)}"\n        format: torch-export\n')


def generate(root: Path, models: int) -> None:
    shutil.copytree(PROJECT / "policies", root / "policies")
    for env in ENVS:
        directory = root / "environments" / env / "releases"
        directory.mkdir(parents=True)
        for i in range(models):
            (directory / f"model-{i:04d}.yaml").write_text(release_text(f"model-{i:04d}", "1.0.0"))
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-q", "-m", "init")
    git(root, "checkout", "-q", "-b", "pr")
    for i in range(5):
        path = root / "environments" / "dev" / "releases" / f"model-{i * 7:04d}.yaml"
        path.write_text(release_text(f"model-{i * 7:04d}", "1.1.0", stable="1.0.0"))


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True)


def timed(args: list[str], root: Path, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "releasegate", *args], env=ENV,
                              cwd=root, capture_output=True, text=True)
        samples.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit(f"validate failed (exit {proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root, options.models)
        startup = timed(["--version"], root, options.runs)
        base = timed(["validate", "--base", "main"], root, options.runs)
        everything = timed(["validate", "--all"], root, options.runs)
    print(f"repo: {options.models} models x {len(ENVS)} environments; {options.runs} runs each")
    for name, samples, target in (("releasegate --version (interpreter start)", startup, None),
                                  ("validate --base main (5 files changed)", base, 1.0),
                                  ("validate --all", everything, 5.0)):
        median = statistics.median(samples)
        verdict = "" if target is None else f"  target <= {target:.0f} s: {'met' if median <= target else 'MISSED'}"
        print(f"{name:45s} median {median:6.3f} s  min {min(samples):6.3f} s{verdict}")


if __name__ == "__main__":
    main()
