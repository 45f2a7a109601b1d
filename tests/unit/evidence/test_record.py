"""``releasegate evidence record``: three signed in-toto statements per release file a merge changed."""
from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.cli import run_cli
from tests.unit.evidence.conftest import PROD, Story

RECORD = "evidence/prod/sentiment/1.1.0-{commit}.intoto.jsonl"


def record(capsys: pytest.CaptureFixture[str], story: Story, *extra: str) -> Any:
    return run_cli(capsys, "evidence", "record", "--root", str(story.root), "--key-file", str(story.key),
                   "--branch", "releasegate/evidence", "--now", "2026-01-09T12:05:00Z", *extra)


def records_on_branch(story: Story, commit: str) -> list[dict[str, Any]]:
    text = story.repo.git("show", f"releasegate/evidence:{RECORD.format(commit=commit[:12])}")
    return [json.loads(line) for line in text.splitlines()]


def payload(envelope: dict[str, Any]) -> dict[str, Any]:
    return json.loads(base64.b64decode(envelope["payload"]))  # type: ignore[no-any-return]


def test_a_merge_gets_a_record_on_the_evidence_branch(story: Story, capsys: pytest.CaptureFixture[str]) -> None:
    branch_before = story.repo.git("rev-parse", "--abbrev-ref", "HEAD")
    result = record(capsys, story)
    assert result.code == 0, result.err
    assert result.out == f"recorded {RECORD.format(commit=story.prod_merge[:12])} (branch releasegate/evidence)\n"
    assert story.repo.git("rev-parse", "--abbrev-ref", "HEAD") == branch_before and story.repo.git("status", "--short") == ""
    vsa, decision = (payload(e) for e in records_on_branch(story, story.prod_merge))
    assert vsa["predicateType"] == "https://slsa.dev/verification_summary/v1"
    assert vsa["predicate"]["verificationResult"] == "PASSED"
    assert vsa["subject"][0]["name"] == PROD and decision["subject"] == vsa["subject"]
    assert vsa["subject"][1]["name"] == "s3://models/sentiment/1.1.0/model.pt2"
    d = decision["predicate"]
    assert (d["environment"], d["model"], d["version"]) == ("prod", "sentiment", "1.1.0")
    assert d["change"]["pullRequest"] == 3 and d["change"]["mergedAt"] == "2026-01-09T12:00:00Z"
    assert d["change"]["authors"] == ["Pat Dev <pat@example.com>"] and d["change"]["rollback"] is False
    assert d["policy"]["ref"] == story.repo.git("rev-parse", f"{story.prod_merge}^1")
    assert d["approvals"] is None and d["loadTest"] is None and d["validate"] == {"ok": True, "violations": []}


def test_recording_twice_keeps_the_first_record(story: Story, capsys: pytest.CaptureFixture[str]) -> None:
    assert record(capsys, story).code == 0
    tip = story.repo.git("rev-parse", "releasegate/evidence")
    again = record(capsys, story)
    assert again.code == 0 and again.out.startswith("already recorded evidence/prod/sentiment/1.1.0-")
    assert story.repo.git("rev-parse", "releasegate/evidence") == tip


def test_an_older_merge_is_recorded_from_a_temporary_worktree(story: Story, capsys: pytest.CaptureFixture[str]) -> None:
    staging = story.repo.git("rev-parse", f"{story.prod_merge}^1")
    result = record(capsys, story, "--commit", staging)
    assert result.code == 0 and "evidence/staging/sentiment/1.1.0-" in result.out
    assert story.repo.git("worktree", "list").count("\n") == 0  # the temporary worktree is gone


