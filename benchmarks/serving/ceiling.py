"""The server's own ceiling: requests/s and CPU per request with a model that costs nearly nothing.

Compares, in one run and under the same load, `releasegate serve` in one process
(``--workers 0``), `releasegate serve --workers N`, and LitServe 0.2.19 (1 and N API
server processes, dynamic batching as in the GPU anchors). The model (trivial_model.py)
takes a bert-base-shaped request of 128 ids and returns two numbers, so what is measured is
the server: HTTP, parsing, checks, queueing, batching, encoding. The load comes from
loadgen.py (closed loop, C keep-alive connections), whose own CPU is reported next to the
server's. Configurations are run in a rotating order, ``--repeats`` times; the report has
the median of each cell, the load average before and after, the machine and the command.

    python benchmarks/serving/ceiling.py                                   # workers 1 2, connections 32 128, 3 repeats
    python benchmarks/serving/ceiling.py --workers 4 8 --litserve-python /path/to/venv/bin/python

LitServe is optional: without it (``--litserve-python`` cannot import litserve) its rows are left out
and the report says so. Only 127.0.0.1 is targeted; every process started is stopped.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "src"))
sys.path.insert(0, str(HERE))

from run import cpu_seconds, free_port, machine, running_server  # noqa: E402


@dataclass(frozen=True)
class Setup:
    server: str  # releasegate | litserve
    processes: int  # releasegate: --workers; litserve: API server processes

    @property
    def label(self) -> str:
        if self.server == "litserve":
            return f"LitServe, {self.processes} API server{'s' if self.processes > 1 else ''}"
        return "releasegate, one process" if self.processes == 0 else f"releasegate --workers {self.processes}"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workers", nargs="+", type=int, default=[1, 2], help="releasegate --workers values (besides 0)")
    p.add_argument("--connections", nargs="+", type=int, default=[32, 128])
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--max-batch", type=int, default=64)
    p.add_argument("--litserve-python", default=sys.executable, help="a Python that can import litserve")
    p.add_argument("--out", type=Path, default=HERE.parents[1] / "out" / "serving-ceiling")
    return p.parse_args()


def setups(args: argparse.Namespace) -> list[Setup]:
    out = [Setup("releasegate", 0), *(Setup("releasegate", w) for w in args.workers)]
    if _has_litserve(args.litserve_python):
        out += [Setup("litserve", n) for n in sorted({1, *args.workers})]
    return out


def _has_litserve(python: str) -> bool:
    probe = subprocess.run([python, "-c", "import litserve"], capture_output=True, check=False)
    return probe.returncode == 0


def command(setup: Setup, model: Path, port: int, args: argparse.Namespace) -> tuple[list[str], str]:
    if setup.server == "litserve":
        return ([args.litserve_python, str(HERE / "litserve_peer.py"), "trivial", str(port), str(args.max_batch),
                 str(max(1, setup.processes)), "cpu", "float32"], "/health")
    sha = hashlib.sha256(model.read_bytes()).hexdigest()
    return ([sys.executable, "-m", "releasegate", "serve", str(model), "--sha256", sha, "--device", "cpu",
             "--max-batch", str(args.max_batch), "--max-queue", "4096", "--port", str(port),
             "--workers", str(setup.processes)], "/v2/health/ready")


def bodies(work: Path) -> dict[str, Path]:
    ids = list(range(1000, 1128))
    v2 = {"inputs": [{"name": "input_ids", "datatype": "INT64", "shape": [1, len(ids)], "data": ids}]}
    paths = {"releasegate": work / "v2.json", "litserve": work / "litserve.json"}
    paths["releasegate"].write_text(json.dumps(v2))
    paths["litserve"].write_text(json.dumps({"input_ids": ids}))
    return paths


def measure(setup: Setup, model: Path, body: Path, args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    port = free_port()
    cmd, ready = command(setup, model, port, args)
    points = []
    log = work / f"{setup.server}-{setup.processes}.log"
    with running_server(cmd, f"http://127.0.0.1:{port}{ready}", log) as proc:
        for connections in args.connections:
            path = "/predict" if setup.server == "litserve" else "/v2/models/model/infer"
            cpu0, main0 = cpu_seconds(proc.pid), _own_cpu(proc.pid)
            gen = subprocess.run(
                [sys.executable, str(HERE / "loadgen.py"), "--port", str(port), "--path", path, "--body", str(body),
                 "--connections", str(connections), "--seconds", str(args.seconds), "--warmup", "1"],
                capture_output=True, text=True, timeout=args.seconds + 60, check=True,
            )
            server_cpu, main_cpu = cpu_seconds(proc.pid) - cpu0, _own_cpu(proc.pid) - main0
            result = json.loads(gen.stdout)
            # The server's CPU is taken over the whole generator run (1 s warm-up included) and divided by
            # the requests of the measured window scaled to that run: a slight over-estimate for everyone.
            total = result["rps"] * (args.seconds + 1)
            result.update(setup=setup.label, server=setup.server, processes=setup.processes,
                          server_cpu_s=round(server_cpu, 2),
                          server_cpu_us_per_request=round(1e6 * server_cpu / max(1.0, total), 1),
                          main_cpu_us_per_request=round(1e6 * main_cpu / max(1.0, total), 1))
            print(f"  {setup.label}, {connections} connections: {result['rps']:,.0f} req/s, p50 {result['p50_ms']} ms, "
                  f"server {result['server_cpu_us_per_request']} µs CPU/req, generator {result['cpu_us_per_request']} µs/req",
                  flush=True)
            points.append(result)
    return points


def _own_cpu(pid: int) -> float:
    """CPU time of the server's first process alone: with --workers, the model process (the serial part)."""
    import psutil

    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def summarise(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    cells: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for p in points:
        cells.setdefault((p["setup"], p["connections"]), []).append(p)
    rows = []
    for (label, connections), runs in cells.items():
        def med(key: str, runs: list[dict[str, Any]] = runs) -> float:
            return round(statistics.median(r[key] for r in runs), 2)

        rows.append({"setup": label, "connections": connections, "runs": len(runs), "rps": med("rps"),
                     "rps_runs": [r["rps"] for r in runs], "p50_ms": med("p50_ms"), "p99_ms": med("p99_ms"),
                     "server_cpu_us_per_request": med("server_cpu_us_per_request"),
                     "main_cpu_us_per_request": med("main_cpu_us_per_request"),
                     "generator_cpu_us_per_request": med("cpu_us_per_request"),
                     "generator_cpu_share": round(statistics.median(r["cpu_s"] / r["seconds"] for r in runs), 2),
                     "non_200": sum(sum(v for k, v in r["statuses"].items() if k != "200") for r in runs)})
    return rows


def markdown(report: dict[str, Any]) -> str:
    lines = [f"Machine: {report['machine']}; load average before {report['load_before']}, after {report['load_after']}",
             f"Command: `{report['command']}`", "",
             "| setup | connections | req/s (median) | req/s runs | p50 ms | p99 ms | server CPU µs/req | "
             "of which first process | generator CPU µs/req | generator CPU (cores) | non-200 |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in report["rows"]:
        lines.append(f"| {r['setup']} | {r['connections']} | {r['rps']:,.0f} | {', '.join(f'{x:,.0f}' for x in r['rps_runs'])} | "
                     f"{r['p50_ms']} | {r['p99_ms']} | {r['server_cpu_us_per_request']} | {_first(r)} | "
                     f"{r['generator_cpu_us_per_request']} | {r['generator_cpu_share']} | {r['non_200']} |")
    if not report["litserve"]:
        lines += ["", "LitServe was not importable by the --litserve-python given: its rows are missing."]
    return "\n".join(lines) + "\n"


def _first(row: dict[str, Any]) -> object:
    """The first process's share: the model process with --workers; LitServe's first process only supervises."""
    return "-" if row["setup"].startswith("LitServe") else row["main_cpu_us_per_request"]


def main() -> int:
    args = parse_args()
    os.environ["OMP_NUM_THREADS"] = "1"  # every process: torch threads must not fight the HTTP loops
    args.out.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    points: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="rg-ceiling-") as tmp:
        work = Path(tmp)
        from trivial_model import export

        model = export(work / "trivial.pt2")
        body = bodies(work)
        order = setups(args)
        for repeat in range(args.repeats):
            rotated = order[repeat % len(order):] + order[:repeat % len(order)]
            for setup in rotated:
                points += measure(setup, model, body[setup.server], args, work)
    report = {"machine": machine(), "command": "python " + " ".join(sys.argv), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in os.getloadavg()],
              "litserve": any(s.server == "litserve" for s in order), "rows": summarise(points), "points": points}
    (args.out / "ceiling.json").write_text(json.dumps(report, indent=2))
    (args.out / "ceiling.md").write_text(markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
