"""The canary analysis: its statistics, its rule, and every way Prometheus can fail to answer."""
from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from releasegate.errors import InputError
from releasegate.render.config import CanaryComparison
from releasegate.rollout.analysis import Side, Subject, agresti_caffo, analyse, judge
from releasegate.rollout.pr_markdown import section
from releasegate.rollout.prometheus import Prometheus, check_url
from releasegate.serve.metric_names import LATENCY_BUCKETS
from tests.support.fake_prometheus import FakePrometheus, side
from tests.support.prometheus import run_tool

NOW = datetime(2026, 1, 10, 2, 0, tzinfo=timezone.utc)
SUBJECT = Subject("sentiment", "prod", "1.1.0", "1.0.0", NOW - timedelta(hours=1), NOW, 0.01)
SETTINGS = CanaryComparison()  # minRequests 100, x1.2 and +5 ms, margin from the subject (0.01)


def _side(track: str, requests: int, errors: int, latency_s: float) -> Side:
    counts = [(b, float(requests - errors if latency_s <= b else 0)) for b in LATENCY_BUCKETS]
    return Side(track, "1.1.0" if track == "canary" else "1.0.0", requests, errors,
                (*counts, (math.inf, float(requests - errors))))


@pytest.fixture
def fake() -> Iterator[FakePrometheus]:
    server = FakePrometheus()
    yield server
    server.stop()


def test_agresti_caffo_is_an_interval_even_without_errors() -> None:
    low, high = agresti_caffo(0, 1000, 0, 9000)
    assert low < 0 < high and high < 0.004
    low, high = agresti_caffo(50, 1000, 10, 9000)  # 5 % against 0.1 %
    assert 0.03 < low < high < 0.07


@pytest.mark.parametrize(("canary", "stable", "outcome", "fragment"), [
    ((99, 0, 0.007), (5000, 0, 0.007), "hold", "too little data in 3600 s: canary 1.1.0: 99 requests"),
    ((2000, 0, 0.007), (18000, 0, 0.007), "pass", "errors: canary 0.00 % vs stable 0.00 %"),
    ((2000, 100, 0.007), (18000, 18, 0.007), "fail", "difference +4.90 pp (95 % interval +3.98 pp … +5.90 pp), "
                                                     "margin +1.00 pp: worse beyond the margin"),
    ((300, 6, 0.007), (18000, 0, 0.007), "hold", ": not yet resolved, more requests will tell"),
    ((2000, 0, 0.15), (18000, 0, 0.007), "fail", "latency: canary p95 195.0 ms vs stable 9.8 ms (x20.00; slower means above x1.2 and +5 ms): slower"),
    ((2000, 0, 0.0015), (18000, 0, 0.0007), "pass", "latency: canary p95 1.9 ms vs stable 1.0 ms (x2.00; slower "
                                                    "means above x1.2 and +5 ms): no slower"),
])
def test_the_rule(canary: tuple[int, int, float], stable: tuple[int, int, float], outcome: str, fragment: str) -> None:
    analysis = judge(SUBJECT, _side("canary", *canary), _side("stable", *stable), SETTINGS)
    assert analysis.verdict.outcome == outcome
    assert fragment in " ".join(analysis.findings) + analysis.verdict.summary


