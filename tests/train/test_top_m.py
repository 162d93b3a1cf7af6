"""The exact top M of a score row (``numba_inline._top_m_of_row``, DNS over all items):
against a sort, on rows with many ties, infinities, excluded runs of every length and M on
both sides of the two-pass threshold, and the two strategies against each other."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from opauc_sim.train.numba_inline import (
    _BLOCK,
    _TWO_PASS,
    _heap_sort,
    _one_pass,
    _top_m_of_row,
)


@njit
def _top(row, m, excluded):
    hs = np.empty(m, dtype=row.dtype)
    hj = np.empty(m, dtype=np.int64)
    count = _top_m_of_row(row, m, excluded, 0, excluded.shape[0], hs, hj)
    return hs[:count].copy(), hj[:count].copy()


@njit
def _top_one_pass(row, m, excluded):
    """The one-pass strategy alone, heap-sorted as _top_m_of_row sorts."""
    hs = np.empty(m, dtype=row.dtype)
    hj = np.empty(m, dtype=np.int64)
    size = _one_pass(row, m, excluded, 0, excluded.shape[0], hs, hj)
    _heap_sort(hs, hj, size, m)
    return hs[:size].copy(), hj[:size].copy()


def _sorted_top(row, m, excluded):
    cands = np.setdiff1d(np.arange(len(row)), excluded)
    order = np.lexsort((cands, -row[cands]))  # by score, ties to the smaller id
    return cands[order[:m]]


def _row(kind, n, rng, dtype):
    if kind == "normal":
        return rng.standard_normal(n).astype(dtype)
    if kind == "ties":  # few distinct values: the tie rule decides most of the top M
        return rng.integers(0, 6, n).astype(dtype)
    if kind == "inf":
        row = rng.standard_normal(n).astype(dtype)
        row[rng.random(n) < 0.05] = np.inf
        row[rng.random(n) < 0.05] = -np.inf
        return row
    if kind == "sorted":  # the best items side by side: many in one block
        return np.sort(rng.standard_normal(n)).astype(dtype)[:: rng.choice([-1, 1])].copy()
    raise ValueError(kind)


def _excluded(kind, n, rng):
    if kind == "none":
        return np.zeros(0, dtype=np.int64)
    if kind == "sparse":
        return np.flatnonzero(rng.random(n) < 0.05).astype(np.int64)
    if kind == "dense":  # few items left: fewer blocks than M, or fewer items than M
        return np.flatnonzero(rng.random(n) < 0.97).astype(np.int64)
    if kind == "runs":  # long excluded runs and runs shorter than a block
        mask = np.zeros(n, bool)
        for start in rng.integers(0, n, 12):
            mask[start : start + rng.integers(1, 3 * _BLOCK)] = True
        return np.flatnonzero(mask).astype(np.int64)
    raise ValueError(kind)


@pytest.mark.parametrize("m", [1, 5, _TWO_PASS - 1, _TWO_PASS, 50, 200, 700])
@pytest.mark.parametrize("row_kind", ["normal", "ties", "inf", "sorted"])
@pytest.mark.parametrize("excl_kind", ["none", "sparse", "dense", "runs"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_top_m_equals_a_sort(m, row_kind, excl_kind, dtype):
    rng = np.random.default_rng([m, len(row_kind), len(excl_kind)])
    for n in (3 * m + 7, 4001):
        row = _row(row_kind, n, rng, dtype)
        excluded = _excluded(excl_kind, n, rng)
        scores, items = _top(row, m, excluded)
        want = _sorted_top(row, m, excluded)
        np.testing.assert_array_equal(items, want)
        np.testing.assert_array_equal(scores, row[want])
        one_scores, one_items = _top_one_pass(row, m, excluded)
        np.testing.assert_array_equal(items, one_items)
        np.testing.assert_array_equal(scores, one_scores)


@pytest.mark.parametrize("m", [_TWO_PASS, 200])
def test_a_row_with_nan_is_left_to_the_one_pass_strategy(m):
    """NaN has no rank; a NaN row gives what the one-pass strategy gives (whatever that
    is: a diverged model), never a second, different answer."""
    rng = np.random.default_rng(7)
    row = rng.standard_normal(5000)
    row[rng.integers(0, 5000, 20)] = np.nan
    excluded = np.flatnonzero(rng.random(5000) < 0.1).astype(np.int64)
    got = _top(row, m, excluded)
    want = _top_one_pass(row, m, excluded)
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_array_equal(got[0], want[0])
