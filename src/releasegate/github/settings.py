"""The repository settings that decide whether the release gate binds, read from the REST API.

Every answer is checked for the fields used here: something else (a proxy's HTML page, a
truncated body) is a :class:`GitHubError` naming the request and the field, never a traceback.
A setting the token may not read (403, or 404 where GitHub hides it) is :class:`Unreadable`,
so that a report can say what could not be checked and with which permission it could.
"""
from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar
from urllib.parse import quote

from releasegate.errors import GitHubError, InputError
from releasegate.github.client import GitHubClient, status_of
from releasegate.github.codeowners import LOCATIONS, Entry, parse

T = TypeVar("T")
RULES_PAGES = 10  # 1000 rules on one branch is more than GitHub allows
FORK_APPROVAL_POLICIES = ("first_time_contributors_new_to_github", "first_time_contributors",
                          "all_external_contributors")


@dataclass(frozen=True)
class Unreadable:
    """A setting the token could not read: which request, and what GitHub answered."""

    what: str
    status: int | None
    message: str


@dataclass(frozen=True)
class RequiredCheck:
    context: str
    app_id: int | None  # the app whose check counts; None: any source, commit statuses included


@dataclass(frozen=True)
class BranchRules:
    """What the rules of one source (rulesets, or classic branch protection) require of a branch."""

    source: str
    checks: tuple[RequiredCheck, ...] = ()
    pull_request: bool = False
    approvals: int = 0
    dismiss_stale: bool = False
    code_owners: bool = False
    no_force_push: bool = False
    no_deletion: bool = False


@dataclass(frozen=True)
class CodeOwners:
    path: str | None  # None: no CODEOWNERS file on the branch
    entries: tuple[Entry, ...] = ()
    errors: tuple[str, ...] = ()  # what GitHub reports about the file (unknown owners, bad patterns)


@dataclass(frozen=True)
class WorkflowPermissions:
    default: str  # the GITHUB_TOKEN's default: read or write
    can_approve: bool  # whether GitHub Actions may approve pull requests


@dataclass(frozen=True)
class RepoSettings:
    repository: str
    branch: str
    rulesets: BranchRules
    protection: BranchRules | None | Unreadable  # None: the branch has no classic protection
    codeowners: CodeOwners | Unreadable
    workflow: WorkflowPermissions | Unreadable
    fork_approval: str | Unreadable  # approval_policy of fork pull request workflows


def read_settings(client: GitHubClient, branch: str | None = None) -> RepoSettings:
    """The settings of ``client``'s repository for ``branch`` (default: the default branch)."""
    repo = f"/repos/{client.repo_name}"
    what = f"get repository {client.repo_name}"
    default_branch = _Answer(what, _get(client, what, repo)).text("default_branch")  # 404: unknown repository
    branch = branch or default_branch
    _branch_exists(client, branch)
    return RepoSettings(
        client.repo_name, branch,
        rulesets=_rulesets(client, branch),
        protection=_branch_protection(client, branch),
        codeowners=_codeowners(client, branch),
        workflow=_read(client, "get workflow permissions", f"{repo}/actions/permissions/workflow", _workflow),
        fork_approval=_read(client, "get the approval policy of fork pull request workflows",
                            f"{repo}/actions/permissions/fork-pr-contributor-approval",
                            lambda a: a.choice("approval_policy", FORK_APPROVAL_POLICIES)),
    )


def _branch_exists(client: GitHubClient, branch: str) -> None:
    try:
        _get(client, f"get branch {branch}", f"/repos/{client.repo_name}/branches/{quote(branch, safe='')}")
    except GitHubError as e:
        if status_of(e) == 404:
            raise InputError(f"branch {branch!r} does not exist in {client.repo_name}",
                             "pass --branch with the branch that release pull requests merge into, "
                             "or leave it out for the default branch") from e
        raise


def _rulesets(client: GitHubClient, branch: str) -> BranchRules:
    what = f"get rules for branch {branch}"
    url = f"/repos/{client.repo_name}/rules/branches/{quote(branch, safe='')}"
    items: list[Any] = []
    for page in range(1, RULES_PAGES + 1):
        chunk = _Answer(what, _get(client, what, url, {"per_page": 100, "page": page})).items()
        items += chunk
        if len(chunk) < 100:
            break
    rules = BranchRules("rulesets")
    for index, item in enumerate(items):
        rules = _add_rule(rules, _Answer(f"{what} (rule {index})", item))
    return rules


def _add_rule(rules: BranchRules, rule: _Answer) -> BranchRules:
    kind = rule.text("type")
    if kind == "deletion":
        return _with(rules, no_deletion=True)
    if kind == "non_fast_forward":
        return _with(rules, no_force_push=True)
    if kind == "pull_request":
        p = rule.child("parameters")
        return _with(rules, pull_request=True,
                     approvals=max(rules.approvals, p.integer("required_approving_review_count")),
                     dismiss_stale=rules.dismiss_stale or p.boolean("dismiss_stale_reviews_on_push"),
                     code_owners=rules.code_owners or p.boolean("require_code_owner_review"))
    if kind == "required_status_checks":
        found = rule.child("parameters").children("required_status_checks")
        checks = tuple(RequiredCheck(c.text("context"), c.opt_integer("integration_id")) for c in found)
        return _with(rules, checks=rules.checks + checks)
    return rules


def _with(rules: BranchRules, **changes: Any) -> BranchRules:
    return replace(rules, **changes)


def _branch_protection(client: GitHubClient, branch: str) -> BranchRules | None | Unreadable:
    """Classic branch protection; None when the branch has none (GitHub: 404 "Branch not protected")."""
    url = f"/repos/{client.repo_name}/branches/{quote(branch, safe='')}/protection"
    found = _read(client, f"get branch protection of {branch}", url, _protection)
    if isinstance(found, Unreadable) and found.status == 404 and "not protected" in found.message.lower():
        return None
    return found


