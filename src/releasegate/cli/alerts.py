"""``releasegate on-alert``: an alert opens the rollback."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from releasegate.cli import format_option, root_option
from releasegate.cli.promote import DEEPEN_HELP, REMOTE_HELP
from releasegate.errors import InputError
from releasegate.layout import find_root


def _read_payload(source: str) -> tuple[bytes, str]:
    from releasegate.alerts.payload import MAX_BYTES

    if source == "-":
        return sys.stdin.buffer.read(MAX_BYTES + 1), "stdin"
    try:
        with Path(source).open("rb") as f:
            return f.read(MAX_BYTES + 1), source
    except OSError as e:
        raise InputError(f"{source}: cannot read the payload ({e.strerror})",
                         "pass the file Alertmanager's webhook body or the repository_dispatch event is in, "
                         "or - for stdin") from e


@click.command("on-alert")
@click.argument("payload", default="-", metavar="PAYLOAD")
@click.option("--no-pr", is_flag=True,
              help="Commit each rollback on a new local branch and stop: no push, no pull request, no de-duplication "
                   "against GitHub.")
@click.option("--remote", default="origin", show_default=True, help=REMOTE_HELP)
@click.option("--deepen", is_flag=True, help=DEEPEN_HELP)
@format_option()
@root_option()
def on_alert(payload: str, no_pr: bool, remote: str, deepen: bool, output_format: str, root: str | None) -> int:
    """Open the rollback (or the canary's abort) that an Alertmanager alert asks for.

    PAYLOAD is a file (or - for stdin) with Alertmanager's webhook body (version 4), a GitHub
    repository_dispatch event (GITHUB_EVENT_PATH), or its client_payload. An alert acts when it is
    firing, carries releasegate_action=rollback and names model, environment, version and track, and
    that version is live on this branch: the running canary is aborted, or, without a canary, the
    live version rolled back. One pull request per model and environment, labelled
    releasegate-alert, with the alerts in its body; none while one is open for it (GitHub is asked).
    Resolved alerts, versions no longer live, unknown models and the stable side of a running canary
    open nothing. Exit 0: done (or nothing to do); 1: a wanted rollback was refused; 2: bad payload,
    Git or GitHub failed.
    """
    from releasegate.alerts import report
    from releasegate.alerts.on_alert import handle
    from releasegate.alerts.payload import parse
    from releasegate.github.workflow import append_summary
    from releasegate.promote.proposal import workspace

    data, source = _read_payload(payload)
    note = parse(data, source)
    ws = workspace(find_root(root))
    handled = handle(ws, note, open_pr=not no_pr, remote=remote, deepen=deepen)
    if output_format == "json":
        click.echo(report.to_json(handled), nl=False)
    elif output_format == "github":
        click.echo(report.github(handled), nl=False)
        append_summary(os.environ.get("GITHUB_STEP_SUMMARY"), report.step_summary(handled))
    else:
        click.echo(report.text(handled), nl=False)
    return handled.exit_code
