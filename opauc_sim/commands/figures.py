"""``opauc-sim figures``: redraw every figure (PNG) from the cached results.

The figures are drawn by the package's own plotting code (``opauc_sim.plots``), reading
only the cache in ``--results-dir``; nothing is imported from the current directory. A
figure whose cache has not been computed yet is skipped with a note (exit status 1); a
cached table that does not fit its figure is a one-line error (exit status 2).

Figures and the commands that compute their caches:
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from opauc_sim.commands._help import HelpFormatter


def run(args: argparse.Namespace) -> int:
    from opauc_sim import plots
    from opauc_sim._optional import require_matplotlib
    from opauc_sim.commands import _outputs
    from opauc_sim.results_cache import check_writable_dir

    require_matplotlib("opauc-sim figures")

    results = Path(args.results_dir)
    canonical = _outputs.is_committed(results)
    if args.out_dir is None:  # the committed PNGs come only from the committed results
        args.out_dir = str(_outputs.committed_figures(results) if canonical else results)
    elif not canonical and not args.update_results:
        _outputs.refuse_committed(
            "--out-dir",
            args.out_dir,
            f"--results-dir {args.results_dir!r} does not hold the committed results",
        )
    check_writable_dir(args.out_dir, "--out-dir")  # before any figure is drawn
    chosen = plots.select(args.only)
    if not chosen:
        known = ", ".join(f.name for f in plots.FIGURES)
        print(
            f"opauc-sim figures: error: --only {' '.join(args.only)!r} matched no figure "
            f"(known: {known})",
            file=sys.stderr,
        )
        return 2
    failed = bad = 0
    for figure in chosen:
        try:
            written = plots.draw(figure.name, results_dir=args.results_dir, out_dir=args.out_dir)
        except FileNotFoundError as exc:  # a cache that has not been computed yet
            failed += 1
            print(f"{figure.name}: skipped, run {figure.source} first ({exc})", file=sys.stderr)
            continue
        except (ValueError, KeyError, AttributeError, TypeError) as exc:
            # A cached table that does not fit the figure (a column missing, a CSV that no
            # longer matches its sidecar): one line naming the figure, then the next one.
            bad += 1
            detail = str(exc)
            if isinstance(exc, KeyError | AttributeError):  # df["x"] or df.x
                detail = f"missing column: {detail} (in a table under {args.results_dir})"
            detail = " ".join(detail.split())
            print(f"opauc-sim figures: error: {figure.name}: {detail}", file=sys.stderr)
            continue
        for path in written:
            print(f"{figure.name}: wrote {path}")
    return 2 if bad else 1 if failed else 0


def register(subparsers) -> None:
    from opauc_sim import plots

    listing = "\n".join(f"  {f.name:<20} {f.pngs:<32} {f.source}" for f in plots.FIGURES)
    parser = subparsers.add_parser(
        "figures",
        help="redraw every figure (PNG) from the cached results",
        description=f"{__doc__}\n{listing}",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--results-dir", default="results", metavar="DIR", help="the cache to read")
    parser.add_argument(
        "--out-dir",
        default=None,
        metavar="DIR",
        help="where the PNGs go (default: figures/ when --results-dir is results/, else the "
        "results folder itself)",
    )
    parser.add_argument(
        "--update-results",
        action="store_true",
        help="let figures drawn from another results folder overwrite the committed figures/",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        default=None,
        help="only the figures whose name contains one of these (default: all)",
    )
    parser.set_defaults(func=run)
