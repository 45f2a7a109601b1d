"""The four DORA figures per environment, from Git history alone (``releasegate audit --dora``).

* **Deployment frequency**: versions that went live (rollbacks not counted), per week of the range.
* **Lead time for changes**: from the first commit of the change to the moment it went live (its
  merge on the first-parent line). For a merge, the oldest author time among the commits it brought
  in; for a squash or rebase commit, its own author time. Median over the deployments of the range.
* **Change-failure rate**: the share of those deployments that a rollback or a canary abort ended.
* **Time to restore**: for each failed deployment, from the bad merge to the merged rollback (the
  moment an alert fired is not in Git; the bad merge is the earliest moment the record holds). Median.

Everything is computed from the first-parent record (:class:`releasegate.history.query.History`) and
one ``git log`` of the commit graph (:mod:`releasegate.history.merges`); no GitHub, no evidence records.
"""
from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from releasegate.history.git import open_repo
from releasegate.history.merges import brought_in
from releasegate.history.query import History
from releasegate.history.timeline import ENDED_ROLLBACK, Stint
from releasegate.layout import RepoLayout

SCHEMA_VERSION = "releasegate/dora-row/v1"  # src/releasegate/data/dora-row.schema.json
WEEK = 7 * 24 * 3600.0


@dataclass(frozen=True)
class DoraRow:
    env: str
    since: datetime
    until: datetime
    deployments: int
    per_week: float
    lead_time_hours: float | None  # median
    failures: int
    change_failure_rate: float | None
    restore_hours: float | None  # median over the failures that were restored
    restored: int


def dora(layout: RepoLayout, ref: str = "HEAD", envs: Sequence[str] = (), since: datetime | None = None,
         until: datetime | None = None) -> list[DoraRow]:
    """One row per environment (or per ``envs``) over [since, until] (default: the whole record, until now)."""
    git = open_repo(layout.root)
    tip = git.rev_parse(ref)
    first_authored = {oid: b.first_authored for oid, b in brought_in(git, tip).items()}
    with History.open(layout.root, tip, use_cache=True, git=git) as history:
        by_env: dict[str, list[Stint]] = {}
        for env, model in history.keys():
            if not envs or env in envs:
                by_env.setdefault(env, []).extend(history.stints(env, model))
    end = (until or datetime.now(timezone.utc)).timestamp()
    rows = []
    for env in sorted(by_env):
        stints = by_env[env]
        start = since.timestamp() if since else min((s.start.time for s in stints), default=end)
        rows.append(_row(env, stints, start, end, first_authored))
    return rows


def _row(env: str, stints: list[Stint], start: float, end: float, first_authored: dict[str, int]) -> DoraRow:
    deployed = [s for s in stints if not s.rollback and start <= s.start.time <= end]
    leads = [(s.start.time - first_authored.get(s.start.oid, s.start.time)) / 3600.0 for s in deployed]
    failed = [s for s in deployed if s.ended_by == ENDED_ROLLBACK]
    restores = [(s.end.time - s.start.time) / 3600.0 for s in failed if s.end is not None]
    weeks = max(end - start, 1.0) / WEEK
    return DoraRow(
        env, _time(start), _time(end), len(deployed), len(deployed) / weeks,
        statistics.median(leads) if leads else None, len(failed),
        len(failed) / len(deployed) if deployed else None,
        statistics.median(restores) if restores else None, len(restores),
    )


def _time(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)
