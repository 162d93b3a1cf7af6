"""Atomic file writes, and finding the temporaries that interrupted writes left behind.

A file is written to a temporary beside it (``.NAME.PID.*.tmp``, fsynced, with the
permissions the umask gives) and renamed over the target, so a reader sees the old file or
the new one, never half. A temporary whose writer (the pid in its name) is no longer
running is an orphan; :func:`opauc_sim.results_cache.recover` heals or deletes them. Used
by the results cache (:mod:`opauc_sim.results_cache`) and the commands that write files.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
import time
from pathlib import Path

__all__ = [
    "atomic_write_text",
    "file_sha256",
    "glob_escape",
    "orphaned_temporaries",
    "unlink_quietly",
    "write_temporary",
]

#: Temporaries whose name carries no writer pid are orphaned once this old (seconds).
_STALE_TMP_S = 3600.0
_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def write_temporary(path: Path, data: bytes) -> Path:
    """Write ``data`` to a fresh temporary beside ``path`` (fsynced, umask permissions)."""
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp"
    )
    try:
        # mkstemp creates the file 0600; a plain open() would have given 0666 & ~umask.
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        unlink_quietly(Path(tmp))
        raise
    return Path(tmp)


def unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never half.

    The folder is created if needed. The file gets the permissions a plain ``open`` would
    give (``0666`` less the umask).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = write_temporary(path, text.encode("utf-8"))
    try:
        os.replace(tmp, path)
    except BaseException:
        unlink_quietly(tmp)
        raise


def _tmp_writer_alive(tmp: Path, target_name: str) -> bool:
    rest = tmp.name[len(target_name) + 2 : -len(".tmp")]  # after ".NAME."
    pid_text = rest.split(".", 1)[0]
    if pid_text.isdigit():
        pid = int(pid_text)
        if pid == os.getpid():
            return True
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except OSError:
            return True
        return True
    try:  # an older temporary without a pid: orphaned once stale
        return time.time() - tmp.stat().st_mtime < _STALE_TMP_S
    except OSError:
        return True


def orphaned_temporaries(path: Path) -> list[Path]:
    """Temporaries of ``path`` left by writers that are no longer running."""
    if not path.parent.is_dir():
        return []
    found = path.parent.glob(f".{glob_escape(path.name)}.*.tmp")
    return sorted(t for t in found if not _tmp_writer_alive(t, path.name))


def glob_escape(text: str) -> str:
    """Escape ``text`` for :meth:`pathlib.Path.glob`."""
    return re.sub(r"([*?\[])", r"[\1]", text)


def file_sha256(path: str | os.PathLike) -> str:
    """The sha256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
