"""The pieces of the closed loop for the tests that run it for real: model servers, traffic, a GitOps
repository with canaries, and the rendered rules.

The model is a one-layer linear network from a factory of a throw-away installed distribution (like
tests/unit/serve/serve_testkit.py): every batch sleeps ``RG_LOOP_SLEEP_S`` seconds first, so a
"slowed canary" is the same model started with a sleep. Every server is a real ``releasegate serve``
process on a free loopback port.
"""
from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import PROJECT
from tests.gitrepo import path, release
from tests.support.prometheus import Process, free_port, started

FACTORY = textwrap.dedent(
    '''
    import os, time
    import torch

    class Linear(torch.nn.Module):
        """x -> linear(x), after sleeping RG_LOOP_SLEEP_S seconds per batch."""

        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(4, 2)

        def forward(self, x):
            pause = float(os.environ.get("RG_LOOP_SLEEP_S", "0"))
            if pause:
                time.sleep(pause)
            return self.lin(x)

    def linear():
        torch.manual_seed(0)
        return Linear().eval()

    linear.input_spec = [{"name": "x", "datatype": "FP32", "shape": [4]}]
    '''
)
ENVS = ("prod", "staging")
RENDER_SETTINGS = """monitoring:
  canary: {for: 2s, minRequests: 20, minLatencyIncreaseMs: 5, maxLatencyRatio: 1.2}
"""


def model(root: Path) -> tuple[Path, Path, str]:
    """(the distribution folder for PYTHONPATH, the weights, their sha256)."""
    from safetensors.torch import save_file

    dist = root / "site"
    dist.mkdir(parents=True)
    (dist / "rg_loop_factories.py").write_text(FACTORY)
    info = dist / "rg_loop_factories-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: rg-loop-factories\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[releasegate.model_factories]\nloop-linear = rg_loop_factories:linear\n")
    sys.path.insert(0, str(dist))
    try:
        import rg_loop_factories  # type: ignore[import-not-found]

        weights = root / "linear.safetensors"
        save_file(rg_loop_factories.linear().state_dict(), str(weights))
    finally:
        sys.path.remove(str(dist))
    return dist, weights, hashlib.sha256(weights.read_bytes()).hexdigest()


def serve(root: Path, dist: Path, weights: Path, sha: str, version: str, track: str,
          sleep_s: float) -> contextlib.AbstractContextManager[Process]:
    """``releasegate serve`` of the model as ``sentiment`` ``version`` on ``track``."""
    port = free_port()
    argv = [sys.executable, "-m", "releasegate", "serve", str(weights), "--sha256", sha, "--factory", "loop-linear",
            "--device", "cpu", "--port", str(port), "--model-name", "sentiment", "--model-version", version,
            "--track", track, "--max-delay-ms", "0"]
    env = {**os.environ, "PYTHONPATH": f"{PROJECT / 'src'}{os.pathsep}{dist}", "RG_LOOP_SLEEP_S": str(sleep_s),
           "OMP_NUM_THREADS": "1"}
    return started(f"serve {version} {track}", argv, port, root / f"serve-{port}.log", "/v2/health/ready", env=env,
                   timeout=120)


class Traffic:
    """One thread per server sending ``rps`` inference requests a second, until stopped."""

    def __init__(self, ports: list[int], rps: float = 20) -> None:
        self.stop = threading.Event()
        self.sent: dict[int, int] = {p: 0 for p in ports}
        self.threads = [threading.Thread(target=self._run, args=(p, rps), daemon=True) for p in ports]

    def __enter__(self) -> Traffic:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(10)

    def _run(self, port: int, rps: float) -> None:
        body = json.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]}]})
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while not self.stop.is_set():
            start = time.monotonic()
            try:
                conn.request("POST", "/v2/models/sentiment/infer", body=body)
                conn.getresponse().read()
                self.sent[port] += 1
            except OSError:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            self.stop.wait(max(0.0, 1 / rps - (time.monotonic() - start)))
        conn.close()


