"""Benchmark the alert path: an Alertmanager notification reaching the relay (or on-alert) -> the
abort's pull request opened, against the loopback fake GitHub.

    python benchmarks/alerts/bench.py [--runs 5]

Each run builds a fresh GitOps repository with a running canary (sentiment 1.1.0 beside 1.0.0 in prod,
a bare origin) and times, wall clock:
- relay: POST of the webhook body to `releasegate alert-relay` (already running, `--dedup-minutes 0`
  so that each run's alert is news) until the fake GitHub has recorded the repository_dispatch;
- on-alert: `releasegate on-alert <the dispatched event>` as a new process (interpreter start, Git,
  the open pull requests listed, the branch committed and pushed, the pull request opened and labelled)
  until it exits; GitHub's client keeps its default pacing (0.25 s between requests, 1 s between writes);
- total: the two added (the workflow's start-up on GitHub, which no local run can measure, comes on top).
Needs the fixtures of scripts/test.sh (GitHub's OpenAPI description). Prints medians and the load.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "src"))

from tests.support import loop  # noqa: E402
from tests.support.alerts import alert, body  # noqa: E402
from tests.support.fake_github import FakeGitHub  # noqa: E402
from tests.support.github_fixtures import example  # noqa: E402

SECRET = "bench-secret-0123456789"


def one_run(root: Path, github: FakeGitHub, relay_port: int, env: dict[str, str]) -> tuple[float, float]:
    repo = loop.gitops_repo(root)
    github.pulls.clear()
    github.dispatches.clear()
    github.labels.clear()
    started = time.perf_counter()
    request = urllib.request.Request(f"http://127.0.0.1:{relay_port}/alert", data=body(alert(version="1.1.0")),
                                     headers={"Authorization": f"Bearer {SECRET}"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as resp:
        resp.read()
    deadline = time.monotonic() + 30
    while not github.dispatches:
        if time.monotonic() > deadline:
            raise SystemExit("the relay dispatched nothing within 30 s")
        time.sleep(0.001)
    relayed = time.perf_counter() - started
    event = example("repository_dispatch")
    event.update(action="releasegate-alert", client_payload=github.dispatches[0]["client_payload"])
    path = root / "event.json"
    path.write_text(json.dumps(event))
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "releasegate", "on-alert", str(path)], cwd=repo, env=env,
                          capture_output=True, text=True)
    opened = time.perf_counter() - started
    if proc.returncode != 0 or "opened #" not in proc.stdout:
        raise SystemExit(f"on-alert failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return relayed, opened


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    load = os.getloadavg()
    github = FakeGitHub(repo="org/gitops").start()
    env = {**os.environ, "GITHUB_TOKEN": "ghp_bench", "GITHUB_REPOSITORY": "org/gitops", "GITHUB_API_URL": github.url,
           "GITHUB_SERVER_URL": "https://github.example", "PYTHONPATH": str(PROJECT / "src"),
           "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com", "GIT_COMMITTER_NAME": "Bench",
           "GIT_COMMITTER_EMAIL": "bench@example.com"}
    os.environ.update({k: env[k] for k in ("GITHUB_TOKEN", "GITHUB_API_URL", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL",
                                           "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL")})
    relayed, opened = [], []
    try:
        with tempfile.TemporaryDirectory(prefix="rg-alert-bench-") as tmp, loop.relay(Path(tmp), SECRET, "org/gitops",
                                                                                   "--dedup-minutes", "0") as port:
            for run in range(args.runs):
                root = Path(tmp) / f"run-{run}"
                root.mkdir()
                r, o = one_run(root, github, port, env)
                relayed.append(r)
                opened.append(o)
    finally:
        github.stop()
    if github.violations:
        raise SystemExit("requests GitHub's OpenAPI description does not allow:\n" + "\n".join(github.violations))
    totals = [r + o for r, o in zip(relayed, opened)]
    print(f"runs: {args.runs}, load average before: {load[0]:.2f}, after: {os.getloadavg()[0]:.2f}")
    for name, values in (("relay: POST -> dispatch recorded", relayed), ("on-alert: event -> pull request opened",
                                                                          opened), ("total", totals)):
        print(f"{name:42s} median {statistics.median(values):.3f} s (min {min(values):.3f}, max {max(values):.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