def test_the_quantile_is_prometheus_own(tmp_path: Path) -> None:
    """Side.quantile interpolates like histogram_quantile: checked with promtool on the same buckets."""
    counts = {0.001: 10, 0.002: 40, 0.005: 80, 0.01: 95, 0.02: 99, 0.05: 100}
    buckets = tuple((b, float(max([c for bound, c in counts.items() if bound <= b], default=0)))
                    for b in LATENCY_BUCKETS) + ((math.inf, 100.0),)
    mine = Side("canary", "1", 100, 0, buckets)
    series = [{"series": f'h_bucket{{le="{"+Inf" if math.isinf(b) else repr(b)}"}}', "values": f"{c:g}"}
              for b, c in buckets]
    tests = {"tests": [{"input_series": series, "promql_expr_test": [
        {"expr": f"histogram_quantile({q}, h_bucket)", "eval_time": "0s",
         "exp_samples": [{"labels": "{}", "value": mine.quantile(q)}]} for q in (0.5, 0.9, 0.95, 0.99)]}]}
    (tmp_path / "t.yaml").write_text(yaml.safe_dump(tests))
    proc = run_tool("promtool", "test", "rules", "t.yaml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_analysis_against_prometheus(fake: FakePrometheus) -> None:
    fake.sides = [side("canary", "1.1.0", 2000, 0, 0.15), side("stable", "1.0.0", 18000, 0, 0.007),
                  side("canary", "1.0.5", 9999, 9999, 1.0)]  # an old canary's series: not compared
    analysis = analyse(Prometheus(fake.url), SUBJECT, SETTINGS)
    assert analysis.verdict.outcome == "fail" and analysis.verdict.source == "prometheus"
    assert analysis.canary is not None and analysis.canary.requests == 2000
    assert fake.queries == list(analysis.queries) and all("[3600s]" in q for q in fake.queries)
    assert "model='sentiment',environment='prod'" in fake.queries[0]


@pytest.mark.parametrize(("answer", "fragment"), [
    ((500, b'{"status":"error","errorType":"internal","error":"query timed out"}'),
     "Prometheus answered 500 to \"sum by (track, version) (increase(releasegate_serve_requests_total"),
    ((200, b"<html>proxy</html>"), "is not JSON"),
    ((200, json.dumps({"status": "success", "warnings": ["store unavailable"], "data": {
        "resultType": "vector", "result": []}}).encode()), "is partial: ['store unavailable']"),
    ((200, json.dumps({"status": "success", "data": {"resultType": "matrix", "result": []}}).encode()),
     "is not an instant vector"),
    ((200, json.dumps({"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {}, "value": [1, "NaN"]}]}}).encode()), "has the value 'NaN', not a count"),
    ((200, json.dumps({"status": "success", "data": {"resultType": "vector", "result": [{"value": 3}]}}).encode()),
     "has a malformed sample"),
    ((200, b"[" * 100_000), "is not JSON"),
])
def test_every_failed_answer_is_hold(fake: FakePrometheus, answer: tuple[int, bytes], fragment: str) -> None:
    fake.answer = lambda query: answer
    verdict = analyse(Prometheus(fake.url), SUBJECT, SETTINGS).verdict
    assert verdict.outcome == "hold" and fragment in verdict.summary, verdict.summary


def test_no_data_partial_data_and_no_prometheus_are_hold(fake: FakePrometheus) -> None:
    assert analyse(Prometheus(fake.url), SUBJECT, SETTINGS).verdict.outcome == "hold"  # no series at all
    fake.sides = [side("stable", "1.0.0", 18000, 0, 0.007)]  # the canary's pods are not scraped
    verdict = analyse(Prometheus(fake.url), SUBJECT, SETTINGS).verdict
    assert verdict.outcome == "hold" and "canary 1.1.0: 0 requests" in verdict.summary
    fake.stop()
    verdict = analyse(Prometheus(fake.url, timeout_s=2), SUBJECT, SETTINGS).verdict
    assert verdict.outcome == "hold" and "cannot reach Prometheus at http://127.0.0.1:" in verdict.summary
    fake.server = FakePrometheus().server  # for the fixture's stop()


@pytest.mark.parametrize("url", ["prometheus:9090", "ftp://p:9090", "http://", "http://p:9090/?x=1", "file:///etc"])
def test_a_prometheus_url_must_be_one(url: str) -> None:
    with pytest.raises(InputError, match="is not an http\\(s\\) URL of a Prometheus server"):
        check_url(url)


def test_the_pull_request_section_is_escaped(fake: FakePrometheus) -> None:
    import cmarkgfm

    fake.sides = [side("canary", "1.1.0", 2000, 0, 0.007), side("stable", "1.0.0", 18000, 0, 0.007)]
    analysis = analyse(Prometheus(fake.url + "/x_[y](http://evil.example)"), SUBJECT, SETTINGS)
    text = section(analysis)
    assert text.startswith("### Canary analysis: hold") or text.startswith("### Canary analysis: pass")
    assert "| canary | <code>1.1.0</code> | 2000 | 0 | 0.00 % | 9.8 ms | 2000 |" in section(analyse(Prometheus(fake.url), SUBJECT,
                                                                                   SETTINGS))
    html = cmarkgfm.github_flavored_markdown_to_html(text)
    assert "<a " not in html
