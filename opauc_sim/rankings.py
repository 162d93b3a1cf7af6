"""Random rankings in compact form: the sorted 0-based ranks of the positives.

A tie-free ranking of ``n = n_pos + n_neg`` items is fully described by the ranks
``p_0 < p_1 < ... < p_{n_pos-1}`` of its positives (docs/definitions.md §1), so the generators here
return arrays of shape ``(n_rankings, n_pos)`` and never materialise ``n`` items.

Generators
----------
uniform
    Every arrangement of ``n_pos`` positives among ``n`` items is equally likely.
    Rejection sampling of ``min(n_pos, n_neg)`` distinct positions into a bitset, then a
    bit scan that emits the positions already sorted: ``O(min(n_pos, n_neg) + n / 64)``
    per ranking, no sort of ``n`` random keys.
binormal
    Quality-controlled rankings: positive scores ``~ N(mu, 1)``, negative scores
    ``~ N(0, 1)``, items ranked by descending score. ``mu = 0`` is the uniform case.
    Only the ``n_pos`` positive scores are sorted. The negatives enter through their
    upper-tail probabilities, uniform on (0, 1), drawn already sorted (uniform order
    statistics from exponential spacings) and merged with the positives' tail
    probabilities: ``O(n_pos log n_pos + n_neg)`` per ranking.

Reproducibility
---------------
Randomness is counter based: ranking number ``r`` of a stream draws from its own
xoshiro256** generator, seeded by SplitMix64 from ``(seed, r)``. Ranking ``r`` is therefore
the same array whatever the chunk size, the ``start`` offset or the number of threads,
bit for bit. The seed's key is the first four 64-bit words of
``numpy.random.SeedSequence(seed).generate_state``.

Bounded integers use Lemire's multiply-and-reject method on 32-bit draws, so each draw
is exactly uniform on ``[0, n)`` (``n < 2**32``); uniform reals carry 53 random bits.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numba
import numpy as np
from numba import njit, prange

from opauc_sim._validation import (
    SeedLike,
    as_seed_sequence,
    check_choice,
    check_int,
    check_real,
)

__all__ = ["GENERATORS", "binormal", "iter_chunks", "seed_key", "uniform"]

#: Names accepted by ``generator=`` arguments across the package.
GENERATORS = ("uniform", "binormal")

#: Largest number of items a ranking may have (bounded integers use 32-bit draws).
MAX_ITEMS = 2**31 - 1

_U = np.uint64
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_MASK32 = np.uint64(0xFFFFFFFF)
_DEBRUIJN = np.uint64(0x03F79D71B4CB0A89)
_INV53 = 1.0 / 9007199254740992.0
_SQRT2 = math.sqrt(2.0)


def _debruijn_table() -> np.ndarray:
    table = np.zeros(64, dtype=np.int64)
    for bit in range(64):
        table[(((1 << bit) * 0x03F79D71B4CB0A89) & (2**64 - 1)) >> 58] = bit
    return table


_BIT_INDEX = _debruijn_table()


# ---------------------------------------------------------------------------------------
# Kernels (no validation). Everything that calls everything else lives in this file.
# ---------------------------------------------------------------------------------------


@njit(cache=True)
def _splitmix(z):
    z = (z ^ (z >> _U(30))) * _MIX1
    z = (z ^ (z >> _U(27))) * _MIX2
    return z ^ (z >> _U(31))


@njit(cache=True)
def _rotl(x, k):
    return (x << _U(k)) | (x >> _U(64 - k))


@njit(cache=True)
def _seed_state(state, key, index):
    """xoshiro256** state for ranking ``index`` of the stream keyed by ``key``."""
    z = _splitmix(_splitmix(_U(index) ^ key[0]) + key[1])
    z = z ^ key[2]
    for w in range(4):
        z = z + _GOLDEN
        state[w] = _splitmix(z ^ key[3])
    if state[0] == 0 and state[1] == 0 and state[2] == 0 and state[3] == 0:
        state[0] = _U(1)


@njit(cache=True)
def _next64(s):
    result = _rotl(s[1] * _U(5), 7) * _U(9)
    t = s[1] << _U(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], 45)
    return result


@njit(cache=True)
def _next_float(s):
    """Uniform on [0, 1) with 53 random bits."""
    return float(_next64(s) >> _U(11)) * _INV53


@njit(cache=True)
def _next_below(s, n):
    """Exactly uniform integer in [0, n), n < 2**32 (Lemire 2019, 32-bit variant)."""
    bound = _U(n)
    m = (_next64(s) >> _U(32)) * bound
    low = m & _MASK32
    if low < bound:
        threshold = (_U(2**32) - bound) % bound
        while low < threshold:
            m = (_next64(s) >> _U(32)) * bound
            low = m & _MASK32
    return np.int64(m >> _U(32))


@njit(cache=True)
def _uniform_one(s, n_pos, n_neg, words, out):
    """One uniformly random arrangement, written as sorted positive ranks into ``out``."""
    n = n_pos + n_neg
    n_words = words.shape[0]
    for w in range(n_words):
        words[w] = _U(0)
    # Pick the smaller class by rejection: expected draws <= 2 ln 2 * min(n_pos, n_neg).
    pick_pos = 2 * n_pos <= n
    k = n_pos if pick_pos else n_neg
    got = 0
    while got < k:
        r = _next_below(s, n)
        w = r >> 6
        bit = _U(1) << _U(r & 63)
        if (words[w] & bit) == _U(0):
            words[w] |= bit
            got += 1
    c = 0
    tail = n - 64 * (n_words - 1)
    for w in range(n_words):
        word = words[w]
        if not pick_pos:
            word = ~word
            if w == n_words - 1 and tail < 64:
                word &= (_U(1) << _U(tail)) - _U(1)
        while word != _U(0):
            low = word & (~word + _U(1))
            out[c] = 64 * w + _BIT_INDEX[(low * _DEBRUIJN) >> _U(58)]
            c += 1
            word ^= low


@njit(cache=True, parallel=True)
def _uniform_batch(key, start, n_pos, n_neg, out):
    n_rows = out.shape[0]
    n_words = (n_pos + n_neg + 63) // 64
    n_blocks = (n_rows + 63) // 64
    for b in prange(n_blocks):
        state = np.empty(4, dtype=np.uint64)
        words = np.empty(n_words, dtype=np.uint64)
        for r in range(b * 64, min(n_rows, b * 64 + 64)):
            _seed_state(state, key, start + r)
            _uniform_one(state, n_pos, n_neg, words, out[r])


@njit(cache=True)
def _binormal_one(s, n_pos, n_neg, mu, tails, spacings, out):
    """One binormal ranking: positives ~ N(mu, 1), negatives ~ N(0, 1), descending order.

    A negative with score ``z`` lies above a positive with score ``x`` iff its upper-tail
    probability ``U = P(N(0,1) > z)`` (uniform on (0, 1)) is below ``P(N(0,1) > x)``.
    """
    i = 0
    while i < n_pos:
        # Box-Muller: two standard normals from two uniforms (u1 in (0, 1]).
        u1 = 1.0 - _next_float(s)
        u2 = _next_float(s)
        radius = math.sqrt(-2.0 * math.log(u1))
        tails[i] = 0.5 * math.erfc((mu + radius * math.cos(2.0 * math.pi * u2)) / _SQRT2)
        i += 1
        if i < n_pos:
            tails[i] = 0.5 * math.erfc((mu + radius * math.sin(2.0 * math.pi * u2)) / _SQRT2)
            i += 1
    tails.sort()  # ascending tail probability = descending positive score
    # The negatives' tail probabilities, sorted, as uniform order statistics from
    # exponential spacings: U_(j) = S_j / S_(n_neg + 1), S the running sum of Exp(1) draws.
    # Merging them with the sorted positive tails is linear and branch-predictable.
    total = 0.0
    for j in range(n_neg):
        total += -math.log(1.0 - _next_float(s))
        spacings[j] = total  # S_(j+1)
    total += -math.log(1.0 - _next_float(s))  # S_(n_neg+1)
    above = 0
    for i in range(n_pos):
        threshold = tails[i] * total
        while above < n_neg and spacings[above] < threshold:
            above += 1
        out[i] = above + i


@njit(cache=True, parallel=True)
def _binormal_batch(key, start, n_pos, n_neg, mu, out):
    n_rows = out.shape[0]
    n_blocks = (n_rows + 63) // 64
    for b in prange(n_blocks):
        state = np.empty(4, dtype=np.uint64)
        tails = np.empty(n_pos, dtype=np.float64)
        spacings = np.empty(n_neg + 1, dtype=np.float64)
        for r in range(b * 64, min(n_rows, b * 64 + 64)):
            _seed_state(state, key, start + r)
            _binormal_one(state, n_pos, n_neg, mu, tails, spacings, out[r])


# ---------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------


def seed_key(seed: SeedLike) -> np.ndarray:
    """The four 64-bit words that key a ranking stream: ``SeedSequence(seed).generate_state(4)``.

    Parameters
    ----------
    seed : int, numpy.random.SeedSequence, numpy.random.Generator or None
        ``None`` draws fresh entropy. A ``Generator`` contributes its seed sequence (it is
        not advanced), so passing the same ``Generator`` twice gives the same rankings.

    Returns
    -------
    numpy.ndarray of uint64, shape (4,)
    """
    return as_seed_sequence(seed).generate_state(4, dtype=np.uint64)


def _check_sizes(n_pos: object, n_neg: object, n_rankings: object, start: object):
    n_pos = check_int("n_pos", n_pos, low=1)
    n_neg = check_int("n_neg", n_neg, low=0)
    if n_pos + n_neg > MAX_ITEMS:
        raise ValueError(f"n_pos + n_neg must be <= {MAX_ITEMS}, got {n_pos + n_neg}")
    n_rankings = check_int("n_rankings", n_rankings, low=0)
    start = check_int("start", start, low=0)
    return n_pos, n_neg, n_rankings, start


def _run_generator(
    generator: str, n_pos: int, n_neg: int, key: np.ndarray, start: int, mu: float, out
) -> np.ndarray:
    if generator == "uniform":
        _uniform_batch(key, start, n_pos, n_neg, out)
    else:
        _binormal_batch(key, start, n_pos, n_neg, mu, out)
    return out


def uniform(
    n_pos: int, n_neg: int, n_rankings: int, *, seed: SeedLike = 0, start: int = 0
) -> np.ndarray:
    """Uniformly random rankings in compact form (sorted 0-based positive ranks).

    Parameters
    ----------
    n_pos : int
        Positives per ranking, >= 1.
    n_neg : int
        Negatives per ranking, >= 0.
    n_rankings : int
        Number of rankings to return, >= 0.
    seed : int, SeedSequence, Generator or None, default 0
        Keys the stream (see :func:`seed_key`).
    start : int, default 0
        Index of the first ranking in the stream. ``uniform(..., start=s)[j]`` equals
        ``uniform(..., n_rankings=s + j + 1)[s + j]`` bit for bit, which is what makes
        chunked generation independent of the chunk size.

    Returns
    -------
    numpy.ndarray of int64, shape (n_rankings, n_pos)
        Row ``r`` holds the strictly increasing ranks (0 = top) of the positives of ranking
        ``start + r``; every ``n_pos``-subset of ``range(n_pos + n_neg)`` is equally likely.

    Raises
    ------
    TypeError, ValueError
        Non-integer sizes, ``n_pos < 1``, ``n_neg < 0``, ``n_rankings < 0`` or ``start < 0``.

    Notes
    -----
    Cost ``O(min(n_pos, n_neg) + (n_pos + n_neg) / 64)`` per ranking; the draw runs in
    parallel over blocks of rankings (Numba ``prange``) and does not depend on the number
    of threads.

    Examples
    --------
    >>> r = uniform(3, 5, 2, seed=1)
    >>> r.shape, bool((r[:, 1:] > r[:, :-1]).all()), bool(r.max() < 8)
    ((2, 3), True, True)
    """
    n_pos, n_neg, n_rankings, start = _check_sizes(n_pos, n_neg, n_rankings, start)
    out = np.empty((n_rankings, n_pos), dtype=np.int64)
    return _run_generator("uniform", n_pos, n_neg, seed_key(seed), start, 0.0, out)


def binormal(
    n_pos: int,
    n_neg: int,
    n_rankings: int,
    *,
    mu: float = 0.0,
    seed: SeedLike = 0,
    start: int = 0,
) -> np.ndarray:
    """Rankings from the binormal score model, in compact form.

    Positive scores are ``N(mu, 1)``, negative scores ``N(0, 1)``, all independent; items
    are ranked by descending score. The expected AUC is ``Phi(mu / sqrt(2))``; ``mu = 0``
    gives uniformly random rankings (in distribution, not the same stream as
    :func:`uniform`).

    Parameters
    ----------
    n_pos, n_neg, n_rankings, seed, start
        As in :func:`uniform`.
    mu : float, default 0.0
        Mean score of the positives (finite; negative values rank positives low).

    Returns
    -------
    numpy.ndarray of int64, shape (n_rankings, n_pos)

    Notes
    -----
    Only the positives are sorted. A negative with score ``z`` lies above a positive with
    score ``x`` iff its upper-tail probability ``U = P(N(0, 1) > z)``, uniform on (0, 1), is
    below ``0.5 * erfc(x / sqrt(2))``. The ``n_neg`` values ``U`` are drawn in sorted order
    (``U_(j) = S_j / S_(n_neg + 1)`` with ``S`` the running sum of Exp(1) draws) and
    merged with the sorted positive tails: ``O(n_pos log n_pos + n_neg)`` per ranking.
    Normals come from the Box-Muller transform; ``erfc`` saturates for ``|mu| >~ 37``,
    where rankings become deterministic in floating point.

    Examples
    --------
    >>> r = binormal(4, 6, 3, mu=1.0, seed=2)
    >>> r.shape
    (3, 4)
    """
    n_pos, n_neg, n_rankings, start = _check_sizes(n_pos, n_neg, n_rankings, start)
    mu = check_real("mu", mu)
    out = np.empty((n_rankings, n_pos), dtype=np.int64)
    return _run_generator("binormal", n_pos, n_neg, seed_key(seed), start, mu, out)


def iter_chunks(
    n_pos: int,
    n_neg: int,
    n_rankings: int,
    *,
    generator: str = "uniform",
    mu: float = 0.0,
    seed: SeedLike = 0,
    chunk_size: int = 65_536,
    dtype=np.int64,
    n_threads: int | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Stream ``n_rankings`` rankings in chunks of at most ``chunk_size`` rows.

    Yields ``(start, chunk)`` where ``chunk`` has shape ``(rows, n_pos)`` and holds rankings
    ``start, ..., start + rows - 1`` of the stream. Concatenating the chunks gives the same
    array, bit for bit, for every ``chunk_size`` and ``n_threads``. The chunk buffer is
    reused between yields: copy a chunk you want to keep.

    Parameters
    ----------
    n_pos, n_neg, n_rankings, seed
        As in :func:`uniform`.
    generator : {"uniform", "binormal"}
    mu : float
        Binormal separation (ignored by ``"uniform"``).
    chunk_size : int, default 65536
    dtype : {numpy.int64, numpy.int32}
        Integer type of the chunks (int32 halves the memory traffic).
    n_threads : int or None
        Numba threads for the generation (None: Numba's current setting).

    Examples
    --------
    >>> parts = [c.copy() for _, c in iter_chunks(5, 7, 10, chunk_size=4, seed=3)]
    >>> bool((np.concatenate(parts) == uniform(5, 7, 10, seed=3)).all())
    True
    """
    n_pos, n_neg, n_rankings, _ = _check_sizes(n_pos, n_neg, n_rankings, 0)
    check_choice("generator", generator, GENERATORS)
    mu = check_real("mu", mu)
    chunk_size = check_int("chunk_size", chunk_size, low=1)
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.int64), np.dtype(np.int32)):
        raise ValueError(f"dtype must be int64 or int32, got {dtype}")
    if dtype == np.int32 and n_pos + n_neg > 2**31 - 1:
        raise ValueError(f"dtype int32 cannot hold ranks up to {n_pos + n_neg - 1}")
    key = seed_key(seed)
    threads = numba_threads(n_threads)  # validated now, not at the first chunk
    return _iter(generator, n_pos, n_neg, n_rankings, key, mu, chunk_size, dtype, threads)


def _iter(generator, n_pos, n_neg, n_rankings, key, mu, chunk_size, dtype, threads):
    buffer = np.empty((min(chunk_size, max(n_rankings, 1)), n_pos), dtype=dtype)
    for start in range(0, n_rankings, chunk_size):
        rows = min(chunk_size, n_rankings - start)
        out = buffer[:rows]
        with threads:
            _run_generator(generator, n_pos, n_neg, key, start, mu, out)
        yield start, out


class numba_threads:
    """Context manager: run Numba parallel code with ``n`` threads, then restore."""

    def __init__(self, n: int | None):
        self.n = None if n is None else check_int("n_threads", n, low=1)
        if self.n is not None and self.n > numba.config.NUMBA_NUM_THREADS:
            raise ValueError(
                f"n_threads must be <= {numba.config.NUMBA_NUM_THREADS} "
                f"(NUMBA_NUM_THREADS), got {self.n}"
            )
        self._old = None

    def __enter__(self):
        if self.n is not None:
            self._old = numba.get_num_threads()
            numba.set_num_threads(self.n)
        return self

    def __exit__(self, *exc):
        if self._old is not None:
            numba.set_num_threads(self._old)
        return False
