"""The beta-peak correlation study (paper Fig. 6/7): Monte Carlo and exact.

Over random rankings of ``n_pos`` positives and ``n_neg`` negatives, how strongly does a
Top-K metric (Recall, Precision, NDCG at K) correlate with Norm_OPAUC(beta), as a function
of beta? Shi et al. (WWW 2023, §3.2) find a peak at a specific beta that shrinks with K, far
above the correlation with AUC (beta = 1).

Reductions used throughout
--------------------------
* Norm_OPAUC(beta) (McClish), OPAUC/beta and the raw OPAUC are affine in the pair count
  ``C(beta) = n_pos * n_neg * OPAUC(beta)`` for fixed beta, and Recall@K, Precision@K are
  affine in hits@K, NDCG@K in DCG@K. Pearson, Spearman and Kendall coefficients are
  invariant under increasing affine maps, so every coefficient here is computed between
  ``x in {hits@K, DCG@K}`` and ``y = C(beta)``; the normalisation changes nothing, and
  Recall@K and Precision@K have identical curves.
* Monte Carlo Pearson streams: rankings are generated in chunks (:mod:`opauc_sim.rankings`)
  and reduced to shifted power sums per block of 64 rankings; blocks are merged in a fixed
  order, so memory is O(1) in ``n_rankings`` and the result is bit-identical for any chunk
  size and number of threads.
* With an ``executor`` (e.g. Dask workers, :mod:`opauc_sim.distributed`), tasks compute
  the block sums of ranges of ranking indices and the blocks are merged here in the same
  order: the result is bit-identical to the local run.
* Its 95% confidence interval is a delete-a-group jackknife over 32 groups of blocks
  (block ``b`` in group ``b mod 32``), with a Student t quantile on 31 degrees of freedom:
  distribution free (hits@1 is Bernoulli, far from the bivariate normal behind Fisher's z).
* ``exact=True`` (uniform rankings, Pearson) computes E[x], E[x^2], E[y], E[y^2], E[xy]
  exactly by a forward dynamic programme over the lattice of (positives placed, negatives
  placed), whose paths are the rankings, all equally likely: O(n_pos * n_neg * len(betas))
  per x variable, no sampling.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import Executor

import numba
import numpy as np
import pandas as pd
from numba import njit, prange

from opauc_sim import _cost
from opauc_sim import rank_metrics as _rm
from opauc_sim import rankings as _rankings
from opauc_sim._validation import (
    SeedLike,
    as_seed_sequence,
    check_beta,
    check_choice,
    check_int,
    check_real,
    check_sequence,
)

__all__ = [
    "METHODS",
    "METRICS",
    "auc_correlation",
    "beta_curve",
    "beta_curve_cost",
    "binormal_study",
    "check_paper_claims",
    "exact_moments",
    "fig6_grid",
    "fit_peak_law",
    "peak_beta",
    "peak_law",
]

METRICS = ("recall", "precision", "ndcg")
METHODS = ("pearson", "spearman", "kendall")

#: Rankings per logical block (the unit of deterministic merging); chunks are multiples.
BLOCK = 64
#: Jackknife groups for the Monte Carlo confidence interval.
N_GROUPS = 32
_DEFAULT_CHUNK = 8192


# ---------------------------------------------------------------------------------------
# Kernels
# ---------------------------------------------------------------------------------------


@njit(cache=True)
def _dp_one(n_pos, n_neg, f, ms, out_x, out_y, out_xy):
    """Exact moments of x = sum_{positives} f[rank] and y = C(m) for each m of ``ms``.

    The ranking is a lattice path from (0, 0) to (n_pos, n_neg); from (i, j) the next item
    is positive with probability (n_pos - i) / (n - i - j). The state carries the path
    probability and the partial sums of x, x^2, y, y^2, xy weighted by it. A positive
    placed at (i, j) sits at rank i + j with j negatives above it: it adds f[i + j] to x and
    max(0, m - j) to y.

    Writes ``out_x = (E[x], E[x^2])``, ``out_y[:, b] = (E[y], E[y^2])``, ``out_xy[b] = E[xy]``.
    """
    n = n_pos + n_neg
    n_b = ms.shape[0]
    size = n_neg + 1
    w = np.zeros(size)
    sx = np.zeros(size)
    sxx = np.zeros(size)
    sy = np.zeros((size, n_b))
    syy = np.zeros((size, n_b))
    sxy = np.zeros((size, n_b))
    w2 = np.zeros(size)
    sx2 = np.zeros(size)
    sxx2 = np.zeros(size)
    sy2 = np.zeros((size, n_b))
    syy2 = np.zeros((size, n_b))
    sxy2 = np.zeros((size, n_b))
    gain = np.empty(n_b)
    # Row i = 0: only negatives so far.
    w[0] = 1.0
    for j in range(1, size):
        w[j] = w[j - 1] * (1.0 - n_pos / (n - (j - 1)))
    for i in range(n_pos):
        for j in range(size):
            # Positive step from (i, j) to (i + 1, j).
            q = (n_pos - i) / (n - i - j)
            xv = f[i + j]
            w2[j] = q * w[j]
            sx2[j] = q * (sx[j] + w[j] * xv)
            sxx2[j] = q * (sxx[j] + 2.0 * xv * sx[j] + xv * xv * w[j])
            for b in range(n_b):
                g = ms[b] - j
                if g < 0.0:
                    g = 0.0
                gain[b] = g
                sy2[j, b] = q * (sy[j, b] + w[j] * g)
                syy2[j, b] = q * (syy[j, b] + 2.0 * g * sy[j, b] + g * g * w[j])
                sxy2[j, b] = q * (sxy[j, b] + xv * sy[j, b] + g * sx[j] + xv * g * w[j])
            # Negative step from (i + 1, j - 1) to (i + 1, j).
            if j > 0:
                qn = 1.0 - (n_pos - i - 1) / (n - i - j)
                w2[j] += qn * w2[j - 1]
                sx2[j] += qn * sx2[j - 1]
                sxx2[j] += qn * sxx2[j - 1]
                for b in range(n_b):
                    sy2[j, b] += qn * sy2[j - 1, b]
                    syy2[j, b] += qn * syy2[j - 1, b]
                    sxy2[j, b] += qn * sxy2[j - 1, b]
        w, w2 = w2, w
        sx, sx2 = sx2, sx
        sxx, sxx2 = sxx2, sxx
        sy, sy2 = sy2, sy
        syy, syy2 = syy2, syy
        sxy, sxy2 = sxy2, sxy
    out_x[0] = sx[n_neg]
    out_x[1] = sxx[n_neg]
    for b in range(n_b):
        out_y[0, b] = sy[n_neg, b]
        out_y[1, b] = syy[n_neg, b]
        out_xy[b] = sxy[n_neg, b]


@njit(cache=True, parallel=True)
def _dp_batch(n_pos, n_neg, fs, ms, out_x, out_y, out_xy):
    for a in prange(fs.shape[0]):
        _dp_one(n_pos, n_neg, fs[a], ms, out_x[a], out_y[a], out_xy[a])


@njit(cache=True)
def _merge_blocks(block_sums, first_block, n_groups, group_sums):
    """Add block b's sums into group (first_block + b) mod n_groups, in block order."""
    for b in range(block_sums.shape[0]):
        g = (first_block + b) % n_groups
        for t in range(block_sums.shape[1]):
            group_sums[g, t] += block_sums[b, t]


