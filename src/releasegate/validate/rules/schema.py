"""JSON Schema rules: the base release schema and each environment's tightening.

jsonschema errors are turned into violations a person can act on: the exact line,
the field's path, and a hint (the closest allowed name for unknown fields, the
allowed values for enums, the schema's own description for patterns).
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from jsonschema.exceptions import ValidationError

from releasegate.layout import RepoLayout
from releasegate.policy import inline_local_refs, load_schema, schema_validator
from releasegate.release import Release
from releasegate.validate.context import ValidationContext, Violation, violation_at

_JSON_TYPES = {"string": "text", "integer": "a whole number", "number": "a number",
               "boolean": "true or false", "object": "a mapping", "array": "a list", "null": "null"}


class _Checked:
    """A schema as two validators: a compiled one that only says valid or not (fast), and
    jsonschema's, which explains each error with its path, run only for invalid files."""

    def __init__(self, schema: dict[str, Any]) -> None:
        import jsonschema_rs

        self.explain = schema_validator(schema)
        # No format validation and ECMA-262 regexes (`$` is the end of the text): the same
        # verdicts as `explain`, which tests/unit/validate/test_schema_fast_path.py checks.
        self.fast = jsonschema_rs.validator_for(schema, validate_formats=False)

    def iter_errors(self, data: Any) -> Iterator[ValidationError]:
        if self.fast.is_valid(data):
            return iter(())
        return self.explain.iter_errors(data)


class SchemaRule:
    """``release-schema`` and ``environment-schema`` (plus ``unknown-field`` and ``digest-format``)."""

    id = "release-schema"

    def __init__(self, layout: RepoLayout) -> None:
        self.layout = layout
        self._base = _validator(layout.release_schema)
        self._by_env: dict[str, _Checked | None] = {}

    def check(self, ctx: ValidationContext) -> Iterable[Violation]:
        for release in ctx.targets:
            yield from _violations(release, self._base, "release-schema")
            env_validator = self._environment_validator(release.env)
            if env_validator is not None:
                yield from _violations(release, env_validator, "environment-schema")

    def _environment_validator(self, env: str) -> _Checked | None:
        if env not in self._by_env:
            path = self.layout.environment_schema(env)
            self._by_env[env] = _validator(path) if path.is_file() else None
        return self._by_env[env]


def _validator(path: Path) -> _Checked:
    return _Checked(inline_local_refs(load_schema(path)))


def _violations(release: Release, validator: _Checked, rule: str) -> Iterator[Violation]:
    for error in validator.iter_errors(release.data):
        yield from _explain(release, error, rule)


def _explain(release: Release, error: ValidationError, rule: str) -> Iterator[Violation]:
    path = tuple(error.absolute_path)
    kind = error.validator
    if kind == "additionalProperties" and isinstance(error.instance, dict):
        yield from _unknown_fields(release, error, path)
    elif kind == "required" and isinstance(error.instance, dict):
        yield from _missing_fields(release, error, path, rule)
    elif path and path[-1] == "sha256" and kind in ("pattern", "type"):
        yield violation_at(release, path, "digest-format",
                           f"sha256 {error.instance!r} is not a SHA-256 digest",
                           "write the 64 lowercase hex characters of `sha256sum <artifact>`, quoted")
    else:
        yield violation_at(release, path, rule, _message(error), _hint(error))


def _unknown_fields(release: Release, error: ValidationError, path: tuple[Any, ...]) -> Iterator[Violation]:
    allowed = sorted(error.schema.get("properties", {}))
    for key in sorted(k for k in error.instance if k not in allowed):
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else \
            f"remove it; allowed here: {', '.join(allowed)}" if allowed else "remove it"
        yield violation_at(release, (*path, key), "unknown-field", f"unknown field '{key}'", hint, at_key=True)


def _missing_fields(release: Release, error: ValidationError, path: tuple[Any, ...],
                    rule: str) -> Iterator[Violation]:
    for key in error.validator_value:
        if key not in error.instance:
            where = "the top level" if not path else f"'{path[-1]}'"
            hint = f"add '{key}:' under {where}"
            sub = error.schema.get("properties", {}).get(key, {})
            if isinstance(sub, dict) and sub.get("description"):
                hint += f" ({sub['description']})"
            yield violation_at(release, path, rule, f"'{key}' is required here", hint, at_key=True)


def _message(error: ValidationError) -> str:
    description = error.schema.get("description") if isinstance(error.schema, dict) else None
    if error.validator in ("not", "oneOf", "anyOf") and description:
        return f"{error.instance!r} is not allowed here: {description}"
    if error.validator == "pattern":
        return f"{error.instance!r} is not in the expected format"
    if error.validator == "type":
        wanted = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        return f"{error.instance!r} is not {' or '.join(_JSON_TYPES.get(str(t), str(t)) for t in wanted)}"
    return error.message


def _hint(error: ValidationError) -> str:
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "enum":
        return "use one of: " + ", ".join(map(str, error.validator_value))
    if error.validator == "const":
        return f"write exactly {error.validator_value!r}"
    if error.validator == "type" and error.validator_value in ("string", ["string"]):
        return "quote the value so YAML reads it as text, e.g. \"1.10\""
    if error.validator in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        return f"use a value {_bound_words(error.validator)} {error.validator_value}"
    if schema.get("description"):
        return str(schema["description"])
    if error.validator == "pattern":
        return f"the value must match the pattern {error.validator_value}"
    return "see docs/release-file.md for the allowed values"


def _bound_words(kind: str) -> str:
    return {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}[kind]
