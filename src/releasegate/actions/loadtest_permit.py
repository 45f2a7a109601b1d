"""``python -m releasegate.actions.loadtest_permit``: the first step of actions/loadtest/action.yml.

Before anything of the pull request is loaded, it asks the API whether the event still permits
load-testing the checked-out commit (:func:`releasegate.github.permit.verify`): a fork's pull
request only for the head of the ``labeled`` event of the permit label, while the label is on it
and the head has not moved, and only if that commit is what was checked out. A refusal exits 2,
and the measuring step (which has no token) does not run.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TextIO

from releasegate.actions.context import client_from_env, event_from_env, layout_from_env, run_action
from releasegate.actions.inputs import LOADTEST_INPUTS, read_inputs
from releasegate.errors import EXIT_OK
from releasegate.github.event import Event
from releasegate.github.permit import verify
from releasegate.github.workflow import annotation
from releasegate.history.git import Git
from releasegate.layout import RepoLayout


def check_permit(env: Mapping[str, str], event: Event | None, layout: RepoLayout, label: str) -> str | None:
    """The permitted commit (the checkout's); None when there is nothing to check (no event, no label)."""
    if event is None or not label:
        return None
    checkout = Git(layout.root).rev_parse("HEAD")
    verify(client_from_env(env, event), event, label, checkout_sha=checkout)
    return checkout


def _run(env: Mapping[str, str], out: TextIO) -> int:
    i = read_inputs(LOADTEST_INPUTS, env)
    sha = check_permit(env, event_from_env(env), layout_from_env(i["root"], env), i["permit-label"])
    message = f"load test permitted for {sha}" if sha else "no permit to check (no pull request event, or permit-label empty)"
    print(annotation("notice", message, title="releasegate loadtest"), file=out)
    return EXIT_OK


def main(env: Mapping[str, str] | None = None, out: TextIO | None = None) -> int:
    return run_action("loadtest permit", _run, env if env is not None else dict(os.environ), out)


if __name__ == "__main__":
    sys.exit(main())
