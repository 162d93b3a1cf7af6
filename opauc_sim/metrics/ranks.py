"""Rank-level metrics (:mod:`opauc_sim.metrics.ranks`): tie-free rankings in compact form.

For many K and many beta at once. These functions take ranks, not scores, so they live in
their own namespace: ``ranks.recall_at_k(pos_ranks, n_neg, ks)`` and
``metrics.recall_at_k(y_true, y_score, k)`` are two functions, each name one signature.
(``opauc_sim.rank_metrics``, their former home, still works with a DeprecationWarning.)

A tie-free ranking of ``n = n_pos + n_neg`` items is fully described by the sorted 0-based
ranks of its positives ``p_0 < ... < p_{n_pos-1}`` (docs/definitions.md §1). The functions here take
``pos_ranks`` of shape ``(n_pos,)`` (one ranking) or ``(n_rankings, n_pos)`` plus ``n_neg``,
and compute, without materialising any ranking:

=====================  ===============================================================
``hits_at_k``          number of positives at ranks ``< K``
``recall_at_k``        ``hits@K / n_pos`` (no ``min(K, n_pos)`` cap, docs/definitions.md §2)
``precision_at_k``     ``hits@K / K``
``dcg_at_k``           ``sum_{positives at rank r < K} 1 / log2(r + 2)``
``ndcg_at_k``          ``DCG@K / IDCG@K``, ``IDCG@K = sum_{r < min(K, n_pos)} 1/log2(r + 2)``
``pair_count``         ``C(beta) = sum_i max(0, beta * n_neg - a_i)``, ``a_i = p_i - i``
``opauc``              ``C(beta) / (n_pos * n_neg)``: the raw one-way partial AUC on [0, beta]
``auc``                ``opauc`` at ``beta = 1``
``evaluate``           all of the above in one pass, as a DataFrame like ``metrics.evaluate``
=====================  ===============================================================

Each ranking costs ``O(n_pos + len(ks) + len(betas))``: the ``K`` and ``beta`` grids are
sorted once and merged with the positives, whose negatives-above counts ``a_i = p_i - i``
are non-decreasing. ``beta * n_neg`` may be fractional: ``C`` is exact for any real
``m = beta * n_neg`` (the ROC curve of a tie-free ranking is a staircase, cut at FPR = beta).

The ``_``-prefixed Numba kernels trust their input (sorted grids, valid ranks) and are also
used by :mod:`opauc_sim.correlation` for the streaming sufficient statistics.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numba import njit, prange

from opauc_sim._definitions import (
    AUC_COLUMN,
    DEFAULT_BETAS,
    DEFAULT_KS,
    DEFAULT_TOPK,
    NORMALIZATIONS,
    beta_column,
    discounts,
    ideal_dcg,
    normalize_area,
    topk_column,
)
from opauc_sim._validation import (
    check_betas,
    check_choice,
    check_int,
    check_ks,
    warn_undefined,
)
from opauc_sim.metrics._docs import template

__all__ = [
    "auc",
    "dcg_at_k",
    "evaluate",
    "hits_at_k",
    "ndcg_at_k",
    "opauc",
    "pair_count",
    "precision_at_k",
    "recall_at_k",
]

# ---------------------------------------------------------------------------------------
# Kernels (no validation): ks ascending, ms = betas * n_neg ascending, disc[r] = 1/log2(r+2)
# ---------------------------------------------------------------------------------------


@njit(cache=True)
def _row_topk(p, ks, disc, hits, dcg):
    """hits@K and DCG@K of one ranking for every K of the ascending grid ``ks``."""
    n_pos = p.shape[0]
    i = 0
    acc = 0.0
    for j in range(ks.shape[0]):
        k = ks[j]
        while i < n_pos and p[i] < k:
            acc += disc[p[i]]
            i += 1
        hits[j] = i
        dcg[j] = acc


@njit(cache=True)
def _row_pairs(p, ms, out):
    """C(m) = sum_i max(0, m - a_i) for every m of the ascending grid ``ms``."""
    n_pos = p.shape[0]
    i = 0
    total = 0.0  # sum of a_i over positives with a_i < m: integers, exact below 2**53
    for j in range(ms.shape[0]):
        m = ms[j]
        while i < n_pos and p[i] - i < m:
            total += p[i] - i
            i += 1
        out[j] = i * m - total


@njit(cache=True, parallel=True)
def _topk_batch(pos_ranks, ks, disc, hits, dcg):
    for r in prange(pos_ranks.shape[0]):
        _row_topk(pos_ranks[r], ks, disc, hits[r], dcg[r])


@njit(cache=True)
def _topk_serial(pos_ranks, ks, disc, hits, dcg):
    for r in range(pos_ranks.shape[0]):
        _row_topk(pos_ranks[r], ks, disc, hits[r], dcg[r])


@njit(cache=True, parallel=True)
def _pairs_batch(pos_ranks, ms, out):
    for r in prange(pos_ranks.shape[0]):
        _row_pairs(pos_ranks[r], ms, out[r])


@njit(cache=True)
def _pairs_serial(pos_ranks, ms, out):
    for r in range(pos_ranks.shape[0]):
        _row_pairs(pos_ranks[r], ms, out[r])


# Below this many rank entries a parallel launch costs more than it saves.
_PARALLEL_MIN = 50_000


# ---------------------------------------------------------------------------------------
# Validation and helpers
# ---------------------------------------------------------------------------------------


def _check_pos_ranks(pos_ranks: object, n_neg: object) -> tuple[np.ndarray, int, bool]:
    """Return (2-D int64 C-contiguous ranks, n_neg, was_1d); raise on malformed input."""
    n_neg = check_int("n_neg", n_neg, low=0)
    arr = np.asarray(pos_ranks)
    if arr.dtype == np.bool_ or not (
        np.issubdtype(arr.dtype, np.integer) or (arr.size == 0 and arr.dtype == np.float64)
    ):
        raise TypeError(f"pos_ranks must be an integer array, got dtype {arr.dtype}")
    if arr.ndim not in (1, 2):
        raise ValueError(f"pos_ranks must be 1-D or 2-D, got shape {arr.shape}")
    was_1d = arr.ndim == 1
    arr = np.ascontiguousarray(np.atleast_2d(arr), dtype=np.int64)
    n = arr.shape[1] + n_neg
    if arr.size:
        bad = (arr < 0) | (arr >= n)
        if bad.any():
            value = arr[bad][0]
            raise ValueError(f"pos_ranks must lie in [0, n_pos + n_neg) = [0, {n}), got {value}")
        steps = np.diff(arr, axis=1)
        if (steps <= 0).any():
            row = int(np.nonzero((steps <= 0).any(axis=1))[0][0])
            raise ValueError(
                f"pos_ranks rows must be strictly increasing, row {row} is {arr[row].tolist()}"
            )
    return arr, n_neg, was_1d


def _grid(name: str, values: object, n: int) -> tuple[np.ndarray, bool]:
    """A grid of ``ks`` (in ``[1, n]``) or ``betas``, any order, repeats allowed, and
    whether it was given as a scalar."""
    scalar = np.ndim(values) == 0 and not isinstance(values, str | bytes)
    if name == "ks":
        grid = check_ks(name, values, high=max(n, 1), distinct=False)
    else:
        grid = check_betas(name, values, distinct=False)
    return np.asarray(grid), scalar


def _topk(arr: np.ndarray, ks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """hits and DCG, columns in the caller's K order."""
    order = np.argsort(ks, kind="stable")
    ks_sorted = np.ascontiguousarray(ks[order], dtype=np.int64)
    hits = np.empty((arr.shape[0], len(ks)), dtype=np.float64)
    dcg = np.empty_like(hits)
    run = _topk_batch if arr.size >= _PARALLEL_MIN else _topk_serial
    run(arr, ks_sorted, discounts(int(ks_sorted[-1])), hits, dcg)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return hits[:, inverse], dcg[:, inverse]


