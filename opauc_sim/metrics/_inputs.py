"""Input preparation for :mod:`opauc_sim.metrics`: every input to one canonical form.

Conversion and validation are done once per call, at the boundary, so that one compiled
kernel serves every input type: NumPy arrays of any real dtype (object arrays of Python
numbers too), scipy.sparse labels (every format, ``dok`` included), pandas DataFrames and
Series (aligned on their labels; nullable dtypes without missing values), torch tensors
(never imported here; any dtype with a real value, quantized and float8 included) and the
dicts and long tables of :mod:`._tables`.

The canonical form (:class:`_Input`) is C-contiguous and writeable: float64 scores (or
float32 with ``keep_float32``), and either dense uint8 label codes and exclusion mask
(:mod:`._kernels`' codes) or, for scipy.sparse labels and exclusion, their CSR index lists
(int64, sorted, unique), which the kernel reads without touching the rest of the row.
Nothing the caller passed is modified.
"""

from __future__ import annotations

import numbers
import sys
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp

from opauc_sim.metrics._kernels import BAD, MISS


class _Input(NamedTuple):
    scores: np.ndarray  # (n_rows, n_items) float64, or float32 with keep_float32
    labels: np.ndarray | None  # (n_rows, n_items) uint8 codes; None in CSR form
    excl: np.ndarray | None  # (n_rows, n_items) uint8 mask, a (1, 1) placeholder, or None
    use_excl: bool
    was_1d: bool
    index: pd.Index | None  # row labels of a DataFrame or dict input (user ids)
    raw_labels: object  # y_true as given (2-D array or sparse), for error messages
    gains: np.ndarray | None  # graded relevance (float64), only when graded=True
    csr_labels: tuple[np.ndarray, np.ndarray] | None = None  # (indptr, indices)
    csr_excl: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def csr(self) -> bool:
        return self.csr_labels is not None


# --------------------------------------------------------------------------------------
# One array-like to a NumPy array
# --------------------------------------------------------------------------------------


def _from_torch(name: str, value):
    """A torch tensor as a NumPy array: detached, dense, on the CPU, in a NumPy dtype.

    Half precision, bfloat16 and float8 are widened to float32 (exactly); quantized
    tensors are dequantized. Meta tensors (no data), nested (ragged) tensors and packed
    sub-byte dtypes are refused by name. torch stays optional: it is looked up in
    ``sys.modules`` (a tensor cannot exist without torch having been imported), never
    imported here.
    """
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(value, torch.Tensor):
        return value
    t = value.detach()
    if t.is_meta:
        raise TypeError(f"{name} is a torch tensor on the meta device: it holds no values")
    if t.is_nested:
        raise TypeError(f"{name} must be a rectangular array: got a nested (ragged) tensor")
    try:
        if t.is_quantized:
            t = t.dequantize()
        if t.layout != torch.strided:
            t = t.to_dense()
        if t.is_floating_point() and t.element_size() < 4:
            t = t.float()  # float16, bfloat16, float8: every value is a float32
        t = t.cpu()
        if t.is_conj():
            t = t.resolve_conj()
        if t.is_neg():
            t = t.resolve_neg()
        return t.numpy()
    except (TypeError, RuntimeError, NotImplementedError) as exc:  # e.g. packed float4
        raise TypeError(
            f"{name} must be a tensor of real numbers NumPy can hold, got dtype {t.dtype}"
        ) from exc


