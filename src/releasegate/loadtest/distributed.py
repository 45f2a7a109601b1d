"""Locust's distributed mode: a master on the runner, workers here or on other hosts of the pool.

When one runner cannot generate the load (its locust processes saturate), a profile with
``workers: N`` runs locust as a master (``--master --expect-workers N``) that spawns no
users itself, and N workers that do. Everything travels over locust's own channel:

* the targets (slot length, pattern, each side's URL and bodies, mode, rate, users,
  timeout) in the custom argument ``--rg-spec``, which the master fills from its targets
  file and locust ships to every worker with each spawn message;
* every request's row (intended and actual send time, latency, status, side) in
  ``rg_rows`` messages, four a second, which the master appends to ``lat-w-<worker>.csv``
  for the usual analysis, together with the worker's CPU, so saturation is detected on
  *every* worker;
* each worker's clock offset to the master (``rg_ping``/``rg_pong`` at start, the
  shortest of five round trips): slots are cut on the master's clock, so workers on
  hosts whose clocks disagree still send to the same side at the same moment.

The master writes ``workers.json`` (per worker: mean and max CPU, clock offset and round
trip, rows, last report), which this module checks while the point runs: a worker that
never reports, or stops reporting, ends the point with a clear error instead of a
measurement at a load nobody asked for. With ``remoteWorkers: false`` (the default) the
gate starts the workers itself on this runner (loopback), each a managed process group
stopped on every exit path.
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from releasegate.loadtest.errors import LoadTestError
from releasegate.loadtest.procs import Managed, free_port

SILENT_SECONDS = 3.0  # a worker that sent no rows for this long is gone (locust's heartbeat liveness is 3 s)
FIRST_REPORT_SECONDS = 5.0  # after the ramp, every worker must have reported once
WORKER_HINT = ("start the locust workers of the runner pool (docs/loadtest.md, Distributed mode), or set workers: 0 "
               "in the profile to generate the load on this runner")


@dataclass(frozen=True)
class Distributed:
    """How the gate runs locust distributed (a profile's ``workers``, ``remoteWorkers`` ...)."""

    workers: int
    remote: bool = False
    bind_host: str = "127.0.0.1"
    port: int = 0  # 0: a free port (local workers only)
    connect_seconds: float = 30.0


def master_args(d: Distributed, port: int) -> list[str]:
    """What turns a headless locust command line into the master of ``d``."""
    return ["--master", "--master-bind-host", d.bind_host, "--master-bind-port", str(port),
            "--expect-workers", str(d.workers), "--expect-workers-max-wait", str(max(1, round(d.connect_seconds)))]


def worker_argv(locustfile: Path, host: str, port: int) -> list[str]:
    """A worker's command line (what the runner pool runs on other hosts, with their Python)."""
    return [sys.executable, "-m", "locust", "-f", str(locustfile), "--worker", "--master-host", host,
            "--master-port", str(port), "--loglevel", "WARNING"]


def master_port(d: Distributed) -> int:
    return d.port or free_port()


def start_workers(d: Distributed, locustfile: Path, port: int, out: Path) -> list[Managed]:
    """The local workers (none when they come from the runner pool)."""
    if d.remote:
        return []
    host = "127.0.0.1"
    return [Managed(worker_argv(locustfile, host, port), out / f"worker-{i}.log", cwd=out) for i in range(d.workers)]


def reports(out: Path) -> dict[str, dict[str, Any]]:
    """What the master wrote about its workers (empty before the first report)."""
    try:
        data = json.loads((out / "workers.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def check(d: Distributed, out: Path, measuring_since: float | None) -> None:
    """Raise a clear error when a worker never reported or went silent (``measuring_since``: wall time)."""
    if measuring_since is None:
        return
    now = time.time()
    seen = reports(out)
    if now - measuring_since > FIRST_REPORT_SECONDS and len(seen) < d.workers:
        raise LoadTestError(f"only {len(seen)} of {d.workers} locust worker(s) sent requests "
                            f"{FIRST_REPORT_SECONDS:g} s into the point", WORKER_HINT, code="workers-missing")
    for name, r in seen.items():
        if now - float(r.get("last", now)) > SILENT_SECONDS:
            raise LoadTestError(f"locust worker {name} stopped reporting {now - float(r['last']):.1f} s ago "
                                "(it died or lost its connection): the point ran with fewer users than planned",
                                WORKER_HINT, code="worker-lost")


def never_connected(log_tail: str, d: Distributed) -> LoadTestError | None:
    """The master's own verdict when its workers did not all connect in time."""
    if "Gave up waiting for workers" not in log_tail:
        return None
    return LoadTestError(f"{d.workers} locust worker(s) expected, not all connected within {d.connect_seconds:g} s\n"
                         f"{log_tail}", WORKER_HINT, code="workers-missing")


def busiest(out: Path) -> tuple[float, dict[str, Any]]:
    """The busiest worker's mean CPU (% of one core), and each worker's figures for the result."""
    seen = reports(out)
    top = max((float(r.get("cpuMean", 0.0)) for r in seen.values()), default=0.0)
    return top, {name: {k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items() if k != "last"}
                 for name, r in seen.items()}