def _pairs(arr: np.ndarray, n_neg: int, betas: np.ndarray) -> np.ndarray:
    order = np.argsort(betas, kind="stable")
    ms = np.ascontiguousarray(betas[order] * n_neg, dtype=np.float64)
    out = np.empty((arr.shape[0], len(betas)), dtype=np.float64)
    (_pairs_batch if arr.size >= _PARALLEL_MIN else _pairs_serial)(arr, ms, out)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return out[:, inverse]


def _per_ranking(metric: str, pos_ranks, n_neg, grid, normalize=None):
    """The body of every public metric but :func:`evaluate`: check the rankings and the
    grid (``betas`` for ``pair_count`` and ``opauc``, else ``ks``), compute one column per
    grid value (NaN, with one ``UndefinedMetricWarning``, where the metric is undefined),
    and shape the result as the input."""
    arr, n_neg, was_1d = _check_pos_ranks(pos_ranks, n_neg)
    n_pos = arr.shape[1]
    on_betas = metric in ("pair_count", "opauc")
    values, scalar = _grid("betas" if on_betas else "ks", grid, n_pos + n_neg)
    if n_pos == 0 and metric in ("recall", "ndcg", "opauc"):
        warn_undefined(arr.shape[0], arr.shape[0], "no positives")
        out = np.full((arr.shape[0], len(values)), np.nan)
    elif n_neg == 0 and metric == "opauc":
        warn_undefined(arr.shape[0], arr.shape[0], "no negatives")
        out = np.full((arr.shape[0], len(values)), np.nan)
    elif on_betas:
        out = _pairs(arr, n_neg, values)
        if metric == "opauc":
            out = normalize_area(out / (n_pos * n_neg), values, normalize)
    elif metric in ("dcg", "ndcg"):
        out = _topk(arr, values)[1]
        if metric == "ndcg":
            out = out / ideal_dcg(n_pos, values)
    else:
        out = _topk(arr, values)[0]
        if metric != "hits":
            out = out / (n_pos if metric == "recall" else values)
    if scalar:
        out = out[:, 0]
    if was_1d:
        return float(out[0]) if scalar else out[0]
    return out


