"""What every action entry point shares: context from the environment, failure reporting."""
from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TextIO

from releasegate.errors import EXIT_INTERNAL, GitHubError, InputError, ReleasegateError
from releasegate.github.checks import GateReport, publish_gate
from releasegate.github.client import GitHubClient, connect_from_env, status_of
from releasegate.github.comment import upsert_sticky
from releasegate.github.event import Event, load_event
from releasegate.github.workflow import annotation, append_summary, failure_summary
from releasegate.layout import RepoLayout, find_root


def event_from_env(env: Mapping[str, str]) -> Event | None:
    """The event of this workflow run; None outside Actions (no GITHUB_EVENT_PATH)."""
    path = env.get("GITHUB_EVENT_PATH", "").strip()
    if not path:
        return None
    name = env.get("GITHUB_EVENT_NAME", "").strip()
    if not name:
        raise InputError("GITHUB_EVENT_PATH is set but GITHUB_EVENT_NAME is not",
                         "set both (GitHub Actions does), or neither to run without an event")
    return load_event(path, name)


def layout_from_env(root: str, env: Mapping[str, str]) -> RepoLayout:
    workspace = env.get("GITHUB_WORKSPACE", "").strip()
    base = Path(workspace) if workspace else Path.cwd()
    return find_root(base / (root or "."))


def client_from_env(env: Mapping[str, str], event: Event) -> GitHubClient:
    """A client for this run's repository (see :func:`connect_from_env` for the settings)."""
    return connect_from_env(env.get("GITHUB_REPOSITORY", "").strip() or event.repository, env)


def details_url(env: Mapping[str, str]) -> str | None:
    server, repo, run = (env.get(k, "").strip() for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    return f"{server}/{repo}/actions/runs/{run}" if server and repo and run else None


def run_action(name: str, body: Callable[[Mapping[str, str], TextIO], int],
               env: Mapping[str, str] | None = None, out: TextIO | None = None) -> int:
    """Run ``body``; turn errors into ``::error::``, a what/why/fix summary and an exit code."""
    env = dict(os.environ) if env is None else env
    out = sys.stdout if out is None else out
    try:
        return body(env, out)
    except ReleasegateError as e:
        what = f"releasegate {name} stopped: {e.message}"
        fix = e.hint or "see the message above"
        code = e.exit_code
    except Exception as e:  # noqa: BLE001 - last line of defence: one line, exit 3
        what = f"releasegate {name} crashed: {type(e).__name__}: {e}"
        fix = "this is a bug in releasegate: re-run with RELEASEGATE_TRACEBACK=1 and report it"
        code = EXIT_INTERNAL
        if env.get("RELEASEGATE_TRACEBACK"):
            import traceback

            traceback.print_exc()
    why = "bad input or settings (exit 2)" if code == 2 else "an unexpected internal error (exit 3)"
    print(annotation("error", f"{what} (fix: {fix})", title=f"releasegate {name}"), file=out)
    try:
        append_summary(env.get("GITHUB_STEP_SUMMARY"), failure_summary(what, why, fix))
    except ReleasegateError:
        pass  # the annotation above already carries the message
    return code


def publish_check(env: Mapping[str, str], event: Event | None, gate: GateReport) -> str | None:
    """Post ``gate`` as a check run on the event's head commit; None outside a workflow run.

    On a fork pull request a read-only token cannot post: that is not an error (the
    job's own result and summary carry the verdict).
    """
    if event is None:
        return None
    client = client_from_env(env, event)
    gate = GateReport(gate.name, gate.ok, gate.title, gate.summary, gate.annotations, details_url(env))
    try:
        return publish_gate(client, event.head_sha, gate)
    except GitHubError as e:
        if event.pull_request is not None and event.pull_request.from_fork and status_of(e) == 403:
            return None
        raise


def post_comment(env: Mapping[str, str], event: Event, key: str, markdown: str) -> bool:
    """Keep the sticky comment ``key`` on the event's pull request; False where a fork's
    read-only token cannot (the job summary carries the report)."""
    pull = event.pull_request
    if pull is None:
        return False
    try:
        upsert_sticky(client_from_env(env, event), pull.number, key, markdown)
    except GitHubError as e:
        if pull.from_fork and status_of(e) == 403:
            return False
        raise
    return True
