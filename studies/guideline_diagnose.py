"""Does DNS(M, all) reach its own objective? Training OPAUC(m/n-) after E epochs.

    .venv/bin/python studies/guideline_diagnose.py ml-1m dns:5:0.001 dns:200:0.01 \\
        --epochs 10 30 100 200 --m 5 200

DNS(M, all) is BPR under the worst-case distribution over the M hardest negatives, the
CVaR form of OPAUC(M/n-) (Theorem 1 with N = n-). A diagnostic of the guideline study
(docs/guideline-test.md, Results; post hoc, not part of the pre-registered rule): each
configuration ``sampler:M:weight_decay`` is trained with the study's protocol (user batches
of 4096, Adam lr 1e-3, dim 32, split seed 0, model seed 0) for E epochs without
validation (the last epoch is kept: a seeded run's epoch E is the same model in a longer
run), then scored on its **training** positives against every non-training item, the
candidates of DNS(M, all) in the main arm: the mean over users of
``OPAUC(m / n_u-) / (m / n_u-)`` (``opauc(..., normalize="max")``), with the test NDCG@5
and test OPAUC(5/n-) of the same model for comparison.
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


def main() -> None:
    from opauc_sim.train import TrainConfig, train
    from opauc_sim.train.data import load_split

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset")
    ap.add_argument(
        "configs", nargs="+", metavar="SAMPLER:M:WD", help="e.g. dns:5:0.001 rns:1:0.01"
    )
    ap.add_argument("--epochs", nargs="+", type=int, default=[10, 30, 100, 200])
    ap.add_argument("--m", nargs="+", type=int, default=[5, 200])
    args = ap.parse_args()
    split = load_split(args.dataset, seed=0, valid_frac=0.1)
    for spec in args.configs:
        sampler, m_text, wd_text = spec.split(":")
        for epochs in args.epochs:
            cfg = TrainConfig(
                sampler=sampler, M=int(m_text), N="all" if sampler == "dns" else 1,
                weight_decay=float(wd_text), epochs=epochs, eval_every=0, ks=(5,),
                select_metric="ndcg@5", batching="user", batch_size=4096, lr=1e-3, dim=32,
                seed=0,
            )  # fmt: skip
            r = train(split, cfg, device="cpu", backend="numba", threads=1, keep_embeddings=True)
            own = " ".join(
                f"({m}/n-) {train_opauc(split.train, r.user_embedding, r.item_embedding, m):.4f}"
                for m in args.m
            )
            print(
                f"{args.dataset} {spec} epoch {epochs}: train OPAUC_max {own}; test NDCG@5 "
                f"{r.test['ndcg@5']:.4f}, test OPAUC_max(5/n-) {r.test['opauc_norm@5/n_neg']:.4f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
