"""The helpers that the fused trainer's kernels (:mod:`opauc_sim.train.numba_kernels`)
compile into themselves: dtype-preserving constants, softplus and sigmoid, a prefetch hint,
and the exact top M of a score row.

Every function here is inlined into its callers (``inline="always"``, an overload or an
intrinsic), so a caller's machine code holds its code. Numba's on-disk cache keys a compiled
function by its own source file only; :mod:`opauc_sim.train.numba_kernels` therefore records
the sha256 of this file (``_INLINE_SHA256``) and caches its kernels only while the two
agree: an edit here without updating that hash compiles the kernels afresh each process,
with a warning, never a stale cache (``tests/train/test_kernel_cache.py`` fails until it is
updated, and the update changes the kernels' file, which is what invalidates their cache).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic, overload

_inline = {"cache": True, "inline": "always"}


def _like(value, ref):
    """``value`` cast to the dtype of ``ref`` (an array or a scalar).

    Numba promotes ``float32 op int`` and ``float32 op float64`` to float64; the kernels
    cast their constants with this so that a float32 model is computed in float32.
    """
    return np.asarray(ref).dtype.type(value)


@overload(_like, jit_options={"cache": True})
def _like_impl(value, ref):
    dtype = ref.dtype if isinstance(ref, types.Array) else ref

    def impl(value, ref):
        return dtype(value)

    return impl


def _softplus_sigmoid(x):
    """``(softplus(x), sigmoid(x))`` in the dtype of ``x`` (compiled code only) from
    ``e = exp(-|x|)``: ``max(x, 0) + log1p(e)``, and ``1/(1 + e)`` or (``x < 0``) ``e/(1 + e)``.
    No libm call, so loops over it vectorise: ``exp(y) = 2^k e^r``, ``|r| <= ln2/2``, the
    Taylor series of ``e^r`` (degree 7; float64 13), ``2^k`` from bits in two factors;
    ``log1p(e) = 2 atanh(e/(2 + e))`` by its series. Within 3 ulp (tests/train/test_softplus.py).
    This Python body (libm's exp and log1p) runs only with ``NUMBA_DISABLE_JIT=1``.
    """
    e = np.exp(-np.abs(x))
    one = type(x)(1.0)
    return np.maximum(x, type(x)(0.0)) + np.log1p(e), (one if x >= 0 else e) / (one + e)


@njit(cache=True)
def _even_odd(t, even, odd):
    """``sum c_k t^k``, two short Horner chains in ``t^2`` (``c_2j``, ``c_2j+1``, highest first)."""
    pe, po, t2 = _like(0.0, t), _like(0.0, t), t * t
    for c in even:
        pe = pe * t2 + _like(c, t)
    for c in odd:
        po = po * t2 + _like(c, t)
    return pe + t * po


@intrinsic
def _pow2(typingctx, k, like):
    """``2.0 ** k`` in the float dtype of ``like``, from its bits; the integer ``k`` must be
    in the normal exponent range (-126..127 in float32, -1022..1023 in float64)."""
    width, mantissa, bias = (32, 23, 127) if like == types.float32 else (64, 52, 1023)

    def codegen(context, builder, sig, args):
        kind, k = ir.IntType(width), args[0]
        if k.type.width != width:
            k = builder.sext(k, kind) if k.type.width < width else builder.trunc(k, kind)
        bits = builder.shl(builder.add(k, kind(bias)), kind(mantissa))
        return builder.bitcast(bits, context.get_value_type(like))

    return like(k, like), codegen


@overload(_softplus_sigmoid, jit_options={"cache": True})  # inlined by LLVM, not Numba
def _softplus_sigmoid_impl(x):
    single = x == types.float32
    exp_c = [1.0 / np.prod(np.arange(1.0, n + 1)) for n in range(2, 8 if single else 14)]
    log_c = [1.0 / (2 * n + 1) for n in range(1, 8 if single else 16)]
    exp_e, exp_o, log_e, log_o = (tuple(c[j::2][::-1]) for c in (exp_c, log_c) for j in (0, 1))
    lowest = -104.0 if single else -746.0  # exp(lowest) rounds to 0

    def impl(x):
        one = _like(1.0, x)
        y = max(-abs(x), _like(lowest, x))
        k = np.floor(y * _like(1.4426950408889634, x) + _like(0.5, x))
        r = (y - k * _like(0.693145751953125, x)) - k * _like(1.4286068203094173e-06, x)
        half = np.int32(k) >> 1
        e_r = one + (r + r * r * _even_odd(r, exp_e, exp_o))
        e = e_r * _pow2(np.int32(k) - half, x) * _pow2(half, x)
        t = _like(2.0, x) * e / (e + _like(2.0, x))  # 2s
        z = _like(0.25, x) * t * t
        sp = max(x, _like(0.0, x)) + (t + t * z * _even_odd(z, log_e, log_o))
        sg = one / (one + e) if x >= 0 else e / (one + e)
        nan = x != x
        return (x if nan else sp), (x if nan else sg)

    return impl


@intrinsic
def _prefetch_row(typingctx, table, row):
    """Hint the CPU to fetch row ``row`` of the C-contiguous 2-D ``table``: the cache lines
    of its first and its last element (all of a line-aligned 128-byte row). No effect on
    any result, and no fault on any address."""

    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        last = builder.sub(
            cgutils.unpack_tuple(builder, ary.shape)[1], ir.Constant(args[1].type, 1)
        )
        i32 = ir.IntType(32)
        for col in (ir.Constant(args[1].type, 0), last):
            ptr = cgutils.get_item_pointer(
                context, builder, sig.args[0], ary, [args[1], col], wraparound=False
            )
            fnty = ir.FunctionType(ir.VoidType(), [ptr.type, i32, i32, i32])
            fn = builder.module.declare_intrinsic("llvm.prefetch", [ptr.type], fnty)
            builder.call(fn, [ptr, i32(0), i32(3), i32(1)])  # read, keep in all levels, data
        return context.get_dummy_value()

    return types.void(table, row), codegen


@njit(**_inline)
def _worse(s_a, j_a, s_b, j_b):
    """Whether candidate (s_a, j_a) ranks below (s_b, j_b): lower score, or an equal
    score and a larger item id (ties go to the smaller id)."""
    return s_a < s_b or (s_a == s_b and j_a > j_b)


@njit(**_inline)
def _sift_down(hs, hj, size, r):
    """Restore the min-heap (worst on top, by :func:`_worse`) below position ``r``."""
    while True:
        c = 2 * r + 1
        if c >= size:
            return
        if c + 1 < size and _worse(hs[c + 1], hj[c + 1], hs[c], hj[c]):
            c += 1
        if _worse(hs[c], hj[c], hs[r], hj[r]):
            hs[r], hs[c] = hs[c], hs[r]
            hj[r], hj[c] = hj[c], hj[r]
            r = c
        else:
            return


_BLOCK = 16  # scores compared with the heap's worst a block at a time, by the block's max


@njit(**_inline)
def _offer(row, j, hs, hj, m):
    """Offer item ``j`` to the full heap: it replaces the worst if its score is higher (a
    later id never wins a tie, ids being offered in increasing order)."""
    v = row[j]
    if v > hs[0]:
        hs[0] = v
        hj[0] = j
        _sift_down(hs, hj, m, 0)


#: From this M on, :func:`_top_m_of_row` finds a threshold first (two passes over the row):
#: on trained Gowalla rows with their exclusions, the two strategies cost the same at M = 50.
_TWO_PASS = 64


@njit(**_inline)
def _fill_or_offer(row, j, m, size, hs, hj):
    """Add item ``j`` to the heap while it has fewer than ``m`` items (heapified when it
    reaches ``m``), else offer it (:func:`_offer`); returns the new size."""
    if size == m:
        _offer(row, j, hs, hj, m)
        return size
    hs[size] = row[j]
    hj[size] = j
    if size + 1 == m:
        for r in range(m // 2 - 1, -1, -1):
            _sift_down(hs, hj, m, r)
    return size + 1


@njit(**_inline)
def _one_pass(row, m, indices, lo, hi, hs, hj):
    """The heap of the best ``m`` (unordered) after one pass; returns its size. Once the
    heap is full, a run is read in blocks of :data:`_BLOCK` scores, and only a block whose
    maximum beats the heap's worst is offered item by item."""
    n = row.shape[0]
    size = 0
    start = 0
    for q in range(lo, hi + 1):
        stop = indices[q] if q < hi else n
        j = start
        while j < stop and size < m:  # filling the heap
            size = _fill_or_offer(row, j, m, size, hs, hj)
            j += 1
        while j + _BLOCK <= stop:
            top = row[j]
            for t in range(1, _BLOCK):
                top = max(top, row[j + t])
            if top > hs[0]:
                for t in range(_BLOCK):
                    _offer(row, j + t, hs, hj, m)
            j += _BLOCK
        while j < stop:
            _offer(row, j, hs, hj, m)
            j += 1
        start = stop + 1
    return size


#: Bins of the histogram of block maxima in :func:`_mth_largest_bound`.
_BINS = 256


@njit(**_inline)
def _mth_largest_bound(values, m):
    """A lower bound on the ``m``-th largest of ``values`` (no NaN; ``m <= len``), close
    below it: the minimum of the values in the top bins of a histogram that together hold
    at least ``m`` of them (at least ``m`` values are >= it, whatever the rounding)."""
    lo = values.min()
    hi = values.max()
    span = hi - lo
    scale = _BINS / span
    if not (span > 0 and np.isfinite(span) and np.isfinite(scale)):  # no histogram
        return lo
    counts = np.zeros(_BINS + 1, dtype=np.int64)
    for v in values:
        counts[min(int((v - lo) * scale), _BINS)] += 1
    b = _BINS
    held = counts[b]
    while held < m:
        b -= 1
        held += counts[b]
    bound = hi
    for v in values:
        if min(int((v - lo) * scale), _BINS) >= b:
            bound = min(bound, v)
    return bound


@njit(**_inline)
def _two_pass(row, m, indices, lo, hi, hs, hj):
    """:func:`_one_pass`'s heap by a threshold: pass 1 takes the maximum of every block of
    :data:`_BLOCK` scores of each run; at least ``m`` of them, each an item's score, are
    at least ``tau`` (:func:`_mth_largest_bound`), so every item of the top ``m`` scores at
    least ``tau``; pass 2 offers only those, in id order (so the heap ends the same).
    Returns -1 (the work left to :func:`_one_pass`) for fewer than ``m`` blocks or a NaN."""
    n = row.shape[0]
    block_max = np.empty(n // _BLOCK + hi - lo + 2, dtype=row.dtype)
    n_blocks = 0
    nan = False
    start = 0
    for q in range(lo, hi + 1):
        stop = indices[q] if q < hi else n
        for j in range(start, stop, _BLOCK):
            top = row[j]
            if j + _BLOCK <= stop:  # a whole block: a fixed count, vectorised
                for t in range(_BLOCK):
                    top = max(top, row[j + t])
                    nan |= row[j + t] != row[j + t]
            else:
                for t in range(j, stop):
                    top = max(top, row[t])
                    nan |= row[t] != row[t]
            block_max[n_blocks] = top
            n_blocks += 1
        start = stop + 1
    if nan or n_blocks < m:
        return -1
    tau = _mth_largest_bound(block_max[:n_blocks], m)
    size = 0
    b = 0
    start = 0
    for q in range(lo, hi + 1):
        stop = indices[q] if q < hi else n
        for j in range(start, stop, _BLOCK):
            if block_max[b] >= tau:
                for t in range(j, min(j + _BLOCK, stop)):
                    if row[t] >= tau:
                        size = _fill_or_offer(row, t, m, size, hs, hj)
            b += 1
        start = stop + 1
    return size


@njit(**_inline)
def _heap_sort(hs, hj, size, m):
    """Order the heap's ``size`` items best first (a heap of fewer than ``m`` items is
    not yet one: it is heapified first)."""
    if size < m:
        for r in range(size // 2 - 1, -1, -1):
            _sift_down(hs, hj, size, r)
    for end in range(size - 1, 0, -1):  # the worst to the back, one at a time
        hs[0], hs[end] = hs[end], hs[0]
        hj[0], hj[end] = hj[end], hj[0]
        _sift_down(hs, hj, end, 0)


@njit(**_inline)
def _top_m_of_row(row, m, indices, lo, hi, hs, hj):
    """The best ``m`` items of the score row ``row`` that are not in the sorted
    ``indices[lo:hi]``, best first, into ``hj[:count]`` (scores ``hs``); returns count
    (``min(m, candidates)``). Ties go to the smaller item id.

    A min-heap of the best so far (worst on top, :func:`_worse`) sees the items in id
    order, in one pass (:func:`_one_pass`) or, from M = :data:`_TWO_PASS`, only the items
    above a threshold (:func:`_two_pass`); the result is the same, a heap sort orders it.
    """
    size = _two_pass(row, m, indices, lo, hi, hs, hj) if m >= _TWO_PASS else -1
    if size < 0:
        size = _one_pass(row, m, indices, lo, hi, hs, hj)
    _heap_sort(hs, hj, size, m)
    return size
