"""``releasegate status`` and ``releasegate history``: the release record read from Git."""
from __future__ import annotations

from datetime import datetime, timezone

import click

from releasegate.cli import format_option, root_option
from releasegate.errors import EXIT_OK
from releasegate.history.timestamps import parse_moment as parse_time
from releasegate.layout import find_root

REF_HELP = "Branch, tag or commit whose first-parent history is the record (default: HEAD)."
DEEPEN_HELP = ("In a shallow clone, run `git fetch --unshallow` first instead of failing "
               "(also RELEASEGATE_AUTO_UNSHALLOW=1).")


@click.command()
@click.option("--env", "envs", multiple=True, metavar="ENV", help="Only this environment (repeatable).")
@click.option("--at", "at_text", metavar="TIME",
              help="Show what was live at TIME (ISO 8601 with zone, e.g. 2026-11-01T12:00Z).")
@click.option("--ref", default="HEAD", show_default=True, envvar="RELEASEGATE_REF", help=REF_HELP)
@click.option("--explain", is_flag=True,
              help="Also show the evidence behind each live version: record, approvals, model signer (see releasegate audit).")
@click.option("--deepen", is_flag=True, help=DEEPEN_HELP)
@format_option(choices=("text", "json"))
@root_option()
def status(envs: tuple[str, ...], at_text: str | None, ref: str, explain: bool, deepen: bool, output_format: str,
           root: str | None) -> int:
    """Show which version of each model is live in each environment.

    Read from the first-parent history of REF: version, short digest, since when,
    the commit and pull request that landed it, and its author.
    Exit 0: shown; 2: not a Git repository, shallow clone, unknown --env or bad --at.
    """
    from releasegate.history.reporters import status_json, status_text
    from releasegate.history.service import status_report

    at = parse_time(at_text, "--at")
    layout = find_root(root)
    report = status_report(layout, ref=ref, at=at, envs=envs, deepen=deepen)
    if not explain:
        click.echo(status_json(report) if output_format == "json" else status_text(report), nl=False)
        return EXIT_OK
    from releasegate.evidence.audit import audit
    from releasegate.evidence.audit_report import explain_json, explain_text

    moment = at or datetime.now(timezone.utc)
    rows = audit(layout, ref, envs=envs, since=moment, until=moment).rows
    live = {(e.env, e.model) for e in report.entries}
    rows = tuple(r for r in rows if (r.env, r.model) in live)
    click.echo(explain_json(status_json(report), rows) if output_format == "json"
               else status_text(report) + explain_text(rows), nl=False)
    return EXIT_OK


@click.command()
@click.argument("model")
@click.option("--env", "envs", multiple=True, metavar="ENV", help="Only this environment (repeatable).")
@click.option("--ref", default="HEAD", show_default=True, envvar="RELEASEGATE_REF", help=REF_HELP)
@click.option("--now", "now_text", envvar="RELEASEGATE_NOW", metavar="TIME",
              help="Measure how long live versions have been live up to TIME (default: now).")
@click.option("--deepen", is_flag=True, help=DEEPEN_HELP)
@format_option(choices=("text", "json"))
@root_option()
def history(model: str, envs: tuple[str, ...], ref: str, now_text: str | None, deepen: bool,
            output_format: str, root: str | None) -> int:
    """Show every version of MODEL that was live, per environment, newest first.

    For each: promoted at, by whom, via which pull request and commit, how long it was
    live (or that it is live now), and whether it ended by a rollback, a promotion or
    retirement. Exit 0: shown; 2: unknown model or environment, not a Git repository.
    """
    from releasegate.history.reporters import history_json, history_text
    from releasegate.history.service import model_history

    now = parse_time(now_text, "--now")
    report = model_history(find_root(root), model, ref=ref, envs=envs, now=now, deepen=deepen)
    click.echo(history_json(report) if output_format == "json" else history_text(report), nl=False)
    return EXIT_OK
