"""Does the shipped gate decide? A/A must pass, +30 % compute must regress, in bounded time.

Builds candidate models from scratch in four architectures (a deep MLP, a wide MLP, a
1-D conv net and a small transformer encoder), each as a baseline and as variants with
+10 % and +30 % compute per request (more layers or wider layers; the in-process
forward-time ratio is measured and recorded), and a same-speed candidate (same
architecture, new weights). Then runs the real gate (``python -m releasegate loadtest
--format json``) in a throw-away GitOps repository with this project's shipped
policies -- the staging environment's profile and limits, nothing overridden -- once
per case, architectures in rotation, while a background process burns one core for
part of the time (on and off in random spells).

    .venv/bin/python benchmarks/loadtest/gate.py --aa 20 --slow30 20 --slow10 6 --out out/loadtest-gate.jsonl

Append-only and resumable: every finished run is one JSON line in --out; a rerun with
the same --out skips the cases already there (delete the file to start over).
``--summary`` prints the table of an existing file without running anything.
Only loopback traffic; every gate run is bounded by --budget.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
INPUT_DIM = 64
ARCHITECTURES = ("mlp-deep", "mlp-wide", "conv1d", "transformer")
KINDS = {"aa": 0.0, "slow10": 0.10, "slow30": 0.30}


def build(arch: str, extra: float, seed: int, path: Path) -> None:
    """A TorchScript model of ``arch`` with ``1 + extra`` times the baseline's compute per request."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    if arch == "mlp-deep":  # compute ~ layers (20 x 1024^2 multiply-adds)
        layers = round(20 * (1 + extra))
        body: list[nn.Module] = [nn.Linear(INPUT_DIM, 1024), nn.ReLU()]
        for _ in range(layers):
            body += [nn.Linear(1024, 1024), nn.ReLU()]
        model: nn.Module = nn.Sequential(*body, nn.Linear(1024, 2))
    elif arch == "mlp-wide":  # compute ~ width^2 (5 x 2048^2)
        width = round(2048 * (1 + extra) ** 0.5)
        model = nn.Sequential(nn.Linear(INPUT_DIM, width), nn.ReLU(), *[m for _ in range(5) for m in
                              (nn.Linear(width, width), nn.ReLU())], nn.Linear(width, 2))
    elif arch == "conv1d":  # compute ~ conv layers (10 x 256 x 256 x 3 x 64)
        model = Conv1d(round(10 * (1 + extra)))
    else:  # transformer encoder: compute ~ blocks (10 blocks of width 256)
        model = Encoder(round(10 * (1 + extra)))
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.jit.script(model.eval()).save(str(path))


