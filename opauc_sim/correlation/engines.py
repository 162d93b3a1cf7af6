"""Pearson engines of the correlation study: streaming Monte Carlo and the exact DP.

Both reduce a ranking to ``x`` (hits@K, then DCG@K, over the K grid) and ``y = C(beta)``
over the beta grid (the package docstring says why that loses nothing).

* Monte Carlo streams: rankings are generated in chunks (:mod:`opauc_sim.rankings`) and
  reduced to shifted power sums per block of :data:`BLOCK` rankings; blocks are merged into
  :data:`N_GROUPS` groups in block order, so memory is O(1) in ``n_rankings`` and the result
  is bit-identical for any chunk size, number of threads, or executor.
* The exact engine runs the DP of :func:`.kernels._dp_one` per x variable.

This module is the correlation study's one door into :mod:`opauc_sim.metrics.ranks`' kernels
(``_topk_batch``, ``_pairs_batch``, documented there as shared with this
study); the rest of the package reaches them through :func:`xy_values` and :func:`hits_dcg`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np

from opauc_sim import rankings as _rankings
from opauc_sim._definitions import discounts
from opauc_sim._validation import SeedLike, check_beta, check_int, check_sequence
from opauc_sim.correlation.kernels import (
    _dp_batch,
    _first_table,
    _merge_blocks,
    _moment_sums_batch,
)
from opauc_sim.metrics.ranks import _pairs_batch, _topk_batch

#: Rankings per logical block (the unit of deterministic merging); chunks are multiples.
BLOCK = 64
#: Jackknife groups for the Monte Carlo confidence interval.
N_GROUPS = 32
DEFAULT_CHUNK = 8192


@dataclass(frozen=True, eq=False)
class Grid:
    """What each ranking is reduced to: x over the K grid, y = C(m) over the m grid.

    ``ks`` ascending unique cut-offs, ``ms = betas * n_neg`` ascending; x holds hits@K (if
    ``want_hits``) then DCG@K (if ``want_dcg``), one column per K each.
    """

    n_pos: int
    n_neg: int
    ks: np.ndarray
    ms: np.ndarray
    want_hits: bool
    want_dcg: bool

    @property
    def n_x(self) -> int:
        return len(self.ks) * (int(self.want_hits) + int(self.want_dcg))

    @property
    def n_y(self) -> int:
        return len(self.ms)


@dataclass(frozen=True, eq=False)
class Sampling:
    """A Monte Carlo run: which rankings are drawn, and how they are streamed.

    ``chunk_size`` (a multiple of :data:`BLOCK`) and ``n_threads`` do not change the result.
    """

    grid: Grid
    n_rankings: int
    generator: str
    mu: float
    seed: SeedLike
    chunk_size: int
    n_threads: int | None
    progress: bool

    def chunks(self):
        """``(start, chunk)`` pairs of int32 positive ranks, as :func:`rankings.iter_chunks`."""
        return _rankings.iter_chunks(
            self.grid.n_pos,
            self.grid.n_neg,
            self.n_rankings,
            generator=self.generator,
            mu=self.mu,
            seed=self.seed,
            chunk_size=self.chunk_size,
            dtype=np.int32,
            n_threads=self.n_threads,
        )


@dataclass(frozen=True)
class Estimate:
    """Correlations ``r[x, y]``, their 95% interval (None when exact), and, for Monte
    Carlo Pearson, ``x_sums``: the sum of each x over all rankings."""

    r: np.ndarray
    low: np.ndarray | None = None
    high: np.ndarray | None = None
    x_sums: np.ndarray | None = None


def progress_bar(progress: bool, total: int, desc: str = "rankings", unit: str = "rk"):
    """A tqdm bar, or None (``progress`` false, or no tqdm: extra "progress")."""
    if not progress:
        return None
    from opauc_sim._optional import progress_bar as make

    return make(total=total, unit=unit, unit_scale=unit == "rk", desc=desc, leave=False)


# ---------------------------------------------------------------------------------------
# Per-ranking values (the door into metrics.ranks' kernels)
# ---------------------------------------------------------------------------------------


def hits_dcg(rankings: np.ndarray, ks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """hits@K and DCG@K of each ranking (rows of sorted positive ranks), K ascending."""
    hits = np.empty((rankings.shape[0], len(ks)))
    dcg = np.empty((rankings.shape[0], len(ks)))
    _topk_batch(rankings, ks, discounts(int(ks[-1])), hits, dcg)
    return hits, dcg


def xy_values(rankings: np.ndarray, grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """x (hits@K then DCG@K, as ``grid`` wants) and y = C(m) of each ranking."""
    hits, dcg = hits_dcg(rankings, grid.ks)
    x = np.concatenate(([hits] if grid.want_hits else []) + ([dcg] if grid.want_dcg else []), 1)
    y = np.empty((rankings.shape[0], grid.n_y))
    _pairs_batch(rankings, grid.ms, y)
    return x, y


# ---------------------------------------------------------------------------------------
# Monte Carlo Pearson (streaming)
# ---------------------------------------------------------------------------------------


def _sums_layout(n_x: int, n_y: int) -> dict[str, slice]:
    """Where each power sum sits in a row of block sums (after the count at 0)."""
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


def _reduce_chunk(chunk, grid, first, shift_x, shift_y, out):
    """Block sums of ``chunk`` (its first row starts a block) into ``out``."""
    hits, dcg = hits_dcg(chunk, grid.ks)
    _moment_sums_batch(
        chunk, hits, dcg, grid.ms, first, grid.want_hits, grid.want_dcg, shift_x, shift_y,
        BLOCK, out,
    )  # fmt: skip


def _shifts(ranking0: np.ndarray, grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """The shifts of the power sums: the x and y values of ``ranking0`` (one row).

    Shifting by one ranking's values keeps the power sums well scaled."""
    x, y = xy_values(ranking0, grid)
    return np.ascontiguousarray(x[0]), np.ascontiguousarray(y[0])


