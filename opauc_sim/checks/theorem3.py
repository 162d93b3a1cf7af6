"""Theorem 3 (Shi et al. 2023): OPAUC(K / n_neg) bounds Recall@K and Precision@K.

Statement checked. For a tie-free ranking of n_pos positives and n_neg negatives with
n_pos > K and n_neg > K, let beta = K / n_neg and C = n_pos * n_neg * OPAUC(beta), the
number of correctly ordered pairs of a positive and one of the K highest-ranked negatives.
Then

    (n_pos + K - sqrt((n_pos + K)^2 - 4 C)) / 2  <=  hits@K  <=  sqrt(C),

hence Recall@K = hits@K / n_pos and Precision@K = hits@K / K are bounded on both sides
(paper eqs. 17-18, with a floor on the lower and a ceiling on the upper bound; since
hits@K is an integer, ceil(lower) and floor(upper) also hold). Both bounds are attained.

How it is checked.
- Exhaustively: every tie-free ranking of n <= 14 items (every subset of positions for
  the positives), every n_pos, every K <= n_neg. hits@K and C are computed directly from
  the positives' rank positions (a_i = p_i - i negatives above positive i,
  C = sum_i max(0, K - a_i)), independently of ``opauc_sim.bounds``.
- Randomly: larger rankings (up to 600 items), uniform and skewed towards the top.
- Tightness: for every (n_pos, n_neg, K) and every feasible t, a ranking with hits = t and
  C = t^2 (upper attained) and one with C = t (K + n_pos - t) (lower attained).
- Edges: n_pos <= K, n_neg = K, and K > n_neg (where OPAUC(K / n_neg) is undefined:
  the tie-free closed form extended to m = K, and AUC in its place).
- The pair count is tied to the metrics module: n_pos * n_neg * metrics.opauc equals C,
  and metrics.recall_at_k equals hits / n_pos, on a subset.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from opauc_sim import metrics
from opauc_sim._definitions import beta_column, topk_column
from opauc_sim.bounds import ROUNDINGS, hits_bounds, precision_bounds, recall_bounds
from opauc_sim.checks import CheckResult

RESULT = "Theorem 3"
TOL = 1e-12


# --------------------------------------------------------------------------- enumeration


def enumerate_rankings(n: int) -> np.ndarray:
    """Every tie-free ranking of ``n`` items as a (2**n, n) 0/1 matrix: row = positives'
    indicator by rank position (0 = top)."""
    masks = np.arange(2**n, dtype=np.int64)
    return ((masks[:, None] >> np.arange(n)) & 1).astype(np.int64)


def hits_and_pairs(positive: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """hits@k and C = sum_i max(0, k - a_i) per row of a 0/1 position matrix.

    ``a_i``, the number of negatives above positive ``i``, is the running count of
    negatives before its position. For ``k <= n_neg`` C is the pair count of Theorem 3; for
    ``k > n_neg`` it is the tie-free closed form extended to ``m = k``.
    """
    negative = 1 - positive
    negatives_above = np.cumsum(negative, axis=1) - negative
    hits = positive[:, :k].sum(axis=1)
    pairs = (positive * np.maximum(0, k - negatives_above)).sum(axis=1)
    return hits, pairs


def _enumerated(n_max: int):
    """Yield (n, k, n_pos, hits, pairs) over all rankings of n <= n_max items, both classes
    present, every k in 1..n."""
    for n in range(2, n_max + 1):
        positive = enumerate_rankings(n)
        n_pos = positive.sum(axis=1)
        keep = (n_pos >= 1) & (n_pos <= n - 1)
        positive, n_pos = positive[keep], n_pos[keep]
        for k in range(1, n + 1):
            hits, pairs = hits_and_pairs(positive, k)
            yield n, k, n_pos, hits, pairs


def _violation(value, lower, upper) -> np.ndarray:
    return np.maximum(np.maximum(lower - value, value - upper), 0.0)


def _bound_violations(n_pos, n_neg, k, hits, pairs) -> dict[tuple[str, str], np.ndarray]:
    """Per (metric, rounding): the violation of every case, via opauc_sim.bounds."""
    opauc_value = pairs / (n_pos * n_neg)
    out = {}
    for rounding in ROUNDINGS:
        lo, up = recall_bounds(opauc_value, n_pos, n_neg, k, rounding=rounding)
        out["recall", rounding] = _violation(hits / n_pos, lo, up)
        lo, up = precision_bounds(opauc_value, n_pos, n_neg, k, rounding=rounding)
        out["precision", rounding] = _violation(hits / k, lo, up)
    return out


def _raw_bounds(n_pos, k, pairs):
    """Theorem 3's formulas without the module (for K > n_neg, which the module refuses)."""
    s = (n_pos + k).astype(np.float64)
    return (s - np.sqrt(np.maximum(s * s - 4.0 * pairs, 0.0))) / 2.0, np.sqrt(pairs)


