r"""Definitions shared by every metric module: discounts, OPAUC normalisations, column names.

Each is written once, here, and imported by :mod:`opauc_sim.metrics` (scores),
:mod:`opauc_sim.metrics.ranks` (tie-free rankings, whose discounts
:mod:`opauc_sim.correlation` uses) and the training evaluation
(:mod:`opauc_sim.train.evaluation`, :mod:`opauc_sim.train.config`), so that they cannot
drift apart. NumPy only: no Numba, pandas or torch.

* The DCG discount of 0-based rank ``r`` is ``1 / log2(r + 2)`` (docs/definitions.md §2).
* A raw OPAUC area ``A`` at level ``beta`` is reported as is (``None``), divided by its
  maximum (``"max"``: ``A / beta``) or standardised after McClish (1989)
  (``"mcclish"``: ``(1 + (A - beta^2/2) / (beta - beta^2/2)) / 2``, the value of
  ``sklearn.metrics.roc_auc_score(max_fpr=beta)`` and the paper's Norm_OPAUC).
* The metric columns of every ``evaluate`` are ``<metric>@K`` (Top-K), ``auc``,
  ``opauc@<beta:g>`` (fixed beta), ``opauc@K/n_neg`` (each row's own ``beta = K / n_neg``)
  and, in the training evaluation, ``opauc_norm@K/n_neg``.

References
----------
D. K. McClish, "Analyzing a Portion of the ROC Curve", Medical Decision Making 9(3), 1989.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

__all__ = [
    "AUC_COLUMN",
    "DEFAULT_BETAS",
    "DEFAULT_KS",
    "DEFAULT_TOPK",
    "NORMALIZATIONS",
    "beta_column",
    "discounts",
    "ideal_dcg",
    "mcclish",
    "metric_columns",
    "normalize_area",
    "opauc_k_column",
    "opauc_norm_column",
    "ranking_columns",
    "topk_column",
]

#: The OPAUC normalisations, the values of every ``normalize=`` argument.
NORMALIZATIONS = (None, "max", "mcclish")
#: The defaults of every ``evaluate``: cut-offs, OPAUC levels and Top-K metrics (the latter
#: also the Top-K metrics of the training evaluation and of ``metrics.ranks.evaluate``; the
#: Top-K metrics themselves are listed once, in ``opauc_sim.metrics._registry``).
DEFAULT_KS = (5, 10, 20, 50)
DEFAULT_BETAS = (0.01, 0.05, 0.1)
DEFAULT_TOPK = ("recall", "precision", "ndcg")

#: The column of AUC.
AUC_COLUMN = "auc"


def discounts(k_max: int, n_items: int | None = None) -> np.ndarray:
    """``1 / log2(r + 2)`` for the 0-based ranks ``r < k_max``, at least one entry.

    With ``n_items``, capped at ``n_items`` ranks: no rank lies beyond the last item, so a
    K above ``n_items`` needs no more.
    """
    if n_items is not None:
        k_max = min(k_max, n_items)
    return 1.0 / np.log2(np.arange(max(k_max, 1), dtype=np.float64) + 2.0)


def mcclish(area, beta):
    """McClish's standardised partial AUC ``(1 + (A - beta^2/2) / (beta - beta^2/2)) / 2``.

    ``area`` is the raw area on FPR ``[0, beta]``; ``beta`` is in ``(0, 1]``, a scalar or
    an array broadcasting against ``area``. At ``beta = 1`` it is the identity (the area is
    the AUC), returned exactly rather than through the formula's rounding.

    Examples
    --------
    >>> mcclish(0.1 ** 2 / 2, 0.1)  # the area of a random ranking maps to 1/2
    0.5
    """
    area = np.asarray(area, dtype=np.float64)
    beta = np.asarray(beta, dtype=np.float64)
    half = beta * beta / 2.0
    with np.errstate(invalid="ignore", divide="ignore"):
        value = 0.5 * (1.0 + (area - half) / (beta - half))
    value = np.where(beta == 1.0, area, value)
    return value if value.ndim else float(value)


def normalize_area(area, beta, normalize: str | None):
    """A raw OPAUC area in ``[0, beta]`` under one of :data:`NORMALIZATIONS` (not checked).

    ``None`` returns ``area``; ``"max"`` returns ``area / beta``, in ``[0, 1]``;
    ``"mcclish"`` returns :func:`mcclish`. Each is affine in the area for fixed ``beta``.
    """
    if normalize is None:
        return area
    if normalize == "max":
        return area / beta
    return mcclish(area, beta)


def topk_column(name: str, k: int) -> str:
    """Column of Top-K metric ``name`` at cut-off ``k``, e.g. ``ndcg@10``."""
    return f"{name}@{k}"


def beta_column(beta: float) -> str:
    """Column of OPAUC at a fixed level, e.g. ``opauc@0.05`` (``beta`` formatted with ``:g``)."""
    return f"opauc@{beta:g}"


def opauc_k_column(k: int) -> str:
    """Column of OPAUC at each row's own level ``beta = K / n_neg`` (the raw area)."""
    return f"opauc@{k}/n_neg"


def opauc_norm_column(k: int) -> str:
    """Column of OPAUC(K / n_neg) divided by its level ``min(K / n_neg, 1)``, in ``[0, 1]``."""
    return f"opauc_norm@{k}/n_neg"


def metric_columns(
    ks: Iterable[int],
    *,
    topk: Iterable[str] = DEFAULT_TOPK,
    auc: bool = True,
    betas: Iterable[float] = (),
    opauc_ks: Iterable[int] = (),
) -> list[str]:
    """The metric columns of :func:`opauc_sim.metrics.evaluate`, in its order.

    ``<metric>@K`` for every K and every metric of ``topk``, ``auc``, ``opauc@<beta>`` for
    every beta, ``opauc@K/n_neg`` for every K of ``opauc_ks`` (``n_pos`` and ``n_neg``,
    which follow them, are counts, not metrics).

    Examples
    --------
    >>> metric_columns([5], betas=[0.1], opauc_ks=[5])
    ['recall@5', 'precision@5', 'ndcg@5', 'auc', 'opauc@0.1', 'opauc@5/n_neg']
    """
    topk = tuple(topk)
    names = [topk_column(name, k) for k in ks for name in topk]
    if auc:
        names.append(AUC_COLUMN)
    names += [beta_column(b) for b in betas]
    names += [opauc_k_column(k) for k in opauc_ks]
    return names


def ranking_columns(ks: Sequence[int], *, auc: bool = True) -> list[str]:
    """The metric columns of the training evaluation at cut-offs ``ks``, in its order.

    :func:`metric_columns` with OPAUC at ``K / n_neg`` for every K, then
    ``opauc_norm@K/n_neg`` for every K (:func:`opauc_sim.train.evaluation.evaluate_ranking`).
    """
    return [*metric_columns(ks, auc=auc, opauc_ks=ks), *(opauc_norm_column(k) for k in ks)]


def ideal_dcg(n_pos, k):
    """Binary IDCG@K, ``sum_{r < min(K, n_pos)} 1 / log2(r + 2)`` (0 for ``n_pos = 0``).

    ``n_pos`` and ``k`` are integers or integer-valued arrays, broadcast together.
    """
    top = np.minimum(np.asarray(n_pos), np.asarray(k)).astype(np.int64)
    cum = np.concatenate(([0.0], np.cumsum(discounts(int(top.max(initial=0))))))
    return cum[top]