def _from_pandas(name: str, value):
    """A Series or DataFrame as a NumPy array, nullable dtypes included (no missing value)."""
    dtypes = [value.dtype] if isinstance(value, pd.Series) else list(value.dtypes)
    if not any(isinstance(dt, pd.api.extensions.ExtensionDtype) for dt in dtypes):
        return value.to_numpy()
    numpy_dtypes = [getattr(dt, "numpy_dtype", None) for dt in dtypes]
    if any(dt is None or dt.kind not in "biuf" for dt in numpy_dtypes):
        bad = next(
            d
            for d, n in zip(dtypes, numpy_dtypes, strict=True)
            if n is None or n.kind not in "biuf"
        )
        raise TypeError(f"{name} must be boolean or real-valued, got a column of dtype {bad}")
    missing = value.isna().to_numpy()
    if missing.any():
        first = np.argwhere(missing)[0]
        at = f"row {first[0]}, column {first[1]}" if missing.ndim == 2 else f"position {first[0]}"
        raise ValueError(f"{name} must not hold missing values (pd.NA); found one at {at}")
    return value.to_numpy(dtype=np.result_type(*numpy_dtypes))


def _as_array(name: str, value) -> np.ndarray:
    """``np.asarray`` whose failure on ragged or odd input names the argument."""
    value = _from_torch(name, value)
    if isinstance(value, np.ma.MaskedArray):
        raise TypeError(f"{name} must not be a masked array: its mask would be ignored")
    if isinstance(value, pd.Series | pd.DataFrame):
        value = _from_pandas(name, value)
    try:
        return np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"{name} must be a rectangular array of numbers: {exc}") from exc


def _object_numbers(name: str, arr: np.ndarray) -> np.ndarray:
    """An object array of Python (or NumPy) real numbers, checked; returns it as is."""
    for pos, v in enumerate(arr.flat):
        if not isinstance(v, numbers.Real):
            raise TypeError(
                f"{name} must hold real numbers; found {v!r} ({type(v).__name__}) at flat "
                f"position {pos}"
            )
    return arr


def _as_label_array(name: str, value) -> np.ndarray:
    """Dense label-like array (bool or real numbers); scipy.sparse is densified."""
    arr = _as_array(name, value.toarray() if sp.issparse(value) else value)
    if arr.dtype == object:
        arr = _object_numbers(name, arr)
    elif arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a boolean or real-valued array, got dtype {arr.dtype}")
    return arr


# --------------------------------------------------------------------------------------
# DataFrames: lined up on their labels
# --------------------------------------------------------------------------------------


def _show_labels(labels: pd.Index) -> str:
    text = repr(list(labels[:4]))
    return text[:-1] + ", ...]" if len(labels) > 4 else text


def _align_to(name: str, frame: pd.DataFrame, lead_name: str, lead: pd.DataFrame):
    """``frame`` reindexed to ``lead``'s rows and columns, which must be the same sets."""
    if frame is lead or (frame.index.equals(lead.index) and frame.columns.equals(lead.columns)):
        return frame
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
    return frame.reindex(index=lead.index, columns=lead.columns)


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
        named[name] = _align_to(name, frame, lead_name, lead)
    return named["y_true"], named["y_score"], named["exclude"], lead.index


# --------------------------------------------------------------------------------------
# The canonical form
# --------------------------------------------------------------------------------------


def _exact_ranks(values: np.ndarray, nan: np.ndarray) -> np.ndarray:
    """Dense ranks (float64) of the non-NaN ``values``, compared exactly; NaN stays NaN."""
    ranks = np.full(values.shape, np.nan)
    keep = ~nan
    if values.dtype == object:
        kept = values[keep].tolist()
        order = {v: r for r, v in enumerate(sorted(set(kept)))}  # Python compares exactly
        ranks[keep] = [order[v] for v in kept]
    else:
        ranks[keep] = np.unique(values[keep], return_inverse=True)[1]
    return ranks


def _exact_in_float64(v) -> bool:
    """Whether a Python number is a float64 as it is (a float, or an integer up to 2**53)."""
    if isinstance(v, float | np.float64 | np.float32 | np.float16):
        return True
    return isinstance(v, numbers.Integral) and abs(int(v)) <= 2**53


