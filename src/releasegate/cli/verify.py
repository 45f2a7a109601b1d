"""``releasegate verify``: check every model signature and evidence record of the repository, offline."""
from __future__ import annotations

from pathlib import Path

import click

from releasegate.cli import format_option, root_option
from releasegate.errors import EXIT_FAILED, EXIT_OK
from releasegate.history.timestamps import parse_moment
from releasegate.layout import find_root


@click.command()
@click.option("--ref", default="HEAD", show_default=True, metavar="REF",
              help="The branch (commit) to verify: its policy pack says whom to trust, its history which decisions "
                   "need a record.")
@click.option("--evidence-ref", default=None, metavar="REF",
              help="Where the records are (default: the policy's evidence.branch, locally or as origin/<branch>).")
@click.option("--evidence-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Read records from DIR/evidence/ instead of a Git ref (repositories that commit them to a folder).")
@click.option("--now", "now_text", envvar="RELEASEGATE_NOW", metavar="TIME",
              help="Check certificate validity as of TIME (default: now).")
@format_option(choices=("text", "json"))
@root_option()
def verify(ref: str, evidence_ref: str | None, evidence_dir: Path | None, now_text: str | None,
           output_format: str, root: str | None) -> int:
    """Verify every model signature and evidence record in the repository, offline.

    Model signatures of every release file, against the signers of its environment; each
    evidence record's DSSE signatures against evidence.signers; that each record still matches
    the repository (the release file at its commit); and that every decision in
    evidence.requiredFor environments since evidence.since has a record. Trust comes from the
    policy pack of --ref. Exit 0 all verified, 1 a problem found, 2 bad input.
    """
    from releasegate.evidence.reporters import text, to_json
    from releasegate.evidence.verify import verify_repository

    layout = find_root(root)
    result = verify_repository(layout, ref, evidence_ref, evidence_dir, parse_moment(now_text, "--now"))
    click.echo(to_json(result) if output_format == "json" else text(result), nl=False)
    return EXIT_OK if result.ok else EXIT_FAILED
