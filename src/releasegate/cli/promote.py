"""``releasegate promote`` and ``releasegate rollback``: propose a release change as a pull request."""
from __future__ import annotations

from typing import TYPE_CHECKING

import click

from releasegate.cli import root_option
from releasegate.errors import EXIT_OK
from releasegate.layout import find_root

if TYPE_CHECKING:
    from releasegate.promote.proposal import Outcome

NO_PR_HELP = "Stop after committing on the new local branch: no push, no pull request."
BRANCH_HELP = "Name of the new branch (default: releasegate/<action>-<model>-<env>-<version>)."
REMOTE_HELP = "Git remote to push the branch to."
DEEPEN_HELP = "In a shallow clone, run `git fetch --unshallow` first instead of failing."


def report(outcome: Outcome) -> None:
    """What was committed (and pushed and proposed), for every command that writes a release change."""
    change = outcome.change
    click.echo(f"{change.subject()}")
    click.echo(f"  {change.path}: {change.old_version or '(new)'} -> {change.new_version}")
    if change.old is not None and change.action in ("advance", "complete", "abort"):
        from releasegate.rollout.clock import file_state

        click.echo(f"  rollout: {file_state(change.old).rollout.describe()} -> {file_state(change.new).rollout.describe()}")
    for name, value in change.notes:
        if name == "Analysis":
            click.echo(f"  analysis: {value}")
    click.echo(f"  committed {outcome.commit[:10]} on new branch {change.branch} (from {change.base_branch})")
    if outcome.pull_request is not None:
        click.echo(f"  pushed and opened pull request #{outcome.pull_request.number}: {outcome.pull_request.url}")
    else:
        click.echo(f"  your checkout stays on {change.base_branch}; review with: git show {change.branch}")


@click.command()
@click.argument("model")
@click.option("--to", "to_env", required=True, metavar="ENV", help="Environment to promote to.")
@click.option("--from", "from_env", metavar="ENV",
              help="Environment to promote from (default: the policy's promotesFrom of --to).")
@click.option("--version", "version", metavar="V",
              help="Promote version V, as it was last live in the source environment (default: its current one).")
@click.option("--no-pr", is_flag=True, help=NO_PR_HELP)
@click.option("--branch", metavar="NAME", help=BRANCH_HELP)
@click.option("--remote", default="origin", show_default=True, help=REMOTE_HELP)
@click.option("--deepen", is_flag=True, help=DEEPEN_HELP)
@root_option()
def promote(model: str, to_env: str, from_env: str | None, version: str | None, no_pr: bool,
            branch: str | None, remote: str, deepen: bool, root: str | None) -> int:
    """Promote MODEL to an environment by opening a pull request.

    Copies spec.model (version, artifact, lineage, metrics, signature) from the source
    environment's release file into the target's, keeping the target's comments,
    formatting, runtime, rollout and slo; commits on a new branch with Releasegate-*
    trailers, pushes it and opens a pull request (GITHUB_TOKEN, GITHUB_REPOSITORY). Into a
    canary environment it starts a canary at the first step. Exit 0: done or nothing to do;
    1: a canary is still running in ENV (complete or abort it first); 2: bad input,
    repository state, push or GitHub refused.
    """
    from releasegate.promote.proposal import carry_out, plan_promotion, workspace

    ws = workspace(find_root(root))
    change = plan_promotion(ws, model, to_env, from_env=from_env, version=version, branch=branch, deepen=deepen)
    if change is None:
        click.echo(f"{to_env} already has this release of {model}: nothing to promote")
        return EXIT_OK
    report(carry_out(ws, change, open_pr=not no_pr, remote=remote))
    return EXIT_OK


@click.command()
@click.argument("model")
@click.option("--env", "env", required=True, metavar="ENV", help="Environment to roll back.")
@click.option("--to", "to_version", metavar="V",
              help="Version to go back to; it must have been live in ENV (default: the one live before).")
@click.option("--no-pr", is_flag=True, help=NO_PR_HELP)
@click.option("--branch", metavar="NAME", help=BRANCH_HELP)
@click.option("--remote", default="origin", show_default=True, help=REMOTE_HELP)
@click.option("--deepen", is_flag=True, help=DEEPEN_HELP)
@root_option()
def rollback(model: str, env: str, to_version: str | None, no_pr: bool, branch: str | None, remote: str,
             deepen: bool, root: str | None) -> int:
    """Roll MODEL back in ENV to a version that was live there, by opening a pull request.

    Reverts the promoting commit when it is the latest change to the release file;
    otherwise restores the file byte for byte as it was when that version was live.
    While a canary runs in ENV, the rollback is its abort (see `releasegate rollout abort`).
    The pull request is labelled `rollback`. Exit 0: done; 2: bad input, repository
    state, push or GitHub refused (nothing is left behind).
    """
    from releasegate.promote.proposal import carry_out, plan_rollback, workspace

    ws = workspace(find_root(root))
    change = plan_rollback(ws, model, env, to_version=to_version, branch=branch, deepen=deepen)
    report(carry_out(ws, change, open_pr=not no_pr, remote=remote))
    return EXIT_OK
