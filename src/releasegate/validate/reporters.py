"""Reporters for validation results, chosen by name: ``text``, ``json``, ``github``.

The JSON structure is versioned (``schemaVersion``), documented in docs/validate.md and
described by src/releasegate/data/validate-result.schema.json; fields are only ever added
within a version.
"""
from __future__ import annotations

import json
from collections.abc import Callable

from releasegate.github.workflow import annotation
from releasegate.validate.context import ValidationResult, Violation

JSON_SCHEMA_VERSION = "releasegate/validate-result/v1"


def render_text(result: ValidationResult) -> str:
    lines = []
    for v in result.violations:
        lines.append(f"{v.file}:{v.line}:{v.column}: error [{v.rule}] {v.path}: {v.message}")
        if v.hint:
            lines.append(f"    hint: {v.hint}")
    lines.extend(policy_change_lines(result))
    lines.append(_summary(result))
    return "\n".join(lines) + "\n"


def policy_change_lines(result: ValidationResult) -> list[str]:
    """What a change to policies/ weakens, in words (empty when it touches no policy file)."""
    change = result.policy_change
    if change is None:
        return []
    return [f"policy change: {', '.join(change.files)} (judged by the policies of {change.rules_ref}; "
            "approval needs the strictest environment's minimum and the policy owners)",
            *(f"    {finding}" for finding in change.findings())]


def _summary(result: ValidationResult) -> str:
    files = len(result.checked)
    if result.ok:
        return f"OK: {files} release file{'s' if files != 1 else ''} checked, no violations"
    bad = len({v.file for v in result.violations})
    count = len(result.violations)
    return f"FAILED: {count} violation{'s' if count != 1 else ''} in {bad} of {files} file{'s' if files != 1 else ''}"


def render_json(result: ValidationResult) -> str:
    payload = {
        "schemaVersion": JSON_SCHEMA_VERSION,
        "ok": result.ok,
        "checked": list(result.checked),
        "violations": [v.as_dict() for v in result.violations],
        "rulesRef": result.rules_ref,
        "policyChange": result.policy_change.as_dict() if result.policy_change else None,
        "summary": {"files": len(result.checked), "violations": len(result.violations),
                    "filesWithViolations": len({v.file for v in result.violations})},
    }
    return json.dumps(payload, indent=2, sort_keys=True) + "\n"


def github_annotation(v: Violation, level: str = "error") -> str:
    message = f"{v.path}: {v.message}" + (f"\nhint: {v.hint}" if v.hint else "")
    return annotation(level, message, file=v.file, line=v.line, col=v.column, title=v.rule)


def render_github(result: ValidationResult) -> str:
    lines = [github_annotation(v) for v in result.violations]
    change = result.policy_change
    if change is not None:
        lines.append(annotation("warning", "\n".join(policy_change_lines(result)), file=change.files[0],
                                title="policy change"))
    lines.append(_summary(result))
    return "\n".join(lines) + "\n"


REPORTERS: dict[str, Callable[[ValidationResult], str]] = {
    "text": render_text,
    "json": render_json,
    "github": render_github,
}


def render(result: ValidationResult, output_format: str) -> str:
    return REPORTERS[output_format](result)