def _modules() -> tuple[type, type]:
    import torch
    from torch import nn

    class Conv1dNet(nn.Module):
        """The 64 inputs as a 1-channel signal, ``n`` 3-tap convolutions of 256 channels, pooled."""

        def __init__(self, n: int) -> None:
            super().__init__()
            self.inp = nn.Conv1d(1, 256, 3, padding=1)
            self.convs = nn.ModuleList([nn.Conv1d(256, 256, 3, padding=1) for _ in range(n)])
            self.out = nn.Linear(256, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = torch.relu(self.inp(x.unsqueeze(1)))
            for conv in self.convs:
                h = torch.relu(conv(h))
            return self.out(h.mean(dim=2))

    class EncoderNet(nn.Module):
        """The 64 inputs as 16 tokens of 4, embedded to 256, ``n`` encoder blocks, mean-pooled."""

        def __init__(self, n: int) -> None:
            super().__init__()
            self.embed = nn.Linear(4, 256)
            layer = nn.TransformerEncoderLayer(256, 4, 1024, dropout=0.0, batch_first=True)
            self.blocks = nn.TransformerEncoder(layer, n, enable_nested_tensor=False)
            self.out = nn.Linear(256, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.embed(x.reshape(x.shape[0], 16, 4))
            return self.out(self.blocks(h).mean(dim=1))

    return Conv1dNet, EncoderNet


def Conv1d(n: int) -> Any:  # noqa: N802 - a class factory (torch is imported lazily)
    return _modules()[0](n)


def Encoder(n: int) -> Any:  # noqa: N802
    return _modules()[1](n)


def forward_ms(paths: list[Path], rounds: int = 15, reps: int = 10) -> list[float]:
    """Fastest single-request forward time of each model over ``rounds``, measured in alternation (ms).

    The minimum, not the median: on a loaded machine the other processes only ever add time.
    """
    import torch

    torch.set_num_threads(1)
    models = [torch.jit.load(str(p)).eval() for p in paths]
    x = torch.randn(1, INPUT_DIM)
    times: list[list[float]] = [[] for _ in models]
    with torch.inference_mode():
        for m in models:
            for _ in range(5):
                m(x)
        for _ in range(rounds):
            for i, m in enumerate(models):
                t = time.perf_counter()
                for _ in range(reps):
                    m(x)
                times[i].append((time.perf_counter() - t) / reps * 1e3)
    return [min(t) for t in times]


def release(uri: str, digest: str, version: str) -> dict[str, Any]:
    return {"apiVersion": "releasegate/v1", "kind": "ModelRelease", "metadata": {"name": "bench", "owner": "bench"},
            "spec": {"model": {"version": version, "artifact": {"uri": uri, "sha256": digest, "format": "torchscript"},
                               "signature": {"inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, INPUT_DIM]}]}},
                     "runtime": {"kind": "builtin", "batching": {"maxBatch": 8, "maxDelayMs": 0}}}}


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def make_repo(work: Path, base: Path, candidate: Path) -> Path:
    """A GitOps repository with the shipped policies: baseline live in staging, the candidate changed."""
    repo = work / "repo"
    shutil.rmtree(repo, ignore_errors=True)
    shutil.copytree(ROOT / "policies", repo / "policies")
    (repo / "models").mkdir()
    shutil.copy(base, repo / "models" / "live.pt")
    shutil.copy(candidate, repo / "models" / "next.pt")
    rel = repo / "environments" / "staging" / "releases" / "bench.yaml"
    rel.parent.mkdir(parents=True)
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@b"}
    rel.write_text(yaml.safe_dump(release("models/live.pt", _sha(base), "1.0.0")))
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "live"]):
        subprocess.run(["git", *args], cwd=repo, check=True, env=env)
    rel.write_text(yaml.safe_dump(release("models/next.pt", _sha(candidate), "1.1.0")))
    return repo


def run_gate(repo: Path, budget: float) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    t = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "releasegate", "loadtest", "--format", "json", "--quiet", "--no-plots",
                           "--budget-seconds", str(budget), "--root", str(repo)],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=budget + 120)
    seconds = time.monotonic() - t
    if proc.returncode not in (0, 1):
        return {"verdict": "error", "exit": proc.returncode, "seconds": round(seconds, 1), "stderr": proc.stderr[-2000:]}
    rel = json.loads(proc.stdout)["releases"][0]
    seq = [p.get("sequential") or {} for p in rel["points"]]
    decide = sum(max((lk["wallSeconds"] for lk in s.get("looks", [])), default=0.0) for s in seq)
    return {"exit": proc.returncode, "verdict": rel["verdict"], "code": rel["code"], "seconds": round(seconds, 1),
            "measureSeconds": round(decide, 1), "profile": (rel.get("profile") or {}).get("name"),
            "regression": any(v["verdict"] == "regression" for v in rel["verdicts"]),
            "verdicts": {v["metric"]: v["verdict"] for v in rel["verdicts"]},
            "messages": {v["metric"]: v["message"] for v in rel["verdicts"]},
            "observed": {v["metric"]: v["observed"] for v in rel["verdicts"]},
            "slotPairs": [s.get("slotPairs") for s in seq], "requests": [s.get("requests") for s in seq],
            "timeToDecision": [s.get("timeToDecision") for s in seq], "reason": rel["reason"]}


class Background:
    """A process that burns one core in random on/off spells (the machine loaded part of the time)."""

    CODE = ("import random,time\nrandom.seed({seed})\nwhile True:\n t=time.time()+random.uniform(5,20)\n"
            " while time.time()<t: pass\n time.sleep(random.uniform(5,20))\n")

    def __init__(self, seed: int) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", self.CODE.format(seed=seed)], start_new_session=True)

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def cases(args: argparse.Namespace) -> list[tuple[str, int, str]]:
    """(kind, index, architecture) in the order they run: kinds interleaved, architectures rotating."""
    counts = {"aa": args.aa, "slow30": args.slow30, "slow10": args.slow10}
    out = []
    for i in range(max(counts.values())):
        for kind, n in counts.items():
            if i < n:
                out.append((kind, i + 1, ARCHITECTURES[(i + list(KINDS).index(kind)) % len(ARCHITECTURES)]))
    return out


