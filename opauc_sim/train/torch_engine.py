"""The PyTorch engine: MF + BPR with a negative sampler, as tensor code.

This is the engine for GPUs, and the reference that the fused CPU trainer
(:mod:`opauc_sim.train.numba_engine`) is tested against: both implement
:class:`opauc_sim.train.engine.Engine` with the same mathematics, and derive the pairs,
the exclusions, PNS's draw probabilities and the batches from the split by the same
functions of :mod:`opauc_sim.train.engine`. The orchestration (epochs, validation,
selection, test) is :func:`opauc_sim.train.runner.train_many`, shared by both engines.

What a configuration trains is read from its sampler's registry entry
(:mod:`opauc_sim.train.samplers`), never from its name:

- ``spec.draw``: N candidates per pair, uniform or by popularity (PNS), the user's
  exclusions redrawn (:func:`opauc_sim.train.torch_samplers.draw_negatives`);
- ``N="all"`` (``config.full_items``): no draw; per batch, the score rows of the batch's
  users over all items (a GEMM), the excluded items masked to ``-inf``, and each user's
  top M selected once (ties to the smaller item id), every pair of that user taking
  those ``count = min(M, candidates)`` negatives with weight ``1/count`` (the authors'
  recipe: 1) (:func:`_full_batch_loss`);
- ``spec.select``: ``"top"`` keeps the M best of the N candidates (ties to the earlier
  draw), ``"weighted"`` weighs all N (:func:`_batch_loss`).

The loss of a pair (u, i) with selected negatives j_r of weights w_r is
``sum_r w_r softplus(s_uj_r - s_ui) [+ wd/2 (|U_u|^2 + |V_i|^2 + sum_r w_r |V_j_r|^2)]``,
the batch loss its mean over the batch's pairs (the authors' recipe: the sum, with the
weight decay in Adam instead of the loss); gradients are torch's autograd. The two
recipes are described in :mod:`opauc_sim.train.config`. :func:`pair_losses_and_grads`
and :func:`full_losses_and_grads` expose one batch's losses and gradients for the
parity tests against the Numba engine.

Several configurations can be trained at once: their embedding tables are stacked along
a leading axis and every batch runs all of them in the same tensor operations, which
keeps a GPU busy on a sweep of small models. Configurations trained together must share
the data order and the candidate draws, so they must agree on every setting but the
sampler's M, rho and kind and the weight decay (see
:func:`opauc_sim.train.config.group_key`); a configuration gets the same draws, and so
the same result up to floating-point reordering, whatever it is grouped with.

On CUDA a seeded run is reproducible in distribution but not bit for bit: the backward
pass of an embedding gather adds the rows' gradients with atomics.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from opauc_sim._validation import check_choice
from opauc_sim.train import engine as E
from opauc_sim.train._torch import torch
from opauc_sim.train.config import TrainConfig
from opauc_sim.train.data import Split
from opauc_sim.train.torch_samplers import (
    CsrRows,
    NegativeMask,
    draw_negatives,
    softmax_v_weights,
    top_m,
)

__all__ = [
    "MirrorEngine",
    "TorchEngine",
    "full_losses_and_grads",
    "pair_losses_and_grads",
    "resolve_device",
]

# Full score rows (a GEMM) instead of gathering candidate embeddings when the candidates
# per pair are at least this fraction of the items: fewer memory gathers on CPU.
_GEMM_FRACTION = 1 / 20
#: The full-item path scores a batch's users this many bytes of score rows at a time (a
#: GPU: a whole batch over 41k items for one configuration, in one GEMM).
_SCORE_BYTES = {"cuda": 1 << 31}
_SCORE_BYTES_DEFAULT = 1 << 28


def resolve_device(device: str = "auto") -> torch.device:
    """``"auto"`` picks CUDA when available, else CPU; ``"cuda"`` without CUDA is an error."""
    if not isinstance(device, str):
        raise TypeError(f"device must be a string, got {device!r}")
    check_choice("device", device.split(":")[0], ("auto", "cpu", "cuda"))
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but torch sees no CUDA device")
    return torch.device(device)


def _torch_dtype(dtype) -> torch.dtype:
    """A torch dtype from a torch or NumPy dtype (``np.float64``, ``"float32"``, ...)."""
    if isinstance(dtype, torch.dtype):
        return dtype
    return torch.from_numpy(np.empty(0, dtype=np.dtype(dtype))).dtype


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _train_seed(seed: int) -> int:
    """The training stream's seed: independent of the initialisation's ``seed``."""
    return int(np.random.SeedSequence([seed, 1]).generate_state(1, np.uint64)[0] >> 1)


class _GroupConstants:
    """The constants of a group of configurations trained together (C of them): per
    configuration as tensors of shape (C, 1, 1) or (C, 1), shared ones as scalars."""

    def __init__(self, configs: Sequence[TrainConfig], device, dtype=torch.float32):
        def col(values, dtype=dtype):
            return torch.as_tensor(values, dtype=dtype, device=device)[:, None]

        first = configs[0]
        self.full_items = first.full_items
        self.n_candidates = first.N
        softmax = [c.spec.weighs_all for c in configs]  # Softmax-v: every candidate
        if self.full_items and any(softmax):
            raise ValueError("N='all' is implemented for the 'top' selection only")
        self.any_softmax = any(softmax)
        self.m_max = max(c.M for c in configs)
        self.m = torch.as_tensor([c.M for c in configs], device=device)
        self.needs_scores = not self.full_items and (
            self.any_softmax or any(c.M < c.N for c in configs)
        )
        self.is_softmax = col(softmax, torch.bool)[:, :, None]
        self.rho = col([c.rho for c in configs])[:, :, None]
        self.wd = col([c.weight_decay for c in configs])
        authors = first.authors_code
        # The project's recipe puts the L2 term in the loss; the authors' puts it in Adam.
        self.reg_in_loss = not authors and any(c.weight_decay > 0 for c in configs)
        self.summed = authors  # DNS weighs its negatives 1, not 1/M
        # Drawn DNS: weight of the r-th best candidate, 1/M (summed: 1) for r < M, else 0.
        rank = torch.arange(self.m_max, device=device)
        per = torch.as_tensor(
            [1.0 if authors else 1.0 / c.M for c in configs], device=device, dtype=dtype
        )
        zero = torch.zeros((), dtype=dtype, device=device)
        self.dns_rank_weight = torch.where(rank[None, :] < self.m[:, None], per[:, None], zero)
        self.uniform_when_flat = not authors  # uniform weights at zero variance (project)
        self.unbiased = authors  # torch.var's default, in the authors' tau
        self.loss_summed = authors  # batch loss summed, not averaged


def _batch_loss(
    user_w: torch.Tensor,
    item_w: torch.Tensor,
    u: torch.Tensor,
    i: torch.Tensor,
    cand: torch.Tensor,
    group: _GroupConstants,
) -> torch.Tensor:
    """Per-pair losses (C, B) of a batch with drawn candidates ``cand`` (B, N), for every
    stacked configuration."""
    n_cfg, n_items = item_w.shape[0], item_w.shape[1]
    cfg = torch.arange(n_cfg, device=u.device)[:, None, None]
    ue, ie = user_w[:, u], item_w[:, i]  # (C, B, d)
    pos = (ue * ie).sum(-1)  # (C, B)
    cand = cand[None].expand(n_cfg, -1, -1)  # (C, B, N)

    def scores_of(items: torch.Tensor) -> torch.Tensor:
        if items.shape[-1] >= _GEMM_FRACTION * n_items:
            full = torch.bmm(ue, item_w.transpose(1, 2))  # (C, B, n_items)
            return torch.gather(full, 2, items)
        return torch.einsum("cbd,cbkd->cbk", ue, item_w[cfg, items])

    neg = None
    if group.needs_scores:
        if group.any_softmax:  # every candidate carries gradient: score them once, with it
            neg = scores_of(cand)
        with torch.no_grad():
            s = neg.detach() if neg is not None else scores_of(cand)
            top = top_m(s, group.m_max)  # (C, B, M_max), best first, ties to the earlier draw
            rank_weight = group.dns_rank_weight[:, None, :].expand_as(top).to(s.dtype)
            if group.any_softmax:
                weights = torch.zeros_like(s)
                weights.scatter_(2, top, rank_weight)
                losses = torch.nn.functional.softplus(s - pos.detach()[..., None])
                soft = softmax_v_weights(
                    losses, group.rho, guard=group.uniform_when_flat, unbiased=group.unbiased
                )
                weights = torch.where(group.is_softmax, soft, weights)
            else:
                weights = rank_weight
        chosen = cand if group.any_softmax else torch.gather(cand, 2, top)
    else:  # RNS, PNS, or DNS with M = N: every candidate counts
        chosen = cand
        weights = group.dns_rank_weight[:, None, :1].expand(-1, cand.shape[1], cand.shape[2])
    if neg is None:
        neg = scores_of(chosen)
    pair = (weights * torch.nn.functional.softplus(neg - pos[..., None])).sum(-1)
    if group.reg_in_loss:
        neg_sq = item_w.square().sum(-1)  # (C, n_items)
        neg_sq = torch.gather(neg_sq, 1, chosen.reshape(n_cfg, -1)).view_as(chosen)
        reg = ue.square().sum(-1) + ie.square().sum(-1) + (weights * neg_sq).sum(-1)
        pair = pair + 0.5 * group.wd * reg
    return pair


def _full_selection(user_w, item_w, users, exclusions: CsrRows, group: _GroupConstants):
    """DNS(M, all): each of ``users``' (distinct) top items, best first, ties to the
    smaller id, and the loss weights. Returns ``(sel, weights, count)``: ``sel`` (C, G, W)
    with W = min(M_max, n_items), ``weights`` (C, G, W) and ``count`` (C, G), the number
    of real negatives (``min(M, candidates)``; entries past it have weight 0)."""
    n_cfg, n_items = item_w.shape[0], item_w.shape[1]
    width = min(group.m_max, n_items)
    sel = torch.empty((n_cfg, users.numel(), width), dtype=torch.int64, device=users.device)
    budget = _SCORE_BYTES.get(users.device.type, _SCORE_BYTES_DEFAULT)
    step = max(1, budget // max(n_cfg * n_items * item_w.element_size(), 1))
    with torch.no_grad():
        for g0 in range(0, users.numel(), step):
            rows = users[g0 : g0 + step]
            scores = torch.bmm(user_w[:, rows], item_w.transpose(1, 2))  # (C, g, n_items)
            exclusions.fill(scores, rows, -torch.inf)
            sel[:, g0 : g0 + step] = top_m(scores, width)
        n_cand = n_items - exclusions.counts(users)  # (G,)
        count = torch.minimum(group.m[:, None], n_cand[None, :])  # (C, G)
        if group.summed:
            per = torch.ones(count.shape, dtype=item_w.dtype, device=users.device)
        else:
            per = 1.0 / count.clamp(min=1).to(item_w.dtype)
        rank = torch.arange(width, device=users.device)
        weights = torch.where(rank < count[..., None], per[..., None], 0.0).to(item_w.dtype)
    return sel, weights, count


def _full_batch_loss(
    user_w: torch.Tensor,
    item_w: torch.Tensor,
    u: torch.Tensor,
    i: torch.Tensor,
    exclusions: CsrRows,
    group: _GroupConstants,
):
    """Per-pair losses (C, B) of a batch under DNS(M, all), for every stacked
    configuration; also ``(sel, count, inverse)``: the selection of each of the batch's
    distinct users (:func:`_full_selection`) and each pair's user among them."""
    n_cfg = item_w.shape[0]
    users, inverse = torch.unique(u, return_inverse=True)
    sel, weights, count = _full_selection(user_w, item_w, users, exclusions, group)
    cfg = torch.arange(n_cfg, device=u.device)[:, None, None]
    neg_w = item_w[cfg, sel]  # (C, G, W, d)
    neg = torch.einsum("cgd,cgwd->cgw", user_w[:, users], neg_w)  # (C, G, W)
    ue, ie = user_w[:, u], item_w[:, i]  # (C, B, d)
    pos = (ue * ie).sum(-1)  # (C, B)
    x = neg[:, inverse] - pos[..., None]  # (C, B, W)
    pair = (weights[:, inverse] * torch.nn.functional.softplus(x)).sum(-1)
    if group.reg_in_loss:
        neg_sq = (weights * neg_w.square().sum(-1)).sum(-1)  # (C, G)
        reg = ue.square().sum(-1) + ie.square().sum(-1) + neg_sq[:, inverse]
        pair = pair + 0.5 * group.wd * reg
    return pair, (sel, count, inverse)


