#!/usr/bin/env bash
# The Gowalla training study (paper Table 2, Fig. 8-10), in stages that each resume.
#
#   bash studies/gowalla.sh            # run (or resume) every stage, in order
#   STAGES="1 2" bash studies/gowalla.sh
#
# Stages: 1 BPR over four weight decays; 2 DNS(5, 200) over four; 3 the M grid at DNS's
# best; 4 Softmax-v(1, 200) over four; 5 the rho grid at its best; 6 the N grid at M = 5;
# 7 seeds 1 and 2 of each method's best configuration and of the best M and rho per K.
#
# Every stage is one `opauc-sim sweep` appending to results/train_gowalla.csv; rerunning
# skips finished configurations, so the study can be stopped at any moment. The protocol
# is the paper's (MF dim 32, Adam lr 1e-3, batch 4096, 200 epochs, N = 200) in the authors'
# recipe (--authors-code: no validation, test after the last epoch), one thread.
# On two cores, studies/queue.sh runs the same study as a job list
# (studies/gowalla_jobs.txt) with one worker per core, merged by opauc-sim merge-sweeps.
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

best_configs() {  # "GRID WD" lines: each method's best, and the best M and rho per K
    "$PY" - "$OUT" <<'PYEOF'
import sys
import pandas as pd
from opauc_sim.train.summary import select
df = pd.read_csv(sys.argv[1])
seen = set()
def emit(row):
    if row is None:
        return
    if row["sampler"] == "rns":
        grid = "rns"
    elif row["sampler"] == "dns":
        grid = f"dns:M={int(row['M'])}:N={int(row['N'])}"
    else:
        grid = f"softmax:rho={row['rho']:g}:N={int(row['N'])}"
    key = (grid, float(row["weight_decay"]))
    if key not in seen:
        seen.add(key)
        print(grid, f"{row['weight_decay']:g}")
for sampler in ("rns", "dns", "softmax"):
    emit(select(df, sampler, k=50)[0])
for k in (5, 20, 50):
    for sampler in ("dns", "softmax"):
        emit(select(df, sampler, k=k)[0])
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
    7)  # seeds 1 and 2 (training and split seed) of every best configuration
        best_configs | while read -r grid wd; do
            for s in 1 2; do
                sweep --grid "$grid" --weight-decay "$wd" --seed "$s" --split-seed "$s" </dev/null
            done
        done ;;
    *) echo "unknown stage $1" >&2; return 2 ;;
    esac
}

# The data: imported from the shared copy where there is one, else downloaded (sha256-checked).
SHARED=../shared/data/gowalla/gowalladata.mat
if [ -f "$SHARED" ]; then
    "$PY" -m opauc_sim data fetch gowalla --from "$SHARED" "${cache_args[@]}"
else
    "$PY" -m opauc_sim data fetch gowalla "${cache_args[@]}"
fi

for s in ${STAGES:-1 2 3 4 5 6 7}; do
    echo "== stage $s ($(date -u +%H:%M:%S))"
    stage "$s"
done