def test_approvals_and_the_load_test_result_are_recorded_by_digest(story: Story, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    import hashlib

    approvals = tmp_path / "approvals.json"
    approvals.write_text(json.dumps({"schemaVersion": "releasegate/approvals-result/v1", "ok": True, "approvals": 2,
                                     "required": 2, "approvers": ["bob", "carol"], "ignored": [
                                         {"user": "pat", "reason": "the pull request author cannot approve their own change"}]}))
    result = tmp_path / "result.json"
    result.write_text(json.dumps({"schemaVersion": "releasegate/loadtest-result/v1", "releases": [
        {"file": PROD, "verdict": "pass", "code": "", "reason": "no regression beyond the policy's limits"}]}))
    assert record(capsys, story, "--approvals", str(approvals), "--loadtest-result", str(result)).code == 0
    vsa, test, decision = (payload(e) for e in records_on_branch(story, story.prod_merge))
    assert test["predicateType"] == "https://in-toto.io/attestation/test-result/v0.1"
    assert test["predicate"]["result"] == "PASSED" and test["predicate"]["passedTests"] == [f"loadtest {PROD}"]
    d = decision["predicate"]
    assert d["approvals"]["approvers"] == ["bob", "carol"] and d["approvals"]["sha256"] == hashlib.sha256(approvals.read_bytes()).hexdigest()
    assert d["loadTest"] == {"sha256": hashlib.sha256(result.read_bytes()).hexdigest(), "verdict": "pass", "code": ""}


def test_a_merge_with_violations_is_recorded_as_failed(story: Story, capsys: pytest.CaptureFixture[str]) -> None:
    """Merged on a Saturday (the weekend freeze): the record tells the truth."""
    from tests.gitrepo import release

    story.repo.merge_pr(4, "weekend", "2026-01-10T12:00:00Z", {PROD: release("sentiment", "1.1.0", env="prod", stable="1.0.0",
                                                                              replicas=4)}, "Scale sentiment", author="Pat Dev")
    result = record(capsys, story)
    assert result.code == 0 and "was merged with 1 violation(s) by the base's rules; the record says FAILED" in result.err
    vsa, decision = (payload(e) for e in records_on_branch(story, story.repo.head()))
    assert vsa["predicate"]["verificationResult"] == "FAILED" and vsa["predicate"]["verifiedLevels"] == []
    assert decision["predicate"]["validate"]["violations"][0]["rule"] == "freeze-window"


def test_the_statements_are_the_published_in_toto_types(story: Story, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from google.protobuf import json_format
    from in_toto_attestation.predicates.test_result.v0 import test_result_pb2
    from in_toto_attestation.predicates.vsa.v1 import vsa_pb2
    from in_toto_attestation.v1.statement import Statement
    from in_toto_attestation.v1.statement_pb2 import Statement as StatementPb

    result = tmp_path / "result.json"
    result.write_text(json.dumps({"schemaVersion": "releasegate/loadtest-result/v1", "releases": [
        {"file": PROD, "verdict": "skipped", "code": "", "reason": "rollback"}]}))
    assert record(capsys, story, "--loadtest-result", str(result)).code == 0
    statements = [payload(e) for e in records_on_branch(story, story.prod_merge)]
    for statement in statements:
        Statement.copy_from_pb(json_format.ParseDict(statement, StatementPb())).validate()
    # in-toto-attestation's proto declares verifiedLevels as one string; the SLSA VSA v1 spec (which
    # defines the predicate type) as an array of levels. releasegate follows the spec.
    vsa = {k: v for k, v in statements[0]["predicate"].items() if k != "verifiedLevels"}
    json_format.ParseDict(vsa, vsa_pb2.VerificationSummary(), ignore_unknown_fields=False)
    assert statements[0]["predicate"]["verifiedLevels"] == ["RELEASEGATE_POLICY_V1"]
    json_format.ParseDict(statements[1]["predicate"], test_result_pb2.TestResult(), ignore_unknown_fields=False)
    assert statements[1]["predicate"]["result"] == "WARNED"


def test_securesystemslib_verifies_the_envelopes(story: Story, capsys: pytest.CaptureFixture[str]) -> None:
    """An independent DSSE implementation agrees with releasegate's (PAE, key id, signature encoding)."""
    from cryptography.hazmat.primitives import serialization
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import SSlibKey

    assert record(capsys, story).code == 0
    private = serialization.load_pem_private_key(story.key.read_bytes(), None)
    key = SSlibKey.from_crypto(private.public_key())  # type: ignore[arg-type]
    for envelope in records_on_branch(story, story.prod_merge):
        key = SSlibKey(envelope["signatures"][0]["keyid"], key.keytype, key.scheme, key.keyval)
        verified = Envelope.from_dict(envelope).verify([key], 1)
        assert set(verified) == {key.keyid}


@pytest.mark.parametrize(("args", "fragment"), [
    (("--approvals", "/nonexistent.json"), "/nonexistent.json: cannot read the approvals result"),
    (("--commit", "no-such-ref"), "git ref 'no-such-ref' does not name a commit"),
])
def test_bad_input_is_exit_2(story: Story, args: tuple[str, ...], fragment: str, capsys: pytest.CaptureFixture[str]) -> None:
    result = record(capsys, story, *args)
    assert result.code == 2 and fragment in result.err and "Traceback" not in result.err


def test_no_key_and_an_unsupported_key(story: Story, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.support import signing as s

    no_key = run_cli(capsys, "evidence", "record", "--root", str(story.root))
    assert no_key.code == 2 and "no signing key: pass --key-file or set RELEASEGATE_EVIDENCE_KEY" in no_key.err
    k1 = s.ec_key(tmp_path / "k1", "k1", s.ec.SECP256K1())
    odd = run_cli(capsys, "evidence", "record", "--root", str(story.root), "--key-file", str(k1.private))
    assert odd.code == 2 and "unsupported key type (elliptic curve secp256k1)" in odd.err


def test_the_evidence_branch_must_not_be_checked_out(story: Story, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert record(capsys, story).code == 0
    story.repo.git("worktree", "add", "-q", str(tmp_path / "evidence"), "releasegate/evidence")
    result = record(capsys, story, "--commit", "main^")
    assert result.code == 2 and "--branch releasegate/evidence is checked out in a worktree" in result.err
