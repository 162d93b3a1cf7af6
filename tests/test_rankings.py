"""Random ranking generators: exact uniformity, the binormal law, bit-for-bit determinism."""

from __future__ import annotations

import math
from collections import Counter

import numba
import numpy as np
import pytest
from scipy import stats

from opauc_sim import rankings
from tests import reference_sim as ref


def _arrangement_counts(pos: np.ndarray, n_pos: int, n_neg: int) -> np.ndarray:
    index = {tuple(t): i for i, t in enumerate(ref.all_arrangements(n_pos, n_neg))}
    counts = np.zeros(len(index))
    for row, c in Counter(map(tuple, pos.tolist())).items():
        counts[index[row]] += c
    return counts


@pytest.mark.parametrize(
    ("n_pos", "n_neg"),
    [(3, 4), (5, 2), (1, 6), (4, 4), (2, 70)],  # positives picked, negatives picked, both
)
def test_uniform_is_uniform_over_all_arrangements(n_pos, n_neg):
    """Chi-square over all C(n, n_pos) arrangements: counts are consistent with uniform."""
    n_cells = math.comb(n_pos + n_neg, n_pos)
    pos = rankings.uniform(n_pos, n_neg, 400 * n_cells, seed=11)
    counts = _arrangement_counts(pos, n_pos, n_neg)
    assert counts.sum() == 400 * n_cells
    assert stats.chisquare(counts).pvalue > 1e-3


def test_chi_square_detects_non_uniform():
    """The same test rejects a generator that is not uniform (binormal with mu = 1)."""
    pos = rankings.binormal(3, 4, 400 * 35, mu=1.0, seed=11)
    assert stats.chisquare(_arrangement_counts(pos, 3, 4)).pvalue < 1e-12


def test_binormal_mu0_is_uniform():
    """mu = 0 makes every arrangement equally likely."""
    pos = rankings.binormal(3, 4, 400 * 35, mu=0.0, seed=12)
    assert stats.chisquare(_arrangement_counts(pos, 3, 4)).pvalue > 1e-3


def test_binormal_matches_direct_score_simulation():
    """Arrangement frequencies agree with sorting explicit N(mu,1)/N(0,1) scores (numpy),
    by a two-sample chi-square test."""
    n_pos, n_neg, mu, size = 2, 3, 0.8, 60_000
    ours = _arrangement_counts(rankings.binormal(n_pos, n_neg, size, mu=mu, seed=5), 2, 3)
    rng = np.random.default_rng(6)
    scores = np.concatenate(
        (rng.normal(mu, 1, (size, n_pos)), rng.normal(0, 1, (size, n_neg))), axis=1
    )
    order = np.argsort(-scores, axis=1)
    direct = np.sort(np.argsort(order, axis=1)[:, :n_pos], axis=1)
    theirs = _arrangement_counts(direct, 2, 3)
    assert stats.chi2_contingency(np.stack([ours, theirs])).pvalue > 1e-3


def test_binormal_mean_auc():
    """Mean AUC over binormal rankings is Phi(mu / sqrt(2)) within 5 standard errors."""
    from opauc_sim.metrics.ranks import auc

    mu = 1.0
    values = auc(rankings.binormal(20, 30, 20_000, mu=mu, seed=3), 30)
    se = values.std() / math.sqrt(len(values))
    assert abs(values.mean() - stats.norm.cdf(mu / math.sqrt(2))) < 5 * se


@pytest.mark.parametrize("generator", ["uniform", "binormal"])
def test_output_is_compact_form(generator):
    """Rows are strictly increasing int64 ranks in [0, n)."""
    pos = rankings.iter_chunks(7, 13, 500, generator=generator, mu=0.5, seed=1, chunk_size=500)
    _, arr = next(pos)
    assert arr.dtype == np.int64 and arr.shape == (500, 7)
    assert (np.diff(arr, axis=1) > 0).all() and arr.min() >= 0 and arr.max() < 20


