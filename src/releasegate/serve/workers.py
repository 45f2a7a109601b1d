"""``--workers N``: N HTTP worker processes in front of this, the model process.

This process reserves the port, loads the model and runs the batcher; each worker
(:mod:`releasegate.serve.worker`) listens on the same port (SO_REUSEPORT: the kernel
spreads the connections evenly), parses and checks requests, and sends each infer job over its own Unix socket pair as
raw tensor bytes (:mod:`releasegate.serve.ipc`). One reader thread per worker turns the
frames into :class:`~releasegate.serve.batching.Job` s for the one batcher, so batches
form here, across all workers; the completion thread sends each finished batch back as
one write per worker. HTTP parsing and JSON encoding, the CPU-heavy part per request,
so scale with the workers while the device is fed from one place.

- **Overload**: a full batcher queue answers the job with a 503 frame; the worker answers 503.
- **A worker that dies** is restarted (with a back-off when it keeps dying). The clients it
  held lose their connections (no process is left to answer them); each of its jobs still
  in the batcher is counted as a 503 when it finishes, and one error line says how many
  were in flight. Other workers keep accepting meanwhile.
- **A worker that stops reading** its results for ``SEND_TIMEOUT_S`` is killed (and restarted)
  rather than stall the batcher's completion thread.
- **SIGTERM/SIGINT**: each worker is told to drain (stop accepting, finish its requests,
  which the batcher still runs) and reaped; one still busy after ``--graceful-timeout`` is killed.
- **This process dying** closes every link: the workers answer 503 to what they hold,
  report not-ready, stop accepting and exit (no orphans).
"""
from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import releasegate
from releasegate.child_env import child_env
from releasegate.serve.assembly import ModelCore
from releasegate.serve.batching import Job, Overloaded
from releasegate.serve.config import ServeConfig
from releasegate.serve.ipc import (
    HELLO,
    INFER,
    MESSAGE_ROOM,
    METRICS,
    METRICS_TEXT,
    RESULT,
    ROWS,
    STATS,
    STATUS,
    Frame,
    FrameReader,
    LinkError,
    decode_tensors,
    encode_tensors,
    frame,
    frame_limit,
)
from releasegate.serve.logs import Throttle
from releasegate.serve.metrics import Samples, samples_from_json

log = logging.getLogger(__name__)
SEND_TIMEOUT_S = 5.0  # a worker that takes no results this long is killed
START_TIMEOUT_S = 60.0
SUPERVISE_EVERY_S = 0.1
MAX_BACKOFF_S = 5.0


class WorkerLink:
    """This process's end of one worker: the process, its socket, what it has in flight."""

    def __init__(self, index: int, proc: subprocess.Popen[bytes], sock: socket.socket) -> None:
        self.index = index
        self.proc = proc
        self.sock = sock
        self.ready = threading.Event()
        self.alive = True
        self.in_flight = 0
        self.samples: Samples = []
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self.reader: threading.Thread | None = None

    def send(self, data: bytes) -> bool:
        """Write ``data`` whole; False (and the worker killed) when it cannot take it."""
        with self._lock:
            if not self.alive:
                return False
            try:
                self.sock.sendall(data)
                return True
            except OSError as e:  # TimeoutError included: a stuck worker must not stall the batcher
                self.alive = False
                log.error("worker %d (pid %d): cannot send it results (%s); stopping it", self.index, self.proc.pid, e)
                self.proc.kill()
                return False

    def count(self, delta: int) -> None:
        with self._lock:
            self.in_flight += delta


