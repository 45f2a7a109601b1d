"""``releasegate verify``: every model signature and evidence record of the repository, offline.

Trust comes from the policy pack of ``ref`` (default ``HEAD``), read from Git objects
(:func:`releasegate.base_rules.rules_from`): the environments' model signers and
``evidence.signers``. Three kinds of problem, each naming the file:

* ``model-signature`` - as ``validate``'s rule, for every release file of the work tree;
* ``evidence-format``, ``evidence-signature``, ``evidence-mismatch`` - a record that is not one,
  is not signed by a trusted key (or was changed after signing), or no longer agrees with the
  repository: its release file at the recorded commit has another digest, the commit is gone or
  not on ``ref``'s history, or its path says another environment, model, version or commit;
* ``evidence-missing`` - a release decision in an environment of ``evidence.requiredFor``, merged
  on ``ref``'s first-parent history since ``evidence.since``, without a record.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from releasegate.base_rules import rules_from
from releasegate.errors import SignatureError, SignatureInputError
from releasegate.evidence import store
from releasegate.evidence.statement import DECISION, STATEMENT, TEST_RESULT, VSA
from releasegate.history.commit_log import ENV_PREFIX, read_log
from releasegate.history.git import Git, open_repo
from releasegate.layout import RepoLayout, parse_release_source
from releasegate.policy import PolicyPack, load_policy_pack
from releasegate.signing.dsse import PublicKey, load_public_key, open_envelope

SCHEMA_VERSION = "releasegate/verify-result/v1"  # src/releasegate/data/verify-result.schema.json
DEFAULT_BRANCH = "releasegate/evidence"
KNOWN = (VSA, TEST_RESULT, DECISION)


@dataclass(frozen=True)
class Problem:
    check: str
    file: str
    message: str
    hint: str = ""
    line: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.check, "file": self.file, "line": self.line, "message": self.message, "hint": self.hint}


@dataclass(frozen=True)
class RecordCheck:
    """A record that verified: what it is about and who signed it."""

    file: str
    environment: str
    model: str
    version: str
    commit: str
    signer: str
    statements: tuple[str, ...]
    verdict: str  # the validate verdict it records: PASSED or FAILED
    authors: tuple[str, ...] = ()  # who wrote the change
    approvers: tuple[str, ...] | None = None  # None: the record holds no approvals
    model_signer: str | None = None  # who signed the model, as verified when it was recorded


@dataclass
class VerifyResult:
    ref: str
    evidence_ref: str | None
    records: list[RecordCheck] = field(default_factory=list)
    signatures: list[tuple[str, str]] = field(default_factory=list)  # (release file, signer)
    problems: list[Problem] = field(default_factory=list)
    evidence_configured: bool = False
    evidence_dir: Path | None = None  # records were read from this folder instead of a ref

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_repository(layout: RepoLayout, ref: str = "HEAD", evidence_ref: str | None = None,
                      evidence_dir: Path | None = None, now: datetime | None = None) -> VerifyResult:
    git = open_repo(layout.root)
    tip = git.rev_parse(ref)
    policy = load_policy_pack(rules_from(layout, tip, git))
    result = check_records(git, tip, policy, ref, evidence_ref, evidence_dir)
    _model_signatures(layout, tip, now, result)
    _missing(git, tip, policy, result)
    result.problems.sort(key=lambda p: (p.file, p.line or 0, p.check))
    return result


def check_records(git: Git, tip: str, policy: PolicyPack, ref: str, evidence_ref: str | None = None,
                  evidence_dir: Path | None = None) -> VerifyResult:
    """Every record (of the evidence ref or folder) checked against the keys of ``policy`` and the history of ``tip``."""
    keys = _evidence_keys(policy)
    source = _source(git, policy, evidence_ref, evidence_dir)
    result = VerifyResult(ref, source, evidence_configured=bool(keys), evidence_dir=evidence_dir)
    files, refused = _read(git, source, evidence_dir)
    result.problems += [Problem("evidence-format", p, "a link or a file over 1 MiB under evidence/: not read",
                                "records are regular files written by releasegate evidence record") for p in refused]
    opened = [r for path, data in sorted(files.items()) if (r := _open_record(path, data, keys, result)) is not None]
    facts = _GitFacts.read(git, tip, opened)
    for record in opened:
        problems = _consistency(facts, record)
        result.problems += problems
        if not problems:
            result.records.append(_record_check(record))
    return result


def _evidence_keys(policy: PolicyPack) -> list[PublicKey]:
    return [load_public_key(s.material(s.public_key, "publicKey"), f"{s.where}: publicKey", s.label)
            for s in policy.evidence.signers]


def _source(git: Git, policy: PolicyPack, evidence_ref: str | None, evidence_dir: Path | None) -> str | None:
    """Where records are read: the folder, the ref given, else the policy's branch (local, then origin's)."""
    if evidence_dir is not None:
        return None
    if evidence_ref is not None:
        return evidence_ref
    branch = policy.evidence.branch
    for candidate in (branch, f"origin/{branch}"):
        if git.ok(["rev-parse", "--verify", "-q", f"{candidate}^{{commit}}"]):
            return candidate
    return None


def _read(git: Git, source: str | None, folder: Path | None) -> tuple[dict[str, bytes], list[str]]:
    if folder is not None:
        return store.read_from_folder(folder)
    if source is None:
        return {}, []
    return store.read_from_ref(git, source)


def _model_signatures(layout: RepoLayout, tip: str, now: datetime | None, result: VerifyResult) -> None:
    from releasegate.validate import run_validation
    from releasegate.validate.rules.signature import ModelSignatureRule

    rule = ModelSignatureRule()
    validation = run_validation(layout, all_files=True, rules=[rule], rules_ref=tip, now=now)
    result.signatures += rule.verified
    result.problems += [Problem(v.rule if v.rule == "model-signature" else "release-file", v.file, v.message, v.hint, v.line)
                        for v in validation.violations]


@dataclass(frozen=True)
class _Opened:
    """A record whose signatures verified, with what it states."""

    path: str
    name: store.RecordName
    signer: str
    statements: list[dict[str, Any]]


def _open_record(path: str, data: bytes, keys: list[PublicKey], result: VerifyResult) -> _Opened | None:
    name = store.parse_record_path(path)
    if name is None:
        result.problems.append(Problem("evidence-format", path, "not a record path: evidence/<env>/<model>/<version>-"
                                       "<commit12>.intoto.jsonl", "records are written by releasegate evidence record"))
        return None
    statements: list[dict[str, Any]] = []
    signer = ""
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            payload, key = open_envelope(_json(line, path, number), keys, f"{path}:{number}")
            statements.append(_statement(payload, path, number))
            signer = key.name
        except (SignatureError, SignatureInputError) as e:
            check = "evidence-signature" if isinstance(e, SignatureError) else "evidence-format"
            result.problems.append(Problem(check, path, e.message.removeprefix(f"{path}:{number}: "), e.hint or "", number))
            return None
    return _Opened(path, name, signer, statements)


def _record_check(record: _Opened) -> RecordCheck:
    decision = _predicate(record, DECISION)
    approvals = decision.get("approvals")
    signature = decision.get("modelSignature")
    name = record.name
    return RecordCheck(
        record.path, name.env, name.model, name.version, decision["change"]["commit"], record.signer,
        tuple(s["predicateType"] for s in record.statements), str(_predicate(record, VSA).get("verificationResult")),
        tuple(str(a) for a in decision["change"].get("authors") or ()),
        tuple(str(a) for a in approvals.get("approvers") or ()) if isinstance(approvals, dict) else None,
        str(signature["signer"]) if isinstance(signature, dict) and signature.get("signer") else None)


def _predicate(record: _Opened, kind: str) -> dict[str, Any]:
    return next(s for s in record.statements if s["predicateType"] == kind)["predicate"]


def _json(line: str, path: str, number: int) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError as e:
        raise SignatureInputError(f"{path}:{number}: not JSON ({e.msg}, column {e.colno}): truncated or damaged?",
                                  "restore the record from the evidence branch's history", code="bundle-unreadable") from e


def _statement(payload: bytes, path: str, number: int) -> dict[str, Any]:
    try:
        statement = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SignatureInputError(f"{path}:{number}: the signed payload is not JSON", "record the decision again",
                                  code="bundle-unreadable") from e
    if not isinstance(statement, dict) or statement.get("_type") != STATEMENT or not isinstance(statement.get("subject"), list) \
            or statement.get("predicateType") not in KNOWN or not isinstance(statement.get("predicate"), dict):
        raise SignatureInputError(f"{path}:{number}: not an in-toto Statement v1 of a known predicate type",
                                  "record the decision again", code="bundle-unreadable")
    return statement


@dataclass(frozen=True)
class _GitFacts:
    """What the records' commits and release files are in the repository, read in three Git calls
    for all records together (one process per record made verify of 1,000 records take ~20 s)."""

    tip: str
    objects: dict[str, bytes | None]  # "<commit>^{commit}" and "<commit>:<release file>"
    on_history: frozenset[str]  # every commit reachable from tip

    @classmethod
    def read(cls, git: Git, tip: str, records: list[_Opened]) -> _GitFacts:
        names = []
        for record in records:
            commit, release = _recorded(record)
            if _HEX.fullmatch(commit):
                names += [f"{commit}^{{commit}}", f"{commit}:{release}"]
        reachable = git.text(["rev-list", tip]).split() if records else []
        return cls(tip, git.objects(names), frozenset(reachable))


_HEX = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")


def _recorded(record: _Opened) -> tuple[str, str]:
    """(commit, release file) the record's decision statement names ("" when it has none)."""
    decision: dict[str, Any] = next((s["predicate"] for s in record.statements if s["predicateType"] == DECISION), {})
    return str((decision.get("change") or {}).get("commit", "")), str(decision.get("releaseFile", ""))


