"""The engine contract, and what both engines derive the same way from a split.

An *engine* holds the model state (embedding tables and Adam's moments) of a group of
configurations trained together and runs their epochs. Two implement :class:`Engine`:
:class:`opauc_sim.train.numba_engine.NumbaEngine` (fused Numba kernels, CPU) and
:class:`opauc_sim.train.torch_engine.TorchEngine` (PyTorch; GPUs, and the reference). The
orchestration (epochs, validation, selection, test) is
:func:`opauc_sim.train.runner.train_many`, which talks to an engine through this
contract only; ``tests/train/test_engine_contract.py`` runs the same checks on both.

This module also holds what the two engines must compute identically, so that their
runs differ only in their random streams:

- :func:`training_pairs`: the (user, item) pairs trained on, users with no candidate
  negative left out;
- :func:`negative_exclusions`: per user, the items that are never candidates (the
  training positives; with the oracle control ``exclude_heldout`` also the validation
  and test items; in the authors' recipe with drawn candidates, nothing);
- :func:`popularity_cdf`: PNS's cumulative draw probabilities;
- :func:`batches`: the epoch's batches from a permutation (of pairs, or of users under
  ``batching="user"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import scipy.sparse as sp

from opauc_sim.train.config import TrainConfig

__all__ = [
    "Engine",
    "batches",
    "negative_exclusions",
    "popularity_cdf",
    "training_pairs",
    "user_groups",
]


@runtime_checkable
class Engine(Protocol):
    """What :func:`opauc_sim.train.runner.train_many` needs of an engine.

    Attributes
    ----------
    backend : str
        ``"numba"`` or ``"torch"`` (recorded in every result).
    device : object
        Where the tables live (``"cpu"``, or a torch device).
    configs : list of TrainConfig
        The group, in order; configuration ``c`` is index ``c`` below.
    """

    backend: str
    device: Any
    configs: list[TrainConfig]

    def epoch(self) -> np.ndarray:
        """Run one epoch; return the mean pair loss of each configuration, shape (C,)."""

    def scorer(self, c: int):
        """``f(rows) -> scores``: configuration ``c``'s score rows (NumPy, float32)."""

    def sync(self) -> None:
        """Wait for queued device work (timings); nothing on the CPU."""

    def snapshot(self, c: int) -> Any:
        """A copy of configuration ``c``'s tables, for :meth:`restore`."""

    def restore(self, c: int, state: Any) -> None:
        """Put a :meth:`snapshot` back into configuration ``c``'s tables."""

    def to_numpy(self, state: Any) -> tuple[np.ndarray, np.ndarray]:
        """A snapshot as NumPy ``(user_embedding, item_embedding)``."""


def negative_exclusions(split, config: TrainConfig) -> sp.csr_matrix | None:
    """Per user, the items that are never candidate negatives (sorted CSR), or None.

    The training positives (``split.train``) are excluded in the project's recipe, and
    always with ``N="all"`` (all items as candidates would select the user's own
    training items); the authors' recipe with drawn candidates excludes nothing. The
    oracle control ``exclude_heldout`` adds the validation and test items.
    """
    parts = []
    if not config.authors_code or config.full_items:
        parts.append(split.train)
    if config.exclude_heldout:
        parts += [split.valid, split.test]
    if not parts:
        return None
    out = sp.csr_matrix(parts[0], dtype=bool)
    for extra in parts[1:]:
        out = out + sp.csr_matrix(extra, dtype=bool)
    out = sp.csr_matrix(out, dtype=bool)
    out.sum_duplicates()
    out.sort_indices()
    return out


def training_pairs(split, exclusions: sp.csr_matrix | None) -> tuple[np.ndarray, np.ndarray]:
    """``(users, items)`` of the training pairs, grouped by user in CSR order.

    Users with no candidate negative (every item excluded) are left out.
    """
    train = split.train
    counts = np.diff(train.indptr)
    users = np.repeat(np.arange(split.n_users, dtype=np.int64), counts)
    items = train.indices.astype(np.int64)
    blocked = counts if exclusions is None else np.diff(exclusions.indptr)
    keep = (blocked < split.n_items)[users]
    return users[keep], items[keep]


def popularity_cdf(split, config: TrainConfig, exclusions) -> np.ndarray | None:
    """PNS's cumulative draw probabilities (``count_i ** alpha``, normalised), or None
    for a sampler that draws uniformly.

    ``count_i`` is item i's number of training interactions. Raises ValueError when a
    training user's candidates all have probability 0 (the draw could never end).
    """
    if config.spec.draw != "popularity":
        return None
    counts = np.bincount(split.train.indices, minlength=split.n_items).astype(np.float64)
    weights = np.where(counts > 0, counts**config.alpha, 0.0)
    total = weights.sum()
    if total <= 0:
        raise ValueError("PNS: no item has a training interaction to draw by popularity")
    p = weights / total
    if exclusions is not None:
        blocked = np.asarray(exclusions.multiply(p[None, :]).sum(axis=1)).ravel()
        active = np.diff(split.train.indptr) > 0
        stuck = np.flatnonzero(active & (blocked >= 1.0 - 1e-12))
        if stuck.size:
            raise ValueError(
                f"PNS(alpha={config.alpha:g}): user {int(stuck[0])} (and {stuck.size - 1} "
                "more) has no candidate with a nonzero popularity; use alpha=0 or RNS"
            )
    cdf = np.cumsum(p)
    cdf[-1] = 1.0
    return cdf


def batches(order: np.ndarray, config: TrainConfig, pair_start: np.ndarray) -> list[np.ndarray]:
    """The epoch's batches: arrays of pair indices, in training order.

    ``batching="pair"``: ``order`` permutes the pairs; consecutive slices of
    ``batch_size``. ``batching="user"``: ``order`` permutes the users that have pairs
    (``pair_start``, of length n_users + 1, gives user ``u``'s pairs
    ``pair_start[u]:pair_start[u + 1]``); a user goes, with all of its pairs, to batch
    ``floor(pairs before it / batch_size)``, so batches hold about ``batch_size`` pairs.
    """
    size = config.batch_size
    if config.batching == "pair":
        return [order[s : s + size] for s in range(0, len(order), size)]
    counts = pair_start[order + 1] - pair_start[order]
    before = np.concatenate(([0], np.cumsum(counts)[:-1]))
    which = before // size
    cut = np.flatnonzero(np.diff(which)) + 1
    out = []
    for users in np.split(order, cut):
        if users.size:
            out.append(np.concatenate([np.arange(pair_start[u], pair_start[u + 1]) for u in users]))
    return out


def user_groups(users: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A batch's pairs grouped by user: ``(perm, group_users, group_start)``.

    ``perm`` reorders the batch so that each user's pairs are adjacent (stable: first
    appearance order of the users is kept, and within a user the batch order);
    ``group_users[g]``'s pairs are ``perm[group_start[g]:group_start[g + 1]]``.
    """
    uniq, first, inverse = np.unique(users, return_index=True, return_inverse=True)
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(uniq))
    key = rank[inverse]
    perm = np.argsort(key, kind="stable")
    group_users = uniq[np.argsort(first, kind="stable")]
    counts = np.bincount(key, minlength=len(uniq))
    group_start = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    return perm, group_users.astype(np.int64), group_start


def stack_key(configs: Sequence[TrainConfig]) -> None:
    """Refuse a group of configurations that cannot train together."""
    from opauc_sim.train.config import group_key

    if len({group_key(c) for c in configs}) != 1:
        raise ValueError(
            "configs trained together must agree on all settings but sampler, M, rho "
            "and weight_decay"
        )
