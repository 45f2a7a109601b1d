#!/usr/bin/env bash
# Install releasegate (with the load-test extra) into .venv and run the end-to-end demo:
# a throw-away GitOps repo, four real torch models, validate / load test / render at every
# pull request, a canary in steps, a slow candidate stopped by the gate, an alert that aborts a
# canary through a pull request, a byte-identical rollback, status and history.
# Extra arguments go to `releasegate demo` (e.g. --workdir DIR, --verbose).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# constraints-test.txt pins torch to the CPU build of this machine kind, so that the demo does
# not download a multi-GB CUDA build; on your own machine install the torch you need first.
.venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints-test.txt -e '.[loadtest]'
.venv/bin/releasegate validate --all
exec .venv/bin/releasegate demo "$@"
