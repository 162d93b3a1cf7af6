r"""Score-level ranking metrics with exact tie rules: Recall/Precision/NDCG@K, AUC, OPAUC(β).

Every function takes ``(y_true, y_score, ...)`` in scikit-learn's order. One row is one
ranking (a user's scores over the items); 1-D input is one row and gives a ``float``, 2-D
input ``(n_rows, n_items)`` gives one float64 value per row.

Definitions (binary relevance; ranks are 0-based from the top; ``hits@K`` is the number of
positives at ranks ``< K``):

.. math::

    \mathrm{Recall@K} = \frac{\mathrm{hits@K}}{n_+}, \qquad
    \mathrm{Precision@K} = \frac{\mathrm{hits@K}}{K}, \qquad
    \mathrm{NDCG@K} = \frac{\sum_{\text{positives at } r < K} 1/\log_2(r+2)}
                           {\sum_{r < \min(K, n_+)} 1/\log_2(r+2)}

``AUC`` is the fraction of (positive, negative) pairs ordered correctly, a tied pair
counting 1/2. ``OPAUC(β)`` is the area under the ROC curve for FPR in ``[0, β]``, a raw
value in ``[0, β]``; for a tie-free row with ``a_i`` negatives above positive ``i`` and
``m = β n_-`` (fractional allowed),

.. math::

    \mathrm{OPAUC}(\beta) = \frac{1}{n_+ n_-} \sum_i \max(0, m - a_i).

Ties
----
The two families treat tied scores differently, on purpose (SPEC §2):

* Top-K metrics take the **expectation over a uniformly random order inside each group of
  tied scores** (McSherry & Najork 2008). A tie group of ``g`` items holding ``g_+``
  positives that straddles the cut at ``K`` contributes ``g_+ * (#slots < K) / g`` hits.
  scikit-learn's ``ndcg_score(ignore_ties=False)`` computes the same NDCG.
* AUC and OPAUC take the **area under the ROC curve** drawn through the operating points at
  every distinct score threshold, as ``sklearn.metrics.roc_curve`` draws it: a tie group is
  a straight diagonal segment, and a cut at FPR = β inside it is linearly interpolated. For
  AUC this equals the 1/2-per-tied-pair rule. For a cut inside a tie group the diagonal is
  **not** the random-order expectation used by the Top-K metrics.

Undefined rows
--------------
A row with no positives has no Recall, NDCG, AUC or OPAUC; a row with no negatives has no
AUC or OPAUC. Such values are ``nan``, and each call emits one
:class:`~opauc_sim._validation.UndefinedMetricWarning` giving the count. Precision@K is
defined (0) for a row with no positives.

Implementation
--------------
Nothing is sorted in full. Per row, the positive scores are sorted and collapsed into
distinct-score groups, and the negatives are counted against those groups: with few groups
(at most 96), group by group from the top, one vectorised count of the negatives above and
tied per group, stopping as soon as every requested K and β is complete (so OPAUC at a
small β and Top-K at a small K touch only the top groups; AUC needs them all); with many
groups, each negative is placed once into a histogram over the groups by a bucket table.
One walk over the groups then yields hits and DCG at every K, AUC and OPAUC at every β.
The cost per row is ``O(n_+ log n_+ + n_- min(G, 96))`` for ``G`` distinct positive scores
when spread out (``O(n_- (G/16 + 16))`` at worst), far less with the early stop, and
:func:`evaluate` shares the work across all metrics. Rows run in parallel (Numba
``prange``). NaN scores and labels outside {0, 1} are detected inside the same pass and
turned into ``ValueError`` by the public functions. Sparse ``y_true``/``exclude`` are
densified once (one byte per entry for boolean input), so a call needs
``n_rows * n_items`` bytes per sparse argument on top of the scores; evaluate very large
matrices in chunks of rows.

References
----------
1. W. Shi et al., "On the Theories Behind Hard Negative Sampling for Recommendation",
   WWW 2023 (arXiv:2302.03472).
2. F. McSherry and M. Najork, "Computing Information Retrieval Performance Measures
   Efficiently in the Presence of Tied Scores", ECIR 2008.
3. D. K. McClish, "Analyzing a Portion of the ROC Curve", Medical Decision Making 9(3), 1989.
"""

from __future__ import annotations

import numba
import numpy as np
import pandas as pd
import scipy.sparse as sp
from numba import njit, prange

from opauc_sim._validation import (
    UndefinedMetricWarning,
    check_beta,
    check_choice,
    check_int,
    check_sequence,
    warn_undefined,
)

__all__ = [
    "UndefinedMetricWarning",
    "auc",
    "evaluate",
    "ndcg_at_k",
    "normalize_opauc",
    "opauc",
    "precision_at_k",
    "recall_at_k",
]

NORMALIZATIONS = (None, "max", "mcclish")

