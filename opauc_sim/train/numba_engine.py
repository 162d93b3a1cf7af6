"""The fused CPU trainer: MF + BPR with RNS, DNS(M, N) or Softmax-v(rho, N) in Numba.

Same mathematics as the PyTorch reference (:mod:`opauc_sim.train.torch_engine`), without ever
building a ``(batch, N, dim)`` tensor. This module is the Python side: the per-batch
buffers, the argument lists of the kernels, Adam's constants, and :class:`NumbaEngine`,
the stacked state of the configurations trained together. The four kernels one Adam step
runs (draw, pair terms, scatter, Adam), their gradients and why a seeded run is
bit-identical for any number of threads are in :mod:`opauc_sim.train.numba_kernels`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from opauc_sim.train import engine as E
from opauc_sim.train.config import TrainConfig
from opauc_sim.train.numba_adam import _adam
from opauc_sim.train.numba_draws import _BLOOM_WORDS, _draw
from opauc_sim.train.numba_kernels import (
    KIND_DNS,
    KIND_SOFTMAX,
    _full_scatter,
    _full_terms,
    _pair_terms,
    _scatter,
)

__all__ = [
    "NumbaEngine",
    "adam_step",
    "batch_terms",
    "draw_candidates",
    "full_losses_and_grads",
    "pair_losses_and_grads",
]

_KINDS = {"top": KIND_DNS, "weighted": KIND_SOFTMAX}
ADAM_BETA1, ADAM_BETA2, ADAM_EPS = 0.9, 0.999, 1e-8
_NO_CDF = np.empty(0, dtype=np.float64)
#: Users whose score rows one GEMM computes at a time in the full-item path.
_GROUP_ROWS = 256


class _Buffers:
    """Per-batch scratch arrays, allocated once per run."""

    def __init__(self, batch: int, n: int, n_sel: int, dim: int, dtype=np.float32):
        self.cand = np.empty((batch, n), dtype=np.int64)
        self.bloom = np.empty((batch, _BLOOM_WORDS), dtype=np.uint64)
        self.scores = np.empty((batch, n), dtype=dtype)
        self.sel = np.empty((batch, n_sel), dtype=np.int64)
        self.weight = np.empty((batch, n_sel), dtype=dtype)
        self.coef = np.empty((batch, n_sel), dtype=dtype)
        self.gpos = np.empty(batch, dtype=dtype)
        self.gu = np.empty((batch, dim), dtype=dtype)
        self.loss = np.empty(batch, dtype=np.float64)


def _sampler_args(config: TrainConfig) -> tuple[int, int, int, float]:
    """(kind, M, n_selected, top weight) of a config's sampler."""
    kind = _KINDS[config.spec.select]
    if kind == KIND_SOFTMAX:
        return kind, 1, config.N, 1.0
    m = config.M
    return kind, m, m, 1.0 if config.authors_code else 1.0 / m


def _terms(user_w, item_w, users, items, cand, config: TrainConfig, b: _Buffers, n_b: int):
    """Run :func:`_pair_terms` for the first ``n_b`` pairs into buffers ``b``.

    Returns the views ``(sel, weight, coef)`` of the selected candidates; the other
    per-pair results are ``b.gpos[:n_b]``, ``b.gu[:n_b]`` and ``b.loss[:n_b]``.
    """
    kind, m, n_sel, w_top = _sampler_args(config)
    sel, weight, coef = b.sel[:n_b, :n_sel], b.weight[:n_b, :n_sel], b.coef[:n_b, :n_sel]
    _pair_terms(
        user_w,
        item_w,
        users,
        items,
        cand,
        kind,
        m,
        config.rho,
        config.authors_code,
        not config.authors_code,
        w_top,
        _wd_in_loss(config),
        b.scores[:n_b],
        sel,
        weight,
        coef,
        b.gpos[:n_b],
        b.gu[:n_b],
        b.loss[:n_b],
    )
    return sel, weight, coef


def _add_gradients(user_w, item_w, users, items, terms, config, b: _Buffers, g_user, g_item):
    """Scatter a batch's per-pair terms (from :func:`_terms`) into the gradient tables."""
    sel, weight, coef = terms
    n_b = len(users)
    scale = 1.0 if config.authors_code else 1.0 / n_b
    _scatter(
        user_w,
        item_w,
        users,
        items,
        sel,
        weight,
        coef,
        b.gpos[:n_b],
        b.gu[:n_b],
        sel.shape[1],
        _wd_in_loss(config),
        scale,
        g_user,
        g_item,
    )


