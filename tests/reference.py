"""Slow definitional references for the metrics, independent of opauc_sim's kernels.

Each function works on ONE row and follows docs/definitions.md §2 literally:
- AUC counts (positive, negative) pairs, a tied pair counting 1/2.
- OPAUC builds the ROC curve's operating points at every distinct threshold and integrates
  the piecewise-linear curve up to FPR = beta, in exact rational arithmetic.
- Top-K metrics enumerate every order of the items inside each tie group and average.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np


def auc_pairs(y_true, y_score) -> float:
    """Fraction of (pos, neg) pairs with the positive above; ties count 1/2."""
    pos = [s for t, s in zip(y_true, y_score, strict=True) if t]
    neg = [s for t, s in zip(y_true, y_score, strict=True) if not t]
    if not pos or not neg:
        return math.nan
    total = Fraction(0)
    for p in pos:
        for q in neg:
            total += 1 if p > q else Fraction(1, 2) if p == q else 0
    return float(total / (len(pos) * len(neg)))


def roc_points(y_true, y_score) -> list[tuple[Fraction, Fraction]]:
    """ROC operating points (FPR, TPR) at every distinct threshold, from (0, 0) to (1, 1)."""
    n_pos = sum(1 for t in y_true if t)
    n_neg = len(y_true) - n_pos
    points = [(Fraction(0), Fraction(0))]
    for threshold in sorted(set(y_score), reverse=True):
        tp = sum(1 for t, s in zip(y_true, y_score, strict=True) if t and s >= threshold)
        fp = sum(1 for t, s in zip(y_true, y_score, strict=True) if not t and s >= threshold)
        points.append((Fraction(fp, n_neg), Fraction(tp, n_pos)))
    return points


def opauc_roc(y_true, y_score, beta) -> float:
    """Raw area under the piecewise-linear ROC curve for FPR in [0, beta], exactly."""
    n_pos = sum(1 for t in y_true if t)
    n_neg = len(y_true) - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    beta = Fraction(beta)
    area = Fraction(0)
    points = roc_points(y_true, y_score)
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if x0 >= beta:
            break
        if x1 == x0:
            continue
        x_end = min(x1, beta)
        y_end = y0 + (y1 - y0) * (x_end - x0) / (x1 - x0)
        area += (x_end - x0) * (y0 + y_end) / 2
    return float(area)


def opauc_closed_form(y_true, y_score, beta) -> float:
    """Tie-free closed form: sum_i max(0, m - a_i) / (n_pos n_neg), m = beta * n_neg."""
    order = np.argsort(-np.asarray(y_score, dtype=float), kind="stable")
    labels = np.asarray(y_true, dtype=bool)[order]
    n_pos = int(labels.sum())
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    m = Fraction(beta) * n_neg
    negatives_above = np.cumsum(~labels)[labels]
    return float(sum(max(Fraction(0), m - int(a)) for a in negatives_above) / (n_pos * n_neg))


def _tie_orders(y_score):
    """Every ranking (list of item indices) consistent with the scores, ties in any order."""
    groups = [
        [i for i, s in enumerate(y_score) if s == value]
        for value in sorted(set(y_score), reverse=True)
    ]
    for parts in itertools.product(*(itertools.permutations(g) for g in groups)):
        yield [i for part in parts for i in part]


def topk_expected(y_true, y_score, k) -> dict[str, float]:
    """Recall/Precision/NDCG@K averaged over all orders within tie groups (exact).

    Counts, for each rank r < K, the orders that put a positive there; the expected DCG is
    then sum_r P(positive at r) / log2(r + 2), with the probabilities as exact fractions.
    """
    y_true = [bool(t) for t in y_true]
    n_pos = sum(y_true)
    at_rank = [0] * k
    count = 0
    for ranking in _tie_orders(list(y_score)):
        for r, item in enumerate(ranking[:k]):
            at_rank[r] += y_true[item]
        count += 1
    prob = [Fraction(c, count) for c in at_rank]
    hits = sum(prob)
    dcg = sum(float(p) / math.log2(r + 2) for r, p in enumerate(prob))
    idcg = sum(1.0 / math.log2(r + 2) for r in range(min(k, n_pos)))
    return {
        "recall": float(hits / n_pos) if n_pos else math.nan,
        "precision": float(hits / k),
        "ndcg": dcg / idcg if n_pos else math.nan,
        "hits": float(hits),
    }


def mcclish(area: float, beta: float) -> float:
    """McClish (1989) standardisation of a raw partial area (docs/definitions.md §2)."""
    if beta == 1.0:
        return area
    return 0.5 * (1.0 + (area - beta**2 / 2) / (beta - beta**2 / 2))


def sklearn_raw_opauc(y_true, y_score, beta: float) -> float:
    """Raw OPAUC recovered from sklearn's McClish-standardised roc_auc_score(max_fpr=beta)."""
    from sklearn.metrics import roc_auc_score

    if beta == 1.0:
        return float(roc_auc_score(y_true, y_score))
    s = roc_auc_score(y_true, y_score, max_fpr=beta)
    return beta**2 / 2 + (2 * s - 1) * (beta - beta**2 / 2)
