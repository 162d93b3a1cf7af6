"""Between the public functions of :mod:`opauc_sim.metrics` and its kernels.

The argument checks shared by the public functions, one kernel call per public call
(:func:`_run`) with its statistics read back by name (:class:`Stats`), graded NDCG, and
the one warning about undefined rows.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import numba
import numpy as np
import pandas as pd

from opauc_sim._definitions import TOPK_METRICS, check_beta_columns, discounts, ideal_dcg
from opauc_sim._validation import (
    check_beta,
    check_choice,
    check_int,
    check_sequence,
    warn_undefined,
)
from opauc_sim.metrics._inputs import _excluded, _Input, _where
from opauc_sim.metrics._kernels import (
    _AUC,
    _BAD_LABEL,
    _N_FIXED,
    _N_NEG,
    _N_POS,
    _NAN_SCORE,
    _batch_stats,
    _block_starts,
)

# Cut-offs are not bounded by the number of items (a K beyond it ranks every item, and
# Precision@K still divides by K, as ranx, torchmetrics and RecBole do); this bound only
# keeps K inside int64.
_K_MAX = 2**62


def _check_k(name: str, k) -> int:
    return check_int(name, k, low=1, high=_K_MAX)


def _check_ks(ks) -> tuple[int, ...]:
    ks = check_sequence("ks", ks, _check_k)
    if len(set(ks)) != len(ks):
        raise ValueError(f"ks must not repeat a value, got {ks!r}")
    return ks


def _check_betas(betas) -> tuple[float, ...]:
    if isinstance(betas, list | tuple) and not betas:
        return ()  # no OPAUC columns
    betas = check_sequence("betas", betas, check_beta)
    check_beta_columns(betas)
    return betas


def _check_opauc_ks(opauc_ks) -> tuple[int, ...]:
    if isinstance(opauc_ks, list | tuple) and not opauc_ks:
        return ()
    opauc_ks = check_sequence("opauc_ks", opauc_ks, lambda name, v: check_int(name, v, low=1))
    if len(set(opauc_ks)) != len(opauc_ks):
        raise ValueError(f"opauc_ks must not repeat a value, got {opauc_ks!r}")
    return opauc_ks


def _check_topk(topk) -> tuple[str, ...]:
    if isinstance(topk, str):
        topk = (topk,)
    if not isinstance(topk, list | tuple):
        raise TypeError(f"topk must be a sequence of metric names, got {topk!r}")
    for i, name in enumerate(topk):
        check_choice(f"topk[{i}]", name, TOPK_METRICS)
    if len(set(topk)) != len(topk):
        raise ValueError(f"topk must not repeat a name, got {topk!r}")
    return tuple(topk)


class Stats(NamedTuple):
    """The kernel's statistics, by name: views of its ``(n_rows, width)`` output.

    ``hits``, ``dcg``, ``rr``, ``ap``, ``hit`` have one column per K, ``area`` one per
    OPAUC cut; the counts and ``auc_pairs`` are 1-D. The areas are in (positive, negative)
    pairs and the AP sums not divided by ``n_pos`` (see ``_kernels._row_stats``).
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
        """Top-K metric ``name`` (of ``TOPK_METRICS``) from column ``t``, cut-off ``k``.

        NaN on rows with no positives, except Precision@K (0 there). NDCG is binary unless
        ``graded_ndcg``, its graded values, is given.
        """
        if name == "precision":
            return self.hits[:, t] / k
        with np.errstate(invalid="ignore", divide="ignore"):
            if name == "recall":
                value = self.hits[:, t] / self.n_pos
            elif name == "ndcg":
                binary = graded_ndcg is None
                value = self.dcg[:, t] / ideal_dcg(self.n_pos, k) if binary else graded_ndcg
            elif name == "mrr":
                value = self.rr[:, t]
            elif name == "map":
                value = self.ap[:, t] / self.n_pos
            else:
                value = self.hit[:, t]
        return np.where(self.n_pos == 0, np.nan, value)

    def per_pair(self, area: np.ndarray) -> np.ndarray:
        """``area / (n_pos * n_neg)``: AUC or OPAUC from an area in pairs, NaN without pairs."""
        pairs = self.n_pos * self.n_neg
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(pairs == 0, np.nan, area / pairs)


def _run(
    inp: _Input,
    ks: tuple[int, ...],
    betas: tuple[float, ...],
    opauc_ks: tuple[int, ...] = (),
    *,
    want_auc: bool,
    want_rank: bool = False,
) -> Stats:
    """Run the kernel on every row; raise on NaN scores or bad labels.

    The OPAUC cuts are the fixed ``betas``, then OPAUC(K / n_neg) for ``opauc_ks``. The
    AUC pairs are only valid with ``want_auc`` (without it the kernel may stop early), the
    rank blocks (rr, ap, hit) only with ``want_rank``.
    """
    scores = inp.scores
    m_scale = np.array([*betas, *(0.0 for _ in opauc_ks)], dtype=np.float64)
    m_const = np.array([*(0.0 for _ in betas), *opauc_ks], dtype=np.float64)
    width = _N_FIXED + _block_starts(len(ks), len(m_scale))[-1]
    out = np.empty((scores.shape[0], width), dtype=np.float64)
    _batch_stats(
        scores,
        inp.labels,
        inp.excl,
        inp.use_excl,
        np.asarray(ks, dtype=np.int64),
        m_scale,
        m_const,
        want_auc,
        want_rank,
        discounts(max(ks) if ks else 1, scores.shape[1]),
        out,
        max(min(scores.shape[0], 8 * numba.get_num_threads()), 1),
    )
    _raise_on_bad_input(inp, out)
    return Stats.of(out, len(ks), len(m_scale))


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
        col = int(np.flatnonzero((inp.labels[row] > 1) & ~_excluded(inp, row))[0])
        raise ValueError(
            f"y_true must hold only 0 and 1 (or booleans); found the value "
            f"{inp.raw_labels[row, col]!r} at {_where(row, col, n_rows)}"
        )


def _finish(values: np.ndarray, inp: _Input, name: str):
    """A float for 1-D input, a Series on the DataFrame's index, else the array."""
    if inp.was_1d:
        return float(values[0])
    if inp.index is not None:
        return pd.Series(values, index=inp.index, name=name)
    return values


def _warn_undefined_rows(n_pos: np.ndarray, n_neg: np.ndarray) -> None:
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


def _graded_ndcg(inp: _Input, ks: tuple[int, ...]) -> list[np.ndarray]:
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
    order = np.lexsort((-scores, ex), axis=-1)
    s_sorted = np.take_along_axis(scores, order, axis=1)
    g_sorted = np.take_along_axis(gains, order, axis=1)
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
