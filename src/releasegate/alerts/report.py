"""What ``on-alert`` did, for people (text), programs (JSON) and GitHub Actions (annotations, summary)."""
from __future__ import annotations

import json
from typing import Any

from releasegate.alerts.on_alert import DUPLICATE, FAILED, OPENED, REFUSED, Handled, TargetResult
from releasegate.alerts.triage import Verdict
from releasegate.github.markdown import code, escape, table
from releasegate.github.workflow import annotation

SCHEMA_VERSION = "releasegate/on-alert-result/v1"  # src/releasegate/data/on-alert-result.schema.json


def _who(v: Verdict) -> str:
    a = v.alert
    return " ".join(str(a.label(k) or "?") for k in ("model", "version")) + \
        f" ({a.label('track') or '?'}) in {a.label('environment') or '?'}"


def _outcome(handled: Handled, v: Verdict) -> tuple[str, str, TargetResult | None]:
    target = handled.result_of(v)
    if target is None:
        return v.outcome, v.detail, None
    return target.outcome, target.detail, target


def _line(handled: Handled, v: Verdict) -> str:
    outcome, detail, target = _outcome(handled, v)
    where = f" #{target.pull_request}" if target is not None and target.pull_request else ""
    return f"{v.alert.name[:120]} {_who(v)[:200]}: {outcome}{where}: {detail}"


def summary(handled: Handled) -> str:
    counts: dict[str, int] = {}
    for t in handled.targets:
        counts[t.outcome] = counts.get(t.outcome, 0) + 1
    ignored = sum(1 for v in handled.verdicts if v.action is None)
    parts = [f"{n} {name}" for name, n in sorted(counts.items())] + ([f"{ignored} alert(s) ignored"] if ignored else [])
    return f"{len(handled.verdicts)} alert(s): " + (", ".join(parts) or "nothing to do")


def text(handled: Handled) -> str:
    lines = [_line(handled, v) for v in handled.verdicts]
    lines += [f"  pull request #{t.pull_request}: {t.url}" for t in handled.targets if t.outcome == OPENED]
    return "\n".join([*lines, summary(handled)]) + "\n"


def to_json(handled: Handled) -> str:
    note = handled.notification
    doc: dict[str, Any] = {
        "schemaVersion": SCHEMA_VERSION, "ok": handled.exit_code == 0, "groupKey": note.group_key,
        "alerts": [_alert_json(handled, v) for v in handled.verdicts],
        "targets": [{"environment": t.env, "model": t.model, "action": t.action, "outcome": t.outcome,
                     "detail": t.detail, "pullRequest": t.pull_request, "url": t.url, "branch": t.branch,
                     "alerts": len(t.alerts)} for t in handled.targets],
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def _alert_json(handled: Handled, v: Verdict) -> dict[str, Any]:
    outcome, detail, target = _outcome(handled, v)
    a = v.alert
    return {"alertname": a.name, "status": a.status, "fingerprint": a.fingerprint,
            "model": a.label("model"), "environment": a.label("environment"), "version": a.label("version"),
            "track": a.label("track"), "outcome": outcome, "detail": detail,
            "pullRequest": target.pull_request if target is not None else None}


def github(handled: Handled) -> str:
    """Annotations: a notice per pull request opened or already open, an error per refusal or failure."""
    out = []
    for t in handled.targets:
        title = f"on-alert {t.model} in {t.env}"
        if t.outcome in (OPENED, DUPLICATE):
            out.append(annotation("notice", f"{t.outcome}: #{t.pull_request} {t.url or ''}", title=title))
        elif t.outcome in (REFUSED, FAILED):
            out.append(annotation("error", f"{t.action} {t.outcome}: {t.detail}", title=title))
    return "".join(line + "\n" for line in out) + text(handled)


def step_summary(handled: Handled) -> str:
    rows = []
    for v in handled.verdicts:
        outcome, detail, target = _outcome(handled, v)
        pr = f"#{target.pull_request}" if target is not None and target.pull_request else "-"
        rows.append([escape(v.alert.name, 120), escape(_who(v), 200), code(outcome), pr, escape(detail, 500)])
    return "## releasegate on-alert\n\n" + table(["alert", "about", "outcome", "pull request", "why"], rows) + \
        f"\n\n{escape(summary(handled))}\n"
