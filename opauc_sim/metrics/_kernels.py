"""The Numba kernels of :mod:`opauc_sim.metrics`: one pass per row yields every metric.

They trust their input: contiguous arrays, labels coded as below, CSR indices sorted and
unique, ``disc`` with at least ``min(max(ks), n_items)`` entries; ``ks`` need not be
sorted.

Two front ends bring a row to one form, and one core computes its statistics:

* :func:`_batch_stats` (dense labels and exclusion mask, one byte per item) gathers the
  scores of the positives and of the excluded items of each row in one branch-free pass;
* :func:`_batch_stats_csr` (labels and exclusion as CSR index lists, the form of
  full-ranking evaluation, where a user has a few dozen held-out and training items among
  tens of thousands) reads the same two lists straight from the indices, without touching
  the rest of the row;
* :func:`_row_core` then counts over the **whole row of scores** (no copy of the
  negatives: a count over all items, minus the positives and the excluded items, which
  are few), so its inner loops are pure vectorised comparisons of the scores.

Label codes of the dense canonical form: ``0`` negative, ``1`` positive, ``2`` a label
outside {0, 1} (reported), ``3`` a positive that can never be a hit (a relevant document
the run did not retrieve, ranked below every scored item: it counts in ``n_pos`` and in
AUC/OPAUC, never in hits@K).

Every helper is compiled with ``inline="always"`` (its body is part of its caller): as a
call (58adbc9 to 5092b85), each tie group paid the passing of a dozen array structures and
their reference counts, which doubled the kernel's time. Every kernel that calls another
lives in this file: Numba's on-disk cache keys a compiled function on its own file only, so
a cached caller would keep running the old version of a callee edited in another file.

The layouts are named once, here: :func:`_block_starts` (a row of statistics, read back by
``_driver.Stats``) and :func:`_scratch` (the per-chunk scratch buffers).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# The fixed head of a row of statistics; the blocks of _block_starts follow it.
_N_POS, _N_NEG, _BAD_LABEL, _NAN_SCORE, _AUC = 0, 1, 2, 3, 4
_N_FIXED = 5
# Label codes of the canonical form (see the module docstring).
NEG, POS, BAD, MISS = 0, 1, 2, 3
# Count-down passes over a row (one per positive group, from the top) before the rest of
# the row's negatives are placed at once into a histogram over the groups: a pass costs
# about 1/25 of a placement (benchmarks/bench_placement.py).
_LINEAR_MAX = 24
# Buckets of the placement table per positive group, and at most.
_BUCKETS_PER_GROUP = 8
_MAX_BUCKETS = 1 << 14
# A bucket holding more positive groups than this is searched by bisection.
_WINDOW = 8
# Up to this many positives in a row, their scores are ranked by counting, not sorted.
_RANK_SORT_MAX = 128


@njit(cache=True, inline="always")
def _block_starts(n_k, n_b):
    """Where each block of a row's statistics starts, counted after its ``_N_FIXED`` head.

    The blocks are hits@K and DCG@K (``n_k`` each), the OPAUC areas (``n_b``), then the
    expected reciprocal rank, the AP sum and the hit probability at each K (``n_k`` each).
    Returns ``(hits, dcg, area, rr, ap, hit, end)``.
    """
    area = 2 * n_k
    rr = area + n_b
    return 0, n_k, area, rr, rr + n_k, rr + 2 * n_k, rr + 3 * n_k


@njit(cache=True, inline="always")
def _n_buckets(n_g):
    return min(_BUCKETS_PER_GROUP * n_g, _MAX_BUCKETS)


@njit(cache=True, inline="always")
def _scratch(n, n_k, n_b, dtype):
    """One chunk's scratch space for rows of ``n`` items: the positives', the excluded
    items' and the counting sort's scores, the accumulators (a row of statistics without its
    head), the OPAUC cuts ``m``, the group sizes, the histogram over the groups (``2 n +
    3``), the bucket table of :func:`_place` (``base``, ``probe``, ``last``, ``gb``) and the
    items' buckets."""
    t = _n_buckets(max(n, 1)) + 3
    return (
        np.empty(n + 1, dtype=dtype),
        np.empty(n + 1, dtype=dtype),
        np.empty(n + 1, dtype=dtype),
        np.empty(_block_starts(n_k, n_b)[-1], dtype=np.float64),
        np.empty(n_b, dtype=np.float64),
        np.empty(n + 1, dtype=np.int64),
        np.empty(2 * n + 3, dtype=np.int64),
        np.empty(t, dtype=np.int32),
        np.empty(t, dtype=dtype),
        np.empty(t, dtype=np.int32),
        np.empty(n + 1, dtype=np.int32),
        np.empty(n, dtype=np.int32),
    )


