"""The Numba kernels of :mod:`opauc_sim.metrics`: one pass per row yields every metric.

They trust their input: contiguous arrays, labels in {0, 1} or flagged, ``disc`` with at
least ``min(max(ks), n_items)`` entries; ``ks`` need not be sorted.

Every kernel that calls another lives in this file, and nowhere else: Numba's on-disk cache
(``cache=True``) keys a compiled function on its own file only, so a caller cached in one
file would keep running the old version of a callee edited in another.

The layouts are named once, here: :func:`_block_starts` (a row of statistics, read back by
``_stats.Stats``) and :func:`_scratch_bounds` (the per-chunk scratch buffers).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# The fixed head of a row of statistics; the blocks of _block_starts follow it.
_N_POS, _N_NEG, _BAD_LABEL, _NAN_SCORE, _AUC = 0, 1, 2, 3, 4
_N_FIXED = 5
# Placing negatives among n_g positive groups: one linear count up to _LINEAR_MAX groups,
# else a bucket table with a window of _WINDOW, falling back to a two-level count with
# blocks of _BLOCK (see _place_negatives).
_LINEAR_MAX = 96
_BLOCK = 16
_WINDOW = 8
# Up to this many positives in a row, their scores are ranked by counting, not sorted.
_RANK_SORT_MAX = 128


@njit(cache=True)
def _block_starts(n_k, n_b):
    """Where each block of a row's statistics starts, counted after its ``_N_FIXED`` head.

    The blocks are hits@K and DCG@K (``n_k`` each), the OPAUC areas (``n_b``), then the
    expected reciprocal rank, the AP sum and the hit probability at each K (``n_k`` each).
    Returns ``(hits, dcg, area, rr, ap, hit, end)``.
    """
    area = 2 * n_k
    rr = area + n_b
    return 0, n_k, area, rr, rr + n_k, rr + 2 * n_k, rr + 3 * n_k


@njit(cache=True)
def _scratch_bounds(n, n_k, n_b):
    """End offsets of the scratch views of a row of ``n`` items (see :func:`_scratch`).

    float64 ``buf``: positives ``[0, n)``, negatives, working space (``2 n + 3 _BLOCK``:
    the rank slots, then :func:`_place_negatives`' padded groups), the accumulators (one
    row of statistics without its head), the OPAUC cuts ``m`` (``n_b``). int64 ``ibuf``:
    group sizes ``[0, n)``, the histogram (``2 n + 2``), the bucket table (``2 n + 2``).
    Returns ``(neg, work, acc, m, end)`` for ``buf`` and ``(cnt, table, end)`` for ``ibuf``.
    """
    acc = 4 * n + 3 * _BLOCK
    m = acc + _block_starts(n_k, n_b)[-1]
    return n, 2 * n, acc, m, m + n_b, n, 3 * n + 2, 5 * n + 4


@njit(cache=True)
def _scratch(buf, ibuf, n, n_k, n_b):
    """The named views of the scratch buffers: the one place that slices them."""
    f_neg, f_work, f_acc, f_m, f_end, i_cnt, i_table, i_end = _scratch_bounds(n, n_k, n_b)
    return (
        buf[:f_neg],
        buf[f_neg:f_work],
        buf[f_work:f_acc],
        buf[f_acc:f_m],
        buf[f_m:f_end],
        ibuf[:i_cnt],
        ibuf[i_cnt:i_table],
        ibuf[i_table:i_end],
    )


@njit(cache=True)
def _split_row(scores, labels, excl, use_excl, pos, neg):
    """Copy the row's positive and negative scores into ``pos`` and ``neg`` (compact).

    Returns ``(n_pos, n_neg, bad, nan)``: the counts, labels outside {0, 1}, NaN scores.
    """
    n_pos = 0
    n_neg = 0
    bad = 0
    nan = 0
    for j in range(scores.shape[0]):
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
    return n_pos, n_neg, bad, nan


@njit(cache=True)
def _group_positives(pos, n_pos, gpos, slot):
    """Distinct positive scores ``pos[0] < ... < pos[n_g - 1]``, their counts in ``gpos``.

    Returns ``n_g``. Up to ``_RANK_SORT_MAX`` positives, they are ranked by counting (rank =
    number of smaller scores, equal scores share a rank, ``slot`` holds them by rank):
    branch-free and vectorised, faster than a sort on short rows; beyond, sorted.
    """
    n_g = 0
    if n_pos <= _RANK_SORT_MAX:
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
    return n_g


@njit(cache=True)
def _count_above(neg, n_neg, v):
    """``(#{s > v}, #{s >= v})`` over the negatives, in one vectorised pass."""
    n_gt = 0
    n_ge = 0
    for j in range(n_neg):
        s = neg[j]
        n_gt += s > v
        n_ge += s >= v
    return n_gt, n_ge


@njit(cache=True)
def _add_roc_area(area, m, x, y, dx, dy):
    """Add to ``area[b]`` the part left of the cut ``m[b]`` of the ROC segment from
    ``(x, y)`` to ``(x + dx, y + dy)`` (in negatives and positives, ``dx > 0``): a
    horizontal stretch (``dy = 0``) or the diagonal through a tie group."""
    for b in range(m.shape[0]):
        if x < m[b]:
            w = min(dx, m[b] - x)
            if dy == 0.0:
                area[b] += y * w
            else:
                area[b] += y * w + dy * w * w / (2.0 * dx)


@njit(cache=True)
def _add_topk(ks, disc, want_rank, above, size, g_pos, y, hits, dcg, rr, ap, hit):
    """Add one tie group's expected share of the Top-K statistics at every K.

    The group (``size`` items, ``g_pos`` positives) occupies ranks ``[above, above + size)``
    with ``y`` positives certainly above it. In expectation over a uniformly random order
    inside the group, a slot at offset ``j`` holds a positive with probability
    ``p = g_pos / size``, and a pair of slots both do with probability
    ``p2 = g_pos (g_pos - 1) / (size (size - 1))``; so
    ``E[rel(r) * hits in ranks <= r] = p (1 + y) + j p2`` (groups are independent). The
    first positive lies in the first group walked (``y == 0``), at offset ``j`` with
    probability ``prod_{i<j} (size - g_pos - i) / (size - i) * g_pos / (size - j)``.
    ``rr``, ``ap`` and ``hit`` are only filled with ``want_rank``.
    """
    for t in range(ks.shape[0]):
        k = ks[t]
        if above >= k:
            continue
        if size == 1:
            hits[t] += 1.0
            dcg[t] += disc[above]
            if want_rank:
                ap[t] += (1.0 + y) / (above + 1)
                if y == 0.0:
                    rr[t] += 1.0 / (above + 1)
                    hit[t] = 1.0
            continue
        end = min(above + size, k)
        frac = g_pos / size
        hits[t] += frac * (end - above)
        d = 0.0
        for r in range(above, end):
            d += disc[r]
        dcg[t] += frac * d
        if want_rank:
            p2 = g_pos * (g_pos - 1.0) / (size * (size - 1.0))
            a = 0.0
            for r in range(above, end):
                a += (frac * (1.0 + y) + (r - above) * p2) / (r + 1)
            ap[t] += a
            if y == 0.0:
                surv = 1.0  # P(no positive in the offsets before j)
                rr_sum = 0.0
                for r in range(above, end):
                    j = r - above
                    rr_sum += surv * g_pos / (size - j) / (r + 1)
                    surv *= (size - g_pos - j) / (size - j)
                rr[t] += rr_sum
                hit[t] = 1.0 - surv


@njit(cache=True)
def _row_stats(
    scores, labels, excl, use_excl, ks, m_scale, m_const, want_auc, want_rank, disc, out, buf, ibuf
):
    """Fill ``out``, one row of statistics, for one row of scores (scratch: ``buf``, ``ibuf``).

    ``out`` holds ``[n_pos, n_neg, bad_label, nan_score, auc_pairs]`` then the blocks of
    :func:`_block_starts`; the areas are in units of (positive, negative) pairs, not yet
    divided by ``n_pos * n_neg``, and the AP sums not yet divided by ``n_pos``. The cut of
    OPAUC column ``b``, in negatives, is ``m = min(m_scale[b] * n_neg + m_const[b], n_neg)``
    for this row's ``n_neg``: a fixed beta is ``(beta, 0)``, a per-row beta = K / n_neg is
    ``(0, K)``. ``buf`` and ``ibuf`` are sized by :func:`_scratch_bounds`.

    Negatives are counted against the positive groups, exactly and free of data-dependent
    branches in the inner loops (a binary search per negative pays a mispredicted branch
    per level; benchmarks/bench_placement.py): with few groups (``n_g <= _LINEAR_MAX``),
    group by group from the top, one vectorised count of the negatives above each (the walk
    stops once every K and cut is passed, unless AUC needs every group); with many, every
    negative is placed once into a histogram over the groups (:func:`_place_negatives`).
    """
    n_k, n_b = ks.shape[0], m_scale.shape[0]
    pos, neg, work, acc, m, gpos, cnt, table = _scratch(buf, ibuf, scores.shape[0], n_k, n_b)
    n_pos, n_neg, bad, nan = _split_row(scores, labels, excl, use_excl, pos, neg)
    out[_N_POS] = n_pos
    out[_N_NEG] = n_neg
    out[_BAD_LABEL] = bad
    out[_NAN_SCORE] = nan
    if bad > 0 or nan > 0:
        return
    u = pos  # the distinct positive scores, ascending
    n_g = _group_positives(pos, n_pos, gpos, work)
    count_down = n_g <= _LINEAR_MAX
    if not count_down:
        _place_negatives(u, n_g, neg, n_neg, cnt, work, table)
    i_hits, i_dcg, i_area, i_rr, i_ap, i_hit, i_end = _block_starts(n_k, n_b)
    acc[:] = 0.0
    hits, dcg, area = acc[i_hits:i_dcg], acc[i_dcg:i_area], acc[i_area:i_rr]
    rr, ap, hit = acc[i_rr:i_ap], acc[i_ap:i_hit], acc[i_hit:i_end]
    m_max = 0.0
    for b in range(n_b):
        m[b] = min(m_scale[b] * n_neg + m_const[b], float(n_neg))
        m_max = max(m_max, m[b])
    k_max = 0
    for t in range(n_k):
        k_max = max(k_max, ks[t])
    # Walk the groups from the top. x: negatives passed (ROC abscissa, in negatives);
    # y: positives passed; above: items strictly above the current group.
    x = 0.0
    y = 0.0
    above = 0
    auc_pairs = 0.0
    at_or_above_prev = 0  # negatives at or above the group before (count_down only)
    for q in range(n_g - 1, -1, -1):
        if count_down:
            n_gt, n_ge = _count_above(neg, n_neg, u[q])
            w_gap = n_gt - at_or_above_prev
            g_neg = n_ge - n_gt
            at_or_above_prev = n_ge
        else:
            w_gap = cnt[2 * (q + 1)]
            g_neg = cnt[2 * (q + 1) + 1]
        if w_gap > 0:  # the negatives strictly between this group and the one above
            _add_roc_area(area, m, x, y, float(w_gap), 0.0)
            auc_pairs += y * w_gap
            x += w_gap
            above += w_gap
        g_pos = gpos[q]
        size = g_pos + g_neg
        _add_topk(ks, disc, want_rank, above, size, g_pos, y, hits, dcg, rr, ap, hit)
        if g_neg > 0:  # vertical (no tied negatives) or diagonal through the tie group
            _add_roc_area(area, m, x, y, float(g_neg), float(g_pos))
            auc_pairs += g_neg * (y + 0.5 * g_pos)
        x += g_neg
        y += g_pos
        above += size
        if not want_auc and above >= k_max and x >= m_max:
            break  # every requested metric is complete; the lower groups change nothing
    # Below the last group walked the curve runs at height y to the end.
    _add_roc_area(area, m, x, y, n_neg - x, 0.0)
    auc_pairs += y * (n_neg - x)
    out[_AUC] = auc_pairs
    for t in range(acc.shape[0]):
        out[_N_FIXED + t] = acc[t]


@njit(cache=True)
def _place_negatives(u, n_g, neg, n_neg, cnt, fbuf, ibuf):
    """Histogram of the negatives over the ``n_g`` positive groups ``u`` (ascending).

    ``cnt[2r]`` counts the negatives strictly between groups ``r - 1`` and ``r`` (``r =
    n_g``: above all), ``cnt[2r + 1]`` those tied with group ``r - 1``, where ``r = #{u <=
    s}`` comes from a monotone bucket table plus a fixed window of ``_WINDOW`` comparisons,
    or, for a crowded bucket or infinite scores, from a two-level count (every
    ``_BLOCK``-th value, then one block). ``fbuf`` needs ``2 n + 3 _BLOCK`` float64
    entries, ``ibuf`` ``2 n + 2`` int64.
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
    sizes = _scratch_bounds(n, ks.shape[0], m_scale.shape[0])
    for c in prange(n_chunks):
        lo = c * n_rows // n_chunks
        hi = (c + 1) * n_rows // n_chunks
        buf = np.empty(sizes[4], dtype=np.float64)
        ibuf = np.empty(sizes[7], dtype=np.int64)
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
