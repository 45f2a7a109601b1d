"""``python -m releasegate.actions.loadtest_report``: post what the load-test step measured.

The last step of actions/loadtest/action.yml, which gets the GitHub token again after the
measuring step ran without it (the permit check before it has it too): it reads report.md and the exit code the measuring step wrote, and posts the check
run and the sticky comment. Nothing of the pull request runs in this step.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from releasegate.actions.context import event_from_env, run_action
from releasegate.actions.inputs import LOADTEST_INPUTS, read_inputs
from releasegate.actions.loadtest import publish
from releasegate.errors import InputError


def _run(env: Mapping[str, str], out: TextIO) -> int:
    i = read_inputs(LOADTEST_INPUTS, env)
    report = Path(env.get("RELEASEGATE_LOADTEST_REPORT", ""))
    code = env.get("RELEASEGATE_LOADTEST_EXIT_CODE", "")
    if not code.isdigit():
        raise InputError(f"RELEASEGATE_LOADTEST_EXIT_CODE={code!r}: the measuring step left no exit code",
                         "run this module only after python -m releasegate.actions.loadtest in the same job")
    try:
        markdown = report.read_text(encoding="utf-8")
    except OSError as e:
        raise InputError(f"{report}: cannot read the load-test report ({e.strerror or e})",
                         "the measuring step writes report.md into its out directory; keep that directory") from e
    publish(env, event_from_env(env), i, int(code), markdown)
    return 0


def main(env: Mapping[str, str] | None = None, out: TextIO | None = None) -> int:
    return run_action("loadtest report", _run, env if env is not None else dict(os.environ), out)


if __name__ == "__main__":
    sys.exit(main())
