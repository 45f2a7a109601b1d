"""Sensitivity of the load-test gate: how often it flags a 15 % slower model, and an identical one.

Builds a throw-away GitOps repository with this project's policies and two TorchScript
MLPs (64 -> 1024, one 1024x1024 layer applied ITERATIONS times, -> 2): the baseline, and a
candidate that applies it 15 % more often (extra compute; the in-process forward-time
ratio is measured and printed).
Then runs the whole gate (``python -m releasegate loadtest --profile bench --format json``,
where ``bench`` is --profile with the --set overrides) RUNS times
with the slower candidate and RUNS times with an identical one (A/A, the same file under
another name), alternating, and counts the verdicts.

    .venv/bin/python benchmarks/loadtest/sensitivity.py --runs 20 --profile smoke \
        --set 'concurrency=[1]' --set phaseSeconds=30 --runtime builtin

Results go to stdout (one JSON line per run, then a summary) and to --out.
Only loopback traffic; every run is bounded by the gate's own timeouts and --budget.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "tests" / "support" / "oip_server.py"
WIDTH, INPUT_DIM = 1024, 64


def build_model(path: Path, iterations: int) -> None:
    """64 -> 1024, then the same 1024x1024 layer applied ``iterations`` times, -> 2.

    Sharing the weights keeps the file small (~4 MiB) while the compute grows with
    ``iterations``, so the model's time dominates the server's per-request overhead the
    way a real model's does on a GPU.
    """
    import torch

    class Model(torch.nn.Module):
        def __init__(self, n: int) -> None:
            super().__init__()
            self.n = n
            self.inp = torch.nn.Linear(INPUT_DIM, WIDTH)
            self.hidden = torch.nn.Linear(WIDTH, WIDTH)
            self.out = torch.nn.Linear(WIDTH, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = torch.relu(self.inp(x))
            for _ in range(self.n):
                h = torch.relu(self.hidden(h))
            return self.out(h)

    torch.manual_seed(0)
    torch.jit.script(Model(iterations).eval()).save(str(path))


def forward_ms(path: Path, reps: int = 300) -> float:
    import torch

    torch.set_num_threads(1)
    model = torch.jit.load(str(path)).eval()
    x = torch.randn(1, INPUT_DIM)
    times = []
    with torch.inference_mode():
        for _ in range(30):
            model(x)
        for _ in range(5):
            t = time.perf_counter()
            for _ in range(reps // 5):
                model(x)
            times.append((time.perf_counter() - t) / (reps // 5) * 1e3)
    return sorted(times)[len(times) // 2]


def release(uri: str, digest: str, version: str, runtime: str) -> dict:  # type: ignore[type-arg]
    model: dict[str, object] = {"version": version, "artifact": {"uri": uri, "sha256": digest, "format": "torchscript"},
                                "signature": {"inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, INPUT_DIM]}]}}
    if runtime == "builtin":
        rt: dict[str, object] = {"kind": "builtin", "batching": {"maxBatch": 8, "maxDelayMs": 0}}
    else:
        rt = {"kind": "external", "external": {
            "command": [sys.executable, str(SERVER), "{artifact}", "--port", "{port}", "--model-name", "bench",
                        "--input-dim", str(INPUT_DIM)],
            "readinessUrl": "http://127.0.0.1:{port}/v2/health/ready",
            "inferUrl": "http://127.0.0.1:{port}/v2/models/bench/infer"}}
    return {"apiVersion": "releasegate/v1", "kind": "ModelRelease",
            "metadata": {"name": "bench", "owner": "bench"},
            "spec": {"model": model, "runtime": rt}}


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def make_repo(work: Path, base: Path, candidate: Path, runtime: str, profile: dict) -> Path:  # type: ignore[type-arg]
    repo = work / "repo"
    shutil.rmtree(repo, ignore_errors=True)
    shutil.copytree(ROOT / "policies", repo / "policies")
    pack_path = repo / "policies" / "policy-pack.yaml"
    pack = yaml.safe_load(pack_path.read_text())
    pack["loadTestProfiles"] = {"bench": profile}
    pack_path.write_text(yaml.safe_dump(pack, sort_keys=False))
    (repo / "models").mkdir()
    shutil.copy(base, repo / "models" / "live.pt")
    shutil.copy(candidate, repo / "models" / "next.pt")
    rel = repo / "environments" / "staging" / "releases" / "bench.yaml"
    rel.parent.mkdir(parents=True)
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    rel.write_text(yaml.safe_dump(release("models/live.pt", digest(base), "1.0.0", runtime)))
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@b"}
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True, env=env)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", "live"], cwd=repo, check=True, env=env)
    rel.write_text(yaml.safe_dump(release("models/next.pt", digest(candidate), "1.1.0", runtime)))
    return repo


def run_gate(repo: Path, budget: float) -> dict:  # type: ignore[type-arg]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    t = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "releasegate", "loadtest", "--format", "json", "--quiet",
                           "--profile", "bench", "--budget-seconds", str(budget), "--root", str(repo)],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=budget + 120)
    seconds = time.monotonic() - t
    if proc.returncode not in (0, 1):
        raise SystemExit(f"gate failed to run (exit {proc.returncode}):\n{proc.stderr}")
    rel = json.loads(proc.stdout)["releases"][0]
    by_metric = {v["metric"]: v for v in rel["verdicts"]}
    change = {p["id"]: {k: (p["change"] or {}).get(k, {}).get("value") if p.get("change") else None
                        for k in ("p95", "p99", "throughput")} for p in rel["points"]}
    return {"exit": proc.returncode, "verdict": rel["verdict"], "code": rel["code"], "seconds": round(seconds, 1),
            "regression": any(v["verdict"] == "regression" for v in rel["verdicts"]),
            "verdicts": {m: v["verdict"] for m, v in by_metric.items()}, "change": change}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--iterations", type=int, default=100, help="hidden-layer applications of the baseline")
    parser.add_argument("--slowdown", type=float, default=0.15, help="extra compute of the candidate")
    parser.add_argument("--runtime", choices=["builtin", "external"], default="builtin")
    parser.add_argument("--profile", default="smoke", help="built-in profile the bench profile extends")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=JSON",
                        help="override a profile field, e.g. --set concurrency=[1]")
    parser.add_argument("--budget", type=float, default=120.0)
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "loadtest-sensitivity.jsonl")
    args = parser.parse_args()
    profile: dict[str, object] = {"extends": args.profile, "onInconclusive": "pass"}
    for item in args.set:
        key, _, value = item.partition("=")
        profile[key] = json.loads(value)
    work = Path(tempfile.mkdtemp(prefix="rg-sensitivity-"))
    try:
        base, slow = work / "base.pt", work / "slow.pt"
        extra = round(args.iterations * args.slowdown)
        build_model(base, args.iterations)
        build_model(slow, args.iterations + extra)
        base_ms, slow_ms = forward_ms(base), forward_ms(slow)
        header = {"machine": platform.platform(), "cpus": os.cpu_count(), "loadavg": os.getloadavg(),
                  "iterations": [args.iterations, args.iterations + extra],
                  "forward_ms": [round(base_ms, 2), round(slow_ms, 2)], "forward_ratio": round(slow_ms / base_ms, 3),
                  "profile": profile, "runtime": args.runtime, "runs": args.runs}
        print(json.dumps(header), flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        results: dict[str, list[dict]] = {"slow": [], "aa": []}  # type: ignore[type-arg]
        with open(args.out, "w") as out:
            out.write(json.dumps(header) + "\n")
            for i in range(args.runs):
                for kind, cand in (("slow", slow), ("aa", base)):
                    repo = make_repo(work, base, cand, args.runtime, profile)
                    r = {"kind": kind, "run": i + 1, "loadavg": round(os.getloadavg()[0], 2), **run_gate(repo, args.budget)}
                    results[kind].append(r)
                    print(json.dumps(r), flush=True)
                    out.write(json.dumps(r) + "\n")
                    out.flush()
        summary = {
            "slow_flagged": sum(r["regression"] for r in results["slow"]),
            "aa_false_alarms": sum(r["regression"] for r in results["aa"]),
            "aa_inconclusive": sum(r["verdict"] == "inconclusive" for r in results["aa"]),
            "slow_inconclusive": sum(r["verdict"] == "inconclusive" for r in results["slow"]),
            "errors": sum(r["verdict"] == "error" for k in results for r in results[k]),
            "runs": args.runs,
            "median_seconds": sorted(r["seconds"] for k in results for r in results[k])[args.runs - 1],
        }
        print(json.dumps({"summary": summary}))
        with open(args.out, "a") as out:
            out.write(json.dumps({"summary": summary}) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
