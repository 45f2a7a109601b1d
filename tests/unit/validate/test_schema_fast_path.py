"""The compiled validator (jsonschema-rs) gives the same verdict as jsonschema on every file and mutation.

validate asks the compiled validator first and explains with jsonschema only the files it
rejects; a file the compiled one accepts while jsonschema would not would lose violations.
So every release file of the test corpus and the repository, and thousands of mutations of
them (each field removed, retyped, emptied, given a trailing newline or an unknown sibling),
must get the same verdict from both, for the release schema and every environment schema.
"""
from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from releasegate.errors import InputError
from releasegate.policy import inline_local_refs, load_schema
from releasegate.validate.rules.schema import _Checked
from releasegate.yamlio import load_yaml_bytes

PROJECT = Path(__file__).resolve().parents[3]
SCHEMAS = PROJECT / "policies" / "schemas"


def _corpus() -> list[Any]:
    docs = []
    for pattern in ("environments/*/releases/*.yaml", "tests/cases/*/*/files/environments/*/releases/*.yaml",
                    "tests/unit/render/cases/*/environments/*/releases/*.yaml"):
        for path in sorted(PROJECT.glob(pattern)):
            try:
                docs.append(load_yaml_bytes(path.read_bytes(), str(path)).value)
            except InputError:
                continue  # refused before any schema runs (not YAML, aliases, non-finite numbers)
    return docs


def _mutations(doc: Any, path: tuple[Any, ...] = ()) -> Iterator[Any]:
    """``doc`` with one change at every place: removed, retyped, emptied, newline-suffixed, a new sibling."""
    def at(root: Any, where: tuple[Any, ...]) -> Any:
        for key in where:
            root = root[key]
        return root

    node = at(doc, path)
    if isinstance(node, dict):
        for key in list(node):
            for change in ("drop", "none", "int", "str", "list", "newline", "empty"):
                copied = copy.deepcopy(doc)
                target = at(copied, path)
                value = target[key]
                if change == "drop":
                    del target[key]
                elif change == "none":
                    target[key] = None
                elif change == "int":
                    target[key] = -1
                elif change == "str":
                    target[key] = "x"
                elif change == "list":
                    target[key] = [value]
                elif change == "newline" and isinstance(value, str):
                    target[key] = value + "\n"
                elif change == "empty" and isinstance(value, (str, list, dict)):
                    target[key] = type(value)()
                yield copied
            yield from _mutations(doc, (*path, key))
        copied = copy.deepcopy(doc)
        at(copied, path)["unknownField"] = 1
        yield copied
    elif isinstance(node, list):
        for i in range(len(node)):
            yield from _mutations(doc, (*path, i))


@pytest.mark.parametrize("schema", ["release.schema.json", *sorted(p.name for p in (SCHEMAS / "environments").iterdir())])
def test_compiled_and_explaining_validators_agree(schema: str) -> None:
    path = SCHEMAS / schema if schema == "release.schema.json" else SCHEMAS / "environments" / schema
    checked = _Checked(inline_local_refs(load_schema(path)))
    docs = _corpus()
    assert len(docs) > 20
    compared = 0
    for doc in docs:
        for variant in (doc, *_mutations(doc)):
            fast = checked.fast.is_valid(variant)
            explained = not any(True for _ in checked.explain.iter_errors(variant))
            assert fast == explained, (schema, variant)
            compared += 1
    assert compared > 5000
