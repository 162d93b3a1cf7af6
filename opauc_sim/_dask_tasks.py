"""Worker-side code of :mod:`opauc_sim.distributed` (imports distributed; load it lazily)."""

from __future__ import annotations

from typing import Any

try:
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError:  # imported without the extra (pytest's doctest collection): inert
    WorkerPlugin = object

#: One split per worker process, keyed by its source: loaded once, reused by every task.
_SPLITS: dict[Any, Any] = {}


class ThreadsPlugin(WorkerPlugin):
    """Sets Numba's, BLAS's and torch's threads when a worker starts (and restarts)."""

    def __init__(self, threads: int) -> None:
        self.threads = int(threads)

    def setup(self, worker: Any) -> None:
        from opauc_sim._threads import limit_threads, max_threads

        # The worker process's threads, for its whole life: entered, never exited.
        self._limit = limit_threads(min(self.threads, max_threads()))
        self._limit.__enter__()


def _split(source: Any):
    from opauc_sim.distributed import SplitSource

    if not isinstance(source, SplitSource):
        return source  # a scattered Split, already here
    if source not in _SPLITS:
        _SPLITS.clear()
        _SPLITS[source] = source.load()
    return _SPLITS[source]


def train_group(
    source: Any, group: list, *, device: str, backend: str, threads: int | None
) -> list:
    """Train one configuration group on this worker (:func:`~opauc_sim.train.train_many`)."""
    from opauc_sim.train.runner import train_many

    return train_many(
        _split(source), group, device=device, backend=backend, threads=threads, progress=False
    )
