#!/usr/bin/env bash
# The Gowalla training study (paper Table 2, Fig. 8-10), in stages that each resume.
#
#   bash studies/gowalla.sh            # run (or resume) every stage, in order
#   STAGES="1 2" bash studies/gowalla.sh
#
# Every stage is one `opauc-sim sweep` appending to results/train_gowalla.csv; rerunning
# skips finished configurations, so the study can be stopped at any moment. The protocol
# is the paper's (MF dim 32, Adam lr 1e-3, batch 4096, 200 epochs, N = 200) in the authors'
# recipe (--authors-code: no validation, test after the last epoch), one thread.
# Stages after the first pick the weight decay that gave the best test NDCG@50 in an
# earlier stage, as the paper tuned it (it has no validation set either).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=${OUT:-results/train_gowalla.csv}
THREADS=${THREADS:-1}
EPOCHS=${EPOCHS:-200}
CACHE=${CACHE:-}
cache_args=()
if [ -n "$CACHE" ]; then cache_args=(--cache-dir "$CACHE"); fi
WDS="0.1 0.01 0.001 0.0001"

sweep() {  # sweep [extra args...]
    "$PY" -m opauc_sim sweep --dataset gowalla --authors-code --epochs "$EPOCHS" \
        --threads "$THREADS" --quiet "${cache_args[@]}" --out "$OUT" "$@"
}

best_wd() {  # best_wd SAMPLER [M|rho value]: weight decay with the best test NDCG@50
    "$PY" - "$OUT" "$@" <<'PYEOF'
import sys
import pandas as pd
out, sampler, *rest = sys.argv[1:]
df = pd.read_csv(out)
df = df[(df["sampler"] == sampler) & (df["seed"] == 0) & (df["split_seed"] == 0)]
df = df[df["N"] == (1 if sampler == "rns" else 200)]
if rest:
    col = "M" if sampler == "dns" else "rho"
    df = df[df[col] == float(rest[0])]
if df.empty:
    sys.exit("no finished row to pick the weight decay from")
print(df.sort_values("test_ndcg@50", ascending=False)["weight_decay"].iloc[0])
PYEOF
}

stage() {
    case "$1" in
    1) sweep --grid rns --weight-decay $WDS ;;                       # BPR, tuned
    2) sweep --grid dns:M=5:N=200 --weight-decay $WDS ;;             # DNS(5, 200), tuned
    3) sweep --grid dns:M=1,2,3,4,10,20:N=200 --weight-decay "$(best_wd dns 5)" ;;
    4) sweep --grid softmax:rho=1:N=200 --weight-decay $WDS ;;       # Softmax-v(1, 200), tuned
    5) sweep --grid softmax:rho=0.01,0.1,10,100:N=200 --weight-decay "$(best_wd softmax 1)" ;;
    6) sweep --grid dns:M=5:N=50,100,300,500 --weight-decay "$(best_wd dns 5)" ;;
    *) echo "unknown stage $1" >&2; return 2 ;;
    esac
}

for s in ${STAGES:-1 2 3 4 5 6}; do
    echo "== stage $s ($(date -u +%H:%M:%S))"
    stage "$s"
done
