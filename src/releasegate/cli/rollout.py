"""``releasegate rollout advance|complete|abort``: move a canary on, or end it, by a pull request."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import click

from releasegate.cli import root_option
from releasegate.cli.promote import BRANCH_HELP, DEEPEN_HELP, NO_PR_HELP, REMOTE_HELP, report
from releasegate.errors import EXIT_OK
from releasegate.history.timestamps import parse_moment
from releasegate.layout import RepoLayout, find_root

NOW_HELP = "Judge the hold as of TIME (ISO 8601 with zone) instead of now."
PROMETHEUS_HELP = ("Prometheus to compare the canary with its stable side in, over the step's window "
                   "(http(s) base URL); pass, hold or fail decide with the hold (docs/rollout.md). Without it no "
                   "analysis runs.")


def _common(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options every rollout command shares (applied bottom-up, so listed in reverse)."""
    for option in reversed([
        click.argument("model"),
        click.option("--env", "env", required=True, metavar="ENV", help="Environment whose canary this is."),
        click.option("--no-pr", is_flag=True, help=NO_PR_HELP),
        click.option("--branch", metavar="NAME", help=BRANCH_HELP),
        click.option("--remote", default="origin", show_default=True, help=REMOTE_HELP),
        click.option("--deepen", is_flag=True, help=DEEPEN_HELP),
        root_option(),
    ]):
        command = option(command)
    return command


def _now_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--now", "now_text", envvar="RELEASEGATE_NOW", metavar="TIME", help=NOW_HELP)(command)


def _prometheus_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--prometheus-url", envvar="RELEASEGATE_PROMETHEUS_URL", metavar="URL",
                        help=PROMETHEUS_HELP)(command)


def _now(text: str | None) -> datetime:
    return parse_moment(text, "--now") or datetime.now(timezone.utc)


def _analyst(layout: RepoLayout, url: str | None) -> Any:
    """The Prometheus analysis for ``url`` (None: no analysis), with monitoring.canary of policies/render.yaml."""
    if not url:
        return None
    from releasegate.render.config import load_config
    from releasegate.rollout.analysis import PrometheusAnalyst
    from releasegate.rollout.prometheus import Prometheus, check_url

    return PrometheusAnalyst(Prometheus(check_url(url)), load_config(layout).monitoring.canary)


@click.group()
def rollout() -> None:
    """Move a canary through its steps, or end it: each a pull request.

    A canary runs in steps (spec.rollout.steps, the current one named by canaryPercent).
    `advance` opens the pull request of the next step once the current step's hold has
    passed (read from Git history); `complete` ends it with the new version taking all
    traffic; `abort` ends it with the stable version taking all traffic again.
    Exit 0: done; 1: refused by the rules (hold not passed, analysis, not at the last
    step); 2: bad input or repository state (no canary running, unknown model or env).
    """


@rollout.command()
@_common
@_now_option
@_prometheus_option
def advance(model: str, env: str, no_pr: bool, branch: str | None, remote: str, deepen: bool, root: str | None,
            now_text: str | None, prometheus_url: str | None) -> int:
    """Open the pull request that moves MODEL's canary in ENV to its next step.

    Refused (exit 1) until the current step has held for its holdMinutes since it landed
    on the branch, with the time it may run. With --prometheus-url the canary is compared
    with its stable side over the step's window: fail refuses (abort it), hold refuses until
    there is enough data, pass goes, and its numbers go into the pull request. Without it,
    refused where the policy requires an analysis (rollout.requireAnalysis).
    """
    from releasegate.promote.proposal import carry_out, workspace
    from releasegate.rollout.plan import plan_advance

    ws = workspace(find_root(root))
    change = plan_advance(ws, model, env, now=_now(now_text), analyst=_analyst(ws.layout, prometheus_url),
                          branch=branch, deepen=deepen)
    report(carry_out(ws, change, open_pr=not no_pr, remote=remote))
    return EXIT_OK


@rollout.command()
@_common
@_now_option
@_prometheus_option
def complete(model: str, env: str, no_pr: bool, branch: str | None, remote: str, deepen: bool, root: str | None,
             now_text: str | None, prometheus_url: str | None) -> int:
    """Open the pull request that ends MODEL's canary in ENV at the new version.

    The canary's model stays spec.model; canaryPercent and rollout.stable go (a canary
    without steps becomes strategy: rolling; KServe loses canaryTrafficPercent). Only from
    the last step (100 %), after its hold, and with --prometheus-url after an analysis as for advance.
    """
    from releasegate.promote.proposal import carry_out, workspace
    from releasegate.rollout.plan import plan_complete

    ws = workspace(find_root(root))
    change = plan_complete(ws, model, env, now=_now(now_text), analyst=_analyst(ws.layout, prometheus_url),
                           branch=branch, deepen=deepen)
    report(carry_out(ws, change, open_pr=not no_pr, remote=remote))
    return EXIT_OK


@rollout.command()
@_common
def abort(model: str, env: str, no_pr: bool, branch: str | None, remote: str, deepen: bool,
          root: str | None) -> int:
    """Open the pull request that ends MODEL's canary in ENV, all traffic back on the stable version.

    Builtin: the file at rest with the model that ran before the canary (the stable pods
    keep their exact pod template, so nothing restarts); when that says the same as the file
    live before the canary began, that file is restored byte for byte and labelled rollback.
    KServe: canaryPercent 0. At any step, without waiting for a hold.
    """
    from releasegate.promote.proposal import carry_out, workspace
    from releasegate.rollout.plan import plan_abort

    ws = workspace(find_root(root))
    change = plan_abort(ws, model, env, branch=branch, deepen=deepen)
    report(carry_out(ws, change, open_pr=not no_pr, remote=remote))
    return EXIT_OK
