"""``releasegate audit`` output: a table for people, JSON lines (releasegate/audit-row/v1) for programs."""
from __future__ import annotations

import json
from datetime import datetime

from releasegate.evidence import dora
from releasegate.evidence.audit import SCHEMA_VERSION, AuditReport, AuditRow

COLUMNS = ("MODEL", "ENV", "VERSION", "LIVE FROM", "LIVE TO", "PR", "PROMOTED BY", "APPROVED BY", "SIGNER", "EVIDENCE")


def table(report: AuditReport) -> str:
    if not report.rows:
        return "no release was live in the range asked for\n"
    cells = [COLUMNS] + [_cells(r) for r in report.rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(lines) + "\n"


def _cells(r: AuditRow) -> tuple[str, ...]:
    until = _iso(r.live_to) if r.live_to else "live"
    approved = ", ".join(r.approved_by) if r.approved_by else ("(none)" if r.approved_by is not None else "-")
    return (r.model, r.env, (r.version or "?") + (" (rollback)" if r.rollback else ""), _iso(r.live_from), until,
            f"#{r.pull_request}" if r.pull_request else "-", ", ".join(_name(a) for a in r.promoted_by),
            approved, r.model_signer or "-", r.evidence)


def _name(author: str) -> str:
    return author.split(" <", 1)[0]


def jsonl(report: AuditReport) -> str:
    return "".join(json.dumps(_row(r), sort_keys=True) + "\n" for r in report.rows)


def _row(r: AuditRow) -> dict[str, object]:
    return {
        "schemaVersion": SCHEMA_VERSION, "model": r.model, "environment": r.env, "version": r.version, "digest": r.digest,
        "liveFrom": _iso(r.live_from), "liveTo": _iso(r.live_to) if r.live_to else None, "endedBy": r.ended_by,
        "commit": r.commit, "pullRequest": r.pull_request, "rollback": r.rollback, "mergedBy": r.merged_by,
        "promotedBy": list(r.promoted_by), "approvedBy": list(r.approved_by) if r.approved_by is not None else None,
        "modelSigner": r.model_signer, "evidence": r.evidence, "record": r.record,
    }


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


DORA_COLUMNS = ("ENV", "SINCE", "UNTIL", "DEPLOYMENTS", "PER WEEK", "LEAD TIME (MEDIAN)", "CHANGE FAILURE RATE",
                "TIME TO RESTORE (MEDIAN)")


def dora_table(rows: list[dora.DoraRow]) -> str:
    if not rows:
        return "no release was live in the range asked for\n"
    cells = [DORA_COLUMNS] + [(
        r.env, _iso(r.since), _iso(r.until), str(r.deployments), f"{r.per_week:.2f}", _hours(r.lead_time_hours),
        "-" if r.change_failure_rate is None else f"{100 * r.change_failure_rate:.1f} % ({r.failures})",
        _hours(r.restore_hours) + (f" ({r.restored})" if r.restored else ""),
    ) for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(DORA_COLUMNS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells) + "\n"


def dora_jsonl(rows: list[dora.DoraRow]) -> str:
    return "".join(json.dumps({
        "schemaVersion": dora.SCHEMA_VERSION, "environment": r.env, "since": _iso(r.since), "until": _iso(r.until),
        "deployments": r.deployments, "deploymentsPerWeek": round(r.per_week, 4),
        "leadTimeHoursMedian": _round(r.lead_time_hours), "failures": r.failures,
        "changeFailureRate": _round(r.change_failure_rate), "timeToRestoreHoursMedian": _round(r.restore_hours),
        "restored": r.restored,
    }, sort_keys=True) + "\n" for r in rows)


def _hours(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f} h" if value < 48 else f"{value / 24:.1f} d"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def explain_text(rows: tuple[AuditRow, ...]) -> str:
    """The evidence behind what ``status`` shows (``status --explain``)."""
    lines = ["", "EVIDENCE"]
    for r in rows:
        approved = ", ".join(r.approved_by) if r.approved_by else "not recorded"
        where = f", record {r.record}" if r.record else ""
        lines.append(f"{r.model} {r.env} {r.version or '?'}: {r.evidence}; landed by {r.commit[:10]}"
                     f"{f' (#{r.pull_request})' if r.pull_request else ''}, promoted by "
                     f"{', '.join(_name(a) for a in r.promoted_by)}; approved by {approved}; "
                     f"model signer {r.model_signer or 'not recorded'}{where}")
    if len(lines) == 2:
        lines.append("(nothing live)")
    return "\n".join(lines) + "\n"


def explain_json(status: str, rows: tuple[AuditRow, ...]) -> str:
    """``status --format json --explain``: the status document with ``explain``, one audit row per live version."""
    payload = json.loads(status)
    payload["explain"] = [_row(r) for r in rows]
    return json.dumps(payload, indent=2) + "\n"
