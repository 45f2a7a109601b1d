"""Pull request data from the REST API: reviews, changed files, team membership, labels."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from releasegate.errors import GitHubError
from releasegate.github.client import GitHubClient, status_of
from releasegate.github.event import Review, normalise_state

FILES_API_CAP = 3000  # GET /pulls/{n}/files lists at most this many files


@dataclass(frozen=True)
class PullInfo:
    """The parts of ``GET /pulls/{n}`` the approvals gate and the load-test permit need."""

    number: int
    author: str
    head_sha: str
    base_sha: str
    changed_files: int
    labels: tuple[str, ...] = ()


def get_pull(client: GitHubClient, number: int) -> PullInfo:
    def fetch() -> PullInfo:
        pr = client.repo().get_pull(number)
        labels = tuple(label.name for label in pr.labels)
        return PullInfo(pr.number, pr.user.login, pr.head.sha, pr.base.sha, pr.changed_files, labels)

    return client.call(f"get pull request #{number}", fetch)


def list_reviews(client: GitHubClient, number: int) -> list[Review]:
    """All reviews of PR ``number``, oldest first, states normalised."""

    def fetch() -> list[Review]:
        reviews = client.repo().get_pull(number).get_reviews()
        return [_review(r) for r in reviews if r.user is not None]

    return client.call(f"list reviews of #{number}", fetch)


def _review(r: Any) -> Review:
    submitted = r.submitted_at.isoformat() if r.submitted_at else None
    return Review(r.id, r.user.login, normalise_state(r.state or ""), r.commit_id, submitted)


def list_files(client: GitHubClient, pull: PullInfo) -> list[str]:
    """Changed paths of a PR from the files API; an error if GitHub caps the list (3000 files)."""
    if pull.changed_files > FILES_API_CAP:
        raise GitHubError(
            f"pull request #{pull.number} changes {pull.changed_files} files; GitHub's files API "
            f"lists at most {FILES_API_CAP}, so the list would be incomplete",
            "read the changed files from git diff in a checkout with full history instead: "
            "`releasegate approvals --base <base ref>` (in Actions: actions/checkout with fetch-depth: 0)",
        )

    def fetch() -> list[str]:
        files = client.repo().get_pull(pull.number).get_files()
        return [f.filename for f in files]

    return client.call(f"list files of #{pull.number}", fetch)


def team_members(client: GitHubClient, team: str, users: Iterable[str], default_org: str) -> set[str]:
    """Which of ``users`` are active members of ``team`` (``org/slug`` or ``slug``)."""
    org, _, slug = team.rpartition("/")
    org = org or default_org
    members = set()
    for user in sorted(set(users)):
        url = f"/orgs/{quote(org, safe='')}/teams/{quote(slug, safe='')}/memberships/{quote(user, safe='')}"
        try:
            _, data = client.call(f"check membership of {user} in team {org}/{slug}", _getter(client, url))
        except GitHubError as e:
            if status_of(e) == 404:
                continue  # not a member (or the team is invisible: reported by the caller)
            raise GitHubError(
                f"cannot read membership of team {org}/{slug}: {e.message}",
                "team checks need a token that can read the organization's teams "
                "(members: read); GITHUB_TOKEN cannot: pass such a token as `github-token`",
            ) from e
        if isinstance(data, dict) and data.get("state") == "active":
            members.add(user)
    return members


def _getter(client: GitHubClient, url: str) -> Callable[[], tuple[Any, Any]]:
    return lambda: client.gh.requester.requestJsonAndCheck("GET", url)


def add_labels(client: GitHubClient, number: int, labels: Iterable[str]) -> None:
    names = sorted(set(labels))
    if not names:
        return
    url = f"/repos/{client.repo_name}/issues/{number}/labels"
    # PyGithub's add_to_labels posts a bare list; the documented body is {"labels": [...]}.
    client.call(
        f"add labels to #{number}",
        lambda: client.gh.requester.requestJsonAndCheck("POST", url, input={"labels": names}),
    )


def remove_label(client: GitHubClient, number: int, label: str) -> bool:
    """Remove ``label`` from #``number``; False if it was not there."""
    url = f"/repos/{client.repo_name}/issues/{number}/labels/{quote(label, safe='')}"
    try:
        client.call(f"remove label {label!r} from #{number}", lambda: client.gh.requester.requestJsonAndCheck("DELETE", url))
    except GitHubError as e:
        if status_of(e) == 404:
            return False
        raise
    return True
