"""One GPU run of the serving targets (started by run.sh, which installs what it needs).

Stages, each within what is left of ``--budget-seconds`` (a stage that would not fit is
recorded as skipped, never silently dropped):

1. **raw**: the raw batched forward of bert-base (seq 128) and encoder-350m (seq 512), bf16,
   eager and ``torch.compile(mode="max-autotune")`` (CUDA graphs), as in
   ``../shared/anchors/gpu/README.md``; raw = the better of the two at each size.
2. **served**: ``releasegate serve --device cuda:0 --dtype bfloat16 --workers N`` (and one
   process for bert-base) under closed-loop load from several loadgen.py processes
   (512 connections for bert-base, 256 for encoder-350m, as the anchors' top points);
   served/raw, p50/p99, the server's and the generator's CPU.
3. **one_user**: one keep-alive connection, sequential requests to bert-base served with
   ``--compile max-autotune --max-batch 1`` (CUDA graphs), p50 against the raw compiled batch-1 forward.
4. **gate**: ``releasegate loadtest`` on bert-base, A/A and a candidate with 14 instead of 12
   layers (+16.7 % compute, the nearest whole-layer step to +15 %): verdicts and time to verdict.
5. **gpu_paths**: ``tests/unit/serve/test_serve_gpu.py`` (page-locked buffers, async copies,
   events, bf16, CUDA graphs); stages 2 and 3 have already run ``cuda:0``, bf16 and CUDA graphs over HTTP.

``--cpu-smoke`` runs the same code on the CPU with tiny-encoder and short phases (< 2 minutes):
it proves the script, not the GPU. Writes ``results.json`` and ``results.md`` to ``--out``.
Only 127.0.0.1 is ever targeted; every server started is stopped.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "benchmarks" / "serving"), str(ROOT / "benchmarks" / "loadtest")]

from latency import one_user, request  # noqa: E402
from run import cpu_seconds, free_port, machine, running_server  # noqa: E402


@dataclass(frozen=True)
class Plan:
    mode: str
    device: str  # what the servers get (cuda:0: the explicit-index path)
    dtype: str
    models: tuple[str, ...]
    max_batch: dict[str, int]
    raw_batches: dict[str, tuple[int, ...]]
    compile_batches: dict[str, tuple[int, ...]]  # sizes also measured compiled
    compile_mode: str
    raw_seconds: float
    served: tuple[tuple[str, int], ...]  # (model, --workers)
    connections: dict[str, int]
    load_seconds: float
    generators: int
    one_user_model: str
    one_user_workers: tuple[int, ...]
    one_user_requests: int
    gate_model: str
    gate_layers: tuple[int, int]
    gate_profile: dict[str, Any] = field(default_factory=dict)


def make_plan(cpu_smoke: bool) -> Plan:
    cores = os.cpu_count() or 2
    if cpu_smoke:
        return Plan(
            mode="cpu-smoke", device="cpu", dtype="float32", models=("tiny-encoder",),
            max_batch={"tiny-encoder": 32}, raw_batches={"tiny-encoder": (1, 8, 32)},
            compile_batches={"tiny-encoder": ()}, compile_mode="off", raw_seconds=0.3,
            served=(("tiny-encoder", 2), ("tiny-encoder", 0)), connections={"tiny-encoder": 32},
            load_seconds=3.0, generators=1, one_user_model="tiny-encoder", one_user_workers=(0, 2),
            one_user_requests=300, gate_model="tiny-encoder", gate_layers=(2, 3),
            gate_profile={"extends": "smoke", "concurrency": [1], "phaseSeconds": 3, "warmupSeconds": 0.5,
                          "onInconclusive": "pass"},
        )
    workers = max(2, min(8, cores // 2 - 1))
    return Plan(
        mode="gpu", device="cuda:0", dtype="bfloat16", models=("bert-base", "encoder-350m"),
        max_batch={"bert-base": 128, "encoder-350m": 64},
        raw_batches={"bert-base": (1, 32, 128, 256), "encoder-350m": (1, 32, 64)},
        compile_batches={"bert-base": (1, 128), "encoder-350m": (64,)}, compile_mode="max-autotune",
        raw_seconds=1.0,
        served=(("bert-base", workers), ("bert-base", 0), ("encoder-350m", workers)),
        connections={"bert-base": 512, "encoder-350m": 256}, load_seconds=12.0,
        generators=max(1, min(6, cores // 3)), one_user_model="bert-base", one_user_workers=(0, workers),
        one_user_requests=1500, gate_model="bert-base", gate_layers=(12, 14),
        gate_profile={"extends": "standard", "concurrency": [1, 64], "arrivalRateFractions": [],
                      "phaseSeconds": 8, "warmupSeconds": 2, "sloSearch": {"enabled": False},
                      "onInconclusive": "pass"},
    )


# ---------------------------------------------------------------- stage 1: raw forward

def stage_raw(plan: Plan, work: Path, results: dict[str, Any]) -> dict[str, Any]:
    return {name: raw_forward(name, plan) for name in plan.models}


def raw_forward(name: str, plan: Plan) -> dict[str, Any]:
    import torch

    from releasegate.serve.models import SHAPES, build

    device = plan.device
    model = build(name).to(device=device, dtype=getattr(torch, plan.dtype))
    seq = SHAPES[name].seq
    eager = {bs: _time_forward(model, bs, seq, plan) for bs in plan.raw_batches[name]}
    compiled: dict[int, dict[str, float]] = {}
    compile_error = None
    try:
        if plan.compile_batches[name]:
            fast = torch.compile(model, mode=plan.compile_mode, dynamic=False)
        for bs in plan.compile_batches[name]:
            started = time.perf_counter()
            compiled[bs] = _time_forward(fast, bs, seq, plan)
            compiled[bs]["with_compile_s"] = round(time.perf_counter() - started, 1)
    except Exception as e:  # noqa: BLE001 - e.g. no C compiler for Triton: keep the eager figures, say why
        compile_error = f"{type(e).__name__}: {' '.join(str(e).split())[:300]}"
        print(f"  raw {name}: torch.compile failed ({compile_error}); eager figures only", flush=True)
    best = {bs: max(v["seq_per_s"] for v in (eager.get(bs), compiled.get(bs)) if v) for bs in {*eager, *compiled}}
    bs1 = min(v["ms_per_batch"] for v in (eager.get(1), compiled.get(1)) if v)
    print(f"  raw {name}: max {max(best.values()):,.0f} seq/s, batch 1 {bs1} ms", flush=True)
    return {"seq": seq, "eager": eager, "compiled": compiled, "compile_error": compile_error,
            "max_seq_per_s": max(best.values()), "bs1_ms": bs1}


def _time_forward(model: Any, bs: int, seq: int, plan: Plan) -> dict[str, float]:
    import torch

    x = torch.randint(0, 30000, (bs, seq), device=plan.device)
    sync = torch.cuda.synchronize if plan.device.startswith("cuda") else (lambda: None)
    with torch.inference_mode():
        for _ in range(3):
            model(x)
        sync()
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < plan.raw_seconds:
            model(x)
            n += 1
        sync()
    seconds = time.perf_counter() - start
    return {"seq_per_s": round(n * bs / seconds, 1), "ms_per_batch": round(1000 * seconds / n, 3)}


# ---------------------------------------------------------------- stage 2: served

def stage_served(plan: Plan, work: Path, results: dict[str, Any]) -> list[dict[str, Any]]:
    raw = results.get("raw") or {}
    points = []
    for name, workers in plan.served:
        point = guarded(functools.partial(served_point, name, workers, plan, work), model=name, workers=workers)
        if "error" in point:
            points.append(point)
            continue
        ceiling = (raw.get(name) or {}).get("max_seq_per_s")
        point["served_over_raw"] = round(point["rps"] / ceiling, 3) if ceiling else None
        print(f"  served {name} --workers {workers}: {point['rps']:,.0f} req/s, p50 {point['p50_ms']} ms, "
              f"served/raw {point['served_over_raw']}, generator CPU {point['generator_cpu_cores']} cores", flush=True)
        points.append(point)
    return points


def served_point(name: str, workers: int, plan: Plan, work: Path) -> dict[str, Any]:
    from releasegate.serve.models import SHAPES

    weights, sha = weights_file(name, work)
    port = free_port()
    cmd = serve_command(weights, sha, name, port, plan, "--max-batch", str(plan.max_batch[name]),
                        "--max-queue", "8192", "--workers", str(workers), "--max-connections", "4096")
    body = work / f"body-{name}.json"
    body.write_bytes(request(SHAPES[name].seq).split(b"\r\n\r\n", 1)[1])
    with running_server(cmd, f"http://127.0.0.1:{port}/v2/health/ready", work / f"serve-{name}-{workers}.log") as proc:
        cpu0 = cpu_seconds(proc.pid)
        load = drive(port, body, plan.connections[name], plan.load_seconds, plan.generators, work)
        load["server_cpu_us_per_request"] = round(1e6 * (cpu_seconds(proc.pid) - cpu0) / max(1, load["requests_all"]), 1)
    return {"model": name, "workers": workers, "connections": plan.connections[name], **load}


def drive(port: int, body: Path, connections: int, seconds: float, generators: int, work: Path) -> dict[str, Any]:
    """Closed-loop load from ``generators`` loadgen.py processes; exact percentiles over all of them."""
    share = [connections // generators + (1 if i < connections % generators else 0) for i in range(generators)]
    procs = []
    for i, conns in enumerate(share):
        cmd = [sys.executable, str(ROOT / "benchmarks" / "serving" / "loadgen.py"), "--port", str(port),
               "--path", "/v2/models/model/infer", "--body", str(body), "--connections", str(conns),
               "--seconds", str(seconds), "--warmup", "1", "--dump", str(work / f"lat-{i}.json")]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True))
    outs = [json.loads(p.communicate(timeout=seconds + 60)[0]) for p in procs]
    latencies = sorted(x for i in range(generators) for x in json.loads((work / f"lat-{i}.json").read_text()))

    def pct(q: float) -> float:
        return round(1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))], 3) if latencies else 0.0

    rps = sum(o["rps"] for o in outs)
    statuses: dict[str, int] = {}
    for o in outs:
        for k, v in o["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
    return {"rps": round(rps, 1), "p50_ms": pct(0.5), "p99_ms": pct(0.99), "statuses": statuses,
            "requests_all": int(rps * (seconds + 1)),  # the warm-up second too, for the server's CPU per request
            "generator_cpu_cores": round(sum(o["cpu_s"] for o in outs) / seconds, 2),
            "generator_cpu_us_per_request": round(statistics.median(o["cpu_us_per_request"] for o in outs), 1)}


# ---------------------------------------------------------------- stage 3: one user

def stage_one_user(plan: Plan, work: Path, results: dict[str, Any]) -> list[dict[str, Any]]:
    name = plan.one_user_model
    weights, sha = weights_file(name, work)
    raw_bs1 = ((results.get("raw") or {}).get(name) or {}).get("bs1_ms")
    points = []
    for workers in plan.one_user_workers:
        points.append(guarded(functools.partial(one_user_point, name, workers, weights, sha, raw_bs1, plan, work),
                              model=name, workers=workers))
    return points


def one_user_point(name: str, workers: int, weights: Path, sha: str, raw_bs1: float | None, plan: Plan,
                   work: Path) -> dict[str, Any]:
    from releasegate.serve.models import SHAPES

    port = free_port()
    cmd = serve_command(weights, sha, name, port, plan, "--max-batch", "1", "--workers", str(workers),
                        "--compile", plan.compile_mode)
    with running_server(cmd, f"http://127.0.0.1:{port}/v2/health/ready", work / f"one-user-{workers}.log"):
        times = one_user(port, request(SHAPES[name].seq), plan.one_user_requests)
    ms = sorted(1000 * t for t in times[len(times) // 10:])
    p50 = ms[len(ms) // 2]
    point = {"model": name, "workers": workers, "compile": plan.compile_mode, "requests": len(times),
             "p50_ms": round(p50, 3), "p99_ms": round(ms[int(len(ms) * 0.99)], 3), "raw_bs1_ms": raw_bs1,
             "added_p50_ms": round(p50 - raw_bs1, 3) if raw_bs1 else None,
             "target_met": bool(raw_bs1) and p50 <= raw_bs1 + 1.0}
    print(f"  one user {name} --workers {workers}: p50 {point['p50_ms']} ms (raw batch 1 {raw_bs1} ms)", flush=True)
    return point


def guarded(measure: Callable[[], dict[str, Any]], **labels: Any) -> dict[str, Any]:
    """One point; a point that fails is recorded with its error and the stage goes on."""
    try:
        return measure()
    except Exception as e:  # noqa: BLE001 - one failed point must not cost the others
        print(f"  {labels} failed: {type(e).__name__}: {e}", flush=True)
        return {**labels, "error": f"{type(e).__name__}: {' '.join(str(e).split())[:500]}"}


# ---------------------------------------------------------------- stage 4: the load gate

def stage_gate(plan: Plan, work: Path, results: dict[str, Any]) -> dict[str, Any]:
    from sensitivity import run_gate

    base_layers, slow_layers = plan.gate_layers
    base = export_encoder(plan.gate_model, base_layers, work / "gate-base.pt2")
    slow = export_encoder(plan.gate_model, slow_layers, work / "gate-slow.pt2")
    runs = {}
    for kind, candidate in (("aa", base), ("slower", slow)):
        repo = gate_repo(work / f"gate-{kind}", base, candidate, plan)
        runs[kind] = run_gate(repo, budget=240.0)
        print(f"  gate {kind}: {runs[kind]['verdict']} in {runs[kind]['seconds']} s "
              f"(regression flagged: {runs[kind]['regression']})", flush=True)
    return {"model": plan.gate_model, "layers": plan.gate_layers,
            "compute_increase_pct": round(100 * (slow_layers / base_layers - 1), 1), "profile": plan.gate_profile,
            "runs": runs}


def export_encoder(name: str, layers: int, path: Path) -> Path:
    import torch

    from releasegate.serve.models import SHAPES, ClassifierEncoder

    shape = dataclasses.replace(SHAPES[name], layers=layers)
    torch.manual_seed(0)
    model = ClassifierEncoder(shape).eval()
    batch = torch.export.Dim("batch", min=1, max=1024)
    with torch.inference_mode():
        program = torch.export.export(model, (torch.zeros(2, shape.seq, dtype=torch.long),),
                                      dynamic_shapes={"input_ids": {0: batch}})
    torch.export.save(program, str(path))
    return path


def gate_repo(repo: Path, base: Path, candidate: Path, plan: Plan) -> Path:
    """A throw-away GitOps repository: ``base`` live in staging, a pull request that serves ``candidate``."""
    import shutil

    import yaml

    from releasegate.serve.models import SHAPES

    shutil.copytree(ROOT / "policies", repo / "policies")
    pack_path = repo / "policies" / "policy-pack.yaml"
    pack = yaml.safe_load(pack_path.read_text())
    pack["loadTestProfiles"] = {"bench": plan.gate_profile}
    pack_path.write_text(yaml.safe_dump(pack, sort_keys=False))
    (repo / "models").mkdir()
    shutil.copy(base, repo / "models" / "live.pt2")
    shutil.copy(candidate, repo / "models" / "next.pt2")
    release = repo / "environments" / "staging" / "releases" / "bench.yaml"
    release.parent.mkdir(parents=True)
    seq = SHAPES[plan.gate_model].seq

    def doc(uri: str, path: Path, version: str) -> str:
        model = {"version": version, "artifact": {"uri": uri, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                                                  "format": "torch-export"},
                 "signature": {"inputs": [{"name": "input_ids", "datatype": "INT64", "shape": [-1, seq]}]}}
        runtime = {"kind": "builtin", "dtype": plan.dtype, "batching": {"maxBatch": 64, "maxDelayMs": 0}}
        return yaml.safe_dump({"apiVersion": "releasegate/v1", "kind": "ModelRelease",
                               "metadata": {"name": "bench", "owner": "bench"},
                               "spec": {"model": model, "runtime": runtime}})

    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@b"}
    release.write_text(doc("models/live.pt2", base, "1.0.0"))
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "live"]):
        subprocess.run(["git", *args], cwd=repo, check=True, env=env, capture_output=True)
    release.write_text(doc("models/next.pt2", candidate, "1.1.0"))
    return repo


# ---------------------------------------------------------------- stage 5: the GPU unit tests

def stage_gpu_paths(plan: Plan, work: Path, results: dict[str, Any]) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(ROOT / "tests" / "unit" / "serve" / "test_serve_gpu.py")]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    tail = proc.stdout.strip().splitlines()[-1:] or proc.stderr.strip().splitlines()[-1:]
    print(f"  GPU unit tests: {tail[0] if tail else '(no output)'}", flush=True)
    return {"exit": proc.returncode, "summary": tail[0] if tail else "", "output_tail": proc.stdout[-3000:]}


# ---------------------------------------------------------------- shared

def weights_file(name: str, work: Path) -> tuple[Path, str]:
    path = work / f"{name}.safetensors"
    if not path.exists():
        from safetensors.torch import save_file

        from releasegate.serve.models import build

        save_file(build(name).state_dict(), str(path))
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def serve_command(weights: Path, sha: str, name: str, port: int, plan: Plan, *extra: str) -> list[str]:
    return [sys.executable, "-m", "releasegate", "serve", str(weights), "--sha256", sha, "--factory", name,
            "--device", plan.device, "--dtype", plan.dtype, "--port", str(port), *extra]


STAGES: tuple[tuple[str, float, Callable[[Plan, Path, dict[str, Any]], Any]], ...] = (
    # name, seconds it needs at least on the GPU (the smoke run scales them down), function
    ("raw", 60, stage_raw),
    ("served", 90, stage_served),
    ("one_user", 50, stage_one_user),
    ("gate", 120, stage_gate),
    ("gpu_paths", 40, stage_gpu_paths),
)


def run_stages(plan: Plan, budget: float, work: Path) -> dict[str, Any]:
    deadline = time.monotonic() + budget
    results: dict[str, Any] = {}
    for name, needs, stage in STAGES:
        needs = needs / 6 if plan.mode == "cpu-smoke" else needs
        left = deadline - time.monotonic()
        if left < needs:
            results[name] = {"skipped": f"{left:.0f} s of the budget left, the stage needs about {needs:.0f} s"}
            print(f"== {name}: skipped ({results[name]['skipped']})", flush=True)
            continue
        print(f"== {name} ({left:.0f} s left)", flush=True)
        started = time.monotonic()
        try:
            results[name] = stage(plan, work, results)
        except Exception as e:  # noqa: BLE001 - one broken stage must not cost the others their figures
            results[name] = {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()[-3000:]}
            print(f"  {name} failed: {type(e).__name__}: {e}", flush=True)
        results[f"{name}_seconds"] = round(time.monotonic() - started, 1)
    return results


def markdown(report: dict[str, Any]) -> str:
    r = report["results"]
    lines = [f"# GPU serving run ({report['mode']})", "", f"Machine: {report['machine']}",
             f"Command: `{report['command']}`; {report['seconds']} s; load average before {report['load_before']}, "
             f"after {report['load_after']}", ""]
    lines += _raw_md(r.get("raw")) + _served_md(r.get("served")) + _one_user_md(r.get("one_user"))
    lines += _gate_md(r.get("gate")) + _paths_md(r.get("gpu_paths"))
    return "\n".join(lines) + "\n"


def _problem(section: Any) -> str | None:
    if isinstance(section, dict) and ("skipped" in section or "error" in section):
        return section.get("skipped") and f"skipped: {section['skipped']}" or f"failed: {section['error']}"
    return None if section else "not run"


def _raw_md(raw: Any) -> list[str]:
    lines = ["## Raw batched forward", ""]
    if (problem := _problem(raw)) is not None:
        return [*lines, problem, ""]
    lines += ["| model | max seq/s (best of eager and compiled) | batch-1 ms | eager | compiled |", "|---|---|---|---|---|"]
    for name, m in raw.items():
        eager = ", ".join(f"bs {bs}: {v['seq_per_s']:,.0f}" for bs, v in m["eager"].items())
        compiled = ", ".join(f"bs {bs}: {v['seq_per_s']:,.0f}" for bs, v in m["compiled"].items()) or "-"
        if m.get("compile_error"):
            compiled = f"failed: {m['compile_error']}"
        lines.append(f"| {name} (seq {m['seq']}) | {m['max_seq_per_s']:,.0f} | {m['bs1_ms']} | {eager} | {compiled} |")
    return [*lines, ""]


def _served_md(served: Any) -> list[str]:
    lines = ["## Served under closed-loop load", ""]
    if (problem := _problem(served)) is not None:
        return [*lines, problem, ""]
    lines += ["| model | --workers | connections | req/s | served/raw | p50 ms | p99 ms | non-200 | server CPU µs/req | "
              "generator CPU (cores) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for p in served:
        if "error" in p:
            lines.append(f"| {p['model']} | {p['workers']} | failed: {p['error']} |")
            continue
        bad = sum(v for k, v in p["statuses"].items() if k != "200")
        lines.append(f"| {p['model']} | {p['workers']} | {p['connections']} | {p['rps']:,.0f} | {p['served_over_raw']} | "
                     f"{p['p50_ms']} | {p['p99_ms']} | {bad} | {p['server_cpu_us_per_request']} | {p['generator_cpu_cores']} |")
    return [*lines, ""]


def _one_user_md(points: Any) -> list[str]:
    lines = ["## One user (target: p50 ≤ raw batch-1 + 1 ms)", ""]
    if (problem := _problem(points)) is not None:
        return [*lines, problem, ""]
    lines += ["| model | --workers | --compile | p50 ms | p99 ms | raw batch-1 ms | added p50 ms | met |", "|---|---|---|---|---|---|---|---|"]
    for p in points:
        if "error" in p:
            lines.append(f"| {p['model']} | {p['workers']} | failed: {p['error']} |")
            continue
        lines.append(f"| {p['model']} | {p['workers']} | {p['compile']} | {p['p50_ms']} | {p['p99_ms']} | {p['raw_bs1_ms']} | "
                     f"{p['added_p50_ms']} | {'yes' if p['target_met'] else 'no'} |")
    return [*lines, ""]


def _gate_md(gate: Any) -> list[str]:
    lines = ["## Load-test gate: time to verdict", ""]
    if (problem := _problem(gate)) is not None:
        return [*lines, problem, ""]
    lines += [f"{gate['model']}, layers {gate['layers'][0]} vs {gate['layers'][1]} (+{gate['compute_increase_pct']} % compute); "
              f"profile {json.dumps(gate['profile'])}", "", "| run | verdict | regression flagged | seconds |", "|---|---|---|---|"]
    for kind, run in gate["runs"].items():
        lines.append(f"| {kind} | {run['verdict']} | {run['regression']} | {run['seconds']} |")
    return [*lines, ""]


def _paths_md(paths: Any) -> list[str]:
    lines = ["## GPU unit tests (pinned buffers, async copies, bf16, CUDA graphs)", ""]
    if (problem := _problem(paths)) is not None:
        return [*lines, problem, ""]
    return [*lines, f"exit {paths['exit']}: {paths['summary']}", ""]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cpu-smoke", action="store_true", help="tiny models on the CPU, short phases (< 2 minutes)")
    p.add_argument("--budget-seconds", type=float, default=400.0, help="wall time for all stages")
    p.add_argument("--out", type=Path, default=ROOT / "out" / "gpu")
    args = p.parse_args()
    plan = make_plan(args.cpu_smoke)
    if plan.device == "cpu":
        os.environ["OMP_NUM_THREADS"] = "1"  # the servers and generators share few cores
    args.out.mkdir(parents=True, exist_ok=True)
    started, load_before = time.monotonic(), os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="rg-gpu-") as tmp:
        work = Path(tmp)
        results = run_stages(plan, args.budget_seconds, work)
        for log in work.glob("*.log"):
            with contextlib.suppress(OSError):
                (args.out / log.name).write_bytes(log.read_bytes())
    report = {"mode": plan.mode, "machine": machine(), "command": " ".join(sys.argv),
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "seconds": round(time.monotonic() - started, 1),
              "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in os.getloadavg()],
              "plan": dataclasses.asdict(plan), "results": results}
    (args.out / "results.json").write_text(json.dumps(report, indent=2, default=str))
    (args.out / "results.md").write_text(markdown(report))
    print(markdown(report))
    failed = [k for k, v in results.items() if isinstance(v, dict) and "error" in v]
    print(f"written: {args.out / 'results.json'}, {args.out / 'results.md'}" + (f"; failed stages: {failed}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