# ---------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------

_DOC = {
    "ranks": """
    pos_ranks : array-like of int, shape (n_pos,) or (n_rankings, n_pos)
        Sorted, strictly increasing 0-based ranks of the positives (0 = top), in
        ``[0, n_pos + n_neg)``.
    n_neg : int
        Number of negatives per ranking, >= 0.""",
    "ks": """
    ks : int or sequence of int
        Cut-offs, each in ``[1, n_pos + n_neg]``; any order, repeats allowed.""",
    "betas": """
    betas : float or sequence of float
        FPR levels in ``(0, 1]``; any order, repeats allowed.""",
    "per_k": """float or numpy.ndarray of float64
        Shape ``pos_ranks.shape[:-1] + (len(ks),)``; the last axis is dropped when ``ks``
        is a scalar (a 1-D ``pos_ranks`` with scalar ``ks`` gives a float).""",
    "per_beta": """float or numpy.ndarray of float64
        Shape ``pos_ranks.shape[:-1] + (len(betas),)``; the last axis is dropped for a
        scalar ``betas``.""",
    "raises": """TypeError, ValueError
        Non-integer ranks, ranks out of range or not strictly increasing, a bad grid.""",
}


_fill = template(_DOC)


@_fill
def hits_at_k(pos_ranks, n_neg, ks):
    """Number of positives in the top K, ``hits@K = #{{i : p_i < K}}``, for every K of ``ks``.

    Parameters
    ----------{ranks}{ks}

    Returns
    -------
    {per_k}

    Raises
    ------
    {raises}

    Examples
    --------
    >>> hits_at_k([0, 3, 4], 5, [1, 4, 8])
    array([1., 2., 3.])
    """
    return _per_ranking("hits", pos_ranks, n_neg, ks)


