"""Benchmark `releasegate audit` and `audit --dora` on a large generated history.

    python benchmarks/evidence/bench.py [--models 1000] [--promotions 10000] [--runs 5] [--repo DIR]

Generates (or reuses, with --repo) the history benchmark's repository (benchmarks/history/
generate_repo.py: 1,000 models x 3 environments, 10,000 promotion commits), then times whole CLI
invocations (wall clock with interpreter start): `audit` over everything (one row per stint, the
evidence lookup included: the repository has no evidence branch, so every row is `none`) and
`audit --dora`, each once cold (no .git/releasegate cache) and then warm. Prints medians.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "history"))

from generate_repo import main as generate  # noqa: E402

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE.parents[1] / "src"), os.environ.get("PYTHONPATH")]))}


def timed(root: Path, *args: str) -> tuple[float, str]:
    """Wall clock of one whole ``releasegate ARGS`` run (interpreter start included), and its stdout."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "releasegate", *args], cwd=root, env=ENV, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"releasegate {' '.join(args)} failed (exit {proc.returncode}):\n"
                         f"{proc.stdout[-3000:]}{proc.stderr[-2000:]}")
    return elapsed, proc.stdout


def cli(root: Path, *args: str) -> float:
    return timed(root, *args)[0]


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
            generate([str(root), "--models", str(options.models), "--promotions", str(options.promotions)])
        subprocess.run(["git", "checkout", "-q", "main"], cwd=root, check=True)
        load = os.getloadavg()[0]
        rows = []
        for name, args in (("audit (all stints)", ["audit", "--format", "jsonl"]), ("audit --dora", ["audit", "--dora"])):
            shutil.rmtree(root / ".git" / "releasegate", ignore_errors=True)
            cold = cli(root, *args)
            warm = [cli(root, *args) for _ in range(options.runs)]
            rows.append((name, cold, warm))
    print(f"repo: {options.models} models x 3 environments, {options.promotions} promotions; {options.runs} warm runs")
    print(f"load average before: {load:.2f}, after: {os.getloadavg()[0]:.2f}")
    for name, cold, warm in rows:
        print(f"{name:22s} cold {cold:6.3f} s   warm median {statistics.median(warm):6.3f} s  min {min(warm):6.3f} s"
              "  target <= 2 s (warm)")


if __name__ == "__main__":
    main()