def check_exhaustive(n_max: int = 14) -> list[CheckResult]:
    """The bounds, their edges, and their tightness over every ranking of n <= n_max."""
    tally = _tally_exhaustive(n_max)
    return [*_bound_records(tally, n_max), *_sharpness_records(tally), *_edge_records(tally)]


@dataclass
class _Tally:
    """Counters of the exhaustive run: cases and worst violations per domain of (n_pos,
    n_neg, K), the K > n_neg edge, attainment of the bounds and their sharpness given C."""

    domains: dict = field(
        default_factory=lambda: {
            "inside": {"cases": 0, "recall": 0.0, "precision": 0.0},
            "n_pos<=K": {"cases": 0, "worst": 0.0},
            "n_neg=K": {"cases": 0, "worst": 0.0},
        }
    )
    beyond: dict = field(
        default_factory=lambda: {"cases": 0, "extended": 0.0, "auc": 0.0, "auc_failing": 0}
    )
    attained: dict = field(
        default_factory=lambda: {"configs": 0, "upper_missing": 0, "lower_missing": 0}
    )
    sharp: dict = field(
        default_factory=lambda: {
            "groups": 0,
            "lower_gap": 0,
            "upper_gap": 0,
            "capped_gap": 0,
            "upper_loose": 0,
        }
    )


def _tally_exhaustive(n_max: int) -> _Tally:
    """Run through every ranking of n <= n_max items and count."""
    tally = _Tally()
    domains, beyond, attained, sharp = tally.domains, tally.beyond, tally.attained, tally.sharp
    for n, k, n_pos, hits, pairs in _enumerated(n_max):
        n_neg = n - n_pos
        valid = n_neg >= k
        if valid.any():
            p, q, h, c = n_pos[valid], n_neg[valid], hits[valid], pairs[valid]
            viol = _bound_violations(p, q, k, h, c)
            inside = (p > k) & (q > k)
            d = domains["inside"]
            d["cases"] += int(inside.sum())
            for metric in ("recall", "precision"):
                worst = max(float(viol[metric, r][inside].max(initial=0.0)) for r in ROUNDINGS)
                d[metric] = max(d[metric], worst)
            for name, sel in (("n_pos<=K", p <= k), ("n_neg=K", (q == k) & (p > k))):
                domains[name]["cases"] += int(sel.sum())
                worst = max(float(v[sel].max(initial=0.0)) for v in viol.values())
                domains[name]["worst"] = max(domains[name]["worst"], worst)
            _tightness(n, k, p, h, c, attained, sharp)
        if (~valid).any():
            p, h = n_pos[~valid], hits[~valid]
            lo, up = _raw_bounds(p, k, pairs[~valid])
            beyond["cases"] += int((~valid).sum())
            beyond["extended"] = max(beyond["extended"], float(_violation(h, lo, up).max()))
            # AUC in place of the undefined OPAUC(K / n_neg), i.e. C at m = n_neg: with
            # a_i <= n_neg < K each positive counts n_neg - a_i instead of K - a_i.
            capped = pairs[~valid] - p * (k - (n - p))
            lo, up = _raw_bounds(p, k, capped)
            v = _violation(h, lo, up)
            beyond["auc"] = max(beyond["auc"], float(v.max()))
            beyond["auc_failing"] += int((v > TOL).sum())
    return tally


def _bound_records(tally: _Tally, n_max: int) -> list[CheckResult]:
    """Recall@K and Precision@K within the bounds (n_pos > K, n_neg > K)."""
    d = tally.domains["inside"]
    return [
        CheckResult(
            RESULT,
            f"Recall@K within the bounds, roundings none/paper/tight, every ranking n<={n_max}",
            d["cases"],
            d["recall"],
            "violation",
            d["recall"] <= TOL,
            key="theorem3.recall_within_bounds",
        ),
        CheckResult(
            RESULT,
            f"Precision@K within the bounds, roundings none/paper/tight, every ranking n<={n_max}",
            d["cases"],
            d["precision"],
            "violation",
            d["precision"] <= TOL,
            key="theorem3.precision_within_bounds",
        ),
    ]


