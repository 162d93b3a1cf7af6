"""Slow definitional references for ``opauc_sim.dro`` (loops, enumeration, exact fractions).

Each follows the definition literally and shares no code with the module it checks.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np


def cvar_fraction(losses, beta: Fraction) -> Fraction:
    """Top-beta mean in exact rational arithmetic: take whole losses while m lasts."""
    values = sorted((Fraction(x) for x in losses), reverse=True)
    m = Fraction(beta) * len(values)
    remaining = m
    total = Fraction(0)
    for value in values:
        take = min(Fraction(1), remaining)
        if take <= 0:
            break
        total += take * value
        remaining -= take
    return total / m


def cvar_dual_scan(losses, beta: float, grid: int = 0) -> float:
    """min over eta of eta + mean((L - eta)_+) / beta, eta over the losses (and a grid)."""
    losses = [float(x) for x in losses]
    candidates = list(losses)
    if grid:
        lo, hi = min(losses) - 1.0, max(losses) + 1.0
        candidates += [lo + (hi - lo) * i / grid for i in range(grid + 1)]
    best = math.inf
    for eta in candidates:
        value = eta + sum(max(0.0, x - eta) for x in losses) / (len(losses) * beta)
        best = min(best, value)
    return best


def dns_weights_loop(scores, m: int) -> list[float]:
    """Average over every order of the tied candidates of 1/m on the first m (enumerated)."""
    n = len(scores)
    weights = [0.0] * n
    orders = 0
    # All permutations consistent with descending score: sort by (-score, permutation rank).
    for perm in itertools.permutations(range(n)):
        order = sorted(range(n), key=lambda j: (-scores[j], perm[j]))
        orders += 1
        for j in order[:m]:
            weights[j] += 1.0 / m
    return [w / orders for w in weights]


def dns_expected_weights_enum(scores, m: int, n_draws: int) -> list[float]:
    """Average of DNS weights over every N-subset of the candidates (tie-free scores)."""
    n = len(scores)
    weights = [0.0] * n
    subsets = 0
    for subset in itertools.combinations(range(n), n_draws):
        subsets += 1
        kept = sorted(subset, key=lambda j: -scores[j])[:m]
        for j in kept:
            weights[j] += 1.0 / m
    return [w / subsets for w in weights]


def softmax_loop(losses, tau: float) -> list[float]:
    top = max(losses)
    e = [math.exp((x - top) / tau) for x in losses]
    total = sum(e)
    return [v / total for v in e]


def population_variance(losses) -> float:
    mean = math.fsum(losses) / len(losses)
    return math.fsum((x - mean) ** 2 for x in losses) / len(losses)


def kl_uniform_loop(weights) -> float:
    n = len(weights)
    return math.fsum(q * math.log(q * n) for q in weights if q > 0)


def kl_worst_case_bisect(losses, rho: float) -> tuple[float, float]:
    """(value, tau) by plain bisection on log(tau) of KL(softmax(L / tau)) = rho."""
    n = len(losses)
    n_max = sum(1 for x in losses if x == max(losses))
    if rho >= math.log(n / n_max):
        return max(losses), 0.0
    lo, hi = -60.0, 60.0  # log tau; KL decreases in tau
    for _ in range(300):
        mid = 0.5 * (lo + hi)
        kl = kl_uniform_loop(softmax_loop(losses, math.exp(mid)))
        if kl > rho:
            lo = mid
        else:
            hi = mid
    tau = math.exp(0.5 * (lo + hi))
    q = softmax_loop(losses, tau)
    return math.fsum(a * b for a, b in zip(q, losses, strict=True)), tau


def as_float_array(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)