def done(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def models(work: Path) -> dict[str, Any]:
    """Build every architecture's baseline, same-speed and slower variants; their forward times."""
    info: dict[str, Any] = {}
    for arch in ARCHITECTURES:
        paths = {"base": work / arch / "base.pt", "aa": work / arch / "aa.pt"}
        build(arch, 0.0, 0, paths["base"])
        build(arch, 0.0, 1, paths["aa"])  # same architecture, new weights
        for kind in ("slow10", "slow30"):
            paths[kind] = work / arch / f"{kind}.pt"
            build(arch, KINDS[kind], 0, paths[kind])
        ms = forward_ms([paths[k] for k in ("base", "aa", "slow10", "slow30")])
        info[arch] = {"paths": paths, "forwardMs": dict(zip(("base", "aa", "slow10", "slow30"), [round(m, 3) for m in ms]))}
        print(json.dumps({"architecture": arch, "forwardMs": info[arch]["forwardMs"]}), flush=True)
    return info


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    runs = [r for r in rows if "kind" in r]
    for kind in KINDS:
        mine = [r for r in runs if r["kind"] == kind]
        if not mine:
            continue
        verdicts = [r["verdict"] for r in mine]
        times = sorted(r["measureSeconds"] for r in mine if r.get("measureSeconds") is not None)
        out[kind] = {"runs": len(mine), "pass": verdicts.count("pass"), "regression": sum(r.get("regression", False) for r in mine),
                     "inconclusive": verdicts.count("inconclusive"), "error": verdicts.count("error"),
                     "medianMeasureSeconds": round(statistics.median(times), 1) if times else None}
    for key in ("measureSeconds", "seconds"):
        xs = sorted(r[key] for r in runs if r.get(key) is not None)
        if xs:
            out[key] = {"median": round(statistics.median(xs), 1), "p95": round(xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))], 1),
                        "max": xs[-1]}
    return out


def by_architecture(rows: list[dict[str, Any]]) -> str:
    """Verdicts per architecture and kind: pass / regression / inconclusive / error."""
    lines = ["| architecture | same speed | +30 % | +10 % |", "|---|---|---|---|"]
    for arch in ARCHITECTURES:
        cells = []
        for kind in ("aa", "slow30", "slow10"):
            mine = [r for r in rows if r.get("kind") == kind and r.get("architecture") == arch]
            v = [r["verdict"] for r in mine]
            cells.append(f"{v.count('pass')} / {sum(r.get('regression', False) for r in mine)} / "
                         f"{v.count('inconclusive')} / {v.count('error')}" if mine else "–")
        lines.append(f"| {arch} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def table(s: dict[str, Any]) -> str:
    lines = ["| candidate | runs | pass | regression | inconclusive | error | median measurement to verdict |",
             "|---|---|---|---|---|---|---|"]
    for kind, label in (("aa", "same speed (A/A)"), ("slow30", "+30 % compute"), ("slow10", "+10 % compute")):
        if kind in s:
            k = s[kind]
            lines.append(f"| {label} | {k['runs']} | {k['pass']} | {k['regression']} | {k['inconclusive']} | {k['error']} | "
                         f"{k['medianMeasureSeconds']} s |")
    for key, label in (("measureSeconds", "measurement to verdict"), ("seconds", "whole gate run")):
        if key in s:
            lines.append(f"\n{label}: median {s[key]['median']} s, p95 {s[key]['p95']} s, max {s[key]['max']} s")
    return "\n".join(lines)


def _stop(signum: int, _frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}; rerun the same command to resume")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--aa", type=int, default=20)
    parser.add_argument("--slow30", type=int, default=20)
    parser.add_argument("--slow10", type=int, default=6)
    parser.add_argument("--budget", type=float, default=300.0)
    parser.add_argument("--no-background", action="store_true", help="do not load the machine")
    parser.add_argument("--summary", action="store_true", help="print the table of --out and exit")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "loadtest-gate.jsonl")
    args = parser.parse_args()
    if args.summary:
        print(table(summary(done(args.out))) + "\n\n" + by_architecture(done(args.out)))
        return
    signal.signal(signal.SIGTERM, _stop)  # unwind through `finally`: the background process and temp files go
    previous = done(args.out)
    finished = {(r["kind"], r["run"]) for r in previous if "kind" in r}
    todo = [c for c in cases(args) if (c[0], c[1]) not in finished]
    work = Path(tempfile.mkdtemp(prefix="rg-gate-bench-"))
    background = None if args.no_background else Background(seed=len(previous))
    try:
        info = models(work)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with open(args.out, "a") as out:
            header = {"machine": platform.platform(), "cpus": os.cpu_count(), "loadavg": os.getloadavg(),
                      "forwardMs": {a: i["forwardMs"] for a, i in info.items()}, "background": background is not None,
                      "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "todo": len(todo)}
            out.write(json.dumps(header) + "\n")
            for kind, run, arch in todo:
                paths = info[arch]["paths"]
                repo = make_repo(work, paths["base"], paths[kind])
                f = info[arch]["forwardMs"]
                row = {"kind": kind, "run": run, "architecture": arch, "forwardRatio": round(f[kind] / f["base"], 3),
                       "loadavg": round(os.getloadavg()[0], 2), **run_gate(repo, args.budget)}
                print(json.dumps(row), flush=True)
                out.write(json.dumps(row) + "\n")
                out.flush()
            out.write(json.dumps({"finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                  "loadavg": os.getloadavg()}) + "\n")
    finally:
        if background is not None:
            background.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(table(summary(done(args.out))) + "\n\n" + by_architecture(done(args.out)))


if __name__ == "__main__":
    main()
