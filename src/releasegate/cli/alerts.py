"""``releasegate on-alert`` and ``releasegate alert-relay``: an alert opens the rollback."""
from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click

from releasegate.cli import format_option, root_option
from releasegate.cli.promote import DEEPEN_HELP, REMOTE_HELP
from releasegate.errors import InputError
from releasegate.layout import find_root

TOKEN_ENV = "RELEASEGATE_RELAY_TOKEN"
MIN_SECRET = 16


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


@click.command("alert-relay")
@click.option("--repo", envvar="GITHUB_REPOSITORY", required=True, metavar="OWNER/NAME",
              help="Repository to dispatch to (default: GITHUB_REPOSITORY); GITHUB_TOKEN must be allowed to "
                   "(contents: write).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=9095, show_default=True,
              help="Port to listen on (0: any free port, printed at start).")
@click.option("--token-env", default=TOKEN_ENV, show_default=True, metavar="NAME",
              help="Environment variable holding the shared secret Alertmanager sends as its bearer token "
                   f"(at least {MIN_SECRET} characters).")
@click.option("--per-minute", type=click.IntRange(1, 600), default=10, show_default=True,
              help="Most dispatches a minute; beyond, Alertmanager gets 429 with Retry-After and retries.")
@click.option("--dedup-minutes", type=click.FloatRange(0, 1440), default=10.0, show_default=True,
              help="Alerts of the same model, environment, versions and tracks are dispatched once in this time.")
@click.option("--max-body-bytes", type=click.IntRange(1024, 16 * 1024 * 1024), default=1024 * 1024,
              show_default=True, help="Largest webhook body accepted (413 beyond, unread).")
@click.option("--event-type", default="releasegate-alert", show_default=True,
              help="repository_dispatch event type (the workflow's on.repository_dispatch.types).")
@click.option("--api-url", envvar="GITHUB_API_URL", metavar="URL",
              help="GitHub API URL (default: GITHUB_API_URL, else api.github.com).")
def alert_relay(repo: str, host: str, port: int, token_env: str, per_minute: int, dedup_minutes: float,
                max_body_bytes: int, event_type: str, api_url: str | None) -> int:
    """Receive Alertmanager's webhook on loopback and dispatch it to GitHub as repository_dispatch.

    For Alertmanagers that cannot template their webhook body (0.25 and older): point a webhook
    receiver at http://127.0.0.1:PORT/alert with the bearer token, and the workflow
    .github/workflows/alert.yml runs releasegate on-alert on each dispatch. Authenticated (bearer
    token, constant-time compare), bounded, de-duplicated and rate-limited; runs until SIGTERM/SIGINT.
    See docs/monitoring.md.
    """
    from releasegate.alerts.relay import Relay, RelayConfig, dispatcher, server

    secret = os.environ.get(token_env, "")
    if len(secret) < MIN_SECRET:
        raise InputError(f"{token_env} is {'unset' if not secret else 'too short'}: the relay needs a shared secret "
                         f"of at least {MIN_SECRET} characters", f"export {token_env}=$(openssl rand -hex 32), and "
                         "give Alertmanager the same value as its webhook's bearer credentials")
    relay = Relay(RelayConfig(secret, per_minute, dedup_minutes * 60, max_body_bytes),
                  dispatcher(repo, event_type, api_url=api_url))
    httpd = server(relay, host, port)
    _stop_on_signals(httpd)
    click.echo(f"releasegate alert-relay: listening on http://{host}:{httpd.server_address[1]}/alert, "
               f"dispatching {event_type} to {repo}", err=True)
    try:
        httpd.serve_forever()
    finally:
        httpd.server_close()
    click.echo("releasegate alert-relay: stopped", err=True)
    return 0


def _stop_on_signals(httpd: Any) -> None:
    def stop(signum: int, frame: Any) -> None:
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
