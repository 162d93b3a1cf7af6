"""Deprecated: the rank-level metrics are :mod:`opauc_sim.metrics.ranks`.

``opauc_sim.rank_metrics.recall_at_k(pos_ranks, n_neg, ks)`` and
``opauc_sim.metrics.recall_at_k(y_true, y_score, k)`` had one name and two signatures; the
rank-level functions now live in their own namespace. Every name of this module still
works, with a :class:`DeprecationWarning`, and is the same object as in
:mod:`opauc_sim.metrics.ranks`.
"""

from __future__ import annotations

import warnings

from opauc_sim.metrics import ranks as _ranks

__all__ = list(_ranks.__all__)


def __getattr__(name: str):
    value = getattr(_ranks, name)  # AttributeError for a name that does not exist
    warnings.warn(
        f"opauc_sim.rank_metrics.{name} is deprecated; use opauc_sim.metrics.ranks.{name}",
        DeprecationWarning,
        stacklevel=2,
    )
    return value
