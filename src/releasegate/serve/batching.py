"""Dynamic batching: one worker thread forms batches from a bounded queue of jobs.

Requests from any number of connections enter one bounded queue. The *launch*
thread takes as many whole jobs as fit into ``max_batch`` rows (waiting up to
``max_delay_s`` for the batch to fill, or not at all when it is 0), hands them to
the runner, and goes on to the next batch while the *completion* thread waits for
the device to finish the previous one, splits the outputs per job and delivers
them in one call per batch. ``slots`` in-flight batches (2: one computing, one
being prepared) keep a GPU busy without host/device gaps; each slot owns the
runner's pre-allocated input buffers, so a buffer is reused only once its batch is done.

On the CPU a forward pass is finished when ``launch`` returns, so the launch thread
completes the batch itself (one thread hop fewer per request).

The queue bound turns overload into an immediate :class:`Overloaded` (HTTP 503)
instead of unbounded latency. A batch whose forward pass raises fails its requests
(each gets the exception) and is logged at error level with its traceback, at most one
line every ``logs.EVERY_S``. No torch here: the runner is injected.
"""
from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from releasegate.serve.logs import Throttle

log = logging.getLogger(__name__)


class Overloaded(Exception):
    """The queue is full (or the server is draining): answer 503 with Retry-After."""


class RemoteFailure(Exception):
    """A batch failed in the model process; the message is already ``Type: message`` (a worker's 500)."""


def failure_text(error: BaseException) -> str:
    """How a failed batch is described to its clients."""
    return str(error) if isinstance(error, RemoteFailure) else f"{type(error).__name__}: {error}"


class Pending(Protocol):
    def wait(self) -> list[np.ndarray]:
        """Block until the batch is computed; its outputs, batch dimension first (padding removed)."""


class Runner(Protocol):
    slots: int

    def prepare(self) -> None:
        """Warm up (compile, capture) on the launch thread, before the first batch."""

    def launch(self, slot: int, jobs: Sequence[Job], rows: int) -> Pending:
        """Start the forward pass of ``jobs`` (``rows`` rows in all) using the buffers of ``slot``."""


@dataclass(eq=False)
class Job:
    """One request: its input arrays (in signature order), row count and a token for delivery."""

    inputs: list[np.ndarray]
    rows: int
    token: Any
    enqueued: float = field(default_factory=time.perf_counter)


Deliver = Callable[[list[tuple[Job, Any]]], None]


@dataclass(frozen=True)
class BatchStats:
    """What the completion thread reports per batch (for metrics)."""

    rows: int
    jobs: int
    queue_seconds: tuple[float, ...]
    inference_seconds: float


