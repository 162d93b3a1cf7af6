"""Pick writable cache folders (Numba's kernel cache, Matplotlib's) before either is used.

The kernels are compiled with ``cache=True``. Numba stores the cache beside the source
(``opauc_sim/__pycache__``) or, when that is not writable, in the user's cache folder
(``$XDG_CACHE_HOME/numba`` or ``~/.cache/numba``). When neither is writable (a package
installed read-only, used with a read-only or missing HOME), Numba refuses to define the
kernel at import time, with a ``RuntimeError`` traceback. In that case, and only then,
``NUMBA_CACHE_DIR`` is pointed at a per-user folder under the system's temporary folder.
A ``NUMBA_CACHE_DIR`` set by the user is always left alone.

Matplotlib copes with an unwritable ``~/.config/matplotlib`` itself, but prints a
two-line warning on every run and rebuilds its font cache each time; when that folder is not
writable (and ``MPLCONFIGDIR`` is unset) it is pointed at a per-user temporary folder too.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError:
        return False
    return True


def _user_cache() -> Path | None:
    base = os.environ.get("XDG_CACHE_HOME")
    if base:
        return Path(base) / "numba"
    try:
        return Path.home() / ".cache" / "numba"
    except (RuntimeError, KeyError):  # no HOME and no passwd entry
        return None


def ensure_numba_cache(package_dir: Path | None = None) -> str | None:
    """Set ``NUMBA_CACHE_DIR`` when Numba would find no writable cache folder.

    Parameters
    ----------
    package_dir : pathlib.Path, optional
        The folder holding the kernels' source (default: this package's folder).

    Returns
    -------
    str or None
        The folder chosen, or None when nothing had to change.
    """
    if os.environ.get("NUMBA_CACHE_DIR"):
        return None
    package_dir = Path(__file__).resolve().parent if package_dir is None else package_dir
    if _writable(package_dir / "__pycache__"):
        return None
    user = _user_cache()
    if user is not None and _writable(user):
        return None
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    fallback = Path(tempfile.gettempdir()) / f"opauc-sim-numba-cache-{uid}"
    if not _writable(fallback):
        return None
    os.environ["NUMBA_CACHE_DIR"] = str(fallback)
    config = sys.modules.get("numba.core.config")
    if config is not None:  # numba was imported first: its config has already been read
        config.CACHE_DIR = str(fallback)
    return str(fallback)


def ensure_matplotlib_config() -> str | None:
    """Set ``MPLCONFIGDIR`` when Matplotlib's default folder is not writable.

    Returns
    -------
    str or None
        The folder chosen, or None when nothing had to change (or Matplotlib is already
        imported, and has chosen).
    """
    if os.environ.get("MPLCONFIGDIR") or "matplotlib" in sys.modules:
        return None
    base = os.environ.get("XDG_CONFIG_HOME")
    try:
        default = Path(base) if base else Path.home() / ".config"
    except (RuntimeError, KeyError):
        default = None
    if default is not None and _writable(default / "matplotlib"):
        return None
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    fallback = Path(tempfile.gettempdir()) / f"opauc-sim-matplotlib-{uid}"
    if not _writable(fallback):
        return None
    os.environ["MPLCONFIGDIR"] = str(fallback)
    return str(fallback)
