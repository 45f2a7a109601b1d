"""The worker <-> model process link: framing, tensor bytes, limits, and /metrics summed over processes."""
from __future__ import annotations

import numpy as np
import pytest

from releasegate.serve.ipc import (
    HEADER,
    INFER,
    RESULT,
    ROWS,
    FrameReader,
    LinkError,
    decode_tensors,
    encode_tensors,
    frame,
    frame_limit,
)
from releasegate.serve.tensors import TensorSpec

SPECS = (TensorSpec("ids", "INT64", (3,)), TensorSpec("mask", "BF16", (2, 2)), TensorSpec("flag", "BOOL", ()))


def _arrays(rows: int) -> list[np.ndarray]:
    return [
        np.arange(rows * 3, dtype=np.int64).reshape(rows, 3),
        np.arange(rows * 4, dtype=np.uint16).reshape(rows, 2, 2),
        np.array([i % 2 == 0 for i in range(rows)]),
    ]


def test_tensors_survive_the_link_byte_for_byte_whatever_the_chunking() -> None:
    arrays = _arrays(5)
    stream = frame(INFER, 7, ROWS.pack(5), encode_tensors(arrays)) + frame(RESULT, 8, b"tail")
    reader = FrameReader(frame_limit(SPECS, 8))
    frames = [f for i in range(len(stream)) for f in reader.feed(stream[i:i + 1])]  # one byte at a time
    assert [(f.kind, f.id) for f in frames] == [(INFER, 7), (RESULT, 8)]
    rows = ROWS.unpack_from(frames[0].body)[0]
    back = decode_tensors(frames[0].body[ROWS.size:], SPECS, rows)
    for sent, got in zip(arrays, back):
        assert got.shape == sent.shape and np.array_equal(got, sent)
    assert bytes(frames[1].body) == b"tail"


def test_a_frame_over_the_limit_breaks_the_link_before_its_body_is_read() -> None:
    limit = frame_limit(SPECS, 4)
    reader = FrameReader(limit)
    assert list(reader.feed(frame(INFER, 1, ROWS.pack(4), encode_tensors(_arrays(4)))))  # --max-batch rows fit
    with pytest.raises(LinkError, match="over the link's"):
        list(reader.feed(HEADER.pack(limit + 1, INFER, 2)))


@pytest.mark.parametrize("cut", [-1, 1])
def test_tensor_bytes_that_do_not_fit_the_rows_are_refused(cut: int) -> None:
    body = encode_tensors(_arrays(3))
    body = body[:cut] if cut < 0 else body + b"\0"
    with pytest.raises(LinkError):
        decode_tensors(memoryview(body), SPECS, 3)


def test_metrics_add_the_workers_http_samples_to_the_model_process() -> None:
    from releasegate.serve.metrics import ServeMetrics, samples_from_json

    model, worker_a, worker_b = (ServeMetrics("m", "2", "canary") for _ in range(3))
    model.count(503)  # a request lost with a worker that died
    worker_a.count(200)
    worker_a.count(200)
    worker_b.count(200)
    worker_b.count(400)
    worker_a.request_seconds.observe(0.003)
    worker_b.request_seconds.observe(0.3)
    samples = [samples_from_json([list(s) for s in w.http_samples()]) for w in (worker_a, worker_b)]
    assert all(name.startswith(("releasegate_serve_requests", "releasegate_serve_request_seconds"))
               for name, _, _ in samples[0])
    text = model.render(0, samples).decode()
    labels = 'model="m",status="{}",track="canary",version="2"'
    assert f"releasegate_serve_requests_total{{{labels.format(200)}}} 3.0" in text
    assert f"releasegate_serve_requests_total{{{labels.format(400)}}} 1.0" in text
    assert f"releasegate_serve_requests_total{{{labels.format(503)}}} 1.0" in text
    assert 'releasegate_serve_request_seconds_count{model="m",track="canary",version="2"} 2.0' in text
    assert 'releasegate_serve_request_seconds_bucket{le="0.005",model="m",track="canary",version="2"} 1.0' in text
    assert text.count("# TYPE releasegate_serve_requests_total counter") == 1
    with pytest.raises(ValueError):
        samples_from_json([["releasegate_serve_batch_size_count", {}, 1.0]])  # a worker counts no batches