@_fill
def recall_at_k(pos_ranks, n_neg, ks):
    """Recall@K = hits@K / n_pos (no ``min(K, n_pos)`` cap, docs/definitions.md §2).

    Parameters
    ----------{ranks}{ks}

    Returns
    -------
    {per_k}
        NaN (with an ``UndefinedMetricWarning``) when ``n_pos = 0``.

    Examples
    --------
    >>> recall_at_k([0, 3, 4], 5, 4)
    0.6666666666666666
    """
    return _per_ranking("recall", pos_ranks, n_neg, ks)


@_fill
def precision_at_k(pos_ranks, n_neg, ks):
    """Precision@K = hits@K / K.

    Parameters
    ----------{ranks}{ks}

    Returns
    -------
    {per_k}

    Examples
    --------
    >>> precision_at_k([0, 3, 4], 5, 4)
    0.5
    """
    return _per_ranking("precision", pos_ranks, n_neg, ks)


@_fill
def dcg_at_k(pos_ranks, n_neg, ks):
    """DCG@K = sum over positives at rank r < K of 1 / log2(r + 2) (binary gains).

    Parameters
    ----------{ranks}{ks}

    Returns
    -------
    {per_k}

    Examples
    --------
    >>> dcg_at_k([0, 2], 3, 3)
    1.5
    """
    return _per_ranking("dcg", pos_ranks, n_neg, ks)


@_fill
def ndcg_at_k(pos_ranks, n_neg, ks):
    """NDCG@K = DCG@K / IDCG@K with IDCG@K = sum_{{r < min(K, n_pos)}} 1 / log2(r + 2).

    Parameters
    ----------{ranks}{ks}

    Returns
    -------
    {per_k}
        NaN (with an ``UndefinedMetricWarning``) when ``n_pos = 0``.

    Examples
    --------
    >>> ndcg_at_k([0, 2], 3, 3)
    0.9197207891481876
    """
    return _per_ranking("ndcg", pos_ranks, n_neg, ks)


@_fill
def pair_count(pos_ranks, n_neg, betas):
    """C(beta) = sum_i max(0, beta * n_neg - a_i), a_i = p_i - i = negatives above positive i.

    For integer ``m = beta * n_neg`` this counts the (positive, top-m negative) pairs that
    are correctly ordered; for fractional ``m`` the m-th negative counts fractionally.
    ``C(beta) / (n_pos * n_neg)`` is the raw OPAUC.

    Parameters
    ----------{ranks}{betas}

    Returns
    -------
    {per_beta}

    Examples
    --------
    >>> pair_count([0, 3, 4], 5, [0.2, 0.5, 1.0])
    array([ 1. ,  3.5, 11. ])
    """
    return _per_ranking("pair_count", pos_ranks, n_neg, betas)


@_fill
def opauc(pos_ranks, n_neg, betas, *, normalize=None):
    """One-way partial AUC: the ROC area for FPR in [0, beta], for every beta of ``betas``.

    Raw value ``OPAUC(beta) = C(beta) / (n_pos * n_neg)`` in ``[0, beta]`` (see
    :func:`pair_count`), exact for fractional ``beta * n_neg``.

    Parameters
    ----------{ranks}{betas}
    normalize : {{None, "max", "mcclish"}}, default None
        None: the raw area. "max": ``OPAUC / beta`` in [0, 1]. "mcclish":
        ``(1 + (A - beta^2/2) / (beta - beta^2/2)) / 2``, the McClish (1989) standardisation
        used by the paper's Norm_OPAUC and by ``roc_auc_score(max_fpr=beta)``. Each is affine
        in the raw area for fixed beta, so correlations do not depend on the choice.

    Returns
    -------
    {per_beta}
        NaN (with an ``UndefinedMetricWarning``) when ``n_pos = 0`` or ``n_neg = 0``.

    References
    ----------
    .. [1] D. K. McClish, "Analyzing a portion of the ROC curve", Medical Decision Making
       9(3), 1989.

    Examples
    --------
    >>> opauc([0, 3, 4], 5, [0.2, 1.0])
    array([0.06666667, 0.73333333])
    """
    check_choice("normalize", normalize, NORMALIZATIONS)
    return _per_ranking("opauc", pos_ranks, n_neg, betas, normalize)


