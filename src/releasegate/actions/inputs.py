"""The inputs and outputs of each action: one table for action.yml, the entry modules and the CLI."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from releasegate.errors import InputError

TRUE = ("true", "yes", "1", "on")
FALSE = ("false", "no", "0", "off", "")


@dataclass(frozen=True)
class ActionInput:
    """One input ``name``; read from the environment variable :attr:`env`."""

    name: str
    description: str
    default: str = ""
    choices: tuple[str, ...] = ()
    boolean: bool = False
    env_name: str = ""
    secret: bool = False

    @property
    def env(self) -> str:
        return self.env_name or "RELEASEGATE_" + self.name.upper().replace("-", "_")

    @property
    def flag(self) -> str:
        return "--" + self.name


@dataclass(frozen=True)
class ActionOutput:
    name: str
    description: str


TOKEN = ActionInput(
    "github-token",
    "Token for the GitHub API (comments, check runs, labels, reviews). Defaults to the job's GITHUB_TOKEN. "
    "Team rules need a token that can read the organization's teams.",
    env_name="GITHUB_TOKEN", secret=True,
)
ROOT = ActionInput("root", "Root of the GitOps repository, relative to the workspace.", ".")
PYTHON = ActionInput(
    "python",
    "Python interpreter that already has releasegate installed (e.g. on a prepared self-hosted runner). "
    "Empty: install releasegate from this action's own source into a fresh virtualenv.",
    env_name="RELEASEGATE_PYTHON",
)
CHECKS = ActionInput("checks", "Create a check run per gate (commit status where check runs are not permitted).",
                     "true", boolean=True)
COMMENT = ActionInput("comment", "Keep one sticky comment with the report on the pull request.", "true", boolean=True)

VALIDATE_INPUTS = (
    ROOT,
    ActionInput("paths", "Release files to validate, separated by spaces or newlines. Default: the files the "
                "event changed (pull request base...head, merge group base...head, push before...after)."),
    ActionInput("all", "Validate every release file instead of the changed ones.", "false", boolean=True),
    ActionInput("base", "Git ref or SHA to compare with instead of the event's base."),
    ActionInput("head", "Git ref or SHA of the change instead of the event's head."),
    ActionInput("approvals", "Evaluate the policy pack's approval rules: off, report (check run and output, the "
                "step does not fail) or require (the step fails until approved).", "report",
                choices=("off", "report", "require")),
    COMMENT,
    CHECKS,
    ActionInput("labels", "Label the pull request release/<env> for each environment it touches.", "true",
                boolean=True),
    ActionInput("revoke-label", "Label removed from the pull request when new commits are pushed "
                "(the maintainer's approval to run the GPU load test is per commit).", "safe-to-loadtest"),
    TOKEN,
    PYTHON,
)
VALIDATE_OUTPUTS = (
    ActionOutput("ok", "true when validation passed (and approvals, with approvals: require), else false."),
    ActionOutput("violations", "Number of policy violations."),
    ActionOutput("checked", "JSON list of the release files validated."),
    ActionOutput("changed-files", "JSON list of all files the change touches."),
    ActionOutput("environments", "JSON list of the environments the change touches."),
    ActionOutput("approved", "true or false; empty when approvals were not evaluated."),
    ActionOutput("approvals", "Number of approvals that count under the policy."),
    ActionOutput("required-approvals", "Number of approvals the policy requires for this change."),
)


def read_inputs(specs: tuple[ActionInput, ...], env: Mapping[str, str]) -> dict[str, str]:
    """Each input's value (environment or default), with booleans and choices checked."""
    values = {}
    for spec in specs:
        value = env.get(spec.env, spec.default).strip()
        if spec.boolean and value.lower() not in TRUE + FALSE:
            raise InputError(f"input {spec.name} ({spec.env}) is {value!r}, not true or false",
                             f"set `{spec.name}: true` or `{spec.name}: false`")
        if spec.choices and value not in spec.choices:
            raise InputError(f"input {spec.name} ({spec.env}) is {value!r}, not one of {', '.join(spec.choices)}",
                             f"set `{spec.name}:` to one of {', '.join(spec.choices)}")
        values[spec.name] = value
    return values


def is_true(value: str) -> bool:
    return value.strip().lower() in TRUE


RENDER_INPUTS = (
    ROOT,
    ActionInput("envs", "Environments to render, separated by spaces. Default: all."),
    ActionInput("check", "Only check: fail (exit 1) when the committed manifests differ from what the release "
                "files render. false: write the manifests (commit them in a later step).", "true", boolean=True),
    ActionInput("allow-placeholders", "Render even though policies/render.yaml still holds placeholders "
                "(example.com repository or gateway values, the unpublished default server image). Default false: "
                "such a render fails (exit 1) naming each setting.", "false", boolean=True),
    CHECKS,
    TOKEN,
    PYTHON,
)
RENDER_OUTPUTS = (
    ActionOutput("ok", "true when the manifests are up to date (check) or were written, else false."),
    ActionOutput("drift", "Number of rendered files that differ from the committed ones."),
    ActionOutput("drifted-files", "JSON list of the rendered files that differ (changed, missing or stale)."),
    ActionOutput("written", "JSON list of the files written (check: false)."),
)

LOADTEST_INPUTS = (
    ROOT,
    ActionInput("paths", "Release files to load-test, separated by spaces. Default: the release files changed "
                "since the base (those whose environment requires a load test)."),
    ActionInput("base", "Git ref or SHA whose release files are live (the baselines). Default: the pull "
                "request's base commit, else HEAD."),
    ActionInput("profile", "Load profile for every release. Default: the environment's loadTest.profile, "
                "else the release's spec.loadTest.profile, else standard."),
    ActionInput("budget-seconds", "Time budget for the whole run in seconds (phases are shortened to fit)."),
    ActionInput("device", "Device for the built-in server: auto, cpu or cuda.", "auto", choices=("auto", "cpu", "cuda")),
    ActionInput("no-baseline", "Measure the candidate alone against its SLO (when the live version no longer "
                "loads).", "false", boolean=True),
    ActionInput("out", "Directory for result.json, report.md, the PNG plots and logs. Default: "
                "$RUNNER_TEMP/releasegate-loadtest."),
    ActionInput("permit-label", "Before measuring, check with the API that the event permits load-testing the "
                "checked-out commit (see actions/permit): a branch of this repository always; a fork's pull "
                "request only on the labeled event of this label, while the label is still there and the head "
                "has not moved. Empty: no check (only for runs outside pull requests).", "safe-to-loadtest"),
    COMMENT,
    CHECKS,
    TOKEN,
    PYTHON,
)
LOADTEST_OUTPUTS = (
    ActionOutput("ok", "true when every load-tested release passed, else false."),
    ActionOutput("exit-code", "0 passed (or nothing to test), 1 the gate failed, 2 unusable input."),
    ActionOutput("out", "The directory with result.json, report.md, plots and logs (upload it as an artifact)."),
    ActionOutput("result", "Path of result.json."),
)

PERMIT_INPUTS = (
    ActionInput("label", "The label by which a maintainer permits the GPU load test of a fork's pull request. "
                "Granted on its labeled event, for the head commit of that event only; removed on every push.",
                "safe-to-loadtest"),
    TOKEN,
    PYTHON,
)
PERMIT_OUTPUTS = (
    ActionOutput("granted", "true when this event permits the load test, else false."),
    ActionOutput("sha", "The commit the load test may check out and run (empty unless granted)."),
    ActionOutput("revoked", "true when this run removed the label (new commits were pushed)."),
    ActionOutput("reason", "Why the load test is permitted or not, in one sentence."),
)
