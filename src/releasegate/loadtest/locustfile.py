"""The locustfile that ``releasegate loadtest`` runs headless (``locust -f <this file>``).

Configured entirely through environment variables set by :mod:`releasegate.loadtest.driver`
(forked locust worker processes inherit them):

``RG_LT_TARGETS``  JSON file: ``{"slotSeconds": 0.5, "pattern": ["baseline", "candidate", ...],
                   "targets": {"baseline": {"url": ..., "contentType": ..., "bodies": [...]}, ...}}``
``RG_LT_OUT``      directory; every locust process writes ``lat-<pid>.csv`` there
``RG_LT_MODE``     ``closed`` (each user sends its next request when the last one returns) or
                   ``open`` (arrivals follow a Poisson schedule, whatever the responses do)
``RG_LT_RATE``     open mode: total arrival rate in requests/s, shared by ``RG_LT_USERS`` users
``RG_LT_TIMEOUT``  request timeout in seconds

Interleaving: wall-clock time is cut into slots of ``slotSeconds``; slot ``k`` belongs to
the side ``pattern[k % len(pattern)]`` and every request whose (intended) send time falls
in it goes to that side's URL. With the pattern A B B A, the two servers take turns every
half second under the same load, so noise on the machine hits both alike.

Each CSV row is ``intended,sent,latency,status,side``: wall-clock seconds of the intended
and the actual send time, latency in seconds, HTTP status (0: no response), the index of
the side in the sorted target names. In open mode the latency is measured from the
*intended* send time, so a request that had to wait for a free user (because the server
was slow) counts that wait: the latencies do not hide queueing (no coordinated
omission). In closed mode intended == sent.

Distributed mode (``locust --master`` / ``--worker``, see :mod:`releasegate.loadtest.distributed`):
the master ships the targets to its workers in the custom argument ``--rg-spec``, the workers
send their rows (and their CPU) back in ``rg_rows`` messages, and each worker times its
requests on the master's clock (``rg_ping``/``rg_pong`` measure the offset). The spec file
then also carries mode, rate, users and timeout.

This file is loaded by locust, never imported by releasegate itself.
"""
from __future__ import annotations

import json
import math
import os
import random
import time
from typing import Any

import gevent
from locust import FastHttpUser, constant, events, task

_CONFIG: dict[str, Any] = {}
_ROWS: list[str] = []
_FLUSH_EVERY = 5000
_FLUSH_SECONDS = 0.25  # the gate reads the rows while locust runs (sequential looks)
_LAST_FLUSH = [0.0]
_NODE: dict[str, Any] = {"role": "local", "offset": 0.0, "rtt": None}  # local | master | worker
_WORKERS: dict[str, dict[str, Any]] = {}  # master: what each worker reported
_PINGS = 5


def _spec_text() -> str:
    """This process's configuration: the targets file, or (a worker) what the master sent."""
    if _NODE["role"] == "worker":
        return str(_NODE["env"].parsed_options.rg_spec)
    with open(os.environ["RG_LT_TARGETS"], encoding="utf-8") as f:
        return f.read()


def _config() -> dict[str, Any]:
    if not _CONFIG:
        spec = json.loads(_spec_text())
        names = sorted(spec["targets"])
        _CONFIG.update(
            slot=float(spec["slotSeconds"]),
            pattern=[names.index(side) for side in spec["pattern"]],
            urls=[spec["targets"][n]["url"] for n in names],
            headers=[{"Content-Type": spec["targets"][n].get("contentType", "application/json")} for n in names],
            bodies=[[b.encode("utf-8") for b in spec["targets"][n]["bodies"]] for n in names],
            out=os.environ.get("RG_LT_OUT", ""),
            mode=spec.get("mode") or os.environ.get("RG_LT_MODE", "closed"),
            rate=float(spec.get("rate") or os.environ.get("RG_LT_RATE", "0") or 0),
            users=max(1, int(spec.get("users") or os.environ.get("RG_LT_USERS", "1") or 1)),
            timeout=float(spec.get("timeout") or os.environ.get("RG_LT_TIMEOUT", "30") or 30),
        )
    return _CONFIG


def _clock() -> float:
    """This host's wall clock; ``RG_LT_CLOCK_SKEW`` shifts it (to test skew between hosts on one machine)."""
    return time.time() + float(os.environ.get("RG_LT_CLOCK_SKEW", "0") or 0)


def _now() -> float:
    """Wall-clock seconds on the master's clock: a worker corrects its own by the offset it measured."""
    return _clock() + _NODE["offset"]


def side_at(t: float) -> int:
    cfg = _config()
    return cfg["pattern"][int(math.floor(t / cfg["slot"])) % len(cfg["pattern"])]


def _flush() -> None:
    if not _ROWS:
        return
    if _NODE["role"] == "worker":  # rows travel to the master over locust's own channel
        runner = _NODE["runner"]
        runner.send_message("rg_rows", {"rows": "".join(_ROWS), "cpu": float(runner.current_cpu_usage),
                                        "offset": _NODE["offset"], "rtt": _NODE["rtt"], "pid": os.getpid()})
        _ROWS.clear()
        return
    path = os.path.join(_config()["out"], f"lat-{os.getpid()}.csv")
    with open(path, "a", encoding="ascii") as f:
        f.write("".join(_ROWS))
    _ROWS.clear()


