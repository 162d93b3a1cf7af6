"""``opauc-sim merge-sweeps``: append the rows of side-by-side sweeps to one sweep CSV.

Two sweeps cannot write one CSV at once (the second is refused by the lock), so sweeps
run side by side (one per core) write their own CSVs; this command then appends to
``--out`` the rows whose configuration ids it does not have yet
(:func:`opauc_sim.train.sweep.merge_sweeps`).
"""

from __future__ import annotations

import argparse


def run_merge(args: argparse.Namespace) -> int:
    from opauc_sim.train.sweep import merge_sweeps

    rows = merge_sweeps(args.out, args.sources, log=print)
    print(f"{len(rows)} rows in {args.out}")
    return 0


def register(subparsers) -> None:
    from opauc_sim.commands._help import PlainHelpFormatter

    m = subparsers.add_parser(
        "merge-sweeps",
        help="append the rows of other sweep CSVs to one (ids decide what is new)",
        description=__doc__,
        formatter_class=PlainHelpFormatter,
    )
    m.add_argument("sources", nargs="+", help="sweep CSVs whose rows to append")
    m.add_argument("--out", required=True, help="the sweep CSV that receives them")
    m.set_defaults(func=run_merge)
