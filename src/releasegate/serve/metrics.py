"""Prometheus metrics of the server, in a registry of its own (served at ``/metrics``)."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import Metric

from releasegate.serve.batching import BatchStats
from releasegate.serve.metric_names import LABELS, LATENCY_BUCKETS, REQUEST_SECONDS, REQUESTS

_LATENCY_BUCKETS = LATENCY_BUCKETS
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
CONTENT_TYPE = CONTENT_TYPE_LATEST
# What an HTTP worker process counts (the model process counts batches): sent to the model process
# as samples, which /metrics adds up over the workers (docs/serve.md, "Worker processes").
HTTP_FAMILIES = (REQUESTS.removesuffix("_total"), REQUEST_SECONDS)
Samples = list[tuple[str, dict[str, str], float]]


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

    def render(self, queued: int, others: Iterable[Samples] = ()) -> bytes:
        """The exposition; ``others`` are the HTTP samples of worker processes, added to this process's own."""
        self.queue_depth.set(queued)
        others = list(others)
        if not others:
            return generate_latest(self.registry)
        merged = CollectorRegistry(auto_describe=False)
        merged.register(_Summed(self.registry, others))
        return generate_latest(merged)

    def http_samples(self) -> Samples:
        """This process's request counts and latencies, for the model process to add up."""
        return [(s.name, s.labels, s.value) for m in self.registry.collect() if m.name in HTTP_FAMILIES for s in m.samples]


class _Summed:
    """A registry's families, with the HTTP families' samples summed over it and ``others``."""

    def __init__(self, registry: CollectorRegistry, others: list[Samples]) -> None:
        self._registry = registry
        self._others = others

    def collect(self) -> Iterator[Metric]:
        for family in self._registry.collect():
            if family.name in HTTP_FAMILIES:
                family = self._summed(family)
            yield family

    def _summed(self, family: Metric) -> Metric:
        totals: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        for name, labels, value in [(s.name, s.labels, s.value) for s in family.samples] + [
            sample for samples in self._others for sample in samples if _family_of(sample[0]) == family.name
        ]:
            key = (name, tuple(sorted(labels.items())))
            totals[key] = totals.get(key, 0.0) + value
        out = Metric(family.name, family.documentation, family.type)
        for (sample, pairs), value in totals.items():
            out.add_sample(sample, dict(pairs), value)
        return out


def _family_of(sample: str) -> str:
    for suffix in ("_total", "_bucket", "_count", "_sum"):
        if sample.endswith(suffix):
            return sample.removesuffix(suffix)
    return sample


def samples_from_json(doc: Any) -> Samples:
    """Samples sent by a worker (JSON lists); ValueError when they are not name, labels, value triples."""
    if not isinstance(doc, list):
        raise ValueError("metric samples must be a list")
    out: Samples = []
    for item in doc:
        name, labels, value = item
        if not isinstance(name, str) or _family_of(name) not in HTTP_FAMILIES or not isinstance(labels, dict):
            raise ValueError(f"not an HTTP metric sample: {item!r}")
        out.append((name, {str(k): str(v) for k, v in labels.items()}, float(value)))
    return out