# Layout of the per-row statistics the kernel writes (after the per-K and per-beta blocks).
_N_POS, _N_NEG, _BAD_LABEL, _NAN_SCORE, _AUC = 0, 1, 2, 3, 4
_N_FIXED = 5
# Placing negatives among n_g positive groups: one linear count up to _LINEAR_MAX groups,
# else a bucket table with a window of _WINDOW, falling back to a two-level count with
# blocks of _BLOCK (see _row_stats).
_LINEAR_MAX = 96
_BLOCK = 16
_WINDOW = 8
# Up to this many positives in a row, their scores are ranked by counting, not sorted.
_RANK_SORT_MAX = 128


# --------------------------------------------------------------------------------------
# Numba kernels. They trust their input: contiguous arrays, ks sorted ascending is NOT
# assumed, disc has at least max(ks) entries. All kernels that call each other live here.
# --------------------------------------------------------------------------------------


@njit(cache=True)
def _row_stats(
    scores, labels, excl, use_excl, ks, m_scale, m_const, want_auc, disc, out, buf, ibuf
):
    """Fill ``out`` for one row, using the scratch buffers ``buf`` and ``ibuf``.

    ``out`` holds ``[n_pos, n_neg, bad_label, nan_score, auc_pairs, hits@k...,
    dcg@k..., opauc_area(beta)...]``; the areas are in units of (positive, negative) pairs,
    not yet divided by ``n_pos * n_neg``. The cut of OPAUC column ``b``, in negatives, is
    ``m = min(m_scale[b] * n_neg + m_const[b], n_neg)`` for this row's ``n_neg``: a fixed
    beta is ``(beta, 0)``, a per-row beta = K / n_neg is ``(0, K)``. ``buf`` (float64) and
    ``ibuf`` (int64) need at least ``4 * n_items + 3 * _BLOCK + 2 * len(ks) + 2 *
    len(m_scale)`` and ``5 * n_items + 4`` entries.
    """
    n = scores.shape[0]
    n_k = ks.shape[0]
    n_b = m_scale.shape[0]
    # Pass 1: split the row into positive and negative scores (compact, in buf).
    pos = buf[:n]
    neg = buf[n : 2 * n]
    n_pos = 0
    n_neg = 0
    bad = 0
    nan = 0
    for j in range(n):
        if use_excl and excl[j]:
            continue
        s = scores[j]
        if s != s:
            nan += 1
        lab = labels[j]
        if lab == 1:
            pos[n_pos] = s
            n_pos += 1
        elif lab == 0:
            neg[n_neg] = s
            n_neg += 1
        else:
            bad += 1
    out[_N_POS] = n_pos
    out[_N_NEG] = n_neg
    out[_BAD_LABEL] = bad
    out[_NAN_SCORE] = nan
    if bad > 0 or nan > 0:
        return

    # Distinct positive scores u[0] < ... < u[n_g - 1] and their multiplicities gpos.
    # Up to _RANK_SORT_MAX positives, rank by counting (rank = #{smaller}, equal scores share
    # a rank): branch-free and vectorised, ~6x faster than a quicksort at 50 positives.
    gpos = ibuf[:n]
    n_g = 0
    if n_pos <= _RANK_SORT_MAX:
        slot = buf[2 * n : 3 * n]
        for r in range(n_pos):
            gpos[r] = 0
        for i in range(n_pos):
            v = pos[i]
            r = 0
            for j in range(n_pos):
                r += pos[j] < v
            slot[r] = v
            gpos[r] += 1
        for r in range(n_pos):
            if gpos[r] > 0:
                pos[n_g] = slot[r]
                gpos[n_g] = gpos[r]
                n_g += 1
    else:
        pos[:n_pos].sort()
        for i in range(n_pos):
            if n_g == 0 or pos[i] != pos[n_g - 1]:
                pos[n_g] = pos[i]
                gpos[n_g] = 0
                n_g += 1
            gpos[n_g - 1] += 1
    u = pos

    # Negatives against positive groups. Two strategies, both exact, both free of
    # data-dependent branches in their inner loops (a binary search per negative pays a
    # mispredicted branch per level: 23-50 ns per negative at 50 groups, against 3.4-6 ns
    # for counting, depending on machine load; benchmarks/bench_placement.py):
    # * few groups (n_g <= _LINEAR_MAX): walk the groups from the top and, for each, count
    #   the negatives above it (s > v) and at or above it (s >= v) in one vectorised pass
    #   over the negatives. The walk stops as soon as every requested metric is complete
    #   (rank max(ks) and cut max(m) passed) unless AUC needs every group, so OPAUC at a
    #   small beta touches only the top few groups.
    # * many groups: place every negative once into a histogram over the groups, then walk.
    #   cnt[2r] counts the negatives strictly between groups r-1 and r (r = n_g: above all),
    #   cnt[2r+1] those tied with group r-1, where r = #{u <= s} comes from a monotone
    #   bucket table plus a fixed window of _WINDOW comparisons, or, for a crowded bucket
    #   or infinite scores, from a two-level count (every _BLOCK-th value, then one block).
    count_down = n_g <= _LINEAR_MAX
    cnt = ibuf[n : 3 * n + 2]
    if not count_down:
        _place_negatives(
            u, n_g, neg, n_neg, cnt, buf[2 * n : 4 * n + 3 * _BLOCK], ibuf[3 * n + 2 :]
        )

    # Walk the groups from the top. x: negatives passed (ROC abscissa, in negatives);
    # y: positives passed; above: items strictly above the current group.
    acc = buf[4 * n + 3 * _BLOCK : 4 * n + 3 * _BLOCK + 2 * n_k + n_b]  # hits, dcg, area
    for t in range(acc.shape[0]):
        acc[t] = 0.0
    m = buf[4 * n + 3 * _BLOCK + 2 * n_k + n_b : 4 * n + 3 * _BLOCK + 2 * n_k + 2 * n_b]
    m_max = 0.0
    for b in range(n_b):
        m[b] = min(m_scale[b] * n_neg + m_const[b], float(n_neg))
        m_max = max(m_max, m[b])
    k_max = 0
    for t in range(n_k):
        k_max = max(k_max, ks[t])
    x = 0.0
    y = 0.0
    above = 0
    auc_area = 0.0
    at_or_above_prev = 0  # negatives at or above the group before (count_down only)
    for q in range(n_g - 1, -1, -1):
        if count_down:
            v = u[q]
            n_gt = 0
            n_ge = 0
            for j in range(n_neg):
                s = neg[j]
                n_gt += s > v
                n_ge += s >= v
            w_gap = n_gt - at_or_above_prev
            g_neg = n_ge - n_gt
            at_or_above_prev = n_ge
        else:
            w_gap = cnt[2 * (q + 1)]
            g_neg = cnt[2 * (q + 1) + 1]
        # Horizontal stretch of the ROC curve at height y.
        if w_gap > 0:
            for b in range(n_b):
                if x < m[b]:
                    acc[2 * n_k + b] += y * min(w_gap, m[b] - x)
            auc_area += y * w_gap
            x += w_gap
            above += w_gap
        g_pos = gpos[q]
        size = g_pos + g_neg
        # Top-K: the group occupies ranks [above, above + size); expected share of slots < K.
        for t in range(n_k):
            k = ks[t]
            if above < k:
                if size == 1:
                    acc[t] += 1.0
                    acc[n_k + t] += disc[above]
                else:
                    end = min(above + size, k)
                    frac = g_pos / size
                    acc[t] += frac * (end - above)
                    d = 0.0
                    for r in range(above, end):
                        d += disc[r]
                    acc[n_k + t] += frac * d
        # ROC: vertical (no tied negatives) or diagonal segment through the tie group.
        if g_neg > 0:
            for b in range(n_b):
                if x < m[b]:
                    w = min(float(g_neg), m[b] - x)
                    acc[2 * n_k + b] += y * w + g_pos * w * w / (2.0 * g_neg)
            auc_area += g_neg * (y + 0.5 * g_pos)
        x += g_neg
        y += g_pos
        above += size
        if not want_auc and above >= k_max and x >= m_max:
            break  # every requested metric is complete; the lower groups change nothing
    # Below the last group walked the curve runs at height y to the end.
    for b in range(n_b):
        if x < m[b]:
            acc[2 * n_k + b] += y * (m[b] - x)
    auc_area += y * (n_neg - x)
    out[_AUC] = auc_area
    for t in range(acc.shape[0]):
        out[_N_FIXED + t] = acc[t]


