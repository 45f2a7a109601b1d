from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from releasegate.actions import validate as validate_action
from tests.conftest import git
from tests.support.fake_github import FakeGitHub
from tests.support.github_events import write_event

REPO = "Codertocat/Hello-World"  # the repository of the real webhook examples


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub(repo=REPO).start()
    try:
        yield fake
    finally:
        fake.stop()
    assert fake.violations == [], "requests or answers that break GitHub's OpenAPI description"


@dataclass
class ActionRun:
    code: int
    stdout: str
    outputs: dict[str, str]
    summary: str
    lines: list[str] = field(default_factory=list)


def parse_outputs(text: str) -> dict[str, str]:
    outputs: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and "=" not in line.split("<<")[0]:
            name, delimiter = line.split("<<", 1)
            value = []
            for inner in lines:
                if inner == delimiter:
                    break
                value.append(inner)
            outputs[name] = "\n".join(value)
        elif "=" in line:
            name, value_text = line.split("=", 1)
            outputs[name] = value_text
    return outputs


@dataclass
class ActionEnv:
    """Runs an action entry point the way the runner does: env vars, output files, event file."""

    tmp: Path
    repo: Path
    fake: FakeGitHub
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.env.update({
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(self.repo),
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_API_URL": self.fake.url,
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_RUN_ID": "42",
            "GITHUB_TOKEN": "ghs_test",
            "RELEASEGATE_THROTTLE": "0",
            "RELEASEGATE_RETRY_BACKOFF": "0",
        })

    def event(self, name: str, payload: dict[str, Any]) -> None:
        self.env["GITHUB_EVENT_NAME"] = name
        self.env["GITHUB_EVENT_PATH"] = str(write_event(self.tmp, payload))

    def run(self, main: Any = validate_action.main, **inputs: str) -> ActionRun:
        output = self.tmp / "output.txt"
        summary = self.tmp / "summary.md"
        for path in (output, summary):
            path.write_text("")
        env = dict(self.env, GITHUB_OUTPUT=str(output), GITHUB_STEP_SUMMARY=str(summary))
        env.update({"RELEASEGATE_" + k.upper(): v for k, v in inputs.items()})
        out = io.StringIO()
        code = main(env, out)
        text = out.getvalue()
        return ActionRun(code, text, parse_outputs(output.read_text()), summary.read_text(), text.splitlines())


@pytest.fixture
def action_env(tmp_path: Path, git_repo: Path, fake_github: FakeGitHub) -> ActionEnv:
    return ActionEnv(tmp_path, git_repo, fake_github)


def commit_change(repo: Path, branch: str, edits: dict[str, str], message: str = "Change") -> tuple[str, str]:
    """Create ``branch`` from main with ``edits`` (path -> new text); return (base sha, head sha)."""
    base = git(repo, "rev-parse", "main").strip()
    git(repo, "checkout", "-q", "-B", branch, "main")
    for rel, text in edits.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return base, git(repo, "rev-parse", "HEAD").strip()
