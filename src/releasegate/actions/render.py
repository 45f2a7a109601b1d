"""``python -m releasegate.actions.render``: the render action (see actions/render/action.yml)."""
from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import TextIO

from releasegate.actions.context import event_from_env, layout_from_env, publish_check, run_action
from releasegate.actions.inputs import RENDER_INPUTS, is_true, read_inputs
from releasegate.errors import EXIT_FAILED, EXIT_INPUT, EXIT_OK
from releasegate.github.checks import GateReport
from releasegate.github.workflow import append_summary, write_outputs
from releasegate.render.pr_markdown import drift_markdown, problems_markdown
from releasegate.render.reporters import drift_annotation, problem_annotation


def _run(env: Mapping[str, str], out: TextIO) -> int:
    from releasegate.render import apply_plan, compare, render_plan
    from releasegate.render.config import load_config
    from releasegate.render.placeholders import refuse_placeholders

    i = read_inputs(RENDER_INPUTS, env)
    layout = layout_from_env(i["root"], env)
    cfg = load_config(layout)
    if not is_true(i["allow-placeholders"]):
        refuse_placeholders(cfg, layout.environment_names())
    plan = render_plan(layout, i["envs"].split() or None, cfg)
    for w in plan.warnings:
        print(problem_annotation(w, "warning"), file=out)
    if plan.problems:
        for p in plan.problems:
            print(problem_annotation(p), file=out)
        write_outputs(env.get("GITHUB_OUTPUT"), {"ok": "false", "drift": "0", "drifted-files": "[]", "written": "[]"})
        _summary(env, out, problems_markdown(plan.problems))
        return EXIT_INPUT
    if not is_true(i["check"]):
        written = apply_plan(layout, plan).written
        write_outputs(env.get("GITHUB_OUTPUT"), {"ok": "true", "drift": "0", "drifted-files": "[]",
                                                 "written": json.dumps(list(written))})
        return EXIT_OK
    drifts = compare(layout, plan)
    for d in drifts:
        print(drift_annotation(d), file=out)
    markdown = drift_markdown(drifts, len(plan.expected))
    write_outputs(env.get("GITHUB_OUTPUT"), {"ok": str(not drifts).lower(), "drift": str(len(drifts)),
                                             "drifted-files": json.dumps([d.path for d in drifts]), "written": "[]"})
    _summary(env, out, markdown)
    if is_true(i["checks"]):
        publish_check(env, event_from_env(env), GateReport(
            "render", not drifts, f"{len(drifts)} rendered file(s) out of date" if drifts else "manifests up to date",
            markdown))
    return EXIT_FAILED if drifts else EXIT_OK


def _summary(env: Mapping[str, str], out: TextIO, markdown: str) -> None:
    if env.get("GITHUB_STEP_SUMMARY"):
        append_summary(env["GITHUB_STEP_SUMMARY"], markdown)
    else:
        print(markdown, file=out)


def main(env: Mapping[str, str] | None = None, out: TextIO | None = None) -> int:
    return run_action("render", _run, env, out)


if __name__ == "__main__":
    sys.exit(main())
