"""Open Inference Protocol v2 parsing/encoding, JSON and binary (no torch)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from releasegate.errors import RequestError
from releasegate.serve.protocol import InferRequest, Signature, encode_response, parse_infer
from releasegate.serve.tensors import TensorSpec

SIG = Signature(
    name="m",
    version="1",
    platform="pytorch_test",
    inputs=(TensorSpec("ids", "INT64", (4,)), TensorSpec("mask", "FP32", (4,))),
    outputs=(TensorSpec("logits", "FP32", (2,)), TensorSpec("label", "INT64", ())),
    max_batch=8,
)


def _json(**overrides: object) -> bytes:
    doc = {
        "id": "r1",
        "inputs": [
            {"name": "ids", "datatype": "INT64", "shape": [2, 4], "data": [1, 2, 3, 4, 5, 6, 7, 8]},
            {"name": "mask", "datatype": "FP32", "shape": [2, 4], "data": [[1, 1, 0, 0], [1, 1, 1, 1]]},
        ],
    }
    doc.update(overrides)
    return json.dumps(doc).encode()


def test_metadata_uses_minus_one_for_the_batch() -> None:
    meta = SIG.metadata()
    assert meta["inputs"][0] == {"name": "ids", "datatype": "INT64", "shape": [-1, 4]}
    assert meta["outputs"][1] == {"name": "label", "datatype": "INT64", "shape": [-1]}


def test_parse_flat_and_nested_json() -> None:
    req = parse_infer(_json(), None, SIG)
    assert req.id == "r1" and req.rows == 2
    assert req.arrays[0].dtype == np.int64 and req.arrays[0].tolist() == [[1, 2, 3, 4], [5, 6, 7, 8]]
    assert req.arrays[1].dtype == np.float32 and req.arrays[1].shape == (2, 4)
    assert req.outputs == ((0, False), (1, False))


def test_parse_binary_extension() -> None:
    ids = np.arange(8, dtype="<i8")
    mask = np.ones(8, dtype="<f4")
    header = json.dumps({
        "inputs": [
            {"name": "mask", "datatype": "FP32", "shape": [2, 4], "parameters": {"binary_data_size": 32}},
            {"name": "ids", "datatype": "INT64", "shape": [2, 4], "parameters": {"binary_data_size": 64}},
        ],
        "outputs": [{"name": "label", "parameters": {"binary_data": True}}],
    }).encode()
    req = parse_infer(header + mask.tobytes() + ids.tobytes(), len(header), SIG)
    assert req.arrays[0].tolist() == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert req.arrays[1].sum() == 8
    assert req.outputs == ((1, True),)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "malformed JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (_json(inputs=[]), '"inputs" must be a non-empty list'),
        (_json(inputs=[{"name": "ids", "datatype": "INT32", "shape": [1, 4], "data": [1, 2, 3, 4]}]),
         "input 'ids': datatype 'INT32', the model takes INT64"),
        (_json(inputs=[{"name": "ids", "datatype": "INT64", "shape": [1, 5], "data": [1] * 5}]),
         "input 'ids': shape [1, 5], the model takes [-1, 4]"),
        (_json(inputs=[{"name": "ids", "datatype": "INT64", "shape": [1, 4], "data": [1, 2]}]),
         "input 'ids': 2 values for shape [1, 4]"),
        (_json(inputs=[{"name": "ids", "datatype": "INT64", "shape": [1, 4], "data": ["a", "b", "c", "d"]}]),
         "input 'ids': data are not all INT64"),
        (_json(inputs=[{"name": "ids", "datatype": "INT64", "shape": [1, 4], "data": [1, 2, 3, 4]}]),
         "input 'mask': missing"),
        (_json(inputs=[{"name": "nope", "datatype": "INT64", "shape": [1, 4], "data": [1, 2, 3, 4]}]),
         "input 'nope': the model has no such input"),
        (_json(inputs=[{"name": "ids", "datatype": "INT64", "shape": [9, 4], "data": [1] * 36},
                       {"name": "mask", "datatype": "FP32", "shape": [9, 4], "data": [1] * 36}]),
         "batch size 9 is over this server's --max-batch 8"),
        (_json(inputs=[{"name": "ids", "datatype": "INT64", "shape": [1, 4], "data": [1] * 4},
                       {"name": "mask", "datatype": "FP32", "shape": [2, 4], "data": [1] * 8}]),
         "input 'mask': batch size 2, other inputs have 1"),
        (_json(outputs=[{"name": "probs"}]), "output 'probs': the model has no such output"),
    ],
)
def test_bad_requests_name_the_problem(body: bytes, fragment: str) -> None:
    with pytest.raises(RequestError) as err:
        parse_infer(body, None, SIG)
    assert fragment in str(err.value)
    assert err.value.status == 400


def test_binary_size_mismatch_names_the_input() -> None:
    header = json.dumps({"inputs": [
        {"name": "ids", "datatype": "INT64", "shape": [1, 4], "parameters": {"binary_data_size": 16}},
        {"name": "mask", "datatype": "FP32", "shape": [1, 4], "data": [1, 1, 1, 1]},
    ]}).encode()
    with pytest.raises(RequestError, match="input 'ids': binary_data_size 16"):
        parse_infer(header + b"\0" * 16, len(header), SIG)


def test_binary_data_cut_short() -> None:
    header = json.dumps({"inputs": [
        {"name": "ids", "datatype": "INT64", "shape": [1, 4], "parameters": {"binary_data_size": 32}},
        {"name": "mask", "datatype": "FP32", "shape": [1, 4], "data": [1, 1, 1, 1]},
    ]}).encode()
    with pytest.raises(RequestError, match="cut short"):
        parse_infer(header + b"\0" * 10, len(header), SIG)


def test_header_length_longer_than_body() -> None:
    with pytest.raises(RequestError, match="Inference-Header-Content-Length 999"):
        parse_infer(_json(), 999, SIG)


def test_encode_json_response() -> None:
    req = InferRequest("r1", [], 1, ((0, False), (1, False)))
    body, header_length = encode_response(SIG, req, [np.array([[0.5, 1.5]], np.float32), np.array([1])])
    assert header_length is None
    doc = json.loads(body)
    assert doc["id"] == "r1" and doc["model_name"] == "m"
    assert doc["outputs"][0] == {"name": "logits", "datatype": "FP32", "shape": [1, 2], "data": [0.5, 1.5]}
    assert doc["outputs"][1]["data"] == [1]


def test_encode_binary_response() -> None:
    req = InferRequest(None, [], 1, ((0, True),))
    logits = np.array([[0.5, 1.5]], np.float32)
    body, header_length = encode_response(SIG, req, [logits, np.array([1])])
    assert header_length is not None
    doc = json.loads(body[:header_length])
    assert doc["outputs"][0]["parameters"] == {"binary_data_size": 8}
    assert "data" not in doc["outputs"][0]
    assert np.frombuffer(body[header_length:], "<f4").tolist() == [0.5, 1.5]
