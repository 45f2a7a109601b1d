"""A throw-away GitOps repository for the demo, with a bare "origin" and a simulated clock.

The clock moves in whole hours so that soak times and freeze windows can be shown
without waiting: every commit is dated with it (GIT_AUTHOR_DATE / GIT_COMMITTER_DATE)
and every gate is asked to judge "as of" it (RELEASEGATE_NOW).
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from releasegate.command import run_text
from releasegate.errors import InputError

TEMPLATE_DIRS = ("policies", ".github/workflows", "deploy")
DEMO_AUTHOR = ("Demo Engineer", "ml-engineer@example.com")


@dataclass
class DemoClock:
    """Simulated wall clock; starts on a Monday morning outside every shipped freeze window."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc))

    def advance(self, hours: float) -> None:
        self.now += timedelta(hours=hours)

    def stamp(self) -> str:
        return self.now.strftime("%Y-%m-%dT%H:%M:%SZ")

    def apply(self) -> None:
        """Make git and releasegate (in this process and its children) see the simulated time."""
        stamp = self.stamp()
        os.environ.update({"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp, "RELEASEGATE_NOW": stamp})


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def repo(self) -> Path:
        return self.root / "gitops"

    @property
    def origin(self) -> Path:
        return self.root / "origin.git"

    @property
    def artifacts(self) -> Path:
        return self.root / "artifacts"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    def git(self, *args: str) -> str:
        return run_text(["git", *args], cwd=self.repo)


def find_template(explicit: Path | None = None) -> Path:
    """The releasegate checkout whose policies/workflows seed the demo repository."""
    candidates = [explicit] if explicit else [Path(__file__).resolve().parents[3], Path.cwd()]
    for candidate in candidates:
        if candidate is not None and (candidate / "policies" / "policy-pack.yaml").is_file():
            return candidate
    raise InputError("cannot find the releasegate template (a checkout with policies/policy-pack.yaml)",
                     "run the demo from a releasegate checkout, or pass --template DIR")


def create_workspace(template: Path, target: Path, environments: list[str]) -> Workspace:
    """Copy the template into ``target/gitops``, make it a Git repo with a bare origin."""
    if target.exists() and any(target.iterdir()):
        raise InputError(f"{target}: already exists and is not empty", "choose a new --workdir")
    ws = Workspace(target)
    for name in TEMPLATE_DIRS:
        if (template / name).is_dir():
            shutil.copytree(template / name, ws.repo / name)
    for env in environments:
        releases = ws.repo / "environments" / env / "releases"
        releases.mkdir(parents=True)
        (releases / ".gitkeep").write_text("")
    ws.artifacts.mkdir(parents=True)
    ws.reports.mkdir(parents=True)
    run_text(["git", "init", "-q", "--bare", "-b", "main", str(ws.origin)])
    ws.git("init", "-q", "-b", "main")
    for key, value in (("user.name", DEMO_AUTHOR[0]), ("user.email", DEMO_AUTHOR[1]),
                       ("commit.gpgsign", "false")):
        ws.git("config", key, value)
    ws.git("remote", "add", "origin", str(ws.origin))
    return ws


def commit_all(ws: Workspace, message: str) -> str:
    ws.git("add", "-A")
    ws.git("commit", "-q", "-m", message)
    return ws.git("rev-parse", "HEAD").strip()


def merge_pull_request(ws: Workspace, branch: str, number: int, title: str) -> str:
    """Merge ``branch`` into main the way GitHub's merge button does, push, delete the branch."""
    ws.git("checkout", "-q", "main")
    ws.git("merge", "-q", "--no-ff", branch, "-m", f"Merge pull request #{number} from demo/{branch}\n\n{title}")
    ws.git("push", "-q", "origin", "main")
    ws.git("branch", "-q", "-D", branch)
    return ws.git("rev-parse", "HEAD").strip()


def abandon_branch(ws: Workspace, branch: str) -> None:
    """Close a pull request without merging: back to main, branch deleted."""
    ws.git("checkout", "-q", "main")
    ws.git("branch", "-q", "-D", branch)
