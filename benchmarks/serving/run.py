"""Serving benchmark: raw batched forward vs `releasegate serve` vs LitServe, under locust.

One run measures, on one machine, for each reference model:
  (a) the raw batched forward throughput (the physical ceiling),
  (b) `releasegate serve` under closed-loop locust load (FastHttpUser) at several user counts,
  (c) the peer, LitServe with dynamic batching, the same way,
and writes results.json and results.md (served/raw ratios, latency percentiles,
server CPU per request, mean batch size).

    python benchmarks/serving/run.py                 # GPU: bert-base + encoder-350m, bf16, 1/64/512 users
    python benchmarks/serving/run.py --cpu-smoke     # CPU: tiny-encoder, about a minute (CI)

Only loopback (127.0.0.1) is ever targeted; every run is bounded in time.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
HOST = "127.0.0.1"


@dataclass(frozen=True)
class Plan:
    models: tuple[str, ...]
    device: str
    dtype: str
    users: tuple[int, ...]
    seconds: int
    raw_batches: tuple[int, ...]
    raw_seconds: float
    max_batch: dict[str, int]
    processes: int
    api_servers: int
    servers: tuple[str, ...]
    compile: str = "off"
    threads: int | None = None  # OMP_NUM_THREADS for every process (CPU: 1, so that they do not fight)
    soak_seconds: int = 0  # after the points, load releasegate this long at the top user count, sampling RSS
    extra_serve_args: tuple[str, ...] = ()


@dataclass
class Point:
    server: str
    users: int
    requests: int
    failures: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    served_over_raw: float | None = None
    server_cpu_ms_per_request: float | None = None
    mean_batch: float | None = None


@dataclass
class ModelResult:
    model: str
    seq: int
    raw: dict[int, dict[str, float]]
    raw_max_seq_per_s: float
    raw_bs1_ms: float
    points: list[Point] = field(default_factory=list)
    soak: dict[str, Any] | None = None


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cpu-smoke", action="store_true", help="tiny model on CPU, short points (about a minute)")
    p.add_argument("--models", nargs="+", default=None, help="reference models (default: bert-base encoder-350m)")
    p.add_argument("--users", nargs="+", type=int, default=None, help="locust user counts (default 1 64 512)")
    p.add_argument("--seconds", type=int, default=None, help="locust run time per point (default 20)")
    p.add_argument("--processes", type=int, default=None, help="locust processes (default: half the cores)")
    p.add_argument("--servers", nargs="+", default=["releasegate", "litserve"], choices=["releasegate", "litserve"])
    p.add_argument("--compile", default="off", choices=["off", "default", "reduce-overhead", "max-autotune"],
                   help="pass --compile to releasegate serve (GPU: max-autotune for the 1-user target)")
    p.add_argument("--soak-seconds", type=int, default=0,
                   help="then load releasegate this long at the top user count and sample its memory (RSS)")
    p.add_argument("--out", type=Path, default=REPO / "out" / "serving", help="where results.json/.md go")
    return p.parse_args()


def make_plan(args: argparse.Namespace) -> Plan:
    cores = os.cpu_count() or 2
    processes = args.processes or max(1, cores // 2)
    if args.cpu_smoke:
        return Plan(
            models=tuple(args.models or ["tiny-encoder"]), device="cpu", dtype="float32",
            users=tuple(args.users or [1, 16, 64]), seconds=args.seconds or 5,
            raw_batches=(1, 8, 32, 64), raw_seconds=0.5, max_batch={"tiny-encoder": 64},
            processes=args.processes or 1, api_servers=1, servers=tuple(args.servers), compile=args.compile,
            threads=1, soak_seconds=args.soak_seconds,
        )
    return Plan(
        models=tuple(args.models or ["bert-base", "encoder-350m"]), device="cuda", dtype="bfloat16",
        users=tuple(args.users or [1, 64, 512]), seconds=args.seconds or 20,
        raw_batches=(1, 8, 32, 64, 128, 256), raw_seconds=2.0,
        max_batch={"bert-base": 128, "encoder-350m": 64, "tiny-encoder": 128},
        processes=processes, api_servers=4, servers=tuple(args.servers), compile=args.compile,
        soak_seconds=args.soak_seconds,
    )


# ---------------------------------------------------------------- raw forward

def measure_raw(name: str, plan: Plan) -> dict[int, dict[str, float]]:
    import torch

    from releasegate.serve.models import SHAPES, build

    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[plan.dtype]
    model = build(name).to(device=plan.device, dtype=dtype)
    if plan.compile != "off":
        model = torch.compile(model, mode=plan.compile, dynamic=False)
    seq = SHAPES[name].seq
    sync = torch.cuda.synchronize if plan.device == "cuda" else (lambda: None)
    out: dict[int, dict[str, float]] = {}
    with torch.inference_mode():
        for bs in plan.raw_batches:
            x = torch.randint(0, 30000, (bs, seq), device=plan.device)
            for _ in range(3):
                model(x)
            sync()
            n, start = 0, time.perf_counter()
            while time.perf_counter() - start < plan.raw_seconds:
                model(x)
                n += 1
            sync()
            dt = time.perf_counter() - start
            out[bs] = {"seq_per_s": round(n * bs / dt, 1), "ms_per_batch": round(1000 * dt / n, 3)}
            print(f"  raw {name} bs {bs}: {out[bs]}", flush=True)
    return out


# ---------------------------------------------------------------- servers

def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def child_env() -> dict[str, str]:
    paths = [str(REPO / "src"), str(HERE)]
    if os.environ.get("PYTHONPATH"):
        paths.append(os.environ["PYTHONPATH"])
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def set_threads(plan: Plan) -> None:
    """Pin torch's intra-op threads here and (through the environment) in every child."""
    if plan.threads:
        os.environ["OMP_NUM_THREADS"] = str(plan.threads)
        import torch

        torch.set_num_threads(plan.threads)