@njit(cache=True)
def _place_negatives(u, n_g, neg, n_neg, cnt, fbuf, ibuf):
    """Histogram of the negatives over the positive groups (see _row_stats).

    ``fbuf`` needs ``2 * n + 3 * _BLOCK`` float64 entries, ``ibuf`` ``2 * n + 2`` int64.
    """
    for r in range(2 * n_g + 2):
        cnt[r] = 0
    n_blocks = (n_g + _BLOCK - 1) // _BLOCK
    n_pad = max(n_blocks * _BLOCK, n_g + _WINDOW)
    pad = fbuf[:n_pad]
    fence = fbuf[n_pad : n_pad + n_blocks]
    for i in range(n_pad):
        pad[i] = u[i] if i < n_g else np.nan
    for b in range(n_blocks):
        fence[b] = pad[b * _BLOCK + _BLOCK - 1]
    n_buckets = 2 * n_g
    scale = n_buckets / (u[n_g - 1] - u[0])
    use_table = 0.0 < scale < np.inf
    start = ibuf[: n_buckets + 2]
    if use_table:
        for b in range(n_buckets + 2):
            start[b] = 0
        for i in range(n_g):
            start[int(min((u[i] - u[0]) * scale, float(n_buckets))) + 1] += 1
        for b in range(n_buckets + 1):
            start[b + 1] += start[b]
    for j in range(n_neg):
        s = neg[j]
        r = -1
        if use_table:
            b = int(min(max((s - u[0]) * scale, 0.0), float(n_buckets)))
            lo = start[b]
            if start[b + 1] - lo <= _WINDOW:
                r = lo
                for q in range(lo, lo + _WINDOW):
                    r += pad[q] <= s
        if r < 0:
            r = 0
            for b in range(n_blocks):
                r += fence[b] <= s
            if r < n_blocks:
                lo = r * _BLOCK
                r = lo
                for q in range(lo, lo + _BLOCK):
                    r += pad[q] <= s
            else:
                r = n_g
        tie = 1 if r > 0 and pad[r - 1] == s else 0
        cnt[2 * r + tie] += 1


