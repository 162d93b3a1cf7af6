r"""Ranking metrics with exact tie rules: Recall/Precision/NDCG/HitRate/MRR/MAP@K, AUC, OPAUC(β).

Every function takes ``(y_true, y_score, ..., exclude=None)`` in scikit-learn's order. One
row is one ranking (a user's scores over the items); 1-D input is one row and gives a
``float``, 2-D input ``(n_rows, n_items)`` gives one float64 value per row (a Series on the
index of a DataFrame input). Inputs may be NumPy or scipy.sparse arrays, pandas DataFrames,
torch tensors or ranx-style dicts of dicts, of any real dtype: they are brought to one
canonical form at the boundary, so one compiled kernel serves all. Long
``(user, item, score)`` tables go through :func:`evaluate_long`, models too large to score
at once through :func:`evaluate_scorer`; :mod:`opauc_sim.stats` compares two models.
HitRate@K, MRR@K and MAP@K (see their docstrings) come out of the same kernel pass, with the
same random-order tie rule as the other Top-K metrics, in exact expectation.

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
The two families treat tied scores differently, on purpose (docs/definitions.md §3):

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

import sys
import warnings
from collections.abc import Mapping
from typing import NamedTuple

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
    "evaluate_long",
    "evaluate_scorer",
    "hit_rate_at_k",
    "map_at_k",
    "mrr_at_k",
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
    scores,
    labels,
    excl,
    use_excl,
    ks,
    m_scale,
    m_const,
    want_auc,
    want_rank,
    disc,
    out,
    buf,
    ibuf,
):
    """Fill ``out`` for one row, using the scratch buffers ``buf`` and ``ibuf``.

    ``out`` holds ``[n_pos, n_neg, bad_label, nan_score, auc_pairs, hits@k...,
    dcg@k..., opauc_area(beta)..., rr@k..., ap_sum@k..., hit@k...]``; the areas are in
    units of (positive, negative) pairs, not yet divided by ``n_pos * n_neg``; ``ap_sum`` is
    not yet divided by ``n_pos``. The last three blocks (expected reciprocal rank of the
    first positive, expected sum of Precision@(r+1) over positives at ranks r < K, and the
    probability of a positive in the top K) are only filled with ``want_rank``. The cut of
    OPAUC column ``b``, in negatives, is ``m = min(m_scale[b] * n_neg + m_const[b], n_neg)``
    for this row's ``n_neg``: a fixed beta is ``(beta, 0)``, a per-row beta = K / n_neg is
    ``(0, K)``. ``buf`` (float64) and ``ibuf`` (int64) need at least
    ``4 * n_items + 3 * _BLOCK + 5 * len(ks) + 2 * len(m_scale)`` and ``5 * n_items + 4`` entries.
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
    base = 4 * n + 3 * _BLOCK
    acc = buf[base : base + 5 * n_k + n_b]  # hits, dcg, area, rr, ap, hit
    for t in range(acc.shape[0]):
        acc[t] = 0.0
    i_rr = 2 * n_k + n_b  # start of the rr block in acc; ap and hit follow
    m = buf[base + 5 * n_k + n_b : base + 5 * n_k + 2 * n_b]
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
        # Rank metrics (want_rank), in expectation over a uniformly random order inside the
        # group, with y positives (certainly) above it: a slot at offset j holds a positive
        # with probability p = g_pos/size, and a pair of slots both do with probability
        # p2 = g_pos (g_pos - 1) / (size (size - 1)); so E[rel(r) * hits in ranks <= r] =
        # p (1 + y) + j p2 (groups are independent). The first positive lies in the first
        # group walked (y == 0), at offset j with probability
        # prod_{i<j} (size - g_pos - i)/(size - i) * g_pos / (size - j).
        for t in range(n_k):
            k = ks[t]
            if above < k:
                if size == 1:
                    acc[t] += 1.0
                    acc[n_k + t] += disc[above]
                    if want_rank:
                        acc[i_rr + n_k + t] += (1.0 + y) / (above + 1)
                        if y == 0.0:
                            acc[i_rr + t] += 1.0 / (above + 1)
                            acc[i_rr + 2 * n_k + t] = 1.0
                else:
                    end = min(above + size, k)
                    frac = g_pos / size
                    acc[t] += frac * (end - above)
                    d = 0.0
                    for r in range(above, end):
                        d += disc[r]
                    acc[n_k + t] += frac * d
                    if want_rank:
                        p2 = g_pos * (g_pos - 1.0) / (size * (size - 1.0))
                        a = 0.0
                        for r in range(above, end):
                            a += (frac * (1.0 + y) + (r - above) * p2) / (r + 1)
                        acc[i_rr + n_k + t] += a
                        if y == 0.0:
                            surv = 1.0  # P(no positive in the offsets before j)
                            rr = 0.0
                            for r in range(above, end):
                                j = r - above
                                rr += surv * g_pos / (size - j) / (r + 1)
                                surv *= (size - g_pos - j) / (size - j)
                            acc[i_rr + t] += rr
                            acc[i_rr + 2 * n_k + t] = 1.0 - surv
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
    scores, labels, excl, use_excl, ks, m_scale, m_const, want_auc, want_rank, disc, out, n_chunks
):
    """Rows in ``n_chunks`` contiguous chunks, run in parallel, one scratch space per chunk.

    Each row's result depends on that row alone, so the output is the same for any
    ``n_chunks`` and any number of threads.
    """
    n_rows, n = scores.shape
    n_acc = 5 * ks.shape[0] + 2 * m_scale.shape[0]
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
                want_rank,
                disc,
                out[i],
                buf,
                ibuf,
            )


# --------------------------------------------------------------------------------------
# Boundary: conversion and validation, done once per call. Every input is brought to one
# canonical form before the kernels (C-contiguous, writeable: float64 scores, uint8 labels
# and mask), so that one compiled kernel serves every input type.
# --------------------------------------------------------------------------------------

# Marks a label outside {0, 1} for the kernel, which reports rows holding one.
_BAD = 2


class _Input(NamedTuple):
    scores: np.ndarray  # (n_rows, n_items) float64
    labels: np.ndarray  # (n_rows, n_items) uint8: 0, 1, or _BAD
    excl: np.ndarray  # (n_rows, n_items) uint8, or a (1, 1) placeholder
    use_excl: bool
    was_1d: bool
    index: pd.Index | None  # row labels of a DataFrame input (user ids)
    raw_labels: np.ndarray  # y_true as given (2-D), for error messages
    gains: np.ndarray | None  # graded relevance (float64), only when graded=True


def _from_torch(value):
    """A torch tensor as a NumPy array: detached, dense, on the CPU, half precision widened.

    torch stays optional: it is looked up in ``sys.modules`` (a tensor cannot exist without
    torch having been imported), never imported here.
    """
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(value, torch.Tensor):
        return value
    t = value.detach()
    if t.layout != torch.strided:
        t = t.to_dense()
    if t.dtype in (torch.bfloat16, torch.float16):
        t = t.float()  # NumPy has no bfloat16; float32 holds both exactly
    t = t.cpu()
    if t.is_conj():
        t = t.resolve_conj()
    if t.is_neg():
        t = t.resolve_neg()
    return t.numpy()


