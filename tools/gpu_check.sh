#!/usr/bin/env bash
# The GPU check (docs/gpu.md): on one GPU, in one go, within GPU_CHECK_BUDGET_S (450 s),
#   1. pytest benchmarks -m speed on GPU:0: every cell's train and inference step through
#      pytest-benchmark, each with the kernel path its trace used (cuDNN, generic loop, XLA);
#   2. a 1-epoch run of each tutorial cell (python -m rnn_models train --device GPU:0);
#   3. one cell's seed-0 suite run on the GPU against its stored CPU seeds: identical or not,
#      and the accuracy gate's statistical path's verdict (python -m rnn_models accuracy-on-device);
#   4. the collector (python -m rnn_models gpu-report): <device slug>.json and the filled gpu.md.
# Everything lands in one results folder: $1, else $OUT, else ./gpu_check_results. At most 8
# files (the device tool's limit): device.json speed.json accuracy.json runs.tgz
# gpu_check.log <slug>.json gpu.md.
# Where TensorFlow sees no GPU, each GPU part is skipped with one line and the collector still
# writes the record and page as "not yet measured on a GPU"; the exit code is then 0.
#
# Environment: GPU_CHECK_DEVICE (GPU:0; CPU:0 runs every part on the CPU, a dry run of the
# script), GPU_CHECK_QUICK=1 (a few steps per run, one cell's steps timed, no accuracy part:
# a test of the script), GPU_CHECK_CELL (the accuracy part's cell, gru), GPU_CHECK_BUDGET_S,
# PYTHON (python3), RNN_MODELS_MNIST (else ./.gpu_carry/mnist.npz when there),
# GPU_CHECK_INSTALL=0 (no pip install: the checkout through PYTHONPATH, for a test here).
# Install: wheels in ./.whl are installed first (to /tmp/gpu_check_site, as the device tool's
# README says); then the project with `pip install -e ".[test]"`, offline (--no-deps) when
# every dependency already imports.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root" || exit 2
res="${1:-${OUT:-$root/gpu_check_results}}"
mkdir -p "$res/runs" || exit 2
res="$(cd "$res" && pwd)"
exec > >(tee -a "$res/gpu_check.log") 2>&1

PY="${PYTHON:-python3}"
DEVICE="${GPU_CHECK_DEVICE:-GPU:0}"
QUICK="${GPU_CHECK_QUICK:-0}"
CELL="${GPU_CHECK_CELL:-gru}"
BUDGET="${GPU_CHECK_BUDGET_S:-450}"
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}" PYTHONUNBUFFERED=1
# Every TensorFlow process grows its GPU memory instead of taking it all: the training pool's
# workers share the one GPU (rnn_models.machine.environment.visible_gpus sets the same in-process).
export TF_FORCE_GPU_ALLOW_GROWTH=true
if [ -z "${RNN_MODELS_MNIST:-}" ] && [ -f "$root/.gpu_carry/mnist.npz" ]; then
  export RNN_MODELS_MNIST="$root/.gpu_carry/"
fi

say() { echo "gpu_check: $*"; }
skip() { echo "gpu_check: skipped $1: $2"; }
left() { echo $((BUDGET - SECONDS)); }
# limit WANTED: the seconds a part may take, WANTED or what the budget has left (30 s kept
# for the collector); 0 when too little is left to start it.
limit() {
  local l=$(( $(left) - 30 ))
  [ "$l" -gt "$1" ] && l=$1
  [ "$l" -lt 20 ] && l=0
  echo "$l"
}
# start PART WANTED: sets t to the seconds PART may take (see limit); says why and returns 1
# when it cannot start: the device cannot be used ($why), or the budget is spent.
start() {
  if [ -n "$why" ]; then
    skip "$1" "$why"; return 1
  fi
  t=$(limit "$2")
  if [ "$t" -eq 0 ]; then
    skip "$1" "out of the ${BUDGET} s budget"; return 1
  fi
}