class Batcher:
    """Bounded queue + launch thread + completion thread around a :class:`Runner`."""

    def __init__(
        self,
        runner: Runner,
        deliver: Deliver,
        *,
        max_batch: int,
        max_delay_s: float,
        max_queue: int,
        on_batch: Callable[[BatchStats], None] | None = None,
        name: str = "model",
    ) -> None:
        self._runner = runner
        self.name = name  # of the model, for the log
        self._errors = Throttle(log)
        self._deliver = deliver
        self.max_batch = max_batch
        self._max_delay = max_delay_s
        self._max_queue = max_queue
        self._on_batch = on_batch
        self._queue: collections.deque[Job] = collections.deque()
        self._queued_rows = 0
        self._cond = threading.Condition(threading.Lock())
        self._closing = False
        self._slots: queue.SimpleQueue[int] = queue.SimpleQueue()
        for slot in range(runner.slots):
            self._slots.put(slot)
        self._done: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._prepared = threading.Event()
        self._prepare_error: BaseException | None = None
        self._threads = [
            threading.Thread(target=self._launch_loop, name="releasegate-batch-launch", daemon=True),
            threading.Thread(target=self._complete_loop, name="releasegate-batch-complete", daemon=True),
        ]

    def start(self) -> None:
        """Start both threads; return once the runner is prepared (re-raising its error)."""
        for thread in self._threads:
            thread.start()
        self._prepared.wait()
        if self._prepare_error is not None:
            self.close()
            raise self._prepare_error

    @property
    def queued(self) -> int:
        return len(self._queue)

    def submit(self, job: Job) -> None:
        """Queue ``job``; raise :class:`Overloaded` when the queue is full or closing."""
        with self._cond:
            if self._closing:
                raise Overloaded("the server is shutting down")
            if len(self._queue) >= self._max_queue:
                raise Overloaded(f"the request queue is full ({self._max_queue} requests)")
            self._queue.append(job)
            self._queued_rows += job.rows
            self._cond.notify()

    def close(self, timeout: float | None = None) -> bool:
        """Refuse new jobs, finish every queued one, stop the threads; False if ``timeout`` ran out."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            thread.join(remaining)
        return not any(t.is_alive() for t in self._threads)

    def _take(self) -> list[Job]:
        """Block for the next batch: whole jobs, at most ``max_batch`` rows; [] once closed and empty."""
        with self._cond:
            while not self._queue and not self._closing:
                self._cond.wait()
            if not self._queue:
                return []
            if self._max_delay > 0:
                self._wait_to_fill()
            return self._pop_batch()

    def _wait_to_fill(self) -> None:
        deadline = self._queue[0].enqueued + self._max_delay
        while self._queued_rows < self.max_batch and not self._closing:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return
            self._cond.wait(remaining)

    def _pop_batch(self) -> list[Job]:
        jobs: list[Job] = []
        rows = 0
        while self._queue and rows + self._queue[0].rows <= self.max_batch:
            job = self._queue.popleft()
            rows += job.rows
            jobs.append(job)
        self._queued_rows -= rows
        return jobs

    def _launch_loop(self) -> None:
        try:
            self._runner.prepare()
        except BaseException as e:  # noqa: BLE001 - handed to start() in the caller's thread
            self._prepare_error = e
        self._prepared.set()
        while self._prepare_error is None:
            jobs = self._take()
            if not jobs:
                break
            slot = self._slots.get()
            started = time.perf_counter()
            rows = sum(job.rows for job in jobs)
            try:
                pending = self._runner.launch(slot, jobs, rows)
            except Exception as e:  # noqa: BLE001 - a failed batch fails its requests, not the server
                self._slots.put(slot)
                self._deliver(self._failed(jobs, rows, e))
                continue
            item = (slot, jobs, rows, pending, started)
            if getattr(pending, "ready", False):
                # A CPU forward is already done: nothing to overlap with, so finish here and
                # spare the requests a hop to the completion thread.
                self._complete(item)
            else:
                self._done.put(item)
        self._done.put(None)

    def _complete_loop(self) -> None:
        while (item := self._done.get()) is not None:
            self._complete(item)

    def _complete(self, item: tuple[int, list[Job], int, Pending, float]) -> None:
        """Wait for a launched batch, free its slot, deliver each job's rows, report stats."""
        slot, jobs, rows, pending, started = item
        try:
            outputs = pending.wait()
            results: list[tuple[Job, Any]] = list(zip(jobs, split_rows(outputs, jobs)))
        except Exception as e:  # noqa: BLE001 - a failed batch fails its requests, not the server
            results = self._failed(jobs, rows, e)
        finally:
            self._slots.put(slot)
        finished = time.perf_counter()
        self._deliver(results)
        if self._on_batch is not None:
            waits = tuple(started - job.enqueued for job in jobs)
            self._on_batch(BatchStats(rows, len(jobs), waits, finished - started))

    def _failed(self, jobs: list[Job], rows: int, error: Exception) -> list[tuple[Job, Any]]:
        """Log a failed batch (throttled) and fail each of its jobs with ``error``."""
        self._errors.log(
            logging.ERROR, "batch", "model %r: inference failed for a batch of %d requests (%d rows): %s: %s",
            self.name, len(jobs), rows, type(error).__name__, error, exc_info=error,
        )
        return [(job, error) for job in jobs]


def split_rows(outputs: list[np.ndarray], jobs: Sequence[Job]) -> list[list[np.ndarray]]:
    """Cut each batched output back into one slice per job, in job order."""
    per_job: list[list[np.ndarray]] = []
    offset = 0
    for job in jobs:
        end = offset + job.rows
        per_job.append([out[offset:end] for out in outputs])
        offset = end
    return per_job
