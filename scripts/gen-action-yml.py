"""Regenerate actions/<name>/action.yml from the input/output tables in src/releasegate/actions/inputs.py.

Usage: python scripts/gen-action-yml.py   (then review the diff; tests/actions/test_workflows.py
checks that action.yml and the tables agree)
"""
import os
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.chdir(ROOT)
sys.path.insert(0, os.path.join(ROOT, "src"))
from releasegate.actions import inputs as I  # noqa: E402 - after the sys.path line above


def q(s):
    return '"' + s.replace('\\', '\\\\').replace('"', '\\"') + '"'

def gen(name, title, desc, ins, outs, install_extra, module):
    L = [f"# releasegate {name}: {title}", "# Inputs reach the script only through env: (never ${{ }} inside run:). See docs/github-actions.md.",
         f"name: releasegate {name}", f"description: {q(desc)}", "author: releasegate", "branding:", "  icon: shield", "  color: green", "inputs:"]
    for i in ins:
        L.append(f"  {i.name}:")
        L += ["    description: >-"] + ["      " + line for line in textwrap.wrap(i.description, 100, break_on_hyphens=False)]
        L.append("    required: false")
        default = "${{ github.token }}" if i.name == "github-token" else i.default
        L.append(f"    default: {q(default)}")
    L.append("outputs:")
    for o in outs:
        L.append(f"  {o.name}:")
        L += ["    description: >-"] + ["      " + line for line in textwrap.wrap(o.description, 100, break_on_hyphens=False)]
        L.append(f"    value: ${{{{ steps.run.outputs.{o.name} }}}}")
    L += ["runs:", "  using: composite", "  steps:",
          "    - name: Install releasegate" + (f" with [{install_extra}]" if install_extra else " (light core, no torch)"),
          "      id: install", "      shell: bash", "      env:", "        RELEASEGATE_PYTHON: ${{ inputs.python }}",
          f"        RELEASEGATE_EXTRA: {q(install_extra)}",
          "      run: \"$GITHUB_ACTION_PATH/../install.sh\""]
    split = module == "loadtest"  # the token goes only to the reporting step, never beside the models
    if split:  # ... and to the permit check before it: nothing of the pull request is loaded yet
        L += ["    - name: Check the permit to load-test this commit (before anything of it is loaded)",
              "      shell: bash", "      env:"]
        for i in ins:
            if i.name in ("root", "permit-label", "github-token"):
                L.append(f"        {i.env}: ${{{{ inputs.{i.name} }}}}")
        L += ["        RELEASEGATE_PYTHON_BIN: ${{ steps.install.outputs.python }}",
              "      run: '\"$RELEASEGATE_PYTHON_BIN\" -m releasegate.actions.loadtest_permit'"]
    L += [f"    - name: Run releasegate {name}", "      id: run", "      shell: bash", "      env:"]
    for i in ins:
        if i.name == "python" or (split and i.name == "github-token"):
            continue
        L.append(f"        {i.env}: ${{{{ inputs.{i.name} }}}}")
    L.append("        RELEASEGATE_PYTHON_BIN: ${{ steps.install.outputs.python }}")
    L.append(f"      run: '\"$RELEASEGATE_PYTHON_BIN\" -m releasegate.actions.{module}'")
    if split:
        L += ["    - name: Report the load test (with the GitHub token, after the models have stopped)", "      if: always() && steps.run.outputs.result != ''",
              "      shell: bash", "      env:"]
        for i in ins:
            if i.name in ("comment", "checks", "github-token", "root"):
                L.append(f"        {i.env}: ${{{{ inputs.{i.name} }}}}")
        L += ["        RELEASEGATE_LOADTEST_REPORT: ${{ steps.run.outputs.out }}/report.md",
              "        RELEASEGATE_LOADTEST_EXIT_CODE: ${{ steps.run.outputs.exit-code }}",
              "        RELEASEGATE_PYTHON_BIN: ${{ steps.install.outputs.python }}",
              "      run: '\"$RELEASEGATE_PYTHON_BIN\" -m releasegate.actions.loadtest_report'"]
    return "\n".join(L) + "\n"

open("actions/validate/action.yml", "w").write(gen("validate", "check a release pull request against the policy pack",
    "Validate changed release files against the schemas and the policy pack, evaluate approvals, and report on the pull request: one sticky comment, a check run per gate, annotations on the exact lines, labels.",
    I.VALIDATE_INPUTS, I.VALIDATE_OUTPUTS, "sign", "validate"))
open("actions/render/action.yml", "w").write(gen("render", "render (or check) the manifests Argo CD / Flux apply",
    "Render environments/<env>/manifests from the release files, or check that the committed manifests are up to date (drift fails the step with a diff).",
    I.RENDER_INPUTS, I.RENDER_OUTPUTS, "", "render"))

open("actions/loadtest/action.yml", "w").write(gen("loadtest", "load-test candidate models on a GPU runner",
    "Start the candidate model and the version live now, drive both with locust in interleaved phases on this runner's GPU, and gate on the policy's SLOs and regression limits; report tables and plots on the pull request.",
    I.LOADTEST_INPUTS, I.LOADTEST_OUTPUTS, "loadtest", "loadtest"))

open("actions/permit/action.yml", "w").write(gen("permit", "may this pull request event use the GPU runner?",
    "Decide from the event whether the load test may run, and on which commit: a branch of this repository on every push, a fork's pull request only on the labeled event of the label, for that commit only; remove the label on every push. Run it on pull_request_target.",
    I.PERMIT_INPUTS, I.PERMIT_OUTPUTS, "", "permit"))