def _sharpness_records(tally: _Tally) -> list[CheckResult]:
    """Both bounds attained, and how sharp they are given C."""
    attained, sharp = tally.attained, tally.sharp
    return [
        CheckResult(
            RESULT,
            "upper bound attained: every (n_pos, n_neg, K) and t has hits = t = sqrt(C)",
            attained["configs"],
            attained["upper_missing"],
            "unattained",
            attained["upper_missing"] == 0,
            note="counted over n_neg >= K, n_pos >= 1",
            key="theorem3.upper_attained",
        ),
        CheckResult(
            RESULT,
            "lower bound attained: every (n_pos, n_neg, K) and t has hits = t, C = t(K+n_pos-t)",
            attained["configs"],
            attained["lower_missing"],
            "unattained",
            attained["lower_missing"] == 0,
            key="theorem3.lower_attained",
        ),
        CheckResult(
            RESULT,
            "given C, ceil(lower) is the exact minimum of hits@K (lower bound sharp per C)",
            sharp["groups"],
            sharp["lower_gap"],
            "max gap",
            sharp["lower_gap"] == 0,
            expected=None,
            key="theorem3.lower_sharp_given_c",
        ),
        CheckResult(
            RESULT,
            "given C, floor(upper) is the exact maximum of hits@K (upper bound sharp per C)",
            sharp["groups"],
            sharp["upper_gap"],
            "max gap",
            sharp["upper_gap"] == 0,
            expected=None,
            note=f"{sharp['upper_loose']} of {sharp['groups']} (n_pos, n_neg, K, C) groups loose",
            key="theorem3.upper_sharp_given_c",
        ),
        CheckResult(
            RESULT,
            "given C, min(floor(upper), K, n_pos) is the exact maximum of hits@K",
            sharp["groups"],
            sharp["capped_gap"],
            "max gap",
            sharp["capped_gap"] == 0,
            expected=None,
            note="the looseness above is sqrt(C) > K, possible when n_pos > K",
            key="theorem3.capped_upper_sharp_given_c",
        ),
    ]


def _edge_records(tally: _Tally) -> list[CheckResult]:
    """Outside the preconditions: n_pos <= K, n_neg = K, K > n_neg."""
    domains, beyond = tally.domains, tally.beyond
    return [
        CheckResult(
            RESULT,
            "edge n_pos <= K (precondition dropped): both bounds, all roundings, both metrics",
            domains["n_pos<=K"]["cases"],
            domains["n_pos<=K"]["worst"],
            "violation",
            domains["n_pos<=K"]["worst"] <= TOL,
            key="theorem3.edge_n_pos_at_most_k",
        ),
        CheckResult(
            RESULT,
            "edge n_neg = K (beta = 1, OPAUC = AUC): both bounds, all roundings, both metrics",
            domains["n_neg=K"]["cases"],
            domains["n_neg=K"]["worst"],
            "violation",
            domains["n_neg=K"]["worst"] <= TOL,
            key="theorem3.edge_n_neg_equals_k",
        ),
        CheckResult(
            RESULT,
            "edge K > n_neg, C from the closed form extended to m = K: hits within bounds",
            beyond["cases"],
            beyond["extended"],
            "violation",
            beyond["extended"] <= TOL,
            expected=None,
            key="theorem3.edge_k_above_n_neg_extended",
        ),
        CheckResult(
            RESULT,
            "edge K > n_neg, AUC in place of OPAUC(K/n_neg): hits within bounds",
            beyond["cases"],
            beyond["auc"],
            "violation",
            beyond["auc"] <= TOL,
            expected=False,
            note=f"{beyond['auc_failing']} of {beyond['cases']} cases violate",
            key="theorem3.edge_k_above_n_neg_auc",
        ),
    ]


