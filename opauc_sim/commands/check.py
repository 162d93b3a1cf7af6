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
    from opauc_sim.checks import format_table, run_checks

    if args.save:  # an unusable folder is reported before the checks run
        from opauc_sim.results_cache import check_writable_dir

        results_dir, _, _ = _outputs.resolve(args, "check", args.keyed_defaults, figures=False)
        args.results_dir = str(results_dir)
        check_writable_dir(args.results_dir, "--results-dir")
        _outputs.say_where(args)
    start = time.perf_counter()
    results = run_checks(args.only, deep=args.deep, progress=not args.quiet)
    elapsed = time.perf_counter() - start
    if not results:
        print(f"opauc-sim check: error: --only {args.only!r} matched no check", file=sys.stderr)
        return 2
    print(format_table(results, markdown=args.markdown))
    bad = [r for r in results if not r.ok]
    skipped = [r for r in results if r.verdict == "skipped"]
    print(
        f"\n{len(results) - len(skipped)} checks in {elapsed:.1f} s "
        f"({'deep' if args.deep else 'default'} profile)"
        + (f", {len(skipped)} skipped (see the notes)" if skipped else "")
        + f"; {len(bad)} unexpected outcome{'s' if len(bad) != 1 else ''}"
    )
    if any("(finding)" in r.verdict for r in results):
        print(
            "(finding): a probe beyond a theorem's preconditions, reported as it comes out; "
            "'fails (finding)' is expected there and is no defect (docs/theorems.md)"
        )
    for r in results:
        if r.note and (args.verbose or not r.ok or r in skipped):
            print(f"  note [{r.result}] {r.claim}: {r.note}")
    if args.save:
        from opauc_sim.checks import verdict_frame
        from opauc_sim.results_cache import save_result

        path = save_result(
            verdict_frame(results),
            "proofs_check_verdicts",
            params={"deep": args.deep, "only": args.only},
            results_dir=args.results_dir,
        )
        print(f"wrote {path}")
    return 1 if bad else 0


def run_tables(args: argparse.Namespace) -> int:
    import pandas as pd

    from opauc_sim.results_cache import check_writable_dir

    results_dir, _, _ = _outputs.resolve(args, "proof-tables", args.keyed_defaults, figures=False)
    args.results_dir = str(results_dir)
    check_writable_dir(args.results_dir, "--results-dir")  # before any computing
    _outputs.say_where(args)

    from opauc_sim.checks.tables import proof_tables

    tables = proof_tables(args.results_dir, quick=args.quick, progress=not args.quiet)
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