@njit(cache=True, parallel=True)
def _batch_stats(
    scores, labels, excl, use_excl, ks, m_scale, m_const, want_auc, disc, out, n_chunks
):
    """Rows in ``n_chunks`` contiguous chunks, run in parallel, one scratch space per chunk.

    Each row's result depends on that row alone, so the output is the same for any
    ``n_chunks`` and any number of threads.
    """
    n_rows, n = scores.shape
    n_acc = 2 * ks.shape[0] + 2 * m_scale.shape[0]
    for c in prange(n_chunks):
        lo = c * n_rows // n_chunks
        hi = (c + 1) * n_rows // n_chunks
        buf = np.empty(4 * n + 3 * _BLOCK + n_acc, dtype=np.float64)
        ibuf = np.empty(5 * n + 4, dtype=np.int64)
        for i in range(lo, hi):
            # excl[0] is a placeholder row when there is nothing to exclude.
            row_excl = excl[i] if use_excl else excl[0]
            _row_stats(
                scores[i],
                labels[i],
                row_excl,
                use_excl,
                ks,
                m_scale,
                m_const,
                want_auc,
                disc,
                out[i],
                buf,
                ibuf,
            )


# --------------------------------------------------------------------------------------
# Boundary: conversion and validation, done once per call.
# --------------------------------------------------------------------------------------


def _as_array(name: str, value) -> np.ndarray:
    """``np.asarray`` whose failure on ragged or odd input names the argument."""
    if isinstance(value, np.ma.MaskedArray):
        raise TypeError(f"{name} must not be a masked array: its mask would be ignored")
    try:
        return np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"{name} must be a rectangular array of numbers: {exc}") from exc


def _as_label_array(name: str, value) -> np.ndarray:
    """Dense label-like array (bool or real numbers); scipy.sparse is densified."""
    arr = _as_array(name, value.toarray() if sp.issparse(value) else value)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a boolean or real-valued array, got dtype {arr.dtype}")
    return arr


def _prepare(y_true, y_score, exclude=None):
    """Validate and convert. Returns (scores2d, labels2d, excl2d, use_excl, was_1d)."""
    if sp.issparse(y_score):
        raise TypeError("y_score must be a dense array of scores, got a scipy.sparse matrix")
    scores = _as_array("y_score", y_score)
    if scores.dtype == object or scores.dtype.kind not in "biuf":
        raise TypeError(f"y_score must be a real-valued array, got dtype {scores.dtype}")
    if scores.ndim not in (1, 2):
        raise ValueError(f"y_score must be 1-D or 2-D, got shape {scores.shape}")
    if sp.issparse(y_true) and scores.ndim != 2:
        raise ValueError("y_true may be scipy.sparse only for 2-D input")
    labels = _as_label_array("y_true", y_true)
    if labels.shape != scores.shape:
        raise ValueError(
            f"y_true and y_score must have the same shape, got y_true {labels.shape} "
            f"and y_score {scores.shape}"
        )
    was_1d = scores.ndim == 1
    if was_1d:
        scores = scores[None, :]
        labels = labels[None, :]
    if scores.dtype not in (np.float64, np.float32):
        if scores.dtype.kind in "iu" and scores.size and _beyond_float64(scores):
            # float64 would merge distinct integers above 2**53 (e.g. ns timestamps) into
            # ties; their dense ranks keep every comparison, and only order matters.
            inverse = np.unique(scores.ravel(), return_inverse=True)[1]
            scores = inverse.reshape(scores.shape).astype(np.float64)
        else:
            scores = scores.astype(np.float64)
    scores = np.ascontiguousarray(scores)
    if labels.dtype == np.bool_:
        labels = labels.view(np.uint8)
    elif labels.dtype.kind == "f" and labels.dtype not in (np.float64, np.float32):
        labels = labels.astype(np.float64)  # float16 and longdouble have no Numba type
    labels = np.ascontiguousarray(labels)

    use_excl = exclude is not None
    if use_excl:
        if sp.issparse(exclude) and was_1d:
            raise ValueError("exclude may be scipy.sparse only for 2-D input")
        excl = _as_label_array("exclude", exclude)
        if was_1d:
            excl = excl[None, :] if excl.ndim == 1 else excl
        if excl.shape != scores.shape:
            shape = scores.shape[1:] if was_1d else scores.shape
            raise ValueError(
                f"exclude must have the shape of y_score {shape}, got {np.shape(exclude)}"
            )
        if excl.dtype != np.bool_:
            bad = (excl != 0) & (excl != 1)
            if bad.any():
                value = excl[bad].flat[0]
                raise ValueError(f"exclude must be boolean (or 0/1), got the value {value!r}")
            excl = excl.astype(np.bool_)
        excl = np.ascontiguousarray(excl).view(np.uint8)
    else:
        excl = np.zeros((1, 1), dtype=np.uint8)
    return scores, labels, excl, use_excl, was_1d


