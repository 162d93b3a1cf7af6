"""``opauc-sim figures``: regenerate every figure (PNG) from the cached results.

Each ``figures/fig_*.py`` script defines a pure ``make_figure(df) -> Figure`` and a
``main(results_dir="results", out_dir="figures") -> list[Path]`` that reads only the
cache in ``results_dir`` and writes PNGs to ``out_dir``. This command imports every such
script and calls its ``main``. The scripts are ``figures/`` in a source checkout and
``opauc_sim/figures/`` in an installed wheel; drawing needs Matplotlib (extra ``plot``).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path


def default_figures_dir() -> Path:
    """The figure scripts of this copy of opauc-sim, wherever the command is run from.

    ``opauc_sim/figures/`` in an installed wheel (``pyproject.toml`` maps ``figures/``
    there), else ``figures/`` beside the package in a source checkout.
    """
    package = Path(__file__).resolve().parent.parent
    installed = package / "figures"
    return installed if installed.is_dir() else package.parent / "figures"


def find_figure_scripts(figures_dir: Path) -> list[Path]:
    return sorted(figures_dir.glob("fig_*.py"))


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(f"_opauc_fig_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(args: argparse.Namespace) -> int:
    from opauc_sim._optional import require_matplotlib
    from opauc_sim.results_cache import check_writable_dir

    require_matplotlib("opauc-sim figures")
    check_writable_dir(args.out_dir, "--out-dir")  # before any figure is drawn
    figures_dir = default_figures_dir() if args.figures_dir is None else Path(args.figures_dir)
    scripts = find_figure_scripts(figures_dir)
    if args.only:
        scripts = [s for s in scripts if any(key in s.stem for key in args.only)]
    if not scripts:
        print(f"no figure scripts matched in {str(figures_dir)!r}", file=sys.stderr)
        return 1
    failed = bad = 0
    for script in scripts:
        try:
            written = _load(script).main(results_dir=args.results_dir, out_dir=args.out_dir)
        except FileNotFoundError as exc:  # a cache that has not been computed yet
            failed += 1
            print(f"{script.name}: skipped: {exc}", file=sys.stderr)
            continue
        except (ValueError, KeyError, AttributeError, TypeError) as exc:
            # A cached table that does not fit the script (a column missing, a CSV that no
            # longer matches its sidecar): one line naming the script, then the next one.
            bad += 1
            detail = str(exc)
            if isinstance(exc, KeyError | AttributeError):  # df["x"] or df.x
                detail = f"missing column: {detail} (in a table under {args.results_dir})"
            detail = " ".join(detail.split())
            print(f"opauc-sim figures: error: {script.name}: {detail}", file=sys.stderr)
            continue
        for path in written or []:
            print(f"{script.name}: wrote {path}")
    return 2 if bad else 1 if failed else 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "figures",
        help="regenerate every figure (PNG) from cached results",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--results-dir", default="results", help="cache to read (default: results)")
    parser.add_argument(
        "--figures-dir", help="where the fig_*.py scripts are (default: those of opauc-sim)"
    )
    parser.add_argument("--out-dir", default="figures", help="where PNGs go (default: figures)")
    parser.add_argument("--only", nargs="*", help="only scripts whose name contains one of these")
    parser.set_defaults(func=run)
