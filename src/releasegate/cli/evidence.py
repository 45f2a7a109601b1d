"""``releasegate evidence record``: sign and store the evidence of a merge's release decisions."""
from __future__ import annotations

import os
from pathlib import Path

import click

from releasegate.cli import root_option
from releasegate.errors import InputError
from releasegate.history.timestamps import parse_moment
from releasegate.layout import find_root

KEY_ENV = "RELEASEGATE_EVIDENCE_KEY"


@click.group()
def evidence() -> None:
    """Signed evidence of release decisions (in-toto statements in DSSE envelopes); see docs/evidence.md."""


@evidence.command()
@click.option("--commit", default="HEAD", show_default=True, metavar="REF",
              help="The merge commit (on the default branch's first-parent history) whose decisions to record.")
@click.option("--key-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help=f"Private key (PEM: Ed25519, ECDSA P-256 or P-384) that signs the records; else the PEM in ${KEY_ENV}.")
@click.option("--approvals", "approvals_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The pull request's approvals at merge time: the output of releasegate approvals --format json.")
@click.option("--loadtest-result", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The pull request's load-test result: result.json of releasegate loadtest --out.")
@click.option("--branch", envvar="RELEASEGATE_EVIDENCE_BRANCH", default=None, metavar="BRANCH",
              help="Commit the records onto BRANCH (created when absent; nothing is checked out). "
                   "Without it they are written under --out-dir.")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to write evidence/... into when no --branch is given (default: the repository root).")
@click.option("--now", "now_text", envvar="RELEASEGATE_NOW", metavar="TIME",
              help="The time written as recordedAt and timeVerified (default: now).")
@root_option()
def record(commit: str, key_file: Path | None, approvals_file: Path | None, loadtest_result: Path | None,
           branch: str | None, out_dir: Path | None, now_text: str | None, root: str | None) -> int:
    """Record the release decisions of merge commit REF: one signed record per release file it changed.

    Each record holds the release file's digest, the base policy's digest, the validate verdict
    (recomputed on the merge with the base's rules), the approvals and load-test result given,
    and the rendered manifests' digests. Existing records are never replaced. Exit 0 recorded
    (or already recorded), 2 bad input.
    """
    from releasegate.evidence.record import RecordOptions
    from releasegate.evidence.record import record as run_record
    from releasegate.signing.dsse import load_private_key

    layout = find_root(root)
    pem, where = _key(key_file)
    options = RecordOptions(load_private_key(pem, where), commit, approvals_file, loadtest_result, branch, out_dir,
                            parse_moment(now_text, "--now"))
    result = run_record(layout, options)
    where_to = f"branch {result.branch}" if result.branch else str(out_dir or layout.root)
    for path in result.written:
        click.echo(f"recorded {path} ({where_to})")
    for path in result.already:
        click.echo(f"already recorded {path} ({where_to}); kept as it is")
    for d in result.decisions:
        if not d.passed:
            click.echo(f"note: {d.release.file.name} was merged with {len(d.findings)} violation(s) by the base's "
                       "rules; the record says FAILED", err=True)
    return 0


def _key(key_file: Path | None) -> tuple[bytes, str]:
    if key_file is not None:
        try:
            return key_file.read_bytes(), f"--key-file {key_file}"
        except OSError as e:
            raise InputError(f"--key-file {key_file}: cannot be read ({e.strerror or e})", "give the PEM file") from e
    pem = os.environ.get(KEY_ENV, "")
    if not pem.strip():
        raise InputError(f"no signing key: pass --key-file or set {KEY_ENV} to the PEM of the evidence key",
                         "in the evidence workflow, map a repository secret to it (env: RELEASEGATE_EVIDENCE_KEY)")
    return pem.encode(), f"${KEY_ENV}"