class WorkerPool:
    """Spawns the workers, feeds their jobs to the batcher, answers them, restarts and drains them."""

    def __init__(self, core: ModelCore, cfg: ServeConfig, listener: socket.socket) -> None:
        """``listener`` reserves the port (SO_REUSEPORT); each worker listens on a socket of its own."""
        self.core = core
        self.cfg = cfg
        self.listener = listener
        sig = core.sig
        self.limit = max(frame_limit(sig.inputs, sig.max_batch), frame_limit(sig.outputs, sig.max_batch))
        self.links: list[WorkerLink] = []
        self.retired: Samples = []  # the counts of workers that exited: counters never go back
        self.restarts = 0
        self._backoff = [0.0] * cfg.workers
        self._respawn_at: dict[int, float] = {}
        self._lost = Throttle(log)
        self._config = worker_config(core, cfg, self.limit)
        core.deliver = self.deliver

    # --- life cycle
    def start(self) -> None:
        """Start every worker and wait until each listens; RuntimeError when one exits first."""
        self.links = [self._spawn(i) for i in range(self.cfg.workers)]
        deadline = time.monotonic() + START_TIMEOUT_S
        for link in self.links:
            while not link.ready.wait(0.05):
                if link.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop_all(0)
                    raise RuntimeError(f"HTTP worker {link.index} did not start (exit code {link.proc.returncode}); "
                                       "its error is above")
        log.info("%d HTTP worker processes listening (pids %s)", len(self.links), [w.proc.pid for w in self.links])

    def run(self, stop: threading.Event) -> bool:
        """Restart workers that die until ``stop`` is set; then drain. True when every request was answered."""
        while not stop.wait(SUPERVISE_EVERY_S):
            self.supervise()
        return self.stop_all(self.cfg.graceful_timeout_s)

    def supervise(self) -> None:
        now = time.monotonic()
        for index, link in enumerate(self.links):
            if link.proc.poll() is None:
                continue
            if index not in self._respawn_at:
                self._retire(link)
                self._respawn_at[index] = now + self._next_backoff(index, now - link.started)
            if now >= self._respawn_at[index]:
                del self._respawn_at[index]
                self.links[index] = self._spawn(index)
                self.restarts += 1

    def stop_all(self, timeout: float) -> bool:
        """SIGTERM every worker (each drains its connections), reap them; kill those past ``timeout``."""
        self.listener.close()
        for link in self.links:
            if link.proc.poll() is None:
                link.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        drained = True
        for link in self.links:
            try:
                code = link.proc.wait(max(0.0, deadline - time.monotonic()))
                drained = drained and code == 0
            except subprocess.TimeoutExpired:
                log.warning("HTTP worker %d still busy after %g s (--graceful-timeout): killed", link.index, timeout)
                link.proc.kill()
                link.proc.wait()
                drained = False
            self._close(link)
        return drained

    # --- workers
    def _spawn(self, index: int) -> WorkerLink:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        fds = (theirs.fileno(),)
        config = {**self._config, "index": index, "link_fd": fds[0]}
        try:
            proc = subprocess.Popen(  # noqa: S603 - this interpreter, our own module, no shell
                [sys.executable, "-m", "releasegate.cli.serve_worker"], stdin=subprocess.PIPE, pass_fds=fds,
                env=worker_env(), start_new_session=True,
            )
        finally:
            theirs.close()
        assert proc.stdin is not None  # noqa: S101 - stdin=PIPE
        proc.stdin.write(json.dumps(config).encode())
        proc.stdin.close()
        ours.settimeout(SEND_TIMEOUT_S)
        link = WorkerLink(index, proc, ours)
        link.reader = threading.Thread(target=self._read, args=(link,), name=f"releasegate-worker-{index}", daemon=True)
        link.reader.start()
        return link

    def _next_backoff(self, index: int, lived: float) -> float:
        """No wait for a worker that ran a while; doubling waits (to MAX_BACKOFF_S) for one that keeps dying."""
        quick = lived < 1.0
        self._backoff[index] = min(MAX_BACKOFF_S, max(0.1, 2 * self._backoff[index])) if quick else 0.0
        return self._backoff[index]

    def _retire(self, link: WorkerLink) -> None:
        link.alive = False
        self.retired = [*self.retired, *link.samples]
        log.error("HTTP worker %d (pid %d) exited with code %s holding %d requests in flight (their clients' "
                  "connections closed unanswered; counted as 503); restarting it",
                  link.index, link.proc.pid, link.proc.returncode, link.in_flight)
        self._close(link)

    def _close(self, link: WorkerLink) -> None:
        link.alive = False
        try:
            link.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already gone with its process
        if link.reader is not None:
            link.reader.join(SEND_TIMEOUT_S + 1)
        link.sock.close()

    # --- frames from a worker (its reader thread)
    def _read(self, link: WorkerLink) -> None:
        reader = FrameReader(self.limit)
        try:
            while True:
                try:
                    data = link.sock.recv(1 << 18)
                except TimeoutError:
                    continue
                if not data:
                    return
                for item in reader.feed(data):
                    self._on_frame(link, item)
        except (OSError, LinkError, ValueError, TypeError) as e:
            if link.alive:
                log.error("HTTP worker %d: broken link (%s: %s); stopping it", link.index, type(e).__name__, e)
                link.proc.kill()
        finally:
            link.alive = False

    def _on_frame(self, link: WorkerLink, item: Frame) -> None:
        handlers: dict[int, Callable[[WorkerLink, Frame], None]] = {
            INFER: self._infer, HELLO: self._hello, STATS: self._stats, METRICS: self._metrics,
        }
        handler = handlers.get(item.kind)
        if handler is None:
            raise LinkError(f"unknown frame kind {item.kind}")
        handler(link, item)

    def _infer(self, link: WorkerLink, item: Frame) -> None:
        rows = ROWS.unpack_from(item.body)[0]
        if not 1 <= rows <= self.core.sig.max_batch:
            raise LinkError(f"a job of {rows} rows (--max-batch {self.core.sig.max_batch})")
        arrays = decode_tensors(item.body[ROWS.size:], self.core.sig.inputs, rows)
        link.count(1)
        try:
            self.core.batcher.submit(Job(arrays, rows, (link, item.id)))
        except Overloaded as e:
            link.count(-1)
            link.send(frame(RESULT, item.id, STATUS.pack(503), str(e).encode()))

    def _hello(self, link: WorkerLink, item: Frame) -> None:
        link.ready.set()

    def _stats(self, link: WorkerLink, item: Frame) -> None:
        link.samples = samples_from_json(json.loads(bytes(item.body)))

    def _metrics(self, link: WorkerLink, item: Frame) -> None:
        self._stats(link, item)
        others = [self.retired, *(w.samples for w in self.links if w.alive)]
        link.send(frame(METRICS_TEXT, item.id, self.core.metrics.render(self.core.batcher.queued, others)))

    # --- finished batches (the batcher's completion thread)
    def deliver(self, results: list[tuple[Job, Any]]) -> None:
        """Send each job's result to its worker, one write per worker; count what a dead worker cannot take."""
        by_link: dict[WorkerLink, list[bytes]] = {}
        for job, result in results:
            link, ident = job.token
            link.count(-1)
            by_link.setdefault(link, []).append(_result_frame(ident, result))
        for link, frames in by_link.items():
            if not link.send(b"".join(frames)):
                for _ in frames:
                    self.core.metrics.count(503)
                self._lost.log(logging.ERROR, "lost", "HTTP worker %d is gone: %d finished requests could not be "
                               "answered (counted as 503)", link.index, len(frames))


