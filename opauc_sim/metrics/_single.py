"""The per-metric functions of :mod:`opauc_sim.metrics`: one metric, one kernel pass.

Recall, Precision, NDCG, HitRate, MRR and MAP at one K, AUC, OPAUC at one beta, and the
OPAUC normalisations. :func:`opauc_sim.metrics.evaluate` computes them all at once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from opauc_sim._definitions import NORMALIZATIONS, beta_column, normalize_area, topk_column
from opauc_sim._validation import check_beta, check_choice, warn_undefined
from opauc_sim.metrics._docs import fill_docs
from opauc_sim.metrics._driver import finish, graded_ndcg, run
from opauc_sim.metrics._inputs import _prepare
from opauc_sim.metrics._options import check_k
from opauc_sim.metrics._registry import AUC_TITLE, OPAUC_TITLE, TOPK


def _topk(y_true, y_score, k, which: str, exclude, graded: bool = False):
    """Top-K metric ``which`` at one cut-off: the body of every ``<metric>_at_k``."""
    k = check_k("k", k)
    inp = _prepare(y_true, y_score, exclude, graded=graded)
    stats = run(inp, (k,), (), want_auc=False, topk=(which,))
    metric = TOPK[which]
    if not metric.defined_without_positives:
        empty = int((stats.n_pos == 0).sum())
        warn_undefined(empty, len(stats.n_pos), f"no positives ({metric.title} undefined)")
    graded_values = graded_ndcg(inp, (k,))[0] if graded and which == "ndcg" else None
    return finish(stats.topk(which, 0, k, graded_values), inp, topk_column(which, k))


def _pairs_metric(stats, area: np.ndarray, what: str) -> np.ndarray:
    """AUC or OPAUC from ``area`` (in pairs), with one warning for the rows without pairs."""
    undefined = int((stats.n_pos * stats.n_neg == 0).sum())
    warn_undefined(undefined, len(area), f"no positives or no negatives ({what})")
    return stats.per_pair(area)


@fill_docs
def recall_at_k(y_true, y_score, k: int, *, exclude=None) -> float | np.ndarray | pd.Series:
    """Recall@K = hits@K / n_pos, with the expected hits under random order within ties.

    Parameters
    ----------
    {arrays}
    k : int
        Cut-off, a positive integer; it may exceed ``n_items``.

    Returns
    -------
    {returns}
        ``nan`` for rows with no positives (one UndefinedMetricWarning per call).

    Notes
    -----
    There is no ``min(K, n_pos)`` cap in the denominator: this is the form of the paper's
    Theorem 3. A tie group of ``g`` items holding ``g_+`` positives that straddles rank K
    contributes ``g_+ * (#its slots before K) / g`` hits (McSherry & Najork 2008).

    Raises
    ------
    ValueError
        Shape mismatch, input not 1-D/2-D, NaN scores, labels outside {{0, 1}}, ``k`` below 1.
    TypeError
        Non-numeric input or non-integer ``k``.

    Examples
    --------
    >>> recall_at_k([1, 0, 1, 0], [0.9, 0.8, 0.1, 0.5], k=2)
    0.5
    >>> recall_at_k([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5], k=2)  # all tied: expected value
    0.5
    >>> recall_at_k([1, 0, 1, 0], [0.9, 0.8, 0.1, 0.5], k=2, exclude=[0, 1, 0, 0])
    0.5
    """
    return _topk(y_true, y_score, k, "recall", exclude)


@fill_docs
def precision_at_k(y_true, y_score, k: int, *, exclude=None) -> float | np.ndarray | pd.Series:
    """Precision@K = hits@K / K, with the expected hits under random order within ties.

    Parameters
    ----------
    {arrays}
    k : int
        Cut-off, a positive integer; it may exceed ``n_items``.

    Returns
    -------
    {returns}
        Defined for every row: a row with no positives has Precision@K = 0.

    Notes
    -----
    The denominator is always K, also when K exceeds the number of items or ``exclude``
    leaves a row with fewer than K items (as ranx, torchmetrics and RecBole do). Ties: see
    :func:`recall_at_k`.

    Raises
    ------
    ValueError, TypeError
        As :func:`recall_at_k`.

    Examples
    --------
    >>> precision_at_k([1, 0, 1, 0], [0.9, 0.8, 0.1, 0.5], k=2)
    0.5
    >>> precision_at_k([1, 0, 1, 0], [0.9, 0.8, 0.1, 0.5], k=10)  # K > n_items: hits / K
    0.2
    """
    return _topk(y_true, y_score, k, "precision", exclude)


@fill_docs
def ndcg_at_k(
    y_true, y_score, k: int, *, exclude=None, graded: bool = False
) -> float | np.ndarray | pd.Series:
    """NDCG@K, binary or graded gains, averaged over random orders within tied scores.

    ``DCG@K = sum over items at rank r < K of gain / log2(r + 2)`` (ranks 0-based) and
    ``IDCG@K`` is the DCG@K of the items sorted by gain. Binary (the default): the gain is
    1 for a positive, so ``IDCG@K = sum_{{r < min(K, n_pos)}} 1 / log2(r + 2)``.

    Parameters
    ----------
    {arrays}
    k : int
        Cut-off, a positive integer; it may exceed ``n_items``.
    graded : bool, default False
        If True, ``y_true`` holds graded relevance, finite and ``>= 0``, used as the gain
        itself (linear gain, as scikit-learn's ``ndcg_score``, ranx and trec_eval use).

    Returns
    -------
    {returns}
        ``nan`` for rows with no positives (no positive gain), one UndefinedMetricWarning
        per call.

    Notes
    -----
    A tie group spanning ranks ``[s, s + g)`` with gains summing to ``G`` contributes
    ``(G / g) * sum_{{r in [s, min(s + g, K))}} 1 / log2(r + 2)``: the expectation under a
    uniformly random order inside the group. This equals
    ``sklearn.metrics.ndcg_score(..., k=K, ignore_ties=False)`` on rows with positives
    (scikit-learn returns 0 where this returns ``nan``). Binary NDCG comes from the fused
    kernel; graded NDCG sorts each row once (``O(n log n)`` per row).

    Raises
    ------
    ValueError, TypeError
        As :func:`recall_at_k`; with ``graded``, a negative or non-finite gain.

    Examples
    --------
    >>> round(ndcg_at_k([0, 1], [0.9, 0.1], k=2), 6)
    0.63093
    >>> round(ndcg_at_k([3, 1, 0], [0.1, 0.9, 0.5], k=3, graded=True), 6)
    0.688529
    """
    return _topk(y_true, y_score, k, "ndcg", exclude, graded=graded)


@fill_docs
def hit_rate_at_k(y_true, y_score, k: int, *, exclude=None) -> float | np.ndarray | pd.Series:
    """HitRate@K: whether a positive is among the top K, in expectation over tie orders.

    Parameters
    ----------
    {arrays}
    k : int
        Cut-off, a positive integer; it may exceed ``n_items``.

    Returns
    -------
    {returns}
        In ``[0, 1]``; ``nan`` for rows with no positives (one warning per call).

    Notes
    -----
    Tie-free, the value is 1 if hits@K > 0 else 0 (ranx's ``hit_rate@k``, RecBole's
    ``Hit@K``, torchmetrics' ``RetrievalHitRate``). With ties, it is the probability of a
    hit under a uniformly random order inside each tie group: if the first group holding a
    positive starts at rank ``s < K`` with ``g`` items and ``g_+`` positives, it is
    ``1 - C(g - g_+, K - s) / C(g, K - s)`` (hypergeometric).

    Raises
    ------
    ValueError, TypeError
        As :func:`recall_at_k`.

    Examples
    --------
    >>> hit_rate_at_k([0, 1, 0], [0.9, 0.5, 0.1], k=2)
    1.0
    >>> round(hit_rate_at_k([0, 1, 0], [0.5, 0.5, 0.5], k=1), 12)  # tied: P(positive first)
    0.333333333333
    """
    return _topk(y_true, y_score, k, "hit_rate", exclude)


@fill_docs
def mrr_at_k(y_true, y_score, k: int, *, exclude=None) -> float | np.ndarray | pd.Series:
    """Reciprocal rank of the first positive (0 if it is not in the top K), tie-averaged.

    Parameters
    ----------
    {arrays}
    k : int
        Cut-off, a positive integer; it may exceed ``n_items``.

    Returns
    -------
    {returns}
        In ``[0, 1]``; ``nan`` for rows with no positives (one warning per call). The mean
        over rows is MRR@K.

    Notes
    -----
    ``RR@K = 1 / (r + 1)`` for the 0-based rank ``r < K`` of the first positive, else 0
    (ranx's ``mrr@k``, RecBole's ``MRR@K``). Ties: the exact expectation under a uniformly
    random order inside each tie group. The first positive lies in the first group holding
    one (ranks ``[s, s + g)``, ``g_+`` positives), at offset ``j`` with probability
    ``C(g - 1 - j, g_+ - 1) / C(g, g_+)``, so
    ``E[RR@K] = sum_{{j : s + j < K}} C(g - 1 - j, g_+ - 1) / C(g, g_+) / (s + j + 1)``.

    Raises
    ------
    ValueError, TypeError
        As :func:`recall_at_k`.

    Examples
    --------
    >>> mrr_at_k([0, 1, 0], [0.9, 0.5, 0.1], k=3)
    0.5
    >>> mrr_at_k([0, 1], [0.5, 0.5], k=2)  # tied: (1 + 1/2) / 2
    0.75
    """
    return _topk(y_true, y_score, k, "mrr", exclude)


@fill_docs
def map_at_k(y_true, y_score, k: int, *, exclude=None) -> float | np.ndarray | pd.Series:
    """Average precision at K, ``AP@K = sum_{{positives at r < K}} Precision@(r+1) / n_pos``.

    Parameters
    ----------
    {arrays}
    k : int
        Cut-off, a positive integer; it may exceed ``n_items``.

    Returns
    -------
    {returns}
        In ``[0, 1]``; ``nan`` for rows with no positives (one warning per call). The mean
        over rows is MAP@K.

    Notes
    -----
    The denominator is ``n_pos``, as in ranx's ``map@k`` and trec_eval's ``map_cut``;
    RecBole divides by ``min(K, n_pos)`` instead (multiply by ``n_pos / min(K, n_pos)`` to
    convert), torchmetrics' ``RetrievalMAP(top_k=K)`` by the number of hits in the top K
    (multiply by ``n_pos / hits@K``, on a tie-free row). Ties: the exact expectation under
    a uniformly random order inside each tie group. For rank ``r`` at offset ``j`` of a
    group of ``g`` items with ``g_+`` positives and ``y`` positives above the group,
    ``E[rel(r) * hits(ranks <= r)] = p (1 + y) + j p_2`` with ``p = g_+ / g`` and
    ``p_2 = g_+ (g_+ - 1) / (g (g - 1))``, so
    ``E[AP@K] = sum_{{r < K}} (p (1 + y) + j p_2) / (r + 1) / n_pos``.

    Raises
    ------
    ValueError, TypeError
        As :func:`recall_at_k`.

    Examples
    --------
    >>> map_at_k([1, 0, 1], [0.9, 0.5, 0.1], k=3)  # (1/1 + 2/3) / 2
    0.8333333333333333
    """
    return _topk(y_true, y_score, k, "map", exclude)


@fill_docs
def auc(y_true, y_score, *, exclude=None) -> float | np.ndarray | pd.Series:
    """Area under the ROC curve: the fraction of correctly ordered (positive, negative) pairs.

    Parameters
    ----------
    {arrays}

    Returns
    -------
    {returns}
        ``nan`` for rows with no positives or no negatives (one warning per call).

    Notes
    -----
    A tied (positive, negative) pair counts 1/2, which is the area under the ROC curve with
    tie groups drawn as diagonal segments (``sklearn.metrics.roc_auc_score``). Computed
    without a full sort (see :mod:`opauc_sim.metrics` for the cost).

    Raises
    ------
    ValueError
        Shape mismatch, input not 1-D/2-D, NaN scores, labels outside {{0, 1}}.
    TypeError
        Non-numeric input.

    Examples
    --------
    >>> auc([1, 0, 1, 0], [0.9, 0.8, 0.1, 0.5])
    0.5
    >>> auc([1, 0], [0.3, 0.3])  # a tied pair counts 1/2
    0.5
    >>> auc([1, 0, 1, 0], [0.9, 0.8, 0.1, 0.5], exclude=[0, 0, 1, 0])
    1.0
    """
    inp = _prepare(y_true, y_score, exclude)
    stats = run(inp, (), (), want_auc=True)
    values = _pairs_metric(stats, stats.auc_pairs, f"{AUC_TITLE} undefined")
    return finish(values, inp, "auc")


@fill_docs
def opauc(
    y_true, y_score, beta: float, *, normalize: str | None = None, exclude=None
) -> float | np.ndarray | pd.Series:
    """One-way partial AUC: the area under the ROC curve for FPR in ``[0, beta]``.

    Parameters
    ----------
    {arrays}
    beta : float
        Upper end of the FPR range, in ``(0, 1]``. ``beta * n_neg`` need not be an integer.
    normalize : {{None, "max", "mcclish"}}, default None
        ``None`` gives the raw area, in ``[0, beta]``. ``"max"`` divides by ``beta`` (so a
        perfect ranking scores 1). ``"mcclish"`` is the McClish (1989) standardisation, the
        paper's Norm_OPAUC and the value of ``sklearn.metrics.roc_auc_score(max_fpr=beta)``.
        See :func:`normalize_opauc`.

    Returns
    -------
    {returns}
        ``nan`` for rows with no positives or no negatives (one warning per call).

    Notes
    -----
    The ROC curve runs through the operating points at every distinct score threshold, so a
    group of tied scores is a straight diagonal segment, and a cut at FPR = beta inside a
    segment is linearly interpolated (scikit-learn's convention). On a tie-free row with
    ``a_i`` negatives above positive ``i`` and ``m = beta * n_neg``,
    ``OPAUC = sum_i max(0, m - a_i) / (n_pos * n_neg)``, so
    ``n_pos * n_neg * OPAUC(K / n_neg)`` counts the correctly ordered pairs of a positive
    and one of the top-K negatives. The Top-K metrics' random-order tie rule is different
    on purpose; see :mod:`opauc_sim.metrics`.

    Raises
    ------
    ValueError
        ``beta`` outside ``(0, 1]`` or NaN, unknown ``normalize``, and as :func:`auc`.
    TypeError
        Non-numeric input or ``beta``.

    Examples
    --------
    >>> opauc([1, 0, 1, 0], [0.9, 0.8, 0.1, 0.5], beta=0.5)
    0.25
    >>> opauc([1, 0, 1, 0], [0.9, 0.8, 0.1, 0.5], beta=0.5, normalize="max")
    0.5
    """
    beta = check_beta("beta", beta)
    check_choice("normalize", normalize, NORMALIZATIONS)
    inp = _prepare(y_true, y_score, exclude)
    stats = run(inp, (), (beta,), want_auc=False)
    values = _pairs_metric(stats, stats.area[:, 0], f"{OPAUC_TITLE} undefined")
    return finish(normalize_area(values, beta, normalize), inp, beta_column(beta))


def normalize_opauc(area, beta: float, normalize: str | None):
    """Map a raw OPAUC area (in ``[0, beta]``) to the chosen normalisation.

    ``None`` returns the raw area; ``"max"`` returns ``area / beta`` (in ``[0, 1]``);
    ``"mcclish"`` returns the McClish (1989) standardisation
    ``(1 + (area - beta**2/2) / (beta - beta**2/2)) / 2``, the value of
    ``sklearn.metrics.roc_auc_score(max_fpr=beta)`` and the paper's Norm_OPAUC. Each is
    affine in the area for fixed ``beta``, so no correlation coefficient depends on it.
    """
    check_choice("normalize", normalize, NORMALIZATIONS)
    beta = check_beta("beta", beta)
    return normalize_area(area, beta, normalize)
