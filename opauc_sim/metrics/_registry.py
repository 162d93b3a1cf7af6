"""The metric registry: one row per Top-K metric, read by every function that names one.

A row says what the metric is called (its name in ``topk=``, the column ``<name>@K``, its
title in warnings), whether the kernel must fill the rank block (the expected reciprocal
rank, AP sum and hit probability, which cost a little more per tie group), whether it is
defined on a row without positives, and how its value per row is read from the kernel's
statistics (:class:`opauc_sim.metrics._driver.Stats`). The single functions
(:mod:`._single`), :func:`opauc_sim.metrics.evaluate` and the kernel's driver
(:func:`opauc_sim.metrics._driver.run`) read it; nothing else lists the metrics.

Adding a Top-K metric is: its kernel block (a statistic accumulated per tie group in
``_kernels._add_topk``, laid out by ``_kernels._block_starts`` and named in
``_driver.Stats``), one row here, and its wrapper in ``_single`` (exported by
``__init__``). ``tests/metrics/test_invariance.py`` then checks it over every input form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from opauc_sim._definitions import ideal_dcg


@dataclass(frozen=True)
class TopKMetric:
    """One Top-K metric.

    Attributes
    ----------
    name : str
        Its name in ``topk=`` and in the column ``<name>@K``.
    title : str
        Its name in messages (``"Recall"``).
    needs_rank : bool
        Whether the kernel must fill the rank block (``rr``, ``ap``, ``hit``).
    defined_without_positives : bool
        Whether a row with no positives has a value (else NaN, with one warning).
    value : callable
        ``value(stats, t, k)``: the per-row values at the ``t``-th cut-off ``k`` from the
        kernel's statistics, before the rows without positives are set to NaN.
    """

    name: str
    title: str
    needs_rank: bool
    defined_without_positives: bool
    value: Callable


def _ratio(num: np.ndarray, den) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / den


#: Every Top-K metric, in the order of ``evaluate``'s columns at each K.
TOPK = {
    m.name: m
    for m in (
        TopKMetric("recall", "Recall", False, False, lambda s, t, k: _ratio(s.hits[:, t], s.n_pos)),
        TopKMetric("precision", "Precision", False, True, lambda s, t, k: s.hits[:, t] / k),
        TopKMetric(
            "ndcg", "NDCG", False, False, lambda s, t, k: _ratio(s.dcg[:, t], ideal_dcg(s.n_pos, k))
        ),
        TopKMetric("hit_rate", "HitRate", True, False, lambda s, t, k: s.hit[:, t]),
        TopKMetric("mrr", "MRR", True, False, lambda s, t, k: s.rr[:, t]),
        TopKMetric("map", "MAP", True, False, lambda s, t, k: _ratio(s.ap[:, t], s.n_pos)),
    )
}

#: The names of the Top-K metrics, the values of ``topk=``.
TOPK_METRICS = tuple(TOPK)

#: The titles of the two pair metrics in messages.
AUC_TITLE = "AUC"
OPAUC_TITLE = "OPAUC"


def needs_rank(names) -> bool:
    """Whether any of the Top-K metrics ``names`` needs the kernel's rank block."""
    return any(TOPK[name].needs_rank for name in names)


def topk_values(stats, name: str, t: int, k: int) -> np.ndarray:
    """Metric ``name`` at the ``t``-th cut-off ``k``: NaN on rows without positives unless
    the metric is defined there."""
    metric = TOPK[name]
    value = metric.value(stats, t, k)
    if metric.defined_without_positives:
        return value
    return np.where(stats.n_pos == 0, np.nan, value)
