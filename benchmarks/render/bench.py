"""Benchmark `releasegate render` on a generated repo of N models x 3 environments.

    python benchmarks/render/bench.py [--models 1000] [--runs 5]

Times whole CLI invocations (wall clock, interpreter start included):
- `render`                      full render into an empty output tree;
- `render --check`              full in-memory render compared with the committed files;
- `render` again                on an up-to-date tree (reads, renders, writes nothing);
- `render --check --changed-since main` a PR touching 5 release files (incremental mode);
- `render --changed-since main` the same PR, rendered.
Prints medians; writes nothing outside a temporary directory.

    python benchmarks/render/bench.py --monitoring-cost [--models 1000] [--runs 5]

instead times what the monitoring objects (a PodMonitor and a PrometheusRule per builtin model,
docs/monitoring.md) add: the same repository twice, once with `monitoring: {enabled: false}` in
policies/render.yaml, full `render` into an empty tree and `render --check`, alternating between
the two in one run so that machine noise hits both alike.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
ENVS = ("dev", "staging", "prod")
STABLE = """    stable:
      version: {version}
      artifact:
        uri: s3://models/{model}/{version}/model.pt2
        sha256: "{digest}"
        format: torch-export
        sizeBytes: 438012416
"""


def _digest(model: str, version: str) -> str:
    return hashlib.sha256(f"{model}-{version}".encode()).hexdigest()


def release_text(model: str, index: int, version: str) -> str:
    """Builtin rolling (60 %), builtin canary (20 %) or KServe Serverless (20 %)."""
    kind = ("builtin", "builtin", "builtin", "canary", "kserve")[index % 5]
    runtime = ("    kind: kserve\n    kserve: {deploymentMode: Serverless, modelFormat: pytorch, protocolVersion: v2}\n"
               if kind == "kserve" else "    kind: builtin\n    batching: {maxBatch: 64, maxDelayMs: 2}\n")
    rollout = "  rollout:\n    strategy: rolling\n"
    if kind in ("canary", "kserve"):
        rollout = "  rollout:\n    strategy: canary\n    canaryPercent: 10\n"
        if kind == "canary":
            rollout += STABLE.format(model=model, version="0.9.0", digest=_digest(model, "0.9.0"))
    return f"""apiVersion: releasegate/v1
kind: ModelRelease
metadata:
  name: {model}
  owner: team-{index % 20}