def _beyond_float64(scores: np.ndarray) -> bool:
    """Whether an integer array holds a value that float64 cannot represent exactly."""
    return max(abs(int(scores.min())), abs(int(scores.max()))) > 2**53


# Cut-offs are not bounded by the number of items (a K beyond it ranks every item, and
# Precision@K still divides by K, as ranx, torchmetrics and RecBole do); this bound only
# keeps K inside int64.
_K_MAX = 2**62


def _check_k(name: str, k) -> int:
    return check_int(name, k, low=1, high=_K_MAX)


def _discounts(kmax: int, n_items: int | None = None) -> np.ndarray:
    """``1 / log2(r + 2)`` for ranks ``r < kmax``, capped at ``n_items`` ranks (no rank lies
    beyond the last item, so a K above ``n_items`` needs no more), at least one entry."""
    if n_items is not None:
        kmax = min(kmax, n_items)
    return 1.0 / np.log2(np.arange(max(kmax, 1), dtype=np.float64) + 2.0)


def _run(
    scores,
    labels,
    excl,
    use_excl,
    ks: tuple[int, ...],
    betas: tuple[float, ...],
    opauc_ks: tuple[int, ...] = (),
    *,
    want_auc: bool,
):
    """Run the kernel; raise on NaN scores or bad labels. Returns the stats matrix.

    Its OPAUC columns are the fixed ``betas``, then OPAUC(K / n_neg) for ``opauc_ks``. The
    AUC column is only valid with ``want_auc`` (without it the kernel may stop early).
    """
    ks_arr = np.asarray(ks, dtype=np.int64)
    m_scale = np.array([*betas, *(0.0 for _ in opauc_ks)], dtype=np.float64)
    m_const = np.array([*(0.0 for _ in betas), *opauc_ks], dtype=np.float64)
    disc = _discounts(max(ks) if ks else 1, scores.shape[1])
    n_cols = _N_FIXED + 2 * len(ks) + len(m_scale)
    out = np.empty((scores.shape[0], n_cols), dtype=np.float64)
    n_chunks = max(min(scores.shape[0], 8 * numba.get_num_threads()), 1)
    _batch_stats(
        scores, labels, excl, use_excl, ks_arr, m_scale, m_const, want_auc, disc, out, n_chunks
    )
    if out[:, _NAN_SCORE].any():
        row = int(np.flatnonzero(out[:, _NAN_SCORE])[0])
        col = int(np.flatnonzero(np.isnan(scores[row]))[0])
        raise ValueError(
            f"y_score must not contain NaN; found {int(out[:, _NAN_SCORE].sum())} NaN "
            f"value(s), the first at {_where(row, col, scores.shape[0])}"
        )
    if out[:, _BAD_LABEL].any():
        row = int(np.flatnonzero(out[:, _BAD_LABEL])[0])
        row_labels = labels[row]
        col = int(np.flatnonzero((row_labels != 0) & (row_labels != 1))[0])
        raise ValueError(
            f"y_true must hold only 0 and 1 (or booleans); found the value "
            f"{row_labels[col]!r} at {_where(row, col, scores.shape[0])}"
        )
    return out


def _where(row: int, col: int, n_rows: int) -> str:
    return f"index {col}" if n_rows == 1 and row == 0 else f"row {row}, column {col}"


def _finish(values: np.ndarray, was_1d: bool):
    return float(values[0]) if was_1d else values


def normalize_opauc(area, beta: float, normalize: str | None):
    """Map a raw OPAUC area (in ``[0, beta]``) to the chosen normalisation.

    ``None`` returns the raw area; ``"max"`` returns ``area / beta`` (in ``[0, 1]``);
    ``"mcclish"`` returns the McClish (1989) standardisation
    ``(1 + (area - beta**2/2) / (beta - beta**2/2)) / 2``, the value of
    ``sklearn.metrics.roc_auc_score(max_fpr=beta)`` and the paper's Norm_OPAUC. Each is
    affine in the area for fixed ``beta``, so no correlation coefficient depends on it.
    """
    check_choice("normalize", normalize, NORMALIZATIONS)
    beta = check_beta("beta", beta)
    if normalize is None:
        return area
    if normalize == "max":
        return area / beta
    if beta == 1.0:  # McClish is the identity at beta = 1 (and the formula's 0/0 is avoided)
        return area
    half = beta * beta / 2.0
    return 0.5 * (1.0 + (area - half) / (beta - half))


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------

_ARRAY_DOC = """y_true : array-like of shape (n_items,) or (n_rows, n_items)
        Binary relevance, 0/1 or bool. In 2-D a scipy.sparse matrix is accepted.
    y_score : array-like of the same shape
        Real scores, higher ranks first. ``inf`` and ``-inf`` are valid and ordered; NaN
        is an error."""