def _bool_csr(matrix) -> sp.csr_matrix:
    """A boolean CSR copy without duplicate entries."""
    out = sp.csr_matrix(matrix, dtype=bool)
    out.sum_duplicates()
    return out


def _one_batch(user_w, item_w, config: TrainConfig, device, loss_of):
    """Pair losses and autograd gradients of one batch loss for one configuration."""
    device = torch.device(device)
    uw = torch.tensor(user_w[None], device=device, requires_grad=True)
    iw = torch.tensor(item_w[None], device=device, requires_grad=True)
    group = _GroupConstants([config], device, dtype=uw.dtype)
    pair, extra = loss_of(uw, iw, group)
    pair = pair[0]
    loss = pair.sum() if config.authors_code else pair.mean()
    loss.backward()
    out = (pair.detach().cpu().numpy(), uw.grad[0].cpu().numpy(), iw.grad[0].cpu().numpy())
    return out, extra


def pair_losses_and_grads(user_w, item_w, users, items, cand, config: TrainConfig, device="cpu"):
    """Drawn candidates ``cand`` (B, N) on one batch: ``(pair_losses, d_user_w, d_item_w)``.

    NumPy in and out, computed in the tables' dtype on ``device``; the batch loss is the
    mean of the pair losses (the sum under ``authors_code``, whose weight decay lives in
    Adam). The counterpart of :func:`opauc_sim.train.numba_engine.pair_losses_and_grads`.
    """

    def loss_of(uw, iw, group):
        t = [torch.as_tensor(np.asarray(a), device=uw.device) for a in (users, items, cand)]
        return _batch_loss(uw, iw, t[0], t[1], t[2], group), None

    out, _ = _one_batch(user_w, item_w, config, device, loss_of)
    return out


