"""Prometheus metrics of the server, in a registry of its own (served at ``/metrics``)."""
from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from releasegate.serve.batching import BatchStats

_LATENCY_BUCKETS = (
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0,
)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class ServeMetrics:
    """Request counts by status, batch sizes, queue time, inference time, request latency."""

    def __init__(self, model: str) -> None:
        disable_created_metrics()  # the *_created series only add noise to a server's scrape
        self.registry = CollectorRegistry(auto_describe=True)
        self._requests = Counter(
            "releasegate_serve_requests",
            "Inference requests answered, by HTTP status (499: the client went away first).",
            ["model", "status"],
            registry=self.registry,
        )
        self._model = model
        self._by_status: dict[int, Callable[[float], None]] = {}
        self.batch_size = Histogram(
            "releasegate_serve_batch_size", "Rows per executed batch.", ["model"],
            buckets=_BATCH_BUCKETS, registry=self.registry,
        ).labels(model)
        self.queue_seconds = Histogram(
            "releasegate_serve_queue_seconds", "Time a request waited in the queue before its batch started.",
            ["model"], buckets=_LATENCY_BUCKETS, registry=self.registry,
        ).labels(model)
        self.inference_seconds = Histogram(
            "releasegate_serve_inference_seconds", "Time from launching a batch to having its outputs on the host.",
            ["model"], buckets=_LATENCY_BUCKETS, registry=self.registry,
        ).labels(model)
        self.request_seconds = Histogram(
            "releasegate_serve_request_seconds", "Time from a complete request body to its response.",
            ["model"], buckets=_LATENCY_BUCKETS, registry=self.registry,
        ).labels(model)
        self.queue_depth = Gauge(
            "releasegate_serve_queue_depth", "Requests waiting for a batch.", ["model"], registry=self.registry
        ).labels(model)

    def count(self, status: int) -> None:
        inc = self._by_status.get(status)
        if inc is None:
            inc = self._requests.labels(self._model, str(status)).inc
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