def _result_frame(ident: int, result: Any) -> bytes:
    if isinstance(result, BaseException):
        message = f"{type(result).__name__}: {result}"[: MESSAGE_ROOM // 2]
        return frame(RESULT, ident, STATUS.pack(500), message.encode())
    return frame(RESULT, ident, STATUS.pack(200), encode_tensors(result))


def worker_config(core: ModelCore, cfg: ServeConfig, limit: int) -> dict[str, Any]:
    """What a worker needs to know, as JSON (it imports neither torch nor the model)."""
    sig = core.sig
    return {
        "signature": {"name": sig.name, "version": sig.version, "platform": sig.platform, "max_batch": sig.max_batch,
                      "inputs": [asdict(s) for s in sig.inputs], "outputs": [asdict(s) for s in sig.outputs]},
        "metrics": [cfg.model_name, cfg.model_version, cfg.track],
        "limits": asdict(core.limits),
        "http": asdict(cfg.http),
        "host": cfg.host,
        "port": core.info.port,
        "access_log": cfg.access_log,
        "log_level": logging.getLevelName(log.getEffectiveLevel()),  # what the CLI set on "releasegate"
        # The model process's queue decides overload; this only bounds what one worker holds when it
        # does not answer: the whole queue plus the rows of the two batches in flight.
        "max_pending": cfg.max_queue + 2 * sig.max_batch,
        "graceful_timeout_s": cfg.graceful_timeout_s,
        "frame_limit": limit,
    }


def worker_env() -> dict[str, str]:
    """The allow-listed environment (no tokens), with this releasegate importable."""
    source = str(Path(releasegate.__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH", "")) if p)
    return child_env({"PYTHONPATH": path})
