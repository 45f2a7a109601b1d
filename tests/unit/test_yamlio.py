from __future__ import annotations

import pytest

from releasegate.errors import InputError
from releasegate.yamlio import YamlError, load_yaml_bytes


def test_positions_of_keys_and_values() -> None:
    doc = load_yaml_bytes(b"# c\na:\n  b: [1, {c: x}]\n", "f.yaml")
    assert doc.value == {"a": {"b": [1, {"c": "x"}]}}
    assert doc.position(("a", "b")) == (3, 6)
    assert doc.position(("a", "b", 1, "c")) == (3, 14)
    assert doc.key_position(("a", "b")) == (3, 3)
    assert doc.position(("a", "missing", "deeper")) == (3, 3)


def test_timestamps_stay_text_and_scalars_are_typed() -> None:
    doc = load_yaml_bytes(b"t: 2026-11-01T12:00:00Z\ni: 3\nf: 0.5\nb: true\nn: null\ns: '1.0'\n", "f")
    assert doc.value == {"t": "2026-11-01T12:00:00Z", "i": 3, "f": 0.5, "b": True, "n": None, "s": "1.0"}


@pytest.mark.parametrize(("data", "fragment"), [
    (b"on: push\n", "f.yaml:1:1: key 'on' is not a string"),
    (b"? [a, b]\n: 1\n", "key (a list) is not a string"),
    (b"<<: {a: 1}\n", "merge keys"),
    (b"a: !custom x\n", "unsupported YAML tag !custom"),
])
def test_refused_constructs(data: bytes, fragment: str) -> None:
    with pytest.raises(YamlError) as info:
        load_yaml_bytes(data, "f.yaml")
    assert fragment in str(info.value)


@pytest.mark.parametrize("text", [".nan", ".NaN", ".inf", "-.inf", "+.INF", "1.0e+400", "-1.0e+999"])
def test_non_finite_numbers_are_refused_where_written(text: str) -> None:
    data = f"spec:\n  batching:\n    maxDelayMs: {text}\n".encode()
    with pytest.raises(YamlError) as info:
        load_yaml_bytes(data, "f.yaml")
    error = info.value
    assert isinstance(error, InputError)
    assert (error.line, error.column) == (3, 17)
    assert str(error).startswith(f"f.yaml:3:17: {text} is not a finite number")
    assert "write a finite number" in str(error)
    assert "quote it" in str(error)


def test_non_finite_number_in_a_list_and_quoted_text_still_loads() -> None:
    with pytest.raises(YamlError, match=r"f.yaml:1:10: \.inf is not a finite number"):
        load_yaml_bytes(b"a: [1.5, .inf]\n", "f.yaml")
    doc = load_yaml_bytes(b"a: '.nan'\nb: \"-.inf\"\nc: 1.0e+300\nd: -0.0\n", "f.yaml")
    assert doc.value == {"a": ".nan", "b": "-.inf", "c": 1e300, "d": -0.0}