# ---------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------


def _check_grid_args(n_pos, n_neg, ks, betas, metrics):
    n_pos = check_int("n_pos", n_pos, low=1)
    n_neg = check_int("n_neg", n_neg, low=1)
    n = n_pos + n_neg
    ks = np.unique(
        np.asarray(check_sequence("ks", ks, lambda nm, v: check_int(nm, v, low=1, high=n)))
    ).astype(np.int64)
    betas = np.unique(np.asarray(check_sequence("betas", betas, check_beta), dtype=np.float64))
    if isinstance(metrics, str):
        metrics = (metrics,)
    metrics = check_sequence("metrics", metrics, lambda nm, v: check_choice(nm, v, METRICS))
    if len(set(metrics)) != len(metrics):
        raise ValueError(f"metrics must not repeat, got {metrics!r}")
    return n_pos, n_neg, ks, betas, tuple(metrics)


def fig6_grid(n_neg: int = 800, n_betas: int = 61) -> np.ndarray:
    """The paper's beta grid: ``n_betas`` log-spaced values from ``1 / n_neg`` to 1."""
    n_neg = check_int("n_neg", n_neg, low=1)
    n_betas = check_int("n_betas", n_betas, low=2)
    return np.geomspace(1.0 / n_neg, 1.0, n_betas)


# ---------------------------------------------------------------------------------------
# Monte Carlo Pearson (streaming) and exact Pearson
# ---------------------------------------------------------------------------------------


def _x_layout(ks: np.ndarray, metrics: tuple[str, ...]) -> tuple[bool, bool]:
    want_hits = any(m in ("recall", "precision") for m in metrics)
    want_dcg = "ndcg" in metrics
    return want_hits, want_dcg


def _sums_layout(n_x: int, n_y: int) -> dict[str, slice]:
    o = 1
    out = {}
    for name, size in (("sx", n_x), ("sxx", n_x), ("sy", n_y), ("syy", n_y), ("sxy", n_x * n_y)):
        out[name] = slice(o, o + size)
        o += size
    out["len"] = o
    return out


def _pearson_from_sums(s: np.ndarray, n_x: int, n_y: int) -> np.ndarray:
    lay = _sums_layout(n_x, n_y)
    count = s[0]
    mx = s[lay["sx"]] / count
    my = s[lay["sy"]] / count
    vx = s[lay["sxx"]] / count - mx**2
    vy = s[lay["syy"]] / count - my**2
    cov = s[lay["sxy"]].reshape(n_x, n_y) / count - np.outer(mx, my)
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = np.sqrt(np.outer(np.clip(vx, 0, None), np.clip(vy, 0, None)))
        r = np.where(denom > 0, cov / np.where(denom > 0, denom, 1.0), np.nan)
    return np.clip(r, -1.0, 1.0)