def _topk(y_true, y_score, k, which: str):
    scores, labels, excl, use_excl, was_1d = _prepare(y_true, y_score)
    k = _check_k("k", k)
    out = _run(scores, labels, excl, use_excl, (k,), (), want_auc=False)
    n_pos = out[:, _N_POS]
    if which == "precision":
        return _finish(out[:, _N_FIXED] / k, was_1d)
    empty = n_pos == 0
    warn_undefined(int(empty.sum()), len(n_pos), "no positives (Recall/NDCG undefined)", 4)
    with np.errstate(invalid="ignore", divide="ignore"):
        if which == "recall":
            values = out[:, _N_FIXED] / n_pos
        else:
            ideal = np.cumsum(_discounts(k, scores.shape[1]))
            idcg = ideal[np.clip(np.minimum(n_pos, k).astype(np.int64) - 1, 0, None)]
            values = out[:, _N_FIXED + 1] / idcg
    values[empty] = np.nan
    return _finish(values, was_1d)


def recall_at_k(y_true, y_score, k: int) -> float | np.ndarray:
    """Recall@K = hits@K / n_pos, with the expected hits under random order within ties.

    Parameters
    ----------
    {arrays}
    k : int
        Cut-off, a positive integer; it may exceed ``n_items``.

    Returns
    -------
    float or ndarray of shape (n_rows,)
        ``nan`` for rows with no positives (one UndefinedMetricWarning per call).

    Notes
    -----
    There is no ``min(K, n_pos)`` cap in the denominator: this is the form of the paper's
    Theorem 3. A tie group of ``g`` items holding ``g_+`` positives that straddles rank K
    contributes ``g_+ * (#its slots before K) / g`` hits (McSherry & Najork 2008).

    Raises
    ------
    ValueError
        Shape mismatch, input not 1-D/2-D, NaN scores, labels outside {{0, 1}}, ``k`` below 1.
    TypeError
        Non-numeric input or non-integer ``k``.

    Examples
    --------
    >>> recall_at_k([1, 0, 1, 0], [0.9, 0.8, 0.1, 0.5], k=2)
    0.5
    >>> recall_at_k([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5], k=2)  # all tied: expected value
    0.5
    """
    return _topk(y_true, y_score, k, "recall")


def precision_at_k(y_true, y_score, k: int) -> float | np.ndarray:
    """Precision@K = hits@K / K, with the expected hits under random order within ties.

    Parameters
    ----------
    {arrays}
    k : int
        Cut-off, a positive integer; it may exceed ``n_items``.

    Returns
    -------
    float or ndarray of shape (n_rows,)
        Defined for every row: a row with no positives has Precision@K = 0.

    Notes
    -----
    The denominator is always K, also when ``exclude`` in :func:`evaluate` leaves a row
    with fewer than K items. Ties: see :func:`recall_at_k`.

    Raises
    ------
    ValueError, TypeError
        As :func:`recall_at_k`.

    Examples
    --------
    >>> precision_at_k([1, 0, 1, 0], [0.9, 0.8, 0.1, 0.5], k=2)
    0.5
    """
    return _topk(y_true, y_score, k, "precision")


def ndcg_at_k(y_true, y_score, k: int) -> float | np.ndarray:
    """NDCG@K with binary gains, averaged over random orders within tied scores.

    ``DCG@K = sum over positives at rank r < K of 1 / log2(r + 2)`` (ranks 0-based) and
    ``IDCG@K = sum_{{r < min(K, n_pos)}} 1 / log2(r + 2)``.

    Parameters
    ----------
    {arrays}
    k : int
        Cut-off, a positive integer; it may exceed ``n_items``.

    Returns
    -------
    float or ndarray of shape (n_rows,)
        ``nan`` for rows with no positives (one UndefinedMetricWarning per call).

    Notes
    -----
    A tie group spanning ranks ``[s, s + g)`` with ``g_+`` positives contributes
    ``(g_+ / g) * sum_{{r in [s, min(s + g, K))}} 1 / log2(r + 2)``: the expectation under a
    uniformly random order inside the group. This equals
    ``sklearn.metrics.ndcg_score(..., k=K, ignore_ties=False)`` on rows with positives
    (scikit-learn returns 0 where this returns ``nan``).

    Raises
    ------
    ValueError, TypeError
        As :func:`recall_at_k`.

    Examples
    --------
    >>> round(ndcg_at_k([0, 1], [0.9, 0.1], k=2), 6)
    0.63093
    """
    return _topk(y_true, y_score, k, "ndcg")


