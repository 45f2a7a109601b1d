"""``python -m releasegate.actions.validate``: the validate action (see actions/validate/action.yml)."""
from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import TextIO

from releasegate.actions.context import client_from_env, details_url, event_from_env, layout_from_env, run_action
from releasegate.actions.inputs import VALIDATE_INPUTS, is_true, read_inputs
from releasegate.github.workflow import annotation, append_summary, write_outputs
from releasegate.validate.pull_request import PullRequestOutcome, PullRequestSettings, check_pull_request


def _run(env: Mapping[str, str], out: TextIO) -> int:
    i = read_inputs(VALIDATE_INPUTS, env)
    settings = PullRequestSettings(
        paths=tuple(i["paths"].split()), all_files=is_true(i["all"]), base=i["base"] or None,
        head=i["head"] or None, approvals=i["approvals"], comment=is_true(i["comment"]),
        checks=is_true(i["checks"]), labels=is_true(i["labels"]), revoke_label=i["revoke-label"],
        details_url=details_url(env),
    )
    event = event_from_env(env)
    layout = layout_from_env(i["root"], env)
    client = client_from_env(env, event) if event is not None and settings.uses_github(event) else None
    outcome = check_pull_request(layout, settings, event, client)
    for v in outcome.result.violations:
        print(annotation("error", f"{v.path}: {v.message}" + (f" (hint: {v.hint})" if v.hint else ""),
                         file=v.file, line=v.line, col=v.column, title=v.rule), file=out)
    for note in outcome.notes:
        print(annotation("warning", note, title="releasegate validate"), file=out)
    write_outputs(env.get("GITHUB_OUTPUT"), outputs(outcome))
    if env.get("GITHUB_STEP_SUMMARY"):
        append_summary(env["GITHUB_STEP_SUMMARY"], outcome.markdown())
    else:
        print(outcome.markdown(), file=out)
    return outcome.exit_code


def outputs(outcome: PullRequestOutcome) -> dict[str, str]:
    approvals = outcome.approvals
    return {
        "ok": str(outcome.ok).lower(),
        "violations": str(len(outcome.result.violations)),
        "checked": json.dumps(list(outcome.result.checked)),
        "changed-files": json.dumps(list(outcome.changed)),
        "environments": json.dumps(list(outcome.environments.names)),
        "approved": "" if approvals is None else str(approvals.ok).lower(),
        "approvals": "" if approvals is None else str(len(approvals.approvers)),
        "required-approvals": "" if approvals is None else str(approvals.requirement.minimum),
    }


def main(env: Mapping[str, str] | None = None, out: TextIO | None = None) -> int:
    return run_action("validate", _run, env, out)


if __name__ == "__main__":
    sys.exit(main())
