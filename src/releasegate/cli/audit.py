"""``releasegate audit``: per model, environment and time range, who released what and what proves it."""
from __future__ import annotations

from pathlib import Path

import click

from releasegate.cli import root_option
from releasegate.errors import EXIT_FAILED, EXIT_OK
from releasegate.history.timestamps import parse_moment
from releasegate.layout import find_root


@click.command()
@click.argument("models", nargs=-1)
@click.option("--env", "envs", multiple=True, metavar="ENV", help="Only this environment (repeat for several).")
@click.option("--since", "since_text", metavar="TIME", help="Only versions still live at or after TIME (ISO 8601).")
@click.option("--until", "until_text", metavar="TIME", help="Only versions that went live at or before TIME.")
@click.option("--ref", default="HEAD", show_default=True, metavar="REF",
              help="The branch whose first-parent history is the record, and whose policy pack says whom to trust.")
@click.option("--evidence-ref", default=None, metavar="REF",
              help="Where the records are (default: the policy's evidence.branch, locally or as origin/<branch>).")
@click.option("--evidence-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Read records from DIR/evidence/ instead of a Git ref.")
@click.option("--dora", is_flag=True,
              help="Instead of the rows: the four DORA figures per environment over the range, from Git history.")
@click.option("--require-evidence", is_flag=True,
              help="Exit 1 when a version that needs an evidence record has none that verifies.")
@click.option("--format", "output_format", type=click.Choice(("table", "jsonl")), default="table", show_default=True,
              envvar="RELEASEGATE_FORMAT", help="Output format: table for people, jsonl (one JSON object per line) for programs.")
@root_option()
def audit(models: tuple[str, ...], envs: tuple[str, ...], since_text: str | None, until_text: str | None, ref: str,
          evidence_ref: str | None, evidence_dir: Path | None, dora: bool, require_evidence: bool,
          output_format: str, root: str | None) -> int:
    """Who promoted, approved and signed each version of MODELS, when it was live, and whether the evidence verifies.

    One row per version live in an environment (a stint), from Git history; approvals and model
    signers come from evidence records that verify with the keys of --ref's policy pack. With
    --dora: deployment frequency, lead time, change-failure rate and time to restore per environment.
    Exit 0 (1 with --require-evidence when evidence is missing or invalid), 2 bad input.
    """
    from releasegate.evidence.audit import audit as run_audit
    from releasegate.evidence.audit_report import dora_jsonl, dora_table, jsonl, table

    since, until = parse_moment(since_text, "--since"), parse_moment(until_text, "--until")
    if dora:
        from releasegate.evidence.dora import dora as dora_figures

        rows = dora_figures(find_root(root), ref, envs, since, until)
        click.echo(dora_jsonl(rows) if output_format == "jsonl" else dora_table(rows), nl=False)
        return EXIT_OK
    report = run_audit(find_root(root), ref, models, envs, since, until, evidence_ref, evidence_dir)
    click.echo(jsonl(report) if output_format == "jsonl" else table(report), nl=False)
    return EXIT_FAILED if require_evidence and not report.complete else EXIT_OK
