#!/usr/bin/env bash
# Shared by the composite actions: make a Python with releasegate available and report its
# path as the step output `python`.
#   RELEASEGATE_PYTHON  an interpreter that already has releasegate (the `python` input); or empty:
#                       install releasegate from this repository (the action's own source) into a
#                       virtualenv under RUNNER_TEMP, reused by later releasegate steps of the job.
#   RELEASEGATE_EXTRA   the lock to install from: "" the light core, "sign" the core with model signatures
#                       (validate, evidence), "loadtest" the GPU load test (with model signatures too).
# Dependencies come from the hash-pinned lock files next to this script (pip --require-hashes:
# a self-hosted runner never installs whatever the index serves that day); releasegate itself
# is then installed from this repository without touching the index (--no-deps, no build isolation).
# scripts/lock-actions.sh regenerates the locks.
set -euo pipefail

if [[ -n "${RELEASEGATE_PYTHON:-}" ]]; then
  if ! "$RELEASEGATE_PYTHON" -c "import releasegate" 2>/dev/null; then
    echo "::error title=releasegate install::input python=$RELEASEGATE_PYTHON cannot import releasegate; install it there or leave the input empty"
    exit 2
  fi
  python_bin="$RELEASEGATE_PYTHON"
else
  source_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  extra="${RELEASEGATE_EXTRA:-}"
  venv="${RUNNER_TEMP:-/tmp}/releasegate-venv${extra:+-$extra}"
  if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c "import releasegate" 2>/dev/null; then
    python3 -m venv "$venv"
    pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
    "${pip[@]}" --require-hashes -r "$source_dir/actions/requirements-build.lock"
    "${pip[@]}" --require-hashes -r "$source_dir/actions/requirements${extra:+-$extra}.lock"
    "${pip[@]}" --no-deps --no-build-isolation "$source_dir"
  fi
  python_bin="$venv/bin/python"
fi
echo "python=$python_bin" >>"$GITHUB_OUTPUT"
