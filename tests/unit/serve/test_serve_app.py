"""The HTTP server in-process on a free loopback port: protocol, batching under
concurrency, overload, bad input, disconnects, metrics and graceful shutdown."""
from __future__ import annotations

import json
import logging
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from serve_testkit import SEQ, config_for, http, infer_json, metric, running, wait_until

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def tiny_server(artifacts: dict[str, Path]) -> Any:
    with running(config_for(artifacts["torch-export"], max_batch=8, max_delay_ms=5)) as server:
        yield server


def _hold(pool: ThreadPoolExecutor, gate: Any, port: int, count: int) -> list[Any]:
    """``count`` requests, the first blocked inside the forward pass, the others queued behind it."""
    first = pool.submit(infer_json, port, "x", "FP32", [[9, 0, 0, 0]])
    assert gate.ENTERED.wait(20)
    return [first, *(pool.submit(infer_json, port, "x", "FP32", [[9, i, 0, 0]]) for i in range(1, count))]


def _port(server: Any) -> int:
    return int(server.info.port)


def test_health_metadata_and_server_metadata(tiny_server: Any) -> None:
    port = _port(tiny_server)
    assert http(port, "GET", "/v2/health/live")[0] == 200
    assert http(port, "GET", "/v2/health/ready")[0] == 200
    assert http(port, "GET", "/v2/models/model/ready")[0] == 200
    status, _, body = http(port, "GET", "/v2/models/model")
    assert status == 200
    meta = json.loads(body)
    assert meta["inputs"] == [{"name": "input_ids", "datatype": "INT64", "shape": [-1, SEQ]}]
    assert meta["outputs"] == [{"name": "output", "datatype": "FP32", "shape": [-1, 2]}]
    assert "binary_tensor_data" in json.loads(http(port, "GET", "/v2")[2])["extensions"]
    assert http(port, "GET", "/v2/models/other")[0] == 404
    assert http(port, "GET", "/v2/models/model/infer")[0] == 405


def test_concurrent_requests_each_get_their_own_unbatched_result(tiny_server: Any, tiny_model: Any) -> None:
    port = _port(tiny_server)
    rng = np.random.default_rng(7)
    inputs = [rng.integers(0, 1000, size=(1 + i % 3, SEQ)) for i in range(48)]
    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda x: infer_json(port, "input_ids", "INT64", x.tolist()), inputs))
    with torch.inference_mode():
        for x, (status, _, body) in zip(inputs, answers):
            assert status == 200, body
            out = json.loads(body)["outputs"][0]
            assert out["shape"] == [len(x), 2]
            want = np.concatenate([tiny_model(torch.from_numpy(row[None])).numpy() for row in x])
            np.testing.assert_allclose(np.array(out["data"]).reshape(-1, 2), want, rtol=1e-4, atol=1e-5)


def test_binary_request_and_response(tiny_server: Any, tiny_model: Any) -> None:
    ids = np.arange(2 * SEQ, dtype="<i8").reshape(2, SEQ)
    header = json.dumps({
        "inputs": [{"name": "input_ids", "datatype": "INT64", "shape": [2, SEQ],
                    "parameters": {"binary_data_size": ids.nbytes}}],
        "parameters": {"binary_data_output": True},
    }).encode()
    status, headers, body = http(
        _port(tiny_server), "POST", "/v2/models/model/infer", header + ids.tobytes(),
        {"Inference-Header-Content-Length": str(len(header)), "Content-Type": "application/octet-stream"},
    )
    assert status == 200
    cut = int(headers["inference-header-content-length"])
    out = json.loads(body[:cut])["outputs"][0]
    assert out["parameters"]["binary_data_size"] == 16
    with torch.inference_mode():
        want = tiny_model(torch.from_numpy(ids.astype(np.int64))).numpy()
    np.testing.assert_allclose(np.frombuffer(body[cut:], "<f4").reshape(2, 2), want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{\"inputs\": [", "malformed JSON"),
        (json.dumps({"inputs": [{"name": "input_ids", "datatype": "FP32", "shape": [1, SEQ], "data": [0] * SEQ}]}),
         "input 'input_ids': datatype 'FP32', the model takes INT64"),
        (json.dumps({"inputs": [{"name": "input_ids", "datatype": "INT64", "shape": [1, 3], "data": [0] * 3}]}),
         "input 'input_ids': shape [1, 3]"),
    ],
)
def test_bad_input_is_400_naming_the_problem(tiny_server: Any, body: Any, fragment: str) -> None:
    data = body if isinstance(body, bytes) else body.encode()
    status, _, answer = http(_port(tiny_server), "POST", "/v2/models/model/infer", data)
    assert status == 400
    assert fragment in json.loads(answer)["error"]