def _protection(answer: _Answer) -> BranchRules:
    rules = BranchRules("branch protection", no_force_push=not _enabled(answer, "allow_force_pushes"),
                        no_deletion=not _enabled(answer, "allow_deletions"))
    if answer.has("required_status_checks"):
        status = answer.child("required_status_checks")
        checks = tuple(RequiredCheck(c.text("context"), c.opt_integer("app_id")) for c in status.children("checks"))
        rules = _with(rules, checks=checks)
    if answer.has("required_pull_request_reviews"):
        reviews = answer.child("required_pull_request_reviews")
        rules = _with(rules, pull_request=True, approvals=reviews.opt_integer("required_approving_review_count") or 0,
                      dismiss_stale=reviews.boolean("dismiss_stale_reviews"),
                      code_owners=reviews.boolean("require_code_owner_reviews"))
    return rules


def _enabled(answer: _Answer, key: str) -> bool:
    return answer.child(key).boolean("enabled") if answer.has(key) else False


def _workflow(answer: _Answer) -> WorkflowPermissions:
    return WorkflowPermissions(answer.choice("default_workflow_permissions", ("read", "write")),
                               answer.boolean("can_approve_pull_request_reviews"))


def _codeowners(client: GitHubClient, branch: str) -> CodeOwners | Unreadable:
    for path in LOCATIONS:
        found = _read(client, f"get {path} on {branch}", f"/repos/{client.repo_name}/contents/{path}",
                      lambda a: a, params={"ref": branch})
        if isinstance(found, Unreadable) and found.status == 404:
            continue  # not there: GitHub looks in the next place
        if isinstance(found, Unreadable):
            return found
        if found.opt_text("type") != "file":
            continue
        errors = _read(client, f"get CODEOWNERS errors on {branch}", f"/repos/{client.repo_name}/codeowners/errors",
                       lambda a: tuple(e.text("message").splitlines()[0] for e in a.children("errors")),
                       params={"ref": branch})
        if isinstance(errors, Unreadable):
            return errors
        return CodeOwners(path, parse(_decode(found)), errors)
    return CodeOwners(None)


def _decode(answer: _Answer) -> str:
    if answer.text("encoding") != "base64":
        raise answer.fail("encoding", "base64")
    try:
        return base64.b64decode(answer.text("content"), validate=False).decode("utf-8")
    except (binascii.Error, ValueError) as e:
        raise answer.fail("content", "base64-encoded UTF-8 text") from e


def _get(client: GitHubClient, what: str, url: str, params: dict[str, Any] | None = None) -> Any:
    def fetch() -> Any:
        _, data = client.gh.requester.requestJsonAndCheck("GET", url, parameters=params)
        return data

    return client.call(what, fetch)


def _read(client: GitHubClient, what: str, url: str, read: Callable[[_Answer], T],
          params: dict[str, Any] | None = None) -> T | Unreadable:
    """``read`` of the answer, or :class:`Unreadable` when GitHub refuses to show it (403, 404)."""
    try:
        data = _get(client, what, url, params)
    except GitHubError as e:
        status = status_of(e)
        if status in (403, 404):
            return Unreadable(what, status, e.message)
        raise
    return read(_Answer(what, data))


class _Answer:
    """Typed access to one JSON answer; every miss names the request and the field."""

    def __init__(self, what: str, data: Any) -> None:
        self.what, self.data = what, data

    def fail(self, key: str, expected: str) -> GitHubError:
        got = self.data.get(key) if isinstance(self.data, dict) else self.data
        shown = repr(got)[:80]
        return GitHubError(
            f"{self.what}: GitHub's answer has no usable `{key}` (expected {expected}, got {shown})",
            "this is not what GitHub's REST API answers: check that GITHUB_API_URL (or --api-url) is the API "
            "of your GitHub (https://HOST/api/v3 for GitHub Enterprise Server) and no proxy rewrites it",
        )

    def _value(self, key: str, kinds: tuple[type, ...], expected: str) -> Any:
        value = self.data.get(key) if isinstance(self.data, dict) else None
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise self.fail(key, expected)
        return value

    def has(self, key: str) -> bool:
        return isinstance(self.data, dict) and self.data.get(key) is not None

    def text(self, key: str) -> str:
        return str(self._value(key, (str,), "a string"))

    def opt_text(self, key: str) -> str | None:
        return self.text(key) if self.has(key) else None

    def choice(self, key: str, allowed: tuple[str, ...]) -> str:
        value = self.text(key)
        if value not in allowed:
            raise self.fail(key, "one of " + ", ".join(allowed))
        return value

    def boolean(self, key: str) -> bool:
        return bool(self._value(key, (bool,), "true or false"))

    def integer(self, key: str) -> int:
        return int(self._value(key, (int,), "an integer"))

    def opt_integer(self, key: str) -> int | None:
        return self.integer(key) if self.has(key) else None

    def child(self, key: str) -> _Answer:
        return _Answer(f"{self.what}: {key}", self._value(key, (dict,), "an object"))

    def children(self, key: str) -> list[_Answer]:
        return [_Answer(f"{self.what}: {key}[{i}]", item if isinstance(item, dict) else None)
                for i, item in enumerate(self._value(key, (list,), "a list"))]

    def items(self) -> list[Any]:
        if not isinstance(self.data, list):
            raise GitHubError(f"{self.what}: GitHub's answer is not a list (got {repr(self.data)[:80]})",
                              "this is not what GitHub's REST API answers: check GITHUB_API_URL (or --api-url)")
        return self.data
