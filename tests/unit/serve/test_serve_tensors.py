"""``--input-spec`` parsing and factory input specs."""
from __future__ import annotations

import pytest

from releasegate.errors import InputError
from releasegate.serve.tensors import TensorSpec, parse_input_spec, spec_from_mapping


def test_parse_input_spec() -> None:
    assert parse_input_spec("pixels:fp32:3,224,224") == TensorSpec("pixels", "FP32", (3, 224, 224))
    assert parse_input_spec("ids:INT64:128").metadata() == {"name": "ids", "datatype": "INT64", "shape": [-1, 128]}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("ids", "expected NAME:DATATYPE:DIMS"), ("ids:INT63:4", "unknown datatype"),
     ("ids:INT64:a", "positive integers"), ("ids:INT64:-1", "fixed positive size"), ("1x:INT64:4", "not a valid")],
)
def test_bad_input_spec(text: str, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        parse_input_spec(text)


def test_spec_from_mapping_forms() -> None:
    want = TensorSpec("x", "FP32", (4,))
    assert spec_from_mapping({"name": "x", "datatype": "FP32", "shape": [4]}, where="t") == want
    assert spec_from_mapping(("x", "FP32", [4]), where="t") == want
    with pytest.raises(InputError, match="cannot read input spec"):
        spec_from_mapping(42, where="t")