def _record(intended: float, sent: float, latency: float, status: int, side: int) -> None:
    _ROWS.append(f"{intended:.6f},{sent:.6f},{latency:.6f},{status},{side}\n")
    now = time.monotonic()
    if len(_ROWS) >= _FLUSH_EVERY or now - _LAST_FLUSH[0] >= _FLUSH_SECONDS:
        _LAST_FLUSH[0] = now
        _flush()


@events.init_command_line_parser.add_listener
def _arguments(parser: Any, **_kwargs: Any) -> None:
    # The master fills it with its targets file; locust ships custom arguments to every worker.
    parser.add_argument("--rg-spec", type=str, default="", include_in_web_ui=False,
                        help="releasegate: the load test's targets (set by the master, not by hand)")


@events.init.add_listener
def _on_init(environment: Any, **_kwargs: Any) -> None:
    from locust.runners import MasterRunner, WorkerRunner

    runner = environment.runner
    if isinstance(runner, MasterRunner):
        _NODE.update(role="master")
        environment.parsed_options.rg_spec = _spec_text()
        runner.register_message("rg_rows", _master_rows)
        runner.register_message("rg_ping", _master_ping)
    elif isinstance(runner, WorkerRunner):
        _NODE.update(role="worker", runner=runner, env=environment)
        runner.register_message("rg_pong", _worker_pong)
        for _ in range(_PINGS):
            runner.send_message("rg_ping", {"t0": _clock()})


def _master_ping(environment: Any, msg: Any, **_kwargs: Any) -> None:
    environment.runner.send_message("rg_pong", {"t0": msg.data["t0"], "master": time.time()}, client_id=msg.node_id)


def _worker_pong(environment: Any, msg: Any, **_kwargs: Any) -> None:
    """Offset to the master's clock from the round trip with the shortest delay (NTP's estimate)."""
    t1 = _clock()
    rtt = t1 - msg.data["t0"]
    if _NODE["rtt"] is None or rtt < _NODE["rtt"]:
        _NODE["offset"] = msg.data["master"] - (msg.data["t0"] + t1) / 2.0
        _NODE["rtt"] = rtt


def _master_rows(environment: Any, msg: Any, **_kwargs: Any) -> None:
    """A worker's rows: append them to its file, and keep its CPU, clock offset and last report."""
    out = _config()["out"]
    name = "".join(c if c.isalnum() else "-" for c in str(msg.node_id))[-40:]
    with open(os.path.join(out, f"lat-w-{name}.csv"), "a", encoding="ascii") as f:
        f.write(msg.data["rows"])
    seen = _WORKERS.setdefault(name, {"cpu": [], "rows": 0})
    seen["cpu"].append(float(msg.data["cpu"]))
    seen.update(offset=msg.data["offset"], rtt=msg.data["rtt"], last=time.time(), rows=seen["rows"] + msg.data["rows"].count("\n"))
    summary = {k: {"cpuMean": sum(v["cpu"]) / len(v["cpu"]), "cpuMax": max(v["cpu"]), "offset": v["offset"],
                   "rtt": v["rtt"], "last": v["last"], "rows": v["rows"]} for k, v in _WORKERS.items()}
    tmp = os.path.join(out, ".workers.json.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(summary, f)
    os.replace(tmp, os.path.join(out, "workers.json"))


@events.test_stop.add_listener
def _on_test_stop(**_kwargs: Any) -> None:
    _flush()


@events.quitting.add_listener
def _on_quitting(**_kwargs: Any) -> None:
    _flush()


class ModelUser(FastHttpUser):
    """One virtual client of the model servers."""

    wait_time = constant(0)
    host = "http://127.0.0.1"

    def on_start(self) -> None:
        cfg = _config()
        self.client.client.network_timeout = cfg["timeout"]  # type: ignore[attr-defined]
        self.client.client.connection_timeout = cfg["timeout"]  # type: ignore[attr-defined]
        self._rng = random.Random()
        self._next = self._rng.randrange(1 << 30)
        self._intended = _now()
        if cfg["mode"] == "open":
            self._intended += self._gap()

    def _gap(self) -> float:
        cfg = _config()
        return self._rng.expovariate(cfg["rate"] / cfg["users"]) if cfg["rate"] > 0 else 1.0

    @task
    def infer(self) -> None:
        cfg = _config()
        if cfg["mode"] == "open":
            intended = self._intended
            self._intended += self._gap()
            delay = intended - _now()
            if delay > 0:
                gevent.sleep(delay)
        sent = _now()
        if cfg["mode"] != "open":
            intended = sent
        side = side_at(intended)
        status = self._post(cfg, side)
        _record(intended, sent, _now() - intended, status, side)

    def _post(self, cfg: dict[str, Any], side: int) -> int:
        bodies = cfg["bodies"][side]
        self._next += 1
        with self.client.post(
            cfg["urls"][side], data=bodies[self._next % len(bodies)], headers=cfg["headers"][side],
            catch_response=True,
        ) as response:
            status = int(response.status_code or 0)
            if status != 200:
                response.failure(f"HTTP {status}")
            return status