def auc(y_true, y_score) -> float | np.ndarray:
    """Area under the ROC curve: the fraction of correctly ordered (positive, negative) pairs.

    Parameters
    ----------
    {arrays}

    Returns
    -------
    float or ndarray of shape (n_rows,)
        ``nan`` for rows with no positives or no negatives (one warning per call).

    Notes
    -----
    A tied (positive, negative) pair counts 1/2, which is the area under the ROC curve with
    tie groups drawn as diagonal segments (``sklearn.metrics.roc_auc_score``). Computed
    without a full sort (see the module docstring for the cost).

    Raises
    ------
    ValueError
        Shape mismatch, input not 1-D/2-D, NaN scores, labels outside {{0, 1}}.
    TypeError
        Non-numeric input.

    Examples
    --------
    >>> auc([1, 0, 1, 0], [0.9, 0.8, 0.1, 0.5])
    0.5
    >>> auc([1, 0], [0.3, 0.3])  # a tied pair counts 1/2
    0.5
    """
    scores, labels, excl, use_excl, was_1d = _prepare(y_true, y_score)
    out = _run(scores, labels, excl, use_excl, (), (), want_auc=True)
    pairs = out[:, _N_POS] * out[:, _N_NEG]
    undefined = pairs == 0
    warn_undefined(
        int(undefined.sum()), len(pairs), "no positives or no negatives (AUC undefined)", 4
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        values = out[:, _AUC] / pairs
    values[undefined] = np.nan
    return _finish(values, was_1d)


def opauc(y_true, y_score, beta: float, *, normalize: str | None = None) -> float | np.ndarray:
    """One-way partial AUC: the area under the ROC curve for FPR in ``[0, beta]``.

    Parameters
    ----------
    {arrays}
    beta : float
        Upper end of the FPR range, in ``(0, 1]``. ``beta * n_neg`` need not be an integer.
    normalize : {{None, "max", "mcclish"}}, default None
        ``None`` gives the raw area, in ``[0, beta]``. ``"max"`` divides by ``beta`` (so a
        perfect ranking scores 1). ``"mcclish"`` is the McClish (1989) standardisation, the
        paper's Norm_OPAUC and the value of ``sklearn.metrics.roc_auc_score(max_fpr=beta)``.
        See :func:`normalize_opauc`.

    Returns
    -------
    float or ndarray of shape (n_rows,)
        ``nan`` for rows with no positives or no negatives (one warning per call).

    Notes
    -----
    The ROC curve runs through the operating points at every distinct score threshold, so a
    group of tied scores is a straight diagonal segment, and a cut at FPR = beta inside a
    segment is linearly interpolated (scikit-learn's convention). On a tie-free row with
    ``a_i`` negatives above positive ``i`` and ``m = beta * n_neg``,
    ``OPAUC = sum_i max(0, m - a_i) / (n_pos * n_neg)``, so
    ``n_pos * n_neg * OPAUC(K / n_neg)`` counts the correctly ordered pairs of a positive
    and one of the top-K negatives. The Top-K metrics' random-order tie rule is different
    on purpose; see the module docstring.

    Raises
    ------
    ValueError
        ``beta`` outside ``(0, 1]`` or NaN, unknown ``normalize``, and as :func:`auc`.
    TypeError
        Non-numeric input or ``beta``.

    Examples
    --------
    >>> opauc([1, 0, 1, 0], [0.9, 0.8, 0.1, 0.5], beta=0.5)
    0.25
    >>> opauc([1, 0, 1, 0], [0.9, 0.8, 0.1, 0.5], beta=0.5, normalize="max")
    0.5
    """
    beta = check_beta("beta", beta)
    check_choice("normalize", normalize, NORMALIZATIONS)
    scores, labels, excl, use_excl, was_1d = _prepare(y_true, y_score)
    out = _run(scores, labels, excl, use_excl, (), (beta,), want_auc=False)
    pairs = out[:, _N_POS] * out[:, _N_NEG]
    undefined = pairs == 0
    warn_undefined(
        int(undefined.sum()), len(pairs), "no positives or no negatives (OPAUC undefined)", 3
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        values = normalize_opauc(out[:, _N_FIXED] / pairs, beta, normalize)
    values[undefined] = np.nan
    return _finish(values, was_1d)


def _check_ks(ks) -> tuple[int, ...]:
    ks = check_sequence("ks", ks, _check_k)
    if len(set(ks)) != len(ks):
        raise ValueError(f"ks must not repeat a value, got {ks!r}")
    return ks


def _beta_label(beta: float) -> str:
    return f"opauc@{beta:g}"


def _check_betas(betas) -> tuple[float, ...]:
    if isinstance(betas, list | tuple) and not betas:
        return ()  # no OPAUC columns
    betas = check_sequence("betas", betas, check_beta)
    labels = [_beta_label(b) for b in betas]
    if len(set(labels)) != len(labels):
        raise ValueError(
            f"betas must be distinct at 6 significant digits (they name the columns), got {betas!r}"
        )
    return betas


def _check_opauc_ks(opauc_ks) -> tuple[int, ...]:
    if isinstance(opauc_ks, list | tuple) and not opauc_ks:
        return ()
    opauc_ks = check_sequence("opauc_ks", opauc_ks, lambda name, v: check_int(name, v, low=1))
    if len(set(opauc_ks)) != len(opauc_ks):
        raise ValueError(f"opauc_ks must not repeat a value, got {opauc_ks!r}")
    return opauc_ks


def evaluate(
    y_true,
    y_score,
    *,
    ks=(5, 10, 20, 50),
    betas=(0.01, 0.05, 0.1),
    exclude=None,
    opauc_ks=(),
) -> pd.DataFrame:
    """Every metric of every row in one pass: Recall/Precision/NDCG@K, AUC and OPAUC(beta).

    Parameters
    ----------
    {arrays}
    ks : sequence of int, default (5, 10, 20, 50)
        Cut-offs, positive integers, distinct, not empty. A K above ``n_items`` is allowed:
        every item is then inside the cut, and Precision@K still divides by K.
    betas : sequence of float, default (0.01, 0.05, 0.1)
        OPAUC levels, each in ``(0, 1]``. ``beta * n_neg`` uses each row's own number of
        negatives (after ``exclude``). An empty sequence gives no ``opauc@<beta>`` column.
    exclude : array-like of bool, same shape as ``y_score``, optional
        Items to remove from the ranking before anything is computed (dense or, in 2-D,
        scipy.sparse). This is how training interactions are masked in full-ranking
        evaluation: an excluded item is neither a positive, nor a negative, nor a rank.
    opauc_ks : sequence of int, default ()
        For each K, also OPAUC at the row's own ``beta = K / n_neg`` (the level of the
        paper's Theorem 3), in a column ``opauc@K/n_neg``: the raw area, in ``[0, K/n_neg]``,
        so that ``n_pos * n_neg * opauc@K/n_neg`` is the number of correctly ordered pairs
        of a positive and one of the top-K negatives. A row with ``n_neg < K`` gets
        ``beta = 1`` (its AUC). Each K is a positive integer; the list may be empty.

    Returns
    -------
    pandas.DataFrame
        One row per input row (one row for 1-D input), with columns ``recall@K``,
        ``precision@K``, ``ndcg@K`` for each K, ``auc``, ``opauc@<beta>`` (raw area, beta
        formatted with ``:g``) for each beta, ``opauc@K/n_neg`` for each of ``opauc_ks``,
        and ``n_pos``, ``n_neg`` (counts after ``exclude``). Undefined values are ``nan``,
        with one UndefinedMetricWarning per call.

    Notes
    -----
    One selection is shared by all metrics: per row the positives are sorted once and every
    negative placed against them once. Ties follow each metric's rule (see the module
    docstring). With ``exclude``, a row left with fewer than K items still divides
    Precision@K by K.

    Raises
    ------
    ValueError
        Shape mismatch (of ``y_true`` or ``exclude``), NaN scores, labels outside {{0, 1}},
        bad or empty ``ks``/``betas``, bad ``opauc_ks``.
    TypeError
        Non-numeric input.

    Examples
    --------
    >>> df = evaluate([1, 0, 1, 0], [0.9, 0.8, 0.1, 0.5], ks=(1, 2), betas=(0.5,))
    >>> df[["recall@2", "ndcg@2", "auc", "opauc@0.5"]].round(4).to_dict("records")
    [{{'recall@2': 0.5, 'ndcg@2': 0.6131, 'auc': 0.5, 'opauc@0.5': 0.25}}]
    """
    scores, labels, excl, use_excl, _ = _prepare(y_true, y_score, exclude)
    ks = _check_ks(ks)
    betas = _check_betas(betas)
    opauc_ks = _check_opauc_ks(opauc_ks)
    out = _run(scores, labels, excl, use_excl, ks, betas, opauc_ks, want_auc=True)
    n_rows = out.shape[0]
    n_pos = out[:, _N_POS]
    n_neg = out[:, _N_NEG]
    no_pos = n_pos == 0
    no_pairs = (n_pos * n_neg) == 0
    columns: dict[str, np.ndarray] = {}
    ideal = np.cumsum(_discounts(max(ks), scores.shape[1]))
    with np.errstate(invalid="ignore", divide="ignore"):
        for t, k in enumerate(ks):
            hits = out[:, _N_FIXED + t]
            dcg = out[:, _N_FIXED + len(ks) + t]
            idcg = ideal[np.clip(np.minimum(n_pos, k).astype(np.int64) - 1, 0, None)]
            columns[f"recall@{k}"] = np.where(no_pos, np.nan, hits / n_pos)
            columns[f"precision@{k}"] = hits / k
            columns[f"ndcg@{k}"] = np.where(no_pos, np.nan, dcg / idcg)
        pairs = n_pos * n_neg
        columns["auc"] = np.where(no_pairs, np.nan, out[:, _AUC] / pairs)
        for b, beta in enumerate(betas):
            area = out[:, _N_FIXED + 2 * len(ks) + b]
            columns[_beta_label(beta)] = np.where(no_pairs, np.nan, area / pairs)
        for b, k in enumerate(opauc_ks):
            area = out[:, _N_FIXED + 2 * len(ks) + len(betas) + b]
            columns[f"opauc@{k}/n_neg"] = np.where(no_pairs, np.nan, area / pairs)
    columns["n_pos"] = n_pos.astype(np.int64)
    columns["n_neg"] = n_neg.astype(np.int64)
    if no_pairs.any():
        warn_undefined(
            int(no_pairs.sum()),
            n_rows,
            f"no positives ({int(no_pos.sum())}) or no negatives "
            f"({int((no_pairs & ~no_pos).sum())}); Recall/NDCG are undefined without "
            "positives, AUC/OPAUC without either",
            3,
        )
    return pd.DataFrame(columns)


for _f in (recall_at_k, precision_at_k, ndcg_at_k, auc, opauc, evaluate):
    _f.__doc__ = _f.__doc__.format(arrays=_ARRAY_DOC)
del _f
