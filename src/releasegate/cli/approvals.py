"""``releasegate approvals``: evaluate the policy pack's approval rules for one pull request."""
from __future__ import annotations

import json

import click

from releasegate.cli import format_option, root_option
from releasegate.errors import EXIT_FAILED, EXIT_OK
from releasegate.github.approvals import ApprovalResult
from releasegate.github.changes import changed_files
from releasegate.github.client import connect_from_env
from releasegate.github.pr import get_pull, list_files
from releasegate.layout import find_root
from releasegate.validate.pull_request import check_approvals


def _text(result: ApprovalResult) -> str:
    req = result.requirement
    lines = [f"{'APPROVED' if result.ok else 'NOT APPROVED'}: {result.summary}"]
    if req.sources:
        lines.append(f"  required by: {', '.join(req.sources)}")
    if req.teams:
        lines.append(f"  required teams: {', '.join(req.teams)}")
    lines.append(f"  counted: {', '.join(result.approvers) or '(none)'}")
    lines += [f"  not counted: {user}: {reason}" for user, reason in result.ignored]
    return "\n".join(lines) + "\n"


SCHEMA_VERSION = "releasegate/approvals-result/v1"  # src/releasegate/data/approvals-result.schema.json


def _json(result: ApprovalResult) -> str:
    req = result.requirement
    return json.dumps({
        "schemaVersion": SCHEMA_VERSION, "ok": result.ok, "approvals": len(result.approvers), "required": req.minimum,
        "approvers": list(result.approvers), "requiredTeams": list(req.teams),
        "missingTeams": list(result.missing_teams), "requiredBy": list(req.sources),
        "dismissStale": req.dismiss_stale,
        "ignored": [{"user": user, "reason": reason} for user, reason in result.ignored],
    }, indent=2, sort_keys=True) + "\n"


@click.command()
@click.option("--pr", "number", type=click.IntRange(min=1), required=True, metavar="N",
              help="Number of the pull request.")
@click.option("--repo", envvar="GITHUB_REPOSITORY", required=True, metavar="OWNER/NAME",
              help="Repository on GitHub (default: GITHUB_REPOSITORY).")
@click.option("--base", metavar="REF",
              help="Read the changed files from git diff REF...--head in the checkout instead of the API "
                   "(needed for pull requests with more than 3000 files); also detects rollbacks, which "
                   "get the policy's rollback.approvals.")
@click.option("--head", default="HEAD", show_default=True, metavar="REF", help="The pull request's head, with --base.")
@click.option("--api-url", envvar="GITHUB_API_URL", metavar="URL",
              help="GitHub API URL (default: GITHUB_API_URL, else api.github.com).")
@format_option(choices=("text", "json"))
@root_option()
def approvals(number: int, repo: str, base: str | None, head: str, api_url: str | None,
              output_format: str, root: str | None) -> int:
    """Check whether pull request N has the approvals the policy pack requires.

    The requirement is the strictest of the environments the pull request touches;
    only each reviewer's latest review counts, never the author's, never a dismissed
    one, and (with dismissStale) only approvals of the current head commit. The token
    comes from GITHUB_TOKEN (or GH_TOKEN). Exit 0 approved, 1 not approved, 2 bad input
    or GitHub refused.
    """
    layout = find_root(root)
    client = connect_from_env(repo, api_url=api_url)
    pull = get_pull(client, number)
    if base:
        changed = [c.path for c in changed_files(layout.root, base, head)]
    else:
        changed = list_files(client, pull)
    result = check_approvals(client, layout, number, pull.author, pull.head_sha, changed, base=base)
    click.echo(_json(result) if output_format == "json" else _text(result), nl=False)
    return EXIT_OK if result.ok else EXIT_FAILED
