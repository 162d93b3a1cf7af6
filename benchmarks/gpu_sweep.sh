#!/usr/bin/env bash
# One prepared run for a lent NVIDIA GPU: unattended, about 8 minutes, every output under $OUT.
#
#   stage 1, parity (limit PARITY_SECONDS=150): benchmarks/gpu_parity.py, the torch engine on
#     $DEVICE against the Numba engine on the CPU, on a small planted problem: one batch in
#     float64 with the same tables and candidates (losses and gradients within 1e-10, the
#     DNS(M, all) selections exactly); whole training from the same tables, batches and draws
#     (float64 within 1e-10, float32 within 1e-3); float32 training with each engine's own
#     streams (test NDCG@20, Recall@20 within 0.05)                      -> $OUT/parity.json
#   stage 2, guideline (limit SWEEP_SECONDS=300): the guideline grid (docs: full-item DNS,
#     M in 1..200, and RNS) on Gowalla in pair batches on the torch engine
#                                            -> $OUT/guideline_gowalla_gpu.csv (and .json)
#     The sweep writes a row when a configuration finishes (kill -9 safe), so a stage stopped
#     at its limit returns the finished rows; MAX_GROUP=1 (the default) finishes them one by
#     one, RNS first. To go on where a run stopped, rerun with RESUME=DIR, a folder holding
#     the earlier guideline_gowalla_gpu.csv and .json: finished configurations are skipped.
#   everything printed                                                    -> $OUT/gpu_sweep.log
#
#   bash benchmarks/gpu_sweep.sh                      # on the GPU machine, OUT set
#   DRY_RUN=1 bash benchmarks/gpu_sweep.sh            # print the commands only
#   DEVICE=cpu DATASET=ml-100k EPOCHS=1 QUICK=1 OUT=/tmp/gpu bash benchmarks/gpu_sweep.sh
#                                                     # the CPU check that it starts and runs
#
# Gowalla is the paper's gowalladata.mat, imported into the cache with
# `opauc-sim data fetch gowalla --from FILE` (sha256-checked). It is not in the repository:
# set GOWALLA_MAT, or put it where this script looks (../shared/data/gowalla/, the
# developers' machines; shared/data/gowalla/ or .data/ in the checkout, which a device run
# carries). Without it stage 2 is skipped. The device machine has no network: the ML-100K
# and ML-1M wheels must be in the cache already (CACHE, default $OPAUC_SIM_CACHE or
# ~/.cache/opauc-sim).
#
# No install needed: the checkout runs as is (PYTHONPATH), with python3's numpy, scipy,
# numba, pandas and torch (the device image has them all).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

OUT=${OUT:-results/gpu_sweep}
DEVICE=${DEVICE:-cuda}
DATASET=${DATASET:-gowalla}
EPOCHS=${EPOCHS:-200}
EVAL_EVERY=${EVAL_EVERY:-10}
PATIENCE=${PATIENCE:-5}
MAX_GROUP=${MAX_GROUP:-1}
PARITY_SECONDS=${PARITY_SECONDS:-150}
SWEEP_SECONDS=${SWEEP_SECONDS:-300}
THREADS=${THREADS:-$(nproc)}
CACHE=${CACHE:-${OPAUC_SIM_CACHE:-$HOME/.cache/opauc-sim}}
case "$DEVICE" in cuda*) TAG=gpu ;; *) TAG=$DEVICE ;; esac
CSV=$OUT/guideline_${DATASET}_${TAG}.csv

PY=${PY:-python3}
if [ -x .venv/bin/python ]; then PY=.venv/bin/python; fi
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export OPAUC_SIM_THREADS=$THREADS

mkdir -p "$OUT"
LOG=$OUT/gpu_sweep.log
if [ "${DRY_RUN:-0}" != "1" ]; then
    exec > >(tee -a "$LOG") 2>&1
fi

