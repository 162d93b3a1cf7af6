"""The kernel's driver: one kernel call per public call, its statistics read back by name.

:func:`run` chooses the kernel for the input's form (dense or CSR) and whether it fills
the rank block (from the registry, :mod:`._registry`), :class:`Stats` names the blocks of
its output, and the rest turns the kernel's flags into errors, rows without positives into
one warning, and graded relevance into NDCG.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import numba
import numpy as np
import pandas as pd

from opauc_sim._definitions import discounts
from opauc_sim._validation import warn_undefined
from opauc_sim.metrics._inputs import _excluded, _Input, _plain, _where
from opauc_sim.metrics._kernels import (
    _AUC,
    _BAD_LABEL,
    _N_FIXED,
    _N_NEG,
    _N_POS,
    _NAN_SCORE,
    MISS,
    _batch_stats,
    _batch_stats_csr,
    _block_starts,
)
from opauc_sim.metrics._registry import needs_rank, topk_values


class Stats(NamedTuple):
    """The kernel's statistics, by name: views of its ``(n_rows, width)`` output.

    ``hits``, ``dcg``, ``rr``, ``ap``, ``hit`` have one column per K, ``area`` one per
    OPAUC cut; the counts and ``auc_pairs`` are 1-D. The areas are in (positive, negative)
    pairs and the AP sums not divided by ``n_pos`` (see ``_kernels._row_core``).
    """

    n_pos: np.ndarray
    n_neg: np.ndarray
    auc_pairs: np.ndarray
    hits: np.ndarray
    dcg: np.ndarray
    area: np.ndarray
    rr: np.ndarray
    ap: np.ndarray
    hit: np.ndarray

    @classmethod
    def of(cls, out: np.ndarray, n_k: int, n_b: int) -> Stats:
        starts = [_N_FIXED + s for s in _block_starts(n_k, n_b)]
        blocks = [out[:, lo:hi] for lo, hi in itertools.pairwise(starts)]
        return cls(out[:, _N_POS], out[:, _N_NEG], out[:, _AUC], *blocks)

    def topk(self, name: str, t: int, k: int, graded_ndcg: np.ndarray | None = None):
        """Top-K metric ``name`` (of the registry) from column ``t``, cut-off ``k``.

        NaN on rows with no positives where the metric is undefined there. NDCG is binary
        unless ``graded_ndcg``, its graded values, is given.
        """
        if graded_ndcg is not None and name == "ndcg":
            return np.where(self.n_pos == 0, np.nan, graded_ndcg)
        return topk_values(self, name, t, k)

    def per_pair(self, area: np.ndarray) -> np.ndarray:
        """``area / (n_pos * n_neg)``: AUC or OPAUC from an area in pairs, NaN without pairs."""
        pairs = self.n_pos * self.n_neg
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(pairs == 0, np.nan, area / pairs)


def run(
    inp: _Input,
    ks: tuple[int, ...],
    betas: tuple[float, ...],
    opauc_ks: tuple[int, ...] = (),
    *,
    want_auc: bool,
    topk: tuple[str, ...] = (),
) -> Stats:
    """Run the kernel on every row; raise on NaN scores or bad labels.

    The OPAUC cuts are the fixed ``betas``, then OPAUC(K / n_neg) for ``opauc_ks``. The
    AUC pairs are only valid with ``want_auc`` (without it the kernel may stop early), the
    rank blocks (rr, ap, hit) only where a metric of ``topk`` needs them.
    """
    scores = inp.scores
    m_scale = np.array([*betas, *(0.0 for _ in opauc_ks)], dtype=np.float64)
    m_const = np.array([*(0.0 for _ in betas), *opauc_ks], dtype=np.float64)
    width = _N_FIXED + _block_starts(len(ks), len(m_scale))[-1]
    out = np.empty((scores.shape[0], width), dtype=np.float64)
    common = (
        np.asarray(ks, dtype=np.int64),
        m_scale,
        m_const,
        bool(want_auc),
        needs_rank(topk),
        discounts(max(ks) if ks else 1, scores.shape[1]),
        out,
        max(min(scores.shape[0], 8 * numba.get_num_threads()), 1),
    )
    if inp.csr:
        ex_ptr, ex_idx = inp.csr_excl if inp.use_excl else _NO_LISTS
        _batch_stats_csr(scores, *inp.csr_labels, ex_ptr, ex_idx, inp.use_excl, *common)
    else:
        _batch_stats(scores, inp.labels, inp.excl, inp.use_excl, *common)
    _raise_on_bad_input(inp, out)
    return Stats.of(out, len(ks), len(m_scale))


# The CSR kernel's exclusion lists when nothing is excluded (never read).
_NO_LISTS = (np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64))


def _raise_on_bad_input(inp: _Input, out: np.ndarray) -> None:
    """The kernel's flags as errors: the first NaN score, the first label outside {0, 1}."""
    n_rows = inp.scores.shape[0]
    if out[:, _NAN_SCORE].any():
        row = int(np.flatnonzero(out[:, _NAN_SCORE])[0])
        col = int(np.flatnonzero(np.isnan(inp.scores[row]) & ~_excluded(inp, row))[0])
        raise ValueError(
            f"y_score must not contain NaN; found {int(out[:, _NAN_SCORE].sum())} NaN "
            f"value(s), the first at {_where(row, col, n_rows)}"
        )
    if out[:, _BAD_LABEL].any():
        row = int(np.flatnonzero(out[:, _BAD_LABEL])[0])
        row_labels = inp.labels[row]
        bad = (row_labels > 1) & (row_labels != MISS)
        col = int(np.flatnonzero(bad & ~_excluded(inp, row))[0])
        raise ValueError(
            f"y_true must hold only 0 and 1 (or booleans); found the value "
            f"{_plain(inp.raw_labels[row, col])!r} at {_where(row, col, n_rows)}"
        )