def _mc_pearson(
    n_pos,
    n_neg,
    ks,
    ms,
    want_hits,
    want_dcg,
    n_rankings,
    generator,
    mu,
    seed,
    chunk_size,
    n_threads,
    progress,
    executor=None,
    task_size=None,
):
    n_x = len(ks) * (int(want_hits) + int(want_dcg))
    n_y = len(ms)
    lay = _sums_layout(n_x, n_y)
    disc = _rm._discounts(int(ks[-1]))
    first = _rm._first_table(ms, n_neg)
    groups = np.zeros((N_GROUPS, lay["len"]))
    if executor is not None:
        _mc_sums_distributed(
            executor, groups, n_pos, n_neg, ks, ms, want_hits, want_dcg, n_rankings,
            generator, mu, seed, chunk_size, task_size, progress,
        )  # fmt: skip
        return _mc_result(groups, n_x, n_y)
    blocks = np.zeros(((chunk_size + BLOCK - 1) // BLOCK, lay["len"]))
    shift_x = shift_y = None
    stream = _rankings.iter_chunks(
        n_pos,
        n_neg,
        n_rankings,
        generator=generator,
        mu=mu,
        seed=seed,
        chunk_size=chunk_size,
        dtype=np.int32,
        n_threads=n_threads,
    )
    bar = _progress_bar(progress, n_rankings)
    threads = _rankings.numba_threads(n_threads)
    for start, chunk in stream:
        if shift_x is None:  # shift by ranking 0's values: keeps the power sums well scaled
            shift_x, shift_y = _shifts(chunk, ks, ms, want_hits, want_dcg)
        n_blocks = (chunk.shape[0] + BLOCK - 1) // BLOCK
        with threads:
            _rm._moment_sums_batch(
                chunk,
                ks,
                disc,
                ms,
                first,
                want_hits,
                want_dcg,
                shift_x,
                shift_y,
                BLOCK,
                blocks[:n_blocks],
            )
        _merge_blocks(blocks[:n_blocks], start // BLOCK, N_GROUPS, groups)
        if bar is not None:
            bar.update(chunk.shape[0])
    if bar is not None:
        bar.close()
    return _mc_result(groups, n_x, n_y)


def _mc_result(groups, n_x, n_y):
    """Pearson and its jackknife 95% interval from the per-group sums."""
    total = np.zeros(groups.shape[1])
    for g in range(N_GROUPS):
        total += groups[g]
    r = _pearson_from_sums(total, n_x, n_y)
    used = [g for g in range(N_GROUPS) if groups[g, 0] > 0]
    if len(used) >= 2:
        jack = np.stack([_pearson_from_sums(total - groups[g], n_x, n_y) for g in used])
        n_g = len(used)
        se = np.sqrt((n_g - 1) / n_g * ((jack - jack.mean(axis=0)) ** 2).sum(axis=0))
        from scipy.stats import t as student_t

        half = student_t.ppf(0.975, n_g - 1) * se
        low, high = np.clip(r - half, -1, 1), np.clip(r + half, -1, 1)
    else:
        low = high = np.full_like(r, np.nan)
    return r, low, high


def _shifts(rankings, ks, ms, want_hits, want_dcg):
    """The shifts of the power sums: the x and y values of ranking 0 (``rankings[:1]``)."""
    disc = _rm._discounts(int(ks[-1]))
    hits = np.empty((1, len(ks)))
    dcg = np.empty((1, len(ks)))
    _rm._topk_batch(rankings[:1], ks, disc, hits, dcg)
    parts = ([hits[0]] if want_hits else []) + ([dcg[0]] if want_dcg else [])
    shift_y = np.empty((1, len(ms)))
    _rm._pairs_batch(rankings[:1], ms, shift_y)
    return np.ascontiguousarray(np.concatenate(parts)), np.ascontiguousarray(shift_y[0])


def _block_sums(
    span, n_pos, n_neg, ks, ms, want_hits, want_dcg, generator, mu, key, shift_x, shift_y,
    chunk_size,
):  # fmt: skip
    """The streamed sums of every block of 64 rankings in ``span = (start, stop)``.

    ``start`` is a multiple of :data:`BLOCK`; the rankings are generated and reduced in
    chunks exactly as :func:`_mc_pearson` does, so each block's sums are the local run's.
    Runs on an executor's worker, with that worker's Numba threads.
    """
    start, stop = span
    n_x, n_y = len(shift_x), len(ms)
    length = _sums_layout(n_x, n_y)["len"]
    disc = _rm._discounts(int(ks[-1]))
    first = _rm._first_table(ms, n_neg)
    out = np.zeros(((stop - start + BLOCK - 1) // BLOCK, length))
    buffer = np.empty((min(chunk_size, stop - start), n_pos), dtype=np.int32)
    for lo in range(start, stop, chunk_size):
        rows = min(chunk_size, stop - lo)
        chunk = buffer[:rows]
        _rankings._run_generator(generator, n_pos, n_neg, key, lo, mu, chunk)
        b0 = (lo - start) // BLOCK
        _rm._moment_sums_batch(
            chunk, ks, disc, ms, first, want_hits, want_dcg, shift_x, shift_y, BLOCK,
            out[b0 : b0 + (rows + BLOCK - 1) // BLOCK],
        )  # fmt: skip
    return out


def _task_spans(n_rankings: int, chunk_size: int, task_size: int | None) -> list[tuple[int, int]]:
    """Split ``range(n_rankings)`` into spans of whole blocks for an executor's tasks."""
    if task_size is None:  # about 64 tasks, each at least a chunk
        task_size = max(chunk_size, -(-n_rankings // (64 * BLOCK)) * BLOCK)
    return [(lo, min(lo + task_size, n_rankings)) for lo in range(0, n_rankings, task_size)]


def _mc_sums_distributed(
    executor, groups, n_pos, n_neg, ks, ms, want_hits, want_dcg, n_rankings, generator, mu,
    seed, chunk_size, task_size, progress,
):  # fmt: skip
    """Fill ``groups`` as :func:`_mc_pearson` does, the blocks computed by ``executor``.

    Tasks cover whole blocks by ranking index; their block sums are merged here in block
    order, the local order, so the result is bit-identical to the local run.
    """
    import functools

    key = _rankings.seed_key(seed)
    ranking0 = np.empty((1, n_pos), dtype=np.int32)
    _rankings._run_generator(generator, n_pos, n_neg, key, 0, mu, ranking0)
    shift_x, shift_y = _shifts(ranking0, ks, ms, want_hits, want_dcg)
    spans = _task_spans(n_rankings, chunk_size, task_size)
    task = functools.partial(
        _block_sums,
        n_pos=n_pos, n_neg=n_neg, ks=ks, ms=ms, want_hits=want_hits, want_dcg=want_dcg,
        generator=generator, mu=mu, key=key, shift_x=shift_x, shift_y=shift_y,
        chunk_size=chunk_size,
    )  # fmt: skip
    bar = _progress_bar(progress, n_rankings)
    for (start, stop), blocks in zip(spans, executor.map(task, spans), strict=True):
        _merge_blocks(blocks, start // BLOCK, N_GROUPS, groups)
        if bar is not None:
            bar.update(stop - start)
    if bar is not None:
        bar.close()


def _exact_pearson(n_pos, n_neg, ks, ms, want_hits, want_dcg):
    n = n_pos + n_neg
    disc = _rm._discounts(n)
    fs = []
    if want_hits:
        for k in ks:
            f = np.zeros(n)
            f[:k] = 1.0
            fs.append(f)
    if want_dcg:
        for k in ks:
            f = np.zeros(n)
            f[:k] = disc[:k]
            fs.append(f)
    fs = np.ascontiguousarray(np.stack(fs))
    n_x, n_y = fs.shape[0], len(ms)
    ex = np.empty((n_x, 2))
    ey = np.empty((n_x, 2, n_y))
    exy = np.empty((n_x, n_y))
    _dp_batch(n_pos, n_neg, fs, ms, ex, ey, exy)
    vx = ex[:, 1] - ex[:, 0] ** 2
    vy = ey[0, 1] - ey[0, 0] ** 2
    cov = exy - np.outer(ex[:, 0], ey[0, 0])
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = np.sqrt(np.outer(np.clip(vx, 0, None), np.clip(vy, 0, None)))
        # Relative round-off of the moments is ~1e-13; a variance below that is zero. The
        # floor is relative to E[x^2] alone: C(beta) scales with beta * n_neg, and a
        # correlation does not depend on the scale.
        tiny_x = vx <= 1e-12 * ex[:, 1]
        tiny_y = vy <= 1e-12 * ey[0, 1]
        bad = np.logical_or.outer(tiny_x, tiny_y)
        r = np.where(bad, np.nan, cov / np.where(denom > 0, denom, 1.0))
    return np.clip(r, -1.0, 1.0)


def exact_moments(n_pos: int, n_neg: int, f: Sequence[float], betas: Sequence[float]) -> dict:
    """Exact moments under uniformly random rankings of x = sum_{positives} f[rank] and C(beta).

    Parameters
    ----------
    n_pos, n_neg : int
        Positives (>= 1) and negatives (>= 1).
    f : sequence of float, length n_pos + n_neg
        Per-rank contribution of a positive to x: ``f[r] = 1[r < K]`` gives hits@K,
        ``f[r] = 1[r < K] / log2(r + 2)`` gives DCG@K.
    betas : sequence of float in (0, 1]

    Returns
    -------
    dict
        ``"ex", "exx"`` (floats), ``"ey", "eyy", "exy"`` (arrays over ``betas``, in the order
        given), where y = C(beta) = n_pos * n_neg * OPAUC(beta).
    """
    n_pos = check_int("n_pos", n_pos, low=1)
    n_neg = check_int("n_neg", n_neg, low=1)
    f = np.ascontiguousarray(f, dtype=np.float64)
    if f.shape != (n_pos + n_neg,):
        raise ValueError(f"f must have shape ({n_pos + n_neg},), got {f.shape}")
    ms = np.asarray(check_sequence("betas", betas, check_beta), dtype=np.float64) * n_neg
    ex = np.empty((1, 2))
    ey = np.empty((1, 2, len(ms)))
    exy = np.empty((1, len(ms)))
    _dp_batch(n_pos, n_neg, f[None, :], np.ascontiguousarray(ms), ex, ey, exy)
    return {"ex": ex[0, 0], "exx": ex[0, 1], "ey": ey[0, 0], "eyy": ey[0, 1], "exy": exy[0]}


# ---------------------------------------------------------------------------------------
# Rank correlations (materialised)
# ---------------------------------------------------------------------------------------


def _materialise(
    n_pos,
    n_neg,
    ks,
    ms,
    want_hits,
    want_dcg,
    n_rankings,
    generator,
    mu,
    seed,
    chunk_size,
    n_threads,
    progress,
):
    disc = _rm._discounts(int(ks[-1]))
    n_x = len(ks) * (int(want_hits) + int(want_dcg))
    xs = np.empty((n_rankings, n_x))
    ys = np.empty((n_rankings, len(ms)))
    hits = np.empty((chunk_size, len(ks)))
    dcg = np.empty((chunk_size, len(ks)))
    bar = _progress_bar(progress, n_rankings)
    for start, chunk in _rankings.iter_chunks(
        n_pos,
        n_neg,
        n_rankings,
        generator=generator,
        mu=mu,
        seed=seed,
        chunk_size=chunk_size,
        dtype=np.int32,
        n_threads=n_threads,
    ):
        rows = chunk.shape[0]
        _rm._topk_batch(chunk, ks, disc, hits[:rows], dcg[:rows])
        parts = ([hits[:rows]] if want_hits else []) + ([dcg[:rows]] if want_dcg else [])
        xs[start : start + rows] = np.concatenate(parts, axis=1)
        _rm._pairs_batch(chunk, ms, ys[start : start + rows])
        if bar is not None:
            bar.update(rows)
    if bar is not None:
        bar.close()
    return xs, ys


def _spearman(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    rx = rankdata(xs, axis=0)
    ry = rankdata(ys, axis=0)
    rx -= rx.mean(axis=0)
    ry -= ry.mean(axis=0)
    cov = rx.T @ ry
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = np.sqrt(np.outer((rx**2).sum(axis=0), (ry**2).sum(axis=0)))
        return np.clip(np.where(denom > 0, cov / np.where(denom > 0, denom, 1), np.nan), -1, 1)


def _kendall(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    from scipy.stats import kendalltau

    out = np.empty((xs.shape[1], ys.shape[1]))
    for a in range(xs.shape[1]):
        for b in range(ys.shape[1]):
            out[a, b] = kendalltau(xs[:, a], ys[:, b], variant="b").statistic
    return out


def _fisher_ci(r: np.ndarray, se: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = np.arctanh(np.clip(r, -0.999999999999, 0.999999999999))
    return np.tanh(z - 1.959963984540054 * se), np.tanh(z + 1.959963984540054 * se)


# ---------------------------------------------------------------------------------------
# Cost estimates
# ---------------------------------------------------------------------------------------

# Per-unit times, measured on this project's machine (2 shared cores, the other one busy,
# one Numba thread; median of 2-3 runs of beta_curve at several sizes, 2026-11-30):
# - exact DP: 1.8-2.7 ns per (positive, negative + 1, beta, x curve) cell;
# - uniform Monte Carlo Pearson, per ranking: ~0.24 us at n_pos = 20, 26 us at n_pos = 2000
#   (13 ns per positive), plus ~0.33 ns per (x curve, beta) pair of moment sums
#   (2.5 us for the Fig. 6 grid at n_pos = 200, 6.5 us with 1000 betas);
# - binormal generation: 36-40 ns per item (positives + negatives) per ranking;
# - Kendall's tau-b: 22-26 ns per (x, beta) pair per R log2 R; Spearman ~10 ns per column
#   per R log2 R.
# An idle machine runs Monte Carlo about 2x faster (README: 1.5e6 Fig. 6 rankings/s on 2
# threads), so these estimates lean long.
_NS_EXACT_CELL = 2.5
_NS_MC_RANKING = 300.0
_NS_MC_POSITIVE = 13.0
_NS_MC_PAIR = 0.35
_NS_BINORMAL_ITEM = 40.0
_NS_KENDALL = 25.0
_NS_SPEARMAN = 10.0
#: Bytes per output row (list of dicts, then the DataFrame), measured roughly.
_BYTES_PER_ROW = 700


def beta_curve_cost(
    n_pos: int,
    n_neg: int,
    *,
    n_ks: int,
    n_betas: int,
    metrics: Sequence[str] = METRICS,
    method: str = "pearson",
    n_rankings: int = 100_000,
    exact: bool = False,
    generator: str = "uniform",
    chunk_size: int = _DEFAULT_CHUNK,
    n_threads: int | None = None,
) -> _cost.Cost:
    """Estimated peak memory and time of :func:`beta_curve`, from the sizes alone.

    Cheap (no array is built), so it can run before a grid of ``n_betas`` values exists.

    Parameters
    ----------
    n_pos, n_neg : int
    n_ks, n_betas : int
        Number of cut-offs and of betas.
    metrics, method, n_rankings, exact, generator, chunk_size, n_threads
        As in :func:`beta_curve`.

    Returns
    -------
    opauc_sim._cost.Cost
        ``bytes`` (within about a factor of two) and ``seconds`` (from the per-unit times
        measured in this module's comments).
    """
    n_pos, n_neg, n_ks, n_b = (int(v) for v in (n_pos, n_neg, n_ks, n_betas))
    metrics = (metrics,) if isinstance(metrics, str) else tuple(metrics)
    threads = max(1, int(n_threads) if n_threads else numba.get_num_threads())
    want_hits = any(m in ("recall", "precision") for m in metrics)
    want_dcg = "ndcg" in metrics
    n_x = n_ks * (int(want_hits) + int(want_dcg))
    n = n_pos + n_neg
    out = _BYTES_PER_ROW * len(metrics) * n_ks * n_b + 24 * n_b
    if exact:
        conc = max(1, min(threads, n_x))
        mem = 8 * (6 * (n_neg + 1) * (n_b + 1) * conc + n_x * n + n + 4 * n_x * n_b)
        cells = n_pos * (n_neg + 1) * n_b * n_x
        secs = _NS_EXACT_CELL * 1e-9 * cells / conc
        what = f"exact curves, n_pos={n_pos:,} x n_neg={n_neg:,} x {n_b:,} betas x {n_x} curves"
        return _cost.Cost(float(mem + out), secs, what)
    r = int(n_rankings)
    chunk = min(int(chunk_size), max(r, 1))
    mem = 8 * chunk * n_pos + 16 * (n_neg + 1)  # int32 chunk + scratch, the first-table
    if generator == "binormal":
        mem += 16 * n * threads
    if method == "pearson":
        length = 1 + 2 * n_x + 2 * n_b + n_x * n_b
        mem += 8 * length * (-(-chunk // BLOCK) + N_GROUPS) + 8 * n_x * n_b * (3 * N_GROUPS)
        mem += 8 * n_x * n_b * threads
    else:
        mem += 3 * 8 * r * (n_x + n_b)
    per = _NS_MC_RANKING + _NS_MC_POSITIVE * n_pos + _NS_MC_PAIR * n_x * n_b
    if generator == "binormal":
        per += _NS_BINORMAL_ITEM * n
    secs = r * per * 1e-9 / threads
    log_r = math.log2(max(r, 2))
    if method == "kendall":
        secs += _NS_KENDALL * 1e-9 * n_x * n_b * r * log_r
    elif method == "spearman":
        secs += _NS_SPEARMAN * 1e-9 * (n_x + n_b) * r * log_r
    what = (
        f"{r:,} {generator} rankings ({method}), n_pos={n_pos:,}, n_neg={n_neg:,}, "
        f"{n_x} curves x {n_b:,} betas"
    )
    return _cost.Cost(float(mem + out), secs, what)


# ---------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------


def _progress_bar(progress, total, desc="rankings", unit="rk"):
    if not progress:
        return None
    from opauc_sim._optional import progress_bar  # None without tqdm (extra "progress")

    return progress_bar(total=total, unit=unit, unit_scale=unit == "rk", desc=desc, leave=False)


def beta_curve(
    n_pos: int,
    n_neg: int,
    *,
    ks: Sequence[int],
    betas: Sequence[float],
    metrics: Sequence[str] = ("recall", "precision", "ndcg"),
    method: str = "pearson",
    n_rankings: int = 100_000,
    exact: bool = False,
    generator: str = "uniform",
    seed: SeedLike = 0,
    mu: float = 0.0,
    chunk_size: int = _DEFAULT_CHUNK,
    n_threads: int | None = None,
    progress: bool = False,
    executor: Executor | None = None,
    task_size: int | None = None,
) -> pd.DataFrame:
    """Correlation, across random rankings, between Top-K metrics and Norm_OPAUC(beta).

    Parameters
    ----------
    n_pos, n_neg : int
        Positives and negatives per ranking, each >= 1.
    ks : sequence of int
        Cut-offs in ``[1, n_pos + n_neg]`` (sorted and de-duplicated).
    betas : sequence of float
        OPAUC levels in ``(0, 1]`` (sorted and de-duplicated); include 1 for AUC.
    metrics : sequence of {"recall", "precision", "ndcg"}
    method : {"pearson", "spearman", "kendall"}
        Pearson streams in O(1) memory in ``n_rankings``. Spearman (average ranks for ties)
        and Kendall's tau-b keep every value: ``8 * n_rankings * (len(betas) + len(ks) *
        (1 + ("ndcg" in metrics)))`` bytes. Kendall calls ``scipy.stats.kendalltau`` per
        (x, beta) pair, ``O(n_rankings log n_rankings)`` each: keep it to ~1e5 rankings.
    n_rankings : int, default 100000
        Monte Carlo sample size (>= 2; the jackknife CI needs >= 2 * 64 rankings).
    exact : bool, default False
        Exact Pearson for uniform rankings, with no sampling (``n_rankings`` and ``seed``
        are ignored). Cost ``O(n_pos * n_neg * len(betas))`` per (metric, K).
    generator : {"uniform", "binormal"}
        How rankings are drawn (:mod:`opauc_sim.rankings`).
    seed : int, SeedSequence, Generator or None, default 0
    mu : float, default 0.0
        Binormal separation (``generator="binormal"`` only).
    chunk_size : int, default 8192
        Rankings generated per step, a multiple of 64. Does not change the result.
    n_threads : int or None
        Numba threads (None: Numba's setting). Does not change the result.
    progress : bool, default False
        Show a tqdm progress bar over rankings.
    executor : concurrent.futures.Executor, optional
        Monte Carlo Pearson only: compute the rankings' block sums in this executor's
        tasks (e.g. :meth:`opauc_sim.distributed.DaskCluster.executor`), split by ranking
        index, and merge them here in block order. Bit-identical to ``executor=None``.
    task_size : int, optional
        Rankings per executor task, a multiple of 64 (default: about ``n_rankings / 64``,
        at least ``chunk_size``). Does not change the result.

    Returns
    -------
    pandas.DataFrame
        One row per (metric, k, beta), metrics in the order given, then ascending k and
        beta. Columns ``metric, k, beta, corr``; for Monte Carlo also ``ci_low, ci_high``
        (95%) and ``n_rankings``.

    Raises
    ------
    TypeError, ValueError
        ``n_pos < 1``, ``n_neg < 1``, a K outside ``[1, n]``, a beta outside ``(0, 1]``,
        empty grids, an unknown metric, method or generator, ``chunk_size`` not a multiple
        of 64, or ``exact=True`` with a method other than Pearson or a non-uniform
        generator.
    opauc_sim._cost.ResourceError
        (a ``ValueError``) The estimate of :func:`beta_curve_cost` exceeds the memory
        available; checked before anything large is allocated.

    Notes
    -----
    Norm_OPAUC(beta) (McClish) is affine in the raw OPAUC for fixed beta, so it has the same
    correlations as the raw area and the pair count; Recall@K and Precision@K are both
    affine in hits@K and have identical curves. A coefficient whose variable is constant
    (e.g. K = n) is NaN.

    Monte Carlo CIs: Pearson uses a delete-a-group jackknife (32 groups); Spearman and
    Kendall use Fisher's z with the normal-theory standard errors of Bonett and Wright
    (2000), ``sqrt((1 + r^2 / 2) / (N - 3))``, and Fieller et al. (1957),
    ``sqrt(0.437 / (N - 4))``: approximate for these discrete metrics (many ties).

    References
    ----------
    .. [1] W. Shi et al., "On the Theories Behind Hard Negative Sampling for
       Recommendation", WWW 2023, §3.2 and Fig. 6/7.
    .. [2] D. G. Bonett and T. A. Wright, "Sample size requirements for estimating Pearson,
       Kendall and Spearman correlations", Psychometrika 65, 2000.

    Examples
    --------
    >>> df = beta_curve(20, 80, ks=[5], betas=[0.05, 1.0], metrics=["recall"], exact=True)
    >>> df["corr"].round(3).tolist()
    [0.872, 0.378]
    """
    n_pos, n_neg, ks, betas, metrics = _check_grid_args(n_pos, n_neg, ks, betas, metrics)
    check_choice("method", method, METHODS)
    check_choice("generator", generator, _rankings.GENERATORS)
    mu = check_real("mu", mu)
    if not isinstance(exact, bool | np.bool_):
        raise TypeError(f"exact must be a bool, got {exact!r}")
    chunk_size = check_int("chunk_size", chunk_size, low=BLOCK)
    if chunk_size % BLOCK:
        raise ValueError(f"chunk_size must be a multiple of {BLOCK}, got {chunk_size}")
    want_hits, want_dcg = _x_layout(ks, metrics)
    if not exact:
        n_rankings = check_int("n_rankings", n_rankings, low=2)
    if task_size is not None:
        task_size = check_int("task_size", task_size, low=BLOCK)
        if task_size % BLOCK:
            raise ValueError(f"task_size must be a multiple of {BLOCK}, got {task_size}")
    if executor is not None:
        if not callable(getattr(executor, "map", None)):
            raise TypeError(f"executor must have a map method (an Executor), got {executor!r}")
        if exact or method != "pearson":
            what = "exact=True" if exact else f"method={method!r}"
            raise ValueError(f"executor applies to Monte Carlo Pearson only, got {what}")
    _cost.check_memory(
        beta_curve_cost(
            n_pos,
            n_neg,
            n_ks=len(ks),
            n_betas=len(betas),
            metrics=metrics,
            method=method,
            n_rankings=n_rankings if not exact else 0,
            exact=bool(exact),
            generator=generator,
            chunk_size=chunk_size,
            n_threads=n_threads,
        )
    )
    ms = np.ascontiguousarray(betas * n_neg)
    if exact:
        if method != "pearson":
            raise ValueError(f"exact=True supports method='pearson' only, got {method!r}")
        if generator != "uniform":
            raise ValueError(f"exact=True supports generator='uniform' only, got {generator!r}")
        with _rankings.numba_threads(n_threads):
            r = _exact_pearson(n_pos, n_neg, ks, ms, want_hits, want_dcg)
        low = high = None
    else:
        args = (
            n_pos,
            n_neg,
            ks,
            ms,
            want_hits,
            want_dcg,
            n_rankings,
            generator,
            mu,
            seed,
            chunk_size,
            n_threads,
            progress,
        )
        if method == "pearson":
            r, low, high = _mc_pearson(*args, executor=executor, task_size=task_size)
        else:
            xs, ys = _materialise(*args)
            if method == "spearman":
                r = _spearman(xs, ys)
                se = np.sqrt((1 + r**2 / 2) / max(n_rankings - 3, 1))
            else:
                r = _kendall(xs, ys)
                se = np.full_like(r, math.sqrt(0.437 / max(n_rankings - 4, 1)))
            low, high = _fisher_ci(r, se)
    rows = []
    n_k = len(ks)
    for metric in metrics:
        offset = 0 if (metric != "ndcg" or not want_hits) else n_k
        for a, k in enumerate(ks):
            for b, beta in enumerate(betas):
                row = {
                    "metric": metric,
                    "k": int(k),
                    "beta": float(beta),
                    "corr": float(r[offset + a, b]),
                }
                if low is not None:
                    row["ci_low"] = float(low[offset + a, b])
                    row["ci_high"] = float(high[offset + a, b])
                    row["n_rankings"] = n_rankings
                rows.append(row)
    return pd.DataFrame(rows)


def peak_beta(curve: pd.DataFrame) -> pd.DataFrame:
    """Where each (metric, K) curve peaks.

    Parameters
    ----------
    curve : pandas.DataFrame
        Output of :func:`beta_curve` (columns ``metric, k, beta, corr``).

    Returns
    -------
    pandas.DataFrame
        One row per (metric, k), in order of appearance: ``beta`` and ``corr`` at the grid
        maximum (the first one if tied; NaN values ignored), ``corr_at_1`` (the correlation
        at beta = 1, i.e. with AUC; NaN if 1 is not in the grid), ``interior`` (the peak is
        neither the smallest nor the largest beta of the grid), and, for Monte Carlo
        curves, ``ci_low, ci_high`` at the peak. The peak is located to the grid's
        resolution.

    Examples
    --------
    >>> c = pd.DataFrame({"metric": "recall", "k": 5, "beta": [0.1, 0.5, 1.0],
    ...                   "corr": [0.5, 0.9, 0.3]})
    >>> peak_beta(c).to_dict("records")
    [{'metric': 'recall', 'k': 5, 'beta': 0.5, 'corr': 0.9, 'corr_at_1': 0.3, 'interior': True}]
    """
    missing = {"metric", "k", "beta", "corr"} - set(curve.columns)
    if missing:
        raise ValueError(f"curve lacks columns {sorted(missing)}")
    rows = []
    for (metric, k), part in curve.groupby(["metric", "k"], sort=False):
        part = part.sort_values("beta")
        corr = part["corr"].to_numpy()
        if np.all(np.isnan(corr)):
            continue
        i = int(np.nanargmax(corr))
        at_one = part.loc[part["beta"] == 1.0, "corr"]
        row = {
            "metric": metric,
            "k": int(k),
            "beta": float(part["beta"].iloc[i]),
            "corr": float(corr[i]),
            "corr_at_1": float(at_one.iloc[0]) if len(at_one) else float("nan"),
            "interior": bool(0 < i < len(corr) - 1),
        }
        if "ci_low" in part:
            row["ci_low"] = float(part["ci_low"].iloc[i])
            row["ci_high"] = float(part["ci_high"].iloc[i])
        rows.append(row)
    columns = ["metric", "k", "beta", "corr", "corr_at_1", "interior"]
    columns += ["ci_low", "ci_high"] if "ci_low" in curve else []
    # Every curve all-NaN (e.g. too few rankings to vary): no peak, but the same columns.
    return pd.DataFrame(rows, columns=columns)


def _left_ratio(part: pd.DataFrame, factor: float) -> float:
    """corr(beta_peak / factor) / corr(beta_peak), interpolated on log beta; NaN off grid."""
    part = part.sort_values("beta")
    beta = part["beta"].to_numpy()
    corr = part["corr"].to_numpy()
    i = int(np.nanargmax(corr))
    target = beta[i] / factor
    if target < beta[0]:
        return float("nan")
    return float(np.interp(np.log(target), np.log(beta), corr) / corr[i])


def check_paper_claims(
    curve: pd.DataFrame,
    *,
    peak_threshold: float = 0.8,
    auc_threshold: float = 0.4,
    left_factor: float = 4.0,
) -> pd.DataFrame:
    """Check the claims of the paper's simulation on a :func:`beta_curve` result.

    Claims (docs/experiments.md), each evaluated per (metric, K) or per metric, and summarised:

    1. ``peak``: each curve has an interior peak (not at either end of the beta grid). For
       K = 1 it cannot: hits@1 = 1[a_0 = 0] and, for beta <= 1/n_neg,
       C(beta) = beta * n_neg * #{i: a_i = 0}, so the curve is flat on (0, 1/n_neg] and its
       maximum is that plateau, the lower end of the paper's grid.
    2. ``peak_order``: smaller K peaks at smaller (or equal) beta, for each metric.
    3. ``peak_above``: the correlation at the peak exceeds ``peak_threshold`` (0.8).
    4. ``auc_below``: the correlation at beta = 1 (AUC) is below ``auc_threshold`` (0.4).
    5. ``ndcg_left``: left of the peak NDCG@K decays more slowly than Recall@K: at
       ``beta_peak / left_factor`` the NDCG curve keeps a larger fraction of its peak value
       (each curve at its own peak; K = 1 is excluded, where NDCG@1 = Recall@1).
    6. ``recall_eq_precision``: the Recall@K and Precision@K curves coincide.

    Parameters
    ----------
    curve : pandas.DataFrame
        From :func:`beta_curve`, with metrics recall, precision and ndcg and beta = 1.
    peak_threshold, auc_threshold : float
    left_factor : float, default 4
        How far left of the peak the decay is compared (a factor on beta).

    Returns
    -------
    pandas.DataFrame
        Columns ``claim, scope, holds, value, detail``; one row per check, then one
        ``scope="all"`` row per claim that holds iff all its checks hold (checks that do
        not apply, with ``holds`` NaN, are left out; a claim with no applicable check has
        ``holds`` NaN). ``auc_below`` needs beta = 1 in the grid.
    """
    peaks = peak_beta(curve)
    rows = []

    def add(claim, scope, holds, value, detail):
        rows.append(
            {"claim": claim, "scope": scope, "holds": holds, "value": value, "detail": detail}
        )

    beta_min = float(curve["beta"].min())
    for p in peaks.itertuples():
        where = f"peak at beta={p.beta:.4g} (corr {p.corr:.3f})"
        if not p.interior and p.beta == beta_min:
            where += "; the maximum is the grid's lower end (curve decreasing on the grid)"
        add("peak", f"{p.metric}@{p.k}", bool(p.interior), p.beta, where)
    for metric, part in peaks.groupby("metric", sort=False):
        part = part.sort_values("k")
        b = part["beta"].to_numpy()
        ok = bool(np.all(np.diff(b) >= 0))
        add(
            "peak_order",
            metric,
            ok,
            float(np.all(np.diff(b) > 0)),
            "peak beta by K: "
            + ", ".join(f"{k}:{v:.4g}" for k, v in zip(part["k"], b, strict=True)),
        )
    for p in peaks.itertuples():
        add(
            "peak_above",
            f"{p.metric}@{p.k}",
            bool(p.corr > peak_threshold),
            p.corr,
            f"corr at peak {p.corr:.3f} vs {peak_threshold}",
        )
        if np.isnan(p.corr_at_1):
            add("auc_below", f"{p.metric}@{p.k}", np.nan, np.nan, "beta = 1 is not in the grid")
        else:
            add(
                "auc_below",
                f"{p.metric}@{p.k}",
                bool(p.corr_at_1 < auc_threshold),
                p.corr_at_1,
                f"corr at beta=1 {p.corr_at_1:.3f} vs {auc_threshold}",
            )
    metrics = set(curve["metric"])
    if {"ndcg", "recall"} <= metrics:
        for k in sorted(set(curve["k"])):
            if k == 1:
                continue
            nd = _left_ratio(curve[(curve.metric == "ndcg") & (curve.k == k)], left_factor)
            rc = _left_ratio(curve[(curve.metric == "recall") & (curve.k == k)], left_factor)
            if np.isnan(nd) or np.isnan(rc):
                add("ndcg_left", f"k={k}", np.nan, np.nan, "peak too close to the grid start")
                continue
            add(
                "ndcg_left",
                f"k={k}",
                bool(nd >= rc),
                nd - rc,
                f"corr/peak at beta_peak/{left_factor:g}: ndcg {nd:.3f}, recall {rc:.3f}",
            )
    if {"recall", "precision"} <= metrics:
        a = curve[curve.metric == "recall"].sort_values(["k", "beta"])["corr"].to_numpy()
        b = curve[curve.metric == "precision"].sort_values(["k", "beta"])["corr"].to_numpy()
        diff = float(np.nanmax(np.abs(a - b)))
        add(
            "recall_eq_precision",
            "all K, beta",
            bool(diff <= 1e-12),
            diff,
            f"max |corr_recall - corr_precision| = {diff:.2g}",
        )
    table = pd.DataFrame(rows)
    summary = []
    for claim, part in table.groupby("claim", sort=False):
        valid = part["holds"].dropna()
        n_ok = int(sum(bool(v) for v in valid))
        summary.append(
            {
                "claim": claim,
                "scope": "all",
                # A claim none of whose checks applies is not applicable (NaN), not true.
                "holds": bool(n_ok == len(valid)) if len(valid) else np.nan,
                "value": n_ok / len(valid) if len(valid) else np.nan,
                "detail": f"{n_ok} of {len(valid)} checks hold"
                if len(valid)
                else "not applicable on this curve",
            }
        )
    return pd.concat([table, pd.DataFrame(summary)], ignore_index=True)


def peak_law(
    configs: Sequence[tuple[int, int, int]],
    *,
    metrics: Sequence[str] = ("recall", "ndcg"),
    n_coarse: int = 41,
    n_fine: int = 41,
    progress: bool = False,
) -> pd.DataFrame:
    """Exact peak beta for each ``(n_pos, n_neg, K)``, located by a coarse-to-fine grid.

    A coarse log grid of ``n_coarse`` betas over ``[1/n_neg, 1]`` brackets the peak; a fine
    log grid of ``n_fine`` betas between the coarse neighbours of the maximum locates it to
    about ``(coarse step)^(2 / (n_fine - 1))``. Uniform rankings, exact Pearson.

    Returns
    -------
    pandas.DataFrame
        Columns ``n_pos, n_neg, k, metric, beta_peak, corr_peak, corr_auc, k_over_n_neg,
        k_over_n``.
    """
    metrics = check_sequence("metrics", metrics, lambda nm, v: check_choice(nm, v, METRICS))
    rows = []
    configs = list(configs)
    bar = _progress_bar(progress, len(configs), desc="settings (n_pos, n_neg, K)", unit="setting")
    for n_pos, n_neg, k in configs:
        coarse = np.unique(np.concatenate((fig6_grid(n_neg, n_coarse), [1.0])))
        cc = beta_curve(n_pos, n_neg, ks=[k], betas=coarse, metrics=metrics, exact=True)
        for metric in metrics:
            part = cc[cc.metric == metric].sort_values("beta")
            i = int(np.nanargmax(part["corr"].to_numpy()))
            lo = coarse[max(i - 1, 0)]
            hi = coarse[min(i + 1, len(coarse) - 1)]
            fine = np.geomspace(lo, hi, n_fine)
            fc = beta_curve(n_pos, n_neg, ks=[k], betas=fine, metrics=[metric], exact=True)
            j = int(np.nanargmax(fc["corr"].to_numpy()))
            rows.append(
                {
                    "n_pos": n_pos,
                    "n_neg": n_neg,
                    "k": k,
                    "metric": metric,
                    "beta_peak": float(fc["beta"].iloc[j]),
                    "corr_peak": float(fc["corr"].iloc[j]),
                    "corr_auc": float(part["corr"].iloc[-1]),
                    "k_over_n_neg": k / n_neg,
                    "k_over_n": k / (n_pos + n_neg),
                }
            )
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return pd.DataFrame(rows)


def binormal_study(
    mus: Sequence[float],
    n_pos: int,
    n_neg: int,
    *,
    ks: Sequence[int],
    betas: Sequence[float],
    metrics: Sequence[str] = ("recall", "ndcg"),
    n_rankings: int = 20_000,
    seed: SeedLike = 0,
    progress: bool = False,
    callback: Callable[[float], None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """How the peak moves as ranking quality grows: binormal rankings for each ``mu``.

    Each ``mu`` gets an independent stream spawned from ``seed``. Returns ``(curves,
    peaks)``: the concatenated :func:`beta_curve` results and :func:`peak_beta` tables, each
    with a ``mu`` column; ``peaks`` also has the expected AUC ``Phi(mu / sqrt(2))``, the mean
    number of negatives in the top K over the same rankings (``neg_in_top_k``) and the peak
    cut ``beta * n_neg`` divided by it (``m_peak_over_neg_in_top_k``).
    """
    from scipy.stats import norm

    mus = check_sequence("mus", mus, check_real)
    # The children SeedSequence.spawn would give a fresh sequence, built without spawning:
    # spawn() advances the caller's SeedSequence (or Generator), so a second call with the
    # same object would silently draw other rankings.
    base = as_seed_sequence(seed)
    seeds = [
        np.random.SeedSequence(
            base.entropy, spawn_key=(*base.spawn_key, i), pool_size=base.pool_size
        )
        for i in range(len(mus))
    ]
    curves, peaks = [], []
    for mu, ss in zip(mus, seeds, strict=True):
        c = beta_curve(
            n_pos,
            n_neg,
            ks=ks,
            betas=betas,
            metrics=metrics,
            n_rankings=n_rankings,
            generator="binormal",
            mu=mu,
            seed=ss,
            progress=progress,
        )
        c.insert(0, "mu", mu)
        p = peak_beta(c.drop(columns="mu"))
        p.insert(0, "mu", mu)
        p["expected_auc"] = float(norm.cdf(mu / math.sqrt(2)))
        # Mean number of negatives in the top K, over the very same rankings.
        ks_arr = np.unique(np.asarray(ks, dtype=np.int64))
        disc = _rm._discounts(int(ks_arr[-1]))
        hits_sum = np.zeros(len(ks_arr))
        for _, chunk in _rankings.iter_chunks(
            n_pos,
            n_neg,
            n_rankings,
            generator="binormal",
            mu=mu,
            seed=ss,
            chunk_size=_DEFAULT_CHUNK,
            dtype=np.int32,
        ):
            hits = np.empty((chunk.shape[0], len(ks_arr)))
            _rm._topk_batch(chunk, ks_arr, disc, hits, np.empty_like(hits))
            hits_sum += hits.sum(axis=0)
        neg_top = dict(zip(ks_arr.tolist(), ks_arr - hits_sum / n_rankings, strict=True))
        p["neg_in_top_k"] = p["k"].map(neg_top)
        p["m_peak_over_neg_in_top_k"] = p["beta"] * n_neg / p["neg_in_top_k"]
        curves.append(c)
        peaks.append(p)
        if callback is not None:
            callback(mu)
    return pd.concat(curves, ignore_index=True), pd.concat(peaks, ignore_index=True)


def fit_peak_law(law: pd.DataFrame, *, min_k: int = 2) -> pd.DataFrame:
    """Fit ``beta_peak = c * (K / scale)^b`` per metric, for scale n and n_neg, K >= min_k.

    K = 1 is left out by default: its curve is flat for ``beta <= 1/n_neg``, where
    ``C(beta) = beta * n_neg * #{positives above every negative}`` and hits@1 = 1[p_0 = 0],
    so its "peak" is the grid's lower end.

    Parameters
    ----------
    law : pandas.DataFrame
        From :func:`peak_law`.
    min_k : int, default 2

    Returns
    -------
    pandas.DataFrame
        One row per (metric, scale): the log-log ``slope`` b and its ``r2``, and the
        one-parameter law ``beta_peak = ratio * K / scale`` with ``ratio`` the median of
        ``beta_peak / (K / scale)``, its ``ratio_min``, ``ratio_max`` and the worst relative
        error ``max_rel_err`` of that law.
    """
    rows = []
    data = law[law["k"] >= min_k]
    for metric, part in data.groupby("metric", sort=False):
        for scale, col in (("n", "k_over_n"), ("n_neg", "k_over_n_neg")):
            x = np.log(part[col].to_numpy())
            y = np.log(part["beta_peak"].to_numpy())
            slope, intercept = np.polyfit(x, y, 1)
            resid = y - (slope * x + intercept)
            r2 = 1 - (resid**2).sum() / ((y - y.mean()) ** 2).sum()
            ratio = part["beta_peak"].to_numpy() / part[col].to_numpy()
            med = float(np.median(ratio))
            rows.append(
                {
                    "metric": metric,
                    "scale": f"K/{scale}",
                    "slope": float(slope),
                    "r2": float(r2),
                    "ratio": med,
                    "ratio_min": float(ratio.min()),
                    "ratio_max": float(ratio.max()),
                    "max_rel_err": float(np.max(np.abs(ratio / med - 1))),
                    "n_settings": len(part),
                }
            )
    return pd.DataFrame(rows)


def auc_correlation(n_pos: int, n_neg: int, k: int, metric: str = "recall") -> float:
    """Closed form of the correlation between a Top-K metric and AUC over uniform rankings.

    AUC is affine in the rank sum ``sum_i p_i`` (Mann-Whitney), and hits@K, DCG@K are sums
    over the positives of a function ``f`` of the rank. For a uniformly random n_pos-subset
    of ranks (sampling without replacement) the covariance of two such sums is the same
    multiple of the population covariance of the functions over ``r = 0..n-1``, so

        corr(metric@K, AUC) = -corr_r(f(r), r),   f(r) = 1[r < K] or 1[r < K] / log2(r + 2),

    independent of n_pos given n. For Recall/Precision this is about ``sqrt(3 q (1 - q))``
    with ``q = K / n``. No such reduction exists for beta < 1, where ``a_i = p_i - i``
    couples the positives (hence the dynamic programme).

    Examples
    --------
    >>> round(auc_correlation(200, 800, 5), 6)
    0.122168
    """
    n_pos = check_int("n_pos", n_pos, low=1)
    n_neg = check_int("n_neg", n_neg, low=1)
    n = n_pos + n_neg
    k = check_int("k", k, low=1, high=n)
    check_choice("metric", metric, METRICS)
    r = np.arange(n, dtype=np.float64)
    f = (r < k).astype(np.float64)
    if metric == "ndcg":
        f = f / np.log2(r + 2.0)
    fc = f - f.mean()
    rc = r - r.mean()
    denom = math.sqrt(float((fc * fc).sum() * (rc * rc).sum()))
    return float("nan") if denom == 0 else float(-(fc * rc).sum() / denom)
