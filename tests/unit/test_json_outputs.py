"""One JSON convention for every ``--format json`` output.

Each output carries ``schemaVersion: releasegate/<name>/v<N>`` and has a Draft 2020-12 schema
``src/releasegate/data/<name>.schema.json``. The tests below run each command in-process on a real
repository, validate what it printed against the schema shipped in the package, and check that the
schema rejects an unknown top-level field (every top level is closed).
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

import releasegate
from releasegate.alerts import report as on_alert_report
from releasegate.cli import approvals as approvals_cli
from releasegate.evidence import audit as evidence_audit
from releasegate.evidence import dora as evidence_dora
from releasegate.evidence import verify as evidence_verify
from releasegate.github import doctor
from releasegate.history import reporters as history_reporters
from releasegate.loadtest import result as loadtest_result
from releasegate.render import reporters as render_reporters
from releasegate.validate import reporters as validate_reporters
from tests.acceptance.cli import run_cli
from tests.conftest import PROJECT
from tests.gitrepo import Repo, release
from tests.support import loadtest_repo
from tests.support.fake_github import FakeGitHub, Pull, serving
from tests.support.repo_settings import badly_configured, well_configured
from tests.unit.history.conftest import build_story

DATA = Path(releasegate.__file__).parent / "data"
STYLE = re.compile(r"^releasegate/(?P<name>[a-z]+(-[a-z]+)*)/v[1-9][0-9]*$")
# schema name -> (the constant the code writes, the docs page that documents it)
OUTPUTS = {
    "validate-result": (validate_reporters.JSON_SCHEMA_VERSION, "docs/validate.md"),
    "status-report": (history_reporters.STATUS_SCHEMA_VERSION, "docs/history.md"),
    "history-report": (history_reporters.HISTORY_SCHEMA_VERSION, "docs/history.md"),
    "render-result": (render_reporters.SCHEMA_VERSION, "docs/render.md"),
    "loadtest-result": (loadtest_result.SCHEMA_VERSION, "docs/loadtest.md"),
    "approvals-result": (approvals_cli.SCHEMA_VERSION, "docs/github-actions.md"),
    "doctor-result": (doctor.SCHEMA_VERSION, "docs/security.md"),
    "verify-result": (evidence_verify.SCHEMA_VERSION, "docs/evidence.md"),
    "audit-row": (evidence_audit.SCHEMA_VERSION, "docs/evidence.md"),
    "dora-row": (evidence_dora.SCHEMA_VERSION, "docs/evidence.md"),
    "on-alert-result": (on_alert_report.SCHEMA_VERSION, "docs/monitoring.md"),
}
PROD = "environments/prod/releases/sentiment.yaml"


@cache
def _validator(name: str) -> Draft202012Validator:
    schema = json.loads((DATA / f"{name}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def check_output(name: str, text: str) -> dict[str, Any]:
    """``text`` is one JSON document that the schema ``name`` accepts, and the schema is closed."""
    payload = json.loads(text)
    errors = sorted(f"{list(e.absolute_path)}: {e.message}" for e in _validator(name).iter_errors(payload))
    assert errors == [], f"{name}: " + "\n".join(errors[:10])
    assert payload["schemaVersion"] == f"releasegate/{name}/v1"
    assert not _validator(name).is_valid({**payload, "unexpectedField": True}), f"{name}: top level is not closed"
    return payload  # type: ignore[no-any-return]


# --- the schemas themselves ------------------------------------------------------------------------

def test_every_schema_file_is_an_output_and_every_output_has_one() -> None:
    assert {p.name.removesuffix(".schema.json") for p in DATA.glob("*.schema.json")} == set(OUTPUTS)


@pytest.mark.parametrize("name", sorted(OUTPUTS))
def test_schema_version_has_one_style_in_code_schema_and_docs(name: str) -> None:
    constant, doc = OUTPUTS[name]
    match = STYLE.match(constant)
    assert match and match["name"] == name, constant
    schema = json.loads((DATA / f"{name}.schema.json").read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith(f"/{name}.schema.json")
    assert f'"const": "{constant}"' in (DATA / f"{name}.schema.json").read_text(encoding="utf-8")
    text = (PROJECT / doc).read_text(encoding="utf-8")
    assert f"src/releasegate/data/{name}.schema.json" in text and constant in text, f"{doc} does not document {name}"


# --- validate --------------------------------------------------------------------------------------

def test_validate_json(example_repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(example_repo)
    monkeypatch.setenv("RELEASEGATE_NOW", "2026-11-18T12:00:00Z")
    clean = run_cli(capsys, "validate", "--all", "--format", "json")
    assert clean.code == 0 and check_output("validate-result", clean.out)["ok"] is True
    path = example_repo / PROD
    path.write_text(path.read_text().replace("replicas: 3", "replica: 3"))
    broken = run_cli(capsys, "validate", PROD, "--format", "json")
    payload = check_output("validate-result", broken.out)
    assert broken.code == 1 and payload["violations"][0]["rule"] == "unknown-field"


# --- render ----------------------------------------------------------------------------------------

def test_render_json_in_each_of_its_forms(example_repo: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(example_repo)
    monkeypatch.setenv("RELEASEGATE_ALLOW_PLACEHOLDERS", "1")  # the example keeps its placeholders
    written = run_cli(capsys, "render", "--format", "json")
    assert written.code == 0 and check_output("render-result", written.out)["written"]
    clean = run_cli(capsys, "render", "--check", "--format", "json")
    assert clean.code == 0 and check_output("render-result", clean.out)["drift"] == []
    manifest = example_repo / "environments/prod/manifests/sentiment.yaml"
    manifest.write_text(manifest.read_text().replace("replicas: 3", "replicas: 4"))
    drift = run_cli(capsys, "render", "--check", "--format", "json")
    assert drift.code == 1 and check_output("render-result", drift.out)["drift"][0]["status"] == "changed"
    release = example_repo / PROD
    release.write_text(release.read_text().replace("kind: builtin", "kind: kserve"))
    problems = run_cli(capsys, "render", "--format", "json")
    assert problems.code == 2 and check_output("render-result", problems.out)["problems"]


def test_render_forms_cannot_be_mixed() -> None:
    """oneOf: a document with the fields of two forms is no render result."""
    mixed = {"schemaVersion": render_reporters.SCHEMA_VERSION, "ok": True, "written": [], "removed": [], "skipped": [],
             "checked": 0, "drift": [], "fix": None}
    assert not _validator("render-result").is_valid(mixed)


# --- status and history ----------------------------------------------------------------------------

@pytest.fixture
def story(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    repo = build_story(tmp_path / "story")
    monkeypatch.chdir(repo.root)
    return repo


def test_status_and_history_json(story: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    status = run_cli(capsys, "status", "--format", "json")
    assert status.code == 0 and len(check_output("status-report", status.out)["releases"]) == 3
    past = run_cli(capsys, "status", "--at", "2026-01-05T00:30Z", "--format", "json")
    assert past.code == 0 and check_output("status-report", past.out)["at"] == "2026-01-05T00:30:00Z"
    history = run_cli(capsys, "history", "sentiment", "--format", "json")
    stints = check_output("history-report", history.out)["environments"]
    assert history.code == 0 and any(s["endedBy"] for env in stints.values() for s in env)


def test_status_and_history_json_show_a_canarys_step_and_weight(story: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    story.commit("Promote sentiment 1.1.0 to prod (#9)", "2026-01-09T00:00:00Z",
                 {"environments/prod/releases/sentiment.yaml":
                  release("sentiment", "1.1.0", env="prod", stable="1.0.0", weight=50)})
    status = check_output("status-report", run_cli(capsys, "status", "--env", "prod", "--format", "json").out)
    canary = {"phase": "running", "strategy": "canary", "step": 2, "steps": 3, "weight": 50, "stableVersion": "1.0.0"}
    assert status["releases"][0]["rollout"] == canary
    history = check_output("history-report", run_cli(capsys, "history", "sentiment", "--format", "json").out)
    assert history["environments"]["prod"][0]["rollout"] == canary
    assert history["environments"]["prod"][1]["rollout"]["phase"] == "idle"
    assert history["environments"]["dev"][0]["rollout"] == {"phase": "rolling", "strategy": "rolling", "step": None,
                                                           "steps": 0, "weight": None, "stableVersion": None}


# --- on-alert --------------------------------------------------------------------------------------

def test_on_alert_json(story: Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.support.alerts import alert, body

    story.commit("Promote sentiment 1.1.0 to prod (#9)", "2026-01-09T00:00:00Z",
                 {"environments/prod/releases/sentiment.yaml": release("sentiment", "1.1.0", env="prod", stable="1.0.0")})
    payload = tmp_path / "alert.json"
    payload.write_bytes(body(alert(), alert(version="0.9.0"), alert(status="resolved")))
    result = run_cli(capsys, "on-alert", str(payload), "--no-pr", "--format", "json")
    doc = check_output("on-alert-result", result.out)
    assert result.code == 0 and [a["outcome"] for a in doc["alerts"]] == ["committed", "not-live", "resolved"]
    assert doc["targets"][0]["action"] == "abort" and doc["targets"][0]["branch"] == "releasegate/abort-sentiment-prod-1.1.0"


# --- loadtest (the decisions taken before any server starts: no torch, no load) ------------------

@pytest.mark.parametrize(("env", "verdict", "code"), [("dev", "skipped", 0), ("prod", "fail", 1)])
def test_loadtest_json(env: str, verdict: str, code: int, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                       monkeypatch: pytest.MonkeyPatch) -> None:
    repo = loadtest_repo.make_repo(tmp_path)
    (repo / "models").mkdir()
    for version in ("1.0.0", "1.1.0"):
        model = repo / "models" / f"{version}.pt"
        model.write_bytes(version.encode() * 100)
        digest = hashlib.sha256(model.read_bytes()).hexdigest()
        loadtest_repo.write_release(repo, env, loadtest_repo.release(f"models/{version}.pt", digest, version))
        if version == "1.0.0":
            loadtest_repo.commit(repo, "live: 1.0.0")
    monkeypatch.chdir(repo)
    result = run_cli(capsys, "loadtest", "--format", "json", "--out", str(tmp_path / "out"))
    payload = check_output("loadtest-result", result.out)
    assert (result.code, payload["verdict"]) == (code, verdict)
    assert json.loads((tmp_path / "out" / "result.json").read_text()) == payload


# --- approvals -------------------------------------------------------------------------------------

@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    with serving(monkeypatch) as server:
        yield server


def test_approvals_json(example_repo: Path, fake: FakeGitHub, capsys: pytest.CaptureFixture[str]) -> None:
    head = "a" * 40
    fake.add_pull(Pull(5, author="alice", head_sha=head, files=[PROD]))
    fake.add_review(5, "bob", "APPROVED", head, "2026-11-20T10:00:00Z")
    fake.add_review(5, "alice", "APPROVED", head, "2026-11-20T12:00:00Z")
    result = run_cli(capsys, "approvals", "--pr", "5", "--repo", "octo-org/gitops", "--root", str(example_repo),
                     "--format", "json")
    payload = check_output("approvals-result", result.out)
    assert result.code == 1 and payload["ignored"] == [{"user": "alice", "reason": "the pull request author cannot approve their own change"}]


# --- doctor ----------------------------------------------------------------------------------------

def test_doctor_json(fake: FakeGitHub, capsys: pytest.CaptureFixture[str]) -> None:
    well_configured(fake)
    good = run_cli(capsys, "doctor", "--repo", "octo-org/gitops", "--format", "json")
    assert good.code == 0 and check_output("doctor-result", good.out)["ok"] is True
    badly_configured(fake)
    bad = run_cli(capsys, "doctor", "--repo", "octo-org/gitops", "--format", "json")
    payload = check_output("doctor-result", bad.out)
    assert bad.code == 1 and payload["ok"] is False
    assert {f["status"] for f in payload["findings"]} == {"ok", "missing"}



# --- verify ----------------------------------------------------------------------------------------

def test_verify_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.unit.evidence.conftest import build

    story = build(tmp_path / "gitops")
    missing = run_cli(capsys, "verify", "--root", str(story.root), "--format", "json")
    payload = check_output("verify-result", missing.out)
    assert missing.code == 1 and payload["problems"][0]["check"] == "evidence-missing"
    recorded = run_cli(capsys, "evidence", "record", "--root", str(story.root), "--key-file", str(story.key),
                       "--branch", "releasegate/evidence")
    assert recorded.code == 0
    clean = run_cli(capsys, "verify", "--root", str(story.root), "--format", "json")
    payload = check_output("verify-result", clean.out)
    assert clean.code == 0 and payload["records"][0]["verificationResult"] == "PASSED"
    rows = run_cli(capsys, "audit", "--root", str(story.root), "--format", "jsonl")
    assert rows.code == 0 and len(rows.out.splitlines()) == 6
    assert [check_output("audit-row", line)["evidence"] for line in rows.out.splitlines()][-1] == "verified"
    figures = run_cli(capsys, "audit", "--dora", "--root", str(story.root), "--format", "jsonl")
    assert figures.code == 0 and {check_output("dora-row", line)["environment"] for line in figures.out.splitlines()} \
        == {"dev", "staging", "prod"}
