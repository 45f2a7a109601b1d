"""Request bodies for the load test: from a payload file, or generated from the input signature.

Both sides (candidate and baseline) get the same bodies, in the same order, so that
a difference in latency is the models' and not the inputs'.

* ``spec.loadTest.payloadFile`` (relative to the repository root): a JSON object (one
  request body) or a JSON array of request bodies; each is sent as it is.
* Otherwise bodies are generated, with a fixed seed, from the model's input signature
  (the server's ``/v2/models/{name}`` metadata, or ``spec.model.signature``): one row
  per request (batch dimension 1), integers in ``[0, 100)``, floats in ``[-1, 1)``.
  Dimensions given as -1 after the batch dimension get :data:`DYNAMIC_DIM`.
* An external runtime's ``requestTemplate`` is a body in which ``{{inputs.NAME}}`` is
  replaced by the generated tensor ``NAME`` as a nested JSON list ``[1, ...shape]``.
"""
from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from releasegate.errors import InputError
from releasegate.serve.tensors import TensorSpec, spec_from_metadata

BODY_COUNT = 64
DYNAMIC_DIM = 16
SEED = 20261122
MAX_PAYLOAD_BYTES = 64 * 1024 * 1024
_INT_TYPES = ("INT8", "INT16", "INT32", "INT64", "UINT8")
_PLACEHOLDER = re.compile(r"\{\{\s*inputs\.([A-Za-z0-9_.\-]+)\s*\}\}")


@dataclass(frozen=True)
class Payloads:
    """What locust sends: a path on the server, a content type and request bodies."""

    path: str
    content_type: str
    bodies: tuple[str, ...]
    source: str

    def to_json(self) -> str:
        return json.dumps(
            {"path": self.path, "contentType": self.content_type, "bodies": list(self.bodies)}
        )


def parse_signature(inputs: Sequence[Mapping[str, Any]], source: str) -> tuple[TensorSpec, ...]:
    """Input specs from v2 metadata ``inputs`` (or ``spec.model.signature.inputs``)."""
    specs = tuple(spec_from_metadata(item, where=f"{source}: input {i}") for i, item in enumerate(inputs))
    if not specs:
        raise InputError(f"{source}: the model declares no inputs", "add spec.model.signature")
    return specs


def _values(spec: TensorSpec, rng: random.Random) -> list[Any]:
    count = 1
    for d in spec.row_shape(DYNAMIC_DIM):
        count *= d
    if spec.datatype in _INT_TYPES:
        return [rng.randrange(100) for _ in range(count)]
    if spec.datatype == "BOOL":
        return [rng.random() < 0.5 for _ in range(count)]
    return [round(rng.uniform(-1.0, 1.0), 4) for _ in range(count)]


def _nest(flat: list[Any], shape: tuple[int, ...]) -> Any:
    if len(shape) <= 1:
        return flat
    step = len(flat) // shape[0]
    return [_nest(flat[i * step : (i + 1) * step], shape[1:]) for i in range(shape[0])]


def generate_v2(specs: Sequence[TensorSpec], model: str, count: int = BODY_COUNT) -> Payloads:
    """Open Inference Protocol v2 request bodies for ``model``, one row each."""
    rng = random.Random(SEED)
    bodies = []
    for _ in range(count):
        inputs = [
            {"name": s.name, "shape": list(s.row_shape(DYNAMIC_DIM)), "datatype": s.datatype, "data": _values(s, rng)}
            for s in specs
        ]
        bodies.append(json.dumps({"inputs": inputs}, separators=(",", ":")))
    return Payloads(f"/v2/models/{model}/infer", "application/json", tuple(bodies), "generated")


def from_template(
    template: str, specs: Sequence[TensorSpec], path: str, count: int = BODY_COUNT
) -> Payloads:
    """Bodies from an external runtime's ``requestTemplate`` with ``{{inputs.NAME}}`` filled in."""
    by_name = {s.name: s for s in specs}
    unknown = sorted(set(_PLACEHOLDER.findall(template)) - set(by_name))
    if unknown:
        raise InputError(
            f"spec.runtime.external.requestTemplate: no input named {', '.join(unknown)}",
            f"the signature declares: {', '.join(by_name) or 'nothing'}",
        )
    rng = random.Random(SEED)
    bodies = []
    for _ in range(count):
        data = {s.name: json.dumps(_nest(_values(s, rng), s.row_shape(DYNAMIC_DIM))) for s in specs}
        bodies.append(_PLACEHOLDER.sub(lambda m: data[m.group(1)], template))  # noqa: B023 - called at once
    return Payloads(path, "application/json", tuple(bodies), "requestTemplate")


def from_file(file: Path, path: str, source: str) -> Payloads:
    """Bodies read from a payload file: one JSON object, or a JSON array of them."""
    try:
        if file.stat().st_size > MAX_PAYLOAD_BYTES:
            raise InputError(f"{source}: larger than {MAX_PAYLOAD_BYTES} bytes", "use fewer requests")
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as e:
        raise InputError(
            f"{source}: cannot read the payload file ({e.strerror or e})",
            "spec.loadTest.payloadFile is relative to the repository root",
        ) from e
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{source}: not valid JSON ({e})", "write one request body or a list of them") from e
    items = data if isinstance(data, list) else [data]
    if not items or not all(isinstance(i, (dict, list, str)) for i in items):
        raise InputError(f"{source}: no request bodies in it", "write a JSON object or a non-empty array")
    bodies = tuple(i if isinstance(i, str) else json.dumps(i, separators=(",", ":")) for i in items)
    return Payloads(path, "application/json", bodies, source)
