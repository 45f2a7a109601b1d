"""One check run per gate on the head commit, or a commit status where checks are not permitted.

Creating check runs needs ``checks: write``, which GitHub only grants to GitHub Apps
(``GITHUB_TOKEN`` is one; a personal access token is not). On a 403 releasegate
falls back on a commit status with the same name, which needs ``statuses: write``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from releasegate.errors import GitHubError
from releasegate.github.client import GitHubClient, status_of

MAX_ANNOTATIONS = 50  # per request, GitHub's limit
MAX_SUMMARY = 65535
MAX_DESCRIPTION = 140


@dataclass(frozen=True)
class Annotation:
    """A check-run annotation; ``level`` is notice, warning or failure."""

    path: str
    line: int
    column: int
    level: str
    title: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "start_line": max(self.line, 1),
            "end_line": max(self.line, 1),
            "annotation_level": self.level,
            "title": self.title[:255],
            "message": self.message[:64000],
        }


@dataclass(frozen=True)
class GateReport:
    """The result of one gate as GitHub shows it; ``ok`` None means neutral (skipped)."""

    name: str
    ok: bool | None
    title: str
    summary: str
    annotations: tuple[Annotation, ...] = ()
    details_url: str | None = None

    @property
    def check_name(self) -> str:
        return f"releasegate / {self.name}"

    @property
    def conclusion(self) -> str:
        return "neutral" if self.ok is None else ("success" if self.ok else "failure")


def publish_gate(client: GitHubClient, head_sha: str, gate: GateReport) -> str:
    """Report ``gate`` on ``head_sha``; return ``check-run`` or ``status`` (the fallback used)."""
    try:
        _check_run(client, head_sha, gate)
        return "check-run"
    except GitHubError as e:
        if status_of(e) != 403:
            raise
    _commit_status(client, head_sha, gate)
    return "status"


def _check_run(client: GitHubClient, head_sha: str, gate: GateReport) -> None:
    batches = [gate.annotations[i : i + MAX_ANNOTATIONS] for i in range(0, len(gate.annotations), MAX_ANNOTATIONS)]
    first = batches[0] if batches else ()
    kwargs: dict[str, Any] = {}
    if gate.details_url:
        kwargs["details_url"] = gate.details_url
    run = client.call(
        f"create check run {gate.check_name!r}",
        lambda: client.repo().create_check_run(
            name=gate.check_name,
            head_sha=head_sha,
            status="completed",
            conclusion=gate.conclusion,
            output=_output(gate, first),
            **kwargs,
        ),
    )
    for batch in batches[1:]:
        output = _output(gate, batch)
        client.call(f"add annotations to check run {gate.check_name!r}", lambda: run.edit(output=output))  # noqa: B023 - called at once


def _output(gate: GateReport, annotations: tuple[Annotation, ...]) -> dict[str, Any]:
    output: dict[str, Any] = {"title": gate.title[:255], "summary": gate.summary[:MAX_SUMMARY]}
    if annotations:
        output["annotations"] = [a.as_dict() for a in annotations]
    return output


def _commit_status(client: GitHubClient, head_sha: str, gate: GateReport) -> None:
    state = "success" if gate.ok is not False else "failure"
    payload: dict[str, Any] = {
        "state": state,
        "context": gate.check_name,
        "description": gate.title[:MAX_DESCRIPTION],
    }
    if gate.details_url:
        payload["target_url"] = gate.details_url
    url = f"/repos/{client.repo_name}/statuses/{head_sha}"
    client.call(
        f"set commit status {gate.check_name!r} (fallback after 403 on check runs)",
        lambda: client.gh.requester.requestJsonAndCheck("POST", url, input=payload),
    )