# --- install --------------------------------------------------------------------------
if compgen -G ".whl/*.whl" >/dev/null; then
  say "installing the carried wheels in .whl"
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/gpu_check_site .whl/*.whl && export PYTHONPATH="/tmp/gpu_check_site${PYTHONPATH:+:$PYTHONPATH}"
fi
missing="$("$PY" - <<'EOF'
import importlib.util
names = ["tensorflow", "keras", "numpy", "scipy", "matplotlib", "filelock", "pytest",
         "pytest_benchmark", "xdist", "pytest_timeout"]
print(" ".join(n for n in names if importlib.util.find_spec(n) is None))
EOF
)"
if [ "${GPU_CHECK_INSTALL:-1}" = 0 ]; then
  say "GPU_CHECK_INSTALL=0: no install, the checkout through PYTHONPATH"
elif [ -z "$missing" ]; then
  "$PY" -m pip install -q --no-deps --no-build-isolation -e . >/dev/null 2>&1 \
    || say "pip install -e . failed; using the checkout through PYTHONPATH"
else
  say "not importable: $missing; trying pip install -e \".[test]\""
  timeout 300 "$PY" -m pip install -q --retries 1 --timeout 20 -e ".[test]" || true
fi
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
missing="$("$PY" -c 'import importlib.util as u; print(" ".join(n for n in ["tensorflow", "keras", "scipy", "filelock", "pytest_benchmark"] if u.find_spec(n) is None))')"

# --- which device -----------------------------------------------------------------------
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$missing" ]; then
  why="cannot install the project here: $missing not importable (no registry, and no wheels in .whl)"
  say "error: $why"
  printf '{"device": "%s", "name": null, "why_not": "%s", "quick": %s, "commit": "%s"}\n' \
    "$DEVICE" "$why" "$([ "$QUICK" = 1 ] && echo true || echo false)" "$commit" >"$res/device.json"
else
  "$PY" - "$DEVICE" "$QUICK" "$commit" >"$res/device.json" <<'EOF'
import json, sys
device, quick, commit = sys.argv[1], sys.argv[2] == "1", sys.argv[3]
from rnn_models.machine.environment import check_device, describe_device, gpu_name
from rnn_models.machine.numerics_pin import is_gpu
try:
    check_device(device)
    name, why = (gpu_name(device) if is_gpu(device) else describe_device(device)), None
except ValueError as err:  # "--device GPU:0: TensorFlow sees no GPU on this machine"
    name, why = None, str(err).split(": ", 1)[-1]
print(json.dumps({"device": device, "name": name, "why_not": why, "quick": quick, "commit": commit}))
EOF
fi
why="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["why_not"] or "")' "$res/device.json" 2>/dev/null)"
[ -s "$res/device.json" ] || why="the device probe failed (see the log above)"
if [ -z "$why" ]; then
  say "device $DEVICE: $("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["name"])' "$res/device.json")"
fi

# --- 1. speed ---------------------------------------------------------------------------
kw="${DEVICE%%:*}"  # the steps' ids read test_step_speed[<cell>-<device>-<phase>]
cells=()
[ "$QUICK" = 1 ] && cells=(--cells lstm)
if start "speed steps on $DEVICE (pytest benchmarks -m speed)" 200; then
  say "speed steps on $DEVICE (at most ${t} s)"
  timeout -k 10 "$t" "$PY" -m pytest benchmarks -m speed -k "$kw" "${cells[@]}" -p no:cacheprovider \
    -q -rs --timeout="$t" --benchmark-json="$res/speed.json" \
    || say "speed steps ended with exit code $? (the timed steps so far are in speed.json if it was written)"
fi

# --- 2. the tutorial cells, 1 epoch each ----------------------------------------------------
steps=()
[ "$QUICK" = 1 ] && steps=(--steps-per-epoch 20)
for cell in basic_rnn basic_lstm lstm gru ln_basic_lstm; do
  start "1-epoch run of $cell on $DEVICE" 90 || continue
  # The suite's config of the cell (the tutorial's clip, the registry's suite_kwargs): the layer-norm
  # cell's tutorial config goes NaN within its first 250 steps.
  read -r -a suite <<<"$("$PY" -c 'import sys
from rnn_models.suite.matrix import matrix_config
c = matrix_config(sys.argv[1])
print(" ".join([f"--clip {c.clip_norm}"] + [f"--cell-arg {k}={v!r}" for k, v in c.cell_kwargs.items()]))' "$cell")"
  timeout -k 10 "$t" "$PY" -m rnn_models train --cell "$cell" --epochs 1 --device "$DEVICE" --quiet \
    "${suite[@]}" "${steps[@]}" --out "$res/runs/tutorial_$cell.json" \
    || say "1-epoch run of $cell ended with exit code $?"
done

# --- 3. seed 0 on the device against the stored CPU seeds -----------------------------------
part="accuracy of $CELL on $DEVICE against its CPU baseline"
if [ -z "$why" ] && [ "$QUICK" = 1 ]; then
  skip "$part" "quick mode (its 10-epoch runs are the check's longest part)"
elif start "$part" 240; then
  say "accuracy of $CELL on $DEVICE (at most ${t} s)"
  timeout -k 10 "$t" "$PY" -m rnn_models accuracy-on-device --cell "$CELL" --device "$DEVICE" \
    --out "$res/accuracy.json" || say "accuracy-on-device ended with exit code $?"
fi

# --- 4. collect ------------------------------------------------------------------------------
status=0
"$PY" -m rnn_models gpu-report --results "$res" --out "$res" --docs docs/gpu.md --docs-out "$res/gpu.md" \
  || { status=$?; say "gpu-report ended with exit code $status"; }
if compgen -G "$res/runs/*.json" >/dev/null; then
  tar -czf "$res/runs.tgz" -C "$res" runs
fi
rm -rf "$res/runs"
say "done in ${SECONDS} s; results in $res"
exit "$status"
