"""Command-line interface. The only package that imports click.

Subcommands live in their own modules and are imported lazily, so that
``releasegate validate`` never pays for importing torch or locust.
"""
from __future__ import annotations

import importlib
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

import click

from releasegate import __version__
from releasegate.errors import EXIT_INTERNAL, ReleasegateError

# name -> "module:attribute" of a click command. Keep sorted by name.
COMMANDS: dict[str, str] = {
    "action": "releasegate.cli.action:action",
    "alert-relay": "releasegate.cli.alerts:alert_relay",
    "approvals": "releasegate.cli.approvals:approvals",
    "audit": "releasegate.cli.audit:audit",
    "demo": "releasegate.cli.demo:demo",
    "doctor": "releasegate.cli.doctor:doctor",
    "evidence": "releasegate.cli.evidence:evidence",
    "history": "releasegate.cli.status:history",
    "loadtest": "releasegate.cli.loadtest:loadtest",
    "on-alert": "releasegate.cli.alerts:on_alert",
    "promote": "releasegate.cli.promote:promote",
    "render": "releasegate.cli.render:render",
    "rollback": "releasegate.cli.promote:rollback",
    "rollout": "releasegate.cli.rollout:rollout",
    "serve": "releasegate.cli.serve:serve",
    "status": "releasegate.cli.status:status",
    "validate": "releasegate.cli.validate:validate",
    "verify": "releasegate.cli.verify:verify",
}


LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMAT = "%(asctime)s.%(msecs)03dZ %(levelname)s %(name)s: %(message)s"  # UTC, ISO 8601


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when used (or listed in help)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        command = getattr(importlib.import_module(module_name), attr)
        if not isinstance(command, click.Command):  # pragma: no cover - programming error
            raise TypeError(f"{target} is not a click command")
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="releasegate")
@click.option(
    "--traceback",
    "show_traceback",
    is_flag=True,
    envvar="RELEASEGATE_TRACEBACK",
    help="Show the full Python traceback of an unexpected error.",
)
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    default="warning",
    show_default=True,
    envvar="RELEASEGATE_LOG_LEVEL",
    help="Least severe log records of releasegate written to stderr (time, level, logger, message); "
         "other libraries log warnings and worse.",
)
@click.pass_context
def cli(ctx: click.Context, show_traceback: bool, log_level: str) -> None:
    """Release ML models through Git: validate, load-test, render, promote, roll back.

    Exit codes: 0 passed, 1 a check ran and failed, 2 usage or input error,
    3 unexpected internal error (a bug: please report it with --traceback).
    """
    ctx.ensure_object(dict)
    ctx.obj["traceback"] = show_traceback
    ctx.call_on_close(configure_logging(log_level))


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and turn every error into a message and an exit code."""
    args = sys.argv[1:] if argv is None else argv
    try:
        result = cli.main(args=args, prog_name="releasegate", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except click.exceptions.Exit as e:
        return e.exit_code
    except ReleasegateError as e:
        click.echo(f"error: {e}", err=True)
        return e.exit_code
    except Exception as e:  # noqa: BLE001 - last line of defence, reported as a bug
        if "--traceback" in args or os.environ.get("RELEASEGATE_TRACEBACK"):
            traceback.print_exc()
        else:
            click.echo(
                f"Unexpected error: {type(e).__name__}: {e}; re-run with --traceback",
                err=True,
            )
        return EXIT_INTERNAL
    return int(result or 0)


def configure_logging(level: str) -> Callable[[], None]:
    """One stderr handler on the root logger and ``level`` for the ``releasegate`` loggers; returns the undo.

    The only place that configures logging (the library only logs). Undone when the command ends,
    so that running the CLI in-process (tests, other tools) leaves no handler behind.
    """
    handler = logging.StreamHandler(sys.stderr)
    formatter = logging.Formatter(LOG_FORMAT, "%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.addHandler(handler)
    undo_level = set_log_level("releasegate", level)

    def undo() -> None:
        root.removeHandler(handler)
        undo_level()

    return undo


def set_log_level(name: str, level: str | int) -> Callable[[], None]:
    """Set the level of logger ``name``; returns what puts the previous one back."""
    logger = logging.getLogger(name)
    previous = logger.level
    logger.setLevel(level.upper() if isinstance(level, str) else level)
    return lambda: logger.setLevel(previous)


_FORMAT_HELP = {
    "text": "text for people",
    "json": "json for programs",
    "github": "github for Actions annotations and step summaries",
    "markdown": "markdown for PR comments",
}


def format_option(default: str = "text", choices: tuple[str, ...] = ("text", "json", "github")) -> Any:
    """The shared ``--format`` option; ``RELEASEGATE_FORMAT`` sets it from the environment."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(choices),
        default=default,
        show_default=True,
        envvar="RELEASEGATE_FORMAT",
        help="Output format: " + ", ".join(_FORMAT_HELP.get(c, c) for c in choices) + ".",
    )


def root_option() -> Any:
    """The shared ``--root`` option: the GitOps repository to work on."""
    return click.option(
        "--root",
        type=click.Path(file_okay=False, dir_okay=True),
        default=None,
        envvar="RELEASEGATE_ROOT",
        help="Root of the GitOps repository (default: the nearest parent with policies/ and environments/).",
    )