# run LIMIT CMD...: echo the command; unless DRY_RUN, run it under a time limit (TERM, then
# KILL 20 s later) and report how it ended, without stopping the script.
run() {
    local limit=$1
    shift
    echo "+ [limit ${limit}s] $*"
    [ "${DRY_RUN:-0}" = "1" ] && return 0
    local start=$SECONDS rc=0
    timeout --kill-after=20 "$limit" "$@" || rc=$?
    echo  # after a progress bar's last line
    case $rc in
        0) echo "= done in $((SECONDS - start)) s" ;;
        124 | 137) echo "= STOPPED at its limit of ${limit} s (what finished is kept)" ;;
        *) echo "= FAILED with status $rc after $((SECONDS - start)) s" ;;
    esac
    return $rc
}

echo "== $(date -u +%FT%TZ) $(uname -n): device $DEVICE, dataset $DATASET, out $OUT"
if [ "${DRY_RUN:-0}" != "1" ]; then
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null ||
        echo "(no nvidia-smi)"
    "$PY" -c "import torch, numba, numpy; print('torch', torch.__version__, 'cuda', \
torch.cuda.is_available(), 'numba', numba.__version__, 'numpy', numpy.__version__)" || exit 1
fi

echo "== stage 1: engine parity, torch on $DEVICE against Numba on the CPU"
parity_args=(--device "$DEVICE" --out "$OUT/parity.json")
[ "${QUICK:-0}" = "1" ] && parity_args+=(--quick)
run "$PARITY_SECONDS" "$PY" benchmarks/gpu_parity.py "${parity_args[@]}"
parity_rc=$?

echo "== stage 2: the guideline grid on $DATASET, $EPOCHS epochs, torch on $DEVICE -> $CSV"
sweep_rc=0
data_ok=1
if [ "$DATASET" = "gowalla" ]; then
    mat=""
    for f in "${GOWALLA_MAT:-}" ../shared/data/gowalla/gowalladata.mat \
        shared/data/gowalla/gowalladata.mat .data/gowalladata.mat "$CACHE/gowalladata.mat"; do
        if [ -n "$f" ] && [ -f "$f" ]; then
            mat=$f
            break
        fi
    done
    if [ -z "$mat" ]; then
        echo "= SKIPPED: no gowalladata.mat (set GOWALLA_MAT)"
        data_ok=0
    else
        run 120 "$PY" -m opauc_sim data fetch gowalla --from "$mat" --cache-dir "$CACHE" ||
            data_ok=0
    fi
fi
if [ "$data_ok" = "1" ]; then
    if [ -n "${RESUME:-}" ]; then
        for f in "$RESUME/$(basename "$CSV")" "$RESUME/$(basename "${CSV%.csv}.json")"; do
            [ -f "$f" ] && cp -v "$f" "$OUT/"
        done
    fi
    run "$SWEEP_SECONDS" "$PY" -m opauc_sim sweep --dataset "$DATASET" --cache-dir "$CACHE" \
        --backend torch --device "$DEVICE" --threads "$THREADS" \
        --grid rns --grid dns:M=1,2,5,10,20,50,100,200:N=all --batching pair \
        --weight-decay 0.01 --epochs "$EPOCHS" --eval-every "$EVAL_EVERY" \
        --patience "$PATIENCE" --select-metric ndcg@K --ks 5 10 20 50 100 \
        --seed 0 --split-seed 0 --max-group "$MAX_GROUP" --out "$CSV"
    sweep_rc=$?
    if [ "${DRY_RUN:-0}" != "1" ] && [ -f "$CSV" ]; then
        "$PY" - "$CSV" <<'EOF'
import sys

import pandas as pd

df = pd.read_csv(sys.argv[1])
cols = [c for c in ("label", "best_epoch", "stopped_epoch", "test_ndcg@20", "test_recall@20",
                    "epoch_seconds_median") if c in df]
print(f"{len(df)} row(s) in {sys.argv[1]}")
print(df[cols].to_string(index=False))
EOF
    fi
fi

echo "== $(date -u +%FT%TZ) end: parity status $parity_rc, sweep status $sweep_rc"
ls -la "$OUT" 2>/dev/null
[ "$parity_rc" = "0" ]