@njit(cache=True, inline="always")
def _gather_dense(scores, labels, excl, use_excl, pos, ex):
    """The scores of a row's positives and excluded items, into ``pos`` and ``ex``.

    A branch-free pass stores every score and advances the counts by the labels; the other
    counts take two passes that vectorise (in the first, they made it 1.5x slower). Returns
    ``(n_pos, n_ex, n_miss, bad, nan)``: positives (misses included), excluded items,
    misses, labels outside the codes and NaN scores (excluded items not in the last three).
    """
    n_pos = n_ex = n_miss = bad = nan = 0
    n = scores.shape[0]
    if use_excl:
        for j in range(n):
            s = scores[j]
            lab = labels[j]
            out = excl[j] != 0
            pos[n_pos] = s
            ex[n_ex] = s
            n_ex += out
            n_pos += ~out & ((lab == POS) | (lab == MISS))
        for j in range(n):  # vectorised
            lab = labels[j]
            keep = excl[j] == 0
            n_miss += keep & (lab == MISS)
            bad += keep & ((lab == BAD) | (lab > MISS))
        for j in range(n):  # vectorised
            s = scores[j]
            nan += (excl[j] == 0) & (s != s)
    else:
        for j in range(n):
            lab = labels[j]
            pos[n_pos] = scores[j]
            n_pos += (lab == POS) | (lab == MISS)
        for j in range(n):  # vectorised
            lab = labels[j]
            n_miss += lab == MISS
            bad += (lab == BAD) | (lab > MISS)
        nan = _count_nan(scores)
    return n_pos, n_ex, n_miss, bad, nan


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
def _count_above(row, v):
    """``(#{s > v}, #{s >= v})`` over a whole row of scores, in one vectorised pass."""
    n_gt = 0
    n_ge = 0
    for j in range(row.shape[0]):
        s = row[j]
        n_gt += s > v
        n_ge += s >= v
    return n_gt, n_ge


@njit(cache=True, inline="always")
def _count_list(vals, n, v):
    """``(#{s > v}, #{s >= v})`` over the first ``n`` scores of ``vals``."""
    n_gt = 0
    n_ge = 0
    for j in range(n):
        s = vals[j]
        n_gt += s > v
        n_ge += s >= v
    return n_gt, n_ge


@njit(cache=True, inline="always")
def _count_nan(row):
    n = 0
    for j in range(row.shape[0]):
        s = row[j]
        n += s != s
    return n


@njit(cache=True, inline="always")
def _bucket(s, lo, hi, scale, nb):
    """The bucket of score ``s``: 0 below ``lo``, ``nb + 2`` above ``hi`` (and for NaN),
    else ``min(floor((s - lo) * scale), nb) + 1``: non-decreasing in ``s``, as every step
    (a subtraction, a product by a positive number, a floor) is monotone in floating point.
    An int32 (``nb`` is at most ``_MAX_BUCKETS``): on AVX2, which has no vector conversion
    of a double to a 64-bit integer, the loop over a row vectorises only so."""
    x = (float(s) - lo) * scale
    x = x if x < nb else float(nb)  # NaN: nb
    x = x if x > 0.0 else 0.0
    b = np.int32(x) + np.int32(1)
    b = np.int32(0) if s < lo else b
    return np.int32(nb + 2) if not s <= hi else b  # branch-free: the loop vectorises


@njit(cache=True, inline="always")
def _rank_in(u, lo_q, hi_q, s):
    """``#{u[q] <= s}`` for the groups ``q`` in ``[lo_q, hi_q)``, plus ``lo_q``: a count
    for a few groups, a bisection for many (a crowded bucket)."""
    if hi_q - lo_q <= _WINDOW:
        r = lo_q
        for q in range(lo_q, hi_q):
            r += u[q] <= s
        return r
    a = lo_q
    b = hi_q
    while a < b:
        mid = (a + b) >> 1
        if u[mid] <= s:
            a = mid + 1
        else:
            b = mid
    return a


@njit(cache=True, inline="always")
def _cell(u, lo_q, hi_q, s):
    """The histogram cell ``2 r + tie`` of score ``s`` whose bucket holds the groups
    ``[lo_q, hi_q)`` (``r = #{u <= s}``, ``tie = u[r - 1] == s``): branch-free for the
    usual bucket holding one group, else by :func:`_rank_in`."""
    if hi_q - lo_q == 1:
        v = u[lo_q]
        return 2 * lo_q + 2 * (v <= s) + (v == s)
    r = _rank_in(u, lo_q, hi_q, s)
    return 2 * r + (1 if r > 0 and u[r - 1] == s else 0)


