"""Opening the pull request of a promotion or rollback.

All GitHub calls of ``promote``/``rollback`` are here. They go through the shared PyGithub
client of :mod:`releasegate.github.client` (bounded retries, one error type), bound to the
repository named by ``GITHUB_REPOSITORY`` or the remote's URL.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

from releasegate.errors import GitHubError
from releasegate.github.client import TOKEN_VARS, GitHubClient, connect_from_env
from releasegate.github.pr import add_labels
from releasegate.history.git import Git

DEFAULT_SERVER = "https://github.com"
_SLUG = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_REMOTE = re.compile(r"(?:[:/])([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?/?$")


@dataclass(frozen=True)
class GitHubTarget:
    """Where to open the pull request (the token stays in the environment)."""

    slug: str
    server_url: str

    @property
    def html_url(self) -> str:
        return f"{self.server_url.rstrip('/')}/{self.slug}"


@dataclass(frozen=True)
class OpenedPullRequest:
    number: int
    url: str


def resolve_target(git: Git, remote: str) -> GitHubTarget:
    """Check that a token (GITHUB_TOKEN/GH_TOKEN) and a repository are known; say what is missing."""
    token = any(os.environ.get(name, "").strip() for name in TOKEN_VARS)
    slug = os.environ.get("GITHUB_REPOSITORY") or _slug_from_remote(git, remote)
    missing = []
    if not token:
        missing.append("a token: set GITHUB_TOKEN (or GH_TOKEN) to a token that may push and open pull requests")
    if not slug or not _SLUG.match(slug):
        missing.append(f"the repository: set GITHUB_REPOSITORY=owner/name (the URL of remote {remote!r} "
                       "does not name a GitHub repository)")
    if missing:
        raise GitHubError("cannot open a pull request without " + " and ".join(missing),
                          "or pass --no-pr to stop after the local commit")
    return GitHubTarget(str(slug), os.environ.get("GITHUB_SERVER_URL", DEFAULT_SERVER))


def _slug_from_remote(git: Git, remote: str) -> str | None:
    url = git.text(["remote", "get-url", remote], check=False)
    if "github" not in url:
        return None
    m = _REMOTE.search(url)
    return f"{m.group(1)}/{m.group(2)}" if m else None


def connect(target: GitHubTarget) -> GitHubClient:
    """The shared client for ``target`` (token and API URL from the environment; no request yet)."""
    return connect_from_env(target.slug)


def open_pull_request(client: GitHubClient, *, head: str, base: str, title: str, body: str,
                      labels: tuple[str, ...] = ()) -> OpenedPullRequest:
    """Open the pull request ``head`` -> ``base`` and label it; GitHubError when GitHub refuses."""
    pull = client.call(f"open the pull request {head} -> {base}",
                       lambda: client.repo().create_pull(base=base, head=head, title=title, body=body))
    add_labels(client, pull.number, labels)
    return OpenedPullRequest(pull.number, pull.html_url)
