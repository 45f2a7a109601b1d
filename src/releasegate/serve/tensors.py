"""Tensor signatures of a model, in Open Inference Protocol v2 terms. Never imports torch.

The one tensor-spec type of releasegate, for the server and the load test. A
:class:`TensorSpec` shape leaves out the batch dimension: the server stacks requests
along dimension 0, so every other dimension it serves is fixed. A signature read from
v2 metadata may have dynamic dimensions (-1); the load test fixes them when it
generates requests (:meth:`TensorSpec.row_shape`).
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from releasegate.errors import InputError

# v2 datatype -> numpy dtype that carries it. BF16 travels as its raw 16 bits.
NUMPY_DTYPES: dict[str, np.dtype] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype(np.uint8),
    "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16),
    "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64),
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
    "BF16": np.dtype(np.uint16),
}
DATATYPES = tuple(NUMPY_DTYPES)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


@dataclass(frozen=True)
class TensorSpec:
    """One input or output: name, v2 datatype, shape without the batch dimension."""

    name: str
    datatype: str
    shape: tuple[int, ...]

    def metadata(self) -> dict[str, object]:
        """The v2 metadata entry, with -1 for the batch dimension."""
        return {"name": self.name, "datatype": self.datatype, "shape": [-1, *self.shape]}

    @property
    def numpy_dtype(self) -> np.dtype:
        return NUMPY_DTYPES[self.datatype]

    @property
    def row_elements(self) -> int:
        return math.prod(self.shape)

    def row_shape(self, dynamic: int) -> tuple[int, ...]:
        """Shape of a one-row request: batch 1, each dynamic dimension set to ``dynamic``."""
        return (1, *(dynamic if d < 0 else d for d in self.shape))


def parse_input_spec(text: str) -> TensorSpec:
    """Parse ``NAME:DATATYPE:DIMS`` (DIMS comma-separated, without the batch dimension), e.g. ``input_ids:INT64:128``."""
    parts = text.split(":")
    if len(parts) != 3:
        raise InputError(
            f"--input-spec {text!r}: expected NAME:DATATYPE:DIMS",
            "for example --input-spec input_ids:INT64:128 or pixels:FP32:3,224,224",
        )
    name, datatype, dims = (p.strip() for p in parts)
    return make_spec(name, datatype.upper(), _parse_dims(text, dims), where=f"--input-spec {text!r}")


def _parse_dims(text: str, dims: str) -> tuple[int, ...]:
    if dims in ("", "-"):
        return ()
    try:
        values = tuple(int(d) for d in dims.replace("x", ",").split(","))
    except ValueError as e:
        raise InputError(
            f"--input-spec {text!r}: dimensions must be positive integers separated by commas",
            "leave out the batch dimension: input_ids:INT64:128",
        ) from e
    return values


def make_spec(name: str, datatype: str, shape: Iterable[int], *, where: str) -> TensorSpec:
    """A checked :class:`TensorSpec`; ``where`` names the source in error messages."""
    dims = tuple(int(d) for d in shape)
    if not _NAME.fullmatch(name):
        raise InputError(f"{where}: {name!r} is not a valid tensor name", "use letters, digits and _ . -")
    if datatype not in NUMPY_DTYPES:
        raise InputError(f"{where}: unknown datatype {datatype!r}", f"use one of {', '.join(DATATYPES)}")
    if any(d <= 0 for d in dims):
        raise InputError(
            f"{where}: every dimension but the batch must be a fixed positive size, got {list(dims)}",
            "leave out the batch dimension and fix the others (the server stacks requests along dimension 0)",
        )
    return TensorSpec(name, datatype, dims)


def spec_from_mapping(entry: object, *, where: str) -> TensorSpec:
    """A spec from a factory's ``input_spec`` entry: a TensorSpec, a dict or a (name, datatype, shape) tuple."""
    if isinstance(entry, TensorSpec):
        return entry
    if isinstance(entry, Mapping):
        return make_spec(str(entry.get("name")), str(entry.get("datatype")), entry.get("shape", ()), where=where)
    if isinstance(entry, (tuple, list)) and len(entry) == 3:
        return make_spec(str(entry[0]), str(entry[1]), entry[2], where=where)
    raise InputError(f"{where}: cannot read input spec {entry!r}", "give dicts with name, datatype and shape")


def spec_from_metadata(entry: Mapping[str, Any], *, where: str) -> TensorSpec:
    """A spec from a v2 metadata ``inputs`` entry (shape with the batch dimension first, -1 allowed)."""
    try:
        name = str(entry["name"])
        datatype = str(entry["datatype"]).upper()
        shape = tuple(int(d) for d in entry["shape"])
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(
            f"{where} has no usable name/datatype/shape ({e})",
            "each input needs name, datatype (e.g. INT64) and shape (e.g. [-1, 16])",
        ) from e
    if datatype not in NUMPY_DTYPES or not shape or any(d == 0 or d < -1 for d in shape[1:]):
        raise InputError(
            f"{where}: input {name!r}: unsupported datatype {datatype}, empty shape or bad dimension in {list(shape)}",
            "use a v2 datatype (BOOL, INT8..INT64, UINT8, FP16, BF16, FP32, FP64) and dimensions > 0 or -1",
        )
    return TensorSpec(name, datatype, shape[1:])