def _release(version: str, stable: str | None = None) -> str:
    # maxErrorRate 0.05: the analysis tells "no worse" from a few hundred requests (0.001 needs thousands).
    return release("sentiment", version, env="prod", stable=stable).replace("maxErrorRate: 0.001", "maxErrorRate: 0.05")


def gitops_repo(root: Path, when: datetime | None = None) -> Path:
    """This project's policies (monitoring settings for fast tests) and sentiment in prod and staging:
    idle at 1.0.0, then a canary of 1.1.0 at its first step (10 %, held 60 min) beside 1.0.0, landed
    at ``when`` (default: 61 minutes ago, so that its hold has passed now), with a bare origin."""
    from tests.gitrepo import init_repo

    landed = when or datetime.now(timezone.utc) - timedelta(minutes=61)
    before = (landed - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    repo = root / "gitops"
    git = init_repo(repo, {path(env, "sentiment"): _release("1.0.0") for env in ENVS}, when=before)
    config = (repo / "policies" / "render.yaml").read_text() + RENDER_SETTINGS
    git.commit("Monitoring settings for fast tests", before, {"policies/render.yaml": config})
    git.commit("Promote sentiment 1.1.0 to prod and staging (#7)", landed.strftime("%Y-%m-%dT%H:%M:%SZ"),
               {path(env, "sentiment"): _release("1.1.0", stable="1.0.0") for env in ENVS})
    origin = root / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    git.git("remote", "add", "origin", str(origin))
    git.git("push", "-q", "origin", "main")
    return repo


def rule_files(repo: Path, out: Path) -> list[Path]:
    """The rendered PrometheusRules of the repository, as Prometheus rule files."""
    from releasegate.layout import RepoLayout
    from releasegate.render import render_plan

    plan = render_plan(RepoLayout(repo))
    assert plan.problems == [], plan.problems
    files = []
    for name, content in sorted(plan.expected.items()):
        for doc in yaml.safe_load_all(content or b""):
            if isinstance(doc, dict) and doc.get("kind") == "PrometheusRule":
                files.append(out / f"{doc['metadata']['name']}-{name.split('/')[1]}.rules.yaml")
                files[-1].write_text(yaml.safe_dump(doc["spec"]))
    return files


def scrape_config(jobs: dict[str, list[int]], alertmanager: int | None) -> dict[str, Any]:
    """Prometheus scraping every 1 s, one job per environment (the label a PodMonitor relabels in)."""
    config: dict[str, Any] = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{"job_name": env, "static_configs": [{"targets": [f"127.0.0.1:{p}" for p in ports],
                                                                  "labels": {"environment": env}}]}
                           for env, ports in jobs.items()],
    }
    if alertmanager is not None:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{alertmanager}"]}]}]}
    return config


class Capture:
    """A loopback webhook receiver that keeps every body it is sent (Alertmanager's second receiver)."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        bodies = self.bodies = []  # type: list[dict[str, Any]]

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])

    def __enter__(self) -> Capture:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def relay(root: Path, secret: str, repo: str = "org/gitops", *more: str) -> Iterator[int]:
    """``releasegate alert-relay`` as a process; yields its port."""
    port = free_port()
    env = {**os.environ, "RELEASEGATE_RELAY_TOKEN": secret, "PYTHONPATH": str(PROJECT / "src")}
    argv = [sys.executable, "-m", "releasegate", "alert-relay", "--repo", repo, "--port", str(port), *more]
    with started("alert-relay", argv, port, root / "relay.log", "/healthz", env=env):
        yield port


def wait_for(what: str, predicate: Any, timeout: float, logs: list[Process] = ()) -> Any:  # type: ignore[assignment]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout} s\n" + "\n".join(f"--- {p.name}\n{p.output()}" for p in logs))
