"""Threads: one count for Numba, the BLAS/OpenMP libraries and torch, set in one place.

Each of the three keeps a pool of its own; on a shared machine a pool per library, each as
large as the machine, oversubscribes the cores many times over (10x slower seen on two
cores). Every command takes ``--threads N`` (:func:`add_option`) and runs inside
:func:`limit_threads` at the command boundary (:mod:`opauc_sim.cli`), and so do the Dask
workers (:class:`opauc_sim._dask_tasks.ThreadsPlugin`); nothing below sets threads again.

The default, the same for every command, is :func:`default_threads`: ``$OPAUC_SIM_THREADS``
when set, else every core this process may run on (at most Numba's pool size). Results do
not depend on it: the trainer and the simulations are bit-identical for any thread count.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

from opauc_sim._validation import check_int

__all__ = [
    "ENV",
    "add_option",
    "available_cores",
    "default_threads",
    "limit_threads",
    "max_threads",
]

ENV = "OPAUC_SIM_THREADS"


def max_threads() -> int:
    """The most threads accepted: Numba's pool size (``NUMBA_NUM_THREADS``)."""
    import numba

    return int(numba.config.NUMBA_NUM_THREADS)


def default_threads() -> int:
    """``$OPAUC_SIM_THREADS``, else the cores this process may use, at most :func:`max_threads`."""
    env = os.environ.get(ENV)
    if env:
        try:
            value = int(env)
        except ValueError:
            raise ValueError(f"${ENV} must be an integer >= 1, got {env!r}") from None
        return check_threads(value, f"${ENV}")
    return max(1, min(available_cores(), max_threads()))


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def check_threads(n: object, name: str = "threads") -> int:
    """``n`` as an int in ``[1, max_threads()]``, or ValueError/TypeError naming ``name``."""
    high = max_threads()
    value = check_int(name, n)
    if not 1 <= value <= high:
        raise ValueError(f"{name} must be in [1, {high}] on this machine, got {value}")
    return value


@contextlib.contextmanager
def limit_threads(n: int | None, *, torch: bool = False) -> Iterator[int]:
    """Run the block with ``n`` threads in Numba, BLAS/OpenMP (threadpoolctl) and torch.

    ``None`` uses :func:`default_threads`; ``torch=True`` imports torch first (a block
    that will use it), otherwise torch is limited only if it is already imported. The
    previous counts come back when the block ends. The libraries a run would load later
    (Numba's threading layer, SciPy's own OpenBLAS, torch when asked) are loaded first,
    because threadpoolctl limits only what is loaded, and Numba's layer can reset an
    OpenMP runtime it shares with torch when it starts.
    """
    import numba
    from threadpoolctl import threadpool_limits

    n = default_threads() if n is None else check_threads(n)
    # threadpoolctl limits the libraries loaded now: load the ones a run loads later.
    import scipy.linalg  # noqa: F401  (SciPy's own OpenBLAS, loaded on first use)

    if torch:
        import torch as _torch  # noqa: F401  (limited below, with the others)
    before_numba = numba.get_num_threads()
    numba.set_num_threads(n)  # launches the threading layer if it is not running
    module = sys.modules.get("torch")
    before_torch = module.get_num_threads() if module is not None else None
    try:
        with threadpool_limits(limits=n):
            if module is not None:
                module.set_num_threads(n)
            yield n
    finally:
        if module is not None and before_torch is not None:
            module.set_num_threads(before_torch)
        numba.set_num_threads(min(before_numba, max_threads()))


def add_option(parser, *, what: str = "") -> None:
    """``--threads N`` with the one documented default (:func:`default_threads`)."""
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help=f"threads for Numba, BLAS and torch alike{what} (default: ${ENV}, else every "
        "core this process may use; results do not depend on it; 1 is best on a shared "
        "machine)",
    )
