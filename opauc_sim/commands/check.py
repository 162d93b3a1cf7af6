"""``opauc-sim check`` and ``opauc-sim proof-tables``: the numerical proofs checks.

``check`` runs every check of ``opauc_sim.checks`` (Theorem 3, Lemma 1, Theorem 1,
Theorem 2; the same functions the pytest modules in ``proofs_check/`` assert on) and prints
a table: claim, cases tried, worst violation or maximum error, verdict. A verdict is
"holds"/"fails" for a claim, "(finding)" for a probe outside a theorem's preconditions that
is expected to fail, "measured" for a number that is reported rather than asserted, and
"UNEXPECTED" when an outcome contradicts what was expected (the exit status is then 1).

``proof-tables`` computes the cached tables behind the README's proofs section and the
figures (random-ranking scatter for Theorem 3, the DNS(M, N) bias, the Taylor tau error and
the Softmax-v vs CVaR gap), writes them to ``results/`` with their JSON sidecars and prints
them.
"""

from __future__ import annotations

import argparse
import sys
import time


def run_check(args: argparse.Namespace) -> int:
    import pandas as pd

    from opauc_sim.checks import format_table, run_checks

    if args.save:  # an unusable folder is reported before the checks run
        from opauc_sim.results_cache import check_writable_dir

        check_writable_dir(args.results_dir, "--results-dir")
    start = time.perf_counter()
    results = run_checks(args.only, deep=args.deep)
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


def compute_tables(results_dir: str = "results", *, quick: bool = False) -> dict[str, object]:
    """Compute and cache the proofs tables; return {name: DataFrame}."""
    from opauc_sim.checks import theorem1, theorem2, theorem3
    from opauc_sim.results_cache import save_result_set

    tables = {}
    params3 = {"n_pos": 200, "n_neg": 800, "ks": [10, 50], "n_rankings": 500 if quick else 3000}
    seed3 = 20230303
    tables["theorem3_scatter"] = (theorem3.scatter_table(**params3, seed=seed3), params3, seed3)
    params1 = {"n_neg": 1000, "n_rows": 50 if quick else 200}
    tables["theorem1_dns_bias"] = (theorem1.dns_bias_table(**params1, seed=5), params1, 5)
    params2 = {"n": 200, "n_rows": 10 if quick else 50}
    full = theorem2.taylor_table(**params2, seed=17)
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

    check_writable_dir(args.results_dir, "--results-dir")  # before any computing

    tables = compute_tables(args.results_dir, quick=args.quick)
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
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--only", nargs="*", help="only checks whose name contains one of these (theorem3, ...)"
    )
    parser.add_argument("--deep", action="store_true", help="ten times more random cases")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--verbose", "-v", action="store_true", help="print every note")
    parser.add_argument(
        "--save", action="store_true", help="also write results/proofs_check_verdicts.csv"
    )
    parser.add_argument("--results-dir", default="results", help="where --save writes")
    parser.set_defaults(func=run_check)

    tables = subparsers.add_parser(
        "proof-tables",
        help="compute and cache the proofs tables (Theorem 3 scatter, DNS bias, Taylor tau)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tables.add_argument("--results-dir", default="results", help="cache to write")
    tables.add_argument("--quick", action="store_true", help="fewer rows (for tests)")
    tables.set_defaults(func=run_tables)
