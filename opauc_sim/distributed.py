"""Sweeps and simulations on Dask distributed (the optional extra ``distributed``).

``opauc-sim sweep`` and ``opauc-sim simulate curve|fig6`` run here, in one process, unless
``--executor dask`` is given. Then :class:`DaskCluster` starts a ``LocalCluster`` of
``--workers`` processes with one thread each, or joins a running scheduler
(``--scheduler ADDRESS``, e.g. one started by dask-jobqueue under SLURM):

* **Sweeps** (:func:`opauc_sim.train.sweep.run_sweep` with ``executor=``): one task per
  configuration group. Workers load the split themselves from a :class:`SplitSource`
  (dataset name, cache, seed, validation fraction), once per process; a ``Split`` object
  given instead is scattered to every worker once. The client is the only writer: it
  appends each finished group's rows through the sweep's own save path, under its lock, so
  the resume and no-loss rules of a local sweep hold unchanged. A group whose worker dies
  is run again on another worker; a group that fails twice (an exception, or a second
  worker death) is reported and left out of the CSV, and the others go on.
* **Simulations** (:func:`opauc_sim.correlation.beta_curve` with ``executor=``): the
  rankings are split into tasks by ranking index; each task returns the streamed sums of
  its blocks of 64 rankings, and the client merges them in block order, exactly as the
  local stream does. The curve is bit-identical to the local one for the same seed.

Importing this module does not import dask; :func:`require_distributed` does, and says how
to install it when it is missing.
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opauc_sim._validation import check_choice, check_int

__all__ = [
    "EXECUTORS",
    "TRIES",
    "DaskCluster",
    "DaskMissingError",
    "SplitSource",
    "check_executor_options",
    "parse_resources",
    "probe_scheduler",
    "require_distributed",
]

EXECUTORS = ("local", "dask")
#: Tries of one sweep group: the first and one more (after an exception or a worker death).
TRIES = 2
#: Environment variables that size the BLAS and OpenMP pools of a fresh worker process.
_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class DaskMissingError(ValueError):
    """``--executor dask`` without the optional extra ``distributed`` installed."""


def require_distributed():
    """Import and return ``distributed``, or raise :class:`DaskMissingError` saying how.

    Returns
    -------
    module
        The ``distributed`` package.
    """
    try:
        import distributed
    except ImportError as exc:
        from opauc_sim._optional import install_hint

        raise DaskMissingError(
            f"--executor dask needs the optional extra distributed ({exc}); "
            + install_hint("distributed")
        ) from None
    return distributed


def parse_resources(specs: Sequence[str] | None) -> dict[str, float]:
    """Parse ``["GPU=1", "MEM=4e9"]`` into ``{"GPU": 1.0, "MEM": 4e9}``.

    Parameters
    ----------
    specs : sequence of str, optional
        ``NAME=AMOUNT`` items, AMOUNT a positive number.

    Returns
    -------
    dict of str to float
        Empty when ``specs`` is None or empty.

    Raises
    ------
    ValueError
        An item that is not ``NAME=AMOUNT`` with a finite AMOUNT > 0, or a NAME given twice.
    """
    out: dict[str, float] = {}
    for spec in specs or []:
        name, sep, value = str(spec).partition("=")
        try:
            amount = float(value)
        except ValueError:
            amount = math.nan
        if not sep or not name.strip() or not math.isfinite(amount) or amount <= 0:
            raise ValueError(
                f"--resources must be NAME=AMOUNT with AMOUNT > 0 (e.g. GPU=1), got {spec!r}"
            )
        if name in out:
            raise ValueError(f"--resources names {name!r} twice, got {spec!r}")
        out[name] = amount
    return out


def check_executor_options(
    executor: str,
    workers: int | None = None,
    scheduler: str | None = None,
    resources: Sequence[str] | None = None,
) -> None:
    """Refuse inconsistent executor options, before anything runs.

    Parameters
    ----------
    executor : {"local", "dask"}
    workers : int, optional
        Processes of a LocalCluster (``--workers``), >= 1; dask only.
    scheduler : str, optional
        Address of a running scheduler (``--scheduler``); dask only, not with ``workers``.
    resources : sequence of str, optional
        ``NAME=AMOUNT`` items each task needs (``--resources``); dask only.

    Raises
    ------
    ValueError
        One line naming the option and value; :class:`DaskMissingError` when the executor
        is dask and dask is not installed.
    """
    check_choice("executor", executor, EXECUTORS)
    if executor == "local":
        for option, value in (
            ("--workers", workers),
            ("--scheduler", scheduler),
            ("--resources", resources),
        ):
            if value is not None:
                raise ValueError(f"{option} {value} applies to --executor dask only")
        return
    if workers is not None:
        from opauc_sim._threads import available_cores

        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"--workers must be an integer >= 1, got {workers!r}")
        cores = available_cores()
        if workers > cores:
            raise ValueError(
                f"--workers must be in [1, {cores}] (the cores of this machine: each worker "
                f"is a process), got {workers}"
            )
    if scheduler is not None:
        if workers is not None:
            raise ValueError(
                f"give --workers (a local cluster) or --scheduler (a running one), not both; "
                f"got --workers {workers} --scheduler {scheduler}"
            )
        if not str(scheduler).strip():
            raise ValueError(
                f"--scheduler must be an address like tcp://HOST:8786, got {scheduler!r}"
            )
    parse_resources(resources)
    require_distributed()
    if scheduler is not None:
        probe_scheduler(str(scheduler))


#: The longest first message a Dask scheduler sends (its handshake is a few hundred bytes).
_HANDSHAKE_MAX = 1 << 20


def probe_scheduler(address: str, timeout: float = 10.0) -> None:
    """Refuse an address that does not answer as a Dask scheduler, before any work.

    A Dask scheduler speaks first: on a new TCP connection it sends its handshake, a
    message that starts with its length (8 bytes, little-endian). Something else (a web
    server waits for a request, then answers ``HTTP/1.0 ...``, which Dask would take for a
    length of 3 EiB) is refused in one line, instead of hanging or running out of memory.
    Only ``tcp://`` addresses (and bare ``HOST:PORT``) are probed.

    Raises
    ------
    OSError
        Nothing listens there, or it does not answer as a Dask scheduler within ``timeout``.
    """
    import socket
    import struct

    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    if scheme != "tcp":
        return
    host, _, port_text = rest.rstrip("/").rpartition(":")
    host = host.strip("[]")
    if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"--scheduler must be an address like tcp://HOST:8786, got {address!r}")
    try:
        with socket.create_connection((host, int(port_text)), timeout=timeout) as sock:
            sock.settimeout(timeout)
            first = b""
            while len(first) < 8:
                chunk = sock.recv(8 - len(first))
                if not chunk:
                    break
                first += chunk
    except TimeoutError:
        raise OSError(
            f"--scheduler {address}: no Dask handshake within {timeout:g} s (something else "
            f"listens there, e.g. a web server); give the scheduler's address (tcp://HOST:8786)"
        ) from None
    except OSError as exc:
        raise OSError(f"--scheduler {address}: cannot connect ({exc.strerror or exc})") from None
    if len(first) < 8:
        raise OSError(f"--scheduler {address}: the connection was closed without a Dask handshake")
    (length,) = struct.unpack("<Q", first)
    if not 0 < length <= _HANDSHAKE_MAX:
        raise OSError(
            f"--scheduler {address} answers, but not as a Dask scheduler (it sent "
            f"{first!r}); give the scheduler's address (tcp://HOST:8786)"
        )


@dataclass(frozen=True)
class SplitSource:
    """Where a worker loads a sweep's split from: :func:`opauc_sim.train.data.load_split`.

    Parameters
    ----------
    dataset : str
        A name of the data-set registry (:data:`opauc_sim.train.datasets.DATASET_NAMES`)
        or a LightGCN directory (made absolute).
    cache_dir : str, optional
        The dataset cache (made absolute); None: the worker's default.
    seed : int, default 0
        The split seed.
    valid_frac : float, default 0.1
        The validation fraction.
    """

    dataset: str
    cache_dir: str | None = None
    seed: int = 0
    valid_frac: float = 0.1

    @classmethod
    def of(
        cls,
        dataset: str | os.PathLike,
        cache_dir: str | os.PathLike | None = None,
        seed: int = 0,
        valid_frac: float = 0.1,
    ) -> SplitSource:
        """A source with local paths made absolute (workers may run elsewhere)."""
        from opauc_sim.train.datasets import DATASETS

        name = str(dataset)
        if name not in DATASETS:
            name = str(Path(name).resolve())
        cache = None if cache_dir is None else str(Path(cache_dir).resolve())
        return cls(name, cache, int(seed), float(valid_frac))

    def load(self):
        """The split (:class:`opauc_sim.train.data.Split`)."""
        from opauc_sim.train.data import load_split

        return load_split(
            self.dataset, cache_dir=self.cache_dir, seed=self.seed, valid_frac=self.valid_frac
        )


class DaskCluster:
    """A Dask client on a new ``LocalCluster`` or on a running scheduler; a context manager.

    Parameters
    ----------
    workers : int, optional
        Start a LocalCluster of this many worker processes with one thread each (default:
        one per core), unless ``scheduler`` is given.
    scheduler : str, optional
        Join the scheduler at this address (``tcp://HOST:PORT``) instead.
    resources : dict of str to float, optional
        What each sweep task needs, e.g. ``{"GPU": 1}``; the workers of a LocalCluster get
        them too. Simulation tasks need none.
    threads : int, default 1
        Threads for Numba, BLAS and torch in each worker
        (:class:`opauc_sim._dask_tasks.ThreadsPlugin`, once per worker process).

    Notes
    -----
    On a LocalCluster, a task may lose its worker once and run again elsewhere
    (``distributed.scheduler.allowed-failures`` = 1); a running scheduler keeps its own
    setting (default 3). A task that raises runs once more (``retries=1``).
    """

    def __init__(
        self,
        workers: int | None = None,
        scheduler: str | None = None,
        resources: dict[str, float] | None = None,
        threads: int = 1,
    ) -> None:
        self.workers = workers
        self.scheduler = scheduler
        self.resources = dict(resources or {})
        self.threads = check_int("threads", threads, low=1)
        self.client: Any = None
        self.cluster: Any = None

    def __enter__(self) -> DaskCluster:
        distributed = require_distributed()
        import dask

        from opauc_sim import _dask_tasks

        if self.scheduler is not None:
            try:
                self.client = distributed.Client(self.scheduler, timeout="30s")
            except OSError as exc:  # TimeoutError included: one line naming the option
                raise OSError(f"--scheduler {self.scheduler}: cannot connect ({exc})") from None
        else:
            n = self.workers if self.workers is not None else (os.cpu_count() or 1)
            env = {name: str(self.threads) for name in _THREAD_ENV}
            with dask.config.set({"distributed.scheduler.allowed-failures": TRIES - 1}):
                self.cluster = distributed.LocalCluster(
                    n_workers=n,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",
                    resources=self.resources or None,
                    env=env,
                )
            self.client = distributed.Client(self.cluster)
        self.client.register_plugin(_dask_tasks.ThreadsPlugin(self.threads), name="opauc-threads")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        self.client = self.cluster = None

    def n_workers(self) -> int:
        """Workers connected now."""
        return len(self.client.scheduler_info()["workers"])

    def executor(self):
        """A ``concurrent.futures.Executor`` on the cluster, for simulations.

        Its ``map`` yields results in order; a task that raises runs once more.
        """
        return self.client.get_executor(pure=False, retries=TRIES - 1)

    def train_groups(
        self,
        source: Any,
        groups: Sequence[Sequence[Any]],
        *,
        device: str,
        backend: str,
        threads: int | None,
    ) -> Iterator[tuple[list[Any], Any]]:
        """Train each group on the cluster; yield ``(group, results)`` as groups finish.

        Parameters
        ----------
        source : SplitSource or Split
            A source is loaded by each worker; a split is scattered to every worker once.
        groups : sequence of sequences of TrainConfig
        device, backend : str
            Resolved, as for :func:`opauc_sim.train.runner.train_many`.
        threads : int, optional
            Threads of the tasks (default: the cluster's, set once per worker by its plugin).

        Yields
        ------
        tuple
            ``(group, results)``: the list of TrainResult, or the exception of a group that
            failed :data:`TRIES` times.
        """
        from distributed import as_completed

        from opauc_sim import _dask_tasks

        if not groups:
            return
        if not isinstance(source, SplitSource):
            source = self.client.scatter(source, broadcast=True, hash=False)
        tag = uuid.uuid4().hex[:8]
        futures = {}
        for i, group in enumerate(groups):
            future = self.client.submit(
                _dask_tasks.train_group,
                source,
                list(group),
                device=device,
                backend=backend,
                threads=self.threads if threads is None else threads,
                key=f"opauc-train-{tag}-{i}",
                retries=TRIES - 1,
                resources=self.resources or None,
            )
            futures[future] = list(group)
        for future in as_completed(list(futures)):
            group = futures.pop(future)
            try:
                results = future.result()
            except Exception as exc:  # a group that failed twice: reported, the rest go on
                results = exc
            future.release()
            yield group, results
