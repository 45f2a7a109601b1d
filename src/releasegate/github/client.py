"""A PyGithub client with bounded retries and one error type.

PyGithub's own retry is switched off (``retry=None``): releasegate retries rate
limits (403/429 with rate-limit headers) and server errors (5xx, connection
errors) itself, a bounded number of times with exponential backoff, and then
raises :class:`GitHubError` naming the request and what to do.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import requests
from github import Auth, Github, GithubException

from releasegate.errors import GitHubError, InputError

T = TypeVar("T")
TOKEN_VARS = ("GITHUB_TOKEN", "GH_TOKEN")
DEFAULT_API_URL = "https://api.github.com"

_STATUS_HINTS = {
    401: "the token is invalid or expired: check the `github-token` input / GITHUB_TOKEN",
    403: "the token lacks a permission: grant it in the workflow's `permissions:` block "
    "(pull-requests: write for comments and labels, checks: write for check runs, statuses: write)",
    404: "the repository, pull request or team does not exist or the token cannot see it",
    422: "GitHub rejected the request as invalid",
}


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry; ``sleep`` is injectable so tests never wait."""

    attempts: int = 4
    backoff_s: float = 2.0
    max_wait_s: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)


@dataclass
class GitHubClient:
    """A connected PyGithub instance plus the retry policy for every call made through :meth:`call`."""

    gh: Github
    repo_name: str
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def repo(self) -> Any:
        return self.gh.get_repo(self.repo_name)  # lazy: the client is created with lazy=True

    def call(self, what: str, fn: Callable[[], T]) -> T:
        """Run ``fn`` (one or more API requests), retrying rate limits and 5xx; ``what`` names it in errors."""
        for attempt in range(1, self.retry.attempts + 1):
            try:
                return fn()
            except GithubException as e:
                wait = _retry_wait(e.status, e.headers or {}, attempt, self.retry)
                if wait is None or attempt == self.retry.attempts:
                    raise _error(what, e.status, _message(e), attempt) from e
            except requests.exceptions.RequestException as e:
                wait = self.retry.backoff_s * 2 ** (attempt - 1)
                if attempt == self.retry.attempts:
                    raise GitHubError(
                        f"{what}: cannot reach GitHub after {attempt} attempts: {e}",
                        "check the network and GITHUB_API_URL, then re-run the job",
                    ) from e
            self.retry.sleep(min(wait, self.retry.max_wait_s))
        raise AssertionError("unreachable")  # pragma: no cover


def token_from_env(env: Mapping[str, str] | None = None) -> str:
    """The API token from ``GITHUB_TOKEN`` (or ``GH_TOKEN``); a clear error naming both if unset."""
    env = os.environ if env is None else env
    for name in TOKEN_VARS:
        if env.get(name, "").strip():
            return env[name].strip()
    raise InputError(
        "no GitHub token: the environment variable GITHUB_TOKEN (or GH_TOKEN) is not set",
        "in a workflow pass `github-token: ${{ github.token }}` (the default of the action's input); "
        "locally export GITHUB_TOKEN, or turn GitHub reporting off",
    )


def connect(
    repo_name: str,
    token: str,
    api_url: str | None = None,
    *,
    retry: RetryPolicy | None = None,
    throttle: bool = True,
) -> GitHubClient:
    """A client for ``repo_name`` (``owner/name``) at ``api_url`` (``GITHUB_API_URL`` or api.github.com)."""
    if repo_name.count("/") != 1:
        raise InputError(
            f"repository {repo_name!r} is not of the form owner/name",
            "pass --repo owner/name (in Actions GITHUB_REPOSITORY sets it)",
        )
    gh = Github(
        base_url=(api_url or os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/"),
        auth=Auth.Token(token),
        retry=None,
        timeout=30,
        lazy=True,
        per_page=100,
        user_agent="releasegate",
        seconds_between_requests=0.25 if throttle else None,
        seconds_between_writes=1.0 if throttle else None,
    )
    return GitHubClient(gh, repo_name, retry or RetryPolicy())


def connect_from_env(repo_name: str, env: Mapping[str, str] | None = None, api_url: str | None = None) -> GitHubClient:
    """:func:`connect` with the token and settings from the environment.

    ``GITHUB_TOKEN``/``GH_TOKEN`` (required), ``GITHUB_API_URL``, ``RELEASEGATE_RETRY_BACKOFF``
    (seconds before the first retry, default 2, doubling) and ``RELEASEGATE_THROTTLE=0`` (no
    pause between requests; by default PyGithub's 0.25 s, and 1 s between writes).
    """
    env = os.environ if env is None else env
    text = env.get("RELEASEGATE_RETRY_BACKOFF", "2").strip()
    try:
        backoff = float(text)
    except ValueError as e:
        raise InputError(f"RELEASEGATE_RETRY_BACKOFF={text!r} is not a number of seconds",
                         "unset it or give seconds, e.g. 2") from e
    throttle = env.get("RELEASEGATE_THROTTLE", "1").strip() != "0"
    return connect(repo_name, token_from_env(env), api_url or env.get("GITHUB_API_URL") or None,
                   retry=RetryPolicy(backoff_s=backoff), throttle=throttle)


def _retry_wait(status: int, headers: Mapping[str, Any], attempt: int, policy: RetryPolicy) -> float | None:
    """Seconds to wait before retrying, or None if the failure is not worth retrying."""
    low = {str(k).lower(): str(v) for k, v in headers.items()}
    backoff = policy.backoff_s * 2 ** (attempt - 1)
    if status >= 500:
        return backoff
    limited = "retry-after" in low or low.get("x-ratelimit-remaining") == "0"
    if status not in (403, 429) or not limited:
        return None
    if "retry-after" in low:
        return _float(low["retry-after"], backoff)
    reset = _float(low.get("x-ratelimit-reset", ""), 0.0) - time.time()
    return max(backoff, reset) if reset <= policy.max_wait_s else None


def _float(text: str, default: float) -> float:
    try:
        return float(text)
    except ValueError:
        return default


def _message(e: GithubException) -> str:
    data = e.data if isinstance(e.data, dict) else {}
    message = str(data.get("message") or e.message or "no message")
    errors = data.get("errors")
    if isinstance(errors, list) and errors:
        message += " (" + "; ".join(str(x.get("message", x) if isinstance(x, dict) else x) for x in errors) + ")"
    return message


def _error(what: str, status: int, message: str, attempts: int) -> GitHubError:
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    if status in (403, 429) and "rate limit" in message.lower():
        hint = "the API rate limit is exhausted: wait for it to reset or use a token with a higher limit"
    elif status >= 500:
        hint = "GitHub is failing: re-run the job later (see the GitHub status page)"
    else:
        hint = _STATUS_HINTS.get(status, "see the message from GitHub")
    return _StatusError(f"{what}: GitHub answered {status}{tries}: {message}", hint, status)


class _StatusError(GitHubError):
    """A GitHubError that remembers the HTTP status (callers fall back on 403, ignore 404)."""

    def __init__(self, message: str, hint: str, status: int) -> None:
        super().__init__(message, hint)
        self.status = status


def status_of(error: GitHubError) -> int | None:
    """The HTTP status behind ``error``, if it came from a GitHub answer."""
    return getattr(error, "status", None)
