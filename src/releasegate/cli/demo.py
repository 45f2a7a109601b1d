"""``releasegate demo``: the whole release loop on a throw-away repository, narrated.

Every gate runs through the same CLI commands a user or the GitHub Actions run
(validate, loadtest, render, promote, rollback, status, history), in this process.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
import yaml

from releasegate.demo.alert import firing_body, rendered_alert
from releasegate.demo.models import DemoArtifact  # torch is imported only when models are built
from releasegate.demo.story import (
    MODEL,
    PROD_STEPS,
    dev_release,
    relax_policy_for_this_machine,
    render_for_this_machine,
    with_canary_steps,
)
from releasegate.demo.workspace import (
    DemoClock,
    Workspace,
    abandon_branch,
    commit_all,
    create_workspace,
    find_template,
    merge_pull_request,
)
from releasegate.errors import ReleasegateError

CANARY_ALERT = "ReleasegateCanaryErrorsAboveStable"


class DemoStepError(ReleasegateError):
    """A demo step failed; the message names the step."""


@dataclass
class Demo:
    ws: Workspace
    clock: DemoClock
    verbose: bool
    started: float = field(default_factory=time.monotonic)
    step: str = "start"
    pr_number: int = 0

    def say(self, text: str = "") -> None:
        click.echo(text)

    def heading(self, text: str) -> None:
        self.step = text
        self.say(click.style(f"\n[{time.monotonic() - self.started:5.1f}s] {text}", bold=True))

    def run(self, *args: str, expect: tuple[int, ...] = (0,), show: int = 12) -> tuple[int, str]:
        """Run ``releasegate ARGS`` in the demo repository; show the tail of its output."""
        from releasegate.cli import main

        self.say(click.style(f"  $ releasegate {' '.join(args)}", fg="cyan"))
        out = io.StringIO()
        with _chdir(self.ws.repo), contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = main(list(args))
        lines = out.getvalue().rstrip().splitlines()
        for line in lines if self.verbose else lines[-show:]:
            self.say(f"    {line}")
        if code not in expect:
            raise DemoStepError(f"step '{self.step}': releasegate {' '.join(args)} exited {code}, "
                                f"expected {' or '.join(map(str, expect))}",
                                f"look at the output above; the repository is in {self.ws.repo}")
        return code, out.getvalue()

    def next_pr(self) -> int:
        self.pr_number += 1
        return self.pr_number


@contextlib.contextmanager
def _chdir(path: Path):  # type: ignore[no-untyped-def]
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def gate(demo: Demo, branch: str, title: str, *, expect_pass: bool = True) -> bool:
    """What the release workflow does on a PR: render, validate, load-test, check drift; merge on a pass."""
    number = demo.next_pr()
    demo.say(f"  pull request #{number}: {title}")
    demo.run("render", "--allow-placeholders")  # no server image is published for the demo: no cluster runs it
    if demo.ws.git("status", "--porcelain"):
        commit_all(demo.ws, f"Render manifests for {title}")
    checks = [demo.run("validate", "--base", "main", expect=(0, 1))[0],
              demo.run("loadtest", "--base", "main", "--out", str(demo.ws.reports / f"pr-{number}"),
                       expect=(0, 1), show=25)[0],
              demo.run("render", "--check", "--allow-placeholders", expect=(0, 1))[0]]
    passed = not any(checks)
    if passed != expect_pass:
        raise DemoStepError(f"step '{demo.step}': the gate {'passed' if passed else 'failed'} "
                            f"but the demo expected it to {'pass' if expect_pass else 'fail'}",
                            f"the reports are in {demo.ws.reports / f'pr-{number}'}")
    if passed:
        merge_pull_request(demo.ws, branch, number, title)
        demo.say(click.style(f"  gate passed: PR #{number} merged into main", fg="green"))
    else:
        abandon_branch(demo.ws, branch)
        demo.say(click.style(f"  gate failed: PR #{number} closed without merging", fg="red"))
    return passed


def hand_written_release(demo: Demo, artifact: DemoArtifact, accuracy: float) -> None:
    branch = f"release/{MODEL}-{artifact.version}-dev"
    demo.ws.git("checkout", "-q", "-b", branch)
    path = demo.ws.repo / "environments" / "dev" / "releases" / f"{MODEL}.yaml"
    path.write_text(dev_release(artifact, accuracy), encoding="utf-8")
    commit_all(demo.ws, f"Release {MODEL} {artifact.version} to dev\n\nReleasegate-Model: {MODEL}\n"
                        f"Releasegate-Version: {artifact.version}\nReleasegate-Environment: dev")
    gate(demo, branch, f"Release {MODEL} {artifact.version} to dev")


def branch_and_gate(demo: Demo, command: list[str], branch: str, title: str, *, expect_pass: bool = True) -> bool:
    """Run a releasegate command that commits on a new local branch (``--no-pr``), then gate that branch as its PR."""
    demo.run(*command, "--no-pr", "--branch", branch)
    demo.ws.git("checkout", "-q", branch)  # the commands leave the checkout on main; CI checks out the PR
    return gate(demo, branch, title, expect_pass=expect_pass)


def promote(demo: Demo, version: str, env: str, *, expect_pass: bool = True) -> bool:
    return branch_and_gate(demo, ["promote", MODEL, "--to", env], f"releasegate/promote-{MODEL}-{env}-{version}",
                           f"Promote {MODEL} {version} to {env}", expect_pass=expect_pass)


def advance(demo: Demo, hours: float, why: str) -> None:
    """Move the clock; nobody ships at the weekend (prod has a weekend freeze), so Saturday and Sunday are skipped."""
    demo.clock.advance(hours)
    skipped = ""
    if demo.clock.now.weekday() >= 5:
        monday = demo.clock.now + timedelta(days=7 - demo.clock.now.weekday())
        demo.clock.now = monday.replace(hour=9, minute=0, second=0)
        skipped = " (past the weekend)"
    demo.clock.apply()
    demo.say(f"  ... {why}: the clock moves {hours:g} h{skipped} to {demo.clock.stamp()}")


def walk_to_prod(demo: Demo, artifact: DemoArtifact, accuracy: float, *, expect_pass: bool = True) -> bool:
    """A new version's way: a hand-written dev release, then promotions to staging and, after the soak, to prod."""
    hand_written_release(demo, artifact, accuracy)
    advance(demo, 2, "dev looks fine")
    promote(demo, artifact.version, "staging")
    advance(demo, 26, "staging soaks (the policy wants 24 h before prod)")
    return promote(demo, artifact.version, "prod", expect_pass=expect_pass)


