"""Open Inference Protocol v2 (KServe / Triton) messages: parse and check requests, encode responses.

JSON tensors carry ``data`` as a flat (row-major) or nested list. With the binary
tensor data extension, the body is a JSON header of ``Inference-Header-Content-Length``
bytes followed by raw little-endian tensor bytes, in the order of the inputs whose
``parameters.binary_data_size`` is set; outputs come back the same way when asked
(``parameters.binary_data`` on an output, or ``binary_data_output`` on the request).
Every check failure is a :class:`~releasegate.errors.RequestError` (HTTP 400) that
names the input. Never imports torch.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from releasegate.errors import RequestError
from releasegate.serve.tensors import NUMPY_DTYPES, TensorSpec

PROTOCOL_VERSION = "2"


@dataclass(frozen=True)
class Signature:
    """The served model as the v2 metadata endpoint describes it."""

    name: str
    version: str
    platform: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    max_batch: int

    def metadata(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "versions": [self.version],
            "platform": self.platform,
            "inputs": [s.metadata() for s in self.inputs],
            "outputs": [s.metadata() for s in self.outputs],
            "parameters": {"max_batch_size": self.max_batch},
        }


@dataclass(frozen=True)
class InferRequest:
    """A checked request: arrays in signature order, their common batch size, wanted outputs."""

    id: str | None
    arrays: list[np.ndarray]
    rows: int
    outputs: tuple[tuple[int, bool], ...]  # (index into Signature.outputs, binary?)


def parse_infer(body: bytes, header_length: int | None, sig: Signature) -> InferRequest:
    """Parse and check one infer request body against ``sig``."""
    binary = b""
    if header_length is not None:
        if not 0 < header_length <= len(body):
            raise RequestError(
                f"Inference-Header-Content-Length {header_length} does not fit the {len(body)}-byte body",
                hint="it must be the byte length of the JSON part at the start of the body",
            )
        binary, body = body[header_length:], body[:header_length]
    doc = _load_json(body)
    raw_inputs = doc.get("inputs")
    if not isinstance(raw_inputs, list) or not raw_inputs:
        raise RequestError('request: "inputs" must be a non-empty list of tensors')
    by_name = _collect_inputs(raw_inputs, sig, binary)
    arrays = [by_name[s.name] for s in sig.inputs]
    rows = _common_rows(arrays, sig)
    request_id = doc.get("id")
    return InferRequest(
        None if request_id is None else str(request_id), arrays, rows, _wanted_outputs(doc, sig)
    )


def _load_json(body: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise RequestError(f"request body: malformed JSON ({e})") from e
    if not isinstance(doc, dict):
        raise RequestError("request body: expected a JSON object with an \"inputs\" list")
    return doc


def _collect_inputs(raw_inputs: list[Any], sig: Signature, binary: bytes) -> dict[str, np.ndarray]:
    specs = {s.name: s for s in sig.inputs}
    arrays: dict[str, np.ndarray] = {}
    offset = 0
    for entry in raw_inputs:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise RequestError('request: every entry of "inputs" needs a "name"')
        name = entry["name"]
        spec = specs.get(name)
        if spec is None:
            raise RequestError(f"input {name!r}: the model has no such input (it takes {sorted(specs)})")
        if name in arrays:
            raise RequestError(f"input {name!r}: given twice")
        arrays[name], offset = _read_tensor(entry, spec, binary, offset)
    missing = [s.name for s in sig.inputs if s.name not in arrays]
    if missing:
        raise RequestError(f"input {missing[0]!r}: missing from the request")
    if offset != len(binary):
        raise RequestError(f"binary data: {len(binary) - offset} bytes after the last tensor")
    return arrays


def _read_tensor(entry: dict[str, Any], spec: TensorSpec, binary: bytes, offset: int) -> tuple[np.ndarray, int]:
    name = spec.name
    if entry.get("datatype") != spec.datatype:
        raise RequestError(f"input {name!r}: datatype {entry.get('datatype')!r}, the model takes {spec.datatype}")
    shape = _check_shape(entry.get("shape"), spec)
    count = math.prod(shape)
    params = entry.get("parameters")
    size = params.get("binary_data_size") if isinstance(params, dict) else None
    if size is not None:
        return _binary_tensor(spec, shape, count, size, binary, offset)
    data = entry.get("data")
    if data is None:
        raise RequestError(f"input {name!r}: no \"data\" and no binary_data_size")
    try:
        array = np.asarray(data, dtype=spec.numpy_dtype if spec.datatype != "BF16" else np.float32)
    except (ValueError, TypeError, OverflowError) as e:
        raise RequestError(f"input {name!r}: data are not all {spec.datatype} values ({e})") from e
    if array.size != count:
        raise RequestError(f"input {name!r}: {array.size} values for shape {list(shape)} ({count} expected)")
    if spec.datatype == "BF16":
        array = _to_bf16_bits(array)
    return array.reshape(shape), offset


def _check_shape(shape: Any, spec: TensorSpec) -> tuple[int, ...]:
    if type(shape) is not list or any(type(d) is not int for d in shape):
        raise RequestError(f"input {spec.name!r}: \"shape\" must be a list of integers")
    if len(shape) != len(spec.shape) + 1 or tuple(shape[1:]) != spec.shape or shape[0] < 1:
        raise RequestError(
            f"input {spec.name!r}: shape {shape}, the model takes {[-1, *spec.shape]} (batch size first)"
        )
    return tuple(shape)


def _binary_tensor(
    spec: TensorSpec, shape: tuple[int, ...], count: int, size: Any, binary: bytes, offset: int
) -> tuple[np.ndarray, int]:
    itemsize = spec.numpy_dtype.itemsize
    if not isinstance(size, int) or size != count * itemsize:
        raise RequestError(
            f"input {spec.name!r}: binary_data_size {size!r}, shape {list(shape)} of "
            f"{spec.datatype} needs {count * itemsize} bytes"
        )
    if offset + size > len(binary):
        raise RequestError(f"input {spec.name!r}: binary data cut short ({len(binary) - offset} of {size} bytes)")
    dtype = spec.numpy_dtype.newbyteorder("<")
    array = np.frombuffer(binary, dtype=dtype, count=count, offset=offset)
    return array.reshape(shape), offset + size


def _to_bf16_bits(array: np.ndarray) -> np.ndarray:
    """Round FP32 values to the upper 16 bits (BF16) by round-to-nearest-even."""
    bits = np.ascontiguousarray(array, dtype=np.float32).view(np.uint32)
    rounded = bits + 0x7FFF + ((bits >> 16) & 1)
    return (rounded >> 16).astype(np.uint16)


def _common_rows(arrays: list[np.ndarray], sig: Signature) -> int:
    rows = arrays[0].shape[0]
    for spec, array in zip(sig.inputs, arrays):
        if array.shape[0] != rows:
            raise RequestError(f"input {spec.name!r}: batch size {array.shape[0]}, other inputs have {rows}")
    if rows > sig.max_batch:
        raise RequestError(
            f"input {sig.inputs[0].name!r}: batch size {rows} is over this server's --max-batch {sig.max_batch}",
            hint="split the request",
        )
    return rows


def _wanted_outputs(doc: dict[str, Any], sig: Signature) -> tuple[tuple[int, bool], ...]:
    params = doc.get("parameters")
    all_binary = bool(params.get("binary_data_output")) if isinstance(params, dict) else False
    requested = doc.get("outputs")
    if requested is None:
        return tuple((i, all_binary) for i in range(len(sig.outputs)))
    if not isinstance(requested, list):
        raise RequestError('request: "outputs" must be a list')
    index = {s.name: i for i, s in enumerate(sig.outputs)}
    wanted = []
    for entry in requested:
        name = entry.get("name") if isinstance(entry, dict) else None
        if name not in index:
            raise RequestError(f"output {name!r}: the model has no such output (it has {sorted(index)})")
        out_params = entry.get("parameters")
        binary = out_params.get("binary_data", all_binary) if isinstance(out_params, dict) else all_binary
        wanted.append((index[name], bool(binary)))
    return tuple(wanted)


def encode_response(
    sig: Signature, req: InferRequest, results: list[np.ndarray]
) -> tuple[bytes, int | None]:
    """The response body and, when it carries binary tensors, the length of its JSON header.

    The JSON is assembled from pre-escaped pieces (``json.dumps`` of a nested dict per
    request was a measurable share of the per-request cost); only the data lists and
    shapes go through the encoder.
    """
    entries: list[str] = []
    chunks: list[bytes] = []
    for index, binary in req.outputs:
        spec = sig.outputs[index]
        array = results[index]
        head = _output_head(spec.name, spec.datatype, array.shape)
        if binary:
            raw = np.ascontiguousarray(array, dtype=spec.numpy_dtype.newbyteorder("<")).tobytes()
            entries.append(f'{head},"parameters":{{"binary_data_size":{len(raw)}}}}}')
            chunks.append(raw)
        else:
            entries.append(f'{head},"data":{_dumps(array.reshape(-1).tolist())}}}')
    request_id = "" if req.id is None else f',"id":{_dumps(req.id)}'
    text = f'{{"model_name":{_dumps(sig.name)},"model_version":{_dumps(sig.version)},"outputs":[{",".join(entries)}]{request_id}}}'
    header = text.encode()
    if not chunks:
        return header, None
    return b"".join([header, *chunks]), len(header)


def _output_head(name: str, datatype: str, shape: tuple[int, ...]) -> str:
    dims = ",".join(str(d) for d in shape)
    return f'{{"name":{_dumps(name)},"datatype":"{datatype}","shape":[{dims}]'


_dumps = json.JSONEncoder(separators=(",", ":")).encode


def error_body(message: str) -> bytes:
    """The v2 error object."""
    return json.dumps({"error": message}).encode()


def server_metadata(version: str) -> dict[str, Any]:
    return {"name": "releasegate", "version": version, "extensions": ["binary_tensor_data"]}


__all__ = ["NUMPY_DTYPES", "InferRequest", "Signature", "encode_response", "parse_infer"]
