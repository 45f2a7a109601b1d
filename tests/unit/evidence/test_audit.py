"""``releasegate audit``: stints from Git, approvals and signers from the records that verify."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.acceptance.cli import run_cli
from tests.gitrepo import release
from tests.unit.evidence.conftest import PROD, Story
from tests.unit.evidence.test_record import record


def audit(capsys: pytest.CaptureFixture[str], story: Story, *extra: str):  # type: ignore[no-untyped-def]
    return run_cli(capsys, "audit", "--root", str(story.root), *extra)


def rows(capsys: pytest.CaptureFixture[str], story: Story, *extra: str) -> list[dict]:  # type: ignore[type-arg]
    result = audit(capsys, story, "--format", "jsonl", *extra)
    assert result.code == 0, result.err
    return [json.loads(line) for line in result.out.splitlines()]


@pytest.fixture
def approvals(tmp_path: Path) -> Path:
    path = tmp_path / "approvals.json"
    path.write_text(json.dumps({"schemaVersion": "releasegate/approvals-result/v1", "ok": True, "required": 2,
                                "approvers": ["bob", "carol"], "ignored": []}))
    return path


def test_the_table_says_who_released_and_approved_and_what_is_verified(
        story: Story, approvals: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert record(capsys, story, "--approvals", str(approvals)).code == 0
    result = audit(capsys, story, "sentiment", "--env", "prod")
    assert result.code == 0
    assert result.out.splitlines() == [
        "MODEL      ENV   VERSION  LIVE FROM             LIVE TO               PR  PROMOTED BY  APPROVED BY  SIGNER  EVIDENCE",
        "sentiment  prod  1.0.0    2026-01-05T09:00:00Z  2026-01-09T12:00:00Z  -   Alice Admin  -            -       none",
        "sentiment  prod  1.1.0    2026-01-09T12:00:00Z  live                  #3  Pat Dev      bob, carol   -       verified",
    ]


def test_time_ranges_and_missing_evidence(story: Story, capsys: pytest.CaptureFixture[str]) -> None:
    """Decisions before evidence.since need none; the prod promotion after it has none: missing."""
    assert [r["version"] for r in rows(capsys, story, "--env", "prod", "--since", "2026-01-10T00:00Z")] == ["1.1.0"]
    assert [r["version"] for r in rows(capsys, story, "--env", "prod", "--until", "2026-01-08T00:00Z")] == ["1.0.0"]
    [live] = rows(capsys, story, "--env", "prod", "--since", "2026-01-10T00:00Z")
    assert (live["evidence"], live["approvedBy"], live["pullRequest"]) == ("missing", None, 3)
    assert live["promotedBy"] == ["Pat Dev <pat@example.com>"]
    assert audit(capsys, story, "--require-evidence").code == 1


def test_a_rollback_and_the_model_signer_from_the_record(story: Story, approvals: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Prod trusts a model key (from a policy change); PR #4 ships a signed model, PR #5 rolls back."""
    pytest.importorskip("model_signing")
    from tests.support import signing as s

    repo = story.repo
    key = s.ec_key(tmp_path / "model-key", "release")
    pack = (story.root / "policies/policy-pack.yaml").read_text().replace(
        "  - name: prod\n", "  - name: prod\n    requireSignature: false\n    signers:\n"
        "      - {name: release key, publicKey: keys/release.pub}\n")
    repo.commit("Trust the release key in prod", "2026-01-12T09:00:00Z",
                {"policies/policy-pack.yaml": pack, "policies/keys/release.pub": key.public_pem})
    model = story.root / "models/sentiment-1.2.0.pt2"
    s.write_model(model, b"sentiment:1.2.0")  # its sha256 is the digest the story pins for 1.2.0
    bundle = s.sign_with_key(model, key, story.root / "models/sentiment-1.2.0.sig")
    signed = release("sentiment", "1.2.0", env="prod", stable="1.1.0").replace(
        "uri: s3://models/sentiment/1.2.0/model.pt2", "uri: models/sentiment-1.2.0.pt2").replace(
        "      format: torch-export\n", f"      format: torch-export\n      signature:\n"
        f"        uri: models/sentiment-1.2.0.sig\n        sha256: \"{s.sha256(bundle)}\"\n", 1)
    repo.merge_pr(4, "signed", "2026-01-13T10:00:00Z", {PROD: signed, "models/sentiment-1.2.0.pt2": "sentiment:1.2.0",
                                                        "models/sentiment-1.2.0.sig": bundle.read_text()},
                  "Ship the signed model", author="Sam Signer")
    assert record(capsys, story, "--approvals", str(approvals)).code == 0
    repo.merge_pr(5, "rollback", "2026-01-14T10:00:00Z",
                  {PROD: release("sentiment", "1.1.0", env="prod", stable="1.0.0")},
                  "Roll back sentiment in prod\n\nReleasegate-Action: rollback", author="Olly Oncall")
    assert record(capsys, story).code == 0
    found = rows(capsys, story, "--env", "prod", "--since", "2026-01-13T12:00Z")
    assert [(r["version"], r["modelSigner"], r["evidence"], r["rollback"]) for r in found] == [
        ("1.2.0", "release key", "verified", False), ("1.1.0", None, "verified", True)]
    assert found[0]["endedBy"] == "rollback" and found[0]["approvedBy"] == ["bob", "carol"]
    assert found[0]["promotedBy"] == ["Sam Signer <sam@example.com>"] and found[1]["approvedBy"] is None


def test_an_unknown_ref_is_bad_input(story: Story, capsys: pytest.CaptureFixture[str]) -> None:
    result = audit(capsys, story, "--ref", "nope")
    assert result.code == 2 and "git ref 'nope' does not name a commit" in result.err