def _raw(port: int, request: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(request)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_1gb_request_is_refused_by_content_length_before_reading(tiny_server: Any) -> None:
    port = _port(tiny_server)
    head = b"POST /v2/models/model/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n"
    with _raw(port, head + b"{") as sock:
        answer = _read_all(sock)  # the server answers and closes without waiting for the gigabyte
    assert answer.startswith(b"HTTP/1.1 413")
    assert b"--max-request-bytes" in answer
    assert infer_json(port, "input_ids", "INT64", [[1] * SEQ])[0] == 200


def test_client_that_disconnects_mid_body_does_not_hurt_others(tiny_server: Any) -> None:
    port = _port(tiny_server)
    before = metric(port, 'releasegate_serve_requests_total{model="model",status="499",track="stable",version="1"}')
    head = b"POST /v2/models/model/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"
    _raw(port, head + b'{"inputs": [').close()
    wait_until(lambda: metric(port, 'releasegate_serve_requests_total{model="model",status="499",track="stable",version="1"}') > before)
    assert infer_json(port, "input_ids", "INT64", [[1] * SEQ])[0] == 200


def test_client_that_disconnects_during_inference_does_not_hurt_others(slow_weights: Path, gate: Any) -> None:
    with running(config_for(slow_weights, factory="slow-linear")) as server:
        port = _port(server)
        body = json.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 4], "data": [9, 0, 0, 0]}]})
        head = f"POST /v2/models/model/infer HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n"
        sock = _raw(port, head.encode() + body.encode())
        assert gate.ENTERED.wait(20)
        sock.close()
        gate.GATE.set()
        assert infer_json(port, "x", "FP32", [[1, 2, 3, 4]])[0] == 200


def test_metrics_expose_requests_batches_queue_and_inference_time(tiny_server: Any) -> None:
    port = _port(tiny_server)
    assert infer_json(port, "input_ids", "INT64", [[3] * SEQ])[0] == 200
    status, headers, body = http(port, "GET", "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    text = body.decode()
    for family in ("releasegate_serve_requests_total", "releasegate_serve_batch_size_bucket",
                   "releasegate_serve_queue_seconds_bucket", "releasegate_serve_inference_seconds_bucket",
                   "releasegate_serve_request_seconds_bucket"):
        assert family in text
    assert metric(port, 'releasegate_serve_requests_total{model="model",status="200",track="stable",version="1"}') >= 1


def test_overload_is_503_with_retry_after_and_no_request_is_lost(slow_weights: Path, gate: Any,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="releasegate.serve")
    config = config_for(slow_weights, factory="slow-linear", max_batch=1, max_queue=2)
    with running(config) as server, ThreadPoolExecutor(8) as pool:
        port = _port(server)
        held = _hold(pool, gate, port, 3)
        wait_until(lambda: server.app.batcher.queued == 2)  # one in the forward pass, two queued
        refused = [infer_json(port, "x", "FP32", [[1, 1, 1, 1]]) for _ in range(2)]
        gate.GATE.set()
        answers = [f.result(30) for f in held]
        for status, headers, body in refused:
            assert status == 503 and headers["retry-after"] == "1"
            assert "queue is full" in json.loads(body)["error"]
        lin = server.app.batcher._runner.model.module.lin
        with torch.inference_mode():
            for i, (status, _, body) in enumerate(answers):
                assert status == 200
                want = lin(torch.tensor([[9.0, i, 0, 0]])).numpy()[0]
                np.testing.assert_allclose(json.loads(body)["outputs"][0]["data"], want, rtol=1e-5)
        assert metric(port, 'releasegate_serve_requests_total{model="model",status="200",track="stable",version="1"}') == 3
        assert metric(port, 'releasegate_serve_requests_total{model="model",status="503",track="stable",version="1"}') == 2
    overloads = [r.getMessage() for r in caplog.records if "answered 503" in r.getMessage()]
    assert overloads == ["model 'model': the request queue is full (2 requests); answered 503"]  # the second is held back


def test_shutdown_finishes_in_flight_requests(slow_weights: Path, gate: Any) -> None:
    config = config_for(slow_weights, factory="slow-linear", max_batch=1)
    with ThreadPoolExecutor(4) as pool:
        with running(config) as server:
            port = _port(server)
            held = _hold(pool, gate, port, 3)
            wait_until(lambda: server.app.batcher.queued == 2)
            server.stop()
            wait_until(lambda: _refused(port))  # no new connections once draining
            threading.Timer(0.2, gate.GATE.set).start()
        assert [f.result(30)[0] for f in held] == [200, 200, 200]


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


def test_metrics_carry_the_version_and_track(slow_weights: Path, factory_dist: Path) -> None:
    """What the rendered monitoring rules tell the two sides of a canary apart by (docs/monitoring.md)."""
    config = config_for(slow_weights, factory="slow-linear", model_name="sentiment", model_version="1.4.0",
                         track="canary")
    with running(config) as server:
        port = _port(server)
        assert infer_json(port, "x", "FP32", [[1, 2, 3, 4]], model="sentiment")[0] == 200
        labels = 'track="canary",version="1.4.0"'  # prometheus_client writes the labels sorted
        assert metric(port, f'releasegate_serve_requests_total{{model="sentiment",status="200",{labels}}}') == 1
        assert metric(port, f'releasegate_serve_request_seconds_count{{model="sentiment",{labels}}}') == 1
        assert metric(port, f'releasegate_serve_request_seconds_bucket{{le="10.0",model="sentiment",{labels}}}') == 1
        _, _, body = http(port, "GET", "/v2/models/sentiment")
        assert json.loads(body)["versions"] == ["1.4.0"]


def test_bucket_bounds_are_written_as_the_rules_select_them() -> None:
    from prometheus_client.utils import floatToGoString

    from releasegate.serve.metric_names import LATENCY_BUCKETS, le

    assert [le(b) for b in LATENCY_BUCKETS] == [floatToGoString(b) for b in LATENCY_BUCKETS]
