"""Numba kernels of the correlation study: the exact DP and the streaming moment sums.

They trust their input (ascending grids, valid ranks); :mod:`.engines` validates and drives
them.

Why these kernels share one file: an ``@njit(cache=True)`` function that calls another
compiled function keeps the callee's machine code in its own cache entry, and Numba checks
only the caller's source file to decide whether that entry is stale. A caller in one file
and its callee in another would keep running the old callee after an edit. So every kernel
here calls only kernels of this file (``_dp_batch`` -> ``_dp_one``, ``_moment_sums_batch``
-> ``_row_pairs_table``), and none of them calls a kernel of another module: the hits@K and
DCG@K of each ranking come from :func:`opauc_sim.metrics.ranks._topk_batch`, called from
Python by :mod:`.engines` before :func:`_moment_sums_batch` (a Python-level call checks each
kernel's cache against its own file).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# ---------------------------------------------------------------------------------------
# Exact moments under uniform rankings (a forward DP over the ranking lattice)
# ---------------------------------------------------------------------------------------


@njit(cache=True)
def _dp_one(n_pos, n_neg, f, ms, out_x, out_y, out_xy):
    """Exact moments of x = sum_{positives} f[rank] and y = C(m) for each m of ``ms``.

    The ranking is a lattice path from (0, 0) to (n_pos, n_neg); from (i, j) the next item
    is positive with probability (n_pos - i) / (n - i - j). The state carries the path
    probability and the partial sums of x, x^2, y, y^2, xy weighted by it. A positive
    placed at (i, j) sits at rank i + j with j negatives above it: it adds f[i + j] to x and
    max(0, m - j) to y.

    Writes ``out_x = (E[x], E[x^2])``, ``out_y[:, b] = (E[y], E[y^2])``, ``out_xy[b] = E[xy]``.
    """
    n = n_pos + n_neg
    n_b = ms.shape[0]
    size = n_neg + 1
    w = np.zeros(size)
    sx = np.zeros(size)
    sxx = np.zeros(size)
    sy = np.zeros((size, n_b))
    syy = np.zeros((size, n_b))
    sxy = np.zeros((size, n_b))
    w2 = np.zeros(size)
    sx2 = np.zeros(size)
    sxx2 = np.zeros(size)
    sy2 = np.zeros((size, n_b))
    syy2 = np.zeros((size, n_b))
    sxy2 = np.zeros((size, n_b))
    gain = np.empty(n_b)
    # Row i = 0: only negatives so far.
    w[0] = 1.0
    for j in range(1, size):
        w[j] = w[j - 1] * (1.0 - n_pos / (n - (j - 1)))
    for i in range(n_pos):
        for j in range(size):
            # Positive step from (i, j) to (i + 1, j).
            q = (n_pos - i) / (n - i - j)
            xv = f[i + j]
            w2[j] = q * w[j]
            sx2[j] = q * (sx[j] + w[j] * xv)
            sxx2[j] = q * (sxx[j] + 2.0 * xv * sx[j] + xv * xv * w[j])
            for b in range(n_b):
                g = ms[b] - j
                if g < 0.0:
                    g = 0.0
                gain[b] = g
                sy2[j, b] = q * (sy[j, b] + w[j] * g)
                syy2[j, b] = q * (syy[j, b] + 2.0 * g * sy[j, b] + g * g * w[j])
                sxy2[j, b] = q * (sxy[j, b] + xv * sy[j, b] + g * sx[j] + xv * g * w[j])
            # Negative step from (i + 1, j - 1) to (i + 1, j).
            if j > 0:
                qn = 1.0 - (n_pos - i - 1) / (n - i - j)
                w2[j] += qn * w2[j - 1]
                sx2[j] += qn * sx2[j - 1]
                sxx2[j] += qn * sxx2[j - 1]
                for b in range(n_b):
                    sy2[j, b] += qn * sy2[j - 1, b]
                    syy2[j, b] += qn * syy2[j - 1, b]
                    sxy2[j, b] += qn * sxy2[j - 1, b]
        w, w2 = w2, w
        sx, sx2 = sx2, sx
        sxx, sxx2 = sxx2, sxx
        sy, sy2 = sy2, sy
        syy, syy2 = syy2, syy
        sxy, sxy2 = sxy2, sxy
    out_x[0] = sx[n_neg]
    out_x[1] = sxx[n_neg]
    for b in range(n_b):
        out_y[0, b] = sy[n_neg, b]
        out_y[1, b] = syy[n_neg, b]
        out_xy[b] = sxy[n_neg, b]


@njit(cache=True, parallel=True)
def _dp_batch(n_pos, n_neg, fs, ms, out_x, out_y, out_xy):
    for a in prange(fs.shape[0]):
        _dp_one(n_pos, n_neg, fs[a], ms, out_x[a], out_y[a], out_xy[a])


# ---------------------------------------------------------------------------------------
# Streaming Monte Carlo: per-block power sums, merged in a fixed order
# ---------------------------------------------------------------------------------------


@njit(cache=True)
def _row_pairs_table(p, ms, first, cnt, tot, out):
    """C(m) = sum_i max(0, m - a_i) for the ascending ``ms``, branch-free.

    ``first[a]`` = number of ``ms`` that are <= a. A positive with ``a_i`` negatives above
    contributes ``m - a_i`` to every ``m > a_i``, i.e. to the thresholds ``j >= first[a_i]``:
    histogram, then one prefix pass. Equal to :func:`opauc_sim.metrics.ranks._row_pairs`
    (integer partial sums, exact below 2**53).
    """
    n_y = ms.shape[0]
    for j in range(n_y + 1):
        cnt[j] = 0.0
        tot[j] = 0.0
    for i in range(p.shape[0]):
        a = p[i] - i
        f = first[a]
        cnt[f] += 1.0
        tot[f] += a
    c = 0.0
    total = 0.0
    for j in range(n_y):
        c += cnt[j]
        total += tot[j]
        out[j] = c * ms[j] - total


@njit(cache=True, parallel=True)
def _moment_sums_batch(
    pos_ranks, hits, dcg, ms, first, want_hits, want_dcg, shift_x, shift_y, block, sums
):
    """Per block of ``block`` rankings, shifted power sums of x = (hits, DCG) and y = C.

    ``hits[r], dcg[r]`` are ranking r's hits@K and DCG@K over the K grid;
    ``first[a]`` is the number of thresholds ``ms`` that are <= a, for a = 0..n_neg.
    ``sums[b]`` receives, for rankings ``b * block ...``: ``[0]`` count, then
    ``sx (n_x), sxx (n_x), sy (n_y), syy (n_y), sxy (n_x * n_y)`` of ``x - shift_x`` and
    ``y - shift_y``, where x holds hits@K (if ``want_hits``) then DCG@K (if ``want_dcg``).
    Within a block the rankings are added in order, so the sums do not depend on threads;
    blocks are independent, so the caller can merge them in a fixed order.
    """
    n_rows = pos_ranks.shape[0]
    n_k = hits.shape[1]
    n_y = ms.shape[0]
    n_x = n_k * (int(want_hits) + int(want_dcg))
    n_blocks = (n_rows + block - 1) // block
    for b in prange(n_blocks):
        cnt = np.empty(n_y + 1, dtype=np.float64)
        tot = np.empty(n_y + 1, dtype=np.float64)
        x = np.empty(n_x, dtype=np.float64)
        y = np.empty(n_y, dtype=np.float64)
        # Separate accumulators (not views of ``sums``) so the inner loops vectorise.
        sx = np.zeros(n_x)
        sxx = np.zeros(n_x)
        sy = np.zeros(n_y)
        syy = np.zeros(n_y)
        sxy = np.zeros((n_x, n_y))
        count = 0.0
        for r in range(b * block, min(n_rows, (b + 1) * block)):
            _row_pairs_table(pos_ranks[r], ms, first, cnt, tot, y)
            c = 0
            if want_hits:
                for j in range(n_k):
                    x[c] = hits[r, j] - shift_x[c]
                    c += 1
            if want_dcg:
                for j in range(n_k):
                    x[c] = dcg[r, j] - shift_x[c]
                    c += 1
            for j in range(n_y):
                y[j] -= shift_y[j]
            count += 1.0
            for a in range(n_x):
                sx[a] += x[a]
                sxx[a] += x[a] * x[a]
            for j in range(n_y):
                sy[j] += y[j]
                syy[j] += y[j] * y[j]
            for a in range(n_x):
                xa = x[a]
                for j in range(n_y):
                    sxy[a, j] += xa * y[j]
        out = sums[b]
        out[0] = count
        o = 1
        for a in range(n_x):
            out[o + a] = sx[a]
            out[o + n_x + a] = sxx[a]
        o += 2 * n_x
        for j in range(n_y):
            out[o + j] = sy[j]
            out[o + n_y + j] = syy[j]
        o += 2 * n_y
        for a in range(n_x):
            for j in range(n_y):
                out[o + a * n_y + j] = sxy[a, j]


@njit(cache=True)
def _merge_blocks(block_sums, first_block, n_groups, group_sums):
    """Add block b's sums into group (first_block + b) mod n_groups, in block order."""
    for b in range(block_sums.shape[0]):
        g = (first_block + b) % n_groups
        for t in range(block_sums.shape[1]):
            group_sums[g, t] += block_sums[b, t]


def _first_table(ms: np.ndarray, n_neg: int) -> np.ndarray:
    """``first[a]`` = number of thresholds in the ascending ``ms`` that are <= a."""
    return np.searchsorted(ms, np.arange(n_neg + 1, dtype=np.float64), side="right").astype(
        np.int64
    )
