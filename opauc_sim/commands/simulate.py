"""``opauc-sim simulate``: the beta-peak correlation study over random rankings.

Subcommands
-----------
fig6
    Reproduce the paper's Fig. 6/7: n_pos = 200, n_neg = 800, K in {1, 5, 10, 20, 50, 100},
    61 log-spaced betas from 1/n_neg to 1, Recall/Precision/NDCG, Monte Carlo (100,000
    uniform rankings, 95% CIs) and exact. Caches ``results/fig6_{curves,peaks,claims}``,
    prints the peak table and the checks of the paper's claims, and writes the figures.
curve
    One correlation curve for any (n_pos, n_neg, K grid, beta grid, method, generator).
peak-law
    Exact peak beta across many (n_pos, n_neg, K): is there a simple law in K / n_neg?
binormal
    How the peak moves as ranking quality grows (binormal mu from 0 to 2).
methods
    The Fig. 6 setting under Pearson (exact), Spearman and Kendall's tau-b (Monte Carlo, the
    same rankings): do the paper's claims depend on the correlation coefficient?
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time

from opauc_sim._threads import add_option as add_threads_option
from opauc_sim.commands import _outputs
from opauc_sim.commands._executor import add_executor_options, check_executor_args, open_executor
from opauc_sim.commands._help import HelpFormatter
from opauc_sim.correlation.setting import FIG6


@contextlib.contextmanager
def _executor(args: argparse.Namespace):
    """None for ``--executor local``; a Dask cluster's executor for ``--executor dask``."""
    with open_executor(args, args.threads or 1) as cluster:
        if cluster is None:
            yield None
            return
        where = args.scheduler or f"a local cluster of {cluster.n_workers()} workers"
        print(f"dask: {where}", file=sys.stderr, flush=True)
        yield cluster.executor()


def _preflight(args: argparse.Namespace, cost=None, *, results: bool = True) -> None:
    """Checks made before any computing: Matplotlib when a figure is asked for, output
    folders, then memory and time estimates.

    Matplotlib missing (a figure asked for), an unusable ``--results-dir`` or ``--out-dir``
    and work that cannot fit in memory are errors (one line, exit 2); work estimated to take
    longer than ten minutes is announced on stderr, even under ``--quiet``.
    """
    from opauc_sim import _cost
    from opauc_sim.results_cache import check_writable_dir

    if not getattr(args, "no_figure", True):  # before any folder is made
        from opauc_sim._optional import require_matplotlib

        require_matplotlib("the figure (--no-figure skips it)")
    if results:
        check_writable_dir(args.results_dir, "--results-dir")
    if not getattr(args, "no_figure", True):
        check_writable_dir(args.out_dir, "--out-dir")
    if cost is not None:
        _cost.check_memory(cost)
    _outputs.say_where(args)  # every check passed: now say where the outputs go
    if cost is not None:
        line = _cost.announce(cost, f"opauc-sim simulate {args.simulation}")
        if line:
            print(line, file=sys.stderr, flush=True)


def _outputs_for(args: argparse.Namespace, command: str, *, canonical: bool = True) -> None:
    """Set ``args.results_dir`` / ``args.out_dir`` for this run (see ``_outputs``)."""
    results, out, _ = _outputs.resolve(args, command, args.keyed_defaults, canonical=canonical)
    args.results_dir, args.out_dir = str(results), str(out)


def _finish(study, args: argparse.Namespace, figures: list[str]) -> int:
    """Save the study, print what was written and its report, then draw its figures."""
    for path in study.save(args.results_dir):
        print(f"wrote {path}")
    print(study.report)
    if not args.no_figure:
        from opauc_sim import plots

        for name in figures:
            for path in plots.draw(name, results_dir=args.results_dir, out_dir=args.out_dir):
                print(f"wrote {path}")
    return 0


def run_fig6(args: argparse.Namespace) -> int:
    from opauc_sim.correlation import studies

    start = time.perf_counter()
    check_executor_args(args)
    _outputs_for(args, "fig6")
    exact = not args.no_exact
    size = dict(n_rankings=args.n_rankings, n_betas=args.n_betas, n_threads=None)
    _preflight(args, studies.fig6_cost(**size, exact=exact))
    with _executor(args) as executor:
        study = studies.fig6_study(
            **size, seed=args.seed, exact=exact, progress=not args.quiet, executor=executor
        )
    _finish(study, args, ["beta_curves", "beta_curves_by_k"])
    print(f"done in {time.perf_counter() - start:.1f} s")
    return 0