def canaries_in_steps(demo: Demo) -> None:
    """The platform team's pull request: prod changes by canaries in steps from now on."""
    branch = f"platform/{MODEL}-prod-canary-steps"
    demo.ws.git("checkout", "-q", "-b", branch)
    steps = with_canary_steps(demo.ws.repo / "environments" / "prod" / "releases" / f"{MODEL}.yaml")
    commit_all(demo.ws, f"Roll out {MODEL} in prod by canaries in steps: {steps}")
    demo.say(f"  steps: {steps}; nothing changes in the cluster until the next promotion")
    gate(demo, branch, f"Canaries in steps for {MODEL} in prod")


def walk_the_canary(demo: Demo, version: str) -> None:
    """``rollout advance`` after every step's hold, then ``rollout complete``: one pull request each."""
    for (_, hold), (weight, _) in zip(PROD_STEPS, PROD_STEPS[1:]):
        advance(demo, hold / 60, f"the step held {hold} min")
        branch_and_gate(demo, ["rollout", "advance", MODEL, "--env", "prod"],
                        f"releasegate/advance-{MODEL}-prod-{version}-{weight}",
                        f"Advance the canary of {MODEL} {version} in prod to {weight} %")
    advance(demo, PROD_STEPS[-1][1] / 60, f"100 % held {PROD_STEPS[-1][1]} min")
    branch_and_gate(demo, ["rollout", "complete", MODEL, "--env", "prod"],
                    f"releasegate/complete-{MODEL}-prod-{version}", f"Complete the canary of {MODEL} {version} in prod")


