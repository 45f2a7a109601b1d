"""The emitter's output reads back as exactly the data it was given."""
from __future__ import annotations

import random
import string

import pytest
import yaml

from releasegate.render import yamlout

TRICKY = [
    "", " ", "yes", "No", "ON", "off", "y", "n", "true", "False", "null", "Null", "~", "-", "--sha256",
    "1.4.0", "16Gi", "0x1F", "1e3", "0o17", ".5", ".inf", ".NaN", "1:20", "2026-11-01", "2026-11-01T12:00:00Z",
    "a: b", "a:b", "a:", "key::x", "#comment", "a #b", "- item", "? q", "{x}", "[x]", "*alias", "&anchor", "!tag",
    "|", ">", "'single'", '"double"', "%percent", "@at", "`tick`", "line\nbreak", "tab\there", "trailing ",
    " leading", "ünïcödé", "emoji 🚀", "s3://models/x/1.0.0/model.pt2", "nvidia.com/gpu", "/v2/health/ready",
    "=", "<<", "0", "-1", "+1", "1_000", "0b101", "e30f36", "NaN", "Infinity", "\x07bell", "back\\slash",
]


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_strings_round_trip(text: str) -> None:
    doc = {"value": text, "list": [text], text or "k": 1}
    assert yaml.safe_load(yamlout.dump_document(doc)) == doc


def _random_value(rng: random.Random, depth: int) -> object:
    pick = rng.randrange(9 if depth < 4 else 5)
    alphabet = string.ascii_letters + string.digits + " -_.:/#@!&*?|>'\"%{}[],\n\\"
    if pick == 0:
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 12)))
    if pick == 1:
        return rng.randrange(-1000, 1000)
    if pick == 2:
        return rng.choice([True, False, None])
    if pick == 3:
        return rng.choice(TRICKY)
    if pick == 4:
        return round(rng.uniform(-100, 100), rng.randrange(0, 6))
    if pick in (5, 6):
        return {str(_random_value(rng, 4)): _random_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))}
    return [_random_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))]


def test_random_documents_round_trip() -> None:
    rng = random.Random(20261122)
    for _ in range(2000):
        doc = {"root": _random_value(rng, 0), "other": _random_value(rng, 0)}
        text = yamlout.dump_document(doc)
        assert yaml.safe_load(text) == doc, text


def test_keys_are_sorted_whatever_the_insertion_order() -> None:
    a = {"b": 1, "a": {"y": 2, "x": [{"q": 1, "p": 2}]}}
    b = {"a": {"x": [{"p": 2, "q": 1}], "y": 2}, "b": 1}
    assert yamlout.dump_document(a) == yamlout.dump_document(b)


def test_layout_is_kubectl_style() -> None:
    doc = {"spec": {"containers": [{"name": "s", "args": ["a", "b"]}], "empty": {}, "none": []}}
    assert yamlout.dump_document(doc) == (
        "spec:\n"
        "  containers:\n"
        "  - args:\n"
        "    - a\n"
        "    - b\n"
        "    name: s\n"
        "  empty: {}\n"
        "  none: []\n"
    )


def test_multiple_documents_with_header() -> None:
    data = yamlout.dump_documents([{"a": 1}, {"b": 2}], yamlout.comment_block(["hello", "two\nlines"]))
    assert data == b"# hello\n# two lines\na: 1\n---\nb: 2\n"
    assert list(yaml.safe_load_all(data)) == [{"a": 1}, {"b": 2}]


def test_refuses_what_it_cannot_write() -> None:
    with pytest.raises(ValueError):
        yamlout.dump_document({"x": float("nan")})
    with pytest.raises(TypeError):
        yamlout.dump_document({"x": object()})


def _non_surrogates(start: int, stop: int) -> list[str]:
    return [chr(c) for c in range(start, stop) if not 0xD800 <= c <= 0xDFFF]


# The characters YAML treats specially: C0 controls and space, DEL and the C1 block with NEL (\x85) and
# NBSP, the YAML 1.1 line and paragraph separators, the byte-order mark and the BMP non-characters.
SPECIAL = _non_surrogates(0, 0x21) + _non_surrogates(0x7F, 0xA1) + ["\u2028", "\u2029", "\ufeff", "\ufffe", "\uffff"]


@pytest.mark.parametrize("char", SPECIAL, ids=lambda c: f"U+{ord(c):04X}")
def test_special_characters_round_trip_in_every_position(char: str) -> None:
    texts = [char, char * 2, f"a{char}b", f"{char}a", f"a{char}", f" {char} ", f"a {char}b", f"a\n{char}\nb", f"k:{char}"]
    doc = {"values": texts, **{text: i for i, text in enumerate(texts)}}
    text = yamlout.dump_document(doc)
    assert yaml.safe_load(text) == doc, text
    assert list(yaml.safe_load_all(yamlout.dump_documents([doc, doc]))) == [doc, doc]


def test_every_code_point_round_trips() -> None:
    """All of Unicode but the surrogates: in runs of 512, and each BMP code point alone."""
    chars = _non_surrogates(0, 0x110000)
    doc = {"runs": ["".join(chars[i:i + 512]) for i in range(0, len(chars), 512)]}
    data = yamlout.dump_documents([doc])
    assert yaml.safe_load(data) == doc
    assert yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) == doc  # libyaml, when built in
    alone = {"each": _non_surrogates(0, 0x10000)}
    assert yaml.safe_load(yamlout.dump_documents([alone])) == alone


@pytest.mark.parametrize("seed", range(50))
def test_an_emitted_part_writes_the_same_bytes(seed: int) -> None:
    """A part emitted once and placed as an Emitted value (the monitoring rules) gives the bytes
    the whole document would have had, at any depth."""
    rng = random.Random(seed)
    part = {f"k{i}": _random_value(rng, 2) for i in range(rng.randrange(1, 5))}
    doc = {"a": {"b": part, "c": [1, {"d": part}]}, "spec": part}
    placed = {"a": {"b": yamlout.Emitted(yamlout.emitted(part)),
                    "c": [1, {"d": yamlout.Emitted(yamlout.emitted(part))}]},
              "spec": yamlout.Emitted(yamlout.emitted(part))}
    assert yamlout.dump_document(placed) == yamlout.dump_document(doc)