def _canonical_scores(scores: np.ndarray, keep_float32: bool = False) -> np.ndarray:
    """float64, C-contiguous and writeable, with every comparison of the input kept.

    With ``keep_float32``, float32 scores stay float32 (the same order, exactly; the
    kernel then has a second compiled version).

    Integers beyond 2**53, extended-precision floats (``longdouble``) and object arrays of
    Python numbers (integers of any size) may hold distinct values that float64 would
    merge into ties (e.g. nanosecond timestamps, or 1 and 1 + 2**-60); only order matters
    to every metric here, so those are replaced by their exact dense ranks (NaN kept as
    NaN, infinities ranked as the extremes).
    """
    if keep_float32 and scores.dtype == np.float32:
        out = np.ascontiguousarray(scores)
        return out if out.flags.writeable else out.copy()
    kind = scores.dtype.kind
    if kind == "O":
        flat = _object_numbers("y_score", scores).ravel()
        nan = np.array([v != v for v in flat.tolist()], dtype=bool)
        exact = all(_exact_in_float64(v) for v in flat[~nan].tolist())
        values = flat.astype(np.float64) if exact else _exact_ranks(flat, nan)
        scores = values.reshape(scores.shape)
    elif scores.size and (
        (kind in "iu" and _beyond_float64(scores)) or (kind == "f" and scores.dtype.itemsize > 8)
    ):
        flat = scores.ravel()
        nan = np.isnan(flat) if kind == "f" else np.zeros(flat.shape, dtype=bool)
        scores = _exact_ranks(flat, nan).reshape(scores.shape)
    out = np.ascontiguousarray(scores, dtype=np.float64)
    return out if out.flags.writeable else out.copy()


def _canonical_labels(labels: np.ndarray) -> np.ndarray:
    """uint8 label codes: 1 where the value equals 1, 0 where it equals 0, else ``BAD``.

    The comparison is made in the input's own dtype (so 1 + 2**-60 in longdouble is no 1).
    """
    if labels.dtype == np.bool_:
        out = np.ascontiguousarray(labels).view(np.uint8)
    elif labels.dtype == np.uint8 and not (labels.size and labels.max() > 1):
        out = np.ascontiguousarray(labels)
    else:
        one = np.ascontiguousarray(labels == 1, dtype=bool)  # C order, whatever the input's
        out = one.view(np.uint8)
        bad = ~one & np.asarray(labels != 0, dtype=bool)
        if bad.any():
            out[bad] = BAD
    return out if out.flags.writeable else out.copy()


def _plain(value):
    """A NumPy scalar as the Python value it holds (for messages: 2.0, not np.float64(2.0))."""
    return value.item() if isinstance(value, np.generic) else value


def _where(row: int, col: int, n_rows: int) -> str:
    return f"index {col}" if n_rows == 1 and row == 0 else f"row {row}, column {col}"


def _csr_lists(name: str, matrix, shape: tuple[int, int], *, labels: bool):
    """A sparse matrix's stored 1s as CSR index lists ``(indptr, indices)``, int64.

    Stored zeros are no entries; any other stored value is an error naming its place
    (the same error the dense form gives). Every scipy.sparse format is accepted.
    """
    m = _checked_csr(name, matrix, shape, labels=labels)
    return (
        np.ascontiguousarray(m.indptr, dtype=np.int64),
        np.ascontiguousarray(m.indices, dtype=np.int64),
    )


def _checked_csr(name: str, matrix, shape: tuple[int, int], *, labels: bool):
    """:func:`_csr_lists`' matrix before the int64 lists: canonical CSR holding only 1s
    (copied only where it had to change)."""
    m = sp.csr_array(matrix)
    if m.shape != shape:
        what = (
            "y_true and y_score must have the same shape"
            if labels
            else (f"exclude must have the shape of y_score {shape}")
        )
        raise ValueError(f"{what}, got {name} {m.shape} and y_score {shape}")
    if m.dtype == object or m.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a boolean or real-valued array, got dtype {m.dtype}")
    if not m.has_canonical_format:
        m = m.copy()
        m.sum_duplicates()
    nonzero = m.data != 0
    if not nonzero.all():
        m = m.copy()
        m.data = m.data.copy()
        m.eliminate_zeros()
        nonzero = np.ones(len(m.data), dtype=bool)
    bad = m.data != 1
    if bad.any():
        at = int(np.flatnonzero(bad)[0])
        row = int(np.searchsorted(m.indptr, at, side="right") - 1)
        col = int(m.indices[at])
        value = _plain(m.data[at])
        if labels:
            raise ValueError(
                f"y_true must hold only 0 and 1 (or booleans); found the value {value!r} at "
                f"{_where(row, col, shape[0])}"
            )
        raise ValueError(f"exclude must be boolean (or 0/1), got the value {value!r}")
    return m


