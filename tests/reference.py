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
    The rank metrics are averaged the same way, per order, in exact fractions: HitRate@K
    (a positive in the top K), RR@K (1 / rank of the first positive, 0 beyond K) and AP@K
    (sum of Precision@(r+1) over positives at ranks r < K, divided by n_pos).
    """
    y_true = [bool(t) for t in y_true]
    n_pos = sum(y_true)
    at_rank = [0] * k
    count = 0
    hit = rr = ap = Fraction(0)
    for ranking in _tie_orders(list(y_score)):
        rels = [y_true[item] for item in ranking[:k]]
        for r, rel in enumerate(rels):
            at_rank[r] += rel
        hit += any(rels)
        first = next((r for r, rel in enumerate(rels) if rel), None)
        rr += Fraction(1, first + 1) if first is not None else 0
        ap += sum(Fraction(sum(rels[: r + 1]), r + 1) for r, rel in enumerate(rels) if rel)
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
        "hit_rate": float(hit / count) if n_pos else math.nan,
        "mrr": float(rr / count) if n_pos else math.nan,
        "map": float(ap / count / n_pos) if n_pos else math.nan,
    }


def graded_ndcg_expected(gains, y_score, k) -> float:
    """Graded NDCG@K (linear gains) averaged over every order within tie groups."""
    gains = [float(g) for g in gains]
    total = 0.0
    count = 0
    for ranking in _tie_orders(list(y_score)):
        total += sum(gains[item] / math.log2(r + 2) for r, item in enumerate(ranking[:k]))
        count += 1
    ideal = sorted(gains, reverse=True)[:k]
    idcg = sum(g / math.log2(r + 2) for r, g in enumerate(ideal))
    return total / count / idcg if idcg > 0 else math.nan


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