@_fill
def auc(pos_ranks, n_neg):
    """AUC: the fraction of (positive, negative) pairs with the positive ranked higher.

    ``AUC = OPAUC(1) = sum_i (n_neg - a_i) / (n_pos * n_neg)``.

    Parameters
    ----------{ranks}

    Returns
    -------
    float or numpy.ndarray of float64
        One value per ranking. NaN (with an ``UndefinedMetricWarning``) when ``n_pos = 0``
        or ``n_neg = 0``.

    Examples
    --------
    >>> auc([0, 3, 4], 5)
    0.7333333333333333
    """
    return opauc(pos_ranks, n_neg, 1.0)


@_fill
def evaluate(pos_ranks, n_neg, *, ks=DEFAULT_KS, betas=DEFAULT_BETAS) -> pd.DataFrame:
    """Every metric for every ranking, with the column names of ``metrics.evaluate``.

    Parameters
    ----------{ranks}
    ks : sequence of int, default (5, 10, 20, 50)
        Cut-offs in ``[1, n_pos + n_neg]``, distinct.
    betas : sequence of float, default (0.01, 0.05, 0.1)
        OPAUC levels in ``(0, 1]``, distinct at 6 significant digits.

    Returns
    -------
    pandas.DataFrame
        One row per ranking; columns ``recall@K``, ``precision@K``, ``ndcg@K`` for each K,
        ``auc``, ``opauc@{{beta:g}}`` (raw OPAUC) for each beta, and ``n_pos``, ``n_neg``: the
        columns of ``metrics.evaluate`` on the same rankings.

    Examples
    --------
    >>> df = evaluate([[0, 3, 4]], 5, ks=[4], betas=[0.2])
    >>> df.drop(columns=["n_pos", "n_neg"]).round(3).to_dict("records")
    [{{'recall@4': 0.667, 'precision@4': 0.5, 'ndcg@4': 0.671, 'auc': 0.733, 'opauc@0.2': 0.067}}]
    """
    arr, n_neg, _ = _check_pos_ranks(pos_ranks, n_neg)
    ks = np.asarray(check_ks("ks", ks, high=max(arr.shape[1] + n_neg, 1)))
    betas = np.asarray(check_betas("betas", betas))
    n_pos = arr.shape[1]
    if n_pos == 0 or n_neg == 0:
        warn_undefined(arr.shape[0], arr.shape[0], "no positives" if n_pos == 0 else "no negatives")
    hits, dcg = _topk(arr, ks)
    pairs = _pairs(arr, n_neg, np.concatenate((betas, [1.0])))
    with np.errstate(invalid="ignore", divide="ignore"):  # NaN without positives
        topk = {"recall": hits / n_pos, "precision": hits / ks, "ndcg": dcg / ideal_dcg(n_pos, ks)}
    columns = {topk_column(m, k): topk[m][:, j] for j, k in enumerate(ks) for m in DEFAULT_TOPK}
    nan = np.full(arr.shape[0], np.nan)
    scale = n_pos * n_neg
    columns[AUC_COLUMN] = nan if scale == 0 else pairs[:, -1] / scale
    for j, beta in enumerate(betas):
        columns[beta_column(beta)] = nan if scale == 0 else pairs[:, j] / scale
    columns["n_pos"] = np.full(arr.shape[0], n_pos, dtype=np.int64)
    columns["n_neg"] = np.full(arr.shape[0], n_neg, dtype=np.int64)
    return pd.DataFrame(columns)
