"""``python -m releasegate.actions.loadtest``: the GPU load-test action (see actions/loadtest/action.yml).

The action runs in two steps so that the GitHub token never shares a process with the
models, servers and load generator of a pull request: this module measures (its step has
no token; with no token it posts nothing) and writes result.json and report.md;
:mod:`releasegate.actions.loadtest_report` posts report.md as the sticky comment and
check run in a step of its own. Before both, :mod:`releasegate.actions.loadtest_permit`
checks with the token that the event permits load-testing the checked-out commit.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from releasegate.actions.context import event_from_env, layout_from_env, post_comment, publish_check, run_action
from releasegate.actions.inputs import LOADTEST_INPUTS, is_true, read_inputs
from releasegate.actions.loadtest_permit import check_permit
from releasegate.errors import InputError
from releasegate.github.checks import GateReport
from releasegate.github.event import Event
from releasegate.github.workflow import append_summary, write_outputs


def _library() -> Any:
    try:
        import releasegate.loadtest as library
    except ImportError as e:
        raise InputError(f"the load-test part of releasegate is not installed ({e})",
                         "install releasegate[loadtest] (the loadtest action does this by itself)") from e
    return library


def _run(env: Mapping[str, str], out: TextIO) -> int:
    i = read_inputs(LOADTEST_INPUTS, env)
    event = event_from_env(env)
    layout = layout_from_env(i["root"], env)
    if env.get("GITHUB_TOKEN"):  # one process (`releasegate action loadtest`): check the permit here too
        check_permit(env, event, layout, i["permit-label"])
    library = _library()
    from releasegate.loadtest import reporters

    out_dir = Path(i["out"] or Path(env.get("RUNNER_TEMP") or layout.root / ".cache") / "releasegate-loadtest")
    options = library.LoadTestOptions(
        paths=tuple(i["paths"].split()), root=layout.root,
        base=i["base"] or (event.base_sha if event is not None else None),
        profile=i["profile"] or None, budget_seconds=_seconds(i["budget-seconds"]), out_dir=out_dir,
        device=i["device"], no_baseline=is_true(i["no-baseline"]),
    )
    result = library.run_loadtest(options, progress=lambda message: print(f"[loadtest] {message}", file=out))
    print(reporters.github(result), file=out, end="")
    markdown = reporters.markdown(result)
    append_summary(env.get("GITHUB_STEP_SUMMARY"), markdown)
    write_outputs(env.get("GITHUB_OUTPUT"), {
        "ok": str(result.exit_code == 0).lower(), "exit-code": str(result.exit_code),
        "out": str(out_dir), "result": str(out_dir / "result.json"),
    })
    if env.get("GITHUB_TOKEN"):  # run outside the split action (e.g. `releasegate action loadtest`)
        publish(env, event, i, result.exit_code, markdown)
    return int(result.exit_code)


def publish(env: Mapping[str, str], event: Event | None, i: Mapping[str, str], exit_code: int, markdown: str) -> None:
    """The check run and sticky comment of the load test (the only part that needs the token)."""
    if event is not None and is_true(i["checks"]):
        publish_check(env, event, GateReport("loadtest", exit_code == 0,
                                             "load test passed" if exit_code == 0 else "load test failed", markdown))
    if event is not None and is_true(i["comment"]):
        post_comment(env, event, "loadtest", markdown)


def _seconds(text: str) -> float | None:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError as e:
        raise InputError(f"input budget-seconds is {text!r}, not a number", "give seconds, e.g. 600") from e
    if value < 10:
        raise InputError(f"input budget-seconds is {value}, below the minimum of 10", "give at least 10 seconds")
    return value


def main(env: Mapping[str, str] | None = None, out: TextIO | None = None) -> int:
    return run_action("loadtest", _run, env if env is not None else dict(os.environ), out)


if __name__ == "__main__":
    sys.exit(main())
