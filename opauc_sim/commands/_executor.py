"""``--executor local|dask``, ``--workers``, ``--scheduler``, ``--resources``: shared options."""

from __future__ import annotations

import argparse
import contextlib
from typing import Any


def add_executor_options(parser: argparse.ArgumentParser, *, resources: bool = False) -> None:
    """Add the executor options to ``parser`` (``--resources`` only when asked)."""
    parser.add_argument(
        "--executor",
        choices=("local", "dask"),
        default="local",
        help="local: this process; dask: Dask distributed workers, a local cluster "
        "(--workers) or a running one (--scheduler); needs the optional extra distributed "
        "(in a clone: pip install -e '.[distributed]') (default: %(default)s)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="--executor dask: start a local cluster of this many processes, one thread each "
        "(default: one per core, unless --scheduler is given)",
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="--executor dask: join the running scheduler at ADDRESS, e.g. "
        "tcp://10.0.0.1:8786 (default: start a local cluster)",
    )
    if resources:
        parser.add_argument(
            "--resources",
            nargs="+",
            default=None,
            metavar="NAME=AMOUNT",
            help="--executor dask: what each task needs, e.g. GPU=1 for workers started "
            "with --resources GPU=1 (default: nothing)",
        )


def check_executor_args(args: argparse.Namespace) -> None:
    """Refuse inconsistent executor options before anything runs (one-line errors)."""
    from opauc_sim.distributed import check_executor_options

    check_executor_options(
        args.executor, args.workers, args.scheduler, getattr(args, "resources", None)
    )


def open_executor(args: argparse.Namespace, threads: int) -> Any:
    """A context manager giving the DaskCluster, or None for ``--executor local``."""
    if args.executor != "dask":
        return contextlib.nullcontext(None)
    from opauc_sim.distributed import DaskCluster, parse_resources

    return DaskCluster(
        workers=args.workers,
        scheduler=args.scheduler,
        resources=parse_resources(getattr(args, "resources", None)),
        threads=threads,
    )
