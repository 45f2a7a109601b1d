#!/usr/bin/env bash
# The serving targets on one NVIDIA GPU, in at most 8 minutes, installing what it needs itself.
#
#   benchmarks/gpu/run.sh                 # GPU: venv + pinned CUDA torch, then benchmarks/gpu/run.py
#   benchmarks/gpu/run.sh --cpu-smoke     # the same code on the CPU with tiny models (< 2 minutes once installed)
#   benchmarks/gpu/run.sh --python PY     # use an interpreter that already has releasegate[loadtest] (no install)
#
# Needs python3 >= 3.10 with venv, git, and a package registry (PyPI, or the mirror pip is configured
# for). Nothing is downloaded from model hubs: the models are built from torch.nn with random weights,
# as the anchors were (../shared/anchors/gpu/README.md). Writes out/gpu/results.{json,md} (--out DIR).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TOTAL_SECONDS=${RG_GPU_BUDGET:-480}   # the whole run, install included
TORCH_PIN=torch==2.13.0               # PyPI's Linux build carries CUDA (as deploy/image/torch-cuda.in)
MODE=gpu
PY=""
OUT="$ROOT/out/gpu"
while [ $# -gt 0 ]; do
  case "$1" in
    --cpu-smoke) MODE=cpu-smoke ;;
    --python) PY=$2; shift ;;
    --out) OUT=$2; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
START=$(date +%s)

if [ -z "$PY" ]; then
  VENV=${RG_GPU_VENV:-${TMPDIR:-/tmp}/releasegate-gpu-venv-$MODE}
  if [ "$MODE" = cpu-smoke ]; then
    TORCH_PIN=$(grep -E '^torch==' "$ROOT/constraints-test.txt")   # the CPU build the CI machines use
  fi
  if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import releasegate, torch, locust, pytest" 2>/dev/null; then
    echo "== install into $VENV ($TORCH_PIN)" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --upgrade pip
    "$VENV/bin/pip" install -q "$TORCH_PIN"
    echo "$TORCH_PIN" > "$VENV/torch-constraint.txt"
    "$VENV/bin/pip" install -q -c "$VENV/torch-constraint.txt" -e "$ROOT[loadtest]" pyyaml pytest==8.4.2 pytest-timeout==2.4.0
  fi
  PY="$VENV/bin/python"
fi

if [ "$MODE" = gpu ] && ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "run.sh: torch sees no CUDA GPU here; use --cpu-smoke to prove the script on the CPU" >&2
  exit 2
fi

LEFT=$(( TOTAL_SECONDS - ($(date +%s) - START) - 20 ))   # 20 s for writing the report and stopping servers
ARGS=(--budget-seconds "$LEFT" --out "$OUT")
[ "$MODE" = cpu-smoke ] && ARGS+=(--cpu-smoke)
echo "== $MODE run, $LEFT s for the stages" >&2
cd "$ROOT"
PYTHONPATH="$ROOT/src" exec "$PY" "$ROOT/benchmarks/gpu/run.py" "${ARGS[@]}"