def _as_array(name: str, value) -> np.ndarray:
    """``np.asarray`` whose failure on ragged or odd input names the argument."""
    value = _from_torch(value)
    if isinstance(value, np.ma.MaskedArray):
        raise TypeError(f"{name} must not be a masked array: its mask would be ignored")
    if isinstance(value, pd.Series | pd.DataFrame):
        value = value.to_numpy()
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


def _align_frames(y_true, y_score, exclude):
    """DataFrame inputs lined up on y_score's (or y_true's) rows and columns.

    Returns the three inputs (frames reindexed where their labels are the same set in
    another order) and the row index to give the output, or None without a DataFrame.
    """
    named = {"y_score": y_score, "y_true": y_true, "exclude": exclude}
    frames = {n: v for n, v in named.items() if isinstance(v, pd.DataFrame)}
    if not frames:
        return y_true, y_score, exclude, None
    lead_name, lead = next(iter(frames.items()))
    for name, frame in frames.items():
        if frame is lead or (frame.index.equals(lead.index) and frame.columns.equals(lead.columns)):
            continue
        same = (
            frame.index.is_unique
            and frame.columns.is_unique
            and lead.index.is_unique
            and lead.columns.is_unique
            and set(frame.index) == set(lead.index)
            and set(frame.columns) == set(lead.columns)
        )
        if not same:
            raise ValueError(
                f"{name} (a DataFrame) must have the row and column labels of {lead_name}, "
                f"got index {_show_labels(frame.index)} and columns "
                f"{_show_labels(frame.columns)} against {_show_labels(lead.index)} and "
                f"{_show_labels(lead.columns)}"
            )
        named[name] = frame.reindex(index=lead.index, columns=lead.columns)
    return named["y_true"], named["y_score"], named["exclude"], lead.index


def _show_labels(labels: pd.Index) -> str:
    text = repr(list(labels[:4]))
    return text[:-1] + ", ...]" if len(labels) > 4 else text


def _canonical_scores(scores: np.ndarray, keep_float32: bool = False) -> np.ndarray:
    """float64, C-contiguous and writeable, with every comparison of the input kept.

    With ``keep_float32``, float32 scores stay float32 (the same order, exactly; the
    kernel then has a second compiled version).

    Integers beyond 2**53 and extended-precision floats (``longdouble``) may hold distinct
    values that float64 would merge into ties (e.g. nanosecond timestamps, or 1 and
    1 + 2**-60); only order matters to every metric here, so those are replaced by their
    exact dense ranks (NaN kept as NaN, infinities ranked as the extremes).
    """
    if keep_float32 and scores.dtype == np.float32:
        out = np.ascontiguousarray(scores)
        return out if out.flags.writeable else out.copy()
    kind = scores.dtype.kind
    if scores.size and (
        (kind in "iu" and _beyond_float64(scores)) or (kind == "f" and scores.dtype.itemsize > 8)
    ):
        flat = scores.ravel()
        nan = np.isnan(flat) if kind == "f" else np.zeros(flat.shape, dtype=bool)
        ranks = np.full(flat.shape, np.nan)
        ranks[~nan] = np.unique(flat[~nan], return_inverse=True)[1]
        scores = ranks.reshape(scores.shape)
    out = np.ascontiguousarray(scores, dtype=np.float64)
    return out if out.flags.writeable else out.copy()


def _canonical_labels(labels: np.ndarray) -> np.ndarray:
    """uint8 labels: 1 where the value equals 1, 0 where it equals 0, else _BAD.

    The comparison is made in the input's own dtype (so 1 + 2**-60 in longdouble is no 1).
    """
    if labels.dtype == np.bool_:
        out = np.ascontiguousarray(labels).view(np.uint8)
    elif labels.dtype == np.uint8:
        out = np.ascontiguousarray(labels)  # the kernel flags values above 1 itself
    else:
        one = labels == 1
        out = one.view(np.uint8)
        bad = ~one & (labels != 0)
        if bad.any():
            out[bad] = _BAD
    return out if out.flags.writeable else out.copy()


def _prepare(
    y_true, y_score, exclude=None, *, graded: bool = False, keep_float32: bool = False
) -> _Input:
    """Validate and convert the inputs of every public function."""
    if isinstance(y_true, Mapping) or isinstance(y_score, Mapping):
        y_true, y_score, exclude, _ = _from_dicts(y_true, y_score, exclude, graded)
    y_true, y_score, exclude, index = _align_frames(y_true, y_score, exclude)
    if sp.issparse(y_score):
        raise TypeError("y_score must be a dense array of scores, got a scipy.sparse matrix")
    scores = _as_array("y_score", y_score)
    if scores.dtype == object or scores.dtype.kind not in "biuf":
        raise TypeError(f"y_score must be a real-valued array, got dtype {scores.dtype}")
    if scores.ndim not in (1, 2):
        raise ValueError(f"y_score must be 1-D or 2-D, got shape {scores.shape}")
    if sp.issparse(y_true) and scores.ndim != 2:
        raise ValueError("y_true may be scipy.sparse only for 2-D input")
    raw = _as_label_array("y_true", y_true)
    if raw.shape != scores.shape:
        raise ValueError(
            f"y_true and y_score must have the same shape, got y_true {raw.shape} "
            f"and y_score {scores.shape}"
        )
    was_1d = scores.ndim == 1
    if was_1d:
        scores = scores[None, :]
        raw = raw[None, :]
        index = None
    scores = _canonical_scores(scores, keep_float32)
    gains = None
    if graded:
        gains = np.ascontiguousarray(raw, dtype=np.float64)
        bad = ~(np.isfinite(gains) & (gains >= 0))
        if bad.any():
            row, col = (int(v[0]) for v in np.nonzero(bad))
            raise ValueError(
                f"y_true (graded) must hold finite gains >= 0; found the value "
                f"{raw[row, col]!r} at {_where(row, col, raw.shape[0])}"
            )
        labels = (gains > 0).view(np.uint8)
    else:
        labels = _canonical_labels(raw)

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
        if not excl.flags.writeable:
            excl = excl.copy()
    else:
        excl = np.zeros((1, 1), dtype=np.uint8)
    return _Input(scores, labels, excl, use_excl, was_1d, index, raw, gains)


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
    inp: _Input,
    ks: tuple[int, ...],
    betas: tuple[float, ...],
    opauc_ks: tuple[int, ...] = (),
    *,
    want_auc: bool,
    want_rank: bool = False,
):
    """Run the kernel; raise on NaN scores or bad labels. Returns the stats matrix.

    Its OPAUC columns are the fixed ``betas``, then OPAUC(K / n_neg) for ``opauc_ks``. The
    AUC column is only valid with ``want_auc`` (without it the kernel may stop early), the
    rank blocks (rr, ap, hit) only with ``want_rank``.
    """
    scores = inp.scores
    ks_arr = np.asarray(ks, dtype=np.int64)
    m_scale = np.array([*betas, *(0.0 for _ in opauc_ks)], dtype=np.float64)
    m_const = np.array([*(0.0 for _ in betas), *opauc_ks], dtype=np.float64)
    disc = _discounts(max(ks) if ks else 1, scores.shape[1])
    n_cols = _N_FIXED + 5 * len(ks) + len(m_scale)
    out = np.empty((scores.shape[0], n_cols), dtype=np.float64)
    n_chunks = max(min(scores.shape[0], 8 * numba.get_num_threads()), 1)
    _batch_stats(
        scores,
        inp.labels,
        inp.excl,
        inp.use_excl,
        ks_arr,
        m_scale,
        m_const,
        want_auc,
        want_rank,
        disc,
        out,
        n_chunks,
    )
    if out[:, _NAN_SCORE].any():
        row = int(np.flatnonzero(out[:, _NAN_SCORE])[0])
        col = int(np.flatnonzero(np.isnan(scores[row]) & ~_excluded(inp, row))[0])
        raise ValueError(
            f"y_score must not contain NaN; found {int(out[:, _NAN_SCORE].sum())} NaN "
            f"value(s), the first at {_where(row, col, scores.shape[0])}"
        )
    if out[:, _BAD_LABEL].any():
        row = int(np.flatnonzero(out[:, _BAD_LABEL])[0])
        col = int(np.flatnonzero((inp.labels[row] > 1) & ~_excluded(inp, row))[0])
        raise ValueError(
            f"y_true must hold only 0 and 1 (or booleans); found the value "
            f"{inp.raw_labels[row, col]!r} at {_where(row, col, scores.shape[0])}"
        )
    return out


