"""The negative samplers' draws and selections as PyTorch tensor code (docs/theorems.md).

A sampler of the registry (:mod:`opauc_sim.train.samplers`) is a **draw** and a
**selection**; this module holds the tensor form of each, which
:mod:`opauc_sim.train.torch_engine` combines as a configuration's spec says:

- draws (:func:`draw_negatives`): N i.i.d. candidates per pair, with replacement,
  ``"uniform"`` over the items or ``"popularity"`` (PNS) by inverse CDF on the
  cumulative probabilities of :func:`opauc_sim.train.engine.popularity_cdf`; items in
  the user's exclusions (:func:`opauc_sim.train.engine.negative_exclusions`, tested by
  :class:`NegativeMask`) are redrawn, which keeps the draw's distribution restricted to
  the user's candidates. DNS over all items (``N="all"``) draws nothing: the candidates
  are every item not in :class:`CsrRows`' exclusions;
- selections: ``"top"`` keeps the M best-scored candidates (:func:`top_m`; ties go to
  the smaller index, as in the Numba kernels: the earlier draw, or the smaller item id),
  ``"weighted"`` (Softmax-v) weighs all N by ``softmax(L / tau)``,
  ``tau = sqrt(Var(L) / (2 rho))`` (:func:`softmax_v_weights`), the variance over the N
  draws (ddof 0, the variance under the uniform P0 on the draws). Zero variance (all
  losses equal) gives uniform weights; the authors' code has no such guard (it gives NaN
  there).

The weights are constants in the gradient (computed from detached scores and losses), as
in the paper.
"""

from __future__ import annotations

import numpy as np

from opauc_sim.train._torch import torch

__all__ = [
    "CsrRows",
    "NegativeMask",
    "draw_negatives",
    "softmax_v_tau",
    "softmax_v_weights",
    "top_m",
]


class NegativeMask:
    """Membership test "is item i excluded for user u" for rejection sampling.

    ``matrix`` is a users x items sparse matrix of the exclusions. A dense boolean table
    of ``n_users * n_items`` entries when that is at most ``dense_limit`` bytes (a single
    gather per test), else the sorted keys ``u * n_items + i`` searched with
    ``torch.searchsorted``.
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


class CsrRows:
    """A users x items sparse matrix (the exclusions) as CSR tensors on the device, for
    the full-item path: how many items each user has, and masking them in score rows."""

    def __init__(self, matrix, device):
        self.n_items = matrix.shape[1]
        self.indptr = torch.as_tensor(matrix.indptr.astype(np.int64), device=device)
        self.indices = torch.as_tensor(matrix.indices.astype(np.int64), device=device)

    def counts(self, users: torch.Tensor) -> torch.Tensor:
        """The number of items in each of ``users``' rows."""
        return self.indptr[users + 1] - self.indptr[users]

    def fill(self, rows: torch.Tensor, users: torch.Tensor, value: float) -> None:
        """Set ``rows[..., g, j] = value`` for every item j in user ``users[g]``'s row;
        ``rows`` has shape (..., len(users), n_items)."""
        start = self.indptr[users]
        counts = self.indptr[users + 1] - start
        total = int(counts.sum())
        if total == 0:
            return
        row = torch.repeat_interleave(torch.arange(users.numel(), device=users.device), counts)
        first = torch.cumsum(counts, 0) - counts  # each row's first position in the output
        pos = torch.arange(total, device=users.device) + (start - first)[row]
        rows[..., row, self.indices[pos]] = value


def draw_negatives(
    users: torch.Tensor,
    n: int,
    n_items: int,
    generator: torch.Generator,
    mask: NegativeMask | None = None,
    cdf: torch.Tensor | None = None,
    max_rounds: int = 1000,
) -> torch.Tensor:
    """``n`` i.i.d. negatives per user: shape ``(len(users), n)``.

    Uniform over the items, or, with ``cdf`` (PNS: float64 cumulative probabilities, the
    last one 1), the first item whose cumulative probability exceeds a uniform in [0, 1)
    (an item of probability 0 is never drawn). With ``mask``, items excluded for the user
    are redrawn until none is left, which samples from the draw's distribution restricted
    to the user's candidates. Users must have a candidate (the engine drops the others).
    """
    device = users.device

    def draw(shape):
        if cdf is None:
            return torch.randint(n_items, shape, generator=generator, device=device)
        x = torch.rand(shape, generator=generator, device=device, dtype=torch.float64)
        return torch.searchsorted(cdf, x, right=True).clamp_(max=n_items - 1)

    cand = draw((users.numel(), n))
    if mask is None:
        return cand
    flat = cand.view(-1)
    flat_users = users.to(torch.int64).repeat_interleave(n)
    todo = torch.nonzero(mask(flat_users, flat)).squeeze(1)  # positions still excluded
    for _ in range(max_rounds):
        if todo.numel() == 0:
            return cand
        redraw = draw((todo.numel(),))
        flat[todo] = redraw
        todo = todo[mask(flat_users[todo], redraw)]
    raise RuntimeError(f"could not draw negatives in {max_rounds} rounds: a user has no negative")


def top_m(scores: torch.Tensor, m: int) -> torch.Tensor:
    """Indices of the ``m`` highest scores along the last axis, best first; shape
    ``(..., min(m, n))``. Ties go to the smaller index, whatever the device.

    This is the order of a stable descending sort, computed without sorting whole rows:
    ``torch.topk`` of ``m + 1`` (which promises the values, not which of equal values it
    returns), its ``m + 1`` entries reordered by (score descending, index ascending), and
    a stable sort of the rows only where the ``m``-th and ``(m + 1)``-th scores are equal
    and finite (a tie across the cut that topk may have broken either way). Entries of
    score ``-inf`` (excluded items) come last, in an unspecified order.
    """
    n = scores.shape[-1]
    if m >= n:
        return torch.sort(scores, dim=-1, descending=True, stable=True).indices
    vals, idx = torch.topk(scores, m + 1, dim=-1)
    idx, perm = torch.sort(idx, dim=-1)
    vals = torch.gather(vals, -1, perm)
    order = torch.sort(vals, dim=-1, descending=True, stable=True).indices
    idx, vals = torch.gather(idx, -1, order), torch.gather(vals, -1, order)
    tie = (vals[..., m] == vals[..., m - 1]) & (vals[..., m - 1] > -torch.inf)
    if bool(tie.any()):
        flat_idx = idx.reshape(-1, m + 1)
        rows = tie.reshape(-1).nonzero().squeeze(1)
        full = torch.sort(scores.reshape(-1, n)[rows], dim=-1, descending=True, stable=True)
        flat_idx[rows] = full.indices[:, : m + 1]
        idx = flat_idx.view(idx.shape)
    return idx[..., :m]


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
