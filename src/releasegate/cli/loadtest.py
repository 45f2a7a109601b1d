"""``releasegate loadtest``."""
from __future__ import annotations

import os

import click

from releasegate.cli import format_option, root_option


def _progress(message: str) -> None:
    click.echo(f"[loadtest] {message}", err=True)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(dir_okay=False, path_type=str), metavar="[RELEASE_FILE]...")
@click.option("--base", envvar="RELEASEGATE_BASE", metavar="REF",
              help="The ref whose release files are live (the baselines), e.g. origin/main; without "
                   "RELEASE_FILEs, the releases changed since it are tested. Default: HEAD.")
@click.option("--profile", envvar="RELEASEGATE_LOADTEST_PROFILE", metavar="NAME",
              help="Load profile for every release (default: the environment's loadTest.profile, "
                   "else the release's spec.loadTest.profile, else standard).")
@click.option("--budget-seconds", type=click.FloatRange(min=10), envvar="RELEASEGATE_LOADTEST_BUDGET", metavar="S",
              help="Time budget for the whole run: phases are shortened to fit, and phases that would "
                   "start after it are skipped (their metrics become inconclusive).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=str), envvar="RELEASEGATE_LOADTEST_OUT",
              metavar="DIR", help="Write result.json, report.md, PNG plots and server/locust logs to DIR.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="Device for the built-in server: auto picks cuda when NVML sees a GPU.")
@click.option("--no-baseline", is_flag=True,
              help="Measure the candidate alone against its SLO (when the live version no longer loads).")
@click.option("--no-plots", is_flag=True, help="Do not draw the PNG plots (with --out).")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines on stderr.")
@format_option()
@root_option()
def loadtest(paths: tuple[str, ...], base: str | None, profile: str | None, budget_seconds: float | None,
             out_dir: str | None, device: str, no_baseline: bool, no_plots: bool, quiet: bool,
             output_format: str, root: str | None) -> int:
    """Load-test candidate models against the versions live now, and gate on regressions and SLOs.

    For each RELEASE_FILE (or each release changed since --base) whose environment
    requires a load test, start the candidate and the live version (the release file
    at --base), drive both with locust in interleaved phases and compare latency
    percentiles (bootstrap intervals), throughput and error rate against the policy's
    regression limits and the release's SLO. Progress goes to stderr.
    Exit 0: passed (or nothing to test); 1: the gate failed; 2: unusable input.
    """
    from releasegate.loadtest import LoadTestOptions, reporters, run_loadtest
    from releasegate.loadtest.procs import Interrupted

    options = LoadTestOptions(paths=paths, root=root, base=base, profile=profile, budget_seconds=budget_seconds,
                          out_dir=out_dir, device=device, no_baseline=no_baseline, plots=not no_plots)
    try:
        result = run_loadtest(options, progress=None if quiet else _progress)
    except Interrupted as e:
        click.echo(f"loadtest interrupted ({e}); every server and locust process was stopped", err=True)
        return 143
    if output_format == "json":
        click.echo(result.to_json(), nl=False)
    elif output_format == "github":
        click.echo(reporters.github(result), nl=False)
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary:
            with open(summary, "a", encoding="utf-8") as f:
                f.write(reporters.markdown(result))
    else:
        click.echo(reporters.text(result), nl=False)
    return result.exit_code
