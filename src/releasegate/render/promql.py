"""The PromQL of the rendered monitoring rules (docs/monitoring.md).

Every expression selects one model in one environment (``{model="…", environment="…"}``) and
aggregates by model, environment, version and track, so that each alert names the version and the
side of a canary it is about. The server labels its metrics with model, version and track
(:mod:`releasegate.serve.metric_names`); the rendered PodMonitor adds ``environment``.

Windows and burn-rate factors are those of the Google SRE workbook ("Alerting on SLOs",
multiwindow, multi-burn-rate alerts): 14.4 over 1 h and 5 min (2 % of a 30-day budget in an hour)
and 6 over 6 h and 30 min (5 % in six hours).
"""
from __future__ import annotations

from dataclasses import dataclass

from releasegate.serve.metric_names import ERROR_STATUS, LATENCY_BUCKETS, REQUEST_SECONDS, REQUESTS, le

BY = "model, environment, version, track"
SIDE = "model, environment"  # what a canary and its stable side have in common
WINDOWS = ("5m", "30m", "1h", "6h")
REQUESTS_RATE = "releasegate:serve_requests:rate5m"
ERROR_RATIO = "releasegate:serve_errors:ratio_rate"  # + window
SLOW_RATIO = "releasegate:serve_slow_requests:ratio_rate"  # + window: slower than the SLO's p95 bound
QUANTILE = "releasegate:serve_request_seconds:p{q}_rate5m"
QUANTILES = (50, 95, 99)
WINDOW_SECONDS = 300  # of the 5-minute rates the canary comparison counts requests with
LATENCY_BUDGET = 0.05  # a p95 objective lets 5 % of the requests be slower


@dataclass(frozen=True)
class Burn:
    """One multiwindow burn-rate alert: both windows must burn faster than ``factor`` × budget."""

    name: str  # FastBurn / SlowBurn
    long: str
    short: str
    factor: float
    severity: str
    for_: str
    days: float  # how long a 30-day budget lasts at this burn rate


BURNS = (Burn("FastBurn", "1h", "5m", 14.4, "page", "2m", 30 / 14.4),
         Burn("SlowBurn", "6h", "30m", 6.0, "ticket", "15m", 30 / 6.0))


def num(value: float) -> str:
    """A number as PromQL reads it, the same bytes on every machine (six significant digits)."""
    return format(value, ".6g")


def string(value: str) -> str:
    """``value`` as a single-quoted PromQL string (single quotes keep the rendered YAML free of escapes)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


def selector(model: str, env: str, **more: str) -> str:
    """``{model='sentiment',environment='prod',…}`` (``status`` is matched as a regular expression)."""
    pairs = [("model", model), ("environment", env), *more.items()]
    return "{" + ",".join(f"{k}{'=~' if k == 'status' else '='}{string(v)}" for k, v in pairs) + "}"


def _rate(metric: str, sel: str, window: str, by: str = BY) -> str:
    return f"sum by ({by}) (rate({metric}{sel}[{window}]))"


def requests_rate(model: str, env: str) -> str:
    return _rate(REQUESTS, selector(model, env), "5m")


def error_ratio(model: str, env: str, window: str) -> str:
    """Answers with a 5xx status over all answers; 0, not nothing, while there are no errors."""
    total = _rate(REQUESTS, selector(model, env), window)
    errors = _rate(REQUESTS, selector(model, env, status=ERROR_STATUS), window)
    return f"({errors} or {total} * 0) / {total}"


def slow_ratio(model: str, env: str, window: str, bound_s: float) -> str:
    """The share of answered requests slower than ``bound_s``, from the latency histogram.

    Between two bucket bounds the count is interpolated linearly, as ``histogram_quantile`` does;
    beyond the largest finite bound (10 s) everything above it counts as slower."""
    bucket, sel = f"{REQUEST_SECONDS}_bucket", selector(model, env)
    total = _rate(f"{REQUEST_SECONDS}_count", sel, window)
    lower = max((b for b in LATENCY_BUCKETS if b <= bound_s), default=0.0)
    upper = min((b for b in LATENCY_BUCKETS if b >= bound_s), default=lower)
    hi = _rate(bucket, selector(model, env, le=le(upper)), window)
    if upper == bound_s or upper == lower:
        return f"1 - {hi} / {total}"
    share = (bound_s - lower) / (upper - lower)
    if lower == 0.0:
        return f"1 - {hi} * {num(share)} / {total}"
    lo = _rate(bucket, selector(model, env, le=le(lower)), window)
    return f"1 - ({lo} * {num(1 - share)} + {hi} * {num(share)}) / {total}"


def quantile(model: str, env: str, q: int) -> str:
    bucket = _rate(f"{REQUEST_SECONDS}_bucket", selector(model, env), "5m", f"{BY}, le")
    return f"histogram_quantile({num(q / 100)}, {bucket})"


def burn(record: str, model: str, env: str, b: Burn, budget: float) -> str:
    """Both windows of ``b`` burn the budget faster than its factor."""
    sel, limit = selector(model, env), f"({num(b.factor)} * {num(budget)})"
    return f"{record}{b.long}{sel} > {limit} and {record}{b.short}{sel} > {limit}"


def _sides(record: str, model: str, env: str) -> tuple[str, str]:
    """The canary's series, and the stable side's (one per model and environment)."""
    return (f"{record}{selector(model, env, track='canary')}",
            f"max by ({SIDE}) ({record}{selector(model, env, track='stable')})")


def _enough(model: str, env: str, min_requests: int) -> str:
    """Both sides answered at least ``min_requests`` requests in the last 5 minutes."""
    canary, stable = _sides(REQUESTS_RATE, model, env)
    n, w = str(min_requests), str(WINDOW_SECONDS)
    return f"and on ({BY}) {canary} * {w} >= {n} and on ({SIDE}) {stable} * {w} >= {n}"


def canary_errors(model: str, env: str, margin: float, min_requests: int) -> str:
    """The canary's error ratio exceeds the stable side's by more than ``margin``."""
    canary, stable = _sides(f"{ERROR_RATIO}5m", model, env)
    return (f"{canary} > on ({SIDE}) group_left () ({stable} + {num(margin)}) "
            f"{_enough(model, env, min_requests)}")


def canary_latency(model: str, env: str, ratio: float, increase_s: float, min_requests: int) -> str:
    """The canary's p95 exceeds the stable side's by the factor ``ratio`` and by ``increase_s``."""
    canary, stable = _sides(QUANTILE.format(q=95), model, env)
    return (f"{canary} > on ({SIDE}) group_left () ({stable} * {num(ratio)}) "
            f"and on ({BY}) ({canary} - on ({SIDE}) group_left () {stable}) > {num(increase_s)} "
            f"{_enough(model, env, min_requests)}")
