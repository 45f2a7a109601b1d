"""``releasegate doctor``: is the release gate binding on GitHub, and if not, what is missing?

releasegate posts checks; only the repository's settings make them block a merge. Each
:class:`Finding` is one setting: in place (``ok``), ``missing`` (with how to fix it), or
``unknown`` (the token may not read it, with the permission that can). Required findings
decide the exit status; recommended ones only warn. See docs/security.md.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from releasegate.errors import EXIT_FAILED, EXIT_OK
from releasegate.github.client import GitHubClient
from releasegate.github.codeowners import unowned
from releasegate.github.settings import BranchRules, CodeOwners, RepoSettings, Unreadable, read_settings

SCHEMA_VERSION = "releasegate/doctor-result/v1"  # src/releasegate/data/doctor-result.schema.json
ACTIONS_APP_ID = 15368  # the GitHub Actions app: the source of the checks the workflows post
REQUIRED_CHECKS = ("releasegate / validate", "releasegate / approvals")
OWNED_PATHS = ("policies/", "environments/prod/", ".github/workflows/")
RULESET = ".github/rulesets/main.json"
_IMPORT = (f"create the ruleset releasegate ships: `gh api -X POST repos/{{repo}}/rulesets --input {RULESET}` "
           "(or Settings → Rules → Rulesets → New → Import a ruleset)")
_ADMIN = ("run doctor with a token that can read the repository's administration settings "
          "(a fine-grained token with Administration: read, or a classic token of an admin with `repo`)")


@dataclass(frozen=True)
class Finding:
    id: str
    title: str
    status: str  # ok | missing | unknown
    detail: str
    fix: str | None = None
    required: bool = True


@dataclass(frozen=True)
class Diagnosis:
    repository: str
    branch: str
    findings: tuple[Finding, ...]

    def to_json(self) -> dict[str, object]:
        """The ``--format json`` document (schema: src/releasegate/data/doctor-result.schema.json)."""
        return {"schemaVersion": SCHEMA_VERSION, "ok": self.ok, "repository": self.repository, "branch": self.branch,
                "findings": [{"id": f.id, "title": f.title, "status": f.status, "required": f.required,
                              "detail": f.detail, "fix": f.fix} for f in self.findings]}

    @property
    def ok(self) -> bool:
        return all(f.status == "ok" for f in self.findings if f.required)

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.ok else EXIT_FAILED


def run_doctor(client: GitHubClient, branch: str | None = None, checks: Sequence[str] = REQUIRED_CHECKS,
               owned: Sequence[str] = OWNED_PATHS) -> Diagnosis:
    """Read the settings of ``client``'s repository and diagnose them."""
    return diagnose(read_settings(client, branch), checks, owned)


def diagnose(settings: RepoSettings, checks: Sequence[str] = REQUIRED_CHECKS,
             owned: Sequence[str] = OWNED_PATHS) -> Diagnosis:
    rules = _Rules(settings)
    findings = (
        _required_checks(rules, tuple(checks)),
        *_review_findings(rules),
        rules.finding("no-force-push", "force pushes to the branch are blocked", lambda r: r.no_force_push,
                      "block force pushes (ruleset rule `non_fast_forward`)"),
        rules.finding("no-deletion", "the branch cannot be deleted", lambda r: r.no_deletion,
                      "restrict deletions (ruleset rule `deletion`)"),
        _codeowners(settings.codeowners, tuple(owned)),
        *_workflow_findings(settings),
        _fork_approval(settings.fork_approval),
    )
    fix = {f.id: f.fix.replace("{repo}", settings.repository) if f.fix else None for f in findings}
    return Diagnosis(settings.repository, settings.branch,
                     tuple(Finding(f.id, f.title, f.status, f.detail, fix[f.id], f.required) for f in findings))


_Test: TypeAlias = Callable[[BranchRules], bool]


class _Rules:
    """The rulesets and the classic protection of the branch, asked together."""

    def __init__(self, settings: RepoSettings) -> None:
        self.sources = [settings.rulesets] + ([settings.protection] if isinstance(settings.protection, BranchRules)
                                              else [])
        self.unreadable = settings.protection if isinstance(settings.protection, Unreadable) else None
        self.branch = settings.branch

    def any(self, test: _Test) -> str | None:
        """The source that meets ``test``, if any."""
        return next((s.source for s in self.sources if test(s)), None)

    def finding(self, id: str, title: str, test: _Test, how: str, detail: str = "") -> Finding:
        source = self.any(test)
        if source is not None:
            return Finding(id, title, "ok", f"set by the {source} of {self.branch}")
        return self.absent(id, title, f"{how}: {_IMPORT}", detail)

    def absent(self, id: str, title: str, fix: str, detail: str = "") -> Finding:
        where = f"not in the rulesets of {self.branch}" + (detail and f" ({detail})")
        if self.unreadable is not None:
            return Finding(id, title, "unknown", f"{where}, and its branch protection cannot be read: "
                           f"{self.unreadable.message}", f"{fix}; or, if branch protection sets it, {_ADMIN}")
        protected = " nor in its branch protection" if len(self.sources) > 1 else ""
        return Finding(id, title, "missing", where + protected, fix)


