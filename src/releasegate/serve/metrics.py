"""Prometheus metrics of the server, in a registry of its own (served at ``/metrics``)."""
from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from releasegate.serve.batching import BatchStats
from releasegate.serve.metric_names import LABELS, LATENCY_BUCKETS, REQUEST_SECONDS, REQUESTS

_LATENCY_BUCKETS = LATENCY_BUCKETS
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class ServeMetrics:
    """Request counts by status, batch sizes, queue time, inference time, request latency.

    Every series carries ``model``, ``version`` and ``track`` (``stable`` or ``canary``), so that
    Prometheus can tell the two sides of a canary apart (docs/monitoring.md).
    """

    def __init__(self, model: str, version: str = "1", track: str = "stable") -> None:
        disable_created_metrics()  # the *_created series only add noise to a server's scrape
        self.registry = CollectorRegistry(auto_describe=True)
        self._requests = Counter(
            REQUESTS.removesuffix("_total"),
            "Inference requests answered, by HTTP status (499: the client went away first).",
            [*LABELS, "status"],
            registry=self.registry,
        )
        self._ids = (model, version, track)
        labels = list(LABELS)
        self._by_status: dict[int, Callable[[float], None]] = {}
        self.batch_size = Histogram(
            "releasegate_serve_batch_size", "Rows per executed batch.", labels,
            buckets=_BATCH_BUCKETS, registry=self.registry,
        ).labels(*self._ids)
        self.queue_seconds = Histogram(
            "releasegate_serve_queue_seconds", "Time a request waited in the queue before its batch started.",
            labels, buckets=_LATENCY_BUCKETS, registry=self.registry,
        ).labels(*self._ids)
        self.inference_seconds = Histogram(
            "releasegate_serve_inference_seconds", "Time from launching a batch to having its outputs on the host.",
            labels, buckets=_LATENCY_BUCKETS, registry=self.registry,
        ).labels(*self._ids)
        self.request_seconds = Histogram(
            REQUEST_SECONDS, "Time from a complete request body to its response.",
            labels, buckets=_LATENCY_BUCKETS, registry=self.registry,
        ).labels(*self._ids)
        self.queue_depth = Gauge(
            "releasegate_serve_queue_depth", "Requests waiting for a batch.", labels, registry=self.registry
        ).labels(*self._ids)

    def count(self, status: int) -> None:
        inc = self._by_status.get(status)
        if inc is None:
            inc = self._requests.labels(*self._ids, str(status)).inc
            self._by_status[status] = inc
        inc(1)

    def observe_batch(self, stats: BatchStats) -> None:
        self.batch_size.observe(stats.rows)
        self.inference_seconds.observe(stats.inference_seconds)
        for wait in stats.queue_seconds:
            self.queue_seconds.observe(wait)

    def render(self, queued: int) -> bytes:
        self.queue_depth.set(queued)
        return generate_latest(self.registry)
