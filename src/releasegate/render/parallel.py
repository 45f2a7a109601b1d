"""Spread a large render over the machine's cores (fork-based, Linux only).

Rendering 3,000 release files is CPU-bound (YAML in, YAML out) and every file is
independent, so a full render splits them over worker processes; results come
back in input order, so the output is the same bytes as a serial render. Small
renders, platforms without ``fork`` and single-core machines stay serial.
"""
from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

PARALLEL_MIN = 300  # below this many items, starting workers costs more than it saves
MAX_WORKERS = 8


WORKERS_ENV = "RELEASEGATE_RENDER_WORKERS"


def worker_count() -> int:
    """Worker processes: ``$RELEASEGATE_RENDER_WORKERS`` (1 = serial), else one per core (at most 8)."""
    setting = os.environ.get(WORKERS_ENV, "").strip()
    if setting.isdigit() and int(setting) > 0:
        return min(int(setting), MAX_WORKERS)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))


def map_ordered(func: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[func(x) for x in items]``, on several processes when it pays off."""
    workers = worker_count()
    if len(items) < PARALLEL_MIN or workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [func(item) for item in items]
    chunk = max(1, len(items) // (workers * 4))
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        return list(pool.map(func, items, chunksize=chunk))