def full_losses_and_grads(
    user_w, item_w, users, items, exclusions, config: TrainConfig, device="cpu"
):
    """DNS(M, all) on one batch: ``(pair_losses, d_user_w, d_item_w, selected)``.

    ``exclusions`` is the users x items sparse matrix of the items never taken as
    negatives; ``selected[p]`` lists pair p's negatives, best first (as many as the user
    has candidates, up to M). NumPy in and out, computed in the tables' dtype on
    ``device``. The counterpart of
    :func:`opauc_sim.train.numba_engine.full_losses_and_grads`.
    """
    users = np.asarray(users, dtype=np.int64)

    def loss_of(uw, iw, group):
        rows = CsrRows(_bool_csr(exclusions), uw.device)
        u = torch.as_tensor(users, device=uw.device)
        i = torch.as_tensor(np.asarray(items, dtype=np.int64), device=uw.device)
        return _full_batch_loss(uw, iw, u, i, rows, group)

    out, (sel, count, inverse) = _one_batch(user_w, item_w, config, device, loss_of)
    sel, count, inverse = sel[0].cpu().numpy(), count[0].cpu().numpy(), inverse.cpu().numpy()
    selected = [sel[g, : count[g]].copy() for g in inverse]
    return (*out, selected)


class TorchEngine:
    """The stacked state of configurations trained together, in PyTorch.

    Implements :class:`opauc_sim.train.engine.Engine`. ``dtype`` is the tables' (float32
    by default; float64 for the parity tests). The random streams (initialisation, the
    epochs' permutations, the candidate draws) are torch generators on ``device``.
    """

    backend = "torch"

    def __init__(self, split: Split, configs: Sequence[TrainConfig], device="cpu", dtype=None):
        device = resolve_device(device) if isinstance(device, str) else torch.device(device)
        dtype = torch.float32 if dtype is None else _torch_dtype(dtype)
        E.stack_key(configs)
        first = configs[0]
        self.configs = list(configs)
        self.device = device
        self.dtype = dtype
        n_users, n_items = split.n_users, split.n_items
        self.n_items = n_items
        excl = E.negative_exclusions(split, first)
        users, items = E.training_pairs(split, excl)
        self.pair_start = np.searchsorted(users, np.arange(n_users + 1)).astype(np.int64)
        self.active_users = np.flatnonzero(np.diff(self.pair_start) > 0)
        self.users = torch.as_tensor(users, device=device)
        self.items = torch.as_tensor(items, device=device)
        cdf = E.popularity_cdf(split, first, excl)
        self.cdf = None if cdf is None else torch.as_tensor(cdf, device=device)
        self.exclusions = None  # the full-item path's
        self.mask = None  # the drawn path's
        if excl is not None and first.full_items:
            self.exclusions = CsrRows(excl, device)
        elif excl is not None:
            self.mask = NegativeMask(excl, device)
        user_w = torch.empty(len(configs), n_users, first.dim, device=device, dtype=dtype)
        item_w = torch.empty(len(configs), n_items, first.dim, device=device, dtype=dtype)
        with torch.no_grad():
            for c, config in enumerate(configs):  # each as if it were trained alone
                gen = torch.Generator(device=device).manual_seed(config.seed)
                user_w[c].normal_(0.0, config.init_std, generator=gen)
                item_w[c].normal_(0.0, config.init_std, generator=gen)
        self.user_w = torch.nn.Parameter(user_w)
        self.item_w = torch.nn.Parameter(item_w)
        self.optimizer = torch.optim.Adam([self.user_w, self.item_w], lr=first.lr)
        self.generator = torch.Generator(device=device).manual_seed(_train_seed(first.seed))
        self.group = _GroupConstants(configs, device, dtype)
        self.n_epochs_done = 0

    def _epoch_batches(self) -> list:
        """This epoch's batches of pair indices (draws the epoch's permutation from the
        engine's generator; :func:`opauc_sim.train.engine.batches` cuts it)."""
        first = self.configs[0]
        if first.batching == "user":
            n = len(self.active_users)
            perm = torch.randperm(n, generator=self.generator, device=self.device)
            order = self.active_users[perm.cpu().numpy()]
            return E.batches(order, first, self.pair_start)
        order = torch.randperm(self.users.numel(), generator=self.generator, device=self.device)
        return E.batches(order, first, self.pair_start)  # slices of the device tensor

    def _candidates(self, u: torch.Tensor, start: int) -> torch.Tensor:
        """The drawn candidates (B, N) of the batch of users ``u`` that starts at pair
        ``start`` of the epoch."""
        return draw_negatives(
            u, self.group.n_candidates, self.n_items, self.generator, self.mask, self.cdf
        )

    def _loss(self, u: torch.Tensor, i: torch.Tensor, start: int) -> torch.Tensor:
        """Per-pair losses (C, B) of one batch, drawing its candidates."""
        if self.group.full_items:
            return _full_batch_loss(self.user_w, self.item_w, u, i, self.exclusions, self.group)[0]
        cand = self._candidates(u, start)
        return _batch_loss(self.user_w, self.item_w, u, i, cand, self.group)

    def epoch(self) -> np.ndarray:
        """One pass over the training pairs in random order; mean pair loss per config."""
        first = self.configs[0]
        self.n_epochs_done += 1
        for param_group in self.optimizer.param_groups:  # StepLR under the authors' recipe
            param_group["lr"] = first.lr_at(self.n_epochs_done)
        total = torch.zeros(len(self.configs), device=self.device, dtype=torch.float64)
        start = 0
        for idx in self._epoch_batches():
            idx = torch.as_tensor(idx, device=self.device)
            pair = self._loss(self.users[idx], self.items[idx], start)
            start += idx.numel()
            per_cfg = pair.sum(1)
            loss = per_cfg.sum() if self.group.loss_summed else per_cfg.sum() / idx.numel()
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if self.group.loss_summed:  # Adam's coupled weight decay: grad += wd * param
                with torch.no_grad():
                    for w in (self.user_w, self.item_w):
                        w.grad.add_(self.group.wd[:, :, None] * w)
            self.optimizer.step()
            total += per_cfg.detach()
        return (total / max(self.users.numel(), 1)).cpu().numpy()

    def scorer(self, c: int):
        """``f(rows) -> scores`` of configuration ``c`` (NumPy float32)."""

        def score(rows: np.ndarray) -> np.ndarray:
            users = torch.as_tensor(rows, dtype=torch.int64, device=self.device)
            with torch.no_grad():
                out = self.user_w[c, users] @ self.item_w[c].T
            return out.float().cpu().numpy()

        return score

    def sync(self) -> None:
        _sync(self.device)

    def snapshot(self, c: int):
        return self.user_w[c].detach().clone(), self.item_w[c].detach().clone()

    def restore(self, c: int, state) -> None:
        """Put a snapshot (or NumPy tables, e.g. another engine's) into configuration
        ``c``'s tables."""
        with torch.no_grad():
            self.user_w[c].copy_(torch.as_tensor(state[0]))
            self.item_w[c].copy_(torch.as_tensor(state[1]))

    @staticmethod
    def to_numpy(state) -> tuple[np.ndarray, np.ndarray]:
        return state[0].cpu().numpy(), state[1].cpu().numpy()


