"""Benchmark status, history, status --at and validate's history rules on a large generated history.

    python benchmarks/history/bench.py [--models 1000] [--promotions 10000] [--runs 5] [--repo DIR]

Generates (with ``git fast-import``, see generate_repo.py) a repository with 1,000 models x 3
environments and 10,000 promotion commits on main, half of them GitHub merge commits, then
times whole CLI invocations (wall clock, interpreter start included) and prints medians.
With ``--repo DIR`` an existing generated repository is reused (its history cache is reset).
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate_repo import main as generate  # noqa: E402

# A Wednesday outside every freeze window, long after the generated history ends.
ENV = {**os.environ, "RELEASEGATE_NOW": "2026-11-18T12:00:00Z"}
ENV.pop("RELEASEGATE_AUTO_UNSHALLOW", None)
# Run this checkout's releasegate, installed or not.
ENV["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE.parents[1] / "src"), os.environ.get("PYTHONPATH")]))
AT = "2025-04-15T09:30:00Z"
LOAD: list[float] = []


CPU_SAMPLES: list[float] = []


def cli(root: Path, *args: str, expect: tuple[int, ...] = (0,)) -> float:
    """Wall seconds of one CLI run; its CPU seconds (user+sys, git included) go to CPU_SAMPLES."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "releasegate", *args], env=ENV, cwd=root,
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU_SAMPLES.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if proc.returncode not in expect:
        raise SystemExit(f"releasegate {' '.join(args)} failed (exit {proc.returncode}):\n"
                         f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return elapsed


def drop_cache(root: Path) -> None:
    shutil.rmtree(root / ".git" / "releasegate", ignore_errors=True)


def samples(runs: int, before: Callable[[], None], run: Callable[[], float]) -> tuple[list[float], list[float]]:
    """(wall seconds, CPU seconds) of ``runs`` runs."""
    wall = []
    CPU_SAMPLES.clear()
    for _ in range(runs):
        before()
        wall.append(run())
    return wall, list(CPU_SAMPLES)


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


def make_pr(root: Path, count: int = 5) -> None:
    """A branch that promotes ``count`` models from staging to prod, as a person would."""
    git(root, "checkout", "-q", "-B", "pr", "main")
    done = 0
    for staging in sorted((root / "environments/staging/releases").iterdir()):
        prod = root / "environments/prod/releases" / staging.name
        s_text, p_text = staging.read_text(), prod.read_text()
        if _version(s_text) == _version(p_text):
            continue
        prod.write_text(s_text.replace("replicas: 1", "replicas: 3"))
        done += 1
        if done == count:
            break
    git(root, "-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-qam", "Promote 5 models")


def _version(text: str) -> str:
    return next(line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("    version:"))


def add_commit(root: Path) -> None:
    """One more promotion on main (for the incremental-cache figure)."""
    path = root / "environments/dev/releases/model-0000.yaml"
    text = path.read_text()
    path.write_text(text.replace("metrics:\n      accuracy: 0.91", "metrics:\n      accuracy: 0.912", 1)
                    if "accuracy: 0.91\n" in text else text.replace("accuracy: 0.912", "accuracy: 0.91"))
    git(root, "-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-qam", "Tweak (#99999)")


Samples = tuple[list[float], list[float]]


def one(run: Callable[[], float]) -> Samples:
    CPU_SAMPLES.clear()
    return [run()], list(CPU_SAMPLES)


def measure(root: Path, runs: int) -> list[tuple[str, Samples, float | None]]:
    nothing: Callable[[], None] = lambda: None  # noqa: E731
    git(root, "checkout", "-q", "main")
    rows: list[tuple[str, Samples, float | None]] = [
        ("releasegate --version (interpreter start)", samples(runs, nothing, lambda: cli(root, "--version")), None),
        ("status, cold (no .git/releasegate cache)", samples(max(2, runs // 2), lambda: drop_cache(root),
                                                             lambda: cli(root, "status")), None),
    ]
    rows.append(("status (cache warm)", samples(runs, nothing, lambda: cli(root, "status")), 1.0))
    rows.append(("status after 1 new commit (cache extended)",
                 samples(runs, lambda: add_commit(root), lambda: cli(root, "status")), 1.0))
    rows.append(("history model-0042 (cache warm)",
                 samples(runs, nothing, lambda: cli(root, "history", "model-0042")), 1.0))
    rows.append(("history model-0042, cold",
                 samples(max(2, runs // 2), lambda: drop_cache(root), lambda: cli(root, "history", "model-0042")),
                 None))
    cli(root, "status")  # the log cache warm again; the blobs of AT not yet summarised
    rows.append((f"status --at {AT}, first time", one(lambda: cli(root, "status", "--at", AT)), 2.0))
    rows.append((f"status --at {AT} (cache warm)", samples(runs, nothing, lambda: cli(root, "status", "--at", AT)),
                 2.0))
    make_pr(root)
    drop_cache(root)  # validate never uses the cache: it reads only the changed models' history
    rows.append(("validate --base main (5 files, history rules)",
                 samples(runs, nothing, lambda: cli(root, "validate", "--base", "main")), 1.0))
    git(root, "checkout", "-q", "main")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--promotions", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--repo", type=Path, help="reuse (or create) the generated repository here")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = options.repo or Path(tmp) / "repo"
        if not (root / ".git").is_dir():
            started = time.perf_counter()
            generate([str(root), "--models", str(options.models), "--promotions", str(options.promotions)])
            print(f"generated {root} in {time.perf_counter() - started:.1f} s")
        drop_cache(root)
        LOAD.append(os.getloadavg()[0])
        rows = measure(root, options.runs)
        commits = git(root, "rev-list", "--count", "main").strip()
    print(f"repo: {options.models} models x 3 environments, {options.promotions} promotions "
          f"({commits} commits on main); {options.runs} runs each")
    print(f"load average before: {LOAD[0]:.2f}, after: {os.getloadavg()[0]:.2f}")
    for name, (wall, cpu), target in rows:
        median = statistics.median(wall)
        verdict = "" if target is None else f"  target <= {target:.0f} s: {'met' if median <= target else 'MISSED'}"
        print(f"{name:52s} wall median {median:6.3f} s  min {min(wall):6.3f} s  "
              f"cpu median {statistics.median(cpu):6.3f} s  n={len(wall)}{verdict}")


if __name__ == "__main__":
    main()
