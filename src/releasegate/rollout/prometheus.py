"""Instant queries against the Prometheus HTTP API (``GET /api/v1/query``), read defensively.

Every way a query can go wrong (Prometheus down or slow, an HTTP error, an answer that is not JSON or
not a vector, a ``warnings`` list that marks partial data, a value that is not a number) is a
:class:`QueryError` whose message names the query and what happened: the analysis turns it into
"hold", never into "pass".
"""
from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from releasegate.errors import InputError, ReleasegateError

MAX_ANSWER = 16 * 1024 * 1024


class QueryError(ReleasegateError):
    """Prometheus could not answer a query completely."""


@dataclass(frozen=True)
class Sample:
    labels: tuple[tuple[str, str], ...]
    value: float

    def label(self, name: str) -> str:
        return next((v for k, v in self.labels if k == name), "")


def check_url(url: str) -> str:
    """``url`` without a trailing slash; InputError unless it is http(s)://host[:port][/path]."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise InputError(f"--prometheus-url {url!r} is not an http(s) URL of a Prometheus server",
                         "give the base URL, e.g. http://prometheus.monitoring:9090")
    return url.rstrip("/")


@dataclass(frozen=True)
class Prometheus:
    url: str
    timeout_s: float = 10.0

    def query(self, promql: str, at: datetime) -> list[Sample]:
        """The instant vector of ``promql`` at ``at``."""
        params = urllib.parse.urlencode({"query": promql, "time": f"{at.timestamp():.3f}"})
        request = urllib.request.Request(f"{self.url}/api/v1/query?{params}", headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as resp:  # noqa: S310 - the operator's URL
                data = resp.read(MAX_ANSWER + 1)
        except urllib.error.HTTPError as e:
            raise QueryError(f"Prometheus answered {e.code} to {promql!r}: {_error_of(e.read(65536))}") from e
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise QueryError(f"cannot reach Prometheus at {self.url}: {reason}") from e
        if len(data) > MAX_ANSWER:
            raise QueryError(f"Prometheus's answer to {promql!r} is over {MAX_ANSWER} bytes")
        return _vector(data, promql)


def _error_of(body: bytes) -> str:
    try:
        doc = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")[:200] or "(no body)"
    return str(doc.get("error", doc))[:300] if isinstance(doc, dict) else str(doc)[:300]


def _vector(data: bytes, promql: str) -> list[Sample]:
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as e:
        raise QueryError(f"Prometheus's answer to {promql!r} is not JSON") from e
    if not isinstance(doc, dict) or doc.get("status") != "success":
        error = doc.get("error") if isinstance(doc, dict) else None
        raise QueryError(f"Prometheus did not answer {promql!r}: {str(error or doc)[:300]}")
    if doc.get("warnings"):
        raise QueryError(f"Prometheus's answer to {promql!r} is partial: {str(doc['warnings'])[:300]}")
    result = doc.get("data")
    if not isinstance(result, dict) or result.get("resultType") != "vector" or not isinstance(result.get("result"), list):
        raise QueryError(f"Prometheus's answer to {promql!r} is not an instant vector")
    return [_sample(item, promql) for item in result["result"]]


def _sample(item: Any, promql: str) -> Sample:
    try:
        metric, (_, text) = item["metric"], item["value"]
        value = float(text)
        labels = tuple(sorted((str(k), str(v)) for k, v in metric.items()))
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise QueryError(f"Prometheus's answer to {promql!r} has a malformed sample: {str(item)[:200]}") from e
    if math.isnan(value) or math.isinf(value) or value < 0:
        raise QueryError(f"Prometheus's answer to {promql!r} has the value {text!r}, not a count")
    return Sample(labels, value)
