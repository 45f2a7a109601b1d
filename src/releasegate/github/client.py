"""A PyGithub client with bounded retries and one error type.

Retries happen at the transport, in PyGithub's :class:`~github.GithubRetry` (a
``urllib3.Retry``): server errors (5xx), connection errors, ``Retry-After``, and
rate limits, which GitHub answers with 403 or 429 and no ``Retry-After``: a primary
limit (``X-RateLimit-Remaining: 0``) waits for ``X-RateLimit-Reset``, a secondary
one ("You have exceeded a secondary rate limit") waits ``secondary_wait_s``. Every
request is tried at most ``attempts`` times, no wait exceeds ``max_wait_s`` (a rate
limit that needs longer fails at once). :meth:`GitHubClient.call` only turns what
is left into a :class:`GitHubError` naming the request and what to do.
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import requests
from github import Auth, Github, GithubException, GithubRetry
from urllib3 import Retry
from urllib3.exceptions import MaxRetryError

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
    """How often and how long to retry; ``sleep`` is injectable so tests never wait.

    ``attempts`` bounds the requests per API call; waits double from ``backoff_s``; a
    secondary rate limit without ``Retry-After`` waits ``secondary_wait_s`` (GitHub asks
    for at least a minute); nothing waits longer than ``max_wait_s``.
    """

    attempts: int = 4
    backoff_s: float = 2.0
    max_wait_s: float = 60.0
    secondary_wait_s: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)


@dataclass
class _Attempts:
    """What the transport saw of the last request: how many tries, the last answer's body."""

    count: int = 0
    body: bytes | None = None


class _Retry(GithubRetry):
    """PyGithub's retry, with the policy's bounds, backoff and sleep, 429 read as 403, and a tally."""

    def __init__(self, policy: RetryPolicy, tally: _Attempts, **kwargs: Any) -> None:
        self.policy, self.tally = policy, tally
        kwargs.setdefault("total", policy.attempts - 1)
        kwargs.setdefault("status_forcelist", [*range(500, 600), 429])  # GithubRetry adds 403
        kwargs.setdefault("allowed_methods", Retry.DEFAULT_ALLOWED_METHODS | {"GET", "POST", "PATCH"})
        kwargs.setdefault("raise_on_status", False)  # the last answer goes to PyGithub, which raises for it
        kwargs.setdefault("secondary_rate_wait", policy.secondary_wait_s)
        kwargs.setdefault("max_rate_limit_wait", policy.max_wait_s)
        super().__init__(**kwargs)

    def new(self, **kw: Any) -> _Retry:
        retry: _Retry = super().new(policy=self.policy, tally=self.tally, **kw)
        return retry

    def increment(self, method: str | None = None, url: str | None = None, response: Any = None,  # type: ignore[override]
                  error: Exception | None = None, _pool: Any = None, _stacktrace: Any = None) -> Retry:
        too_many = response is not None and response.status == 429
        seen: Any = _As403(response) if too_many else response
        try:
            return super().increment(method, url, seen, error, _pool, _stacktrace)
        except GithubException as e:
            self.tally.count = len(self.history) + 1
            if too_many:
                raise GithubException(429, e.data, e.headers) from e
            raise
        except MaxRetryError:
            self.tally.count = len(self.history) + 1
            if response is None or response.status not in (403, 429) or self.tally.body is None:
                raise
            # Out of attempts on a rate limit: GithubRetry has read the body; hand GitHub's answer on.
            raise GithubException(response.status, _json(self.tally.body), dict(response.headers)) from None

    def get_content(self, resp: Any, url: str) -> bytes:  # type: ignore[override]
        self.tally.body = GithubRetry.get_content(resp, url)
        return self.tally.body

    def get_backoff_time(self) -> float:
        failures = len(self.history)
        return min(self.policy.backoff_s * 2 ** (failures - 1), self.policy.max_wait_s) if failures else 0.0

    def sleep(self, response: Any = None) -> None:
        after = self.get_retry_after(response) if response is not None else None
        self.policy.sleep(min(after if after is not None else self.get_backoff_time(), self.policy.max_wait_s))


class _As403:
    """A 429 shown to GithubRetry, which reads GitHub's rate-limit answers only on 403."""

    status = 403

    def __init__(self, response: Any) -> None:
        self._response = response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._response, name)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")


@dataclass
class GitHubClient:
    """A connected PyGithub instance; :meth:`call` names each request in its errors."""

    gh: Github
    repo_name: str
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    attempts: _Attempts = field(default_factory=_Attempts, repr=False)

    def repo(self) -> Any:
        return self.gh.get_repo(self.repo_name)  # lazy: the client is created with lazy=True

    def call(self, what: str, fn: Callable[[], T]) -> T:
        """Run ``fn`` (one or more API requests, retried by the transport); ``what`` names it in errors."""
        self.attempts.count = 0
        try:
            return fn()
        except GithubException as e:
            raise _error(what, e.status, _message(e), max(self.attempts.count, 1)) from e
        except requests.exceptions.RequestException as e:
            tries = max(self.attempts.count, 1)
            raise GitHubError(
                f"{what}: cannot reach GitHub after {tries} attempt{'s' if tries > 1 else ''}: {e}",
                "check the network and GITHUB_API_URL, then re-run the job",
            ) from e


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
    policy, tally = retry or RetryPolicy(), _Attempts()
    gh = Github(
        base_url=(api_url or os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/"),
        auth=Auth.Token(token),
        retry=_Retry(policy, tally),
        timeout=30,
        lazy=True,
        per_page=100,
        user_agent="releasegate",
        seconds_between_requests=0.25 if throttle else None,
        seconds_between_writes=1.0 if throttle else None,
    )
    return GitHubClient(gh, repo_name, policy, tally)


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
