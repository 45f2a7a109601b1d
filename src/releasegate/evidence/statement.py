"""The three in-toto statements (v1) of one release decision, built from plain facts.

Field names follow the published types: the SLSA verification summary
(``in_toto_attestation.predicates.vsa.v1``) and the test result
(``in_toto_attestation.predicates.test_result.v0``); the tests parse each predicate into those
protobuf types with unknown fields refused. The decision predicate is releasegate's own
(docs/evidence.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from releasegate import __version__
from releasegate.evidence.facts import Digest, Merge, ReleaseChange

STATEMENT = "https://in-toto.io/Statement/v1"
VSA = "https://slsa.dev/verification_summary/v1"
TEST_RESULT = "https://in-toto.io/attestation/test-result/v0.1"
DECISION = "https://releasegate.dev/attestation/release-decision/v1"
VERIFIER = "https://releasegate.dev/verifier/validate"
VERIFIED_LEVEL = "RELEASEGATE_POLICY_V1"  # custom levels must not start with SLSA_


@dataclass(frozen=True)
class Finding:
    """One violation of the validate verdict."""

    rule: str
    file: str
    line: int
    message: str


@dataclass(frozen=True)
class Approvals:
    """The approvals of the pull request at merge time (``releasegate approvals --format json``)."""

    sha256: str
    ok: bool
    required: int
    approvers: tuple[str, ...]
    ignored: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class LoadTest:
    """This release's entry of a load-test result (``releasegate loadtest --format json``)."""

    sha256: str
    verdict: str  # pass, fail, inconclusive, skipped, error
    code: str
    reason: str


@dataclass(frozen=True)
class Decision:
    """Everything one record states."""

    merge: Merge
    release: ReleaseChange
    policy_tree: str
    policy_sha256: str
    findings: tuple[Finding, ...]
    manifests: tuple[Digest, ...]
    approvals: Approvals | None
    load_test: LoadTest | None
    recorded_at: datetime
    model_signer: str | None = None  # the trusted signer whose model signature verified at the merge

    @property
    def passed(self) -> bool:
        return not self.findings


def statements(d: Decision) -> list[dict[str, Any]]:
    """The statements of one record, in order: verification summary, test result (if any), decision."""
    subjects = _subjects(d.release)
    found = [_statement(subjects, VSA, _vsa(d))]
    if d.load_test is not None:
        found.append(_statement(subjects, TEST_RESULT, _test_result(d, d.load_test)))
    found.append(_statement(subjects, DECISION, _decision(d)))
    return found


def _statement(subjects: list[dict[str, Any]], predicate_type: str, predicate: dict[str, Any]) -> dict[str, Any]:
    return {"_type": STATEMENT, "subject": subjects, "predicateType": predicate_type, "predicate": predicate}


def _subjects(release: ReleaseChange) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [release.file.descriptor()]
    if release.artifact_uri and release.artifact_sha256:
        found.append({"name": release.artifact_uri, "digest": {"sha256": release.artifact_sha256}})
    return found


def _vsa(d: Decision) -> dict[str, Any]:
    return {
        "verifier": {"id": VERIFIER},
        "timeVerified": iso(d.recorded_at),
        "resourceUri": f"{d.release.file.name}@{d.merge.oid}",
        "policy": {"uri": f"policies/@{d.merge.parent}", "digest": {"sha256": d.policy_sha256, "gitTree": d.policy_tree}},
        "verificationResult": "PASSED" if d.passed else "FAILED",
        "verifiedLevels": [VERIFIED_LEVEL] if d.passed else [],
    }


def _test_result(d: Decision, test: LoadTest) -> dict[str, Any]:
    result = {"pass": "PASSED", "skipped": "WARNED"}.get(test.verdict, "FAILED")
    name = f"loadtest {d.release.file.name}"
    return {
        "result": result,
        "configuration": [{"name": "loadtest-result.json", "digest": {"sha256": test.sha256}},
                          {"name": "policies/", "digest": {"sha256": d.policy_sha256, "gitTree": d.policy_tree}}],
        "passedTests": [name] if result == "PASSED" else [],
        "warnedTests": [f"{name}: {test.reason}"] if result == "WARNED" else [],
        "failedTests": [f"{name}: {test.verdict} {test.code}".rstrip()] if result == "FAILED" else [],
    }


def _decision(d: Decision) -> dict[str, Any]:
    c = d.merge.commit
    return {
        "environment": d.release.env,
        "model": d.release.model,
        "version": d.release.version,
        "releaseFile": d.release.file.name,
        "change": {"commit": c.oid, "parent": d.merge.parent, "pullRequest": c.pr,
                   "mergedAt": iso(datetime.fromtimestamp(c.time, timezone.utc)),
                   "mergedBy": f"{c.author} <{c.email}>", "authors": list(d.merge.authors),
                   "subject": c.subject, "rollback": d.merge.rollback},
        "policy": {"ref": d.merge.parent, "gitTree": d.policy_tree, "sha256": d.policy_sha256},
        "validate": {"ok": d.passed, "violations": [
            {"rule": f.rule, "file": f.file, "line": f.line, "message": f.message} for f in d.findings]},
        "approvals": None if d.approvals is None else {
            "sha256": d.approvals.sha256, "ok": d.approvals.ok, "required": d.approvals.required,
            "approvers": list(d.approvals.approvers),
            "ignored": [{"user": u, "reason": r} for u, r in d.approvals.ignored]},
        "loadTest": None if d.load_test is None else {
            "sha256": d.load_test.sha256, "verdict": d.load_test.verdict, "code": d.load_test.code},
        "modelSignature": _signature(d),
        "manifests": [m.descriptor() for m in d.manifests],
        "recordedAt": iso(d.recorded_at),
        "recordedBy": f"releasegate {__version__}",
    }


def _signature(d: Decision) -> dict[str, Any] | None:
    """The model's signature bundle as the release names it, and who signed it (null: not verified then)."""
    if d.release.signature_uri is None:
        return None
    return {"uri": d.release.signature_uri, "sha256": d.release.signature_sha256, "signer": d.model_signer}


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
