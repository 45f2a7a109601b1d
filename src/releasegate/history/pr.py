"""Opening the pull request of a promotion or rollback, with PyGithub.

All GitHub calls of ``promote``/``rollback`` are here. :func:`open_pull_request` takes a
PyGithub ``Repository``, so tests (and other callers) can hand in one bound to any server.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from releasegate.errors import GitHubError
from releasegate.history.git import Git

DEFAULT_API = "https://api.github.com"
DEFAULT_SERVER = "https://github.com"
_SLUG = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_REMOTE = re.compile(r"(?:[:/])([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?/?$")


@dataclass(frozen=True)
class GitHubTarget:
    """Where and as whom to open the pull request."""

    slug: str
    token: str
    api_url: str
    server_url: str

    @property
    def html_url(self) -> str:
        return f"{self.server_url.rstrip('/')}/{self.slug}"


@dataclass(frozen=True)
class OpenedPullRequest:
    number: int
    url: str


def resolve_target(git: Git, remote: str) -> GitHubTarget:
    """Token from GITHUB_TOKEN/GH_TOKEN, repository from GITHUB_REPOSITORY or the remote's URL."""
    token = os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN")
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
    return GitHubTarget(str(slug), str(token), os.environ.get("GITHUB_API_URL", DEFAULT_API),
                        os.environ.get("GITHUB_SERVER_URL", DEFAULT_SERVER))


def _slug_from_remote(git: Git, remote: str) -> str | None:
    url = git.text(["remote", "get-url", remote], check=False)
    if "github" not in url:
        return None
    m = _REMOTE.search(url)
    return f"{m.group(1)}/{m.group(2)}" if m else None


def connect(target: GitHubTarget) -> Any:
    """A lazy PyGithub ``Repository`` for ``target`` (no request is made yet)."""
    from github import Auth, Github

    client = Github(base_url=target.api_url, auth=Auth.Token(target.token), retry=None, lazy=True)
    return client.get_repo(target.slug)


def open_pull_request(repo: Any, *, head: str, base: str, title: str, body: str,
                      labels: tuple[str, ...] = ()) -> OpenedPullRequest:
    """Open the pull request ``head`` -> ``base`` and label it; GitHubError when GitHub refuses."""
    from github import GithubException

    try:
        pull = repo.create_pull(base=base, head=head, title=title, body=body)
        if labels:
            # PATCH issues/{n} with {"labels": [...]} (add_to_labels posts a bare array).
            repo.get_issue(pull.number).edit(labels=list(labels))
    except GithubException as e:
        detail = e.data.get("message") if isinstance(e.data, dict) else e.data
        raise GitHubError(f"GitHub refused the pull request ({e.status}): {detail}",
                          "check the token's permissions (contents: write, pull-requests: write) "
                          "and that the base branch exists on GitHub") from e
    except OSError as e:  # connection refused, DNS, TLS
        raise GitHubError(f"cannot reach GitHub at {repo.url}: {e}",
                          "check the network and GITHUB_API_URL") from e
    return OpenedPullRequest(pull.number, pull.html_url)
