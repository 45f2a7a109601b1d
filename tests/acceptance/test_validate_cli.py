"""``releasegate validate`` end to end, in-process: exit codes and message fragments."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.acceptance.cli import run_cli
from tests.conftest import git

PROD = "environments/prod/releases/sentiment.yaml"
WEDNESDAY = "2026-11-18T12:00:00Z"


@pytest.fixture(autouse=True)
def in_repo(example_repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(example_repo)
    monkeypatch.setenv("RELEASEGATE_NOW", WEDNESDAY)
    return example_repo


def edit(path: str, old: str, new: str) -> None:
    text = Path(path).read_text()
    assert old in text
    Path(path).write_text(text.replace(old, new))


def test_examples_pass(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "validate", "--all")
    assert result.code == 0
    assert "8 release files checked, no violations" in result.out


def test_bad_prod_digest_and_missing_slo_fail_with_file_and_line(capsys: pytest.CaptureFixture[str]) -> None:
    edit(PROD, 'sha256: "e30f', 'sha256: "abc"  # "e30f')
    text = Path(PROD).read_text()
    Path(PROD).write_text(text.split("  slo:")[0])
    result = run_cli(capsys, "validate", "--all")
    assert result.code == 1
    assert f"{PROD}:13:15: error [digest-format]" in result.out
    assert f"{PROD}:8:1: error [environment-schema] $.spec: 'slo' is required here" in result.out


def test_json_format_is_stable(capsys: pytest.CaptureFixture[str]) -> None:
    edit(PROD, "replicas: 3", "replica: 3")
    result = run_cli(capsys, "validate", PROD, "--format", "json")
    payload = json.loads(result.out)
    assert result.code == 1
    assert payload["schemaVersion"] == "releasegate/validate-result/v1" and payload["ok"] is False
    assert payload["violations"] == [{
        "file": PROD, "line": 28, "column": 5, "path": "$.spec.runtime.replica", "rule": "unknown-field",
        "message": "unknown field 'replica'", "hint": "did you mean 'replicas'?"}]
    assert payload["summary"] == {"files": 1, "violations": 1, "filesWithViolations": 1}


def test_github_format_prints_escaped_annotations(capsys: pytest.CaptureFixture[str]) -> None:
    edit(PROD, "replicas: 3", "replica: 3")
    result = run_cli(capsys, "validate", PROD, "--format", "github")
    line = result.out.splitlines()[0]
    assert line.startswith(f"::error file={PROD},line=28,col=5,title=unknown-field::")
    assert "%0Ahint: did you mean 'replicas'?" in line


def test_freeze_window_uses_the_injected_clock(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "validate", PROD, "--now", "2026-12-24T09:00:00Z")
    assert result.code == 1
    assert "prod is frozen by 'year-end'" in result.out
    assert run_cli(capsys, "validate", PROD, "--now", "2026-12-18T09:00:00+01:00").code == 0


@pytest.mark.parametrize(("content", "fragment"), [
    (b"a: [1\n", "invalid YAML: did not find expected ',' or ']'"),
    (b"apiVersion: x\napiVersion: y\n", ":2:1: error [yaml] $: duplicate key 'apiVersion' (first defined on line 1)"),
    (b"a: &x [1, 2]\nb: *x\n", "YAML anchors and aliases are not allowed"),
    (b"kind: \xff\xfe\n", ":1:7: error [yaml] $: not valid UTF-8 (byte 0xff)"),
    (b"", ":1:1: error [yaml] $: file is empty"),
    (b"# only a comment\n", ":1:1: error [yaml] $: file is empty"),
    (b"- a\n- b\n", "the document is a list, expected a mapping"),
    (b"just text\n", "the document is a single value ('just text'), expected a mapping"),
    (b"a: 1\n---\nb: 2\n", "several YAML documents in one file"),
    (b"a: !!python/object/apply:os.system [id]\n", "unsupported YAML tag"),
])
def test_garbage_release_files_are_reported_not_raised(
        capsys: pytest.CaptureFixture[str], content: bytes, fragment: str) -> None:
    Path(PROD).write_bytes(content)
    result = run_cli(capsys, "validate", PROD)
    assert result.code == 1
    assert fragment in result.out
    assert "Traceback" not in result.out + result.err


def test_billion_laughs_is_refused_quickly(capsys: pytest.CaptureFixture[str]) -> None:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i-1}'] * 9)}]" for i in range(1, 10)]
    Path(PROD).write_text("\n".join(lines) + "\n")
    result = run_cli(capsys, "validate", PROD)
    assert result.code == 1
    assert "YAML anchors and aliases are not allowed" in result.out


def test_fifty_megabyte_file_is_refused_without_parsing(capsys: pytest.CaptureFixture[str]) -> None:
    with open(PROD, "wb") as f:
        f.truncate(50 * 1024 * 1024)
    result = run_cli(capsys, "validate", PROD)
    assert result.code == 1
    assert "file is 52,428,800 bytes, larger than the 1,048,576-byte limit" in result.out


@pytest.mark.parametrize(("setup", "arg", "fragment"), [
    (None, "environments/prod/releases", "is a directory, expected a release file"),
    (None, "environments/prod/../dev/releases/sentiment.yaml", "path contains '..'"),
    (None, "environments/prod/releases/nope.yaml", "no such file"),
    (None, "README.md", "no such file"),
    ("outside", "environments/prod/releases/evil.yaml", "outside the repository"),
    ("other", "notes.yaml", "not a release file path"),
])
def test_bad_paths_are_usage_errors(capsys: pytest.CaptureFixture[str], in_repo: Path, tmp_path: Path,
                                    setup: str | None, arg: str, fragment: str) -> None:
    if setup == "outside":
        target = tmp_path / "secret.yaml"
        target.write_text("a: 1\n")
        os.symlink(target, in_repo / arg)
    if setup == "other":
        (in_repo / arg).write_text("a: 1\n")
    result = run_cli(capsys, "validate", arg)
    assert result.code == 2
    assert fragment in result.err
    assert "Traceback" not in result.err


def test_invalid_policy_pack_is_an_input_error(capsys: pytest.CaptureFixture[str]) -> None:
    edit("policies/policy-pack.yaml", "soakHours: 24", "soakHours: lots")
    result = run_cli(capsys, "validate", "--all")
    assert result.code == 2
    assert re.search(r"policies/policy-pack.yaml:\d+:\d+: \$.environments\[2\].soakHours: 'lots' is not of type",
                     result.err)


def test_policy_pack_with_unknown_promotion_source(capsys: pytest.CaptureFixture[str]) -> None:
    edit("policies/policy-pack.yaml", "promotesFrom: staging", "promotesFrom: stagin")
    result = run_cli(capsys, "validate", "policies/policy-pack.yaml")
    assert result.code == 2
    assert "promotes from 'stagin', which is not an environment listed before it" in result.err
    assert "use one of: dev, staging" in result.err


def test_broken_schema_file_is_an_input_error(capsys: pytest.CaptureFixture[str]) -> None:
    Path("policies/schemas/environments/prod.schema.json").write_text("{not json")
    result = run_cli(capsys, "validate", PROD)
    assert result.code == 2
    assert "prod.schema.json: not a readable JSON schema" in result.err


def test_outside_a_repository(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli(capsys, "validate")
    assert result.code == 2
    assert "no releasegate repository here or in any parent directory" in result.err


def test_bad_flags(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "validate", "--format", "xml").code == 2
    result = run_cli(capsys, "validate", "--now", "yesterday")
    assert result.code == 2 and "--now 'yesterday' is not an ISO 8601 time" in result.err
    result = run_cli(capsys, "validate", "--now", "2026-11-01T12:00")
    assert result.code == 2 and "has no time zone" in result.err
    result = run_cli(capsys, "validate", "--all", PROD)
    assert result.code == 2 and "not several of them" in result.err


def test_base_validates_only_changed_files(capsys: pytest.CaptureFixture[str], in_repo: Path) -> None:
    git(in_repo, "init", "-q", "-b", "main")
    git(in_repo, "add", "-A")
    git(in_repo, "commit", "-q", "-m", "init")
    edit("environments/dev/releases/embedder.yaml", "replicas: 1", "replica: 1")
    result = run_cli(capsys, "validate", "--base", "main", "--format", "json")
    payload = json.loads(result.out)
    assert result.code == 1
    assert payload["checked"] == ["environments/dev/releases/embedder.yaml"]
    assert [v["rule"] for v in payload["violations"]] == ["unknown-field"]


def test_base_with_unknown_ref_or_no_git(capsys: pytest.CaptureFixture[str], in_repo: Path) -> None:
    result = run_cli(capsys, "validate", "--base", "origin/main")
    assert result.code == 2 and "not a Git repository" in result.err
    git(in_repo, "init", "-q", "-b", "main")
    git(in_repo, "add", "-A")
    git(in_repo, "commit", "-q", "-m", "init")
    result = run_cli(capsys, "validate", "--base", "origin/main")
    assert result.code == 2 and "cannot compare with 'origin/main'" in result.err
    assert "fetch-depth: 0" in result.err


def test_nothing_is_written(capsys: pytest.CaptureFixture[str], in_repo: Path) -> None:
    before = sorted(p for p in in_repo.rglob("*"))
    edit(PROD, "replicas: 3", "replica: 3")
    run_cli(capsys, "validate", "--all")
    assert sorted(p for p in in_repo.rglob("*")) == before


def test_non_finite_number_fails_validate_all_with_its_position(capsys: pytest.CaptureFixture[str]) -> None:
    edit(PROD, "maxDelayMs: 2\n", "maxDelayMs: .nan\n")
    result = run_cli(capsys, "validate", "--all")
    assert result.code == 1
    assert f"{PROD}:31:19: error [yaml]" in result.out
    assert ".nan is not a finite number" in result.out


@pytest.mark.parametrize(("old", "new", "line", "fragment"), [
    ('b65"', 'b65\\n"', 13, "[digest-format]"),
    ("gpuType: nvidia-h100", 'gpuType: "nvidia-h100\\n"', 25, "[release-schema]"),
])
def test_schema_patterns_do_not_match_before_a_trailing_newline(
        capsys: pytest.CaptureFixture[str], old: str, new: str, line: int, fragment: str) -> None:
    """JSON Schema patterns are ECMA-262: ``$`` is the end of the text, not the end before a final newline."""
    edit(PROD, old, new)
    result = run_cli(capsys, "validate", PROD)
    assert result.code == 1
    assert f"{PROD}:{line}:" in result.out
    assert fragment in result.out


@pytest.mark.parametrize("version", ['"1.4.0\\n"', "01.4.0", "1.04.0", '"1.4.0-"', "1.4.0-a..b", "1.4.0-01",
                                     '"1.4.0+"', "1.4.0+b..1", '"\\u0661.4.0"'])
def test_versions_that_are_not_semver_are_refused(capsys: pytest.CaptureFixture[str], version: str) -> None:
    edit(PROD, "    version: 1.4.0\n", f"    version: {version}\n")
    result = run_cli(capsys, "validate", PROD)
    assert result.code == 1
    assert f"{PROD}:10:14: error [release-schema] $.spec.model.version:" in result.out
    assert "is not in the expected format" in result.out


def test_build_metadata_with_a_hyphen_is_not_a_prerelease(capsys: pytest.CaptureFixture[str]) -> None:
    edit(PROD, "    version: 1.4.0\n", "    version: 1.4.0+build-7\n")
    assert run_cli(capsys, "validate", PROD).code == 0
    edit(PROD, "    version: 1.4.0+build-7\n", "    version: 1.4.0-rc.1+build-7\n")
    result = run_cli(capsys, "validate", PROD)
    assert result.code == 1
    assert "[environment-schema] $.spec.model.version" in result.out
