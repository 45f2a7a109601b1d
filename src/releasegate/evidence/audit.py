"""``releasegate audit``: who put each model version live, who approved it, when, and whether the
evidence says so, per model, environment and time range.

The stints come from Git (:class:`releasegate.history.query.History`: what was live when, on the
first-parent history of ``ref``); who approved and who signed the model can only come from the
evidence records (Git does not hold reviews), and only from records that verify with the keys of
``ref``'s policy pack. A stint's evidence is the record of the commit that started it:

* ``verified`` - a record that verified;
* ``invalid`` - a record exists but does not verify (``releasegate verify`` says why);
* ``missing`` - none, and the environment requires one (``evidence.requiredFor`` since ``evidence.since``);
* ``none`` - none, and none is required.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from releasegate.base_rules import rules_from
from releasegate.evidence import store
from releasegate.evidence.verify import RecordCheck, check_records
from releasegate.history.git import open_repo
from releasegate.history.merges import BroughtIn, brought_in
from releasegate.history.query import History
from releasegate.history.timeline import Stint
from releasegate.layout import RepoLayout
from releasegate.policy import PolicyPack, load_policy_pack

SCHEMA_VERSION = "releasegate/audit-row/v1"  # src/releasegate/data/audit-row.schema.json


@dataclass(frozen=True)
class AuditRow:
    model: str
    env: str
    version: str | None
    digest: str | None
    live_from: datetime
    live_to: datetime | None  # None: live now
    ended_by: str | None  # promotion, rollback, retired, renamed
    commit: str  # the commit that put it live
    pull_request: int | None
    rollback: bool
    merged_by: str
    promoted_by: tuple[str, ...]  # the authors of the change (from the record, else from Git)
    approved_by: tuple[str, ...] | None  # None: no verified record holds the approvals
    model_signer: str | None
    evidence: str  # verified, invalid, missing, none
    record: str | None  # the record file that verified


@dataclass(frozen=True)
class AuditReport:
    ref: str
    evidence_ref: str | None
    rows: tuple[AuditRow, ...]

    @property
    def complete(self) -> bool:
        """Every stint that needs evidence has a verified record."""
        return all(r.evidence in ("verified", "none") for r in self.rows)


def audit(layout: RepoLayout, ref: str = "HEAD", models: Sequence[str] = (), envs: Sequence[str] = (),
          since: datetime | None = None, until: datetime | None = None, evidence_ref: str | None = None,
          evidence_dir: Path | None = None) -> AuditReport:
    git = open_repo(layout.root)
    tip = git.rev_parse(ref)
    policy = load_policy_pack(rules_from(layout, tip, git))
    checked = check_records(git, tip, policy, ref, evidence_ref, evidence_dir)
    verified = {(r.environment, r.model, r.commit[:12]): r for r in checked.records}
    broken = {(n.env, n.model, n.commit) for p in checked.problems if (n := store.parse_record_path(p.file))}
    rows = []
    changes = brought_in(git, tip)
    with History.open(layout.root, tip, use_cache=True, git=git) as history:
        for env, model in sorted(history.keys()):
            if (models and model not in models) or (envs and env not in envs):
                continue
            for stint in history.stints(env, model):
                if _overlaps(stint, since, until):
                    key = (env, model, stint.start.oid[:12])
                    rows.append(_row(changes, policy, stint, verified.get(key), key in broken))
    rows.sort(key=lambda r: (r.live_from, r.env, r.model))
    return AuditReport(ref, checked.evidence_ref, tuple(rows))


def _overlaps(stint: Stint, since: datetime | None, until: datetime | None) -> bool:
    start = stint.start.time
    end = stint.end.time if stint.end is not None else None
    return (until is None or start <= until.timestamp()) and (since is None or end is None or end > since.timestamp())


def _row(changes: dict[str, BroughtIn], policy: PolicyPack, stint: Stint, record: RecordCheck | None,
         broken: bool) -> AuditRow:
    start = stint.start
    if record is not None:
        evidence = "verified"
    elif broken:
        evidence = "invalid"
    else:
        evidence = "missing" if _required(policy, stint) else "none"
    brought = changes.get(start.oid)
    authors = record.authors if record is not None and record.authors else \
        brought.authors if brought is not None and start.parent is not None else (f"{start.author} <{start.email}>",)
    return AuditRow(
        stint.model, stint.env, stint.version, stint.digest, _time(start.time),
        _time(stint.end.time) if stint.end is not None else None, stint.ended_by, start.oid, start.pr, stint.rollback,
        f"{start.author} <{start.email}>", authors, record.approvers if record else None,
        record.model_signer if record else None, evidence, record.file if record else None)


def _required(policy: PolicyPack, stint: Stint) -> bool:
    since = policy.evidence.since
    return (stint.env in policy.evidence.required_for and stint.start.parent is not None
            and (since is None or stint.start.time >= since.timestamp()))


def _time(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)