@njit(cache=True, inline="always")
def _bucket_table(u, n_g, lo, hi, scale, nb, table):
    """The bucket table of :func:`_place` over the groups ``u`` (ascending).

    ``table`` is ``(base, probe, last, gb)``. A score ``s`` in bucket ``b`` lies in
    histogram cell ``base[b] + 2 (probe[b] <= s) + (probe[b] == s)`` when the bucket holds
    at most one group: ``base[b] = 2 q`` for the ``q`` groups below the bucket, ``probe[b]``
    the group's score, or NaN (every comparison false) for a bucket holding none. A bucket
    holding the groups ``[q, last[b])``, two or more, has ``base[b] = -1 - q`` and a NaN
    probe: its items are placed one by one. ``gb`` receives each group's bucket.
    """
    base, probe, last, gb = table
    for c in range(nb + 3):  # vectorised
        base[c] = 0
        probe[c] = np.nan
    for q in range(n_g):
        b = _bucket(u[q], lo, hi, scale, nb)
        gb[q] = b
        if b + 1 < nb + 3:
            base[b + 1] += 2
    for c in range(1, nb + 3):  # base[c]: twice the groups in the buckets below c
        base[c] += base[c - 1]
    q = 0
    while q < n_g:
        b = gb[q]
        h = q + 1
        while h < n_g and gb[h] == b:
            h += 1
        if h == q + 1:
            probe[b] = u[q]
        else:
            base[b] = -1 - q
            last[b] = h
        q = h


@njit(cache=True, inline="always")
def _place(u, n_g, row, gpos, ex, n_ex, cnt, table, bid):
    """Histogram of a row's negatives over its ``n_g`` positive groups ``u`` (ascending).

    ``cnt[2r]`` counts the negatives strictly between groups ``r - 1`` and ``r`` (``r =
    n_g``: above all), ``cnt[2r + 1]`` those tied with group ``r - 1``. Every item of the
    row is placed, then the positives (``gpos`` per group) and the ``n_ex`` excluded items
    are taken out again. ``r = #{u <= s}`` comes from a bucket table over the finite groups
    (:func:`_bucket`, :func:`_bucket_table`): an item in a bucket holding at most one group
    gets its cell in one branch-free pass (one comparison with that group), then a second
    pass counts the cells; an item of a bucket holding more is compared with its groups.
    Returns False, placing nothing, when the table cannot be built (fewer than two finite
    groups, or a range that overflows): the caller counts instead.
    """
    q_lo = 0
    while q_lo < n_g and not np.isfinite(u[q_lo]):
        q_lo += 1
    q_hi = n_g - 1
    while q_hi >= 0 and not np.isfinite(u[q_hi]):
        q_hi -= 1
    if q_hi <= q_lo:
        return False
    lo, hi, n, nb = float(u[q_lo]), float(u[q_hi]), row.shape[0], _n_buckets(n_g)
    scale = nb / (hi - lo)
    if not (0.0 < scale < np.inf):
        return False
    _bucket_table(u, n_g, lo, hi, scale, nb, table)
    base, probe, last, _ = table
    later = 2 * n_g + 2  # the cell that collects the listed items, never read
    for r in range(later + 1):
        cnt[r] = 0
    for j in range(n):  # vectorised
        bid[j] = _bucket(row[j], lo, hi, scale, nb)
    n_later = 0
    for j in range(n):  # branch-free; the items' cells replace their buckets in ``bid``
        s, t, p = row[j], base[bid[j]], probe[bid[j]]
        c = t + 2 * np.int32(p <= s) + np.int32(p == s)
        bid[j] = c if t >= 0 else later
        n_later += t < 0
    for j in range(n):  # apart: inside the loop above it made that loop 1.6x slower
        cnt[bid[j]] += 1
    if n_later > 0:  # the items of the crowded buckets
        for j in range(n):
            if bid[j] == later:
                s = row[j]
                b = _bucket(s, lo, hi, scale, nb)
                cnt[_cell(u, -1 - base[b], last[b], s)] += 1
    for q in range(n_g):
        cnt[2 * (q + 1) + 1] -= gpos[q]
    for j in range(n_ex):
        s = ex[j]
        b = _bucket(s, lo, hi, scale, nb)
        t, p = base[b], probe[b]
        cnt[t + 2 * (p <= s) + (p == s) if t >= 0 else _cell(u, -1 - t, last[b], s)] -= 1
    return True


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
def _add_topk(ks, disc, want_rank, above, size, g_pos, y, hits, dcg, rr, ap, hit):
    """Add one tie group's expected share of the Top-K statistics at every K.

    The group (``size`` items, ``g_pos`` of them positives that can be hits) occupies
    ranks ``[above, above + size)`` with ``y`` positives certainly above it. In expectation
    over a uniformly random order inside the group, a slot at offset ``j`` holds a positive
    with probability ``p = g_pos / size``, and a pair of slots both do with probability
    ``p2 = g_pos (g_pos - 1) / (size (size - 1))``; so
    ``E[rel(r) * hits in ranks <= r] = p (1 + y) + j p2`` (groups are independent). The
    first positive lies in the first group walked (``y == 0``), at offset ``j`` with
    probability ``prod_{i<j} (size - g_pos - i) / (size - i) * g_pos / (size - j)``.
    ``rr``, ``ap`` and ``hit`` are only filled with ``want_rank``.
    """
    if g_pos == 0:
        return
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