def run_curve(args: argparse.Namespace) -> int:
    import numpy as np

    from opauc_sim import correlation as corr
    from opauc_sim._validation import check_int
    from opauc_sim.correlation.report import format_frame
    from opauc_sim.plots.beta_curves import draw_curve, undefined_curves
    from opauc_sim.results_cache import check_name, save_result

    check_name(args.save, "--save")
    if args.executor == "dask" and (args.exact or args.method != "pearson"):
        what = "--exact" if args.exact else f"--method {args.method}"
        raise ValueError(f"--executor dask runs Monte Carlo Pearson curves only, got {what}")
    check_executor_args(args)
    if args.betas is not None and args.n_betas is not None:
        raise ValueError("give --betas (values) or --n-betas (a count), not both")
    n_betas = len(args.betas) if args.betas is not None else (args.n_betas or FIG6.n_betas)
    check_int("--n-pos", args.n_pos, low=1)
    check_int("--n-neg", args.n_neg, low=1)
    n_items = args.n_pos + args.n_neg
    for k in args.ks:
        if not 1 <= k <= n_items:
            raise ValueError(
                f"--ks {k}: a cut-off K must be in [1, {n_items}], the number of items "
                f"(--n-pos {args.n_pos} + --n-neg {args.n_neg})"
            )
    _outputs_for(args, "curve", canonical=False)
    options = dict(metrics=args.metrics, method=args.method, n_rankings=args.n_rankings)
    options.update(exact=args.exact, generator=args.generator, n_threads=None)
    _preflight(
        args,
        corr.beta_curve_cost(
            args.n_pos, args.n_neg, n_ks=len(set(args.ks)), n_betas=n_betas, **options
        ),
    )
    betas = corr.fig6_grid(args.n_neg, n_betas) if args.betas is None else np.array(args.betas)
    with _executor(args) as executor:
        curve = corr.beta_curve(
            args.n_pos, args.n_neg, ks=args.ks, betas=betas, mu=args.mu, seed=args.seed,
            progress=not args.quiet, executor=executor, **options,
        )  # fmt: skip
    print(format_frame(corr.peak_beta(curve)))
    params = {k: v for k, v in vars(args).items() if k not in _outputs.NOT_KEYED}
    path = save_result(
        curve, args.save, params=params, seed=args.seed, results_dir=args.results_dir
    )
    print(f"wrote {path}")
    missing = undefined_curves(curve)
    if missing:
        print(
            f"undefined (the metric is constant over the rankings, e.g. K >= n_pos + n_neg): "
            f"{', '.join(missing)}"
        )
    if not args.no_figure and len(missing) == curve.groupby(["metric", "k"]).ngroups:
        print("no figure: no curve is defined")
    elif not args.no_figure:
        what = "exact" if args.exact else f"{args.n_rankings:,} {args.generator} rankings"
        title = f"n_pos={args.n_pos}, n_neg={args.n_neg}, {args.method}, {what}" + (
            f", mu={args.mu:g}" if args.generator == "binormal" else ""
        )
        print(f"wrote {draw_curve(curve, args.save, args.out_dir, exact=args.exact, title=title)}")
    return 0


def run_peak_law(args: argparse.Namespace) -> int:
    from opauc_sim.correlation import studies

    _outputs_for(args, "peak-law")
    _preflight(args)  # fixed, small sizes: only the output folders need checking
    return _finish(studies.peak_law_study(progress=not args.quiet), args, ["peak_law"])


def run_binormal(args: argparse.Namespace) -> int:
    from opauc_sim.correlation import studies

    _outputs_for(args, "binormal")
    size = dict(mus=args.mus, n_rankings=args.n_rankings, n_betas=args.n_betas)
    _preflight(args, studies.binormal_cost(**size))
    study = studies.binormal_run(**size, seed=args.seed, progress=not args.quiet)
    return _finish(study, args, ["binormal_peaks"])


def run_methods(args: argparse.Namespace) -> int:
    from opauc_sim.correlation import studies

    _outputs_for(args, "methods")
    size = dict(n_rankings=args.n_rankings, n_betas=args.n_betas)
    _preflight(args, studies.methods_cost(**size))
    study = studies.methods_study(**size, seed=args.seed, n_threads=None, progress=not args.quiet)
    return _finish(study, args, ["methods"])