def _check_scores(y_score) -> np.ndarray:
    if sp.issparse(y_score):
        raise TypeError("y_score must be a dense array of scores, got a scipy.sparse matrix")
    if isinstance(y_score, Mapping):
        raise TypeError(
            "y_score is a dict: pass the qrels and the run as two dicts of dicts "
            "({query: {doc: value}}), both as y_true and y_score"
        )
    scores = _as_array("y_score", y_score)
    if scores.dtype.kind not in "biufO":
        raise TypeError(f"y_score must be a real-valued array, got dtype {scores.dtype}")
    if scores.ndim not in (1, 2):
        raise ValueError(f"y_score must be 1-D or 2-D, got shape {scores.shape}")
    return scores


def _prepare(
    y_true, y_score, exclude=None, *, graded: bool = False, keep_float32: bool = False
) -> _Input:
    """Validate and convert the inputs of every public function."""
    # A scipy dok matrix is a Mapping too: sparse input is recognised first.
    if not sp.issparse(y_true) and (isinstance(y_true, Mapping) or isinstance(y_score, Mapping)):
        from opauc_sim.metrics._tables import dict_input

        return dict_input(y_true, y_score, exclude, graded=graded, keep_float32=keep_float32)
    y_true, y_score, exclude, index = _align_frames(y_true, y_score, exclude)
    scores = _check_scores(y_score)
    if sp.issparse(y_true) and scores.ndim != 2:
        raise ValueError("y_true may be scipy.sparse only for 2-D input")
    if sp.issparse(exclude) and scores.ndim != 2:
        raise ValueError("exclude may be scipy.sparse only for 2-D input")
    if sp.issparse(y_true) and not graded and (exclude is None or sp.issparse(exclude)):
        return _prepare_csr(y_true, scores, exclude, index, keep_float32)
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
                f"{_plain(raw[row, col])!r} at {_where(row, col, raw.shape[0])}"
            )
        labels = (gains > 0).view(np.uint8)
    else:
        labels = _canonical_labels(raw)
    excl = _dense_exclude(exclude, scores.shape, was_1d)
    use_excl = excl is not None
    if excl is None:
        excl = np.zeros((1, 1), dtype=np.uint8)
    return _Input(scores, labels, excl, use_excl, was_1d, index, raw, gains)


def _dense_exclude(exclude, shape: tuple[int, int], was_1d: bool) -> np.ndarray | None:
    """The exclusion mask as C-contiguous uint8 of ``shape``, or None."""
    if exclude is None:
        return None
    excl = _as_label_array("exclude", exclude)
    if was_1d:
        excl = excl[None, :] if excl.ndim == 1 else excl
    if excl.shape != shape:
        shown = shape[1:] if was_1d else shape
        raise ValueError(f"exclude must have the shape of y_score {shown}, got {np.shape(exclude)}")
    if excl.dtype != np.bool_:
        bad = np.asarray((excl != 0) & (excl != 1), dtype=bool)
        if bad.any():
            value = _plain(excl[bad].flat[0])
            raise ValueError(f"exclude must be boolean (or 0/1), got the value {value!r}")
        excl = np.asarray(excl == 1, dtype=bool)
    excl = np.ascontiguousarray(excl).view(np.uint8)
    return excl if excl.flags.writeable else excl.copy()


