"""Full-ranking evaluation of a score matrix, through :func:`opauc_sim.metrics.evaluate`.

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


def _bool_csr(matrix, shape: tuple[int, int]) -> sp.csr_matrix:
    out = sp.csr_matrix(matrix, dtype=bool)
    if out.shape != shape:
        raise ValueError(f"matrix shape {out.shape} does not match y_score {shape}")
    out.eliminate_zeros()
    return out


def _evaluate_chunk(scores, y_true, exclude, ks, evaluate, auc=True) -> pd.DataFrame:
    df = evaluate(
        y_true, scores, ks=ks, betas=(), opauc_ks=ks, exclude=exclude, auc=auc, keep_float32=True
    )
    n_neg = df["n_neg"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in ks:
            df[opauc_norm_column(k)] = df[opauc_column(k)] / np.minimum(k / n_neg, 1.0)
    return df[[*ranking_columns(ks, auc=auc), "n_pos", "n_neg"]]


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
    One call of ``metrics.evaluate(..., opauc_ks=ks)`` per chunk computes everything. Ties
    follow ``evaluate``: expected Top-K over random order within ties, ROC diagonals for
    AUC/OPAUC.
    """
    from opauc_sim.metrics import evaluate

    n_users, n_items = (
        y_score.shape if not callable(y_score) else (y_true.shape[0], y_true.shape[1])
    )
    shape = (n_users, n_items)
    y_true = _bool_csr(y_true, shape)
    exclude = _bool_csr(exclude, shape) if exclude is not None else sp.csr_matrix(shape, dtype=bool)
    if users is None:
        kept = y_true.astype(np.int8) - y_true.multiply(exclude).astype(np.int8)
        users = np.flatnonzero(np.diff(sp.csr_matrix(kept).indptr) > 0)
    users = np.asarray(users, dtype=np.int64)
    if chunk_rows is None:
        chunk_rows = max(1, int(2e7 // max(n_items, 1)))
    parts = []
    for start in range(0, len(users), chunk_rows):
        rows = users[start : start + chunk_rows]
        scores = y_score(rows) if callable(y_score) else y_score[rows]
        scores = np.asarray(scores)
        if scores.dtype not in (np.float32, np.float64):
            scores = scores.astype(np.float64)
        scores = np.ascontiguousarray(scores)  # float32 is ranked as is: no copy, same ties
        part = _evaluate_chunk(scores, y_true[rows], exclude[rows], tuple(ks), evaluate, auc)
        part["user"] = rows
        parts.append(part)
    if not parts:
        return pd.DataFrame()
    return pd.concat(parts, ignore_index=True)


def mean_metrics(per_user: pd.DataFrame) -> dict[str, float]:
    """Average each metric column over the evaluated users (NaN rows skipped)."""
    skip = {"user", "n_pos", "n_neg"}
    return {c: float(np.nanmean(per_user[c])) for c in per_user.columns if c not in skip}
