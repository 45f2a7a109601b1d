"""``releasegate verify``: records and model signatures checked offline, each problem named by file."""
from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from tests.acceptance.cli import run_cli
from tests.unit.evidence.conftest import PROD, Story, write_key
from tests.unit.evidence.test_record import RECORD, record

BRANCH = "releasegate/evidence"


def verify(capsys: pytest.CaptureFixture[str], story: Story, *extra: str):  # type: ignore[no-untyped-def]
    return run_cli(capsys, "verify", "--root", str(story.root), *extra)


def rewrite_record(story: Story, path: str, change) -> None:  # type: ignore[no-untyped-def]
    """Replace a record on the evidence branch (as someone with push access could)."""
    repo = story.repo
    text = repo.git("show", f"{BRANCH}:{path}") + "\n"
    repo.git("switch", "-q", BRANCH)
    (story.root / path).write_text(change(text))
    repo.git("commit", "-q", "-am", "tamper")
    repo.git("switch", "-q", "main")


@pytest.fixture
def recorded(story: Story, capsys: pytest.CaptureFixture[str]) -> Story:
    assert record(capsys, story).code == 0
    return story


def test_a_recorded_history_verifies(recorded: Story, capsys: pytest.CaptureFixture[str]) -> None:
    result = verify(capsys, recorded)
    assert result.code == 0, result.out
    assert result.out == ("OK: 1 evidence record(s) verified (releasegate/evidence; signed by evidence bot), "
                          "0 model signature(s) verified\n")


def test_a_missing_record_for_a_prod_decision(story: Story, capsys: pytest.CaptureFixture[str]) -> None:
    result = verify(capsys, story)
    assert result.code == 1
    assert result.out.startswith(f"{PROD}: error [evidence-missing] no evidence record of the decision "
                                 f"{story.prod_merge[:12]} (#3) merged 2026-01-09T12:00:00Z (prod requires one")
    assert f"releasegate evidence record --commit {story.prod_merge[:12]} --branch releasegate/evidence" in result.out


def test_a_tampered_record_is_named_with_its_line(recorded: Story, capsys: pytest.CaptureFixture[str]) -> None:
    path = RECORD.format(commit=recorded.prod_merge[:12])

    def tamper(text: str) -> str:
        lines = text.splitlines()
        envelope = json.loads(lines[1])
        statement = json.loads(base64.b64decode(envelope["payload"]))
        statement["predicate"]["change"]["pullRequest"] = 99
        envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
        lines[1] = json.dumps(envelope)
        return "\n".join(lines) + "\n"

    rewrite_record(recorded, path, tamper)
    result = verify(capsys, recorded, "--format", "json")
    payload = json.loads(result.out)
    assert result.code == 1 and payload["ok"] is False
    problem = next(p for p in payload["problems"] if p["check"] == "evidence-signature")
    assert (problem["file"], problem["line"]) == (path, 2)
    assert problem["message"] == "the signature does not verify: the record was changed after it was signed"
    assert any(p["check"] == "evidence-missing" for p in payload["problems"])  # a broken record counts for nothing


def test_a_truncated_record(recorded: Story, capsys: pytest.CaptureFixture[str]) -> None:
    path = RECORD.format(commit=recorded.prod_merge[:12])
    rewrite_record(recorded, path, lambda text: text[:300])
    result = verify(capsys, recorded)
    assert result.code == 1 and f"{path}:1: error [evidence-format] not JSON" in result.out


