"""The candidate draws of the fused CPU trainer: a counter-based generator, in Numba.

:func:`_draw` fills a batch's N candidates per pair: uniform over the items, or PNS's
popularity distribution by inverse CDF (:func:`_pick`), with the user's excluded items
(training positives; held-out items in the oracle control) redrawn, found by a 4096-bit
filter and then a binary search in the user's sorted CSR row (:func:`_contains`).

Determinism: pair ``p`` of an epoch draws from SplitMix64 keyed by the seed, the epoch
and its position, so a seeded run is bit-identical for any number of threads. Every
kernel here calls only kernels of this file (Numba's on-disk cache keys a function by its
own file).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["_BLOOM_WORDS", "_draw"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


@njit(cache=True)
def _mix(z):
    """SplitMix64's finaliser: a bijection of uint64 with good avalanche."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def _contains(indices, lo, hi, j):
    """Whether the sorted ``indices[lo:hi]`` holds ``j`` (binary search)."""
    while lo < hi:
        mid = (lo + hi) >> 1
        v = indices[mid]
        if v < j:
            lo = mid + 1
        elif v > j:
            hi = mid
        else:
            return True
    return False


_BLOOM_WORDS = 64  # 4096-bit per-pair filter of the user's positives (512 bytes)


@njit(cache=True)
def _pick(z, n_u, cdf):
    """An item from the 64-bit output ``z``: ``z mod n_items`` (uniform; bias below
    n_items / 2^64), or, with a non-empty ``cdf``, the first item whose cumulative
    probability exceeds the 53-bit uniform ``(z >> 11) / 2^53`` (inverse CDF)."""
    if cdf.shape[0] == 0:
        return np.int64(z % n_u)
    x = np.float64(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)
    lo = 0
    hi = cdf.shape[0] - 1
    while lo < hi:  # first j with cdf[j] > x; cdf[-1] = 1 > x
        mid = (lo + hi) >> 1
        if cdf[mid] > x:
            hi = mid
        else:
            lo = mid + 1
    return np.int64(lo)


@njit(cache=True, parallel=True)
def _draw(cand, users, key, offset, n_items, indptr, indices, reject, bloom, cdf):
    """Fill ``cand`` (B, N) with drawn items; with ``reject``, redraw the user's items
    listed in the sorted CSR rows ``indptr``/``indices`` (training positives, and
    held-out items in the oracle control).

    Items are uniform, or drawn from ``cdf`` (cumulative probabilities, PNS) when it is
    not empty (:func:`_pick`). Pair ``p`` uses the SplitMix64 stream started at
    ``mix(key ^ mix(offset + p))``, so a draw depends on the seed and the pair's
    position in the epoch only. The rejection test first asks a 4096-bit filter of the
    user's items (``bloom``, scratch of shape (B, 64)), and only on a hit the binary
    search: the answer is exact either way.
    """
    n_pairs, n = cand.shape
    n_u = np.uint64(n_items)
    one = np.uint64(1)
    for p in prange(n_pairs):
        state = _mix(key ^ _mix(np.uint64(offset + p)))
        u = users[p]
        lo = indptr[u]
        hi = indptr[u + 1]
        filt = bloom[p]
        if reject:
            for w in range(_BLOOM_WORDS):
                filt[w] = 0
            for q in range(lo, hi):
                b = indices[q] & 4095
                filt[b >> 6] |= one << np.uint64(b & 63)
        for k in range(n):
            while True:
                state = state + _GOLDEN
                j = _pick(_mix(state), n_u, cdf)
                if not reject:
                    break
                b = j & 4095
                if (filt[b >> 6] >> np.uint64(b & 63)) & one == 0:
                    break
                if not _contains(indices, lo, hi, j):
                    break
            cand[p, k] = j
