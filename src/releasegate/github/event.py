"""Read the webhook payload that GitHub Actions puts at ``GITHUB_EVENT_PATH``.

Only the fields releasegate needs are kept, in frozen dataclasses. The commits to
compare always come from the payload (base/head SHAs), never from guesses.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from releasegate.errors import InputError

ZERO_SHA = "0" * 40
MAX_EVENT_BYTES = 25 * 1024 * 1024

# event name -> actions releasegate acts on (None: the event has no action field).
# ``pull_request_target`` has the payload of ``pull_request``; it runs the base branch's workflow
# with the base repository's token (the load-test permit needs that to act on forks' pull requests).
PULL_REQUEST_ACTIONS = ("opened", "synchronize", "reopened", "labeled")
HANDLED: dict[str, tuple[str, ...] | None] = {
    "pull_request": PULL_REQUEST_ACTIONS,
    "pull_request_target": PULL_REQUEST_ACTIONS,
    "pull_request_review": ("submitted", "dismissed"),
    "merge_group": ("checks_requested",),
    "push": None,
}

_FIX_TYPES = (
    "trigger the workflow only on the handled activity types, e.g. "
    "`on: pull_request: types: [opened, synchronize, reopened, labeled]`"
)


@dataclass(frozen=True)
class PullRequest:
    """The pull request an event is about."""

    number: int
    title: str
    author: str
    head_sha: str
    head_ref: str
    head_repo: str | None  # full name; None when the fork was deleted
    base_sha: str
    base_ref: str
    base_repo: str
    labels: tuple[str, ...]
    draft: bool

    @property
    def from_fork(self) -> bool:
        return self.head_repo != self.base_repo


@dataclass(frozen=True)
class Review:
    """One pull request review. ``state`` is upper case as in the REST API (APPROVED, ...)."""

    id: int
    user: str
    state: str
    commit_id: str | None
    submitted_at: str | None


@dataclass(frozen=True)
class Event:
    """A GitHub Actions event reduced to what the gates need."""

    name: str
    action: str | None
    repository: str
    sender: str | None
    base_sha: str | None  # None: no base to compare with (new branch): check everything
    head_sha: str
    pull_request: PullRequest | None = None
    review: Review | None = None
    label: str | None = None
    ref: str | None = None


def normalise_state(state: str) -> str:
    """Webhook payloads say ``approved``, the REST API says ``APPROVED``: use the latter."""
    return state.strip().upper()


def load_event(path: Path | str, name: str) -> Event:
    """Parse the event file at ``path`` for the event called ``name`` (``GITHUB_EVENT_NAME``)."""
    source = f"event file {path}"
    payload = _read_json(Path(path), source)
    return parse_event(payload, name, source)


def parse_event(payload: Mapping[str, Any], name: str, source: str = "event") -> Event:
    """Turn a webhook payload into an :class:`Event`; raise :class:`InputError` if it is unusable."""
    if name not in HANDLED:
        raise InputError(
            f"{source}: releasegate does not handle the event type {name!r} "
            f"(handled: {', '.join(sorted(HANDLED))})",
            "run the action only on pull_request, pull_request_target, pull_request_review, merge_group or push",
        )
    get = _Getter(payload, source)
    allowed = HANDLED[name]
    action = get.text("action") if allowed is not None else get.opt_text("action")
    if allowed is not None and action not in allowed:
        raise InputError(
            f"{source}: releasegate does not handle {name} events with action {action!r} "
            f"(handled: {', '.join(allowed)})",
            _FIX_TYPES,
        )
    repository = get.text("repository", "full_name")
    sender = get.opt_text("sender", "login")
    if name == "merge_group":
        return Event(
            name, action, repository, sender,
            base_sha=get.sha("merge_group", "base_sha"),
            head_sha=get.sha("merge_group", "head_sha"),
            ref=get.opt_text("merge_group", "head_ref"),
        )
    if name == "push":
        before = get.sha("before")
        return Event(
            name, action, repository, sender,
            base_sha=None if before == ZERO_SHA else before,
            head_sha=get.sha("after"),
            ref=get.opt_text("ref"),
        )
    pr = _pull_request(get)
    review = _review(get) if name == "pull_request_review" else None
    label = get.opt_text("label", "name") if action == "labeled" else None
    return Event(
        name, action, repository, sender,
        base_sha=pr.base_sha, head_sha=pr.head_sha,
        pull_request=pr, review=review, label=label,
    )


def _pull_request(get: _Getter) -> PullRequest:
    labels = get.items("pull_request", "labels")
    return PullRequest(
        number=get.integer("pull_request", "number"),
        title=get.text("pull_request", "title"),
        author=get.text("pull_request", "user", "login"),
        head_sha=get.sha("pull_request", "head", "sha"),
        head_ref=get.text("pull_request", "head", "ref"),
        head_repo=get.opt_text("pull_request", "head", "repo", "full_name"),
        base_sha=get.sha("pull_request", "base", "sha"),
        base_ref=get.text("pull_request", "base", "ref"),
        base_repo=get.text("pull_request", "base", "repo", "full_name"),
        labels=tuple(str(x.get("name", "")) for x in labels if isinstance(x, Mapping)),
        draft=bool(get.opt("pull_request", "draft")),
    )


def _review(get: _Getter) -> Review:
    return Review(
        id=get.integer("review", "id"),
        user=get.text("review", "user", "login"),
        state=normalise_state(get.text("review", "state")),
        commit_id=get.opt_text("review", "commit_id"),
        submitted_at=get.opt_text("review", "submitted_at"),
    )


def _read_json(path: Path, source: str) -> Mapping[str, Any]:
    fix = "GitHub Actions writes this file itself; if you set GITHUB_EVENT_PATH by hand, point it at a webhook payload"
    try:
        size = path.stat().st_size
        if size > MAX_EVENT_BYTES:
            raise InputError(f"{source}: {size} bytes is larger than the {MAX_EVENT_BYTES} bytes allowed", fix)
        data = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError as e:
        raise InputError(f"{source}: no such file", fix) from e
    except OSError as e:
        raise InputError(f"{source}: cannot read it: {e.strerror}", fix) from e
    except UnicodeDecodeError as e:
        raise InputError(f"{source}: not UTF-8 text (byte {e.start})", fix) from e
    except json.JSONDecodeError as e:
        raise InputError(
            f"{source}: not valid JSON at line {e.lineno} column {e.colno}: {e.msg} "
            "(the file is truncated or corrupt)",
            fix,
        ) from e
    if not isinstance(data, Mapping):
        raise InputError(f"{source}: the payload is a JSON {type(data).__name__}, not an object", fix)
    return data


class _Getter:
    """Typed access to nested payload fields; every miss names the dotted field."""

    def __init__(self, payload: Mapping[str, Any], source: str) -> None:
        self.payload = payload
        self.source = source

    def opt(self, *keys: str) -> Any:
        node: Any = self.payload
        for key in keys:
            if not isinstance(node, Mapping):
                return None
            node = node.get(key)
        return node

    def _fail(self, keys: tuple[str, ...], what: str) -> InputError:
        return InputError(
            f"{self.source}: field {'.'.join(keys)} is missing or not {what}",
            "the payload does not look like a GitHub webhook event of this type; "
            "check GITHUB_EVENT_NAME and GITHUB_EVENT_PATH",
        )

    def text(self, *keys: str) -> str:
        value = self.opt(*keys)
        if not isinstance(value, str) or not value:
            raise self._fail(keys, "a non-empty string")
        return value

    def opt_text(self, *keys: str) -> str | None:
        value = self.opt(*keys)
        return value if isinstance(value, str) else None

    def integer(self, *keys: str) -> int:
        value = self.opt(*keys)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self._fail(keys, "an integer")
        return value

    def sha(self, *keys: str) -> str:
        value = self.text(*keys)
        if len(value) not in (40, 64) or any(c not in "0123456789abcdef" for c in value):
            raise self._fail(keys, "a commit SHA (40 or 64 lower-case hex digits)")
        return value

    def items(self, *keys: str) -> list[Any]:
        value = self.opt(*keys)
        return value if isinstance(value, list) else []
