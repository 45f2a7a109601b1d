"""Webhook payloads for tests, derived from real ones in @octokit/webhooks-examples.

Every derived payload is checked against @octokit/webhooks-schemas before use, so
the tests never feed the actions something GitHub could not send.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.github_fixtures import valid_example, validate_payload


def pull_request_event(
    action: str,
    *,
    number: int,
    base_sha: str,
    head_sha: str,
    author: str = "Codertocat",
    title: str = "Release update",
    head_ref: str = "release/update",
    labels: tuple[str, ...] = (),
    fork: bool = False,
    label: str | None = None,
) -> dict[str, Any]:
    """A real ``pull_request`` payload of this ``action`` with the commits and people replaced."""
    source = "labeled" if action in ("labeled",) else "opened"
    payload = valid_example("pull_request", source)
    payload["action"] = action
    payload["number"] = number
    _set_pull(payload["pull_request"], number, base_sha, head_sha, author, title, head_ref, labels, fork)
    if action == "labeled":
        payload["label"]["name"] = label or (labels[0] if labels else "safe-to-loadtest")
    if action == "synchronize":
        payload["before"], payload["after"] = "f" * 40, head_sha
    validate_payload(payload, f"pull_request${action}")
    return payload


def _set_pull(pr: dict[str, Any], number: int, base_sha: str, head_sha: str, author: str, title: str,
              head_ref: str, labels: tuple[str, ...], fork: bool) -> None:
    pr["number"] = number
    pr["title"] = title
    pr["user"]["login"] = author
    pr["head"]["sha"], pr["head"]["ref"] = head_sha, head_ref
    pr["base"]["sha"] = base_sha
    template = {"id": 1, "node_id": "MDU6TGFiZWwx", "url": "https://api.github.com/repos/Codertocat/Hello-World/labels/x",
                "name": "x", "color": "ededed", "default": False, "description": None}
    pr["labels"] = [dict(template, id=i + 1, name=name) for i, name in enumerate(labels)]
    if fork:
        pr["head"]["repo"]["full_name"] = "mallory/Hello-World"
        pr["head"]["repo"]["fork"] = True
        pr["head"]["label"] = f"mallory:{head_ref}"


def review_event(
    action: str,
    state: str,
    *,
    number: int,
    base_sha: str,
    head_sha: str,
    reviewer: str,
    review_id: int,
    commit_id: str | None = None,
    author: str = "Codertocat",
) -> dict[str, Any]:
    """A real ``pull_request_review`` payload turned into an ``approved`` (or other) review."""
    payload = valid_example("pull_request_review", action)
    _set_pull(payload["pull_request"], number, base_sha, head_sha, author, "Release update", "release/update", (), False)
    review = payload["review"]
    review["id"] = review_id
    review["state"] = state
    review["user"]["login"] = reviewer
    review["commit_id"] = commit_id or head_sha
    validate_payload(payload, f"pull_request_review${action}")
    return payload


def merge_group_event(base_sha: str, head_sha: str) -> dict[str, Any]:
    payload = valid_example("merge_group", "checks_requested")
    payload["merge_group"]["base_sha"] = base_sha
    payload["merge_group"]["head_sha"] = head_sha
    payload["merge_group"]["head_commit"]["id"] = head_sha
    validate_payload(payload, "merge_group$checks_requested")
    return payload


def write_event(tmp: Path, payload: dict[str, Any]) -> Path:
    path = tmp / "event.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path


def merged_event(*, number: int, base_sha: str, head_sha: str, merge_sha: str) -> dict[str, Any]:
    """A real ``pull_request`` ``closed`` payload turned into a merged one (none is published)."""
    payload = valid_example("pull_request", "closed")
    _set_pull(payload["pull_request"], number, base_sha, head_sha, "Codertocat", "Release update", "release/update",
              (), False)
    payload["number"] = number
    pr = payload["pull_request"]
    pr.update(merged=True, state="closed", merged_at="2026-11-20T12:00:00Z", closed_at="2026-11-20T12:00:00Z",
              merge_commit_sha=merge_sha)
    pr["merged_by"] = dict(pr["user"])
    validate_payload(payload, "pull_request$closed")
    return payload
