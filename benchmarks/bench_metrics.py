"""Benchmark opauc_sim.metrics against its peers, measured in the same run on the same data.

Data: ``n_rows x n_items`` random float64 scores with exactly ``n_pos`` positives per row
(default 10,000 x 1,000, 50 positives). Every timing is the median of ``--repeats`` runs
after one warm-up (which also pays Numba's compile or cache load, reported separately).

Peers:
- the read floor: ``y_score.sum() + y_true.sum()``, the cost of reading the inputs once;
- a plain numpy implementation (one full argsort per row, then vectorised metrics);
- sklearn ``roc_auc_score(max_fpr=0.1)`` and ``ndcg_score``, looped per row on a subset
  and scaled to all rows (they are per-query APIs);
- ranx (if installed), its sort included (it ranks from a {query: {doc: score}} run).

Usage::

    python benchmarks/bench_metrics.py            # docs/benchmarks.md's setting (10,000 × 1,000)
    python benchmarks/bench_metrics.py --rows 2000 --repeats 3   # a quick look
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import numpy as np


def make_data(n_rows: int, n_items: int, n_pos: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    y_score = rng.random((n_rows, n_items))
    keys = rng.random((n_rows, n_items))
    pos_idx = np.argpartition(keys, n_pos, axis=1)[:, :n_pos]
    y_true = np.zeros((n_rows, n_items), dtype=bool)
    np.put_along_axis(y_true, pos_idx, True, axis=1)
    return y_true, y_score


def median_time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def numpy_argsort_metrics(y_true, y_score, ks, betas):
    """A plain numpy implementation: full argsort per row (tie-free data assumed)."""
    order = np.argsort(-y_score, axis=1, kind="stable")
    rel = np.take_along_axis(y_true, order, axis=1)
    n_pos = rel.sum(axis=1)
    n_neg = rel.shape[1] - n_pos
    out = {}
    disc = 1.0 / np.log2(np.arange(rel.shape[1]) + 2.0)
    for k in ks:
        hits = rel[:, :k].sum(axis=1)
        out[f"recall@{k}"] = hits / n_pos
        out[f"precision@{k}"] = hits / k
        dcg = (rel[:, :k] * disc[:k]).sum(axis=1)
        idcg = np.cumsum(disc)[np.minimum(n_pos, k) - 1]
        out[f"ndcg@{k}"] = dcg / idcg
    neg_above = np.cumsum(~rel, axis=1)
    a = np.where(rel, neg_above, 0)
    out["auc"] = np.where(rel, n_neg[:, None] - a, 0).sum(axis=1) / (n_pos * n_neg)
    for beta in betas:
        m = beta * n_neg
        out[f"opauc@{beta:g}"] = np.where(rel, np.maximum(0, m[:, None] - a), 0).sum(axis=1) / (
            n_pos * n_neg
        )
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=1_000)
    parser.add_argument("--pos", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--sklearn-rows", type=int, default=200, help="subset for sklearn loops")
    args = parser.parse_args(argv)
    ks, betas = (5, 10, 20, 50), (0.01, 0.05, 0.1)

    # First-call cost in a fresh process: compile (empty cache) or cache load.
    code = (
        "import time, numpy as np; t=time.perf_counter(); from opauc_sim.metrics import evaluate;"
        "evaluate(np.array([[1,0,1]], bool), np.array([[0.3,0.2,0.1]]), ks=(1,), betas=(0.5,));"
        "print(time.perf_counter()-t)"
    )
    first_call = float(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
    )

    from opauc_sim.metrics import evaluate, ndcg_at_k, opauc

    y_true, y_score = make_data(args.rows, args.items, args.pos)
    rows: list[tuple[str, float]] = []
    t_floor = median_time(lambda: y_score.sum() + y_true.sum(), args.repeats)
    rows.append(("read floor: y_score.sum() + y_true.sum()", t_floor))
    t_eval = median_time(lambda: evaluate(y_true, y_score, ks=ks, betas=betas), args.repeats)
    rows.append(("opauc_sim evaluate (4 K x 3 metrics, AUC, 3 beta)", t_eval))
    t_opauc = median_time(lambda: opauc(y_true, y_score, 0.1), args.repeats)
    rows.append(("opauc_sim opauc(beta=0.1)", t_opauc))
    t_ndcg = median_time(lambda: ndcg_at_k(y_true, y_score, 10), args.repeats)
    rows.append(("opauc_sim ndcg_at_k(k=10)", t_ndcg))
    t_np = median_time(lambda: numpy_argsort_metrics(y_true, y_score, ks, betas), args.repeats)
    rows.append(("numpy argsort, same metrics as evaluate", t_np))

    # Cross-check: the peers and opauc_sim must agree before their times mean anything.
    df = evaluate(y_true, y_score, ks=ks, betas=betas)
    ref = numpy_argsort_metrics(y_true, y_score, ks, betas)
    worst = max(float(np.max(np.abs(df[c].to_numpy() - ref[c]))) for c in ref)

    t_skl_auc = t_skl_ndcg = None
    try:
        from sklearn.metrics import ndcg_score, roc_auc_score

        sub = slice(0, min(args.sklearn_rows, args.rows))
        scale = args.rows / (sub.stop - sub.start)
        yt, ys = y_true[sub], y_score[sub]
        t_skl_auc = scale * median_time(
            lambda: [roc_auc_score(a, b, max_fpr=0.1) for a, b in zip(yt, ys, strict=True)],
            max(3, args.repeats // 2),
        )
        rows.append(("sklearn roc_auc_score(max_fpr=0.1), per row, scaled", t_skl_auc))
        t_skl_ndcg = scale * median_time(
            lambda: [ndcg_score(a[None], b[None], k=10) for a, b in zip(yt, ys, strict=True)],
            max(3, args.repeats // 2),
        )
        rows.append(("sklearn ndcg_score(k=10), per row, scaled", t_skl_ndcg))
        t_skl_batch = median_time(lambda: ndcg_score(y_true, y_score, k=10), 3)
        rows.append(("sklearn ndcg_score(k=10), one batched call", t_skl_batch))
    except ImportError:
        print("scikit-learn not installed: its rows are skipped")

    t_ranx = None
    try:
        from ranx import Qrels, Run
        from ranx import evaluate as ranx_evaluate

        sub = slice(0, min(2000, args.rows))
        scale = args.rows / (sub.stop - sub.start)
        qrels = Qrels(
            {f"q{i}": {f"d{j}": 1 for j in np.flatnonzero(y_true[i])} for i in range(sub.stop)}
        )
        run_dict = {
            f"q{i}": {f"d{j}": float(y_score[i, j]) for j in range(args.items)}
            for i in range(sub.stop)
        }
        run = Run(run_dict)
        metrics_ranx = [f"{m}@{k}" for k in ks for m in ("recall", "precision", "ndcg")]

        def call_ranx():
            run.sorted = False  # make ranx sort again, as it would on fresh input
            return ranx_evaluate(qrels, run, metrics_ranx, make_comparable=False)

        t_ranx = scale * median_time(call_ranx, max(3, args.repeats // 2))
        rows.append(("ranx evaluate (4 K x recall/precision/ndcg), sort incl., scaled", t_ranx))
    except ImportError:
        print("ranx not installed: its row is skipped")

    print(
        f"\n{args.rows} rows x {args.items} items, {args.pos} positives/row, float64 scores; "
        f"median of {args.repeats} runs; {os.cpu_count()} cores; "
        f"numba threads: {__import__('numba').get_num_threads()}"
    )
    print(f"first call in a fresh process (import + compile or cache load): {first_call:.2f} s")
    print(f"max |opauc_sim - numpy reference| over all columns: {worst:.2e}\n")
    width = max(len(name) for name, _ in rows)
    print(f"{'method':<{width}}  {'time (ms)':>10}  {'x read floor':>12}  {'x opauc_sim':>11}")
    for name, t in rows:
        ours = t_opauc if "roc_auc" in name else t_ndcg if "ndcg_score" in name else t_eval
        print(f"{name:<{width}}  {1e3 * t:>10.1f}  {t / t_floor:>12.2f}  {t / ours:>11.1f}")
    print("\nTargets:")
    if t_skl_auc:
        print(
            f"  opauc vs sklearn per-row loop: {t_skl_auc / t_opauc:.0f}x faster (target >= 300x)"
        )
    print(f"  evaluate vs read floor: {t_eval / t_floor:.2f}x (target <= 4x)")
    if t_ranx:
        print(
            f"  evaluate vs ranx (same Top-K metrics): {t_ranx / t_eval:.1f}x faster (target > 1x)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
