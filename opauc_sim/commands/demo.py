"""``opauc-sim demo``: evaluate a generated score matrix and print the metric table.

Scores follow a binormal model (positives ~ N(mu, 1), negatives ~ N(0, 1)), rounded to
``--decimals`` so that ties occur, as they do with real model scores. The table gives, for
each metric, the mean over rows and the number of rows where it is defined.
"""

from __future__ import annotations

import argparse
import sys
import time

from opauc_sim.commands._help import HelpFormatter


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    from opauc_sim import _cost
    from opauc_sim._validation import as_generator, check_int, check_real
    from opauc_sim.metrics import evaluate

    check_int("rows", args.rows, low=0)
    check_int("items", args.items, low=0)
    check_real("pos_rate", args.pos_rate, low=0.0, high=1.0)
    check_real("mu", args.mu, low=-1e6, high=1e6)  # beyond, rounding overflows the scores
    if args.decimals is not None:  # float64 holds ~16 digits; more would overflow to NaN
        check_int("decimals", args.decimals, low=-15, high=15)
    # Labels, uniforms, normals, scores and evaluate's working copies: ~48 bytes per cell,
    # plus the metric kernel's per-thread buffers (9 int64/float64 per item, even with no
    # rows); ~25 ns per cell to draw, round and evaluate (2000 x 1000 in about 0.05 s).
    import numba

    cells = args.rows * args.items
    buffers = 9 * 8 * args.items * numba.get_num_threads()
    what = f"a {args.rows:,} x {args.items:,} matrix"
    cost = _cost.Cost(48.0 * cells + buffers, 25e-9 * cells, what)
    _cost.check_memory(cost)
    line = _cost.announce(cost, "opauc-sim demo")
    if line:
        print(line, file=sys.stderr, flush=True)
    rng = as_generator(args.seed)
    y_true = rng.random((args.rows, args.items)) < args.pos_rate
    y_score = rng.normal(size=(args.rows, args.items)) + args.mu * y_true
    if args.decimals is not None:
        y_score = np.round(y_score, args.decimals)
    t0 = time.perf_counter()
    df = evaluate(y_true, y_score, ks=args.ks, betas=args.betas)
    elapsed = time.perf_counter() - t0
    metric_cols = [c for c in df.columns if c not in ("n_pos", "n_neg")]
    table = pd.DataFrame(
        {"mean": df[metric_cols].mean(), "defined rows": df[metric_cols].notna().sum()}
    )
    print(
        f"{args.rows} rows x {args.items} items, positive rate {args.pos_rate}, binormal "
        f"mu = {args.mu}, scores rounded to {args.decimals} decimals (ties), seed {args.seed}"
    )
    print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    print(f"evaluate: {elapsed:.3f} s (first call includes Numba compile or cache load)")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="evaluate a generated score matrix and print the metric table",
        description=__doc__,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--rows", type=int, default=2000, help="rows (users) of the matrix")
    parser.add_argument("--items", type=int, default=1000, help="items (columns)")
    parser.add_argument(
        "--pos-rate", type=float, default=0.05, help="probability that a cell is a positive"
    )
    parser.add_argument("--mu", type=float, default=1.0, help="binormal separation")
    parser.add_argument(
        "--decimals", type=int, default=2, help="round the scores to this many decimals (ties)"
    )
    parser.add_argument(
        "--ks", type=int, nargs="+", default=[5, 10, 20, 50], metavar="K", help="cut-offs K"
    )
    parser.add_argument(
        "--betas",
        type=float,
        nargs="+",
        default=[0.01, 0.05, 0.1],
        metavar="BETA",
        help="OPAUC betas in (0, 1]",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.set_defaults(func=run)
