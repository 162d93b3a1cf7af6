"""The Numba kernels of the fused CPU trainer (:mod:`opauc_sim.train.numba_engine`).

Same mathematics as the PyTorch reference (:mod:`opauc_sim.train.torch_engine`), without ever
building a ``(batch, N, dim)`` tensor. One Adam step on a batch of B pairs runs four
kernels:

1. :func:`opauc_sim.train.numba_draws._draw` draws the N candidates of every pair
   (uniform or by popularity, with replacement; the user's excluded items redrawn);
2. :func:`_pair_terms` scores each pair's positive and its N candidates (N dot products
   against the item table, nothing materialised but N scores; the rows prefetched
   :data:`_AHEAD` candidates ahead, :func:`_prefetch_row`), selects DNS's top M or
   weighs all N by Softmax-v, and writes per pair: the pair loss, the selected items
   with their loss weights and their score gradients, and the gradient of the user row;
3. :func:`_scatter` adds every pair's contributions into the dense gradient tables, pair
   by pair in batch order;
4. :func:`opauc_sim.train.numba_adam._adam` updates both tables (every row, every step)
   as ``torch.optim.Adam``'s single-tensor code does, and zeroes the gradients.

DNS over all items (``N="all"``) replaces steps 1-3 by :func:`_full_terms` (each user's
top M of all non-excluded items from a GEMM row, shared by all its pairs in the batch;
the negatives' gradients summed per user) and :func:`_full_scatter`.

Gradients, for a pair (u, i) with selected candidates j_r, loss weights w_r and
``x_r = s_uj_r - s_ui``::

    loss  = sum_r w_r softplus(x_r) [+ wd/2 (|U_u|^2 + |V_i|^2 + sum_r w_r |V_j_r|^2)]
    c_r   = w_r sigmoid(x_r)                  (d loss / d s_uj_r)
    dU_u  = sum_r c_r V_j_r - (sum_r c_r) V_i [+ wd U_u]
    dV_i  = -(sum_r c_r) U_u                  [+ wd V_i]
    dV_jr = c_r U_u                           [+ wd w_r V_j_r]

times 1/B for the batch mean (the authors sum instead, and put the weight decay in Adam).
Softmax-v's weights are constants in the gradient, as in the paper.

Determinism: the candidates come from a counter-based generator (SplitMix64 keyed by the
seed, the epoch and the pair's position in the epoch), each pair is computed by one
thread, the scatter runs in batch order on one thread, and Adam is elementwise. So a
seeded run is bit-identical for any number of threads (tested).

Numba's on-disk cache keys a compiled function by its own file only, so a caller cached
in one file would keep running the old code of a callee edited in another. Every kernel
that calls another lives in this file with its callees, but for the helpers of
:mod:`opauc_sim.train.numba_inline`, whose sha256 is recorded here (``_INLINE_SHA256``):
the kernels are cached only while it matches (see that module). The Python side
(buffers, argument lists, Adam's constants, the engine) is in
:mod:`opauc_sim.train.numba_engine`.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import numpy as np
from numba import njit, prange

from opauc_sim.train import numba_inline
from opauc_sim.train.numba_inline import (
    _like,
    _prefetch_row,
    _softplus_sigmoid,
    _top_m_of_row,
)

__all__ = ["KIND_DNS", "KIND_RNS", "KIND_SOFTMAX"]

KIND_RNS, KIND_DNS, KIND_SOFTMAX = 0, 1, 2

#: sha256 of numba_inline.py, whose helpers are compiled into the kernels below.
_INLINE_SHA256 = "dacae7eb1eb3ee041b6ee73801a7c0ebd13cf938754c9fc29c78534e5084f314"


def _inline_source_matches() -> bool:
    """Whether numba_inline.py is the file whose hash is recorded; if not, the kernels are
    compiled without Numba's cache (a cached kernel would keep the helpers' old code)."""
    digest = hashlib.sha256(Path(numba_inline.__file__).read_bytes()).hexdigest()
    if digest != _INLINE_SHA256:
        warnings.warn(
            f"opauc_sim/train/numba_inline.py has sha256 {digest}, not the recorded "
            "_INLINE_SHA256 of numba_kernels.py: its kernels are compiled without cache "
            "(record the new hash there)",
            RuntimeWarning,
            stacklevel=2,
        )
    return digest == _INLINE_SHA256


_CACHE = _inline_source_matches()


#: Candidates whose item rows are prefetched ahead of the one being scored: a random row
#: of the item table misses the L1 and L2 caches, and this overlaps the misses.
_AHEAD = 16


# The per-pair phases below are inlined into _pair_terms at Numba's IR level
# (inline="always"), so the compiled loop is the one the single function gave: same
# arithmetic in the same order, same vectorisation, bit-identical results.
_inline = {"cache": _CACHE, "inline": "always"}


@njit(**_inline)
def _pair_scores(user_w, item_w, u, i, cand, scores, p):
    """``scores[p, k] = s_u,cand[p,k] - s_u,i``: the N margins of pair ``p``; each
    candidate's row is prefetched :data:`_AHEAD` candidates ahead (into the next pair's)."""
    zero = _like(0.0, user_w)
    n_pairs, n = cand.shape
    dim = user_w.shape[1]
    acc = zero
    for t in range(dim):
        acc += user_w[u, t] * item_w[i, t]
    s_pos = acc
    for k in range(n):
        ahead = k + _AHEAD
        if ahead < n:
            _prefetch_row(item_w, cand[p, ahead])
        elif p + 1 < n_pairs and ahead - n < n:
            _prefetch_row(item_w, cand[p + 1, ahead - n])
        j = cand[p, k]
        acc = zero
        for t in range(dim):
            acc += user_w[u, t] * item_w[j, t]
        scores[p, k] = acc - s_pos  # x_k = s_uj - s_ui


@njit(**_inline)
def _softmax_select(user_w, cand, rho, unbiased, guard, scores, sel, weight, coef, p):
    """Softmax-v(rho, N) on pair ``p``: all N candidates, weighted; returns the loss.

    ``L_k = softplus(x_k)``; the weights are ``softmax(L / tau)`` with
    ``tau = sqrt(var(L) / (2 rho))`` (uniform when ``guard`` and the losses are flat).
    """
    n = cand.shape[1]
    zero = _like(0.0, user_w)
    # L_k = softplus(x_k) into scores; sigmoid(x_k) into coef for now.
    l_max = -np.inf
    mean = zero
    for k in range(n):
        sp, sg = _softplus_sigmoid(scores[p, k])
        scores[p, k] = sp
        coef[p, k] = sg
        mean += sp
        l_max = max(l_max, sp)
    mean = _like(mean / n, user_w)
    var = zero
    flat = True
    for k in range(n):
        dev = scores[p, k] - mean
        var += dev * dev
        flat = flat and scores[p, k] == scores[p, 0]
    var = _like(var / (n - 1) if unbiased else var / n, user_w)
    if guard and flat:
        var = zero
    tau = np.sqrt(var / _like(2.0 * rho, user_w))
    if guard and tau == 0:
        for k in range(n):
            weight[p, k] = _like(1.0 / n, user_w)
    else:
        inv_tau = _like(1.0, user_w) / tau
        z = zero
        top = _like(l_max, user_w)
        for k in range(n):
            w = np.exp((scores[p, k] - top) * inv_tau)
            weight[p, k] = w
            z += w
        for k in range(n):
            weight[p, k] = weight[p, k] / z
    total = 0.0
    for k in range(n):
        sel[p, k] = cand[p, k]
        coef[p, k] = weight[p, k] * coef[p, k]
        total += weight[p, k] * np.float64(scores[p, k])
    return total


@njit(**_inline)
def _top_m_select(user_w, cand, m, w_top, scores, sel, weight, coef, p):
    """DNS(M, N) (and RNS, M = N = 1) on pair ``p``: the top M, each weighted
    ``w_top``; returns the loss."""
    # Top m of the n scores, best first (insertion; ties keep the earlier draw). ``thr``
    # is the m-th best score so far, held in a register: most candidates cost one test.
    cnt = 0
    thr = scores[p, 0]
    for k in range(cand.shape[1]):
        v = scores[p, k]
        if cnt == m and v <= thr:
            continue
        r = cnt if cnt < m else m - 1
        while r > 0 and scores[p, sel[p, r - 1]] < v:
            sel[p, r] = sel[p, r - 1]
            r -= 1
        sel[p, r] = k
        if cnt < m:
            cnt += 1
        if cnt == m:
            thr = scores[p, sel[p, m - 1]]
    wt = _like(w_top, user_w)
    total = 0.0
    for r in range(m):
        sp, sg = _softplus_sigmoid(scores[p, sel[p, r]])
        weight[p, r] = wt
        coef[p, r] = wt * sg
        total += w_top * np.float64(sp)
        sel[p, r] = cand[p, sel[p, r]]
    return total


@njit(**_inline)
def _user_gradient(user_w, item_w, u, i, n_sel, wd_loss, sel, weight, coef, gpos, gu, p):
    """``gpos[p]``, ``gu[p]`` (dU_u) of pair ``p``; returns its L2 loss term (0 if none)."""
    zero = _like(0.0, user_w)
    dim = user_w.shape[1]
    g_pos = zero
    for r in range(n_sel):
        g_pos -= coef[p, r]
    gpos[p] = g_pos
    wd = _like(wd_loss, user_w)
    for t in range(dim):
        gu[p, t] = g_pos * item_w[i, t] + wd * user_w[u, t]
    neg_sq = 0.0
    for r in range(n_sel):
        c = coef[p, r]
        j = sel[p, r]
        if wd_loss > 0.0:  # one pass over the row for both sums
            sq = zero
            for t in range(dim):
                v = item_w[j, t]
                gu[p, t] += c * v
                sq += v * v
            neg_sq += np.float64(weight[p, r]) * sq
        else:
            for t in range(dim):
                gu[p, t] += c * item_w[j, t]
    if wd_loss <= 0.0:
        return 0.0
    u_sq = zero
    i_sq = zero
    for t in range(dim):
        u_sq += user_w[u, t] * user_w[u, t]
        i_sq += item_w[i, t] * item_w[i, t]
    return 0.5 * wd_loss * (np.float64(u_sq) + np.float64(i_sq) + neg_sq)


@njit(cache=_CACHE, parallel=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _pair_terms(
    user_w, item_w, users, items, cand, kind, m, rho, unbiased, guard, w_top, wd_loss,
    scores, sel, weight, coef, gpos, gu, loss,
):  # fmt: skip
    """Per pair: loss, selected candidates, their weights and score gradients, dU_u.

    ``scores`` (B, N) is scratch. ``sel``/``weight``/``coef`` (B, K) receive the K = M
    (DNS, RNS) or N (Softmax-v) selected items, their loss weights ``w_r`` and score
    gradients ``c_r``; ``gpos`` (B,) the positive's score gradient; ``gu`` (B, dim) the
    user row's gradient; ``loss`` (B,) the pair loss (float64). ``wd_loss`` > 0 puts the
    L2 term in the loss (the project's recipe). Everything but ``loss`` is computed in
    the tables' dtype, as torch computes a float32 model in float32; the sums run in
    any order (``reassoc``), which lets LLVM vectorise the dot products.
    """
    n_pairs, n = cand.shape
    for p in prange(n_pairs):
        u = users[p]
        i = items[p]
        if p + 1 < n_pairs:  # the next pair's user and positive rows
            _prefetch_row(user_w, users[p + 1])
            _prefetch_row(item_w, items[p + 1])
        _pair_scores(user_w, item_w, u, i, cand, scores, p)
        if kind == KIND_SOFTMAX:
            total = _softmax_select(
                user_w, cand, rho, unbiased, guard, scores, sel, weight, coef, p
            )
            n_sel = n
        else:
            total = _top_m_select(user_w, cand, m, w_top, scores, sel, weight, coef, p)
            n_sel = m
        total += _user_gradient(
            user_w, item_w, u, i, n_sel, wd_loss, sel, weight, coef, gpos, gu, p
        )
        loss[p] = total


@njit(cache=_CACHE)
def _scatter(
    user_w, item_w, users, items, sel, weight, coef, gpos, gu, n_sel, wd_loss, scale, g_user, g_item
):
    """Add every pair's gradient terms into the dense tables, in batch order.

    Each term is scaled by ``scale`` (1/B for the batch mean) and added in the tables'
    dtype, one pair after another, so the result does not depend on threads.
    """
    n_pairs = users.shape[0]
    dim = user_w.shape[1]
    sc = _like(scale, user_w)
    wd = _like(wd_loss, user_w)
    for p in range(n_pairs):
        u = users[p]
        i = items[p]
        gp = sc * gpos[p]
        for t in range(dim):
            g_user[u, t] += sc * gu[p, t]
        if wd_loss > 0.0:
            wi = sc * wd
            for t in range(dim):
                g_item[i, t] += gp * user_w[u, t] + wi * item_w[i, t]
        else:
            for t in range(dim):
                g_item[i, t] += gp * user_w[u, t]
        for r in range(n_sel):
            j = sel[p, r]
            c = sc * coef[p, r]
            if wd_loss > 0.0:
                wr = sc * wd * weight[p, r]
                for t in range(dim):
                    g_item[j, t] += c * user_w[u, t] + wr * item_w[j, t]
            else:
                for t in range(dim):
                    g_item[j, t] += c * user_w[u, t]


@njit(cache=_CACHE, parallel=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _full_terms(
    scores,
    group_users,
    group_start,
    items,
    user_w,
    item_w,
    rej_indptr,
    rej_indices,
    m,
    summed,
    wd_loss,
    sel,
    count,
    csum,
    gpos,
    gu,
    loss,
    heap_s,
):
    """Per user of a group: the top M of all non-excluded items, and its pairs' terms.

    ``scores`` (G, n_items) holds ``U_u V^T`` of the G users ``group_users``, whose pairs
    are ``group_start[g]:group_start[g + 1]`` of ``items`` (their positives). Writes per
    user ``g``: ``sel[g, :count[g]]`` (the selected negatives, best first), ``csum[g, r]``
    (``sum over the user's pairs of c_pr``, the score gradient of negative r) and
    ``gu[g]`` (dU_u summed over the user's pairs); per pair ``p``: ``gpos[p]`` (the
    positive's score gradient) and ``loss[p]`` (float64). The weights are ``1/count``
    (``summed``: 1). Same formulas as :func:`_pair_terms` with the candidates given by
    the selection; ``wd_loss`` > 0 adds the L2 term per pair.
    """
    n_groups = group_users.shape[0]
    dim = user_w.shape[1]
    zero = _like(0.0, user_w)
    wd = _like(wd_loss, user_w)
    for g in prange(n_groups):
        u = group_users[g]
        hj = sel[g]
        hs = heap_s[g]
        c_u = _top_m_of_row(scores[g], m, rej_indices, rej_indptr[u], rej_indptr[u + 1], hs, hj)
        count[g] = c_u
        w = _like(1.0, user_w) if summed else _like(1.0 / max(c_u, 1), user_w)
        neg_sq = 0.0
        u_sq = zero
        if wd_loss > 0.0:
            for r in range(c_u):
                sq = zero
                for t in range(dim):
                    sq += item_w[hj[r], t] * item_w[hj[r], t]
                neg_sq += np.float64(w) * sq
            for t in range(dim):
                u_sq += user_w[u, t] * user_w[u, t]
        for r in range(c_u):
            csum[g, r] = zero
        for t in range(dim):
            gu[g, t] = zero
        n_p = group_start[g + 1] - group_start[g]
        for p in range(group_start[g], group_start[g + 1]):
            i = items[p]
            s_pos = scores[g, i]
            total = 0.0
            g_pos = zero
            for r in range(c_u):
                sp, sg = _softplus_sigmoid(hs[r] - s_pos)
                c = w * sg
                csum[g, r] += c
                g_pos -= c
                total += np.float64(w) * np.float64(sp)
            gpos[p] = g_pos
            for t in range(dim):
                gu[g, t] += g_pos * item_w[i, t]
            if wd_loss > 0.0:
                i_sq = zero
                for t in range(dim):
                    i_sq += item_w[i, t] * item_w[i, t]
                total += 0.5 * wd_loss * (np.float64(u_sq) + np.float64(i_sq) + neg_sq)
            loss[p] = total
        for r in range(c_u):
            c = csum[g, r]
            j = hj[r]
            for t in range(dim):
                gu[g, t] += c * item_w[j, t]
        if wd_loss > 0.0:
            scale = wd * _like(n_p, user_w)
            for t in range(dim):
                gu[g, t] += scale * user_w[u, t]


@njit(cache=_CACHE)
def _full_scatter(
    user_w,
    item_w,
    group_users,
    group_start,
    items,
    sel,
    count,
    csum,
    gpos,
    gu,
    summed,
    wd_loss,
    scale,
    g_user,
    g_item,
):
    """Add the terms of :func:`_full_terms` into the dense gradient tables, user by user
    in group order and pair by pair (one thread: the result does not depend on threads).
    Each term is scaled by ``scale`` (1/B for the batch mean)."""
    dim = user_w.shape[1]
    sc = _like(scale, user_w)
    wd = _like(wd_loss, user_w)
    for g in range(group_users.shape[0]):
        u = group_users[g]
        for t in range(dim):
            g_user[u, t] += sc * gu[g, t]
        for p in range(group_start[g], group_start[g + 1]):
            i = items[p]
            gp = sc * gpos[p]
            if wd_loss > 0.0:
                wi = sc * wd
                for t in range(dim):
                    g_item[i, t] += gp * user_w[u, t] + wi * item_w[i, t]
            else:
                for t in range(dim):
                    g_item[i, t] += gp * user_w[u, t]
        c_u = count[g]
        n_p = group_start[g + 1] - group_start[g]
        w = _like(1.0, user_w) if summed else _like(1.0 / max(c_u, 1), user_w)
        wr = sc * wd * w * _like(n_p, user_w)
        for r in range(c_u):
            j = sel[g, r]
            c = sc * csum[g, r]
            if wd_loss > 0.0:
                for t in range(dim):
                    g_item[j, t] += c * user_w[u, t] + wr * item_w[j, t]
            else:
                for t in range(dim):
                    g_item[j, t] += c * user_w[u, t]


@njit(cache=_CACHE, parallel=True)
def _top_m_hits(scores, group_users, m, rej_indptr, rej_indices, hit_indptr, hit_indices, out):
    """``out[g]``: the share of user ``group_users[g]``'s top ``m`` non-excluded items
    (by ``scores[g]``, ties to the smaller id, as :func:`_full_terms` selects them) that
    are in the sorted CSR row ``hit_indices[hit_indptr[u]:hit_indptr[u + 1]]``; NaN for a
    user with no candidate."""
    for g in prange(group_users.shape[0]):
        u = group_users[g]
        hs = np.empty(m, dtype=scores.dtype)
        hj = np.empty(m, dtype=np.int64)
        c_u = _top_m_of_row(scores[g], m, rej_indices, rej_indptr[u], rej_indptr[u + 1], hs, hj)
        hj[:c_u].sort()  # ids ascending, merged with the sorted row of hits
        hits = 0
        q = hit_indptr[u]
        for r in range(c_u):
            while q < hit_indptr[u + 1] and hit_indices[q] < hj[r]:
                q += 1
            if q < hit_indptr[u + 1] and hit_indices[q] == hj[r]:
                hits += 1
        out[g] = hits / c_u if c_u > 0 else np.nan
