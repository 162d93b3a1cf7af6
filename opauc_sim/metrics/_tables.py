"""Data as it comes: long ``(user, item, value)`` tables and ranx/TREC dicts of dicts.

Both are pivoted into dense ``n_users x n_items`` matrices (:func:`pivot`) and handed to
the kernel in the canonical form of :mod:`._inputs`. Every id, score and relevance is
checked first: a missing id (NaN, None), ids of one kind in one table and another kind
in the other (which could never match), a NaN relevance, a repeated judged pair and a
repeated scored pair are errors, not silent choices.

What happens to an item of a user's catalogue that the user has no score for is the
``unscored`` rule (:data:`UNSCORED`, see :func:`opauc_sim.metrics.evaluate_long`); dicts
use ``"miss"``, the rule of ranx and trec_eval: a relevant document the run did not
retrieve counts in Recall's denominator and is never a hit, at any K.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from opauc_sim.metrics._inputs import (
    _as_array,
    _canonical_scores,
    _from_matrices,
    _Input,
    _plain,
)

#: The values of ``evaluate_long(unscored=...)``.
UNSCORED = ("bottom", "drop", "miss")


def _labels_index(values) -> pd.Index:
    """Distinct labels, sorted when they can be, else in order of first appearance."""
    index = pd.Index(pd.unique(np.asarray(values, dtype=object))).infer_objects()
    try:
        return index.sort_values()
    except TypeError:
        return index


#: pandas' inferred kinds of an id column, grouped into kinds that can match each other.
_ID_KINDS = {
    "integer": "numbers",
    "floating": "numbers",
    "mixed-integer-float": "numbers",
    "decimal": "numbers",
    "boolean": "booleans",
    "string": "strings",
    "bytes": "bytes",
}


def _of(table: str) -> str:
    """The possessive of a table's name: scores', truth's."""
    return f"{table}'" if table.endswith("s") else f"{table}'s"


def _check_ids(table: str, arg: str, ids: np.ndarray) -> str | None:
    """Refuse a missing id; return the column's kind of ids (None when mixed or other)."""
    missing = pd.isna(ids)
    if np.any(missing):
        at = int(np.flatnonzero(missing)[0])
        raise ValueError(
            f"{_of(table)} {arg} ids must not be missing; found {_plain(ids[at])!r} at row {at} "
            f"of the table"
        )
    if len(ids) == 0:
        return None
    return _ID_KINDS.get(pd.api.types.infer_dtype(ids, skipna=False))


def _check_id_kinds(arg: str, kinds: dict[str, str | None]) -> None:
    """Refuse tables whose ``arg`` ids are of kinds that can never be equal (e.g. numbers
    in one, strings in the other)."""
    known = {table: kind for table, kind in kinds.items() if kind is not None}
    if len(set(known.values())) > 1:
        shown = ", ".join(f"{_of(table)} are {kind}" for table, kind in known.items())
        raise ValueError(
            f"the {arg} ids of the tables must be of one kind, so that they can match; {shown}"
        )


def _first_repeat(rows: np.ndarray, cols: np.ndarray) -> int | None:
    dup = pd.DataFrame({"r": rows, "c": cols}).duplicated().to_numpy()
    return int(np.flatnonzero(dup)[0]) if dup.any() else None


def pivot(
    score_rows,
    truth_rows,
    exclude_rows,
    *,
    unscored: str,
    items=None,
    per_row: bool = False,
    relevance: bool = True,
):
    """Dense matrices from ``(user, item, value)`` triples; see :func:`evaluate_long`.

    ``score_rows``/``truth_rows`` are ``(users, items, values)``; ``exclude_rows`` is
    ``(users, items)`` or None. ``per_row``: a row's items are only those it scores or
    judges (dicts of dicts); otherwise every item of ``items`` (default: every item of
    either table). ``relevance``: the truth values are judgments (a repeated pair is an
    error); else they are all 1 (a repeated pair is harmless). Returns ``(gains, scores,
    exclude, miss, users)``: gains are the truth values clipped at 0, scores float64 with
    unscored cells filled per ``unscored``, ``exclude`` a mask or None, ``miss`` the
    unscored cells (the positives among them can never be hits, with ``unscored="miss"``)
    or None.
    """
    s_u, s_i, s_v = score_rows
    t_u, t_i, t_v = truth_rows
    tables = {"scores": (s_u, s_i), "truth": (t_u, t_i)}
    if exclude_rows is not None:
        tables["exclude"] = exclude_rows
    for k, arg in enumerate(("user", "item")):
        kinds = {
            table: _check_ids(table, arg, np.asarray(cols[k], object))
            for table, cols in tables.items()
        }
        _check_id_kinds(arg, kinds)
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
    for name, rows, cols, check in (("scores", r_s, c_s, True), ("truth", r_t, c_t, relevance)):
        first = _first_repeat(rows, cols) if check else None
        if first is not None:
            what = "one score" if name == "scores" else "one relevance value"
            raise ValueError(
                f"{name} must hold {what} per (user, item) pair; the pair "
                f"({_plain(users[rows[first]])!r}, {_plain(item_index[cols[first]])!r}) repeats"
            )
    values = _canonical_scores(_as_array("scores' score column", s_v))
    if values.ndim != 1:
        raise ValueError("scores' score column must be one-dimensional")
    if np.isnan(values).any():
        raise ValueError(
            f"scores must not hold NaN scores; the first is at position "
            f"{int(np.flatnonzero(np.isnan(values))[0])} of the table"
        )
    t_v = _relevance_values(t_v)
    gains = np.zeros(shape)
    gains[r_t, c_t] = np.maximum(t_v, 0.0)
    scored = np.zeros(shape, dtype=bool)
    scored[r_s, c_s] = True
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
    miss = None
    if unscored == "drop":
        excl = ~scored if excl is None else excl | ~scored
        scores[r_s, c_s] = values
    else:  # "bottom" and "miss": strictly below every scored item, tied with each other
        if np.isneginf(values).any():
            values = np.unique(values, return_inverse=True)[1] + 1.0
            fill = 0.0
        else:
            fill = -np.inf
        scores[:] = fill
        scores[r_s, c_s] = values
        if unscored == "miss":
            miss = ~scored
    return gains, scores, excl, miss, users


