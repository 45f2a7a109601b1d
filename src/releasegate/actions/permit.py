"""``python -m releasegate.actions.permit``: may this event use the GPU runner? (see actions/permit/action.yml)

Run it from a ``pull_request_target`` workflow: the base branch's workflow and token, so it can
remove the label from a fork's pull request on every push, and a fork cannot rewrite it.
"""
from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TextIO

from releasegate.actions.context import client_from_env, event_from_env, run_action
from releasegate.actions.inputs import PERMIT_INPUTS, read_inputs
from releasegate.errors import EXIT_OK, InputError
from releasegate.github.markdown import escape
from releasegate.github.permit import decide, revoke, verify
from releasegate.github.workflow import annotation, append_summary, write_outputs


def _run(env: Mapping[str, str], out: TextIO) -> int:
    i = read_inputs(PERMIT_INPUTS, env)
    label = i["label"]
    if not label:
        raise InputError("input label is empty", "set `label:` to the label maintainers add, e.g. safe-to-loadtest")
    event = event_from_env(env)
    if event is None or event.pull_request is None:
        raise InputError("the permit action needs a pull request event (GITHUB_EVENT_PATH)",
                         "run it on `pull_request_target: types: [opened, synchronize, reopened, labeled]`")
    permit = decide(event, label)
    client = client_from_env(env, event)
    revoked = revoke(client, event, label)
    if permit.granted:
        verify(client, event, label)  # the head has not moved and the label is still there, now
    write_outputs(env.get("GITHUB_OUTPUT"), {
        "granted": str(permit.granted).lower(), "sha": permit.sha or "", "revoked": str(revoked).lower(),
        "reason": permit.reason,
    })
    verdict = f"load test permitted for {permit.sha}" if permit.granted else "no load test"
    removed = f" Removed `{label}` (new commits)." if revoked else ""
    print(annotation("notice", f"{verdict}: {permit.reason}.{removed}", title="releasegate permit"), file=out)
    append_summary(env.get("GITHUB_STEP_SUMMARY"),
                   f"### releasegate permit: {escape(verdict, 200)}\n\n{escape(permit.reason, 1000)}.{escape(removed, 200)}")
    return EXIT_OK


def main(env: Mapping[str, str] | None = None, out: TextIO | None = None) -> int:
    return run_action("permit", _run, env, out)


if __name__ == "__main__":
    sys.exit(main())
