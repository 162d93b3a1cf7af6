"""Slow definitional references for the simulation code, on materialised rankings.

Nothing here shares code with ``opauc_sim.rank_metrics`` or ``opauc_sim.correlation``:
each quantity is computed from its definition (docs/definitions.md §2) on the full 0/1 label
vector of a ranking, in plain Python.
"""

from __future__ import annotations

import itertools
import math

import numpy as np


def materialise(pos_ranks, n_neg: int) -> np.ndarray:
    """0/1 labels in rank order (index 0 = top) of the ranking with these positive ranks."""
    labels = np.zeros(len(pos_ranks) + n_neg, dtype=np.int64)
    labels[list(pos_ranks)] = 1
    return labels


def hits(labels, k: int) -> int:
    return int(sum(labels[:k]))


def dcg(labels, k: int) -> float:
    return sum(1.0 / math.log2(r + 2) for r in range(min(k, len(labels))) if labels[r])


def ndcg(labels, k: int) -> float:
    n_pos = int(sum(labels))
    ideal = sum(1.0 / math.log2(r + 2) for r in range(min(k, n_pos)))
    return dcg(labels, k) / ideal


def opauc_area(labels, beta: float) -> float:
    """Raw OPAUC: integrate the ROC staircase over FPR in [0, beta], walking the ranking."""
    n_pos = int(sum(labels))
    n_neg = len(labels) - n_pos
    tpr = 0.0
    fpr = 0.0
    area = 0.0
    for label in labels:
        if label:
            tpr += 1.0 / n_pos
            continue
        step = 1.0 / n_neg  # a horizontal ROC segment at height tpr
        width = min(fpr + step, beta) - fpr
        if width > 0:
            area += tpr * width
        fpr += step
    return area


def pair_count(labels, beta: float) -> float:
    """n_pos * n_neg * OPAUC(beta); for integer beta * n_neg, count ordered pairs directly."""
    n_pos = int(sum(labels))
    n_neg = len(labels) - n_pos
    m = beta * n_neg
    if abs(m - round(m)) < 1e-12:
        top_neg = [r for r, label in enumerate(labels) if not label][: round(m)]
        pos = [r for r, label in enumerate(labels) if label]
        return float(sum(1 for p in pos for q in top_neg if p < q))
    return opauc_area(labels, beta) * n_pos * n_neg


def all_arrangements(n_pos: int, n_neg: int) -> np.ndarray:
    """Every sorted positive-rank tuple of a ranking of n_pos + n_neg items."""
    return np.array(list(itertools.combinations(range(n_pos + n_neg), n_pos)), dtype=np.int64)


def population_pearson(x, y) -> float:
    """Pearson correlation of two equally weighted finite populations (plain formulas)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    dx = x - x.mean()
    dy = y - y.mean()
    return float((dx * dy).sum() / math.sqrt((dx * dx).sum() * (dy * dy).sum()))
