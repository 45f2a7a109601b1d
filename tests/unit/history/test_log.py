"""Parsing git log records: PR numbers, trailers, reverts, renames."""
from __future__ import annotations

import pytest

from releasegate.errors import InputError
from releasegate.history.commit_log import _END, _parse_raw, _parse_record, _pr_number
from releasegate.history.semver import compare, is_downgrade
from releasegate.history.timestamps import parse_moment


@pytest.mark.parametrize(("subject", "body", "number"), [
    ("Merge pull request #12 from org/branch", "", 12),
    ("Promote sentiment 1.4.0 to prod (#345)", "", 345),
    ("Promote sentiment (#3) and more (#4)", "", 4),
    ("Scale prod", "Scale prod\n\nReleasegate-PR: #77\n", 77),
    ("Fix #12 in the docs", "", None),
])
def test_pr_numbers(subject: str, body: str, number: int | None) -> None:
    assert _pr_number(subject, body or subject) == number


def test_record_with_trailers_revert_and_rename() -> None:
    body = ('Revert "Promote x"\n\nThis reverts commit ' + "c" * 40 + ".\n\n"
            "Releasegate-Action: rollback\nReleasegate-Model: x\n")
    raw = ("\n:100644 100644 " + "1" * 40 + " " + "2" * 40 + " R087\0environments/dev/releases/a.yaml\0"
           "environments/dev/releases/b.yaml\0:000000 100644 " + "0" * 40 + " " + "3" * 40 + " A\0"
           "environments/prod/releases/b.yaml\0")
    header = "\x1f".join(["f" * 40, "e" * 40 + " " + "d" * 40, "1767225600", "Ann", "ann@x", body])
    commit = _parse_record(header + _END + raw)
    assert commit.merge and commit.parent == "e" * 40 and commit.time == 1767225600
    assert commit.trailer("action") == "rollback" and commit.reverts == "c" * 40
    renamed, added = commit.changes
    assert (renamed.status, renamed.old_path, renamed.path, renamed.blob) == (
        "R", "environments/dev/releases/a.yaml", "environments/dev/releases/b.yaml", "2" * 40)
    assert (added.status, added.blob, added.old_blob) == ("A", "3" * 40, None)


def test_deletions_have_no_blob() -> None:
    [deleted] = _parse_raw(":100644 000000 " + "1" * 40 + " " + "0" * 40 + " D\0environments/a/releases/m.yaml\0")
    assert deleted.status == "D" and deleted.blob is None and deleted.old_blob == "1" * 40


@pytest.mark.parametrize(("a", "b", "result"), [
    ("1.2.3", "1.2.3", 0), ("1.2.3", "1.10.0", -1), ("2.0.0", "1.99.99", 1),
    ("1.0.0-rc.1", "1.0.0", -1), ("1.0.0-alpha", "1.0.0-alpha.1", -1), ("1.0.0-2", "1.0.0-10", -1),
    ("1.0.0-beta", "1.0.0-10", 1), ("1.0.0+build.5", "1.0.0", 0), ("1.0", "1.0.0", None),
])
def test_semver_precedence(a: str, b: str, result: int | None) -> None:
    assert compare(a, b) == result


def test_downgrade() -> None:
    assert is_downgrade("1.4.0", "1.3.9") and not is_downgrade("1.3.9", "1.4.0")
    assert not is_downgrade(None, "1.0.0") and not is_downgrade("x", "1.0.0")


@pytest.mark.parametrize("text", ["2026-11-01T12:00Z", "2026-11-01T12:00:00z", "2026-11-01T13:00+01:00",
                                  "2026-11-01T12:00:00.000+00:00"])
def test_moments_with_zones(text: str) -> None:
    moment = parse_moment(text, "--at")
    assert moment is not None and moment.timestamp() == 1793534400


@pytest.mark.parametrize(("text", "fragment"), [
    ("2026-11-01T12:00", "has no time zone"), ("2026-11-01", "has no time zone"),
    ("last tuesday", "is not an ISO 8601 time"), ("", "is not an ISO 8601 time"),
])
def test_bad_moments(text: str, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        parse_moment(text, "--at")