def mc_pearson(
    sampling: Sampling, executor: Executor | None = None, task_size: int | None = None
) -> Estimate:
    """Monte Carlo Pearson of every (x, y) pair, with its jackknife 95% interval."""
    grid = sampling.grid
    groups = np.zeros((N_GROUPS, _sums_layout(grid.n_x, grid.n_y)["len"]))
    if executor is not None:
        shift_x = _sums_distributed(executor, groups, sampling, task_size)
    else:
        shift_x = _sums_local(groups, sampling)
    return _mc_result(groups, grid, shift_x)


def _sums_local(groups: np.ndarray, sampling: Sampling) -> np.ndarray:
    """Fill ``groups`` with the block sums of every ranking, streamed in this process.

    Returns the shift of x (ranking 0's values)."""
    grid = sampling.grid
    first = _first_table(grid.ms, grid.n_neg)
    blocks = np.zeros(((sampling.chunk_size + BLOCK - 1) // BLOCK, groups.shape[1]))
    shift_x = shift_y = None
    bar = progress_bar(sampling.progress, sampling.n_rankings)
    threads = _rankings.numba_threads(sampling.n_threads)
    for start, chunk in sampling.chunks():
        if shift_x is None:
            shift_x, shift_y = _shifts(chunk[:1], grid)
        n_blocks = (chunk.shape[0] + BLOCK - 1) // BLOCK
        with threads:
            _reduce_chunk(chunk, grid, first, shift_x, shift_y, blocks[:n_blocks])
        _merge_blocks(blocks[:n_blocks], start // BLOCK, N_GROUPS, groups)
        if bar is not None:
            bar.update(chunk.shape[0])
    if bar is not None:
        bar.close()
    return shift_x


def _mc_result(groups: np.ndarray, grid: Grid, shift_x: np.ndarray) -> Estimate:
    """Pearson, its jackknife 95% interval and the sums of x, from the per-group sums."""
    n_x, n_y = grid.n_x, grid.n_y
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
    # Integers for hits@K (exact below 2**53): the sum of x - shift_x, plus count * shift_x.
    x_sums = total[_sums_layout(n_x, n_y)["sx"]] + total[0] * shift_x
    return Estimate(r, low, high, x_sums)


def _block_sums(span, grid, generator, mu, key, shift_x, shift_y, chunk_size):
    """The streamed sums of every block of 64 rankings in ``span = (start, stop)``.

    ``start`` is a multiple of :data:`BLOCK`; the rankings are generated and reduced in
    chunks exactly as :func:`_sums_local` does, so each block's sums are the local run's.
    Runs on an executor's worker, with that worker's Numba threads.
    """
    start, stop = span
    first = _first_table(grid.ms, grid.n_neg)
    out = np.zeros(((stop - start + BLOCK - 1) // BLOCK, _sums_layout(grid.n_x, grid.n_y)["len"]))
    buffer = np.empty((min(chunk_size, stop - start), grid.n_pos), dtype=np.int32)
    for lo in range(start, stop, chunk_size):
        rows = min(chunk_size, stop - lo)
        chunk = buffer[:rows]
        _rankings._run_generator(generator, grid.n_pos, grid.n_neg, key, lo, mu, chunk)
        b0 = (lo - start) // BLOCK
        _reduce_chunk(
            chunk, grid, first, shift_x, shift_y, out[b0 : b0 + (rows + BLOCK - 1) // BLOCK]
        )
    return out


def _task_spans(n_rankings: int, chunk_size: int, task_size: int | None) -> list[tuple[int, int]]:
    """Split ``range(n_rankings)`` into spans of whole blocks for an executor's tasks."""
    if task_size is None:  # about 64 tasks, each at least a chunk
        task_size = max(chunk_size, -(-n_rankings // (64 * BLOCK)) * BLOCK)
    return [(lo, min(lo + task_size, n_rankings)) for lo in range(0, n_rankings, task_size)]


def _sums_distributed(
    executor: Executor, groups: np.ndarray, sampling: Sampling, task_size: int | None
) -> np.ndarray:
    """Fill ``groups`` as :func:`_sums_local` does, the blocks computed by ``executor``.

    Tasks cover whole blocks by ranking index; their block sums are merged here in block
    order, the local order, so the result is bit-identical to the local run. Returns the
    shift of x.
    """
    grid = sampling.grid
    key = _rankings.seed_key(sampling.seed)
    ranking0 = np.empty((1, grid.n_pos), dtype=np.int32)
    _rankings._run_generator(
        sampling.generator, grid.n_pos, grid.n_neg, key, 0, sampling.mu, ranking0
    )
    shift_x, shift_y = _shifts(ranking0, grid)
    spans = _task_spans(sampling.n_rankings, sampling.chunk_size, task_size)
    task = functools.partial(
        _block_sums, grid=grid, generator=sampling.generator, mu=sampling.mu, key=key,
        shift_x=shift_x, shift_y=shift_y, chunk_size=sampling.chunk_size,
    )  # fmt: skip
    bar = progress_bar(sampling.progress, sampling.n_rankings)
    for (start, stop), blocks in zip(spans, executor.map(task, spans), strict=True):
        _merge_blocks(blocks, start // BLOCK, N_GROUPS, groups)
        if bar is not None:
            bar.update(stop - start)
    if bar is not None:
        bar.close()
    return shift_x


# ---------------------------------------------------------------------------------------
# Exact Pearson (uniform rankings)
# ---------------------------------------------------------------------------------------


def _x_functions(grid: Grid) -> np.ndarray:
    """Per-rank contribution ``f[r]`` of a positive to each x: ``1[r < K]``, then the DCG
    discount ``1[r < K] / log2(r + 2)``."""
    n = grid.n_pos + grid.n_neg
    disc = discounts(n)
    fs = []
    if grid.want_hits:
        for k in grid.ks:
            f = np.zeros(n)
            f[:k] = 1.0
            fs.append(f)
    if grid.want_dcg:
        for k in grid.ks:
            f = np.zeros(n)
            f[:k] = disc[:k]
            fs.append(f)
    return np.ascontiguousarray(np.stack(fs))


def exact_pearson(grid: Grid) -> Estimate:
    """Exact Pearson of every (x, y) pair over uniformly random rankings."""
    fs = _x_functions(grid)
    n_x, n_y = fs.shape[0], grid.n_y
    ex = np.empty((n_x, 2))
    ey = np.empty((n_x, 2, n_y))
    exy = np.empty((n_x, n_y))
    _dp_batch(grid.n_pos, grid.n_neg, fs, grid.ms, ex, ey, exy)
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
    return Estimate(np.clip(r, -1.0, 1.0))


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
