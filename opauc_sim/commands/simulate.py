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

from opauc_sim.commands import _outputs
from opauc_sim.commands._executor import add_executor_options, check_executor_args, open_executor
from opauc_sim.commands._help import HelpFormatter

FIG6 = {"n_pos": 200, "n_neg": 800, "ks": [1, 5, 10, 20, 50, 100], "n_betas": 61}

#: (n_pos, n_neg) settings of the peak-law study; K runs over LAW_KS up to n_neg / 4.
LAW_SIZES = [
    (50, 200),
    (100, 400),
    (200, 800),
    (400, 1600),
    (100, 900),
    (500, 500),
    (50, 950),
    (300, 700),
]
LAW_KS = [1, 2, 5, 10, 20, 50, 100, 200]


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


def _fmt_table(df, floatfmt: str = ".4g") -> str:
    """A plain-text table without pandas' index (readable in a terminal and in markdown)."""
    cols = list(df.columns)
    cells = [
        [format(v, floatfmt) if isinstance(v, float) else str(v) for v in row]
        for row in df.itertuples(index=False)
    ]
    widths = [max([len(str(c)), *(len(r[i]) for r in cells)]) for i, c in enumerate(cols)]
    lines = [
        "| " + " | ".join(str(c).ljust(w) for c, w in zip(cols, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += [
        "| " + " | ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) + " |" for r in cells
    ]
    return "\n".join(lines)


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
        line = _cost.announce(cost, f"opauc-sim simulate {args.simulation}")
        if line:
            print(line, file=sys.stderr, flush=True)


def _write_figures(names: list[str], args) -> None:
    from opauc_sim import plots

    for name in names:
        for path in plots.draw(name, results_dir=args.results_dir, out_dir=args.out_dir):
            print(f"wrote {path}")


def _outputs_for(args: argparse.Namespace, command: str, *, canonical: bool = True) -> None:
    """Set ``args.results_dir`` / ``args.out_dir`` for this run (see ``_outputs``)."""
    results, out, _ = _outputs.resolve(args, command, args.keyed_defaults, canonical=canonical)
    args.results_dir, args.out_dir = str(results), str(out)


def peak_table(peaks_mc, peaks_exact):
    """The README's peak table: MC and exact peak per (metric, K), and corr at beta = 1."""
    import pandas as pd

    rows = []
    exact = None if peaks_exact is None else peaks_exact.set_index(["metric", "k"])
    mc = None if peaks_mc is None else peaks_mc.set_index(["metric", "k"])
    keys = (mc if mc is not None else exact).index
    for metric, k in keys:
        row = {"metric": metric, "K": int(k)}
        if mc is not None:
            p = mc.loc[(metric, k)]
            row["beta_peak (MC)"] = float(p["beta"])
            row["corr_peak (MC, 95% CI)"] = (
                f"{p['corr']:.3f} [{p['ci_low']:.3f}, {p['ci_high']:.3f}]"
            )
            row["corr_AUC (MC)"] = round(float(p["corr_at_1"]), 3)
        if exact is not None:
            p = exact.loc[(metric, k)]
            row["beta_peak (exact)"] = float(p["beta"])
            row["corr_peak (exact)"] = round(float(p["corr"]), 4)
            row["corr_AUC (exact)"] = round(float(p["corr_at_1"]), 4)
        rows.append(row)
    return pd.DataFrame(rows)


def run_fig6(args: argparse.Namespace) -> int:
    import pandas as pd

    from opauc_sim import correlation as corr
    from opauc_sim.results_cache import save_result_set

    start = time.perf_counter()
    check_executor_args(args)
    _outputs_for(args, "fig6")
    size = dict(n_ks=len(FIG6["ks"]), n_betas=args.n_betas, n_threads=args.threads)
    cost = corr.beta_curve_cost(FIG6["n_pos"], FIG6["n_neg"], **size, n_rankings=args.n_rankings)
    if not args.no_exact:
        cost = cost + corr.beta_curve_cost(FIG6["n_pos"], FIG6["n_neg"], **size, exact=True)
    _preflight(args, cost)
    betas = corr.fig6_grid(FIG6["n_neg"], args.n_betas)
    params = {
        "n_pos": FIG6["n_pos"],
        "n_neg": FIG6["n_neg"],
        "ks": FIG6["ks"],
        "betas": f"geomspace(1/{FIG6['n_neg']}, 1, {args.n_betas})",
        "metrics": list(corr.METRICS),
        "method": "pearson",
        "n_rankings": args.n_rankings,
        "generator": "uniform",
    }
    kw = dict(ks=FIG6["ks"], betas=betas)
    t0 = time.perf_counter()
    with _executor(args) as executor:
        mc = corr.beta_curve(
            FIG6["n_pos"],
            FIG6["n_neg"],
            **kw,
            n_rankings=args.n_rankings,
            seed=args.seed,
            n_threads=args.threads,
            progress=not args.quiet,
            executor=executor,
        )
    t_mc = time.perf_counter() - t0
    curves = [mc.assign(source="monte_carlo")]
    exact = None
    t_exact = float("nan")
    if not args.no_exact:
        t0 = time.perf_counter()
        exact = corr.beta_curve(
            FIG6["n_pos"], FIG6["n_neg"], **kw, exact=True, n_threads=args.threads
        )
        t_exact = time.perf_counter() - t0
        curves.append(exact.assign(source="exact", n_rankings=pd.NA))
    curve = pd.concat(curves, ignore_index=True)
    curve = curve[["source", *[c for c in curve.columns if c != "source"]]]
    peaks_mc = corr.peak_beta(mc)
    peaks_exact = None if exact is None else corr.peak_beta(exact)
    claims = [corr.check_paper_claims(mc).assign(source="monte_carlo")]
    if exact is not None:
        claims.append(corr.check_paper_claims(exact).assign(source="exact"))
    claims = pd.concat(claims, ignore_index=True)
    peaks = pd.concat(
        [peaks_mc.assign(source="monte_carlo")]
        + ([] if peaks_exact is None else [peaks_exact.assign(source="exact")]),
        ignore_index=True,
    )
    timing = {"monte_carlo_s": round(t_mc, 3), "exact_s": round(t_exact, 3)}
    # One set: read back only whole (a run killed between the files is never mixed).
    for path in save_result_set(
        {"fig6_curves": curve, "fig6_peaks": peaks, "fig6_claims": claims},
        "fig6",
        params=params,
        seed=args.seed,
        results_dir=args.results_dir,
        extra={"timing": timing},
    ):
        print(f"wrote {path}")
    table = peak_table(peaks_mc, peaks_exact)
    print(
        f"\nFig. 6 peak table (n_pos=200, n_neg=800, {args.n_rankings:,} uniform rankings, "
        f"{args.n_betas} betas in [1/800, 1]; Monte Carlo {t_mc:.2f} s, exact {t_exact:.2f} s)"
    )
    print(_fmt_table(table))
    print(
        "\nClaims of the paper (docs/experiments.md), checked on the "
        f"{'exact curves' if exact is not None else 'Monte Carlo curves'}:"
    )
    src = "exact" if exact is not None else "monte_carlo"
    summary = claims[(claims.source == src) & (claims.scope == "all")]
    print(_fmt_table(summary[["claim", "holds", "detail"]]))
    failed = claims[(claims.source == src) & (claims.scope != "all") & (claims.holds == False)]  # noqa: E712
    for row in failed.itertuples():
        print(f"  does not hold: {row.claim} [{row.scope}]: {row.detail}")
    if exact is not None:
        both = claims[claims.scope == "all"].pivot(index="claim", columns="source", values="holds")
        agree = bool((both["exact"] == both["monte_carlo"]).all())
        print(f"Monte Carlo and exact verdicts agree on every claim: {agree}")
    if not args.no_figure:
        _write_figures(["beta_curves", "beta_curves_by_k"], args)
    print(f"done in {time.perf_counter() - start:.1f} s")
    return 0


def run_curve(args: argparse.Namespace) -> int:
    import numpy as np

    from opauc_sim import correlation as corr
    from opauc_sim.plots.beta_curves import draw_curve
    from opauc_sim.results_cache import check_name, save_result

    check_name(args.save, "--save")
    if args.executor == "dask" and (args.exact or args.method != "pearson"):
        what = "--exact" if args.exact else f"--method {args.method}"
        raise ValueError(f"--executor dask runs Monte Carlo Pearson curves only, got {what}")
    check_executor_args(args)
    if args.betas is not None and args.n_betas is not None:
        raise ValueError("give --betas (values) or --n-betas (a count), not both")
    n_betas = len(args.betas) if args.betas is not None else (args.n_betas or 61)
    _outputs_for(args, "curve", canonical=False)
    cost = corr.beta_curve_cost(
        args.n_pos,
        args.n_neg,
        n_ks=len(set(args.ks)),
        n_betas=n_betas,
        metrics=args.metrics,
        method=args.method,
        n_rankings=args.n_rankings,
        exact=args.exact,
        generator=args.generator,
        n_threads=args.threads,
    )
    _preflight(args, cost)
    betas = corr.fig6_grid(args.n_neg, n_betas) if args.betas is None else np.array(args.betas)
    with _executor(args) as executor:
        curve = corr.beta_curve(
            args.n_pos,
            args.n_neg,
            ks=args.ks,
            betas=betas,
            metrics=args.metrics,
            method=args.method,
            n_rankings=args.n_rankings,
            exact=args.exact,
            generator=args.generator,
            mu=args.mu,
            seed=args.seed,
            n_threads=args.threads,
            progress=not args.quiet,
            executor=executor,
        )
    print(_fmt_table(corr.peak_beta(curve)))
    keep = ("func", "save", "quiet", "keyed_defaults", "results_dir", "out_dir", "no_figure")
    keep += ("executor", "workers", "scheduler")  # where it ran does not change the curve
    params = {k: v for k, v in vars(args).items() if k not in keep}
    path = save_result(
        curve, args.save, params=params, seed=args.seed, results_dir=args.results_dir
    )
    print(f"wrote {path}")
    if not args.no_figure:
        what = "exact" if args.exact else f"{args.n_rankings:,} {args.generator} rankings"
        title = f"n_pos={args.n_pos}, n_neg={args.n_neg}, {args.method}, {what}" + (
            f", mu={args.mu:g}" if args.generator == "binormal" else ""
        )
        print(f"wrote {draw_curve(curve, args.save, args.out_dir, exact=args.exact, title=title)}")
    return 0


def run_peak_law(args: argparse.Namespace) -> int:
    from opauc_sim import correlation as corr
    from opauc_sim.results_cache import save_result

    configs = [(p, n, k) for p, n in LAW_SIZES for k in LAW_KS if k <= n // 4]
    _outputs_for(args, "peak-law")
    _preflight(args)  # fixed, small sizes: only the output folders need checking
    t0 = time.perf_counter()
    law = corr.peak_law(configs, metrics=("recall", "ndcg"), progress=not args.quiet)
    elapsed = time.perf_counter() - t0
    fit = corr.fit_peak_law(law)
    params = {
        "sizes": LAW_SIZES,
        "ks": LAW_KS,
        "metrics": ["recall", "ndcg"],
        "method": "exact pearson, coarse 41 + fine 41 log-spaced betas",
    }
    path = save_result(
        law,
        "peak_law",
        params=params,
        results_dir=args.results_dir,
        extra={"fit": fit.to_dict("records"), "seconds": round(elapsed, 2)},
    )
    print(f"wrote {path}  ({len(configs)} settings, {elapsed:.1f} s)")
    print(_fmt_table(fit))
    if not args.no_figure:
        _write_figures(["peak_law"], args)
    return 0


def run_binormal(args: argparse.Namespace) -> int:
    from opauc_sim import correlation as corr
    from opauc_sim.results_cache import save_result_set

    _outputs_for(args, "binormal")
    one = corr.beta_curve_cost(
        FIG6["n_pos"],
        FIG6["n_neg"],
        n_ks=len(FIG6["ks"]),
        n_betas=args.n_betas,
        metrics=("recall", "ndcg"),
        n_rankings=args.n_rankings,
        generator="binormal",
    )
    # Per mu: the curve, then the same rankings again for the negatives in the top K.
    runs = 2 * len(args.mus)
    _preflight(args, corr._cost.Cost(one.bytes, runs * one.seconds, f"{runs} x ({one.what})"))
    betas = corr.fig6_grid(FIG6["n_neg"], args.n_betas)
    t0 = time.perf_counter()
    curves, peaks = corr.binormal_study(
        args.mus,
        FIG6["n_pos"],
        FIG6["n_neg"],
        ks=FIG6["ks"],
        betas=betas,
        metrics=("recall", "ndcg"),
        n_rankings=args.n_rankings,
        seed=args.seed,
        progress=not args.quiet,
    )
    elapsed = time.perf_counter() - t0
    params = {
        "n_pos": FIG6["n_pos"],
        "n_neg": FIG6["n_neg"],
        "ks": FIG6["ks"],
        "mus": args.mus,
        "n_betas": args.n_betas,
        "n_rankings": args.n_rankings,
        "generator": "binormal",
    }
    for path in save_result_set(
        {"binormal_curves": curves, "binormal_peaks": peaks},
        "binormal",
        params=params,
        seed=args.seed,
        results_dir=args.results_dir,
        extra={"seconds": round(elapsed, 2)},
    ):
        print(f"wrote {path}")
    wide = peaks.pivot_table(index=["metric", "k"], columns="mu", values="beta", sort=False)
    wide.columns = [f"mu={m:g}" for m in wide.columns]
    print("peak beta by binormal mu (rows: metric, K):")
    print(_fmt_table(wide.reset_index()))
    ratio = peaks[peaks.k > 1].pivot_table(
        index=["metric", "k"], columns="mu", values="m_peak_over_neg_in_top_k", sort=False
    )
    ratio.columns = [f"mu={m:g}" for m in ratio.columns]
    print("peak cut beta*n_neg / mean negatives in the top K (rows: metric, K):")
    print(_fmt_table(ratio.reset_index(), floatfmt=".3g"))
    if not args.no_figure:
        _write_figures(["binormal_peaks"], args)
    return 0


def run_methods(args: argparse.Namespace) -> int:
    import pandas as pd

    from opauc_sim import correlation as corr
    from opauc_sim.results_cache import save_result_set

    _outputs_for(args, "methods")
    size = dict(n_ks=len(FIG6["ks"]), n_betas=args.n_betas)
    cost = corr.beta_curve_cost(FIG6["n_pos"], FIG6["n_neg"], **size, exact=True)
    for method in ("spearman", "kendall"):
        cost = cost + corr.beta_curve_cost(
            FIG6["n_pos"], FIG6["n_neg"], **size, method=method, n_rankings=args.n_rankings
        )
    _preflight(args, cost)
    betas = corr.fig6_grid(FIG6["n_neg"], args.n_betas)
    kw = dict(ks=FIG6["ks"], betas=betas, metrics=("recall", "precision", "ndcg"))
    curves, timing = [], {}
    for method in ("pearson", "spearman", "kendall"):
        t0 = time.perf_counter()
        if method == "pearson":
            c = corr.beta_curve(FIG6["n_pos"], FIG6["n_neg"], **kw, exact=True)
            c["n_rankings"] = pd.NA
        else:
            c = corr.beta_curve(
                FIG6["n_pos"],
                FIG6["n_neg"],
                **kw,
                method=method,
                n_rankings=args.n_rankings,
                seed=args.seed,
                progress=not args.quiet,
            )
        timing[method] = round(time.perf_counter() - t0, 2)
        curves.append(c.assign(method=method if method != "pearson" else "pearson (exact)"))
    curve = pd.concat(curves, ignore_index=True)
    curve = curve[["method", *[c for c in curve.columns if c != "method"]]]
    peaks, claims = [], []
    for method, part in curve.groupby("method", sort=False):
        body = part.drop(columns="method")
        peaks.append(corr.peak_beta(body).assign(method=method))
        claims.append(corr.check_paper_claims(body).assign(method=method))
    peaks = pd.concat(peaks, ignore_index=True)
    claims = pd.concat(claims, ignore_index=True)
    params = {
        "n_pos": FIG6["n_pos"],
        "n_neg": FIG6["n_neg"],
        "ks": FIG6["ks"],
        "n_betas": args.n_betas,
        "n_rankings": args.n_rankings,
        "methods": ["pearson (exact)", "spearman", "kendall"],
    }
    for path in save_result_set(
        {"fig6_methods_curves": curve, "fig6_methods_claims": claims},
        "fig6_methods",
        params=params,
        seed=args.seed,
        results_dir=args.results_dir,
        extra={"seconds": timing},
    ):
        print(f"wrote {path}")
    wide = peaks[peaks.metric != "precision"].pivot_table(
        index=["metric", "k"], columns="method", values=["beta", "corr"], sort=False
    )
    wide.columns = [f"{v} ({m})" for v, m in wide.columns]
    print("peak beta and peak correlation by coefficient (precision = recall):")
    print(_fmt_table(wide.reset_index(), floatfmt=".4g"))
    summary = claims[claims.scope == "all"].pivot(index="claim", columns="method", values="detail")
    print("claims by coefficient:")
    print(_fmt_table(summary.reset_index()))
    print(f"seconds: {timing}")
    if not args.no_figure:
        _write_figures(["methods"], args)
    return 0


def _common(parser: argparse.ArgumentParser, *, seed: bool = True) -> None:
    _outputs.add_output_options(parser)
    parser.add_argument("--no-figure", action="store_true", help="do not draw the figure")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    if seed:
        parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="Numba threads (default: Numba's, all cores); the numbers do not depend on it",
    )


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
        "--n-betas", type=int, default=FIG6["n_betas"], help="log-spaced betas from 1/n_neg to 1"
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
        help="that many log-spaced betas from 1/n_neg to 1 (default: 61, when --betas is not "
        "given)",
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
        "--n-betas", type=int, default=61, help="log-spaced betas from 1/n_neg to 1"
    )
    _common(binormal)
    _done(binormal, run_binormal)

    methods = add("methods", "Fig. 6 under Pearson, Spearman and Kendall")
    methods.add_argument(
        "--n-rankings", type=int, default=100_000, help="Monte Carlo rankings per coefficient"
    )
    methods.add_argument(
        "--n-betas", type=int, default=61, help="log-spaced betas from 1/n_neg to 1"
    )
    _common(methods)
    _done(methods, run_methods)