def _consistency(facts: _GitFacts, record: _Opened) -> list[Problem]:
    path, name, statements = record.path, record.name, record.statements
    kinds = [s["predicateType"] for s in statements]
    if VSA not in kinds or DECISION not in kinds:
        return [Problem("evidence-format", path, "the record lacks its verification summary or its decision statement",
                        "record the decision again")]
    if any(s["subject"] != statements[0]["subject"] for s in statements):
        return [Problem("evidence-mismatch", path, "the record's statements are about different subjects",
                        "record the decision again")]
    decision = _predicate(record, DECISION)
    commit, release = _recorded(record)
    said = (decision.get("environment"), decision.get("model"), decision.get("version") or "unversioned", commit[:12])
    if said != (name.env, name.model, name.version, name.commit) or parse_release_source(release) != (name.env, name.model):
        return [Problem("evidence-mismatch", path, f"the record's path does not match what it records "
                        f"({release} {decision.get('version')} at {commit[:12]})", "records are not renamed or moved")]
    return _against_git(facts, path, commit, release, statements[0]["subject"])


def _against_git(facts: _GitFacts, path: str, commit: str, release: str, subjects: list[Any]) -> list[Problem]:
    if facts.objects.get(f"{commit}^{{commit}}") is None:
        return [Problem("evidence-mismatch", path, f"the recorded commit {commit[:12]} is not in this repository",
                        "fetch the full history (git fetch --unshallow); if it is gone, history was rewritten")]
    if commit not in facts.on_history:
        return [Problem("evidence-mismatch", path, f"the recorded commit {commit[:12]} is not on the history of {facts.tip[:12]}",
                        "a record belongs to a merge of the branch it describes")]
    data = facts.objects.get(f"{commit}:{release}")
    want = next((s.get("digest", {}).get("sha256") for s in subjects if isinstance(s, dict) and s.get("name") == release), None)
    actual = hashlib.sha256(data).hexdigest() if data is not None else None
    if actual != want:
        found = "is missing there" if actual is None else f"has sha256 {actual}"
        return [Problem("evidence-mismatch", path, f"the release file no longer matches: the record says {release} at "
                        f"{commit[:12]} had sha256 {want}, the repository's {found}",
                        "the record or the history was altered: restore it, and find out how")]
    return []


def _missing(git: Git, tip: str, policy: PolicyPack, result: VerifyResult) -> None:
    """Decisions that need a record and have no record that verified (a broken one counts for nothing)."""
    wanted = set(policy.evidence.required_for)
    if not wanted:
        return
    since = policy.evidence.since.timestamp() if policy.evidence.since else None
    recorded = {(r.environment, r.model, r.commit[:12]) for r in result.records}
    for commit in read_log(git, tip, (ENV_PREFIX,)):
        if commit.parent is None or (since is not None and commit.time < since):
            continue
        for change in commit.changes:
            key = parse_release_source(change.path)
            if key is None or change.blob is None or key[0] not in wanted or (*key, commit.oid[:12]) in recorded:
                continue
            when = datetime.fromtimestamp(commit.time, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            pr = f" (#{commit.pr})" if commit.pr else ""
            result.problems.append(Problem(
                "evidence-missing", change.path,
                f"no evidence record of the decision {commit.oid[:12]}{pr} merged {when} "
                f"({key[0]} requires one: evidence.requiredFor)",
                f"record it: releasegate evidence record --commit {commit.oid[:12]} --branch {policy.evidence.branch}"))