def finish(values: np.ndarray, inp: _Input, name: str):
    """A float for 1-D input, a Series on the DataFrame's index, else the array."""
    if inp.was_1d:
        return float(values[0])
    if inp.index is not None:
        return pd.Series(values, index=inp.index, name=name)
    return values


def warn_undefined_rows(n_pos: np.ndarray, n_neg: np.ndarray) -> None:
    """One warning for the rows without positives or without negatives, if any."""
    no_pos = n_pos == 0
    no_pairs = no_pos | (n_neg == 0)
    if no_pairs.any():
        warn_undefined(
            int(no_pairs.sum()),
            len(no_pairs),
            f"no positives ({int(no_pos.sum())}) or no negatives "
            f"({int((no_pairs & ~no_pos).sum())}); Top-K metrics other than Precision are "
            "undefined without positives, AUC/OPAUC without either",
        )


def graded_ndcg(inp: _Input, ks: tuple[int, ...]) -> list[np.ndarray]:
    """Graded NDCG@K for each K, expected over random orders within ties (exact).

    Each row is sorted once (excluded items last); every slot of a tie group has the
    group's mean gain in expectation, so DCG@K sums mean gain times discount over the slots
    before K. IDCG@K is the DCG@K of the gains sorted in decreasing order.
    """
    scores, n = inp.scores, inp.scores.shape[1]
    n_rows = scores.shape[0]
    if n == 0 or n_rows == 0:
        return [np.full(n_rows, np.nan) for _ in ks]
    ex = inp.excl.astype(bool) if inp.use_excl else np.zeros(scores.shape, dtype=bool)
    gains = np.where(ex, 0.0, inp.gains)
    # A positive that can never be a hit counts in the ideal DCG only.
    hit_gains = np.where(inp.labels == MISS, 0.0, gains)
    order = np.lexsort((-scores, ex), axis=-1)
    s_sorted = np.take_along_axis(scores, order, axis=1)
    g_sorted = np.take_along_axis(hit_gains, order, axis=1)
    ex_sorted = np.take_along_axis(ex, order, axis=1)
    new = np.ones(scores.shape, dtype=bool)
    new[:, 1:] = (s_sorted[:, 1:] != s_sorted[:, :-1]) | (ex_sorted[:, 1:] != ex_sorted[:, :-1])
    gid = np.cumsum(new.ravel()) - 1
    mean = np.bincount(gid, weights=g_sorted.ravel()) / np.bincount(gid)
    slot_gain = mean[gid].reshape(scores.shape)
    slot_gain[ex_sorted] = 0.0
    disc = discounts(n)
    dcg = np.cumsum(slot_gain * disc, axis=1)
    idcg = np.cumsum(-np.sort(-gains, axis=1) * disc, axis=1)
    out = []
    with np.errstate(invalid="ignore", divide="ignore"):
        for k in ks:
            c = min(k, n) - 1
            value = dcg[:, c] / idcg[:, c]
            value[idcg[:, c] == 0] = np.nan
            out.append(value)
    return out
