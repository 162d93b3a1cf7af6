"""The PyTorch reference engine: MF + BPR with a negative sampler, as tensor code.

This is the engine for GPUs, and the reference that the fused CPU trainer
(:mod:`opauc_sim.train.numba_engine`) is tested against. The orchestration (epochs, validation,
selection, test) is :func:`opauc_sim.train.runner.train_many`, shared by both engines.

Several configurations can be trained at once: their embedding tables are stacked along
a leading axis and every batch runs all of them in the same tensor operations, which
keeps a GPU busy on a sweep of small models. Configurations trained together must share
the data order and the candidate draws, so they must agree on every setting but the
sampler's M, rho and kind and the weight decay (see
:func:`opauc_sim.train.config.group_key`); a configuration gets the same draws, and so
the same result up to floating-point reordering, whatever it is grouped with.

The two recipes (the project's and the authors') are described in
:mod:`opauc_sim.train.config`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from opauc_sim._validation import check_choice
from opauc_sim.train._torch import torch
from opauc_sim.train.config import TrainConfig, group_key
from opauc_sim.train.data import Split
from opauc_sim.train.torch_samplers import (
    NegativeMask,
    draw_negatives,
    softmax_v_weights,
)

__all__ = ["TorchEngine", "resolve_device"]

# Full score rows (a GEMM) instead of gathering candidate embeddings when the candidates
# per pair are at least this fraction of the items: fewer memory gathers on CPU.
_GEMM_FRACTION = 1 / 20


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


def _pairs(matrix, device) -> tuple[torch.Tensor, torch.Tensor]:
    users = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    return (
        torch.as_tensor(users, dtype=torch.int64, device=device),
        torch.as_tensor(matrix.indices.astype(np.int64), device=device),
    )


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

        self.n_candidates = configs[0].N
        self.kinds = [c.sampler for c in configs]
        self.any_softmax = "softmax" in self.kinds
        self.needs_scores = self.any_softmax or any(
            c.sampler == "dns" and c.M < c.N for c in configs
        )
        self.m_max = max(c.M for c in configs)
        self.is_softmax = col([k == "softmax" for k in self.kinds], torch.bool)[:, :, None]
        self.rho = col([c.rho for c in configs])[:, :, None]
        self.wd = col([c.weight_decay for c in configs])
        authors = configs[0].authors_code
        # The project's recipe puts the L2 term in the loss; the authors' puts it in Adam.
        self.reg_in_loss = not authors and any(c.weight_decay > 0 for c in configs)
        m = torch.as_tensor([c.M for c in configs], device=device)
        # DNS weight of the r-th best candidate: 1/M (summed: 1) for r < M, else 0.
        rank = torch.arange(self.m_max, device=device)
        per = torch.as_tensor(
            [1.0 if c.authors_code else 1.0 / c.M for c in configs], device=device, dtype=dtype
        )
        self.dns_rank_weight = torch.where(
            rank[None, :] < m[:, None], per[:, None], torch.zeros((), dtype=dtype, device=device)
        )
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
    """Per-pair losses (C, B) of a batch for every stacked configuration."""
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
            top = torch.topk(s, group.m_max, dim=-1).indices  # (C, B, M_max), best first
            weights = torch.zeros_like(s)
            weights.scatter_(2, top, group.dns_rank_weight[:, None, :].expand_as(top).to(s.dtype))
            if group.any_softmax:
                losses = torch.nn.functional.softplus(s - pos.detach()[..., None])
                soft = softmax_v_weights(
                    losses, group.rho, guard=group.uniform_when_flat, unbiased=group.unbiased
                )
                weights = torch.where(group.is_softmax, soft, weights)
        if group.any_softmax:
            chosen = cand
        else:
            chosen = torch.gather(cand, 2, top)
            weights = torch.gather(weights, 2, top)
    else:  # RNS, or DNS with M = N: every candidate counts
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


class TorchEngine:
    """The stacked state of configurations trained together, in PyTorch.

    Interface shared with :class:`opauc_sim.train.numba_engine.NumbaEngine`: :meth:`epoch`,
    :meth:`scorer`, :meth:`snapshot`, :meth:`restore`, :meth:`to_numpy`.
    """

    backend = "torch"

    def __init__(self, split: Split, configs: Sequence[TrainConfig], device="cpu"):
        device = resolve_device(device) if isinstance(device, str) else device
        keys = {group_key(c) for c in configs}
        if len(keys) != 1:
            raise ValueError(
                "configs trained together must agree on all settings but sampler, M, rho "
                "and weight_decay"
            )
        first = configs[0]
        self.configs = list(configs)
        self.device = device
        n_users, n_items = split.n_users, split.n_items
        user_w = torch.empty(len(configs), n_users, first.dim, device=device)
        item_w = torch.empty(len(configs), n_items, first.dim, device=device)
        with torch.no_grad():
            for c, config in enumerate(configs):  # each as if it were trained alone
                gen = torch.Generator(device=device).manual_seed(config.seed)
                user_w[c].normal_(0.0, config.init_std, generator=gen)
                item_w[c].normal_(0.0, config.init_std, generator=gen)
        self.user_w = torch.nn.Parameter(user_w)
        self.item_w = torch.nn.Parameter(item_w)
        self.optimizer = torch.optim.Adam([self.user_w, self.item_w], lr=first.lr)
        self.generator = torch.Generator(device=device).manual_seed(_train_seed(first.seed))
        users, items = _pairs(split.train, device)
        full = np.diff(split.train.indptr) >= n_items  # users with no negative to draw
        if full.any():
            keep = ~torch.as_tensor(full, device=device)[users]
            users, items = users[keep], items[keep]
        self.users, self.items = users, items
        self.mask = None if first.authors_code else NegativeMask(split.train, device)
        self.group = _GroupConstants(configs, device)
        self.n_epochs_done = 0

    def epoch(self) -> np.ndarray:
        """One pass over the training pairs in random order; mean pair loss per config."""
        first = self.configs[0]
        self.n_epochs_done += 1
        for param_group in self.optimizer.param_groups:  # StepLR under the authors' recipe
            param_group["lr"] = first.lr_at(self.n_epochs_done)
        n_pairs = self.users.numel()
        order = torch.randperm(n_pairs, generator=self.generator, device=self.device)
        total = torch.zeros(len(self.configs), device=self.device, dtype=torch.float64)
        n_items = self.item_w.shape[1]
        for start in range(0, n_pairs, first.batch_size):
            idx = order[start : start + first.batch_size]
            u, i = self.users[idx], self.items[idx]
            cand = draw_negatives(u, self.group.n_candidates, n_items, self.generator, self.mask)
            pair = _batch_loss(self.user_w, self.item_w, u, i, cand, self.group)
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
        return (total / n_pairs).cpu().numpy()

    def scorer(self, c: int):
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
        with torch.no_grad():
            self.user_w[c].copy_(state[0])
            self.item_w[c].copy_(state[1])

    @staticmethod
    def to_numpy(state) -> tuple[np.ndarray, np.ndarray]:
        return state[0].cpu().numpy(), state[1].cpu().numpy()
