"""The alert in the pull request it opened: every value from the payload escaped (github/markdown.py),
and a marker that says which model and environment the pull request is for (the de-duplication key)."""
from __future__ import annotations

import re
from collections.abc import Sequence

from releasegate.alerts.payload import Alert, Notification
from releasegate.github.markdown import code, details, escape, table

_KEY = re.compile(r"[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?")
_SHOWN = 10  # alerts listed in full; the rest are counted


def marker(env: str, model: str) -> str:
    """The hidden line that names the target of a pull request on-alert opened. ``env`` and ``model``
    come from the repository (a policy environment, a release file), never from the payload alone."""
    if not (_KEY.fullmatch(env) and _KEY.fullmatch(model)):
        raise ValueError(f"not a marker key: {env!r}, {model!r}")
    return f"<!-- releasegate:on-alert environment={env} model={model} -->"


def section(note: Notification, alerts: Sequence[Alert], env: str, model: str) -> str:
    """``### Alert``: what fired, when, where it came from; then the marker."""
    first = alerts[0]
    count = f"{len(alerts)} alert{'s' if len(alerts) != 1 else ''}"
    lines = [f"### Alert: {escape(first.name, 200)}", "",
             f"Opened by {count} from Alertmanager (receiver {code(note.receiver or '-')}, group "
             f"{code(note.group_key or '-', 300)}):", ""]
    for alert in alerts[:_SHOWN]:
        lines += [_one(alert), ""]
    if len(alerts) > _SHOWN or note.truncated:
        lines += [f"… and {len(alerts) - min(len(alerts), _SHOWN) + note.truncated} more.", ""]
    lines.append(marker(env, model))
    return "\n".join(lines) + "\n"


def _one(alert: Alert) -> str:
    rows = [["alert", escape(alert.name, 200)],
            ["summary", escape(alert.annotation("summary") or "-")],
            ["description", escape(alert.annotation("description") or "-")],
            ["since", code(alert.starts_at or "-")],
            ["source", code(alert.generator_url or "-", 500)],
            ["fingerprint", code(alert.fingerprint or "-")]]
    labels = table(["label", "value"], [[code(k, 100), code(v, 300)] for k, v in alert.labels])
    return table(["", ""], rows) + "\n\n" + details("labels", labels)
