"""Full-ranking evaluation of a score matrix: :func:`opauc_sim.metrics.evaluate_scorer`
with the per-user OPAUC columns of training.

No torch here: the trainer hands over a NumPy score matrix.

OPAUC at a per-user level
-------------------------
The paper ties Top-K to OPAUC at ``beta = K / n_neg``, and ``n_neg`` differs by user
(every user has their own training and held-out items removed). ``evaluate``'s
``opauc_ks`` computes exactly that, per row, in the same pass as the other metrics: the
raw area in a column ``opauc@K/n_neg`` (a user with fewer than K negatives gets beta = 1,
the AUC). This module adds ``opauc_norm@K/n_neg``, the area divided by its level
``min(K / n_neg, 1)``, in [0, 1], which is the one to average across users.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from opauc_sim._definitions import opauc_k_column as opauc_column
from opauc_sim._definitions import opauc_norm_column, ranking_columns

__all__ = ["evaluate_ranking", "mean_metrics", "opauc_column", "opauc_norm_column"]


def evaluate_ranking(
    y_true,
    y_score,
    *,
    exclude=None,
    ks: Sequence[int] = (5, 20, 50),
    users: np.ndarray | None = None,
    chunk_rows: int | None = None,
    auc: bool = True,
) -> pd.DataFrame:
    """Per-user full-ranking metrics, with OPAUC at ``beta = K / n_neg`` per user.

    Parameters
    ----------
    y_true : sparse or dense bool matrix, shape (n_users, n_items)
        Held-out items (validation or test).
    y_score : ndarray or callable
        The score matrix of shape (n_users, n_items), or a callable ``f(rows) -> scores``
        returning the rows' scores (so large matrices can be scored chunk by chunk).
    exclude : sparse or dense bool matrix, optional
        Items masked before ranking (the training items).
    ks : sequence of int, default (5, 20, 50)
        Cut-offs for Recall/Precision/NDCG@K and for OPAUC(K / n_neg).
    users : int array, optional
        Rows to evaluate; default all rows with at least one item of ``y_true`` left
        after ``exclude`` (the paper averages over users with test items).
    chunk_rows : int, optional
        Rows per call to ``evaluate``; default so that a chunk holds about 2e7 scores.
        Results do not depend on it.
    auc : bool, default True
        Include the ``auc`` column (see :func:`opauc_sim.metrics.evaluate`: without it a
        row's pass stops early, about twice as fast on full rankings).

    Returns
    -------
    pandas.DataFrame
        One row per evaluated user: ``evaluate``'s columns (``recall@K``,
        ``precision@K``, ``ndcg@K``, ``auc``), then ``opauc@K/n_neg`` (raw area, in
        ``[0, K/n_neg]``) and ``opauc_norm@K/n_neg`` (divided by ``K/n_neg``, in
        ``[0, 1]``), ``n_pos``, ``n_neg`` and ``user``.

    Notes
    -----
    One call of ``metrics.evaluate_scorer(..., opauc_ks=ks)`` computes everything (users
    scored in chunks, float32 scores ranked as they are). Ties follow ``evaluate``:
    expected Top-K over random order within ties, ROC diagonals for AUC/OPAUC.
    """
    from opauc_sim.metrics import evaluate_scorer

    shape = y_score.shape if not callable(y_score) else tuple(y_true.shape)
    y_true = sp.csr_matrix(y_true, dtype=bool)
    if y_true.shape != tuple(shape):
        raise ValueError(f"y_true's shape {y_true.shape} does not match y_score's {shape}")
    if exclude is not None:
        exclude = sp.csr_matrix(exclude, dtype=bool)
    if users is None:
        kept = y_true.astype(np.int8)
        if exclude is not None:
            kept = kept - y_true.multiply(exclude).astype(np.int8)
        kept = sp.csr_matrix(kept)
        kept.eliminate_zeros()
        users = np.flatnonzero(np.diff(kept.indptr) > 0)
    scorer = y_score if callable(y_score) else (lambda rows: y_score[rows])
    ks = tuple(ks)
    df = evaluate_scorer(
        scorer, users, y_true, exclude=exclude, ks=ks, betas=(), opauc_ks=ks, auc=auc,
        chunk=chunk_rows,
    )  # fmt: skip
    n_neg = df["n_neg"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in ks:
            df[opauc_norm_column(k)] = df[opauc_column(k)] / np.minimum(k / n_neg, 1.0)
    df = df[[*ranking_columns(ks, auc=auc), "n_pos", "n_neg"]].reset_index()
    return df[[c for c in df.columns if c != "user"] + ["user"]]


def mean_metrics(per_user: pd.DataFrame) -> dict[str, float]:
    """Average each metric column over the evaluated users (NaN rows skipped)."""
    skip = {"user", "n_pos", "n_neg"}
    return {c: float(np.nanmean(per_user[c])) for c in per_user.columns if c not in skip}