def _common(parser: argparse.ArgumentParser, *, seed: bool = True) -> None:
    _outputs.add_output_options(parser)
    parser.add_argument("--no-figure", action="store_true", help="do not draw the figure")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    if seed:
        parser.add_argument("--seed", type=int, default=0, help="random seed")
    add_threads_option(parser)


def _done(parser: argparse.ArgumentParser, func) -> None:
    parser.set_defaults(func=func, keyed_defaults=_outputs.keyed_defaults(parser))


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="the beta-peak correlation study over random rankings (paper Fig. 6/7)",
        description=__doc__,
        formatter_class=HelpFormatter,
    )
    sub = parser.add_subparsers(dest="simulation", metavar="SIMULATION", required=True)

    def add(name: str, help: str):
        return sub.add_parser(name, help=help, description=help, formatter_class=HelpFormatter)

    fig6 = add("fig6", "reproduce Fig. 6/7 (Monte Carlo and exact), print the peak table")
    fig6.add_argument(
        "--n-rankings",
        type=int,
        default=100_000,
        help="Monte Carlo rankings (100,000 in the paper)",
    )
    fig6.add_argument(
        "--n-betas", type=int, default=FIG6.n_betas, help="log-spaced betas from 1/n_neg to 1"
    )
    fig6.add_argument("--no-exact", action="store_true", help="skip the exact computation")
    _common(fig6)
    add_executor_options(fig6)
    _done(fig6, run_fig6)

    curve = add("curve", "one correlation curve, any setting; caches it and draws it")
    curve.add_argument("--n-pos", type=int, required=True, help="positives per ranking")
    curve.add_argument("--n-neg", type=int, required=True, help="negatives per ranking")
    curve.add_argument("--ks", type=int, nargs="+", required=True, help="cut-offs K")
    betas = curve.add_mutually_exclusive_group()
    betas.add_argument("--betas", type=float, nargs="+", default=None, help="beta values in (0, 1]")
    betas.add_argument(
        "--n-betas",
        type=int,
        default=None,
        help=f"that many log-spaced betas from 1/n_neg to 1 (default: {FIG6.n_betas}, when --betas "
        "is not given)",
    )
    curve.add_argument(
        "--metrics",
        nargs="+",
        default=["recall", "precision", "ndcg"],
        choices=["recall", "precision", "ndcg"],
        metavar="METRIC",
        help="Top-K metrics (recall, precision, ndcg)",
    )
    curve.add_argument(
        "--method",
        default="pearson",
        choices=["pearson", "spearman", "kendall"],
        help="correlation coefficient",
    )
    curve.add_argument("--n-rankings", type=int, default=100_000, help="Monte Carlo rankings")
    curve.add_argument("--exact", action="store_true", help="exact Pearson (uniform only)")
    curve.add_argument(
        "--generator",
        default="uniform",
        choices=["uniform", "binormal"],
        help="uniform random rankings, or binormal scores",
    )
    curve.add_argument("--mu", type=float, default=0.0, help="binormal separation")
    curve.add_argument(
        "--save", metavar="NAME", default="curve", help="file name of the cached curve and PNG"
    )
    _common(curve)
    add_executor_options(curve)
    _done(curve, run_curve)

    law = add("peak-law", "exact peak beta across (n_pos, n_neg, K)")
    _common(law, seed=False)
    _done(law, run_peak_law)

    binormal = add("binormal", "peak beta as ranking quality (mu) grows")
    binormal.add_argument(
        "--mus",
        type=float,
        nargs="+",
        default=[0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0],
        help="binormal separations",
    )
    binormal.add_argument("--n-rankings", type=int, default=20_000, help="rankings per mu")
    binormal.add_argument(
        "--n-betas", type=int, default=FIG6.n_betas, help="log-spaced betas from 1/n_neg to 1"
    )
    _common(binormal)
    _done(binormal, run_binormal)

    methods = add("methods", "Fig. 6 under Pearson, Spearman and Kendall")
    methods.add_argument(
        "--n-rankings", type=int, default=100_000, help="Monte Carlo rankings per coefficient"
    )
    methods.add_argument(
        "--n-betas", type=int, default=FIG6.n_betas, help="log-spaced betas from 1/n_neg to 1"
    )
    _common(methods)
    _done(methods, run_methods)