def server_command(kind: str, name: str, weights: Path, sha: str, port: int, plan: Plan) -> list[str]:
    if kind == "litserve":
        return [sys.executable, str(HERE / "litserve_peer.py"), name, str(port), str(plan.max_batch[name]),
                str(plan.api_servers), plan.device, plan.dtype]
    return [sys.executable, "-m", "releasegate", "serve", str(weights), "--sha256", sha, "--factory", name,
            "--device", plan.device, "--dtype", plan.dtype, "--max-batch", str(plan.max_batch[name]),
            "--max-queue", "4096", "--port", str(port), "--compile", plan.compile, *plan.extra_serve_args]


@contextlib.contextmanager
def running_server(cmd: list[str], ready_url: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "wb") as sink:
        proc = subprocess.Popen(cmd, env=child_env(), stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_ready(ready_url, proc, log, timeout=900)
            yield proc
        finally:
            stop(proc)


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}); see {log}:\n{log.read_text()[-2000:]}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - loopback only
                if resp.status == 200:
                    return
        time.sleep(0.2)
    raise RuntimeError(f"server not ready after {timeout} s; see {log}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and its children (LitServe forks its API servers and worker)."""
    import psutil

    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        total = 0.0
        for proc in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                t = proc.cpu_times()
                total += t.user + t.system
        return total
    return 0.0


def batch_stats(url: str) -> tuple[float, float]:
    """(sum, count) of releasegate_serve_batch_size from /metrics."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as resp:  # noqa: S310 - loopback only
        text = resp.read().decode()
    values = {}
    for line in text.splitlines():
        for key in ("releasegate_serve_batch_size_sum", "releasegate_serve_batch_size_count"):
            if line.startswith(key):
                values[key] = float(line.rsplit(" ", 1)[1])
    return values.get("releasegate_serve_batch_size_sum", 0.0), values.get("releasegate_serve_batch_size_count", 0.0)


# ---------------------------------------------------------------- locust

def run_locust(
    kind: str, url: str, users: int, seq: int, vocab: int, plan: Plan, work: Path, seconds: int | None = None
) -> dict[str, float]:
    seconds = seconds or plan.seconds
    prefix = work / f"locust-{kind}-{users}-{seconds}s"
    env = {**child_env(), "BENCH_PROTOCOL": "litserve" if kind == "litserve" else "v2",
           "BENCH_SEQ": str(seq), "BENCH_VOCAB": str(vocab)}
    locust = shutil.which("locust", path=os.path.dirname(sys.executable)) or "locust"
    cmd = [locust, "-f", str(HERE / "locustfile.py"), "--headless", "-u", str(users), "-r", str(users),
           "-t", f"{seconds}s", "--host", url, "--csv", str(prefix), "--only-summary",
           "--loglevel", "WARNING", "--stop-timeout", "10"]
    if plan.processes > 1:
        cmd += ["--processes", str(plan.processes)]
    log = Path(f"{prefix}.log")
    for attempt in (1, 2):  # a shared machine can make locust fail to start; one retry
        with open(log, "wb") as sink:
            subprocess.run(cmd, env=env, stdout=sink, stderr=subprocess.STDOUT,
                           timeout=seconds + 120, check=False)
        csv_path = Path(f"{prefix}_stats.csv")
        if csv_path.exists():
            return read_locust_csv(csv_path)
        print(f"  locust wrote no stats (attempt {attempt}); log tail:\n{log.read_text()[-1500:]}", flush=True)
    raise RuntimeError(f"locust failed twice for {kind} at {users} users; see {log}")


def read_locust_csv(path: Path) -> dict[str, float]:
    with open(path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["Name"] == "Aggregated"]
    if not rows:
        raise RuntimeError(f"{path}: no Aggregated row (locust failed?)")
    r = rows[0]
    return {"requests": float(r["Request Count"]), "failures": float(r["Failure Count"]),
            "rps": float(r["Requests/s"]), "p50": float(r["50%"]), "p90": float(r["90%"]), "p99": float(r["99%"])}


# ---------------------------------------------------------------- one model

def bench_model(name: str, plan: Plan, work: Path) -> ModelResult:
    from releasegate.serve.models import SHAPES

    print(f"== {name}", flush=True)
    raw = measure_raw(name, plan)
    best = max(v["seq_per_s"] for v in raw.values())
    result = ModelResult(name, SHAPES[name].seq, raw, best, raw[min(raw)]["ms_per_batch"])
    weights, sha = save_weights(name, work)
    for kind in plan.servers:
        result.points.extend(bench_server(kind, name, weights, sha, result, plan, work))
    return result


def save_weights(name: str, work: Path) -> tuple[Path, str]:
    from safetensors.torch import save_file

    from releasegate.serve.models import build

    path = work / f"{name}.safetensors"
    save_file(build(name).state_dict(), str(path))
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def bench_server(kind: str, name: str, weights: Path, sha: str, result: ModelResult, plan: Plan, work: Path) -> list[Point]:
    from releasegate.serve.models import SHAPES

    port = free_port()
    url = f"http://{HOST}:{port}"
    ready = f"{url}/health" if kind == "litserve" else f"{url}/v2/health/ready"
    points = []
    with running_server(server_command(kind, name, weights, sha, port, plan), ready, work / f"{kind}-{name}.log") as proc:
        for users in plan.users:
            cpu0 = cpu_seconds(proc.pid)
            batches0 = batch_stats(url) if kind == "releasegate" else (0.0, 0.0)
            stats = run_locust(kind, url, users, SHAPES[name].seq, SHAPES[name].vocab, plan, work)
            point = make_point(kind, users, stats, result, cpu_seconds(proc.pid) - cpu0)
            if kind == "releasegate":
                s1, c1 = batch_stats(url)
                point.mean_batch = round((s1 - batches0[0]) / max(1.0, c1 - batches0[1]), 1)
            print(f"  {kind} {users} users: {asdict(point)}", flush=True)
            points.append(point)
        if kind == "releasegate" and plan.soak_seconds:
            result.soak = soak(proc, url, name, plan, work)
    return points


def soak(proc: subprocess.Popen[bytes], url: str, name: str, plan: Plan, work: Path) -> dict[str, Any]:
    """Load the server for ``plan.soak_seconds`` at the top user count; RSS sampled every 10 s."""
    import threading

    import psutil

    from releasegate.serve.models import SHAPES

    users = max(plan.users)
    box: dict[str, Any] = {}
    runner = threading.Thread(target=lambda: box.update(stats=run_locust(
        "releasegate", url, users, SHAPES[name].seq, SHAPES[name].vocab, plan, work, plan.soak_seconds)))
    samples: list[float] = []
    runner.start()
    while runner.is_alive():
        samples.append(round(psutil.Process(proc.pid).memory_info().rss / 2**20, 1))
        runner.join(10)
    stats = box.get("stats", {})
    report = {"seconds": plan.soak_seconds, "users": users, "requests": stats.get("requests"),
              "failures": stats.get("failures"), "rps": stats.get("rps"), "rss_mb": samples}
    print(f"  soak: {report}", flush=True)
    return report


def make_point(kind: str, users: int, stats: dict[str, float], result: ModelResult, cpu: float) -> Point:
    ok = max(1.0, stats["requests"] - stats["failures"])
    return Point(
        server=kind, users=users, requests=int(stats["requests"]), failures=int(stats["failures"]),
        rps=round(stats["rps"], 1), p50_ms=stats["p50"], p90_ms=stats["p90"], p99_ms=stats["p99"],
        served_over_raw=round(stats["rps"] / result.raw_max_seq_per_s, 3),
        server_cpu_ms_per_request=round(1000 * cpu / ok, 3),
    )


# ---------------------------------------------------------------- report

def machine() -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                            "python": platform.python_version(), "torch": torch.__version__}
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def markdown(report: dict[str, Any]) -> str:
    lines = [f"Machine: {report['machine']}", f"Command: `{report['command']}`", ""]
    for m in report["models"]:
        lines.append(f"### {m['model']} (seq {m['seq']}): raw max {m['raw_max_seq_per_s']:,.0f} seq/s, "
                     f"raw batch-1 {m['raw_bs1_ms']} ms")
        lines.append("")
        lines.append("| server | users | req/s | p50 ms | p90 ms | p99 ms | failures | served/raw | server CPU ms/req | mean batch |")
        lines.append("|---|---|---|---|---|---|---|---|---|---|")
        for p in m["points"]:
            lines.append(f"| {p['server']} | {p['users']} | {p['rps']:,.1f} | {p['p50_ms']:g} | {p['p90_ms']:g} | "
                         f"{p['p99_ms']:g} | {p['failures']} | {p['served_over_raw']} | "
                         f"{p['server_cpu_ms_per_request']} | {p['mean_batch'] if p['mean_batch'] is not None else '-'} |")
        lines.append("")
        if m.get("soak"):
            k = m["soak"]
            rss = k["rss_mb"]
            lines.append(f"Soak: {k['seconds']} s at {k['users']} users, {k['rps']} req/s, {k['failures']} failures; "
                         f"server RSS {rss[0]} MiB at start, {rss[-1]} MiB at the end (min {min(rss)}, max {max(rss)}).")
            lines.append("")
    return "\n".join(lines)


def main() -> int:
    args = parse_args()
    plan = make_plan(args)
    set_threads(plan)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="rg-serving-") as tmp:
        work = Path(tmp)
        models = [asdict(bench_model(name, plan, work)) for name in plan.models]
        for log in work.glob("*.log"):  # server and locust logs, for the record
            shutil.copy(log, args.out / log.name)
    report = {"machine": machine(), "command": "python " + " ".join(sys.argv), "plan": asdict(plan),
              "seconds": round(time.time() - started, 1), "models": models}
    (args.out / "results.json").write_text(json.dumps(report, indent=2))
    (args.out / "results.md").write_text(markdown(report))
    print(markdown(report))
    print(f"written: {args.out / 'results.json'}, {args.out / 'results.md'} ({report['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "src"))
    sys.exit(main())
