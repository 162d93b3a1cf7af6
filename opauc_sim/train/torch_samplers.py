"""Negative samplers RNS, DNS(M, N) and Softmax-v(rho, N) as PyTorch tensor code (docs/theorems.md).

Each sampler turns a batch of (user, positive item) pairs into candidate negatives and
per-candidate weights; the trainer's loss is ``sum_j w_j * softplus(-(r_ui - r_uj))``.
The weights are constants in the gradient (computed from detached scores/losses), as
in the paper.

- RNS: one negative drawn uniformly, weight 1.
- DNS(M, N): N negatives drawn uniformly, the M highest-scored kept, weight 1/M each
  (the authors' code sums them: weight 1).
- Softmax-v(rho, N): N negatives drawn uniformly, ``w = softmax(L / tau)`` with
  ``tau = sqrt(Var(L) / (2 rho))``, the variance over the N draws (ddof 0, the variance
  under the uniform distribution P0 on the draws). Zero variance (all losses equal) gives
  uniform weights; the authors' code has no such guard (it gives NaN there).

Draws are i.i.d. uniform with replacement. By default a user's training positives are
not valid negatives: they are redrawn (rejection sampling, which keeps the draw uniform
over the user's non-positives).
"""

from __future__ import annotations

import numpy as np

from opauc_sim.train._torch import torch

__all__ = [
    "NegativeMask",
    "dns_weights",
    "draw_negatives",
    "softmax_v_tau",
    "softmax_v_weights",
]


class NegativeMask:
    """Membership test "is item i a positive of user u" for rejection sampling.

    A dense boolean table of ``n_users * n_items`` entries when that is at most
    ``dense_limit`` bytes (a single gather per test), else the sorted keys
    ``u * n_items + i`` searched with ``torch.searchsorted``.
    """

    def __init__(self, matrix, device, dense_limit: int = 1 << 28):
        n_users, n_items = matrix.shape
        self.n_items = n_items
        users = np.repeat(np.arange(n_users, dtype=np.int64), np.diff(matrix.indptr))
        keys = torch.as_tensor(users * n_items + matrix.indices.astype(np.int64), device=device)
        if n_users * n_items <= dense_limit:
            self.dense = torch.zeros(n_users * n_items, dtype=torch.bool, device=device)
            self.dense[keys] = True
            self.keys = None
        else:
            self.dense = None
            self.keys = torch.sort(keys).values

    def __call__(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        query = users * self.n_items + items
        if self.dense is not None:
            return self.dense[query]
        if self.keys.numel() == 0:
            return torch.zeros_like(query, dtype=torch.bool)
        pos = torch.searchsorted(self.keys, query).clamp_(max=self.keys.numel() - 1)
        return self.keys[pos] == query


def draw_negatives(
    users: torch.Tensor,
    n: int,
    n_items: int,
    generator: torch.Generator,
    mask: NegativeMask | None = None,
    max_rounds: int = 1000,
) -> torch.Tensor:
    """``n`` i.i.d. uniform negatives per user: shape ``(len(users), n)``.

    With ``mask``, items that are the user's positives are redrawn until none is left,
    which samples uniformly from the user's non-positives.
    Users must have at least one non-positive item (the trainer drops the others).
    """
    device = users.device
    cand = torch.randint(n_items, (users.numel(), n), generator=generator, device=device)
    if mask is None:
        return cand
    flat = cand.view(-1)
    flat_users = users.to(torch.int64).repeat_interleave(n)
    todo = torch.nonzero(mask(flat_users, flat)).squeeze(1)  # positions still positive
    for _ in range(max_rounds):
        if todo.numel() == 0:
            return cand
        redraw = torch.randint(n_items, (todo.numel(),), generator=generator, device=device)
        flat[todo] = redraw
        todo = todo[mask(flat_users[todo], redraw)]
    raise RuntimeError(f"could not draw negatives in {max_rounds} rounds: a user has no negative")


def dns_weights(scores: torch.Tensor, m: int, *, normalize: bool = True) -> torch.Tensor:
    """DNS weights over the last axis: ``1/m`` on the ``m`` highest scores, 0 elsewhere.

    ``normalize=False`` puts weight 1 on each (the authors' summed loss). Among tied
    scores at the cut, ``torch.topk`` decides which are kept.
    """
    top = torch.topk(scores, m, dim=-1).indices
    weights = torch.zeros_like(scores)
    weights.scatter_(-1, top, 1.0 / m if normalize else 1.0)
    return weights


def softmax_v_tau(losses: torch.Tensor, rho, *, unbiased: bool = False) -> torch.Tensor:
    """``tau = sqrt(Var(L) / (2 rho))`` over the last axis.

    The population variance by default (the variance under the uniform P0 on the draws);
    ``unbiased=True`` divides by N - 1 instead, as the authors' ``torch.var`` does.
    ``rho`` is a float or a tensor that broadcasts against ``losses[..., :1]``.
    """
    var = losses.var(dim=-1, unbiased=unbiased, keepdim=True)
    # The variance of a constant row can round to a tiny positive number; make it 0.
    var = torch.where((losses == losses[..., :1]).all(-1, keepdim=True), 0.0, var)
    return torch.sqrt(var / (2.0 * rho))


def softmax_v_weights(
    losses: torch.Tensor, rho, *, guard: bool = True, unbiased: bool = False
) -> torch.Tensor:
    """Softmax-v weights ``softmax(L / tau)`` over the last axis (docs/theorems.md, Theorem 2).

    With ``guard`` a zero variance (``tau = 0``) gives uniform weights; without it (the
    authors' code) it gives NaN. ``unbiased`` selects the variance (see
    :func:`softmax_v_tau`).
    """
    losses = losses.detach()
    tau = softmax_v_tau(losses, rho, unbiased=unbiased)
    if guard:
        flat = tau == 0
        tau = torch.where(flat, torch.ones_like(tau), tau)
        weights = torch.softmax(losses / tau, dim=-1)
        return torch.where(flat, torch.full_like(weights, 1.0 / losses.shape[-1]), weights)
    return torch.softmax(losses / tau, dim=-1)