@pytest.mark.parametrize("generator", ["uniform", "binormal"])
def test_bit_identical_across_chunk_sizes_and_threads(generator):
    """The same seed gives the same rankings for every chunk size, dtype and thread count."""
    n_pos, n_neg, n = 9, 40, 1000
    base = np.concatenate(
        [
            c.copy()
            for _, c in rankings.iter_chunks(
                n_pos, n_neg, n, generator=generator, mu=0.7, seed=42, chunk_size=n
            )
        ]
    )
    threads = [1, numba.config.NUMBA_NUM_THREADS]
    for chunk in (1, 7, 64, 333):
        for n_threads in threads:
            for dtype in (np.int64, np.int32):
                parts = [
                    c.copy()
                    for _, c in rankings.iter_chunks(
                        n_pos,
                        n_neg,
                        n,
                        generator=generator,
                        mu=0.7,
                        seed=42,
                        chunk_size=chunk,
                        dtype=dtype,
                        n_threads=n_threads,
                    )
                ]
                assert np.array_equal(np.concatenate(parts), base)
    direct = (
        rankings.uniform(n_pos, n_neg, 300, seed=42, start=500)
        if generator == "uniform"
        else rankings.binormal(n_pos, n_neg, 300, mu=0.7, seed=42, start=500)
    )
    assert np.array_equal(direct, base[500:800])


def test_seed_forms_and_streams():
    """int, SeedSequence and a Generator built from it key the same stream; seeds differ."""
    a = rankings.uniform(5, 20, 50, seed=7)
    assert np.array_equal(a, rankings.uniform(5, 20, 50, seed=np.random.SeedSequence(7)))
    assert np.array_equal(a, rankings.uniform(5, 20, 50, seed=np.random.default_rng(7)))
    assert not np.array_equal(a, rankings.uniform(5, 20, 50, seed=8))
    # Successive rankings of one stream differ (no accidental counter reuse).
    assert len({tuple(r) for r in a.tolist()}) > 45


def test_uniform_first_moments():
    """E[p_i] = (i + 1)(n + 1)/(n_pos + 1) - 1 for the i-th smallest of a uniform subset."""
    n_pos, n_neg = 10, 90
    pos = rankings.uniform(n_pos, n_neg, 20_000, seed=9)
    expect = (np.arange(1, n_pos + 1)) * (n_pos + n_neg + 1) / (n_pos + 1) - 1
    se = pos.std(axis=0) / math.sqrt(len(pos))
    assert (np.abs(pos.mean(axis=0) - expect) < 5 * se).all()


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: rankings.uniform(0, 5, 3), ValueError, "n_pos must be >= 1, got 0"),
        (lambda: rankings.uniform(2, -1, 3), ValueError, "n_neg must be >= 0, got -1"),
        (lambda: rankings.uniform(2, 5, -3), ValueError, "n_rankings"),
        (lambda: rankings.uniform(2.0, 5, 3), TypeError, "n_pos"),
        (lambda: rankings.uniform(2, 5, 3, seed=-1), ValueError, "seed"),
        (lambda: rankings.uniform(2, 5, 3, seed="a"), TypeError, "seed"),
        (lambda: rankings.uniform(2**30, 2**30, 1), ValueError, "n_pos \\+ n_neg"),
        (lambda: rankings.binormal(2, 5, 3, mu=float("nan")), ValueError, "mu"),
        (lambda: list(rankings.iter_chunks(2, 5, 3, chunk_size=0)), ValueError, "chunk_size"),
        (lambda: list(rankings.iter_chunks(2, 5, 3, generator="x")), ValueError, "generator"),
        (lambda: list(rankings.iter_chunks(2, 5, 3, dtype=np.float64)), ValueError, "dtype"),
        (lambda: list(rankings.iter_chunks(2, 5, 3, n_threads=0)), ValueError, "n_threads"),
    ],
)
def test_bad_input(call, error, match):
    """Bad sizes, seeds and options raise, naming the argument."""
    with pytest.raises(error, match=match):
        call()


def test_iter_chunks_checks_n_threads_when_called():
    """A bad n_threads raises at the call, like every other argument, not at the first
    chunk (a regression: the check lived inside the generator body)."""
    with pytest.raises(ValueError, match="n_threads"):
        rankings.iter_chunks(2, 5, 3, n_threads=0)


def test_edge_sizes():
    """No negatives, no rankings, a single item."""
    assert rankings.uniform(4, 0, 3).tolist() == [[0, 1, 2, 3]] * 3
    assert rankings.uniform(4, 6, 0).shape == (0, 4)
    assert rankings.binormal(1, 0, 2).tolist() == [[0], [0]]
    assert set(rankings.uniform(1, 200, 2000, seed=1)[:, 0].tolist()) == set(range(201))
