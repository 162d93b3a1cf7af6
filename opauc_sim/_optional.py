"""Optional dependencies: Matplotlib (extra ``plot``) and tqdm (extra ``progress``).

The metric kernels, the simulations, the checks and the command line need neither. A
figure asked for without Matplotlib raises :class:`MissingDependencyError`, which says what
to install (the command line prints it as one line); a progress bar asked for without tqdm
is simply not drawn.
"""

from __future__ import annotations

import importlib


class MissingDependencyError(ImportError):
    """An optional dependency is needed and not installed; the message says what to install."""


def install_hint(extra: str) -> str:
    """How to install the optional extra ``extra``, for an error message.

    The package is on no index, so ``pip install 'opauc-sim[EXTRA]'`` fails with "No
    matching distribution"; the hint says to install from a clone (a wheel built from
    one takes the same ``[EXTRA]`` suffix).

    Parameters
    ----------
    extra : str
        The name of the extra in ``pyproject.toml`` (``plot``, ``train``, ...).

    Returns
    -------
    str
        The instruction, without a final full stop.

    >>> install_hint("plot")
    "in a clone of opauc-sim: pip install -e '.[plot]'"
    """
    return f"in a clone of opauc-sim: pip install -e '.[{extra}]'"


def require_matplotlib(purpose: str = "drawing figures"):
    """Import and return ``matplotlib``, or raise :class:`MissingDependencyError`.

    >>> require_matplotlib().__name__
    'matplotlib'
    """
    try:
        return importlib.import_module("matplotlib")
    except ModuleNotFoundError as exc:
        if exc.name != "matplotlib":  # matplotlib is there but broken: keep the traceback
            raise
        raise MissingDependencyError(
            f"{purpose} needs matplotlib, which is not installed; "
            f"{install_hint('plot')} (or pip install matplotlib)"
        ) from None


def progress_bar(**kwargs):
    """A ``tqdm.auto.tqdm(**kwargs)`` bar, or None when tqdm is not installed."""
    try:
        from tqdm.auto import tqdm
    except ModuleNotFoundError as exc:
        if exc.name != "tqdm":
            raise
        return None
    return tqdm(**kwargs)
