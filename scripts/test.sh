#!/usr/bin/env bash
# Install releasegate with its test extras into .venv and run the whole test suite.
# Extra arguments go to pytest, e.g. scripts/test.sh -k validate
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# torch is pinned for the test set-up only (constraints-test.txt): users pick their own build.
.venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints-test.txt -e '.[test]'
# Pinned fixtures (fetch-*.sh), and Prometheus and Alertmanager from the distribution (install-*.sh).
for fetch in scripts/fixtures/fetch-*.sh scripts/fixtures/install-*.sh; do
  [ -e "$fetch" ] && bash "$fetch"
done
export PATH="$PWD/.cache/fixtures/bin:$PATH"
exec .venv/bin/python -m pytest "$@"
