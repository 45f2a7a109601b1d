"""Text and JSON renderings of status and history reports (strings; the CLI prints them).

The JSON forms are described by src/releasegate/data/status-report.schema.json and
history-report.schema.json (docs/history.md)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from releasegate.history.commit_log import Commit
from releasegate.history.query import LiveEntry
from releasegate.history.service import ModelHistory, StatusReport
from releasegate.history.timeline import Stint
from releasegate.rollout.state import Rollout

STATUS_SCHEMA_VERSION = "releasegate/status-report/v1"
HISTORY_SCHEMA_VERSION = "releasegate/history-report/v1"


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def duration(seconds: float) -> str:
    """``3d 4h``, ``5h 12m``, ``42m`` or ``<1m``."""
    minutes = int(max(seconds, 0) // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {mins}m"
    return f"{mins}m" if mins else "<1m"


def _pr(commit: Commit) -> str:
    return f"#{commit.pr}" if commit.pr is not None else "-"


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() + "\n" for r in rows)


def status_text(report: StatusReport) -> str:
    when = f"at {report.at.astimezone(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')}" if report.at else "now"
    head = f"Live {when} on {report.ref} ({report.commit[:10]})\n"
    if not report.entries:
        if report.at is not None and report.first_commit_time is not None:
            return head + f"Nothing was live yet: the release history starts at {iso(report.first_commit_time)}.\n"
        return head + "No release files in the history.\n"
    rows = [["MODEL", "ENV", "VERSION", "DIGEST", "SINCE", "COMMIT", "PR", "AUTHOR", "ROLLOUT"]]
    rows += [[e.model, e.env, e.version or "?", (e.digest or "-")[:12], iso(e.since.time),
              e.since.oid[:10], _pr(e.since), e.since.author, rollout_text(e.rollout)] for e in report.entries]
    return head + _table(rows)


def rollout_text(rollout: Rollout | None) -> str:
    """``canary step 2/4 (25 %) beside 1.3.0``, ``idle``, ``rolling`` (``-`` when the file says nothing)."""
    if rollout is None:
        return "-"
    beside = f" beside {rollout.stable_version}" if rollout.running and rollout.stable_version else ""
    return rollout.describe() + beside


def rollout_json(rollout: Rollout | None) -> dict[str, Any] | None:
    """``{"phase", "strategy", "step", "steps", "weight", "stableVersion"}``; ``step`` counts from 1."""
    if rollout is None:
        return None
    index = rollout.step_index
    return {"phase": rollout.phase, "strategy": rollout.strategy, "step": None if index is None else index + 1,
            "steps": len(rollout.steps), "weight": rollout.weight, "stableVersion": rollout.stable_version}


def _entry_json(e: LiveEntry) -> dict[str, Any]:
    return {"model": e.model, "environment": e.env, "version": e.version, "digest": e.digest,
            "path": e.path, "since": iso(e.since.time), "commit": e.since.oid, "pr": e.since.pr,
            "author": e.since.author, "authorEmail": e.since.email,
            "lastChange": {"commit": e.changed.oid, "at": iso(e.changed.time), "pr": e.changed.pr},
            "rollout": rollout_json(e.rollout)}


def status_json(report: StatusReport) -> str:
    at = report.at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if report.at else None
    payload = {"schemaVersion": STATUS_SCHEMA_VERSION, "ref": report.ref, "commit": report.commit, "at": at,
               "environments": list(report.environments), "releases": [_entry_json(e) for e in report.entries]}
    return json.dumps(payload, indent=2) + "\n"


def _ended(stint: Stint) -> str:
    if stint.end is None:
        return "live now"
    return f"{stint.ended_by} {iso(stint.end.time)} ({stint.end.oid[:10]})"


def history_text(report: ModelHistory) -> str:
    out = [f"History of {report.model} on {report.ref} ({report.commit[:10]}), newest first\n"]
    rows = [["ENV", "VERSION", "DIGEST", "PROMOTED", "BY", "PR", "COMMIT", "HOW", "LIVE FOR", "ENDED", "ROLLOUT"]]
    for env in report.environments:
        for s in report.stints[env]:
            rows.append([env, s.version or "?", (s.digest or "-")[:12], iso(s.start.time), s.start.author,
                         _pr(s.start), s.start.oid[:10], "rollback" if s.rollback else "promote",
                         duration(_live_seconds(s, report.now)), _ended(s), rollout_text(s.rollout)])
    return "".join(out) + _table(rows)


def _live_seconds(stint: Stint, now: datetime) -> float:
    end = stint.end.time if stint.end is not None else now.timestamp()
    return end - stint.start.time


def _stint_json(s: Stint, now: datetime) -> dict[str, Any]:
    return {"version": s.version, "digest": s.digest, "path": s.path, "promotedAt": iso(s.start.time),
            "promotedBy": s.start.author, "promotedByEmail": s.start.email, "commit": s.start.oid,
            "pr": s.start.pr, "subject": s.start.subject, "rollback": s.rollback, "live": s.live,
            "liveSeconds": int(_live_seconds(s, now)),
            "endedAt": iso(s.end.time) if s.end else None, "endedBy": s.ended_by,
            "endedCommit": s.end.oid if s.end else None, "endedPr": s.end.pr if s.end else None,
            "changes": s.changes, "blob": s.last_blob, "rollout": rollout_json(s.rollout)}


def history_json(report: ModelHistory) -> str:
    payload = {"schemaVersion": HISTORY_SCHEMA_VERSION, "model": report.model, "ref": report.ref,
               "commit": report.commit, "now": report.now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
               "environments": {env: [_stint_json(s, report.now) for s in report.stints[env]]
                                for env in report.environments}}
    return json.dumps(payload, indent=2) + "\n"
