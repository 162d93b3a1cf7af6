"""Input preparation for :mod:`opauc_sim.metrics`: every input to one canonical form.

Conversion and validation are done once per call, at the boundary. Every input is brought
to one canonical form before the kernels (C-contiguous and writeable: float64 scores, uint8
labels and mask), so that one compiled kernel serves every input type: NumPy arrays of any
real dtype, scipy.sparse labels, pandas DataFrames (aligned on their labels), torch tensors
(never imported here), ranx-style dicts of dicts and long ``(user, item, score)`` tables
(pivoted into dense matrices).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp

# Marks a label outside {0, 1} for the kernel, which reports rows holding one.
_BAD = 2


class _Input(NamedTuple):
    scores: np.ndarray  # (n_rows, n_items) float64
    labels: np.ndarray  # (n_rows, n_items) uint8: 0, 1, or _BAD
    excl: np.ndarray  # (n_rows, n_items) uint8, or a (1, 1) placeholder
    use_excl: bool
    was_1d: bool
    index: pd.Index | None  # row labels of a DataFrame input (user ids)
    raw_labels: np.ndarray  # y_true as given (2-D), for error messages
    gains: np.ndarray | None  # graded relevance (float64), only when graded=True


def _from_torch(value):
    """A torch tensor as a NumPy array: detached, dense, on the CPU, half precision widened.

    torch stays optional: it is looked up in ``sys.modules`` (a tensor cannot exist without
    torch having been imported), never imported here.
    """
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(value, torch.Tensor):
        return value
    t = value.detach()
    if t.layout != torch.strided:
        t = t.to_dense()
    if t.dtype in (torch.bfloat16, torch.float16):
        t = t.float()  # NumPy has no bfloat16; float32 holds both exactly
    t = t.cpu()
    if t.is_conj():
        t = t.resolve_conj()
    if t.is_neg():
        t = t.resolve_neg()
    return t.numpy()


def _as_array(name: str, value) -> np.ndarray:
    """``np.asarray`` whose failure on ragged or odd input names the argument."""
    value = _from_torch(value)
    if isinstance(value, np.ma.MaskedArray):
        raise TypeError(f"{name} must not be a masked array: its mask would be ignored")
    if isinstance(value, pd.Series | pd.DataFrame):
        value = value.to_numpy()
    try:
        return np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"{name} must be a rectangular array of numbers: {exc}") from exc


def _as_label_array(name: str, value) -> np.ndarray:
    """Dense label-like array (bool or real numbers); scipy.sparse is densified."""
    arr = _as_array(name, value.toarray() if sp.issparse(value) else value)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a boolean or real-valued array, got dtype {arr.dtype}")
    return arr


def _align_frames(y_true, y_score, exclude):
    """DataFrame inputs lined up on y_score's (or y_true's) rows and columns.

    Returns the three inputs (frames reindexed where their labels are the same set in
    another order) and the row index to give the output, or None without a DataFrame.
    """
    named = {"y_score": y_score, "y_true": y_true, "exclude": exclude}
    frames = {n: v for n, v in named.items() if isinstance(v, pd.DataFrame)}
    if not frames:
        return y_true, y_score, exclude, None
    lead_name, lead = next(iter(frames.items()))
    for name, frame in frames.items():
        if frame is lead or (frame.index.equals(lead.index) and frame.columns.equals(lead.columns)):
            continue
        same = (
            frame.index.is_unique
            and frame.columns.is_unique
            and lead.index.is_unique
            and lead.columns.is_unique
            and set(frame.index) == set(lead.index)
            and set(frame.columns) == set(lead.columns)
        )
        if not same:
            raise ValueError(
                f"{name} (a DataFrame) must have the row and column labels of {lead_name}, "
                f"got index {_show_labels(frame.index)} and columns "
                f"{_show_labels(frame.columns)} against {_show_labels(lead.index)} and "
                f"{_show_labels(lead.columns)}"
            )
        named[name] = frame.reindex(index=lead.index, columns=lead.columns)
    return named["y_true"], named["y_score"], named["exclude"], lead.index


def _show_labels(labels: pd.Index) -> str:
    text = repr(list(labels[:4]))
    return text[:-1] + ", ...]" if len(labels) > 4 else text


def _canonical_scores(scores: np.ndarray, keep_float32: bool = False) -> np.ndarray:
    """float64, C-contiguous and writeable, with every comparison of the input kept.

    With ``keep_float32``, float32 scores stay float32 (the same order, exactly; the
    kernel then has a second compiled version).

    Integers beyond 2**53 and extended-precision floats (``longdouble``) may hold distinct
    values that float64 would merge into ties (e.g. nanosecond timestamps, or 1 and
    1 + 2**-60); only order matters to every metric here, so those are replaced by their
    exact dense ranks (NaN kept as NaN, infinities ranked as the extremes).
    """
    if keep_float32 and scores.dtype == np.float32:
        out = np.ascontiguousarray(scores)
        return out if out.flags.writeable else out.copy()
    kind = scores.dtype.kind
    if scores.size and (
        (kind in "iu" and _beyond_float64(scores)) or (kind == "f" and scores.dtype.itemsize > 8)
    ):
        flat = scores.ravel()
        nan = np.isnan(flat) if kind == "f" else np.zeros(flat.shape, dtype=bool)
        ranks = np.full(flat.shape, np.nan)
        ranks[~nan] = np.unique(flat[~nan], return_inverse=True)[1]
        scores = ranks.reshape(scores.shape)
    out = np.ascontiguousarray(scores, dtype=np.float64)
    return out if out.flags.writeable else out.copy()


def _canonical_labels(labels: np.ndarray) -> np.ndarray:
    """uint8 labels: 1 where the value equals 1, 0 where it equals 0, else _BAD.

    The comparison is made in the input's own dtype (so 1 + 2**-60 in longdouble is no 1).
    """
    if labels.dtype == np.bool_:
        out = np.ascontiguousarray(labels).view(np.uint8)
    elif labels.dtype == np.uint8 and not (labels.size and labels.max() > 1):
        out = np.ascontiguousarray(labels)  # 2 and 3 are label codes of the kernel
    else:
        one = labels == 1
        out = one.view(np.uint8)
        bad = ~one & (labels != 0)
        if bad.any():
            out[bad] = _BAD
    return out if out.flags.writeable else out.copy()


def _prepare(
    y_true, y_score, exclude=None, *, graded: bool = False, keep_float32: bool = False
) -> _Input:
    """Validate and convert the inputs of every public function."""
    if isinstance(y_true, Mapping) or isinstance(y_score, Mapping):
        y_true, y_score, exclude, _ = _from_dicts(y_true, y_score, exclude, graded)
    y_true, y_score, exclude, index = _align_frames(y_true, y_score, exclude)
    if sp.issparse(y_score):
        raise TypeError("y_score must be a dense array of scores, got a scipy.sparse matrix")
    scores = _as_array("y_score", y_score)
    if scores.dtype == object or scores.dtype.kind not in "biuf":
        raise TypeError(f"y_score must be a real-valued array, got dtype {scores.dtype}")
    if scores.ndim not in (1, 2):
        raise ValueError(f"y_score must be 1-D or 2-D, got shape {scores.shape}")
    if sp.issparse(y_true) and scores.ndim != 2:
        raise ValueError("y_true may be scipy.sparse only for 2-D input")
    raw = _as_label_array("y_true", y_true)
    if raw.shape != scores.shape:
        raise ValueError(
            f"y_true and y_score must have the same shape, got y_true {raw.shape} "
            f"and y_score {scores.shape}"
        )
    was_1d = scores.ndim == 1
    if was_1d:
        scores = scores[None, :]
        raw = raw[None, :]
        index = None
    scores = _canonical_scores(scores, keep_float32)
    gains = None
    if graded:
        gains = np.ascontiguousarray(raw, dtype=np.float64)
        bad = ~(np.isfinite(gains) & (gains >= 0))
        if bad.any():
            row, col = (int(v[0]) for v in np.nonzero(bad))
            raise ValueError(
                f"y_true (graded) must hold finite gains >= 0; found the value "
                f"{raw[row, col]!r} at {_where(row, col, raw.shape[0])}"
            )
        labels = (gains > 0).view(np.uint8)
    else:
        labels = _canonical_labels(raw)

    use_excl = exclude is not None
    if use_excl:
        if sp.issparse(exclude) and was_1d:
            raise ValueError("exclude may be scipy.sparse only for 2-D input")
        excl = _as_label_array("exclude", exclude)
        if was_1d:
            excl = excl[None, :] if excl.ndim == 1 else excl
        if excl.shape != scores.shape:
            shape = scores.shape[1:] if was_1d else scores.shape
            raise ValueError(
                f"exclude must have the shape of y_score {shape}, got {np.shape(exclude)}"
            )
        if excl.dtype != np.bool_:
            bad = (excl != 0) & (excl != 1)
            if bad.any():
                value = excl[bad].flat[0]
                raise ValueError(f"exclude must be boolean (or 0/1), got the value {value!r}")
            excl = excl.astype(np.bool_)
        excl = np.ascontiguousarray(excl).view(np.uint8)
        if not excl.flags.writeable:
            excl = excl.copy()
    else:
        excl = np.zeros((1, 1), dtype=np.uint8)
    return _Input(scores, labels, excl, use_excl, was_1d, index, raw, gains)


def _beyond_float64(scores: np.ndarray) -> bool:
    """Whether an integer array holds a value that float64 cannot represent exactly."""
    return max(abs(int(scores.min())), abs(int(scores.max()))) > 2**53


def _excluded(inp: _Input, row: int) -> np.ndarray:
    """The excluded items of one row (all False without exclude)."""
    if inp.use_excl:
        return inp.excl[row].astype(bool)
    return np.zeros(inp.scores.shape[1], dtype=bool)


def _where(row: int, col: int, n_rows: int) -> str:
    return f"index {col}" if n_rows == 1 and row == 0 else f"row {row}, column {col}"


# --------------------------------------------------------------------------------------
# Data as it comes: long tables and dicts of dicts
# --------------------------------------------------------------------------------------

UNSCORED = ("bottom", "drop")


def _labels_index(values) -> pd.Index:
    """Distinct labels, sorted when they can be, else in order of first appearance."""
    index = pd.Index(pd.unique(np.asarray(values, dtype=object))).infer_objects()
    try:
        return index.sort_values()
    except TypeError:
        return index


def _pivot(score_rows, truth_rows, exclude_rows, *, unscored: str, items=None, per_row=False):
    """Dense matrices from ``(user, item, value)`` triples; see :func:`evaluate_long`.

    ``score_rows``/``truth_rows`` are ``(users, items, values)``; ``exclude_rows`` is
    ``(users, items)`` or None. ``per_row``: a row's items are only those it scores or
    judges (dicts of dicts); otherwise every item of ``items`` (default: every item of
    either table). Returns ``(gains, scores, exclude, users)``: gains are the truth values
    clipped at 0, scores float64 with unscored cells filled per ``unscored``.
    """
    s_u, s_i, s_v = score_rows
    t_u, t_i, t_v = truth_rows
    users = _labels_index(np.concatenate([np.asarray(s_u, object), np.asarray(t_u, object)]))
    if items is None:
        item_index = _labels_index(
            np.concatenate([np.asarray(s_i, object), np.asarray(t_i, object)])
        )
    else:
        item_index = pd.Index(items)
        if not item_index.is_unique:
            raise ValueError("items must not repeat a label")
        for name, col in (("scores", s_i), ("truth", t_i)):
            missing = ~pd.Index(col).isin(item_index)
            if missing.any():
                raise ValueError(
                    f"items must list every item of {name}; {np.asarray(col)[missing][0]!r} "
                    "is missing"
                )
    shape = (len(users), len(item_index))
    r_s, c_s = users.get_indexer(s_u), item_index.get_indexer(s_i)
    r_t, c_t = users.get_indexer(t_u), item_index.get_indexer(t_i)
    scored = np.zeros(shape, dtype=bool)
    scored[r_s, c_s] = True
    if int(scored.sum()) != len(r_s):
        dup = pd.DataFrame({"u": r_s, "i": c_s}).duplicated().to_numpy()
        first = int(np.flatnonzero(dup)[0])
        raise ValueError(
            "scores must hold one score per (user, item) pair; the pair "
            f"({_plain(users[r_s[first]])!r}, {_plain(item_index[c_s[first]])!r}) repeats"
        )
    values = _canonical_scores(np.asarray(s_v))
    if values.ndim != 1:
        raise ValueError("scores' score column must be one-dimensional")
    if np.isnan(values).any():
        raise ValueError(
            f"scores must not hold NaN scores; the first is at position "
            f"{int(np.flatnonzero(np.isnan(values))[0])} of the table"
        )
    gains = np.zeros(shape)
    gains[r_t, c_t] = np.maximum(np.asarray(t_v, dtype=np.float64), 0.0)
    excl = None
    if exclude_rows is not None:
        x_r, x_c = users.get_indexer(exclude_rows[0]), item_index.get_indexer(exclude_rows[1])
        keep = (x_r >= 0) & (x_c >= 0)  # pairs outside both tables change nothing
        excl = np.zeros(shape, dtype=bool)
        excl[x_r[keep], x_c[keep]] = True
    if per_row:
        judged = np.zeros(shape, dtype=bool)
        judged[r_t, c_t] = True
        outside = ~(scored | judged)
        excl = outside if excl is None else excl | outside
    scores = np.zeros(shape)
    if unscored == "drop":
        excl = ~scored if excl is None else excl | ~scored
        scores[r_s, c_s] = values
    else:  # "bottom": strictly below every scored item, tied with each other
        if np.isneginf(values).any():
            values = np.unique(values, return_inverse=True)[1] + 1.0
            fill = 0.0
        else:
            fill = -np.inf
        scores[:] = fill
        scores[r_s, c_s] = values
    return gains, scores, excl, users


def _plain(value):
    """A NumPy scalar as the Python value it holds (for messages)."""
    return value.item() if isinstance(value, np.generic) else value


def _long_columns(frame, name: str, columns: dict[str, str]):
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    for arg, col in columns.items():
        if col not in frame.columns:
            raise ValueError(
                f"{name} has no column {col!r} (given as {arg}=); its columns are "
                f"{list(frame.columns)!r}"
            )
    return tuple(frame[col].to_numpy() for col in columns.values())


def _from_dicts(y_true, y_score, exclude, graded: bool):
    """ranx/TREC ``{query: {doc: value}}`` qrels and run as aligned DataFrames."""
    if not (isinstance(y_true, Mapping) and isinstance(y_score, Mapping)):
        raise TypeError(
            "y_true and y_score must both be dicts of dicts ({query: {doc: value}}) or "
            f"neither; got {type(y_true).__name__} and {type(y_score).__name__}"
        )
    if exclude is not None:
        raise TypeError("exclude is not supported with dict input; leave the docs out instead")

    def triples(name, d):
        u, i, v = [], [], []
        for q, docs in d.items():
            if not isinstance(docs, Mapping):
                raise TypeError(
                    f"{name} must map each query to a dict {{doc: value}}, got "
                    f"{type(docs).__name__} for query {q!r}"
                )
            u.extend([q] * len(docs))
            i.extend(docs.keys())
            v.extend(docs.values())
        return u, i, v

    s_u, s_i, s_v = triples("y_score", y_score)
    t_u, t_i, t_v = triples("y_true", y_true)
    try:
        t_v = np.asarray(t_v, dtype=np.float64)
        s_v = np.asarray(s_v)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"dict values must be real numbers: {exc}") from exc
    if s_v.dtype.kind not in "biuf":
        raise TypeError(f"y_score's values must be real numbers, got dtype {s_v.dtype}")
    gains, mat, excl, users = _pivot(
        (s_u, s_i, s_v), (t_u, t_i, t_v), None, unscored="bottom", per_row=True
    )
    y = gains if graded else (gains > 0)
    return pd.DataFrame(y, index=users), pd.DataFrame(mat, index=users), excl, users
