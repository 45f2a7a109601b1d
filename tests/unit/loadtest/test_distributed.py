"""Locust's distributed mode on loopback: a master and two workers, rows and CPU over locust's channel.

Real locust processes against a small HTTP server on 127.0.0.1; "remote" workers are started
by the test the way a runner pool would start them on other hosts (one with its clock 3 s
ahead). After every test no child process may be left behind.
"""
from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psutil
import pytest

from releasegate.loadtest import distributed, procs
from releasegate.loadtest.distributed import Distributed
from releasegate.loadtest.driver import LOCUSTFILE, Phase, PhaseSetup, read_rows, run_phase
from releasegate.loadtest.errors import LoadTestError
from releasegate.loadtest.payloads import Payloads
from releasegate.loadtest.procs import Managed, free_port
from releasegate.loadtest.servers import Server, ServerSpec
from releasegate.loadtest.telemetry import GpuInfo

pytestmark = pytest.mark.slow

SERVER = """
import sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(0.010 if self.path.startswith("/c") else 0.002)  # the candidate is slower
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"{}")
    def log_message(self, *a):
        pass
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""
PATTERN = ("baseline", "candidate", "candidate", "baseline")


@pytest.fixture(autouse=True)
def no_orphans() -> Iterator[None]:
    yield
    assert procs.live_groups() == []
    assert psutil.Process().children(recursive=True) == []


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[dict[str, Server]]:
    port = free_port()
    process = Managed([sys.executable, "-c", SERVER, str(port)], tmp_path / "server.log")
    spec = ServerSpec("x", "m", "1", "external", None, None, "torchscript")
    base = f"http://127.0.0.1:{port}"
    yield {side: Server(spec, process, base, base, f"{base}/{side[0]}/infer", None) for side in ("baseline", "candidate")}
    process.stop()


def _setup(tmp_path: Path, d: Distributed) -> PhaseSetup:
    body = Payloads("/infer", "application/json", ('{"inputs": []}',), "test")
    return PhaseSetup(tmp_path, {"baseline": body, "candidate": body}, 1, 5.0, 95.0, GpuInfo(False), d)


def _phase(measure: float = 3.0) -> Phase:
    return Phase(0, "c4", "closed", 4, None, 0.5, measure, 0.25, 0.0, PATTERN)


def test_a_master_and_two_local_workers_carry_rows_cpu_and_clock(tmp_path: Path, servers: dict[str, Server]) -> None:
    data = run_phase(_phase(), servers, _setup(tmp_path, Distributed(workers=2)))
    assert data["baseline"].count > 50 and data["candidate"].count > 50
    # the candidate's server is slower: its latencies say so, though both came from the workers
    assert np.median(data["candidate"].latency_ms) > np.median(data["baseline"].latency_ms)
    out = next((tmp_path / "phases").iterdir())
    assert len(list(out.glob("lat-w-*.csv"))) == 2 and not list(out.glob("lat-[0-9]*.csv"))
    gen = data["candidate"].generator
    assert len(gen.workers) == 2 and all(cpu >= 0 for _, cpu in gen.workers)
    assert set(distributed.reports(out)) == {name for name, _ in gen.workers}


def test_workers_that_never_connect_are_a_clear_error(tmp_path: Path, servers: dict[str, Server]) -> None:
    with pytest.raises(LoadTestError) as e:
        run_phase(_phase(), servers, _setup(tmp_path, Distributed(workers=2, remote=True, connect_seconds=2)))
    assert e.value.code == "workers-missing" and "not all connected within 2 s" in e.value.message


def _remote(tmp_path: Path, port: int, skews: tuple[str, ...]) -> list[Managed]:
    return [Managed(distributed.worker_argv(LOCUSTFILE, "127.0.0.1", port), tmp_path / f"remote-{i}.log",
                    env={"RG_LT_CLOCK_SKEW": skew}) for i, skew in enumerate(skews)]


def test_a_worker_with_a_skewed_clock_is_corrected_to_the_masters(tmp_path: Path, servers: dict[str, Server]) -> None:
    port = free_port()
    workers = _remote(tmp_path, port, ("0", "3.0"))
    try:
        d = Distributed(workers=2, remote=True, port=port, connect_seconds=20)
        data = run_phase(_phase(), servers, _setup(tmp_path, d))
    finally:
        for w in workers:
            w.stop()
    out = next((tmp_path / "phases").iterdir())
    offsets = sorted(r["offset"] for r in distributed.reports(out).values())
    assert offsets[0] == pytest.approx(-3.0, abs=0.05) and offsets[1] == pytest.approx(0.0, abs=0.05)
    # every request was timed on the master's clock: uncorrected, the skewed worker's rows would
    # stretch the run's 5 s (locust -t) by 3 s and its requests land in the other side's slots
    rows = read_rows(out)
    assert rows[:, 0].max() - rows[:, 0].min() < 6.0
    assert data["baseline"].count > 50 and data["candidate"].count > 50


def test_a_worker_that_dies_mid_run_ends_the_point_with_a_clear_error(tmp_path: Path, servers: dict[str, Server]) -> None:
    port = free_port()
    workers = _remote(tmp_path, port, ("0", "0"))
    killer = threading.Timer(4.0, workers[1].stop, kwargs={"grace": 0.1})
    try:
        killer.start()
        d = Distributed(workers=2, remote=True, port=port, connect_seconds=20)
        with pytest.raises(LoadTestError) as e:
            run_phase(_phase(measure=20.0), servers, _setup(tmp_path, d))
    finally:
        killer.cancel()
        for w in workers:
            w.stop()
    assert e.value.code == "worker-lost" and "stopped reporting" in e.value.message
