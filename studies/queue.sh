#!/usr/bin/env bash
# Run the Gowalla study's queue (studies/gowalla_jobs.txt) with one worker per core.
#
#   nohup nice -n 19 bash studies/queue.sh a > .cache/queue/a.log 2>&1 &
#   nohup nice -n 19 bash studies/queue.sh b > .cache/queue/b.log 2>&1 &
#   ...later (any time, also after a kill):
#   opauc-sim merge-sweeps --out results/train_gowalla.csv .cache/queue/*-authors.csv
#   opauc-sim merge-sweeps --out results/train_gowalla_project.csv .cache/queue/*-project.csv
#
# Two sweeps cannot write one CSV at once (the lock refuses the second), so each worker
# writes its own CSVs under .cache/queue/, started as copies of the committed results:
# a configuration already there is skipped in seconds. Each worker takes the next job
# nobody holds: a job's claim (.cache/queue/claims/N) names its worker's pid and says
# "done" once finished; the claim of a killed worker is taken over. Resuming is running
# the same commands again; merge-sweeps appends only ids the committed CSV lacks.
# Environment: PY, JOBS (the job list), EPOCHS (200), QUEUE (the folder, .cache/queue).
set -uo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: studies/queue.sh WORKER_NAME}
PY=${PY:-.venv/bin/python}
JOBS=${JOBS:-studies/gowalla_jobs.txt}
EPOCHS=${EPOCHS:-200}
Q=${QUEUE:-.cache/queue}
mkdir -p "$Q/claims"

worker_csv() {  # worker_csv RECIPE: this worker's CSV, a copy of the committed one at first
    local base=results/train_gowalla; [ "$1" = project ] && base=results/train_gowalla_project
    local mine="$Q/$name-$1.csv"
    if [ ! -f "$mine" ] && [ -f "$base.csv" ]; then
        cp "$base.csv" "$mine" && cp "$base.json" "${mine%.csv}.json"
    fi
    echo "$mine"
}

claim() {  # claim N: take job N unless it is done or held by a live worker
    local c="$Q/claims/$1"
    if mkdir "$c" 2>/dev/null; then echo $$ > "$c/pid"; return 0; fi
    [ -f "$c/done" ] && return 1
    local pid; pid=$(cat "$c/pid" 2>/dev/null || echo 0)
    if [ "$pid" != 0 ] && kill -0 "$pid" 2>/dev/null; then return 1; fi
    echo $$ > "$c/pid"  # its worker died: take it over
}

while true; do
    n=0; job=
    while IFS= read -r line; do
        case "$line" in ''|'#'*) continue ;; esac
        n=$((n + 1))
        if claim "$n"; then job=$line; break; fi
    done < "$JOBS"
    [ -z "$job" ] && { echo "$name: queue empty $(date -u +%T)"; exit 0; }
    IFS='|' read -r recipe grids wds seed <<<"$job"
    args=()
    for g in $grids; do args+=(--grid "$g"); done
    [ "$recipe" = authors ] && args+=(--authors-code)
    echo "$name: job $n [$job] start $(date -u +%T)"
    # shellcheck disable=SC2086  # the weight decays are a list
    "$PY" -m opauc_sim sweep --dataset gowalla --epochs "$EPOCHS" --lr 0.001 --threads 1 --quiet \
        --out "$(worker_csv "$recipe")" "${args[@]}" --weight-decay $wds \
        --seed "$seed" --split-seed "$seed" </dev/null
    rc=$?
    echo "$name: job $n rc=$rc end $(date -u +%T)"
    [ "$rc" -ne 0 ] && exit "$rc"
    touch "$Q/claims/$n/done"
done
