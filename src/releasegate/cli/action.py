"""``releasegate action validate|render|loadtest|permit``: run exactly what a GitHub Action runs.

Each flag is one input of the action (``--revoke-label`` is the input ``revoke-label``;
booleans are ``--comment/--no-comment``), and each also reads the environment variable
the action sets (``RELEASEGATE_REVOKE_LABEL``). The token is never a flag: it comes from
GITHUB_TOKEN (or GH_TOKEN). Without ``--event`` there is no pull request: nothing is
posted to GitHub and the report is printed.
"""
from __future__ import annotations

import importlib
import os
from typing import Any

import click

from releasegate.actions import inputs as action_inputs
from releasegate.actions.inputs import ActionInput, is_true

TABLES = {
    "validate": action_inputs.VALIDATE_INPUTS,
    "render": action_inputs.RENDER_INPUTS,
    "loadtest": action_inputs.LOADTEST_INPUTS,
    "permit": action_inputs.PERMIT_INPUTS,
}
SUMMARIES = {
    "validate": "Validate the changed release files, evaluate approvals, report on the pull request.",
    "render": "Render the manifests, or check them for drift (--check, the default).",
    "loadtest": "Load-test the changed releases against the live versions (needs releasegate[loadtest]).",
    "permit": "Decide whether a pull request event may use the GPU runner; remove the label on new commits.",
}


def _option(spec: ActionInput) -> click.Option:
    key = spec.name.replace("-", "_")
    if spec.boolean:
        return click.Option([f"--{spec.name}/--no-{spec.name}", key], default=is_true(spec.default),
                            show_default=True, envvar=spec.env, help=spec.description)
    kind: Any = click.Choice(spec.choices) if spec.choices else str
    return click.Option([spec.flag, key], type=kind, default=spec.default, show_default=bool(spec.default),
                        envvar=spec.env, help=spec.description)


def _command(name: str) -> click.Command:
    specs = tuple(s for s in TABLES[name] if not s.secret and s.name != "python")

    def callback(event: str | None, event_name: str | None, repo: str | None, **values: Any) -> int:
        env = dict(os.environ)
        for spec in specs:
            value = values[spec.name.replace("-", "_")]
            env[spec.env] = str(value).lower() if spec.boolean else str(value)
        for key, value in (("GITHUB_EVENT_PATH", event), ("GITHUB_EVENT_NAME", event_name),
                           ("GITHUB_REPOSITORY", repo)):
            if value:
                env[key] = value
        module = importlib.import_module(f"releasegate.actions.{name}")
        return int(module.main(env))

    params: list[click.Parameter] = [_option(s) for s in specs]
    params += [
        click.Option(["--event", "event"], metavar="PATH", help="Webhook payload to act on (GITHUB_EVENT_PATH)."),
        click.Option(["--event-name", "event_name"], metavar="NAME",
                     help="Its event name: pull_request, pull_request_target, pull_request_review, merge_group or push "
                          "(GITHUB_EVENT_NAME)."),
        click.Option(["--repo", "repo"], metavar="OWNER/NAME", help="Repository on GitHub (GITHUB_REPOSITORY)."),
    ]
    doc = (f"{SUMMARIES[name]}\n\nThe same code and inputs as actions/{name}/action.yml; the GitHub token comes "
           "from GITHUB_TOKEN. Exit 0 passed, 1 the gate failed, 2 bad input or GitHub refused, 3 internal error.")
    return click.Command(name, callback=callback, params=params, help=doc)


@click.group("action", help="Run a releasegate GitHub Action locally, with its inputs as flags.")
def action() -> None:
    """Run a releasegate GitHub Action locally, with its inputs as flags."""


for _name in TABLES:
    action.add_command(_command(_name))
