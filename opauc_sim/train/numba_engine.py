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

from opauc_sim.train.config import TrainConfig
from opauc_sim.train.numba_kernels import (
    _BLOOM_WORDS,
    KIND_DNS,
    KIND_RNS,
    KIND_SOFTMAX,
    _adam,
    _draw,
    _pair_terms,
    _scatter,
)

__all__ = ["NumbaEngine", "adam_step", "batch_terms", "pair_losses_and_grads"]

_KINDS = {"rns": KIND_RNS, "dns": KIND_DNS, "softmax": KIND_SOFTMAX}
ADAM_BETA1, ADAM_BETA2, ADAM_EPS = 0.9, 0.999, 1e-8


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
    kind = _KINDS[config.sampler]
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


class NumbaEngine:
    """The stacked state of configurations trained together on the CPU (Numba).

    Configurations of one group share the pair order and the candidate draws; each keeps
    its own tables and Adam state. Interface shared with the torch engine:
    :meth:`epoch`, :meth:`scorer`, :meth:`snapshot`, :meth:`restore`.
    """

    backend = "numba"

    def __init__(self, split, configs, dtype=np.float32):
        first = configs[0]
        self.configs = list(configs)
        self.device = "cpu"
        self.dtype = np.dtype(dtype)
        n_users, n_items = split.n_users, split.n_items
        train = split.train
        counts = np.diff(train.indptr)
        users = np.repeat(np.arange(n_users, dtype=np.int64), counts)
        items = train.indices.astype(np.int64)
        keep = (counts < n_items)[users]  # users with no negative to draw are left out
        self.users, self.items = users[keep], items[keep]
        self.indptr = train.indptr.astype(np.int64)
        self.indices = train.indices.astype(np.int64)
        self.n_items = n_items
        self.tables = []
        for config in self.configs:
            rng = np.random.default_rng(np.random.SeedSequence([config.seed, 0]))
            user_w = rng.normal(0.0, config.init_std, (n_users, first.dim)).astype(dtype)
            item_w = rng.normal(0.0, config.init_std, (n_items, first.dim)).astype(dtype)
            self.tables.append(
                {
                    "user": user_w,
                    "item": item_w,
                    "g_user": np.zeros_like(user_w),
                    "g_item": np.zeros_like(item_w),
                    "m_user": np.zeros_like(user_w),
                    "v_user": np.zeros_like(user_w),
                    "m_item": np.zeros_like(item_w),
                    "v_item": np.zeros_like(item_w),
                }
            )
        self.order_rng = np.random.default_rng(np.random.SeedSequence([first.seed, 1]))
        self.draw_key = np.uint64(_stream_key(first.seed, 2))
        self.n_epochs_done = 0
        self.n_steps = 0
        n_sel = max(_sampler_args(c)[2] for c in self.configs)
        batch = min(first.batch_size, max(len(self.users), 1))
        self.buffers = _Buffers(batch, first.N, n_sel, first.dim, self.dtype)

    def epoch(self) -> np.ndarray:
        """One pass over the training pairs in random order; mean pair loss per config."""
        first = self.configs[0]
        n_pairs = len(self.users)
        epoch = self.n_epochs_done + 1
        order = self.order_rng.permutation(n_pairs)
        totals = np.zeros(len(self.configs))
        b = self.buffers
        for start in range(0, n_pairs, first.batch_size):
            idx = order[start : start + first.batch_size]
            n_b = len(idx)
            u, i = self.users[idx], self.items[idx]
            cand = b.cand[:n_b]
            _draw(
                cand,
                u,
                self.draw_key,
                (epoch - 1) * n_pairs + start,
                self.n_items,
                self.indptr,
                self.indices,
                not first.authors_code,
                b.bloom,
            )
            self.n_steps += 1
            for c, config in enumerate(self.configs):
                totals[c] += self._step(config, self.tables[c], u, i, cand, epoch)
        self.n_epochs_done = epoch
        return totals / max(n_pairs, 1)

    def _step(self, config, tab, u, i, cand, epoch) -> float:
        b = self.buffers
        n_b = len(u)
        terms = _terms(tab["user"], tab["item"], u, i, cand, config, b, n_b)
        _add_gradients(
            tab["user"], tab["item"], u, i, terms, config, b, tab["g_user"], tab["g_item"]
        )
        lr = config.lr_at(epoch)
        adam_wd = config.weight_decay if config.authors_code else 0.0
        for name in ("user", "item"):
            adam_step(
                tab[name],
                tab[f"g_{name}"],
                tab[f"m_{name}"],
                tab[f"v_{name}"],
                self.n_steps,
                lr,
                adam_wd,
            )
        return float(b.loss[:n_b].sum())

    def scorer(self, c: int):
        """``f(rows) -> scores`` of configuration ``c`` (float32 GEMM, as torch's)."""
        tab = self.tables[c]

        def score(rows: np.ndarray) -> np.ndarray:
            return tab["user"][rows] @ tab["item"].T

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