def _prepare_csr(y_true, scores: np.ndarray, exclude, index, keep_float32: bool) -> _Input:
    """The CSR form: sparse labels (and exclusion) as index lists, dense scores."""
    shape = scores.shape
    labels = _csr_lists("y_true", y_true, shape, labels=True)
    excl = _csr_lists("exclude", exclude, shape, labels=False) if exclude is not None else None
    scores = _canonical_scores(scores, keep_float32)
    return _Input(scores, None, None, excl is not None, False, index, y_true, None, labels, excl)


def csr_lists_of(y_true, exclude):
    """``y_true``'s and ``exclude``'s (or None) checked CSR index lists, once for a whole
    matrix whose rows are then evaluated in chunks (:func:`prepare_csr_rows`): every stored
    value is checked here, and an error names its row in the whole matrix. The lists keep
    the matrices' index dtype (no int64 copy of a whole matrix: each chunk's rows are
    converted as they are taken)."""
    shape = y_true.shape
    out = []
    for name, m in (("y_true", y_true), ("exclude", exclude)):
        if m is None:
            out.append(None)
            continue
        m = _checked_csr(name, m, shape, labels=name == "y_true")
        out.append((m.indptr, m.indices))
    return tuple(out)


def take_csr_rows(lists: tuple[np.ndarray, np.ndarray], rows: np.ndarray):
    """The rows ``rows`` (int64 positions) of CSR index lists ``(indptr, indices)``, as
    int64 CSR index lists; sorted, unique indices stay so."""
    indptr, indices = lists
    starts = indptr[rows].astype(np.int64)
    lengths = indptr[rows + 1] - starts
    out = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lengths, out=out[1:])
    at = np.repeat(starts - out[:-1], lengths) + np.arange(out[-1], dtype=np.int64)
    return out, indices[at].astype(np.int64)


def prepare_csr_rows(lists, rows: np.ndarray, y_score, keep_float32: bool) -> _Input:
    """The CSR form of the rows ``rows`` of lists from :func:`csr_lists_of`, scored by
    ``y_score`` (``(len(rows), n_items)``, checked as :func:`_prepare` checks it)."""
    labels, excl = lists
    scores = _canonical_scores(_check_scores(y_score), keep_float32)
    labels = take_csr_rows(labels, rows)
    excl = take_csr_rows(excl, rows) if excl is not None else None
    return _Input(scores, None, None, excl is not None, False, None, None, None, labels, excl)


def _from_matrices(
    gains: np.ndarray,
    scores: np.ndarray,
    excl: np.ndarray | None,
    miss: np.ndarray | None,
    index: pd.Index,
    *,
    graded: bool,
) -> _Input:
    """The canonical form of pivoted tables (:mod:`._tables`): gains (``>= 0``), float64
    scores, an exclusion mask and the cells of the positives that can never be hits."""
    labels = np.ascontiguousarray(gains > 0).view(np.uint8)
    if miss is not None:
        labels[miss & (gains > 0)] = MISS
    use_excl = excl is not None
    excl = (
        np.ascontiguousarray(excl, dtype=bool).view(np.uint8)
        if use_excl
        else np.zeros((1, 1), dtype=np.uint8)
    )
    raw = gains if graded else gains > 0
    return _Input(
        np.ascontiguousarray(scores, dtype=np.float64),
        labels,
        excl,
        use_excl,
        False,
        index,
        raw,
        np.ascontiguousarray(gains, dtype=np.float64) if graded else None,
    )


def _beyond_float64(scores: np.ndarray) -> bool:
    """Whether an integer array holds a value that float64 cannot represent exactly."""
    return max(abs(int(scores.min())), abs(int(scores.max()))) > 2**53


def _excluded(inp: _Input, row: int) -> np.ndarray:
    """The excluded items of one row (all False without exclude)."""
    out = np.zeros(inp.scores.shape[1], dtype=bool)
    if not inp.use_excl:
        return out
    if inp.csr:
        indptr, indices = inp.csr_excl
        out[indices[indptr[row] : indptr[row + 1]]] = True
        return out
    return inp.excl[row].astype(bool)
