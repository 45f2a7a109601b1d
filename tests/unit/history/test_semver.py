"""SemVer 2.0.0, exactly: the Python check and the release schema's pattern agree with semver.org's regex."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import regress

from releasegate.history.semver import compare, is_downgrade, is_semver
from releasegate.policy import schema_validator

SCHEMA = Path(__file__).resolve().parents[3] / "policies" / "schemas" / "release.schema.json"
# The regular expression published at https://semver.org/#is-there-a-suggested-regular-expression-regex-to-check-a-semver-string
OFFICIAL = (
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)

# semver.org's own examples of valid and invalid strings (the regex's test suite), and more edges.
VALID = [
    "0.0.4", "1.2.3", "10.20.30", "1.1.2-prerelease+meta", "1.1.2+meta", "1.1.2+meta-valid", "1.0.0-alpha",
    "1.0.0-beta", "1.0.0-alpha.beta", "1.0.0-alpha.beta.1", "1.0.0-alpha.1", "1.0.0-alpha0.valid",
    "1.0.0-alpha.0valid", "1.0.0-alpha-a.b-c-somethinglong+build.1-aef.1-its-okay", "1.0.0-rc.1+build.1",
    "2.0.0-rc.1+build.123", "1.2.3-beta", "10.2.3-DEV-SNAPSHOT", "1.2.3-SNAPSHOT-123", "1.0.0", "2.0.0", "1.1.7",
    "2.0.0+build.1848", "2.0.1-alpha.1227", "1.0.0-alpha+beta", "1.2.3----RC-SNAPSHOT.12.9.1--.12+788",
    "1.2.3----R-S.12.9.1--.12+meta", "1.2.3----RC-SNAPSHOT.12.9.1--.12", "1.0.0+0.build.1-rc.10000aaa-kk-0.1",
    "99999999999999999999999.999999999999999999.99999999999999999", "1.0.0-0A.is.legal",
    "1.0.0-0", "1.0.0-x.0", "1.0.0-00a", "1.0.0+001", "1.0.0+-", "1.0.0--",
]
INVALID = [
    "1", "1.2", "1.2.3-0123", "1.2.3-0123.0123", "1.1.2+.123", "+invalid", "-invalid", "-invalid+invalid",
    "-invalid.01", "alpha", "alpha.beta", "alpha.beta.1", "alpha.1", "alpha+beta", "alpha_beta", "alpha.",
    "alpha..", "beta", "1.0.0-alpha_beta", "-alpha.", "1.0.0-alpha..", "1.0.0-alpha..1", "1.0.0-alpha...1",
    "1.0.0-alpha....1", "01.1.1", "1.01.1", "1.1.01", "1.2.3.DEV", "1.2-SNAPSHOT",
    "1.2.31.2.3----RC-SNAPSHOT.12.09.1--..12+788", "1.2-RC-SNAPSHOT", "-1.0.3-gamma+b7718", "+justmeta",
    "9.8.7+meta+meta", "9.8.7-whatever+meta+meta",
    "99999999999999999999999.999999999999999999.99999999999999999----RC-SNAPSHOT.12.09.1--------------------------------..12",
    "1.0.0\n", "1.0.0\n\n", "\n1.0.0", "1.0.0\r", " 1.0.0", "1.0.0 ", "1.0.0-", "1.0.0+", "1.0.0-a..b", "1.0.0-a.",
    "1.0.0-.a", "1.0.0+b..1", "1.0.0-01", "1.0.0-a.00", "00.1.0", "1.0.0-é", "\u0661.0.0", "1.\u0662.0", "v1.0.0", "",
]


@pytest.mark.parametrize("version", VALID)
def test_valid_versions(version: str) -> None:
    assert re.fullmatch(OFFICIAL, version, re.ASCII)
    assert is_semver(version)
    assert compare(version, version) == 0


@pytest.mark.parametrize("version", INVALID)
def test_invalid_versions(version: str) -> None:
    assert not re.search(OFFICIAL.replace("$", r"\Z"), version, re.ASCII)
    assert not is_semver(version)
    assert compare(version, "1.0.0") is None
    assert not is_downgrade("1.0.0", version)


def test_schema_pattern_agrees_with_the_official_regex_in_both_engines() -> None:
    version = json.loads(SCHEMA.read_text())["$defs"]["model"]["properties"]["version"]
    validator = schema_validator(version)
    ecma = regress.Regex(version["pattern"])
    for text in VALID + INVALID:
        expected = text in VALID
        assert validator.is_valid(text) == expected, text
        assert (ecma.find(text) is not None) == expected, text


def test_precedence_follows_the_specification() -> None:
    """semver.org item 11: 1.0.0-alpha < 1.0.0-alpha.1 < … < 1.0.0-rc.1 < 1.0.0, build metadata ignored."""
    chain = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11",
             "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0", "10.0.0"]
    for low, high in zip(chain, chain[1:]):
        assert compare(low, high) == -1 and compare(high, low) == 1, (low, high)
        assert is_downgrade(high, low) and not is_downgrade(low, high)
    assert compare("1.0.0+build.1", "1.0.0+build.2") == 0