class MirrorEngine(TorchEngine):
    """A torch engine that takes the random streams of a Numba engine: its initial tables,
    its epochs' batches and its candidate draws (``source``, a
    :class:`~opauc_sim.train.numba_engine.NumbaEngine` of the same split and
    configurations, used for its streams only: do not train it).

    Trained alongside a second, identically seeded Numba engine, the two then compute the
    same steps, so their tables agree to round-off epoch after epoch: the whole-training
    parity check of ``benchmarks/gpu_sweep.sh`` and the tests (the default engines share
    their mathematics, not their streams).
    """

    def __init__(self, split: Split, configs, source, device="cpu", dtype=None):
        super().__init__(split, configs, device, dtype)
        if len(source.users) != self.users.numel() or source.configs != self.configs:
            raise ValueError("the source engine must train the same pairs and configurations")
        self.source = source
        for c in range(len(self.configs)):
            self.restore(c, source.snapshot(c))

    def _epoch_batches(self) -> list:
        return self.source._epoch_batches()

    def _candidates(self, u: torch.Tensor, start: int) -> torch.Tensor:
        from opauc_sim.train.numba_engine import _BLOOM_WORDS, draw_candidates

        src = self.source
        users = u.cpu().numpy()
        cand = np.empty((len(users), self.group.n_candidates), dtype=np.int64)
        bloom = np.empty((len(users), _BLOOM_WORDS), dtype=np.uint64)
        offset = (self.n_epochs_done - 1) * len(src.users) + start
        draw_candidates(
            cand, users, src.draw_key, offset, self.n_items, src.exclusions, bloom, src.cdf
        )
        return torch.as_tensor(cand, device=self.device)