def _excluded(inp: _Input, row: int) -> np.ndarray:
    """The excluded items of one row (all False without exclude)."""
    if inp.use_excl:
        return inp.excl[row].astype(bool)
    return np.zeros(inp.scores.shape[1], dtype=bool)


def _where(row: int, col: int, n_rows: int) -> str:
    return f"index {col}" if n_rows == 1 and row == 0 else f"row {row}, column {col}"


def _finish(values: np.ndarray, inp: _Input, name: str):
    """A float for 1-D input, a Series on the DataFrame's index, else the array."""
    if inp.was_1d:
        return float(values[0])
    if inp.index is not None:
        return pd.Series(values, index=inp.index, name=name)
    return values


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
        Binary relevance, 0/1 or bool. In 2-D a scipy.sparse matrix or a pandas DataFrame
        is accepted; a torch tensor on any device (with grad or in bfloat16) too; and a
        ranx/TREC qrels dict ``{query: {doc: relevance}}`` together with a run dict as
        ``y_score`` (see :func:`evaluate_long` for how unscored documents are ranked).
    y_score : array-like of the same shape
        Real scores, higher ranks first. ``inf`` and ``-inf`` are valid and ordered; NaN
        is an error. Any real dtype: each is converted to float64 exactly in order
        (integers beyond 2**53 and ``longdouble`` by their exact ranks). When ``y_score``
        (or ``y_true``) is a DataFrame, its index labels the output rows, and DataFrame
        inputs are aligned on their row and column labels.
    exclude : array-like of bool, same shape as ``y_score``, optional
        Items removed from the ranking before anything is computed (dense, scipy.sparse or
        a DataFrame): an excluded item is neither a positive, nor a negative, nor a rank.
        This is how training interactions are masked in full-ranking evaluation (masking
        with ``-inf`` instead would keep them as tied negatives and change AUC/OPAUC)."""

_RETURNS_ROWS = """float, ndarray of shape (n_rows,) or pandas.Series
        A float for 1-D input; a Series on the input DataFrame's index (user ids) when
        ``y_score`` or ``y_true`` is a DataFrame or a dict; else an array."""


def _topk(y_true, y_score, k, which: str, exclude, graded: bool = False):
    inp = _prepare(y_true, y_score, exclude, graded=graded)
    k = _check_k("k", k)
    want_rank = which in ("hit_rate", "mrr", "map")
    out = _run(inp, (k,), (), want_auc=False, want_rank=want_rank)
    n_pos = out[:, _N_POS]
    name = f"{which}@{k}"
    if which == "precision":
        return _finish(out[:, _N_FIXED] / k, inp, name)
    empty = n_pos == 0
    warn_undefined(int(empty.sum()), len(n_pos), f"no positives ({_LABELS[which]} undefined)", 4)
    with np.errstate(invalid="ignore", divide="ignore"):
        if which == "recall":
            values = out[:, _N_FIXED] / n_pos
        elif which == "ndcg":
            if graded:
                values = _graded_ndcg(inp, (k,))[0]
            else:
                ideal = np.cumsum(_discounts(k, inp.scores.shape[1]))
                idcg = ideal[np.clip(np.minimum(n_pos, k).astype(np.int64) - 1, 0, None)]
                values = out[:, _N_FIXED + 1] / idcg
        else:
            block = {"mrr": 0, "map": 1, "hit_rate": 2}[which]
            values = out[:, _N_FIXED + 2 + block].copy()
            if which == "map":
                values = values / n_pos
    values[empty] = np.nan
    return _finish(values, inp, name)


_LABELS = {
    "recall": "Recall",
    "ndcg": "NDCG",
    "hit_rate": "HitRate",
    "mrr": "MRR",
    "map": "MAP",
}


def recall_at_k(y_true, y_score, k: int, *, exclude=None) -> float | np.ndarray | pd.Series:
    """Recall@K = hits@K / n_pos, with the expected hits under random order within ties.

    Parameters
    ----------
    {arrays}
    k : int
        Cut-off, a positive integer; it may exceed ``n_items``.

    Returns
    -------
    {returns}
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
    >>> recall_at_k([1, 0, 1, 0], [0.9, 0.8, 0.1, 0.5], k=2, exclude=[0, 1, 0, 0])
    0.5
    """
    return _topk(y_true, y_score, k, "recall", exclude)


def precision_at_k(y_true, y_score, k: int, *, exclude=None) -> float | np.ndarray | pd.Series:
    """Precision@K = hits@K / K, with the expected hits under random order within ties.

    Parameters
    ----------
    {arrays}
    k : int
        Cut-off, a positive integer; it may exceed ``n_items``.

    Returns
    -------
    {returns}
        Defined for every row: a row with no positives has Precision@K = 0.

    Notes
    -----
    The denominator is always K, also when K exceeds the number of items or ``exclude``
    leaves a row with fewer than K items (as ranx, torchmetrics and RecBole do). Ties: see
    :func:`recall_at_k`.

    Raises
    ------
    ValueError, TypeError
        As :func:`recall_at_k`.

    Examples
    --------
    >>> precision_at_k([1, 0, 1, 0], [0.9, 0.8, 0.1, 0.5], k=2)
    0.5
    >>> precision_at_k([1, 0, 1, 0], [0.9, 0.8, 0.1, 0.5], k=10)  # K > n_items: hits / K
    0.2
    """
    return _topk(y_true, y_score, k, "precision", exclude)


def ndcg_at_k(
    y_true, y_score, k: int, *, exclude=None, graded: bool = False
) -> float | np.ndarray | pd.Series:
    """NDCG@K, binary or graded gains, averaged over random orders within tied scores.

    ``DCG@K = sum over items at rank r < K of gain / log2(r + 2)`` (ranks 0-based) and
    ``IDCG@K`` is the DCG@K of the items sorted by gain. Binary (the default): the gain is
    1 for a positive, so ``IDCG@K = sum_{{r < min(K, n_pos)}} 1 / log2(r + 2)``.

    Parameters
    ----------
    {arrays}
    k : int
        Cut-off, a positive integer; it may exceed ``n_items``.
    graded : bool, default False
        If True, ``y_true`` holds graded relevance, finite and ``>= 0``, used as the gain
        itself (linear gain, as scikit-learn's ``ndcg_score``, ranx and trec_eval use).

    Returns
    -------
    {returns}
        ``nan`` for rows with no positives (no positive gain), one UndefinedMetricWarning
        per call.

    Notes
    -----
    A tie group spanning ranks ``[s, s + g)`` with gains summing to ``G`` contributes
    ``(G / g) * sum_{{r in [s, min(s + g, K))}} 1 / log2(r + 2)``: the expectation under a
    uniformly random order inside the group. This equals
    ``sklearn.metrics.ndcg_score(..., k=K, ignore_ties=False)`` on rows with positives
    (scikit-learn returns 0 where this returns ``nan``). Binary NDCG comes from the fused
    kernel; graded NDCG sorts each row once (``O(n log n)`` per row).

    Raises
    ------
    ValueError, TypeError
        As :func:`recall_at_k`; with ``graded``, a negative or non-finite gain.

    Examples
    --------
    >>> round(ndcg_at_k([0, 1], [0.9, 0.1], k=2), 6)
    0.63093
    >>> round(ndcg_at_k([3, 1, 0], [0.1, 0.9, 0.5], k=3, graded=True), 6)
    0.688529
    """
    return _topk(y_true, y_score, k, "ndcg", exclude, graded=graded)


def hit_rate_at_k(y_true, y_score, k: int, *, exclude=None) -> float | np.ndarray | pd.Series:
    """HitRate@K: whether a positive is among the top K, in expectation over tie orders.

    Parameters
    ----------
    {arrays}
    k : int
        Cut-off, a positive integer; it may exceed ``n_items``.

    Returns
    -------
    {returns}
        In ``[0, 1]``; ``nan`` for rows with no positives (one warning per call).

    Notes
    -----
    Tie-free, the value is 1 if hits@K > 0 else 0 (ranx's ``hit_rate@k``, RecBole's
    ``Hit@K``, torchmetrics' ``RetrievalHitRate``). With ties, it is the probability of a
    hit under a uniformly random order inside each tie group: if the first group holding a
    positive starts at rank ``s < K`` with ``g`` items and ``g_+`` positives, it is
    ``1 - C(g - g_+, K - s) / C(g, K - s)`` (hypergeometric).

    Raises
    ------
    ValueError, TypeError
        As :func:`recall_at_k`.

    Examples
    --------
    >>> hit_rate_at_k([0, 1, 0], [0.9, 0.5, 0.1], k=2)
    1.0
    >>> round(hit_rate_at_k([0, 1, 0], [0.5, 0.5, 0.5], k=1), 12)  # tied: P(positive first)
    0.333333333333
    """
    return _topk(y_true, y_score, k, "hit_rate", exclude)


def mrr_at_k(y_true, y_score, k: int, *, exclude=None) -> float | np.ndarray | pd.Series:
    """Reciprocal rank of the first positive (0 if it is not in the top K), tie-averaged.

    Parameters
    ----------
    {arrays}
    k : int
        Cut-off, a positive integer; it may exceed ``n_items``.

    Returns
    -------
    {returns}
        In ``[0, 1]``; ``nan`` for rows with no positives (one warning per call). The mean
        over rows is MRR@K.

    Notes
    -----
    ``RR@K = 1 / (r + 1)`` for the 0-based rank ``r < K`` of the first positive, else 0
    (ranx's ``mrr@k``, RecBole's ``MRR@K``). Ties: the exact expectation under a uniformly
    random order inside each tie group. The first positive lies in the first group holding
    one (ranks ``[s, s + g)``, ``g_+`` positives), at offset ``j`` with probability
    ``C(g - 1 - j, g_+ - 1) / C(g, g_+)``, so
    ``E[RR@K] = sum_{{j : s + j < K}} C(g - 1 - j, g_+ - 1) / C(g, g_+) / (s + j + 1)``.

    Raises
    ------
    ValueError, TypeError
        As :func:`recall_at_k`.

    Examples
    --------
    >>> mrr_at_k([0, 1, 0], [0.9, 0.5, 0.1], k=3)
    0.5
    >>> mrr_at_k([0, 1], [0.5, 0.5], k=2)  # tied: (1 + 1/2) / 2
    0.75
    """
    return _topk(y_true, y_score, k, "mrr", exclude)


def map_at_k(y_true, y_score, k: int, *, exclude=None) -> float | np.ndarray | pd.Series:
    """Average precision at K, ``AP@K = sum_{{positives at r < K}} Precision@(r+1) / n_pos``.

    Parameters
    ----------
    {arrays}
    k : int
        Cut-off, a positive integer; it may exceed ``n_items``.

    Returns
    -------
    {returns}
        In ``[0, 1]``; ``nan`` for rows with no positives (one warning per call). The mean
        over rows is MAP@K.

    Notes
    -----
    The denominator is ``n_pos``, as in ranx's ``map@k`` and trec_eval; RecBole and
    torchmetrics divide by ``min(K, n_pos)`` instead (multiply by ``n_pos / min(K, n_pos)``
    to convert). Ties: the exact expectation under a uniformly random order inside each tie
    group. For rank ``r`` at offset ``j`` of a group of ``g`` items with ``g_+`` positives
    and ``y`` positives above the group,
    ``E[rel(r) * hits(ranks <= r)] = p (1 + y) + j p_2`` with ``p = g_+ / g`` and
    ``p_2 = g_+ (g_+ - 1) / (g (g - 1))``, so
    ``E[AP@K] = sum_{{r < K}} (p (1 + y) + j p_2) / (r + 1) / n_pos``.

    Raises
    ------
    ValueError, TypeError
        As :func:`recall_at_k`.

    Examples
    --------
    >>> map_at_k([1, 0, 1], [0.9, 0.5, 0.1], k=3)  # (1/1 + 2/3) / 2
    0.8333333333333333
    """
    return _topk(y_true, y_score, k, "map", exclude)


def auc(y_true, y_score, *, exclude=None) -> float | np.ndarray | pd.Series:
    """Area under the ROC curve: the fraction of correctly ordered (positive, negative) pairs.

    Parameters
    ----------
    {arrays}

    Returns
    -------
    {returns}
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
    >>> auc([1, 0, 1, 0], [0.9, 0.8, 0.1, 0.5], exclude=[0, 0, 1, 0])
    1.0
    """
    inp = _prepare(y_true, y_score, exclude)
    out = _run(inp, (), (), want_auc=True)
    pairs = out[:, _N_POS] * out[:, _N_NEG]
    undefined = pairs == 0
    warn_undefined(
        int(undefined.sum()), len(pairs), "no positives or no negatives (AUC undefined)", 4
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        values = out[:, _AUC] / pairs
    values[undefined] = np.nan
    return _finish(values, inp, "auc")


def opauc(
    y_true, y_score, beta: float, *, normalize: str | None = None, exclude=None
) -> float | np.ndarray | pd.Series:
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
    {returns}
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
    inp = _prepare(y_true, y_score, exclude)
    out = _run(inp, (), (beta,), want_auc=False)
    pairs = out[:, _N_POS] * out[:, _N_NEG]
    undefined = pairs == 0
    warn_undefined(
        int(undefined.sum()), len(pairs), "no positives or no negatives (OPAUC undefined)", 3
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        values = normalize_opauc(out[:, _N_FIXED] / pairs, beta, normalize)
    values[undefined] = np.nan
    return _finish(values, inp, _beta_label(beta))


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


TOPK_METRICS = ("recall", "precision", "ndcg", "hit_rate", "mrr", "map")


def _check_topk(topk) -> tuple[str, ...]:
    if isinstance(topk, str):
        topk = (topk,)
    if not isinstance(topk, list | tuple):
        raise TypeError(f"topk must be a sequence of metric names, got {topk!r}")
    for i, name in enumerate(topk):
        check_choice(f"topk[{i}]", name, TOPK_METRICS)
    if len(set(topk)) != len(topk):
        raise ValueError(f"topk must not repeat a name, got {topk!r}")
    return tuple(topk)


def _normalize_rows(area: np.ndarray, beta: np.ndarray, normalize: str | None) -> np.ndarray:
    """:func:`normalize_opauc` with one beta per row (beta in (0, 1], already checked)."""
    if normalize is None:
        return area
    if normalize == "max":
        return area / beta
    half = beta * beta / 2.0
    with np.errstate(invalid="ignore", divide="ignore"):
        value = 0.5 * (1.0 + (area - half) / (beta - half))
    return np.where(beta == 1.0, area, value)


def _graded_ndcg(inp: _Input, ks: tuple[int, ...]) -> list[np.ndarray]:
    """Graded NDCG@K for each K, expected over random orders within ties (exact).

    Each row is sorted once (excluded items last); every slot of a tie group has the
    group's mean gain in expectation, so DCG@K sums mean gain times discount over the slots
    before K. IDCG@K is the DCG@K of the gains sorted in decreasing order.
    """
    scores, n = inp.scores, inp.scores.shape[1]
    n_rows = scores.shape[0]
    if n == 0 or n_rows == 0:
        return [np.full(n_rows, np.nan) for _ in ks]
    ex = inp.excl.astype(bool) if inp.use_excl else np.zeros(scores.shape, dtype=bool)
    gains = np.where(ex, 0.0, inp.gains)
    order = np.lexsort((-scores, ex), axis=-1)
    s_sorted = np.take_along_axis(scores, order, axis=1)
    g_sorted = np.take_along_axis(gains, order, axis=1)
    ex_sorted = np.take_along_axis(ex, order, axis=1)
    new = np.ones(scores.shape, dtype=bool)
    new[:, 1:] = (s_sorted[:, 1:] != s_sorted[:, :-1]) | (ex_sorted[:, 1:] != ex_sorted[:, :-1])
    gid = np.cumsum(new.ravel()) - 1
    mean = np.bincount(gid, weights=g_sorted.ravel()) / np.bincount(gid)
    slot_gain = mean[gid].reshape(scores.shape)
    slot_gain[ex_sorted] = 0.0
    disc = _discounts(n)
    dcg = np.cumsum(slot_gain * disc, axis=1)
    idcg = np.cumsum(-np.sort(-gains, axis=1) * disc, axis=1)
    out = []
    with np.errstate(invalid="ignore", divide="ignore"):
        for k in ks:
            c = min(k, n) - 1
            value = dcg[:, c] / idcg[:, c]
            value[idcg[:, c] == 0] = np.nan
            out.append(value)
    return out


def evaluate(
    y_true,
    y_score,
    *,
    ks=(5, 10, 20, 50),
    betas=(0.01, 0.05, 0.1),
    exclude=None,
    opauc_ks=(),
    normalize: str | None = None,
    topk=("recall", "precision", "ndcg"),
    graded: bool = False,
    auc: bool = True,
    keep_float32: bool = False,
) -> pd.DataFrame:
    """Every metric of every row in one pass: Top-K metrics, AUC and OPAUC(beta).

    Parameters
    ----------
    {arrays}
    ks : sequence of int, default (5, 10, 20, 50)
        Cut-offs, positive integers, distinct, not empty. A K above ``n_items`` is allowed:
        every item is then inside the cut, and Precision@K still divides by K.
    betas : sequence of float, default (0.01, 0.05, 0.1)
        OPAUC levels, each in ``(0, 1]``. ``beta * n_neg`` uses each row's own number of
        negatives (after ``exclude``). An empty sequence gives no ``opauc@<beta>`` column.
    opauc_ks : sequence of int, default ()
        For each K, also OPAUC at the row's own ``beta = K / n_neg`` (the level of the
        paper's Theorem 3), in a column ``opauc@K/n_neg``: the raw area, in ``[0, K/n_neg]``,
        so that ``n_pos * n_neg * opauc@K/n_neg`` is the number of correctly ordered pairs
        of a positive and one of the top-K negatives. A row with ``n_neg < K`` gets
        ``beta = 1`` (its AUC). Each K is a positive integer; the list may be empty.
    normalize : {{None, "max", "mcclish"}}, default None
        Applied to every OPAUC column (see :func:`normalize_opauc`); for ``opauc@K/n_neg``
        with each row's own ``beta = min(K / n_neg, 1)``. The column names stay the same.
    topk : sequence of str, default ("recall", "precision", "ndcg")
        Which Top-K metrics to report at every K, among ``"recall"``, ``"precision"``,
        ``"ndcg"``, ``"hit_rate"``, ``"mrr"``, ``"map"`` (see the functions of those
        names). All come out of the same kernel pass.
    graded : bool, default False
        ``y_true`` holds graded relevance (finite, ``>= 0``): NDCG uses it as the gain;
        every other metric takes the items with a gain above 0 as the positives.
    auc : bool, default True
        Compute the ``auc`` column. AUC needs every negative of a row placed; without it
        the kernel stops as soon as every K and beta is complete, which is faster on long
        rows with few positives (full-ranking evaluation during training).
    keep_float32 : bool, default False
        Rank float32 scores as float32 instead of converting them to float64. The values
        and so every metric are the same (the conversion is exact); it saves a pass over
        the scores (about 1.4 s for 1.2e9 scores on one core) at the cost of a second
        compiled version of the kernel on first use. Used by the training evaluation.

    Returns
    -------
    pandas.DataFrame
        One row per input row (one row for 1-D input), indexed by the input DataFrame's
        index when ``y_score`` (or ``y_true``) is one, with columns ``<metric>@K`` for each
        K and each of ``topk``, ``auc``, ``opauc@<beta>`` (beta formatted with ``:g``) for
        each beta, ``opauc@K/n_neg`` for each of ``opauc_ks``, and ``n_pos``, ``n_neg``
        (counts after ``exclude``). Undefined values are ``nan``, with one
        UndefinedMetricWarning per call.

    Notes
    -----
    One selection is shared by all metrics: per row the positives are sorted once and every
    negative placed against them once. Ties follow each metric's rule (see the module
    docstring). With ``exclude``, a row left with fewer than K items still divides
    Precision@K by K. Graded NDCG needs one sort per row on top of the kernel pass.

    Raises
    ------
    ValueError
        Shape mismatch (of ``y_true`` or ``exclude``), NaN scores, labels outside {{0, 1}},
        bad or empty ``ks``, bad ``betas``/``opauc_ks``/``topk``/``normalize``.
    TypeError
        Non-numeric input.

    Examples
    --------
    >>> df = evaluate([1, 0, 1, 0], [0.9, 0.8, 0.1, 0.5], ks=(1, 2), betas=(0.5,))
    >>> df[["recall@2", "ndcg@2", "auc", "opauc@0.5"]].round(4).to_dict("records")
    [{{'recall@2': 0.5, 'ndcg@2': 0.6131, 'auc': 0.5, 'opauc@0.5': 0.25}}]
    >>> import pandas as pd
    >>> scores = pd.DataFrame([[0.9, 0.1], [0.2, 0.8]], index=["ann", "bob"])
    >>> evaluate(pd.DataFrame([[1, 0], [1, 0]], index=["ann", "bob"]), scores,
    ...          ks=(1,), betas=(), topk=("mrr",))["mrr@1"].to_dict()
    {{'ann': 1.0, 'bob': 0.0}}
    """
    ks = _check_ks(ks)
    betas = _check_betas(betas)
    opauc_ks = _check_opauc_ks(opauc_ks)
    check_choice("normalize", normalize, NORMALIZATIONS)
    topk = _check_topk(topk)
    inp = _prepare(y_true, y_score, exclude, graded=graded, keep_float32=keep_float32)
    want_rank = any(name in ("hit_rate", "mrr", "map") for name in topk)
    out = _run(inp, ks, betas, opauc_ks, want_auc=bool(auc), want_rank=want_rank)
    n_rows = out.shape[0]
    n_k, n_b = len(ks), len(betas) + len(opauc_ks)
    n_pos = out[:, _N_POS]
    n_neg = out[:, _N_NEG]
    no_pos = n_pos == 0
    no_pairs = (n_pos * n_neg) == 0
    columns: dict[str, np.ndarray] = {}
    ideal = np.cumsum(_discounts(max(ks), inp.scores.shape[1]))
    graded_ndcg = _graded_ndcg(inp, ks) if graded and "ndcg" in topk else None
    rank_base = _N_FIXED + 2 * n_k + n_b
    with np.errstate(invalid="ignore", divide="ignore"):
        for t, k in enumerate(ks):
            hits = out[:, _N_FIXED + t]
            for name in topk:
                if name == "recall":
                    value = hits / n_pos
                elif name == "precision":
                    value = hits / k
                elif name == "ndcg":
                    if graded_ndcg is not None:
                        value = graded_ndcg[t]
                    else:
                        dcg = out[:, _N_FIXED + n_k + t]
                        idcg = ideal[np.clip(np.minimum(n_pos, k).astype(np.int64) - 1, 0, None)]
                        value = dcg / idcg
                elif name == "mrr":
                    value = out[:, rank_base + t]
                elif name == "map":
                    value = out[:, rank_base + n_k + t] / n_pos
                else:
                    value = out[:, rank_base + 2 * n_k + t]
                if name != "precision":
                    value = np.where(no_pos, np.nan, value)
                columns[f"{name}@{k}"] = value
        pairs = n_pos * n_neg
        if auc:
            columns["auc"] = np.where(no_pairs, np.nan, out[:, _AUC] / pairs)
        for b, beta in enumerate(betas):
            area = out[:, _N_FIXED + 2 * n_k + b] / pairs
            area = _normalize_rows(area, np.full(n_rows, beta), normalize)
            columns[_beta_label(beta)] = np.where(no_pairs, np.nan, area)
        for b, k in enumerate(opauc_ks):
            area = out[:, _N_FIXED + 2 * n_k + len(betas) + b] / pairs
            row_beta = np.minimum(k / np.maximum(n_neg, 1.0), 1.0)
            area = _normalize_rows(area, row_beta, normalize)
            columns[f"opauc@{k}/n_neg"] = np.where(no_pairs, np.nan, area)
    columns["n_pos"] = n_pos.astype(np.int64)
    columns["n_neg"] = n_neg.astype(np.int64)
    if no_pairs.any():
        warn_undefined(
            int(no_pairs.sum()),
            n_rows,
            f"no positives ({int(no_pos.sum())}) or no negatives "
            f"({int((no_pairs & ~no_pos).sum())}); Top-K metrics other than Precision are "
            "undefined without positives, AUC/OPAUC without either",
            3,
        )
    return pd.DataFrame(columns, index=inp.index)


# --------------------------------------------------------------------------------------
# Data as it comes: long tables and dicts of dicts
# --------------------------------------------------------------------------------------

UNSCORED = ("bottom", "drop")


def _labels_index(values) -> pd.Index:
    """Distinct labels, sorted when they can be, else in order of first appearance."""
    index = pd.Index(pd.unique(np.asarray(values, dtype=object))).infer_objects()
    try:
        return index.sort_values()
    except TypeError:
        return index


def _pivot(score_rows, truth_rows, exclude_rows, *, unscored: str, items=None, per_row=False):
    """Dense matrices from ``(user, item, value)`` triples; see :func:`evaluate_long`.

    ``score_rows``/``truth_rows`` are ``(users, items, values)``; ``exclude_rows`` is
    ``(users, items)`` or None. ``per_row``: a row's items are only those it scores or
    judges (dicts of dicts); otherwise every item of ``items`` (default: every item of
    either table). Returns ``(gains, scores, exclude, users)``: gains are the truth values
    clipped at 0, scores float64 with unscored cells filled per ``unscored``.
    """
    s_u, s_i, s_v = score_rows
    t_u, t_i, t_v = truth_rows
    users = _labels_index(np.concatenate([np.asarray(s_u, object), np.asarray(t_u, object)]))
    if items is None:
        item_index = _labels_index(
            np.concatenate([np.asarray(s_i, object), np.asarray(t_i, object)])
        )
    else:
        item_index = pd.Index(items)
        if not item_index.is_unique:
            raise ValueError("items must not repeat a label")
        for name, col in (("scores", s_i), ("truth", t_i)):
            missing = ~pd.Index(col).isin(item_index)
            if missing.any():
                raise ValueError(
                    f"items must list every item of {name}; {np.asarray(col)[missing][0]!r} "
                    "is missing"
                )
    shape = (len(users), len(item_index))
    r_s, c_s = users.get_indexer(s_u), item_index.get_indexer(s_i)
    r_t, c_t = users.get_indexer(t_u), item_index.get_indexer(t_i)
    scored = np.zeros(shape, dtype=bool)
    scored[r_s, c_s] = True
    if int(scored.sum()) != len(r_s):
        dup = pd.DataFrame({"u": r_s, "i": c_s}).duplicated().to_numpy()
        first = int(np.flatnonzero(dup)[0])
        raise ValueError(
            "scores must hold one score per (user, item) pair; the pair "
            f"({_plain(users[r_s[first]])!r}, {_plain(item_index[c_s[first]])!r}) repeats"
        )
    values = _canonical_scores(np.asarray(s_v))
    if values.ndim != 1:
        raise ValueError("scores' score column must be one-dimensional")
    if np.isnan(values).any():
        raise ValueError(
            f"scores must not hold NaN scores; the first is at position "
            f"{int(np.flatnonzero(np.isnan(values))[0])} of the table"
        )
    gains = np.zeros(shape)
    gains[r_t, c_t] = np.maximum(np.asarray(t_v, dtype=np.float64), 0.0)
    excl = None
    if exclude_rows is not None:
        x_r, x_c = users.get_indexer(exclude_rows[0]), item_index.get_indexer(exclude_rows[1])
        keep = (x_r >= 0) & (x_c >= 0)  # pairs outside both tables change nothing
        excl = np.zeros(shape, dtype=bool)
        excl[x_r[keep], x_c[keep]] = True
    if per_row:
        judged = np.zeros(shape, dtype=bool)
        judged[r_t, c_t] = True
        outside = ~(scored | judged)
        excl = outside if excl is None else excl | outside
    scores = np.zeros(shape)
    if unscored == "drop":
        excl = ~scored if excl is None else excl | ~scored
        scores[r_s, c_s] = values
    else:  # "bottom": strictly below every scored item, tied with each other
        if np.isneginf(values).any():
            values = np.unique(values, return_inverse=True)[1] + 1.0
            fill = 0.0
        else:
            fill = -np.inf
        scores[:] = fill
        scores[r_s, c_s] = values
    return gains, scores, excl, users


def _plain(value):
    """A NumPy scalar as the Python value it holds (for messages)."""
    return value.item() if isinstance(value, np.generic) else value


def _long_columns(frame, name: str, columns: dict[str, str]):
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    for arg, col in columns.items():
        if col not in frame.columns:
            raise ValueError(
                f"{name} has no column {col!r} (given as {arg}=); its columns are "
                f"{list(frame.columns)!r}"
            )
    return tuple(frame[col].to_numpy() for col in columns.values())


def evaluate_long(
    scores: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    user: str = "user",
    item: str = "item",
    score: str = "score",
    relevance: str | None = None,
    exclude: pd.DataFrame | None = None,
    items=None,
    unscored: str = "bottom",
    ks=(5, 10, 20, 50),
    betas=(0.01, 0.05, 0.1),
    opauc_ks=(),
    normalize: str | None = None,
    topk=("recall", "precision", "ndcg"),
    graded: bool = False,
) -> pd.DataFrame:
    """:func:`evaluate` on long tables: ``(user, item, score)`` rows and ``(user, item)`` truth.

    Parameters
    ----------
    scores : pandas.DataFrame
        One row per scored (user, item) pair, with columns ``user``, ``item``, ``score``
        (named by those arguments). A pair may appear once. Scores are real, not NaN.
    truth : pandas.DataFrame
        The relevant (user, item) pairs, columns ``user`` and ``item``; with
        ``relevance=``, a column of relevance values (a pair is a positive when its value
        is above 0; with ``graded`` NDCG uses it as the gain, values below 0 as 0).
    exclude : pandas.DataFrame, optional
        (user, item) pairs removed before ranking (training interactions), columns ``user``
        and ``item``. Pairs naming a user or item absent from both tables are ignored.
    items : sequence, optional
        The item catalogue each user is ranked over. Default: every item that appears in
        ``scores`` or ``truth``. Must contain every item of both tables.
    unscored : {{"bottom", "drop"}}, default "bottom"
        What happens to an item of the catalogue that has no score for a user (see Notes).
    ks, betas, opauc_ks, normalize, topk, graded
        As in :func:`evaluate`.

    Returns
    -------
    pandas.DataFrame
        :func:`evaluate`'s columns, one row per user of ``scores`` or ``truth``, indexed
        by the user ids (sorted where they can be).

    Notes
    -----
    For each user, every item of the catalogue is excluded (a pair in ``exclude``), scored,
    or unscored:

    * ``unscored="bottom"``: unscored items are ranked **below every scored item of the
      user, tied with each other**; each is a positive if it is in ``truth``, else a
      negative. So an unscored positive counts in Recall's ``n_pos`` and is never a hit
      (as ranx and trec_eval count relevant documents that were not retrieved) unless K
      reaches into the tied bottom group, where it gets its expected share; and every
      unscored negative counts in AUC/OPAUC as a negative that every scored positive beats
      (a pair of an unscored positive and an unscored negative counts 1/2, as a tie).
      This is the full-ranking evaluation of a model that scored only some items.
      Filling with ``-inf`` gives the same except where a scored item itself is ``-inf``
      (here it still ranks above the unscored ones).
    * ``unscored="drop"``: unscored items are **removed**, as if excluded: neither positive
      nor negative nor rank. An unscored positive is lost from ``n_pos``. This is the
      sampled-candidates evaluation, where each user is ranked over their own candidates
      only; AUC and OPAUC then count only pairs of scored items.

    The tables are pivoted into dense ``n_users x n_items`` matrices (about 10 bytes per
    cell); evaluate very large catalogues in chunks of users.

    Raises
    ------
    ValueError
        A missing column, a repeated (user, item) pair in ``scores``, NaN scores, an item
        outside ``items``, a bad ``unscored``, and as :func:`evaluate`.
    TypeError
        ``scores``, ``truth`` or ``exclude`` not a DataFrame.

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({{"user": [1, 1, 1, 2, 2], "item": ["a", "b", "c", "a", "c"],
    ...                        "score": [0.9, 0.5, 0.1, 0.3, 0.6]}})
    >>> truth = pd.DataFrame({{"user": [1, 2], "item": ["b", "b"]}})
    >>> df = evaluate_long(scores, truth, ks=(2,), betas=(), topk=("recall",))
    >>> df["recall@2"].to_dict()  # user 2 did not score "b": it ranks last
    {{1: 1.0, 2: 0.0}}
    >>> df["auc"].to_dict()
    {{1: 0.5, 2: 0.0}}
    """
    check_choice("unscored", unscored, UNSCORED)
    s_rows = _long_columns(scores, "scores", {"user": user, "item": item, "score": score})
    cols = {"user": user, "item": item}
    if relevance is not None:
        cols["relevance"] = relevance
    t_cols = _long_columns(truth, "truth", cols)
    t_rows = (*t_cols[:2], t_cols[2] if relevance is not None else np.ones(len(truth)))
    x_rows = None
    if exclude is not None:
        x_rows = _long_columns(exclude, "exclude", {"user": user, "item": item})
    gains, mat, excl, users = _pivot(s_rows, t_rows, x_rows, unscored=unscored, items=items)
    y = gains if graded else gains > 0
    df = evaluate(
        y,
        mat,
        ks=ks,
        betas=betas,
        exclude=excl,
        opauc_ks=opauc_ks,
        normalize=normalize,
        topk=topk,
        graded=graded,
    )
    df.index = users.rename(user)
    return df


def _from_dicts(y_true, y_score, exclude, graded: bool):
    """ranx/TREC ``{query: {doc: value}}`` qrels and run as aligned DataFrames."""
    if not (isinstance(y_true, Mapping) and isinstance(y_score, Mapping)):
        raise TypeError(
            "y_true and y_score must both be dicts of dicts ({query: {doc: value}}) or "
            f"neither; got {type(y_true).__name__} and {type(y_score).__name__}"
        )
    if exclude is not None:
        raise TypeError("exclude is not supported with dict input; leave the docs out instead")

    def triples(name, d):
        u, i, v = [], [], []
        for q, docs in d.items():
            if not isinstance(docs, Mapping):
                raise TypeError(
                    f"{name} must map each query to a dict {{doc: value}}, got "
                    f"{type(docs).__name__} for query {q!r}"
                )
            u.extend([q] * len(docs))
            i.extend(docs.keys())
            v.extend(docs.values())
        return u, i, v

    s_u, s_i, s_v = triples("y_score", y_score)
    t_u, t_i, t_v = triples("y_true", y_true)
    try:
        t_v = np.asarray(t_v, dtype=np.float64)
        s_v = np.asarray(s_v)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"dict values must be real numbers: {exc}") from exc
    if s_v.dtype.kind not in "biuf":
        raise TypeError(f"y_score's values must be real numbers, got dtype {s_v.dtype}")
    gains, mat, excl, users = _pivot(
        (s_u, s_i, s_v), (t_u, t_i, t_v), None, unscored="bottom", per_row=True
    )
    y = gains if graded else (gains > 0)
    return pd.DataFrame(y, index=users), pd.DataFrame(mat, index=users), excl, users


# --------------------------------------------------------------------------------------
# Streaming
# --------------------------------------------------------------------------------------


def _take_rows(name: str, matrix, rows: np.ndarray):
    if matrix is None:
        return None
    if sp.issparse(matrix):
        return sp.csr_matrix(matrix)[rows]
    if isinstance(matrix, pd.DataFrame):
        return matrix.iloc[rows].to_numpy()
    return _as_array(name, matrix)[rows]


def evaluate_scorer(
    score_fn,
    users,
    y_true,
    *,
    exclude=None,
    ks=(5, 10, 20, 50),
    betas=(0.01, 0.05, 0.1),
    opauc_ks=(),
    normalize: str | None = None,
    topk=("recall", "precision", "ndcg"),
    graded: bool = False,
    chunk: int = 1024,
) -> pd.DataFrame:
    """:func:`evaluate` for a model too large to score at once: users in chunks.

    Parameters
    ----------
    score_fn : callable
        ``score_fn(rows) -> scores``: for an int64 array of user rows, their scores over all
        items, shape ``(len(rows), n_items)`` (a NumPy array, or a torch tensor on any
        device, e.g. ``lambda u: user_emb[u] @ item_emb.T``).
    users : sequence of int
        The rows of ``y_true`` to evaluate, in the order of the output.
    y_true : array-like or scipy.sparse matrix, shape (n_users, n_items)
        Relevance of every user (row) and item, as in :func:`evaluate`.
    exclude : array-like or scipy.sparse matrix, optional
        Items removed per user (training interactions), shape of ``y_true``.
    ks, betas, opauc_ks, normalize, topk, graded
        As in :func:`evaluate`.
    chunk : int, default 1024
        Users scored per call of ``score_fn``. Memory is bounded by the chunk: about
        ``chunk * n_items * 10`` bytes beyond ``y_true`` and ``exclude`` themselves.

    Returns
    -------
    pandas.DataFrame
        :func:`evaluate`'s columns, indexed by ``users`` (index name ``user``). The values
        do not depend on ``chunk``. Undefined rows give one UndefinedMetricWarning in all.

    Raises
    ------
    ValueError
        A user outside ``[0, n_users)``, a ``score_fn`` result of the wrong shape, a bad
        ``chunk``, and as :func:`evaluate`.
    TypeError
        ``score_fn`` not callable.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([[1, 0, 0], [0, 0, 1]])
    >>> df = evaluate_scorer(lambda rows: np.tile([0.9, 0.5, 0.1], (len(rows), 1)),
    ...                      [0, 1], y, ks=(1,), betas=(), chunk=1)
    >>> df["recall@1"].tolist()
    [1.0, 0.0]
    """
    if not callable(score_fn):
        raise TypeError(f"score_fn must be callable, got {type(score_fn).__name__}")
    chunk = check_int("chunk", chunk, low=1)
    ks, betas = _check_ks(ks), _check_betas(betas)
    topk = _check_topk(topk)
    check_choice("normalize", normalize, NORMALIZATIONS)
    shape = y_true.shape if hasattr(y_true, "shape") else np.shape(y_true)
    if len(shape) != 2:
        raise ValueError(f"y_true must be 2-D (n_users, n_items), got shape {tuple(shape)}")
    users = np.asarray(users)
    if users.ndim != 1 or (users.size and users.dtype.kind not in "iu"):
        raise TypeError(f"users must be a 1-D sequence of integer rows, got dtype {users.dtype}")
    users = users.astype(np.int64)
    if users.size and (users.min() < 0 or users.max() >= shape[0]):
        bad = users[(users < 0) | (users >= shape[0])][0]
        raise ValueError(f"users must be rows of y_true in [0, {shape[0]}), got {bad}")
    parts = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        for start in range(0, len(users), chunk):
            rows = users[start : start + chunk]
            scores = _as_array("score_fn(rows)", score_fn(rows))
            if scores.shape != (len(rows), shape[1]):
                raise ValueError(
                    f"score_fn must return shape (len(rows), n_items) = "
                    f"{(len(rows), shape[1])}, got {scores.shape}"
                )
            parts.append(
                evaluate(
                    _take_rows("y_true", y_true, rows),
                    scores,
                    ks=ks,
                    betas=betas,
                    exclude=_take_rows("exclude", exclude, rows),
                    opauc_ks=opauc_ks,
                    normalize=normalize,
                    topk=topk,
                    graded=graded,
                )
            )
    if parts:
        df = pd.concat(parts, ignore_index=True)
    else:
        empty = np.zeros((0, shape[1]))
        df = evaluate(empty, empty, ks=ks, betas=betas, opauc_ks=opauc_ks, topk=topk)
    df.index = pd.Index(users, name="user")
    no_pos = df["n_pos"].to_numpy() == 0
    no_pairs = no_pos | (df["n_neg"].to_numpy() == 0)
    if no_pairs.any():
        warn_undefined(
            int(no_pairs.sum()),
            len(df),
            f"no positives ({int(no_pos.sum())}) or no negatives "
            f"({int((no_pairs & ~no_pos).sum())}); Top-K metrics other than Precision are "
            "undefined without positives, AUC/OPAUC without either",
            3,
        )
    return df


for _f in (
    recall_at_k,
    precision_at_k,
    ndcg_at_k,
    hit_rate_at_k,
    mrr_at_k,
    map_at_k,
    auc,
    opauc,
    evaluate,
    evaluate_long,
    evaluate_scorer,
):
    _f.__doc__ = _f.__doc__.format(arrays=_ARRAY_DOC, returns=_RETURNS_ROWS)
del _f
