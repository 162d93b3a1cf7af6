"""Does DNS(M, all) reach its own objective? Training OPAUC(m/n-), and the Theorem 3 link.

    .venv/bin/python studies/guideline_diagnose.py train ml-1m dns:5:0.001 dns:200:0.01 \\
        --epochs 10 30 100 200 --m 5 200
    .venv/bin/python studies/guideline_diagnose.py train gowalla dns:5:0.001 --selected
    .venv/bin/python studies/guideline_diagnose.py rows results/guideline_gowalla.csv

DNS(M, all) is BPR under the worst-case distribution over the M hardest negatives, the
CVaR form of OPAUC(M/n-) (Theorem 1 with N = n-). A diagnostic of the guideline study
(docs/guideline-test.md, Results; post hoc, not part of the pre-registered rule).

``train``: each configuration ``sampler:M:weight_decay`` is trained with the study's
protocol (user batches of 4096, Adam lr 1e-3, dim 32, split seed 0, model seed 0) for E
epochs without validation (the last epoch is kept: a seeded run's epoch E is the same model
in a longer run), or with ``--selected`` as the study selects for K = 5 (validation NDCG@5
every 10 epochs, patience 5, up to E epochs), then scored on its **training** positives
against every non-training item, the candidates of DNS(M, all) in the main arm: the mean
over users of ``OPAUC(m / n_u-) / (m / n_u-)`` (``opauc(..., normalize="max")``), with the
test NDCG@5 and test OPAUC(5/n-) of the same model.

``rows``: from a study's committed rows (one arm at the chosen weight decays), per K, the M
with the highest seed-mean test OPAUC(K/n-) and the Spearman correlation over M of the
seed means of test OPAUC(K/n-) and test NDCG@K (Theorem 3 ties the two).
"""

from __future__ import annotations

import argparse

import numpy as np
import scipy.sparse as sp

from opauc_sim.metrics import opauc


def train_opauc(train: sp.csr_matrix, U: np.ndarray, V: np.ndarray, m: int) -> float:
    """Mean over users with a training positive and a negative of OPAUC(m/n_u-)/(m/n_u-),
    training positives against every other item (scored in blocks of 1,000 users)."""
    train = train.tocsr()
    n_items = V.shape[0]
    vals = []
    for lo in range(0, U.shape[0], 1000):
        scores = U[lo : lo + 1000].astype(np.float64) @ V.T.astype(np.float64)
        for j in range(scores.shape[0]):
            pos = train.indices[train.indptr[lo + j] : train.indptr[lo + j + 1]]
            if len(pos) == 0 or len(pos) == n_items:
                continue
            y = np.zeros(n_items, dtype=bool)
            y[pos] = True
            beta = min(1.0, m / (n_items - len(pos)))
            vals.append(opauc(y, scores[j], beta=beta, normalize="max"))
    return float(np.mean(vals))


def theorem3_link(df, *, oracle: bool = False):
    """Per K: the M of the highest seed-mean test OPAUC(K/n-), and the Spearman correlation
    over M of the seed means of test OPAUC(K/n-) and test NDCG@K."""
    import pandas as pd
    from scipy import stats

    from opauc_sim.train import guideline as G

    rows = G.arm_rows(df, oracle)
    dns = rows[rows["sampler"] == "dns"]
    out = []
    for k in G.study_ks(df):
        op = dns.groupby("M")[f"test_opauc@{k}/n_neg"].mean()
        nd = dns.groupby("M")[f"test_ndcg@{k}"].mean()
        out.append({"K": k, "argmax M of OPAUC": int(op.idxmax()),
                    "spearman": float(stats.spearmanr(op, nd)[0])})  # fmt: skip
    return pd.DataFrame(out)


def _train(args) -> None:
    from opauc_sim.train import TrainConfig, train
    from opauc_sim.train.data import load_split

    split = load_split(args.dataset, seed=0, valid_frac=0.1)
    for spec in args.configs:
        sampler, m_text, wd_text = spec.split(":")
        for epochs in args.epochs:
            select = {"eval_every": 10, "patience": 5} if args.selected else {"eval_every": 0}
            cfg = TrainConfig(
                sampler=sampler, M=int(m_text), N="all" if sampler == "dns" else 1,
                weight_decay=float(wd_text), epochs=epochs, ks=(5, 20, 100), select_metric="ndcg@5",
                batching="user", batch_size=4096, lr=1e-3, dim=32, seed=0, **select,
            )  # fmt: skip
            r = train(split, cfg, device="cpu", backend="numba", threads=1, keep_embeddings=True)
            own = " ".join(
                f"({m}/n-) {train_opauc(split.train, r.user_embedding, r.item_embedding, m):.4f}"
                for m in args.m
            )
            print(
                f"{args.dataset} {spec} epoch {r.best_epoch if args.selected else epochs}: "
                f"train OPAUC_max {own}; test NDCG@5 {r.test['ndcg@5']:.4f}, "
                f"test OPAUC_max(5/n-) {r.test['opauc_norm@5/n_neg']:.4f}",
                flush=True,
            )


def main() -> None:
    from opauc_sim.train.sweep_files import read_rows

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="what", required=True)
    t = sub.add_parser("train", help="training OPAUC(m/n-) of trained models")
    t.add_argument("dataset")
    t.add_argument("configs", nargs="+", metavar="SAMPLER:M:WD", help="e.g. dns:5:0.001")
    t.add_argument("--epochs", nargs="+", type=int, default=[10, 30, 100, 200])
    t.add_argument("--m", nargs="+", type=int, default=[5, 200])
    t.add_argument("--selected", action="store_true", help="select on NDCG@5 as the study")
    r = sub.add_parser("rows", help="the Theorem 3 link in a study's committed rows")
    r.add_argument("csv")
    r.add_argument("--oracle", action="store_true")
    args = ap.parse_args()
    if args.what == "train":
        _train(args)
    else:
        link = theorem3_link(read_rows(args.csv, option="csv"), oracle=args.oracle)
        print(link.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
