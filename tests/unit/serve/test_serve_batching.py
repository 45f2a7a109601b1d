"""The dynamic batcher with a fake runner: batch forming, bounds, overload, draining."""
from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from releasegate.serve.batching import Batcher, BatchStats, Job, Overloaded, split_rows


class _Done:
    def __init__(self, outputs: list[np.ndarray]) -> None:
        self.outputs = outputs

    def wait(self) -> list[np.ndarray]:
        return self.outputs


class FakeRunner:
    """Doubles its input; records batch sizes; may block on a gate or fail."""

    slots = 2

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.gate = threading.Event()
        self.gate.set()
        self.fail_on: int | None = None

    def prepare(self) -> None:
        pass

    def launch(self, slot: int, jobs: Sequence[Job], rows: int) -> _Done:
        self.gate.wait(10)
        self.batches.append(rows)
        x = np.concatenate([j.inputs[0] for j in jobs])
        if self.fail_on is not None and self.fail_on in x:
            raise RuntimeError("boom")
        return _Done([x * 2])


class Collector:
    def __init__(self) -> None:
        self.results: dict[Any, Any] = {}
        self.done = threading.Condition()

    def __call__(self, pairs: list[tuple[Job, Any]]) -> None:
        with self.done:
            for job, result in pairs:
                assert job.token not in self.results, "delivered twice"
                self.results[job.token] = result
            self.done.notify_all()

    def wait_for(self, count: int) -> None:
        with self.done:
            assert self.done.wait_for(lambda: len(self.results) >= count, timeout=10)


def _job(value: int, rows: int = 1) -> Job:
    return Job([np.full((rows, 3), value)], rows, value)


def _batcher(runner: FakeRunner, out: Collector, **kw: Any) -> Batcher:
    opts: dict[str, Any] = {"max_batch": 4, "max_delay_s": 0.0, "max_queue": 100}
    opts.update(kw)
    return Batcher(runner, out, **opts)


def test_queued_jobs_form_full_batches_and_each_gets_its_own_rows() -> None:
    runner, out = FakeRunner(), Collector()
    stats: list[BatchStats] = []
    batcher = _batcher(runner, out, on_batch=stats.append)
    for v in range(10):  # queued before the threads start: batching is deterministic
        batcher.submit(_job(v, rows=2 if v == 3 else 1))
    batcher.start()
    out.wait_for(10)
    assert batcher.close(10)
    assert runner.batches == [3, 4, 4]
    assert sum(s.jobs for s in stats) == 10
    for v in range(10):
        assert out.results[v][0].tolist() == np.full((2 if v == 3 else 1, 3), 2 * v).tolist()


def test_a_job_never_straddles_two_batches() -> None:
    runner, out = FakeRunner(), Collector()
    batcher = _batcher(runner, out)
    for v, rows in enumerate([3, 2, 4, 1]):
        batcher.submit(_job(v, rows))
    batcher.start()
    out.wait_for(4)
    batcher.close(10)
    assert runner.batches == [3, 2, 4, 1]


def test_full_queue_is_overloaded_and_nothing_is_lost() -> None:
    runner, out = FakeRunner(), Collector()
    runner.gate.clear()
    batcher = _batcher(runner, out, max_batch=1, max_queue=3)
    batcher.start()
    accepted, refused = [], []
    for v in range(12):
        try:
            batcher.submit(_job(v))
            accepted.append(v)
        except Overloaded as e:
            assert "queue is full (3 requests)" in str(e)
            refused.append(v)
    assert refused and len(accepted) <= 3 + 1  # the queue plus the batch the launch thread holds
    runner.gate.set()
    out.wait_for(len(accepted))
    batcher.close(10)
    assert sorted(out.results) == accepted


def test_max_delay_waits_for_a_fuller_batch() -> None:
    runner, out = FakeRunner(), Collector()
    batcher = _batcher(runner, out, max_batch=3, max_delay_s=5.0)
    batcher.start()
    for v in range(3):
        batcher.submit(_job(v))
    out.wait_for(3)
    batcher.close(10)
    assert runner.batches == [3]


def test_close_finishes_queued_jobs_and_refuses_new_ones() -> None:
    runner, out = FakeRunner(), Collector()
    runner.gate.clear()
    batcher = _batcher(runner, out, max_batch=1)
    batcher.start()
    for v in range(5):
        batcher.submit(_job(v))
    closer = threading.Thread(target=batcher.close, args=(10,))
    closer.start()
    late = []
    with pytest.raises(Overloaded, match="shutting down"):
        for v in range(100, 200):
            batcher.submit(_job(v))
            late.append(v)  # accepted before close() took effect: must be answered too
            threading.Event().wait(0.01)
    runner.gate.set()
    closer.join(10)
    assert not closer.is_alive()
    assert sorted(out.results) == [*range(5), *late]


def test_a_failing_batch_fails_only_its_jobs() -> None:
    runner, out = FakeRunner(), Collector()
    runner.fail_on = 7
    batcher = _batcher(runner, out, max_batch=1)
    for v in (6, 7, 8):
        batcher.submit(_job(v))
    batcher.start()
    out.wait_for(3)
    batcher.close(10)
    assert isinstance(out.results[7], RuntimeError)
    assert out.results[8][0][0, 0] == 16


def test_prepare_error_is_raised_by_start() -> None:
    runner, out = FakeRunner(), Collector()

    def broken() -> None:
        raise RuntimeError("warm-up failed")

    runner.prepare = broken  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="warm-up failed"):
        _batcher(runner, out).start()


def test_split_rows() -> None:
    jobs = [_job(0, 2), _job(1, 1)]
    parts = split_rows([np.arange(6).reshape(3, 2)], jobs)
    assert [p[0].tolist() for p in parts] == [[[0, 1], [2, 3]], [[4, 5]]]