def alert_aborts_the_canary(demo: Demo, version: str) -> None:
    """The canary alert fires: ``on-alert`` commits the abort, the PR passes the gate, no stable pod restarts."""
    prod = f"environments/prod/manifests/{MODEL}.yaml"
    rule = rendered_alert(demo.ws.repo / prod, CANARY_ALERT)
    series = {"model": MODEL, "environment": "prod", "version": version, "track": "canary"}
    payload = demo.ws.root / "alerts" / f"{CANARY_ALERT}-{version}.json"
    payload.parent.mkdir(exist_ok=True)
    payload.write_text(json.dumps(firing_body(rule, series, demo.clock.stamp()), indent=2), encoding="utf-8")
    demo.say(f"  {CANARY_ALERT} fires for {MODEL} {version} (canary) in prod: {rule['annotations']['description']}")
    demo.say(f"  Alertmanager's webhook body for it (no cluster here: the demo writes it): {payload}")
    stable_before = _stable_pod_template(demo, "HEAD")
    branch = f"releasegate/abort-{MODEL}-prod-{version}"
    demo.run("on-alert", str(payload), "--no-pr")
    demo.ws.git("checkout", "-q", branch)
    gate(demo, branch, f"Abort the canary of {MODEL} {version} in prod (opened by the alert)")
    if _stable_pod_template(demo, "HEAD") != stable_before:
        raise DemoStepError(f"step '{demo.step}': the abort changed the stable Deployment's pod template",
                            f"compare: git diff HEAD^ HEAD -- {prod}")
    demo.say(click.style("  the stable Deployment's pod template is unchanged: no stable pod restarts", fg="green"))
    demo.say("  the same alert again (Alertmanager repeats it until it resolves):")
    demo.run("on-alert", str(payload), "--no-pr")


def _stable_pod_template(demo: Demo, ref: str) -> Any:
    text = demo.ws.git("show", f"{ref}:environments/prod/manifests/{MODEL}.yaml")
    for doc in yaml.safe_load_all(text):
        if isinstance(doc, dict) and doc.get("kind") == "Deployment" and doc["metadata"]["name"] == MODEL:
            return doc["spec"]["template"]
    raise DemoStepError(f"step '{demo.step}': no Deployment {MODEL} in the prod manifests at {ref}",
                        f"look at: git show {ref}:environments/prod/manifests/{MODEL}.yaml")


def rollback_and_compare(demo: Demo, to_version: str, live_commit: str) -> None:
    branch_and_gate(demo, ["rollback", MODEL, "--env", "prod", "--to", to_version],
                    f"releasegate/rollback-{MODEL}-prod-{to_version}", f"Roll back {MODEL} in prod to {to_version}")
    manifests = "environments/prod/manifests"
    then = demo.ws.git("ls-tree", "-r", live_commit, "--", manifests)
    now = demo.ws.git("ls-tree", "-r", "HEAD", "--", manifests)
    if then != now:
        raise DemoStepError(f"step '{demo.step}': prod manifests differ from those of {to_version}'s time",
                            f"compare: git diff {live_commit} HEAD -- {manifests}")
    count = len(then.splitlines())
    demo.say(click.style(f"  prod manifests are byte-identical to those live with {to_version} "
                         f"({count} files, same blob ids as commit {live_commit[:10]})", fg="green"))


