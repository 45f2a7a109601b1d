#!/usr/bin/env bash
# Regenerate the hash-pinned lock files the composite actions install from (actions/install.sh):
#   actions/requirements-build.lock     setuptools + wheel, to build releasegate itself without isolation
#   actions/requirements.lock           the light core (render, permit)
#   actions/requirements-sign.lock      the core with the [sign] extra (validate: model signatures)
#   actions/requirements-loadtest.lock  the [loadtest] and [sign] extras (torch, locust, model-signing ...) for the GPU runner
#   deploy/image/requirements-cpu.lock  the [serve] extra with torch +cpu (PyTorch CPU index), for the server image
#   deploy/image/requirements-cuda.lock the [serve] extra with PyPI's CUDA torch, for the server image
#     (torch's version: deploy/image/torch-<variant>.in; the image's Python is 3.11, see its Containerfile)
# Run it after changing the dependencies in pyproject.toml, and commit the six files.
# Needs pip-tools (pip install pip-tools); takes a few minutes (the loadtest lock resolves torch).
set -euo pipefail
cd "$(dirname "$0")/.."
compile() {
  # PIP_CONSTRAINT= : a machine-wide pip constraint must not shape the lock users install.
  PIP_CONSTRAINT= pip-compile --quiet --generate-hashes --no-emit-index-url --no-emit-find-links \
    --strip-extras --allow-unsafe --no-header "$@"
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'setuptools>=68\nwheel\n' >"$tmp/build.in"
compile -o actions/requirements-build.lock "$tmp/build.in"
compile -o actions/requirements.lock pyproject.toml
compile --extra sign -o actions/requirements-sign.lock pyproject.toml
compile --extra loadtest --extra sign -o actions/requirements-loadtest.lock pyproject.toml
compile --extra serve --extra-index-url https://download.pytorch.org/whl/cpu \
  -o deploy/image/requirements-cpu.lock pyproject.toml deploy/image/torch-cpu.in
compile --extra serve -o deploy/image/requirements-cuda.lock pyproject.toml deploy/image/torch-cuda.in
# The loadtest extra names releasegate[serve]: pip-compile then lists releasegate itself as a local
# path, which cannot be hashed; the action installs releasegate from its own source anyway.
python3 - actions/requirements-loadtest.lock <<'PY'
import re, sys
path = sys.argv[1]
text = open(path).read()
text = re.sub(r"# WARNING: pip install will require.*?\n(?=[a-z]|\Z)", "", text, flags=re.S)
text = re.sub(r"^releasegate @ .*\n(    #.*\n)*", "", text, flags=re.M)
open(path, "w").write(text)
PY