@njit(cache=True, inline="always")
def _row_core(row, pos, n_pos, n_miss, ex, n_ex, options, out, sc):
    """Fill ``out``, one row of statistics, from a row's scores and its two lists.

    ``row`` holds every item's score; ``pos[:n_pos]`` the scores of the positives (the
    ``n_miss`` that can never be hits among them, all below every other item), and
    ``ex[:n_ex]`` those of the excluded items; ``options`` is ``(ks, m_scale, m_const,
    want_auc, want_rank, disc)`` as given to the batch kernels. ``out`` receives
    ``n_neg`` and the blocks of :func:`_block_starts` after its head (whose counts and
    flags the caller fills): the
    areas in (positive, negative) pairs, not yet divided by ``n_pos * n_neg``, and the AP
    sums not yet divided by ``n_pos``. The cut of OPAUC column ``b``, in negatives, is
    ``m = min(m_scale[b] * n_neg + m_const[b], n_neg)`` for this row's ``n_neg``: a fixed
    beta is ``(beta, 0)``, a per-row beta = K / n_neg is ``(0, K)``.

    The groups are walked from the top. The negatives above each are counted over the whole
    row, minus the positives and excluded items above it, one vectorised pass per group;
    after ``_LINEAR_MAX`` passes (or at once, when AUC needs every group of a row with more)
    the remaining negatives are placed in one go (:func:`_place`). The walk stops as soon
    as every K and cut is complete, unless AUC needs every group.
    """
    ks, m_scale, m_const, want_auc, want_rank, disc = options
    slot, acc, m, gpos, cnt, base, probe, last, gb, bid = sc
    table = (base, probe, last, gb)
    n_k, n_b = ks.shape[0], m_scale.shape[0]
    n_neg = row.shape[0] - n_ex - n_pos
    out[_N_NEG] = n_neg
    u = pos  # the distinct positive scores, ascending
    n_g = _group_positives(pos, n_pos, gpos, slot)
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
    # x: negatives passed (ROC abscissa, in negatives); y: positives passed (y_int as an
    # integer); above: items strictly above the current group.
    x = 0.0
    y = 0.0
    y_int = 0
    above = 0
    auc_pairs = 0.0
    at_or_above_prev = 0  # negatives at or above the group before (counting only)
    passes = _LINEAR_MAX if want_auc and n_g > _LINEAR_MAX else 0
    placed = False
    for q in range(n_g - 1, -1, -1):
        if passes == _LINEAR_MAX:  # place the rest at once (tried once per row)
            placed = _place(u, n_g, row, gpos, ex, n_ex, cnt, table, bid)
            passes += 1
        if placed:
            w_gap = cnt[2 * (q + 1)]
            g_neg = cnt[2 * (q + 1) + 1]
        else:
            v = u[q]
            n_gt, n_ge = _count_above(row, v)
            x_gt, x_ge = _count_list(ex, n_ex, v)
            n_gt -= x_gt + y_int
            n_ge -= x_ge + y_int + gpos[q]
            w_gap = n_gt - at_or_above_prev
            g_neg = n_ge - n_gt
            at_or_above_prev = n_ge
            passes += 1
        if w_gap > 0:  # the negatives strictly between this group and the one above
            _add_roc_area(area, m, x, y, float(w_gap), 0.0)
            auc_pairs += y * w_gap
            x += w_gap
            above += w_gap
        g_pos = gpos[q]
        size = g_pos + g_neg
        g_hit = g_pos - n_miss if q == 0 else g_pos  # the misses are the lowest group
        _add_topk(ks, disc, want_rank, above, size, g_hit, y, hits, dcg, rr, ap, hit)
        if g_neg > 0:  # vertical (no tied negatives) or diagonal through the tie group
            _add_roc_area(area, m, x, y, float(g_neg), float(g_pos))
            auc_pairs += g_neg * (y + 0.5 * g_pos)
        x += g_neg
        y += g_pos
        y_int += g_pos
        above += size
        if not want_auc and above >= k_max and x >= m_max:
            break  # every requested metric is complete; the lower groups change nothing
    # Below the last group walked the curve runs at height y to the end.
    _add_roc_area(area, m, x, y, n_neg - x, 0.0)
    auc_pairs += y * (n_neg - x)
    out[_AUC] = auc_pairs
    for t in range(acc.shape[0]):
        out[_N_FIXED + t] = acc[t]


