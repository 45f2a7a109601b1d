"""``releasegate doctor``: check the GitHub settings that make the release gate binding."""
from __future__ import annotations

import json

import click

from releasegate.cli import format_option
from releasegate.github.client import connect_from_env
from releasegate.github.doctor import OWNED_PATHS, REQUIRED_CHECKS, Diagnosis, Finding, run_doctor

_MARK = {"ok": "ok", "missing": "MISSING", "unknown": "UNKNOWN"}


def _finding(f: Finding) -> list[str]:
    mark = _MARK[f.status] if f.required or f.status == "ok" else "warning"
    lines = [f"  {mark:<8} {f.id}: {f.title}", f"           {f.detail}"]
    if f.fix:
        lines.append(f"           fix: {f.fix}")
    return lines


def _text(d: Diagnosis) -> str:
    lines = [f"releasegate doctor: {d.repository}, branch {d.branch}"]
    for f in d.findings:
        lines += _finding(f)
    required = [f for f in d.findings if f.required]
    bad = [f for f in required if f.status != "ok"]
    if bad:
        lines.append(f"NOT BINDING: {len(bad)} of {len(required)} required settings missing or unreadable "
                     "(docs/security.md, \"Making the gate binding\")")
    else:
        lines.append(f"BINDING: all {len(required)} required settings are in place")
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--repo", envvar="GITHUB_REPOSITORY", required=True, metavar="OWNER/NAME",
              help="Repository on GitHub (default: GITHUB_REPOSITORY).")
@click.option("--branch", metavar="NAME",
              help="The branch release pull requests merge into (default: the repository's default branch).")
@click.option("--check", "checks", multiple=True, metavar="NAME",
              help="A check that must be required, from GitHub Actions; repeat for several "
                   f"(default: {', '.join(REQUIRED_CHECKS)}).")
@click.option("--owned", multiple=True, metavar="PATH",
              help=f"A folder that CODEOWNERS must give owners; repeat for several (default: {', '.join(OWNED_PATHS)}).")
@click.option("--api-url", envvar="GITHUB_API_URL", metavar="URL",
              help="GitHub API URL (default: GITHUB_API_URL, else api.github.com).")
@format_option(choices=("text", "json"))
def doctor(repo: str, branch: str | None, checks: tuple[str, ...], owned: tuple[str, ...], api_url: str | None,
           output_format: str) -> int:
    """Check that the repository's GitHub settings make the release gate binding.

    Reads, with the REST API: the rulesets and branch protection of the branch (the
    releasegate checks required from GitHub Actions, reviews by code owners, stale
    approvals dismissed, no force pushes or deletion), CODEOWNERS, the workflows' token
    permissions and the approval of fork pull request workflows. Says, per item, what is
    missing and how to fix it. The token comes from GITHUB_TOKEN (or GH_TOKEN); reading
    branch protection and Actions settings needs Administration: read. Exit 0 all in
    place, 1 something required is missing or unreadable, 2 bad input (no token, unknown
    repository or branch) or GitHub refused.
    """
    client = connect_from_env(repo, api_url=api_url)
    diagnosis = run_doctor(client, branch, checks or REQUIRED_CHECKS, owned or OWNED_PATHS)
    if output_format == "json":
        click.echo(json.dumps(diagnosis.to_json(), indent=2, sort_keys=True))
    else:
        click.echo(_text(diagnosis), nl=False)
    return diagnosis.exit_code
