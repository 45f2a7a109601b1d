"""``releasegate validate``."""
from __future__ import annotations

import click

from releasegate.cli import format_option, root_option
from releasegate.errors import EXIT_FAILED, EXIT_OK
from releasegate.history.timestamps import parse_moment
from releasegate.layout import find_root
from releasegate.validate import run_validation
from releasegate.validate.reporters import render


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(dir_okay=True, path_type=str))
@click.option("--all", "all_files", is_flag=True, help="Validate every release file (the default without PATHs).")
@click.option("--base", envvar="RELEASEGATE_BASE", metavar="REF",
              help="Validate release files changed since the merge base with REF (e.g. origin/main).")
@click.option("--now", "now_text", envvar="RELEASEGATE_NOW", metavar="TIME",
              help="Evaluate time-based rules (freeze windows, soak) as of TIME, e.g. 2026-11-01T12:00Z.")
@format_option()
@root_option()
def validate(paths: tuple[str, ...], all_files: bool, base: str | None, now_text: str | None,
             output_format: str, root: str | None) -> int:
    """Check release files against the schemas and the policy pack.

    PATHS are release files (environments/<env>/releases/<model>.yaml) or policy
    files; without PATHS, --all or --base every release file is checked. Every
    violation is reported, with file, line, column, rule and a hint.
    Exit 0: no violations; 1: violations; 2: unusable input or policy pack.
    """
    layout = find_root(root)
    result = run_validation(layout, paths, all_files=all_files, base=base, now=parse_moment(now_text, "--now"))
    click.echo(render(result, output_format), nl=False)
    return EXIT_OK if result.ok else EXIT_FAILED
