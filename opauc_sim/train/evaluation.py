"""Full-ranking evaluation of a score matrix, through :func:`opauc_sim.metrics.evaluate`.

No torch here: the trainer hands over a NumPy score matrix.

OPAUC at a per-user level
-------------------------
The paper ties Top-K to OPAUC at ``beta = K / n_neg``, and ``n_neg`` differs by user
(every user has their own training and test items removed). ``evaluate`` takes fixed
betas, so each row is padded to a common number of negatives ``Nc`` with
``d_u = Nc - n_neg_u`` dummy negatives scored strictly below every real item, and
``evaluate`` is called once with ``beta = K / Nc``. The dummies sit at the bottom of the
ranking, so

- the top-K metrics are unchanged (no dummy ranks above a positive);
- the padded ROC curve is the user's own curve with its FPR axis shrunk by
  ``n_neg_u / Nc``, followed by a flat piece at TPR = 1; so, for ``K <= n_neg_u``,
  ``OPAUC_u(K / n_neg_u) = OPAUC_pad(K / Nc) * Nc / n_neg_u``, exactly, ties included;
- ``AUC_u = (Nc * AUC_pad - d_u) / n_neg_u``.

When a user has fewer than K negatives, ``K / n_neg_u > 1`` and the value reported is
OPAUC at beta = 1 (the AUC). The padded columns are all excluded or dummies, so the
``exclude`` given to ``evaluate`` is the training mask plus the unused padding.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from opauc_sim._validation import warn_undefined

__all__ = ["evaluate_ranking", "mean_metrics", "opauc_column", "opauc_norm_column"]


def opauc_column(k: int) -> str:
    """Name of the raw OPAUC(K / n_neg) column."""
    return f"opauc@{k}/n_neg"


def opauc_norm_column(k: int) -> str:
    """Name of the max-normalised OPAUC(K / n_neg) / (K / n_neg) column, in [0, 1]."""
    return f"opauc_norm@{k}/n_neg"


def _bool_csr(matrix, shape: tuple[int, int]) -> sp.csr_matrix:
    out = sp.csr_matrix(matrix, dtype=bool)
    if out.shape != shape:
        raise ValueError(f"matrix shape {out.shape} does not match y_score {shape}")
    out.eliminate_zeros()
    return out


def _evaluate_chunk(scores, y_true, exclude, ks, evaluate) -> pd.DataFrame:
    n_rows, n_items = scores.shape
    y_kept = _bool_csr(
        y_true.astype(np.int8) - y_true.multiply(exclude).astype(np.int8),
        (
            n_rows,
            n_items,
        ),
    )
    n_excl = np.diff(exclude.indptr)
    n_pos = np.diff(y_kept.indptr)
    n_neg = n_items - n_excl - n_pos
    n_common = int(n_neg.max()) if n_rows else 0
    n_dummy = n_common - n_neg
    width = int(n_dummy.max()) if n_rows else 0
    # evaluate checks every K against the number of columns: pad (excluded) up to max(ks).
    width = max(width, max(ks) - n_items, 0)
    if width:
        lowest = float(scores.min())
        low = lowest - 1.0 - abs(lowest)  # strictly below every real score
        scores = np.hstack([scores, np.full((n_rows, width), low)])
        y_pad = sp.hstack([y_true, sp.csr_matrix((n_rows, width), dtype=bool)], format="csr")
        # In the padding, columns [0, n_dummy_u) are dummies, the rest are excluded.
        cols = np.arange(width)
        pad_excl = sp.csr_matrix(cols[None, :] >= n_dummy[:, None])
        excl_pad = sp.hstack([exclude, pad_excl], format="csr")
    else:
        y_pad, excl_pad = y_true, exclude
    betas = tuple(min(k, n_common) / n_common for k in ks) if n_common else (1.0,) * len(ks)
    df = evaluate(y_pad, scores, ks=tuple(ks), betas=betas, exclude=excl_pad)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = (n_common * df["auc"].to_numpy() - n_dummy) / n_neg
        out = {}
        for k, beta in zip(ks, betas, strict=True):
            col = df[f"opauc@{beta:g}"].to_numpy()
            raw = np.where(k <= n_neg, col * n_common / n_neg, auc)
            out[opauc_column(k)] = raw
            out[opauc_norm_column(k)] = raw / np.minimum(k / n_neg, 1.0)
    keep = [c for c in df.columns if not c.startswith("opauc@")]
    result = df[keep].copy()
    result["auc"] = auc
    for name, values in out.items():
        result[name] = values
    result["n_pos"] = n_pos
    result["n_neg"] = n_neg
    return result


def evaluate_ranking(
    y_true,
    y_score,
    *,
    exclude=None,
    ks: Sequence[int] = (5, 20, 50),
    users: np.ndarray | None = None,
    chunk_rows: int | None = None,
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

    Returns
    -------
    pandas.DataFrame
        One row per evaluated user: ``evaluate``'s columns (``recall@K``,
        ``precision@K``, ``ndcg@K``, ``auc``), then ``opauc@K/n_neg`` (raw area, in
        ``[0, K/n_neg]``) and ``opauc_norm@K/n_neg`` (divided by ``K/n_neg``, in
        ``[0, 1]``), ``n_pos``, ``n_neg`` and ``user``.

    Notes
    -----
    See the module docstring for how a per-user beta goes through ``evaluate``'s fixed
    betas exactly. Ties follow ``evaluate``: expected Top-K over random order within ties,
    ROC diagonals for AUC/OPAUC.
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
        scores = np.ascontiguousarray(scores, dtype=np.float64)
        part = _evaluate_chunk(scores, y_true[rows], exclude[rows], tuple(ks), evaluate)
        part["user"] = rows
        parts.append(part)
    if not parts:
        return pd.DataFrame()
    out = pd.concat(parts, ignore_index=True)
    warn_undefined(int((out["n_neg"] == 0).sum()), len(out), "no negatives (AUC/OPAUC undefined)")
    return out


def mean_metrics(per_user: pd.DataFrame) -> dict[str, float]:
    """Average each metric column over the evaluated users (NaN rows skipped)."""
    skip = {"user", "n_pos", "n_neg"}
    return {c: float(np.nanmean(per_user[c])) for c in per_user.columns if c not in skip}