def story(demo: Demo, has_gpu: bool) -> None:
    from releasegate.demo.models import build_demo_models

    demo.heading("1. A fresh GitOps repository")
    changes = relax_policy_for_this_machine(demo.ws.repo / "policies" / "policy-pack.yaml", has_gpu, demo.ws.artifacts)
    changes += render_for_this_machine(demo.ws.repo / "policies" / "render.yaml", demo.ws.origin)
    for change in changes:
        demo.say(f"  demo policy: {change}")
    commit_all(demo.ws, "Initial GitOps repository from the releasegate template")
    demo.ws.git("push", "-q", "origin", "main")
    demo.say(f"  repository {demo.ws.repo} (origin: {demo.ws.origin})")

    demo.heading("2. Four real torch models")
    v1, v2, v3, v4 = build_demo_models(demo.ws.artifacts)
    for artifact in (v1, v2, v3, v4):
        demo.say(f"  {artifact.version}  sha256 {artifact.sha256[:16]}…  {artifact.note}")

    demo.heading(f"3. {v1.version} through dev → staging → prod")
    walk_to_prod(demo, v1, 0.91)
    canaries_in_steps(demo)
    v1_live = demo.ws.git("rev-parse", "HEAD").strip()

    demo.heading(f"4. {v2.version}, retrained, reaches prod as a canary in steps beside {v1.version}")
    advance(demo, 24, "a day later")
    walk_to_prod(demo, v2, 0.93)
    walk_the_canary(demo, v2.version)

    demo.heading(f"5. {v3.version}, deliberately slow, is stopped by the load-test gate")
    advance(demo, 24, "a day later")
    walk_to_prod(demo, v3, 0.93, expect_pass=False)

    demo.heading(f"6. {v4.version}'s canary goes bad in prod: the alert aborts it through a pull request")
    advance(demo, 24, "a day later")
    walk_to_prod(demo, v4, 0.94)
    advance(demo, 0.25, f"the canary serves {PROD_STEPS[0][0]} % of prod, and answers errors")
    alert_aborts_the_canary(demo, v4.version)

    demo.heading(f"7. Something is wrong in prod: roll back to {v1.version}")
    advance(demo, 3, "an incident")
    rollback_and_compare(demo, v1.version, v1_live)

    demo.heading("8. What Git says")
    demo.run("status", show=40)
    demo.run("history", MODEL, show=40)


@click.command()
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              envvar="RELEASEGATE_DEMO_DIR",
              help="Directory for the demo repository and reports (default: a new temporary directory).")
@click.option("--template", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="releasegate checkout whose policies/ and workflows seed the repository (default: this one).")
@click.option("--verbose", "-v", is_flag=True, help="Show the full output of every command.")
def demo(workdir: Path | None, template: Path | None, verbose: bool) -> int:
    """Show the whole release loop end to end on a throw-away repository.

    Creates a GitOps repository with a bare origin, builds four small torch models,
    walks 1.0.0 through dev, staging and prod and 1.1.0 into prod as a canary in
    steps (validate, load test, render --check at every pull request), shows the
    gate stopping a slow 1.2.0 and an alert aborting 1.3.0's canary through a pull
    request, rolls prod back byte for byte, and prints status and history. Needs
    the [loadtest] extra. Leaves everything in the directory it names.
    """
    root = workdir or Path(tempfile.mkdtemp(prefix="releasegate-demo-"))
    clock = DemoClock()
    clock.apply()
    ws = create_workspace(find_template(template), root, ["dev", "staging", "prod"])
    the_demo = Demo(ws, clock, verbose)
    story(the_demo, _has_gpu())
    click.echo(click.style(f"\nDone in {time.monotonic() - the_demo.started:.0f} s. Look around:", bold=True))
    click.echo(f"  repository: {ws.repo}   (git log --first-parent --oneline)\n"
               f"  origin:     {ws.origin}\n  reports:    {ws.reports}\n  artifacts:  {ws.artifacts}")
    return 0


def _has_gpu() -> bool:
    try:
        import torch
    except ImportError as e:
        raise DemoStepError("the demo needs torch", "pip install 'releasegate[loadtest]'") from e
    return bool(torch.cuda.is_available())
