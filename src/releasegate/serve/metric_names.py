"""Names, labels and latency buckets of the server's Prometheus metrics.

Shared by the server (:mod:`releasegate.serve.metrics`), the rendered recording and alerting rules
(:mod:`releasegate.render.monitoring`) and the canary analysis of ``rollout advance``
(:mod:`releasegate.rollout.analysis`). Nothing here imports prometheus_client or torch.
"""
from __future__ import annotations

REQUESTS = "releasegate_serve_requests_total"  # counter {model, version, track, status}
REQUEST_SECONDS = "releasegate_serve_request_seconds"  # histogram {model, version, track}
# Every series of the server carries these (docs/serve.md, "Metrics"); Prometheus adds `environment`
# from the pod's releasegate.dev/environment label (the rendered PodMonitor relabels it).
LABELS = ("model", "version", "track")
TRACKS = ("stable", "canary")
ERROR_STATUS = "5.."  # what counts as an error: the server failed or refused (overload, inference)

LATENCY_BUCKETS = (
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0,
)


def le(bound: float) -> str:
    """The ``le`` label value of a bucket bound, exactly as prometheus_client writes it (``0.05``, ``1.0``)."""
    return repr(float(bound))
