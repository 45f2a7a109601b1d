"""validate: this checkout against another releasegate checkout, alternating, in one run.

    python benchmarks/validate/compare.py --against /path/to/older/checkout [--runs 7]

Measures, wall clock with interpreter start (the targets of the trust-boundary issue):
- `validate --all` on 1,000 models x 3 environments (benchmarks/validate/bench.py's repository);
- `validate --base main` for a 5-file PR on 1,000 models x 10,000 promotions
  (benchmarks/history/generate_repo.py's repository; no history cache, as in a fresh CI clone).
The two versions run alternately (new, old, new, old, ...) so that machine noise hits both;
it prints medians, the ratio, and the load average before and after.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
THIS = HERE.parents[1]


def _module(path: Path, name: str) -> ModuleType:
    """The benchmark scripts beside this one, by path (both are called bench.py)."""
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(src: Path, root: Path, args: list[str]) -> float:
    env = {**os.environ, "RELEASEGATE_NOW": "2026-11-18T12:00:00Z", "PYTHONPATH": str(src / "src")}
    env.pop("RELEASEGATE_AUTO_UNSHALLOW", None)
    subprocess.run(["rm", "-rf", str(root / ".git" / "releasegate")], check=True)  # no cache: a fresh clone
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "releasegate", *args], cwd=root, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{src}: validate failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", type=Path, required=True, help="root of the other releasegate checkout")
    parser.add_argument("--runs", type=int, default=7)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        flat, deep = Path(tmp) / "flat", Path(tmp) / "deep"
        flat.mkdir()
        _module(HERE / "bench.py", "validate_bench").generate(flat, 1000)
        history_bench = _module(HERE.parent / "history" / "bench.py", "history_bench")
        history_bench.generate([str(deep), "--models", "1000", "--promotions", "10000"])
        history_bench.make_pr(deep)
        load_before = os.getloadavg()[0]
        cases = (("validate --all (1,000 x 3 files)", flat, ["validate", "--all"], 2.0),
                 ("validate --base main (5 files, 10,000 commits)", deep, ["validate", "--base", "main"], 1.0))
        results = []
        for name, root, args, target in cases:
            times: dict[Path, list[float]] = {THIS: [], options.against: []}
            for _ in range(options.runs):
                for src in (THIS, options.against):
                    times[src].append(_run(src, root, args))
            results.append((name, times, target))
        load_after = os.getloadavg()[0]
    print(f"{options.runs} alternating runs each; load average before {load_before:.2f}, after {load_after:.2f}")
    for name, times, target in results:
        new, old = statistics.median(times[THIS]), statistics.median(times[options.against])
        print(f"{name:48s} this {new:6.3f} s  other {old:6.3f} s  ratio {new / old:5.2f}  "
              f"target <= {target:.0f} s: {'met' if new <= target else 'MISSED'}")


if __name__ == "__main__":
    main()