def _relevance_values(values) -> np.ndarray:
    """Relevance as float64, every value a real number and not NaN."""
    arr = _as_array("truth's relevance", values)
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        try:
            arr = np.asarray(arr, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"relevance values must be real numbers: {exc}") from exc
    arr = arr.astype(np.float64)
    nan = np.isnan(arr)
    if nan.any():
        raise ValueError(
            f"relevance values must not be NaN; the first is at position "
            f"{int(np.flatnonzero(nan)[0])} of the truth"
        )
    return arr


def long_columns(frame, name: str, columns: dict[str, str]):
    """The named columns of a long table, as arrays (``columns``: argument -> column)."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    for arg, col in columns.items():
        if col not in frame.columns:
            raise ValueError(
                f"{name} has no column {col!r} (given as {arg}=); its columns are "
                f"{list(frame.columns)!r}"
            )
    return tuple(frame[col] for col in columns.values())


def _dict_triples(name: str, d: Mapping):
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


def _dict_pairs(exclude: Mapping):
    """``exclude`` as ``{query: docs}`` (a set, list, or dict whose true values count)."""
    if not isinstance(exclude, Mapping):
        raise TypeError(
            f"exclude must be a dict {{query: docs}} with dict input, got {type(exclude).__name__}"
        )
    u, i = [], []
    for q, docs in exclude.items():
        if isinstance(docs, Mapping):
            for doc, flag in docs.items():
                if flag not in (0, 1):
                    raise ValueError(
                        f"exclude must be boolean (or 0/1), got the value {flag!r} for "
                        f"({q!r}, {doc!r})"
                    )
                if flag:
                    u.append(q)
                    i.append(doc)
        elif isinstance(docs, str | bytes) or not hasattr(docs, "__iter__"):
            raise TypeError(
                f"exclude must map each query to its excluded docs (a set, a list or a "
                f"dict), got {docs!r} for query {q!r}"
            )
        else:
            docs = list(docs)
            u.extend([q] * len(docs))
            i.extend(docs)
    return u, i


def dict_input(y_true, y_score, exclude, *, graded: bool, keep_float32: bool = False) -> _Input:
    """ranx/TREC ``{query: {doc: value}}`` qrels and run in the canonical form.

    A query's items are the documents it judges or retrieves. Retrieved documents rank by
    their scores; judged documents the run did not retrieve rank below all of them, tied:
    a relevant one counts in ``n_pos`` (Recall's and MAP's denominators, NDCG's ideal
    DCG) and in AUC/OPAUC, and is never a hit at any K, as in ranx and trec_eval. A query
    of the qrels absent from the run retrieved nothing (every Top-K metric 0).
    """
    del keep_float32  # the pivot's scores are float64 (or exact ranks)
    if not (isinstance(y_true, Mapping) and isinstance(y_score, Mapping)):
        raise TypeError(
            "y_true and y_score must both be dicts of dicts ({query: {doc: value}}) or "
            f"neither; got {type(y_true).__name__} and {type(y_score).__name__}"
        )
    s_u, s_i, s_v = _dict_triples("y_score", y_score)
    t_u, t_i, t_v = _dict_triples("y_true", y_true)
    try:
        s_v = np.asarray(s_v)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"y_score's values must be real numbers: {exc}") from exc
    if s_v.dtype.kind not in "biufO":
        raise TypeError(f"y_score's values must be real numbers, got dtype {s_v.dtype}")
    x_rows = _dict_pairs(exclude) if exclude is not None else None
    gains, mat, excl, miss, users = pivot(
        (s_u, s_i, s_v), (t_u, t_i, t_v), x_rows, unscored="miss", per_row=True
    )
    return _from_matrices(gains, mat, excl, miss, users, graded=graded)