def _required_checks(rules: _Rules, names: tuple[str, ...]) -> Finding:
    id, title = "required-checks", "the release checks are required, and only GitHub Actions can satisfy them"
    listed = [c for s in rules.sources for c in s.checks if c.context in names]
    pinned = {c.context for c in listed if c.app_id == ACTIONS_APP_ID}
    loose = [n for n in names if n not in pinned and any(c.context == n for c in listed)]
    absent = [n for n in names if n not in pinned and n not in loose]
    if not absent and not loose:
        return Finding(id, title, "ok", f"{', '.join(names)}: required, from GitHub Actions")
    fix = f"require {', '.join(names)} with the source GitHub Actions (integration_id {ACTIONS_APP_ID}); " + _IMPORT
    problems = []
    if loose:
        problems.append(f"{', '.join(loose)}: required from any source, so a commit status or another app's check "
                        "run of that name, which a pull request's author can post, passes it")
    if absent:
        problems.append(f"{', '.join(absent)}: not required")
    if rules.unreadable is not None:  # the branch protection may require (and pin) them
        return Finding(id, title, "unknown", "by the rulesets, " + "; ".join(problems) + "; and the branch "
                       f"protection cannot be read: {rules.unreadable.message}",
                       f"{fix}; or, if branch protection requires them, {_ADMIN}")
    return Finding(id, title, "missing", "; ".join(problems), fix)


def _review_findings(rules: _Rules) -> tuple[Finding, ...]:
    return (
        rules.finding("pull-request", "changes reach the branch only through an approved pull request",
                      lambda r: r.pull_request and r.approvals >= 1,
                      "require a pull request before merging, with at least 1 approval",
                      "a pull request is required, with 0 approvals" if rules.any(lambda r: r.pull_request) else ""),
        rules.finding("dismiss-stale-reviews", "a push dismisses earlier approvals", lambda r: r.dismiss_stale,
                      "dismiss stale pull request approvals when new commits are pushed "
                      "(`dismiss_stale_reviews_on_push`)"),
        rules.finding("code-owner-review", "changes to owned paths need their code owners' approval",
                      lambda r: r.code_owners, "require review from code owners (`require_code_owner_review`)"),
    )


def _codeowners(found: CodeOwners | Unreadable, owned: tuple[str, ...]) -> Finding:
    id, title = "codeowners", f"CODEOWNERS names owners for {', '.join(owned)}"
    if isinstance(found, Unreadable):
        return Finding(id, title, "unknown", f"cannot read it: {found.message}",
                       "run doctor with a token that can read the repository's contents (Contents: read)")
    example = "; ".join(f"/{p} @ORG/TEAM" for p in owned)
    if found.path is None:
        return Finding(id, title, "missing", "there is no CODEOWNERS file (.github/, the root or docs/)",
                       f"add .github/CODEOWNERS with lines such as `{example}` (releasegate ships one)")
    gaps = [p for d in owned for p in unowned(found.entries, d)]
    problems = [*found.errors, *(f"{p} has no owner" for p in gaps)]
    if problems:
        return Finding(id, title, "missing", f"{found.path}: " + "; ".join(problems),
                       f"fix the lines GitHub reports and give every path an owner with write access, e.g. `{example}`")
    return Finding(id, title, "ok", f"{found.path} owns {', '.join(owned)}")


def _workflow_findings(settings: RepoSettings) -> tuple[Finding, ...]:
    perms = settings.workflow
    read_id, read_title = "workflow-token-read-only", "workflows get a read-only GITHUB_TOKEN unless they ask for more"
    approve_id, approve_title = "actions-cannot-approve", "GitHub Actions cannot approve pull requests"
    if isinstance(perms, Unreadable):
        why = f"cannot read the workflow permissions: {perms.message}"
        return (Finding(read_id, read_title, "unknown", why, _ADMIN), Finding(approve_id, approve_title, "unknown", why, _ADMIN))
    where = "Settings → Actions → General → Workflow permissions"
    return (
        Finding(read_id, read_title, "ok", "default: read") if perms.default == "read" else Finding(
            read_id, read_title, "missing", f"default: {perms.default}",
            f"{where}: choose \"Read repository contents and packages permissions\" (jobs ask for more in `permissions:`)"),
        Finding(approve_id, approve_title, "ok", "not allowed") if not perms.can_approve else Finding(
            approve_id, approve_title, "missing",
            "allowed: a workflow in a pull request's branch could approve it as github-actions[bot]",
            f"{where}: clear \"Allow GitHub Actions to create and approve pull requests\""),
    )


def _fork_approval(policy: str | Unreadable) -> Finding:
    id, title = "fork-pr-approval", "workflows of outside contributors' pull requests wait for a maintainer"
    fix = ("Settings → Actions → General → Approval for running fork pull request workflows from contributors: "
           "\"Require approval for all external contributors\"")
    if isinstance(policy, Unreadable):
        return Finding(id, title, "unknown", f"cannot read it: {policy.message}", _ADMIN, required=False)
    if policy == "all_external_contributors":
        return Finding(id, title, "ok", policy, required=False)
    return Finding(id, title, "missing", f"{policy}: other outside contributors' fork pull requests run their workflows unapproved",
                   fix, required=False)