def _tightness(n, k, n_pos, hits, pairs, attained, sharp) -> None:
    """Update attainment and per-C sharpness counters for one (n, k) block (n_neg >= k)."""
    frame = pd.DataFrame({"p": n_pos, "h": hits, "c": pairs})
    present = set(zip(frame.p, frame.h, frame.c, strict=True))
    for p in np.unique(n_pos):
        q = n - p
        for t in range(max(0, k - q), min(k, p) + 1):
            attained["configs"] += 1
            attained["upper_missing"] += (p, t, t * t) not in present
            attained["lower_missing"] += (p, t, t * (k + p - t)) not in present
    groups = frame.groupby(["p", "c"]).h.agg(["min", "max"]).reset_index()
    p = groups.p.to_numpy()
    c = groups.c.to_numpy()
    lo, up = hits_bounds(c / (p * (n - p)), p, n - p, k, rounding="tight")
    lower_gap = groups["min"].to_numpy() - lo
    upper_gap = up - groups["max"].to_numpy()
    # With the trivial cap hits <= min(K, n_pos): sqrt(C) can exceed K when n_pos > K.
    capped_gap = np.minimum(up, np.minimum(k, p)) - groups["max"].to_numpy()
    sharp["groups"] += len(groups)
    sharp["lower_gap"] = max(sharp["lower_gap"], int(lower_gap.max()))
    sharp["upper_gap"] = max(sharp["upper_gap"], int(upper_gap.max()))
    sharp["capped_gap"] = max(sharp["capped_gap"], int(capped_gap.max()))
    sharp["upper_loose"] += int((upper_gap > 0).sum())


# --------------------------------------------------------------------------- random


def random_rankings(
    rng: np.random.Generator, n_pos: int, n_neg: int, n_rankings: int, shift: np.ndarray
) -> np.ndarray:
    """Sorted rank positions of the positives, shape (n_rankings, n_pos).

    Scores: negatives N(0, 1), positives N(shift, 1) with one shift per ranking; shift 0 is
    a uniformly random ranking, a large shift puts the positives on top.
    """
    neg = rng.standard_normal((n_rankings, n_neg))
    pos = rng.standard_normal((n_rankings, n_pos)) + shift[:, None]
    scores = np.concatenate([pos, neg], axis=1)
    order = np.argsort(-scores, axis=1, kind="stable")
    is_pos = order < n_pos
    return np.sort(np.nonzero(is_pos)[1].reshape(n_rankings, n_pos), axis=1)