def test_a_record_signed_by_an_untrusted_key(story: Story, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mallory, _ = write_key(tmp_path / "mallory", "mallory")
    assert run_cli(capsys, "evidence", "record", "--root", str(story.root), "--key-file", str(mallory),
                   "--branch", BRANCH).code == 0
    result = verify(capsys, story)
    path = RECORD.format(commit=story.prod_merge[:12])
    assert result.code == 1 and f"{path}:1: error [evidence-signature] signed by an untrusted key (keyid " in result.out


def _forged_record(story: Story, commit: str | None = None, release_sha256: str | None = None) -> str:
    """A validly signed record of PR #3's decision that names another merge ``commit`` or another digest of
    the release file (as a rewritten history or a confused recorder would); returns its path."""
    import dataclasses
    from datetime import datetime, timezone

    from releasegate.evidence import store
    from releasegate.evidence.facts import Digest, policy_digest, read_merge, release_changes
    from releasegate.evidence.statement import Decision, statements
    from releasegate.history.git import open_repo
    from releasegate.signing.dsse import load_private_key, sign_envelope

    git = open_repo(story.root)
    merge = read_merge(git, story.prod_merge)
    [change] = release_changes(git, merge)
    if commit is not None:
        merge = dataclasses.replace(merge, commit=merge.commit._replace(oid=commit))
    if release_sha256 is not None:
        change = dataclasses.replace(change, file=Digest(change.file.name, release_sha256, change.file.blob))
    decision = Decision(merge, change, *policy_digest(git, story.prod_merge + "^1"), (), (), None, None,
                        datetime.now(timezone.utc))
    key = load_private_key(story.key.read_bytes(), "key")
    path = RECORD.format(commit=merge.oid[:12])
    store.write_to_branch(git, BRANCH, {path: store.encode([sign_envelope(json.dumps(s).encode(), key)
                                                            for s in statements(decision)])}, "forged")
    return path


def test_a_record_whose_release_file_no_longer_matches(story: Story, capsys: pytest.CaptureFixture[str]) -> None:
    """A validly signed record that claims another release file than the commit has (e.g. history was rewritten)."""
    path = _forged_record(story, release_sha256="0" * 64)
    actual = hashlib.sha256((story.root / PROD).read_bytes()).hexdigest()  # PR #3 is main's last merge
    result = verify(capsys, story)
    assert result.code == 1
    assert (f"{path}: error [evidence-mismatch] the release file no longer matches: the record says {PROD} at "
            f"{story.prod_merge[:12]} had sha256 {'0' * 64}, the repository's has sha256 {actual}") in result.out


def test_a_record_of_a_commit_the_repository_lacks(story: Story, capsys: pytest.CaptureFixture[str]) -> None:
    path = _forged_record(story, "ab" * 20)
    result = verify(capsys, story)
    assert result.code == 1
    assert f"{path}: error [evidence-mismatch] the recorded commit abababababab is not in this repository" in result.out


def test_a_record_of_a_merge_force_pushed_away(recorded: Story, capsys: pytest.CaptureFixture[str]) -> None:
    """The record stays on the evidence branch; main no longer has the merge (its object is still there)."""
    recorded.repo.git("reset", "-q", "--hard", f"{recorded.prod_merge}^1")
    result = verify(capsys, recorded)
    path = RECORD.format(commit=recorded.prod_merge[:12])
    assert result.code == 1
    assert (f"{path}: error [evidence-mismatch] the recorded commit {recorded.prod_merge[:12]} is not on the "
            "history of") in result.out


def test_many_records_are_checked_each_on_its_own(recorded: Story, capsys: pytest.CaptureFixture[str]) -> None:
    """Git facts are read for all records at once: a bad record beside good ones is named alone."""
    bad = _forged_record(recorded, "cd" * 20)
    result = verify(capsys, recorded, "--format", "json")
    doc = json.loads(result.out)
    assert result.code == 1
    assert [p["file"] for p in doc["problems"]] == [bad]
    assert len(doc["records"]) == 1


def test_a_record_moved_to_another_path(recorded: Story, capsys: pytest.CaptureFixture[str]) -> None:
    repo = recorded.repo
    path = RECORD.format(commit=recorded.prod_merge[:12])
    repo.git("switch", "-q", BRANCH)
    repo.git("mv", path, path.replace("1.1.0-", "1.2.0-"))
    repo.git("commit", "-q", "-m", "move")
    repo.git("switch", "-q", "main")
    result = verify(capsys, recorded)
    assert result.code == 1 and "error [evidence-mismatch] the record's path does not match what it records" in result.out


def test_records_in_a_folder_and_from_origin(recorded: Story, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A clone sees the branch as origin/releasegate/evidence; --evidence-dir reads a folder."""
    import subprocess

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(recorded.root), str(clone)], check=True)
    cloned = run_cli(capsys, "verify", "--root", str(clone))
    assert cloned.code == 0 and "(origin/releasegate/evidence;" in cloned.out
    folder = tmp_path / "folder"
    recorded.repo.git("worktree", "add", "-q", str(folder), BRANCH)
    from_dir = verify(capsys, recorded, "--evidence-dir", str(folder))
    assert from_dir.code == 0 and f"(folder {folder};" in from_dir.out


def test_a_missing_evidence_ref_is_bad_input(story: Story, capsys: pytest.CaptureFixture[str]) -> None:
    result = verify(capsys, story, "--evidence-ref", "nope")
    assert result.code == 2 and "the evidence ref 'nope' does not exist" in result.err


def test_decisions_before_since_need_no_record(story: Story, capsys: pytest.CaptureFixture[str]) -> None:
    pack = story.root / "policies/policy-pack.yaml"
    story.repo.commit("Evidence from February", "2026-01-12T09:00:00Z",
                      {"policies/policy-pack.yaml": pack.read_text().replace('since: "2026-01-01T00:00:00Z"',
                                                                             'since: "2026-02-01T00:00:00Z"')})
    assert verify(capsys, story).code == 0