@njit(cache=True, parallel=True)
def _batch_stats(
    scores, labels, excl, use_excl, ks, m_scale, m_const, want_auc, want_rank, disc, out, n_chunks
):
    """Dense labels (and mask): rows in ``n_chunks`` contiguous chunks, run in parallel.

    ``out`` holds, per row, ``[n_pos, n_neg, bad_label, nan_score, auc_pairs]`` then the
    blocks of :func:`_block_starts` (see :func:`_row_core`). Each row's result depends on
    that row alone, so the output is the same for any ``n_chunks`` and number of threads.
    """
    n_rows, n = scores.shape
    options = (ks, m_scale, m_const, want_auc, want_rank, disc)
    for c in prange(n_chunks):
        lo = c * n_rows // n_chunks
        hi = (c + 1) * n_rows // n_chunks
        sc = _scratch(n, ks.shape[0], m_scale.shape[0], scores.dtype)
        pos, ex = sc[0], sc[1]
        for i in range(lo, hi):
            # excl[0] is a placeholder row when there is nothing to exclude.
            row_excl = excl[i] if use_excl else excl[0]
            n_pos, n_ex, n_miss, bad, nan = _gather_dense(
                scores[i], labels[i], row_excl, use_excl, pos, ex
            )
            o = out[i]
            o[_N_POS] = n_pos
            o[_N_NEG] = n - n_ex - n_pos
            o[_BAD_LABEL] = bad
            o[_NAN_SCORE] = nan
            if bad > 0 or nan > 0:
                continue
            _row_core(scores[i], pos, n_pos, n_miss, ex, n_ex, options, o, sc[2:])


@njit(cache=True, parallel=True)
def _batch_stats_csr(
    scores,
    pos_ptr,
    pos_idx,
    ex_ptr,
    ex_idx,
    use_excl,
    ks,
    m_scale,
    m_const,
    want_auc,
    want_rank,
    disc,
    out,
    n_chunks,
):
    """Labels and exclusion as CSR index lists (sorted, unique; every stored label is a 1).

    Row ``i``'s positives are ``pos_idx[pos_ptr[i]:pos_ptr[i + 1]]`` less its excluded
    items ``ex_idx[ex_ptr[i]:ex_ptr[i + 1]]``. ``out`` as in :func:`_batch_stats`; NaN
    scores of excluded items are allowed, as there.
    """
    n_rows, n = scores.shape
    options = (ks, m_scale, m_const, want_auc, want_rank, disc)
    for c in prange(n_chunks):
        lo = c * n_rows // n_chunks
        hi = (c + 1) * n_rows // n_chunks
        sc = _scratch(n, ks.shape[0], m_scale.shape[0], scores.dtype)
        pos, ex = sc[0], sc[1]
        for i in range(lo, hi):
            row = scores[i]
            n_pos = 0
            n_ex = 0
            nan_ex = 0
            e = ex_ptr[i] if use_excl else 0
            e_end = ex_ptr[i + 1] if use_excl else 0
            for p in range(pos_ptr[i], pos_ptr[i + 1]):
                j = pos_idx[p]
                while e < e_end and ex_idx[e] < j:
                    e += 1
                if e < e_end and ex_idx[e] == j:
                    continue
                pos[n_pos] = row[j]
                n_pos += 1
            if use_excl:
                for p in range(ex_ptr[i], ex_ptr[i + 1]):
                    s = row[ex_idx[p]]
                    ex[n_ex] = s
                    nan_ex += s != s
                    n_ex += 1
            nan = _count_nan(row) - nan_ex
            o = out[i]
            o[_N_POS] = n_pos
            o[_N_NEG] = n - n_ex - n_pos
            o[_BAD_LABEL] = 0
            o[_NAN_SCORE] = nan
            if nan > 0:
                continue
            _row_core(row, pos, n_pos, 0, ex, n_ex, options, o, sc[2:])