def hits_and_pairs_from_positions(positions: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """hits@k and C from sorted positive positions (compact form, docs/definitions.md §1)."""
    above = positions - np.arange(positions.shape[1])
    hits = (positions < k).sum(axis=1)
    pairs = np.maximum(0, k - above).sum(axis=1)
    return hits, pairs


def check_random(n_cases: int = 600, seed: int = 20230303) -> list[CheckResult]:
    """Random sizes up to 600 items, uniform and skewed rankings, inside the preconditions."""
    rng = np.random.default_rng(seed)
    worst, cases = 0.0, 0
    for _ in range(n_cases):
        n_pos = int(rng.integers(2, 300))
        n_neg = int(rng.integers(2, 300))
        k = int(rng.integers(1, min(n_pos, n_neg)))
        shift = rng.uniform(-2.0, 6.0, size=4)
        positions = random_rankings(rng, n_pos, n_neg, 4, shift)
        hits, pairs = hits_and_pairs_from_positions(positions, k)
        viol = _bound_violations(n_pos, n_neg, k, hits, pairs)
        worst = max(worst, max(float(v.max()) for v in viol.values()))
        cases += len(hits)
    return [
        CheckResult(
            RESULT,
            "random rankings, n_pos, n_neg < 300, uniform to top-heavy: both metrics, roundings",
            cases,
            worst,
            "violation",
            worst <= TOL,
            key="theorem3.random_rankings",
        )
    ]


def check_metrics_identity(n_max: int = 8, n_random: int = 200, seed: int = 7) -> CheckResult:
    """n_pos n_neg metrics.opauc(K / n_neg) = C and metrics.recall_at_k = hits / n_pos."""
    claim = "metrics.opauc * n_pos * n_neg = pair count C, recall_at_k = hits/n_pos"
    cases, worst = 0, 0.0
    rng = np.random.default_rng(seed)
    blocks = []
    for n in range(2, n_max + 1):
        positive = enumerate_rankings(n)
        n_pos = positive.sum(axis=1)
        positive = positive[(n_pos >= 1) & (n_pos <= n - 1)]
        blocks.append(positive)
    for _ in range(n_random):
        n_pos, n_neg = int(rng.integers(1, 80)), int(rng.integers(1, 80))
        positions = random_rankings(rng, n_pos, n_neg, 1, rng.uniform(-1, 4, size=1))
        row = np.zeros((1, n_pos + n_neg), dtype=np.int64)
        row[0, positions[0]] = 1
        blocks.append(row)
    for positive in blocks:
        n = positive.shape[1]
        # Scores descending by position, so position 0 is the top of the ranking.
        score = np.tile(np.arange(n, 0, -1, dtype=np.float64), (len(positive), 1))
        n_pos = positive.sum(axis=1)
        for n_p in np.unique(n_pos):
            rows = positive[n_pos == n_p]
            n_neg = int(n - n_p)
            ks = range(1, n_neg + 1) if n <= n_max else np.unique(rng.integers(1, n_neg + 1, 4))
            ks = [int(k) for k in ks]
            table = metrics.evaluate(rows, score[: len(rows)], ks=ks, betas=[k / n_neg for k in ks])
            for k in ks:
                hits, pairs = hits_and_pairs(rows, k)
                got = table[beta_column(k / n_neg)].to_numpy()
                err = np.abs(got * n_p * n_neg - pairs)
                recall = table[topk_column("recall", k)].to_numpy()
                err = np.maximum(err, np.abs(recall - hits / n_p) * n_p)
                worst = max(worst, float(err.max()))
                cases += len(rows)
    return CheckResult(
        RESULT, claim, cases, worst, "max error", worst <= 1e-9, key="theorem3.metrics_identity"
    )


def check_ties(n_cases: int = 200, seed: int = 8) -> CheckResult:
    """Beyond the theorem: tied scores, with the metrics module's conventions (hits@K the
    expectation over tie orders, OPAUC the ROC area with diagonal tie segments)."""
    claim = "edge ties (metrics' expected hits, ROC-diagonal OPAUC): real-valued bounds"
    rng = np.random.default_rng(seed)
    worst = 0.0
    for _ in range(n_cases):
        n_pos, n_neg = int(rng.integers(1, 12)), int(rng.integers(1, 14))
        k = int(rng.integers(1, n_neg + 1))
        y_true = np.r_[np.ones(n_pos, dtype=np.int64), np.zeros(n_neg, dtype=np.int64)]
        levels = int(rng.integers(1, 5))
        y_score = rng.integers(0, levels, size=n_pos + n_neg).astype(np.float64)
        table = metrics.evaluate(y_true, y_score, ks=(k,), betas=(k / n_neg,))
        value = min(float(table[beta_column(k / n_neg)].iloc[0]), k / n_neg)
        hits = float(table[topk_column("recall", k)].iloc[0]) * n_pos
        lo, up = hits_bounds(value, n_pos, n_neg, k)
        worst = max(worst, lo - hits, hits - up)
    return CheckResult(
        RESULT,
        claim,
        n_cases,
        worst,
        "violation",
        worst <= 1e-12,
        expected=None,
        key="theorem3.edge_ties",
    )


def run(*, deep: bool = False) -> list[CheckResult]:
    results = check_exhaustive(14)
    results += check_random(6000 if deep else 600)
    results.append(check_metrics_identity(10 if deep else 7, 1000 if deep else 150))
    results.append(check_ties(3000 if deep else 200))
    return results


# --------------------------------------------------------------------------- figure data


def scatter_table(
    n_pos: int = 200,
    n_neg: int = 800,
    ks: tuple[int, ...] = (10, 50),
    n_rankings: int = 4000,
    seed: int = 20230303,
) -> pd.DataFrame:
    """hits@K and the pair count C of random rankings, for the bounds figure.

    Integers only (so the cached CSV stays small and exact): OPAUC(K / n_neg) is
    ``pairs / (n_pos * n_neg)``, Recall@K ``hits / n_pos``, Precision@K ``hits / k``.

    Each ranking has its own shift of the positives' scores, uniform in [-1, 4], so the
    rankings span bad to near-perfect (a uniformly random ranking alone covers a small blob).
    """
    rng = np.random.default_rng(seed)
    shift = rng.uniform(-1.0, 4.0, size=n_rankings)
    positions = random_rankings(rng, n_pos, n_neg, n_rankings, shift)
    frames = []
    for k in ks:
        hits, pairs = hits_and_pairs_from_positions(positions, k)
        frames.append(
            pd.DataFrame({"k": k, "n_pos": n_pos, "n_neg": n_neg, "hits": hits, "pairs": pairs})
        )
    return pd.concat(frames, ignore_index=True)