def _wd_in_loss(config: TrainConfig) -> float:
    """The project's recipe puts the L2 term in the loss; the authors' puts it in Adam."""
    return 0.0 if config.authors_code else config.weight_decay


def batch_terms(
    user_w: np.ndarray,
    item_w: np.ndarray,
    users: np.ndarray,
    items: np.ndarray,
    cand: np.ndarray,
    config: TrainConfig,
) -> dict[str, np.ndarray]:
    """Per-pair terms of one batch with given candidates (the kernels' view, for tests).

    Returns a dict with ``loss`` (B,), ``sel``/``weight``/``coef`` (B, K) and ``gpos``,
    ``gu``: see :func:`_pair_terms`.
    """
    n_sel = _sampler_args(config)[2]
    cand = np.ascontiguousarray(cand, dtype=np.int64)
    b = _Buffers(cand.shape[0], cand.shape[1], n_sel, user_w.shape[1], user_w.dtype)
    users, items = np.asarray(users, np.int64), np.asarray(items, np.int64)
    _terms(user_w, item_w, users, items, cand, config, b, len(users))
    return {
        "loss": b.loss,
        "sel": b.sel,
        "weight": b.weight,
        "coef": b.coef,
        "gpos": b.gpos,
        "gu": b.gu,
    }


def pair_losses_and_grads(
    user_w: np.ndarray,
    item_w: np.ndarray,
    users: np.ndarray,
    items: np.ndarray,
    cand: np.ndarray,
    config: TrainConfig,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pair losses and the gradients of the batch loss, for given candidates.

    The batch loss is the mean of the pair losses (the sum under ``authors_code``, whose
    weight decay lives in Adam, not here). Returns ``(pair_losses, d_user_w, d_item_w)``
    with the gradients in the tables' dtype. This is what one training step computes
    before Adam, exposed so that tests can hold it against torch's autograd.
    """
    n_sel = _sampler_args(config)[2]
    cand = np.ascontiguousarray(cand, dtype=np.int64)
    b = _Buffers(cand.shape[0], cand.shape[1], n_sel, user_w.shape[1], user_w.dtype)
    users, items = np.asarray(users, np.int64), np.asarray(items, np.int64)
    terms = _terms(user_w, item_w, users, items, cand, config, b, len(users))
    g_user = np.zeros_like(user_w)
    g_item = np.zeros_like(item_w)
    _add_gradients(user_w, item_w, users, items, terms, config, b, g_user, g_item)
    return b.loss, g_user, g_item


def adam_step(
    param: np.ndarray,
    grad: np.ndarray,
    exp_avg: np.ndarray,
    exp_avg_sq: np.ndarray,
    step: int,
    lr: float,
    weight_decay: float = 0.0,
) -> None:
    """Adam's ``step``-th update (1-based) of ``param`` in place; ``grad`` is zeroed."""
    bc1 = 1.0 - ADAM_BETA1**step
    bc2 = 1.0 - ADAM_BETA2**step
    consts = np.array(
        [
            1.0 - ADAM_BETA1,
            ADAM_BETA2,
            1.0 - ADAM_BETA2,
            ADAM_EPS,
            -(lr / bc1),
            np.sqrt(bc2),
            weight_decay,
        ],
        dtype=param.dtype,
    )
    _adam(
        param.reshape(-1),
        grad.reshape(-1),
        exp_avg.reshape(-1),
        exp_avg_sq.reshape(-1),
        consts,
        weight_decay != 0.0,
    )


def _stream_key(seed: int, stream: int) -> int:
    return int(np.random.SeedSequence([seed, stream]).generate_state(1, np.uint64)[0])


def _draw_arrays(exclusions, n_users: int, cdf) -> tuple:
    """``(indptr, indices, reject, cdf)`` of :func:`_draw` for ``exclusions`` (a sorted
    CSR, or None: nothing is redrawn) and PNS's ``cdf`` (None: uniform)."""
    if exclusions is None:
        indptr = np.zeros(n_users + 1, dtype=np.int64)
        indices = np.zeros(0, dtype=np.int64)
    else:  # no copy for the int64 CSR the engine holds (_csr64)
        indptr = np.asarray(exclusions.indptr, dtype=np.int64)
        indices = np.asarray(exclusions.indices, dtype=np.int64)
    return indptr, indices, exclusions is not None, _NO_CDF if cdf is None else cdf


def draw_candidates(cand, users, key, offset, n_items, exclusions, bloom, cdf=None) -> None:
    """Fill ``cand`` (B, N) with the candidates of pairs ``offset, offset + 1, ...`` of
    ``users``: uniform, or from PNS's ``cdf``; items in ``exclusions`` (a sorted CSR, or
    None) are redrawn. ``bloom`` is (B, 64) uint64 scratch. See :func:`_draw`."""
    indptr, indices, reject, cdf = _draw_arrays(exclusions, int(users.max(initial=0)) + 1, cdf)
    _draw(cand, users, key, offset, n_items, indptr, indices, reject, bloom, cdf)


class _FullBuffers:
    """Scratch of the full-item path for up to ``rows`` users and ``pairs`` pairs."""

    def __init__(self, rows: int, pairs: int, n_items: int, m: int, dim: int, dtype):
        self.scores = np.empty((rows, n_items), dtype=dtype)
        self.sel = np.empty((rows, m), dtype=np.int64)
        self.count = np.empty(rows, dtype=np.int64)
        self.csum = np.empty((rows, m), dtype=dtype)
        self.heap = np.empty((rows, m), dtype=dtype)
        self.gu = np.empty((rows, dim), dtype=dtype)
        self.gpos = np.empty(pairs, dtype=dtype)
        self.loss = np.empty(pairs, dtype=np.float64)


def _full_group(user_w, item_w, group_users, group_start, items, exclusions, config, b):
    """:func:`_full_terms` for one chunk of users (their score rows by one GEMM)."""
    n_g = len(group_users)
    scores = b.scores[:n_g]
    np.matmul(user_w[group_users], item_w.T, out=scores)
    _full_terms(
        scores,
        group_users,
        group_start,
        items,
        user_w,
        item_w,
        exclusions.indptr,
        exclusions.indices,
        config.M,
        config.authors_code,
        _wd_in_loss(config),
        b.sel,
        b.count,
        b.csum,
        b.gpos,
        b.gu,
        b.loss,
        b.heap,
    )


def _full_step(user_w, item_w, users, items, exclusions, config, b, g_user, g_item, scale):
    """Terms and gradients of one batch in the full-item path; returns the loss sum.

    The batch's pairs are grouped by user (:func:`opauc_sim.train.engine.user_groups`)
    and processed :data:`_GROUP_ROWS` users at a time.
    """
    perm, group_users, group_start = E.user_groups(users)
    items = np.ascontiguousarray(items[perm])
    total = 0.0
    for g0 in range(0, len(group_users), _GROUP_ROWS):
        g1 = min(g0 + _GROUP_ROWS, len(group_users))
        p0, p1 = group_start[g0], group_start[g1]
        gu_chunk = group_users[g0:g1]
        gs_chunk = group_start[g0 : g1 + 1] - p0
        it_chunk = items[p0:p1]
        if p1 - p0 > len(b.gpos):  # a batch larger than planned (user batching)
            b.gpos = np.empty(p1 - p0, dtype=b.gpos.dtype)
            b.loss = np.empty(p1 - p0, dtype=np.float64)
        _full_group(user_w, item_w, gu_chunk, gs_chunk, it_chunk, exclusions, config, b)
        _full_scatter(
            user_w,
            item_w,
            gu_chunk,
            gs_chunk,
            it_chunk,
            b.sel,
            b.count,
            b.csum,
            b.gpos,
            b.gu,
            config.authors_code,
            _wd_in_loss(config),
            scale,
            g_user,
            g_item,
        )
        total += float(b.loss[: p1 - p0].sum())
    return total


def full_losses_and_grads(user_w, item_w, users, items, exclusions, config: TrainConfig):
    """DNS(M, all) on one batch: pair losses (in the order of ``users``), gradients of
    the batch loss and the selected negatives per pair, for tests.

    Returns ``(pair_losses, d_user_w, d_item_w, selected)``; ``selected[p]`` lists pair
    p's negatives, best first (as many as the user has candidates, up to M).
    """
    users = np.asarray(users, np.int64)
    items = np.asarray(items, np.int64)
    exclusions = _csr64(exclusions)
    n_items, dim = item_w.shape
    b = _FullBuffers(min(_GROUP_ROWS, len(users)), len(users), n_items, config.M, dim, user_w.dtype)
    g_user, g_item = np.zeros_like(user_w), np.zeros_like(item_w)
    scale = 1.0 if config.authors_code else 1.0 / len(users)
    perm, group_users, group_start = E.user_groups(users)
    losses = np.empty(len(users))
    selected: list[np.ndarray] = [np.empty(0, np.int64)] * len(users)
    for g0 in range(0, len(group_users), _GROUP_ROWS):  # the same chunks as _full_step
        g1 = min(g0 + _GROUP_ROWS, len(group_users))
        p0, p1 = group_start[g0], group_start[g1]
        rows = perm[p0:p1]
        gs = group_start[g0 : g1 + 1] - p0
        _full_group(user_w, item_w, group_users[g0:g1], gs, items[rows], exclusions, config, b)
        losses[rows] = b.loss[: p1 - p0]
        for g in range(g1 - g0):
            for p in rows[gs[g] : gs[g + 1]]:
                selected[p] = b.sel[g, : b.count[g]].copy()
    _full_step(user_w, item_w, users, items, exclusions, config, b, g_user, g_item, scale)
    return losses, g_user, g_item, selected


def _aligned(array: np.ndarray) -> np.ndarray:
    """A C-contiguous copy of ``array`` that starts on a 64-byte boundary.

    NumPy aligns large arrays to 16 bytes only; a 128-byte row (dim 32, float32) of a
    table that starts mid-line then spans three cache lines instead of two, and the
    pair kernel reads 200 random rows per pair (:func:`numba_kernels._pair_scores`).
    """
    raw = np.empty(array.nbytes + 64, dtype=np.uint8)
    start = -raw.ctypes.data % 64
    out = raw[start : start + array.nbytes].view(array.dtype).reshape(array.shape)
    out[...] = array
    return out


def _csr64(matrix) -> sp.csr_matrix:
    """A sorted CSR copy with int64 index arrays (what the kernels take)."""
    out = sp.csr_matrix(matrix, dtype=bool)
    out.sort_indices()
    out.indptr = out.indptr.astype(np.int64)
    out.indices = out.indices.astype(np.int64)
    return out


class NumbaEngine:
    """The stacked state of configurations trained together on the CPU (Numba).

    Implements :class:`opauc_sim.train.engine.Engine`. Configurations of one group share
    the pair order and the candidate draws; each keeps its own tables and Adam state.
    With ``N="all"`` (DNS over all items) every batch's users are scored by a GEMM,
    :data:`_GROUP_ROWS` users at a time, and each user's top M is selected once per
    batch (:func:`opauc_sim.train.numba_kernels._full_terms`).
    """

    backend = "numba"

    def __init__(self, split, configs, dtype=np.float32):
        E.stack_key(configs)
        first = configs[0]
        self.configs = list(configs)
        self.device = "cpu"
        self.dtype = np.dtype(dtype)
        n_users, n_items = split.n_users, split.n_items
        excl = E.negative_exclusions(split, first)
        self.exclusions = None if excl is None else _csr64(excl)
        self.users, self.items = E.training_pairs(split, excl)
        self.pair_start = np.searchsorted(self.users, np.arange(n_users + 1)).astype(np.int64)
        self.active_users = np.flatnonzero(np.diff(self.pair_start) > 0)
        self.cdf = E.popularity_cdf(split, first, excl)
        self._draw_args = _draw_arrays(self.exclusions, n_users, self.cdf)
        self.n_items = n_items
        self.tables = []
        for config in self.configs:
            rng = np.random.default_rng(np.random.SeedSequence([config.seed, 0]))
            user_w = rng.normal(0.0, config.init_std, (n_users, first.dim)).astype(dtype)
            item_w = rng.normal(0.0, config.init_std, (n_items, first.dim)).astype(dtype)
            tab = {"user": _aligned(user_w), "item": _aligned(item_w)}
            for name in ("g", "m", "v"):
                tab[f"{name}_user"] = _aligned(np.zeros_like(user_w))
                tab[f"{name}_item"] = _aligned(np.zeros_like(item_w))
            self.tables.append(tab)
        self.order_rng = np.random.default_rng(np.random.SeedSequence([first.seed, 1]))
        self.draw_key = np.uint64(_stream_key(first.seed, 2))
        self.n_epochs_done = 0
        self.n_steps = 0
        batch = min(first.batch_size, max(len(self.users), 1))
        if first.full_items:
            m = max(c.M for c in self.configs)
            rows = min(_GROUP_ROWS, batch)
            self.full = _FullBuffers(rows, batch, n_items, m, first.dim, self.dtype)
        else:
            n_sel = max(_sampler_args(c)[2] for c in self.configs)
            self.buffers = _Buffers(batch, first.N, n_sel, first.dim, self.dtype)

    def _epoch_batches(self) -> list[np.ndarray]:
        """This epoch's batches of pair indices (draws the epoch's permutation)."""
        first = self.configs[0]
        if first.batching == "user":
            order = self.order_rng.permutation(self.active_users)
        else:
            order = self.order_rng.permutation(len(self.users))
        return E.batches(order, first, self.pair_start)

    def epoch(self) -> np.ndarray:
        """One pass over the training pairs in random order; mean pair loss per config."""
        first = self.configs[0]
        n_pairs = len(self.users)
        epoch = self.n_epochs_done + 1
        totals = np.zeros(len(self.configs))
        start = 0
        for idx in self._epoch_batches():
            u, i = self.users[idx], self.items[idx]
            if first.full_items:
                for c, config in enumerate(self.configs):
                    totals[c] += self._full_step(config, self.tables[c], u, i, epoch)
            else:
                b = self.buffers
                if len(idx) > b.cand.shape[0]:  # a user batch larger than batch_size
                    self.buffers = b = _Buffers(
                        len(idx), first.N, b.sel.shape[1], first.dim, self.dtype
                    )
                cand = b.cand[: len(idx)]
                offset = (epoch - 1) * n_pairs + start
                _draw(cand, u, self.draw_key, offset, self.n_items, *self._draw_args[:3],
                      b.bloom, self._draw_args[3])  # fmt: skip
                for c, config in enumerate(self.configs):
                    totals[c] += self._step(config, self.tables[c], u, i, cand, epoch)
            self.n_steps += 1
            start += len(idx)
        self.n_epochs_done = epoch
        return totals / max(n_pairs, 1)

    def _adam(self, config, tab, epoch) -> None:
        lr = config.lr_at(epoch)
        adam_wd = config.weight_decay if config.authors_code else 0.0
        for name in ("user", "item"):
            adam_step(
                tab[name],
                tab[f"g_{name}"],
                tab[f"m_{name}"],
                tab[f"v_{name}"],
                self.n_steps + 1,
                lr,
                adam_wd,
            )

    def _full_step(self, config, tab, u, i, epoch) -> float:
        scale = 1.0 if config.authors_code else 1.0 / len(u)
        total = _full_step(
            tab["user"],
            tab["item"],
            u,
            i,
            self.exclusions,
            config,
            self.full,
            tab["g_user"],
            tab["g_item"],
            scale,
        )
        self._adam(config, tab, epoch)
        return total

    def _step(self, config, tab, u, i, cand, epoch) -> float:
        b = self.buffers
        n_b = len(u)
        terms = _terms(tab["user"], tab["item"], u, i, cand, config, b, n_b)
        _add_gradients(
            tab["user"], tab["item"], u, i, terms, config, b, tab["g_user"], tab["g_item"]
        )
        self._adam(config, tab, epoch)
        return float(b.loss[:n_b].sum())

    def scorer(self, c: int):
        """``f(rows) -> scores`` of configuration ``c``, float32 as the contract says (a GEMM
        in the tables' dtype; a float64 engine's scores are rounded to float32)."""
        tab = self.tables[c]

        def score(rows: np.ndarray) -> np.ndarray:
            return (tab["user"][rows] @ tab["item"].T).astype(np.float32, copy=False)

        return score

    def sync(self) -> None:
        """Nothing to wait for on the CPU."""

    def snapshot(self, c: int):
        tab = self.tables[c]
        return tab["user"].copy(), tab["item"].copy()

    def restore(self, c: int, state) -> None:
        tab = self.tables[c]
        tab["user"][...] = state[0]
        tab["item"][...] = state[1]

    @staticmethod
    def to_numpy(state) -> tuple[np.ndarray, np.ndarray]:
        return state
