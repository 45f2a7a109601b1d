"""``releasegate render``: write (or ``--check``) the manifests Argo CD and Flux apply."""
from __future__ import annotations

from pathlib import Path

import click

from releasegate.cli import format_option, root_option
from releasegate.command import run_text
from releasegate.errors import EXIT_FAILED, EXIT_INPUT, EXIT_OK, InputError
from releasegate.layout import RepoLayout, find_root
from releasegate.release import is_release_path
from releasegate.render import Drift, Plan, WriteResult, apply_plan, compare, render_changed, render_plan
from releasegate.render.config import load_config
from releasegate.render.placeholders import refuse_placeholders
from releasegate.render.problems import Problem
from releasegate.render.reporters import (
    FIX,
    drift_annotation,
    drift_json,
    problem_annotation,
    problems_json,
    written_json,
)


def _changed_since(layout: RepoLayout, ref: str) -> list[str]:
    """Release files changed between ``ref`` and the work tree (untracked ones included)."""
    diff = run_text(["git", "diff", "--name-only", "--no-renames", ref, "--", "environments"], cwd=layout.root)
    untracked = run_text(["git", "ls-files", "--others", "--exclude-standard", "--", "environments"], cwd=layout.root)
    return sorted(set((diff + untracked).split()))


def _relative(layout: RepoLayout, files: tuple[str, ...]) -> list[str]:
    out = []
    for name in files:
        path = Path(name)
        rel = layout.relative(path if path.is_absolute() else Path.cwd() / path)
        if not rel.startswith("environments/"):
            rel = layout.relative(layout.root / path)
        if not is_release_path(rel):
            raise InputError(f"{name}: not a release file (environments/<env>/releases/<model>.yaml)",
                             "pass release files, or no files to render everything")
        out.append(rel)
    return out


def _plan(layout: RepoLayout, envs: tuple[str, ...], files: tuple[str, ...], since: str | None,
          allow_placeholders: bool) -> Plan:
    cfg = load_config(layout)
    if not allow_placeholders:
        refuse_placeholders(cfg, layout.environment_names())
    if files or since:
        if envs:
            raise InputError("--env cannot be combined with release files or --changed-since",
                             "the files already say which environments they belong to")
        changed = _relative(layout, files) + (_changed_since(layout, since) if since else [])
        return render_changed(layout, changed, cfg)
    return render_plan(layout, list(envs) or None, cfg)


def _emit_problems(problems: list[Problem], fmt: str) -> None:
    if fmt == "json":
        click.echo(problems_json(problems))
        return
    for p in problems:
        if fmt == "github":
            click.echo(problem_annotation(p))
        click.echo(str(p))
    click.echo(f"{len(problems)} problem(s); nothing was written.")


def _emit_warnings(warnings: list[Problem], fmt: str) -> None:
    """On stderr, so that the JSON and text results on stdout stay as they are."""
    for w in warnings:
        if fmt == "github":
            click.echo(problem_annotation(w, "warning"))
        click.echo(f"warning: {w}", err=True)


def _emit_drift(drifts: list[Drift], fmt: str, checked: int) -> None:
    if fmt == "json":
        click.echo(drift_json(drifts, checked))
        return
    for d in drifts:
        if fmt == "github":
            click.echo(drift_annotation(d))
        click.echo(f"{d.path}: {d.status}")
        click.echo(d.diff, nl=False)
    if drifts:
        click.echo(f"{len(drifts)} rendered file(s) out of date. Fix: {FIX}")
    else:
        click.echo(f"up to date: {checked} rendered file(s) match the release files")


def _emit_written(result: WriteResult, plan: Plan, fmt: str) -> None:
    notes = [(m.source, m.note) for m in plan.models if m.note]
    if fmt == "json":
        click.echo(written_json(result, notes))
        return
    for path in result.written:
        click.echo(f"wrote {path}")
    for path in result.removed:
        click.echo(f"removed {path} (stale)")
    for source, note in notes:
        click.echo(f"skipped {source}: {note}")
    click.echo(f"rendered {len(plan.models)} release file(s): {len(result.written)} written, "
               f"{len(result.removed)} removed")


@click.command("render")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--env", "envs", multiple=True, metavar="ENV",
              help="Render only this environment (repeatable; default: all).")
@click.option("--check", is_flag=True, envvar="RELEASEGATE_RENDER_CHECK",
              help="Write nothing: exit 1 with a diff per file if the committed manifests differ.")
@click.option("--changed-since", "since", metavar="REF",
              help="Re-render only release files changed since this git ref (incremental mode).")
@click.option("--allow-placeholders", is_flag=True, envvar="RELEASEGATE_ALLOW_PLACEHOLDERS",
              help="Render even though policies/render.yaml still holds placeholders (example.com "
                   "repository or gateway values, the unpublished default server image): for examples and tests.")
@format_option()
@root_option()
def render(files: tuple[str, ...], envs: tuple[str, ...], check: bool, since: str | None,
           allow_placeholders: bool, output_format: str, root: str | None) -> int:
    """Render environments/<env>/manifests/ and deploy/ from the release files.

    FILES: release files to re-render (incremental mode; default: everything).
    Exit codes: 0 written or up to date, 1 drift found by --check or placeholders in
    policies/render.yaml (without --allow-placeholders), 2 bad input.
    """
    layout = find_root(root)
    plan = _plan(layout, envs, files, since, allow_placeholders)
    _emit_warnings(plan.warnings, output_format)
    if plan.problems:
        _emit_problems(plan.problems, output_format)
        return EXIT_INPUT
    if check:
        drifts = compare(layout, plan)
        _emit_drift(drifts, output_format, len(plan.expected))
        return EXIT_FAILED if drifts else EXIT_OK
    _emit_written(apply_plan(layout, plan), plan, output_format)
    return EXIT_OK