spec:
  model:
    version: {version}
    artifact:
      uri: s3://models/{model}/{version}/model.pt2
      sha256: "{_digest(model, version)}"
      format: torch-export
      sizeBytes: 438012416
  runtime:
{runtime}    resources: {{gpu: 1, gpuType: nvidia-h100, memory: 16Gi, cpu: 4}}
    replicas: 2
{rollout}  slo: {{p95LatencyMs: 50, maxErrorRate: 0.001, minThroughputRps: 100}}
"""


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def make_repo(root: Path, models: int) -> None:
    shutil.copytree(PROJECT / "policies", root / "policies")
    for env in ENVS:
        folder = root / "environments" / env / "releases"
        folder.mkdir(parents=True)
        for i in range(models):
            (folder / f"model-{i:04d}.yaml").write_text(release_text(f"model-{i:04d}", i, "1.0.0"))


CPU: dict[str, list[float]] = {}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cli(repo: Path, *args: str, expect: int = 0, label: str = "") -> float:
    """Wall time of one CLI run; its CPU time (user + system) goes to CPU[label]."""
    cpu = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "releasegate", "render", *args], cwd=repo,
                          env={**os.environ, "PYTHONPATH": str(PROJECT / "src")}, capture_output=True)
    elapsed = time.perf_counter() - start
    CPU.setdefault(label, []).append(_children_cpu() - cpu)
    if proc.returncode != expect:
        raise SystemExit(f"render {' '.join(args)} exited {proc.returncode}, expected {expect}:\n"
                         f"{proc.stdout.decode()[-2000:]}{proc.stderr.decode()[-2000:]}")
    return elapsed


def touch_five(repo: Path, run: int) -> None:
    """A PR: five release files change version (in different environments)."""
    for k in range(5):
        env, i = ENVS[k % 3], 17 * k + 3
        model = f"model-{i:04d}"
        path = repo / "environments" / env / "releases" / f"{model}.yaml"
        path.write_text(release_text(model, i, f"1.{run + 1}.{k}"))


def monitoring_cost(models: int, runs: int) -> int:
    """Full render and check with and without the monitoring objects, alternating."""
    load = os.getloadavg()
    labels = ("full-on", "full-off", "check-on", "check-off")
    times: dict[str, list[float]] = {k: [] for k in labels}
    with tempfile.TemporaryDirectory(prefix="rg-render-bench-") as tmp:
        on, off = Path(tmp) / "on", Path(tmp) / "off"
        make_repo(on, models)
        shutil.copytree(on, off)
        config = off / "policies" / "render.yaml"
        config.write_text(config.read_text() + "monitoring:\n  enabled: false\n")
        for run in range(runs):
            for repo, side in ((on, "on"), (off, "off")) if run % 2 == 0 else ((off, "off"), (on, "on")):
                for env in ENVS:
                    shutil.rmtree(repo / "environments" / env / "manifests", ignore_errors=True)
                times[f"full-{side}"].append(cli(repo, label=f"full-{side}"))
                times[f"check-{side}"].append(cli(repo, "--check", label=f"check-{side}"))
        sizes = {side: sum(p.stat().st_size for p in repo.rglob("manifests/*.yaml")) for side, repo in
                 (("on", on), ("off", off))}
    print(f"models: {models} x {len(ENVS)} environments, runs: {runs}, "
          f"load average before: {load[0]:.2f}, after: {os.getloadavg()[0]:.2f}; "
          f"rendered bytes with monitoring {sizes['on']:,}, without {sizes['off']:,}")
    for name in ("full", "check"):
        on_wall, off_wall = statistics.median(times[f"{name}-on"]), statistics.median(times[f"{name}-off"])
        on_cpu, off_cpu = statistics.median(CPU[f"{name}-on"]), statistics.median(CPU[f"{name}-off"])
        print(f"render {'(empty tree)' if name == 'full' else '--check'}: with monitoring wall {on_wall:.3f} s, "
              f"cpu {on_cpu:.3f} s; without wall {off_wall:.3f} s, cpu {off_cpu:.3f} s; "
              f"added: wall {100 * (on_wall / off_wall - 1):+.1f} %, cpu {100 * (on_cpu / off_cpu - 1):+.1f} %")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=0,
                        help="RELEASEGATE_RENDER_WORKERS for the runs (0: one per core, 1: serial)")
    parser.add_argument("--monitoring-cost", action="store_true",
                        help="time full renders with and without the monitoring objects instead")
    args = parser.parse_args()
    if args.workers:
        os.environ["RELEASEGATE_RENDER_WORKERS"] = str(args.workers)
    if args.monitoring_cost:
        return monitoring_cost(args.models, args.runs)
    times: dict[str, list[float]] = {"full": [], "check": [], "again": [], "changed": [], "check-changed": []}
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="rg-render-bench-") as tmp:
        repo = Path(tmp) / "repo"
        make_repo(repo, args.models)
        git(repo, "init", "-q", "-b", "main")
        for run in range(args.runs):
            shutil.rmtree(repo / "deploy", ignore_errors=True)
            for env in ENVS:
                shutil.rmtree(repo / "environments" / env / "manifests", ignore_errors=True)
            times["full"].append(cli(repo, label="full"))
            times["check"].append(cli(repo, "--check", label="check"))
            times["again"].append(cli(repo, label="again"))
            git(repo, "add", "-A")
            git(repo, "-c", "user.name=b", "-c", "user.email=b@example.com", "commit", "--allow-empty", "-q",
                "-m", f"run {run}")
            touch_five(repo, run)
            # The PR's check finds the 5 manifests out of date (exit 1), then the PR renders them.
            times["check-changed"].append(cli(repo, "--check", "--changed-since", "main", expect=1,
                                              label="check-changed"))
            times["changed"].append(cli(repo, "--changed-since", "main", label="changed"))
            git(repo, "checkout", "-q", "--", ".")
        files = sum(1 for _ in repo.rglob("manifests/*.yaml"))
    print(f"models: {args.models} x {len(ENVS)} environments, {files} rendered files, runs: {args.runs}, "
          f"workers: {args.workers or 'one per core'}, "
          f"load average before: {load[0]:.2f}, after: {os.getloadavg()[0]:.2f}")
    for name, label in (("full", "render (empty output tree: writes every file)"),
                        ("check", "render --check (up to date)"),
                        ("again", "render (up to date: writes nothing)"),
                        ("check-changed", "render --check --changed-since main (5 files)"),
                        ("changed", "render --changed-since main (5 files)")):
        values, cpu = times[name], CPU[name]
        print(f"{label:50s} wall median {statistics.median(values):.3f} s (min {min(values):.3f}, "
              f"max {max(values):.3f}); cpu median {statistics.median(cpu):.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
