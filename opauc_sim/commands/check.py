"""``opauc-sim check``: the numerical checks of Theorem 3, Lemma 1, Theorem 1 and Theorem 2.

Runs every check of ``opauc_sim.checks`` (the same functions the pytest modules in
``proofs_check/`` assert on) and prints a table: claim, cases tried, worst violation or
maximum error, verdict. A verdict is "holds"/"fails" for a claim, "(finding)" for a probe
outside a theorem's preconditions that is expected to fail, "measured" for a number that is
reported rather than asserted, and "UNEXPECTED" when an outcome contradicts what was
expected (the exit status is then 1). The statements checked are in docs/theorems.md.
With --save, proofs_check_verdicts.csv gets the table's columns and the notes; the records'
stable keys (by which the tests find them) are not saved.
"""

from __future__ import annotations

import argparse
import sys
import time

from opauc_sim.commands import _outputs
from opauc_sim.commands._help import HelpFormatter

TABLES_DOC = """``opauc-sim proof-tables``: compute and cache the tables behind the proofs figures.

Computes the random-ranking scatter for Theorem 3, the DNS(M, N) bias, the Taylor tau
error and the Softmax-v vs CVaR gap, writes them (CSV with a JSON sidecar each) and prints
them. The default run writes the committed results/; --quick (fewer rows, for tests)
writes under runs/proof-tables-quick/ unless --results-dir says otherwise. Draw the figures
with ``opauc-sim figures --only theorem``.
"""


def run_check(args: argparse.Namespace) -> int:
    import pandas as pd

    from opauc_sim.checks import format_table, run_checks

    if args.save:  # an unusable folder is reported before the checks run
        from opauc_sim.results_cache import check_writable_dir

        results_dir, _, _ = _outputs.resolve(args, "check", args.keyed_defaults, figures=False)
        args.results_dir = str(results_dir)
        check_writable_dir(args.results_dir, "--results-dir")
    start = time.perf_counter()
    results = run_checks(args.only, deep=args.deep, progress=not args.quiet)
    elapsed = time.perf_counter() - start
    if not results:
        print(f"opauc-sim check: error: --only {args.only!r} matched no check", file=sys.stderr)
        return 2
    print(format_table(results, markdown=args.markdown))
    bad = [r for r in results if not r.ok]
    print(
        f"\n{len(results)} checks in {elapsed:.1f} s "
        f"({'deep' if args.deep else 'default'} profile); "
        f"{len(bad)} unexpected outcome{'s' if len(bad) != 1 else ''}"
    )
    for r in results:
        if r.note and (args.verbose or not r.ok):
            print(f"  note [{r.result}] {r.claim}: {r.note}")
    if args.save:
        from opauc_sim.results_cache import save_result

        frame = pd.DataFrame(
            [
                {
                    "result": r.result,
                    "claim": r.claim,
                    "cases": r.cases,
                    "worst": r.worst,
                    "measure": r.measure,
                    "verdict": r.verdict,
                    "note": r.note,
                }
                for r in results
            ]
        )
        path = save_result(
            frame,
            "proofs_check_verdicts",
            params={"deep": args.deep, "only": args.only},
            results_dir=args.results_dir,
        )
        print(f"wrote {path}")
    return 1 if bad else 0


def compute_tables(
    results_dir: str = "results", *, quick: bool = False, progress: bool = False
) -> dict[str, object]:
    """Compute and cache the proofs tables; return {name: DataFrame}."""
    from opauc_sim.checks import theorem1, theorem2, theorem3
    from opauc_sim.results_cache import save_result_set

    bar = None
    if progress:
        from opauc_sim._optional import progress_bar  # None without tqdm

        bar = progress_bar(total=3, unit="table", desc="proof tables", leave=False)
    tables = {}
    params3 = {"n_pos": 200, "n_neg": 800, "ks": [10, 50], "n_rankings": 500 if quick else 3000}
    seed3 = 20230303
    tables["theorem3_scatter"] = (theorem3.scatter_table(**params3, seed=seed3), params3, seed3)
    if bar is not None:
        bar.update(1)
    params1 = {"n_neg": 1000, "n_rows": 50 if quick else 200}
    tables["theorem1_dns_bias"] = (theorem1.dns_bias_table(**params1, seed=5), params1, 5)
    if bar is not None:
        bar.update(1)
    params2 = {"n": 200, "n_rows": 10 if quick else 50}
    full = theorem2.taylor_table(**params2, seed=17)
    if bar is not None:
        bar.close()
    tau_cols = ["dist", "n", "rho", "tau_star", "tau_taylor", "ratio", "ratio_min", "ratio_max"]
    tau_cols += ["kl_taylor"]
    gap_cols = ["dist", "n", "rho", "beta", "cvar_value", "kl_value", "softmax_v_value"]
    gap_cols += ["gap_kl_cvar", "gap_softmax_v_cvar", "gap_sd_kl_cvar", "gap_sd_softmax_v_cvar"]
    tables["theorem2_taylor_tau"] = (full[tau_cols], params2, 17)
    tables["theorem2_softmax_cvar_gap"] = (full[gap_cols], params2, 17)
    # One set, read back only whole; each table keeps its own parameters and seed.
    save_result_set(
        {name: frame for name, (frame, _, _) in tables.items()},
        "proof_tables",
        params={},
        results_dir=results_dir,
        per_member={name: {"params": p, "seed": s} for name, (_, p, s) in tables.items()},
    )
    return {name: frame for name, (frame, _, _) in tables.items()}


def run_tables(args: argparse.Namespace) -> int:
    import pandas as pd

    from opauc_sim.results_cache import check_writable_dir

    results_dir, _, _ = _outputs.resolve(args, "proof-tables", args.keyed_defaults, figures=False)
    args.results_dir = str(results_dir)
    check_writable_dir(args.results_dir, "--results-dir")  # before any computing

    tables = compute_tables(args.results_dir, quick=args.quick, progress=not args.quiet)
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        for name, frame in tables.items():
            print(f"\n== {name} ({len(frame)} rows) -> {args.results_dir}/{name}.csv")
            if name == "theorem3_scatter":
                view = frame.assign(
                    opauc=frame.pairs / (frame.n_pos * frame.n_neg),
                    recall=frame.hits / frame.n_pos,
                )
                print(view.groupby("k")[["opauc", "recall"]].describe().T)
            else:
                print(frame.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "check",
        help="run the numerical checks of Theorem 3, Lemma 1, Theorem 1 and Theorem 2",
        description=__doc__,
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--only",
        nargs="+",
        default=None,
        metavar="NAME",
        help="only the checks whose name contains one of these: theorem3, lemma1, theorem1, "
        "theorem2 (default: all)",
    )
    parser.add_argument("--deep", action="store_true", help="ten times more random cases")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--verbose", "-v", action="store_true", help="print every note")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--save",
        action="store_true",
        help="also write proofs_check_verdicts.csv (committed results/ for the default run)",
    )
    _outputs.add_output_options(parser, figures=False)
    parser.set_defaults(func=run_check, keyed_defaults=_outputs.keyed_defaults(parser))

    tables = subparsers.add_parser(
        "proof-tables",
        help="compute and cache the proofs tables (Theorem 3 scatter, DNS bias, Taylor tau)",
        description=TABLES_DOC,
        formatter_class=HelpFormatter,
    )
    tables.add_argument("--quick", action="store_true", help="fewer rows (for tests)")
    tables.add_argument("--quiet", action="store_true", help="no progress bar")
    _outputs.add_output_options(tables, figures=False)
    tables.set_defaults(func=run_tables, keyed_defaults=_outputs.keyed_defaults(tables))
