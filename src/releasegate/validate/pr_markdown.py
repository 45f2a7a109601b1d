"""The Markdown report of the validate gate: sticky comment, step summary, check-run text."""
from __future__ import annotations

from collections.abc import Sequence

from releasegate.github.approvals import ApprovalResult
from releasegate.github.checks import Annotation
from releasegate.github.event import Event
from releasegate.github.markdown import code, escape, table, verdict
from releasegate.validate.context import ValidationResult

MAX_ROWS = 100


def violation_annotations(result: ValidationResult) -> tuple[Annotation, ...]:
    return tuple(
        Annotation(v.file, v.line, v.column, "failure", v.rule, f"{v.path}: {v.message}" + (f"\nhint: {v.hint}" if v.hint else ""))
        for v in result.violations
    )


def validation_title(result: ValidationResult) -> str:
    files = len(result.checked)
    if result.ok:
        return f"{files} release file{'s' if files != 1 else ''} checked, no violations"
    count = len(result.violations)
    return f"{count} violation{'s' if count != 1 else ''} in {len({v.file for v in result.violations})} file(s)"


def validation_markdown(result: ValidationResult) -> str:
    if not result.checked and result.ok:
        return "No release or policy file changed: nothing to validate."
    if result.ok:
        rows = [[code(path)] for path in result.checked[:MAX_ROWS]]
        return table(["checked release files"], rows)
    rows = [
        [code(f"{v.file}:{v.line}:{v.column}"), code(v.rule), escape(f"{v.path}: {v.message}"), escape(v.hint or "")]
        for v in result.violations[:MAX_ROWS]
    ]
    more = len(result.violations) - MAX_ROWS
    tail = f"\n\n…and {more} more (see the check run annotations)" if more > 0 else ""
    return table(["where", "rule", "problem", "how to fix"], rows) + tail


def policy_change_markdown(result: ValidationResult) -> str:
    change = result.policy_change
    if change is None:
        return ""
    lines = ["### Policy change",
             "This pull request changes " + ", ".join(code(f) for f in change.files) + ". It is judged by the base's "
             "policies and needs the approvals of the strictest environment and of the policy owners."]
    lines.append("\n".join(f"- {escape(finding, 2000)}" for finding in change.findings()))
    return "\n\n".join(lines)


def approvals_markdown(result: ApprovalResult) -> str:
    req = result.requirement
    lines = [f"**{verdict(result.ok)}**: {escape(result.summary)}"]
    if req.sources:
        lines.append("Required by: " + ", ".join(code(s) for s in req.sources))
    if req.teams:
        lines.append("Required teams: " + ", ".join(code(t) for t in req.teams))
    if result.approvers:
        lines.append("Counted approvals: " + ", ".join(code(a) for a in result.approvers))
    for user, reason in result.ignored:
        lines.append(f"- not counted: {code(user)}: {escape(reason)}")
    return "\n\n".join(lines)


def gate_markdown(
    event: Event | None,
    result: ValidationResult,
    approvals: ApprovalResult | None,
    environments: Sequence[str],
    notes: Sequence[str] = (),
) -> str:
    """The whole report: heading, what was checked, violations, approvals, notes."""
    ok = result.ok and (approvals is None or approvals.ok)
    parts = [f"## releasegate {verdict(ok)}"]
    if event is not None and event.pull_request is not None:
        pr = event.pull_request
        parts.append(f"Pull request #{pr.number} {escape(pr.title, 200)} from {code(pr.head_ref)} "
                     f"at {code(pr.head_sha[:12])}")
    elif event is not None:
        parts.append(f"{escape(event.name)} at {code(event.head_sha[:12])}")
    if environments:
        parts.append("Environments: " + ", ".join(code(e) for e in environments))
    parts.append(f"### Validation {verdict(result.ok)}\n\n{escape(validation_title(result))}\n\n{validation_markdown(result)}")
    if result.rules_ref:
        parts.append(f"Judged by the policies of the base, {code(result.rules_ref[:40])}, not by this pull request's.")
    if result.policy_change is not None:
        parts.append(policy_change_markdown(result))
    if approvals is not None:
        parts.append(f"### Approvals\n\n{approvals_markdown(approvals)}")
    parts.extend(escape(n, 2000) for n in notes)
    return "\n\n".join(parts) + "\n"
