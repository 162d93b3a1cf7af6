"""``opauc-sim report``: the Markdown summary of a sweep CSV (opauc_sim.train.report)."""

from __future__ import annotations

import argparse
from pathlib import Path


def run_report(args: argparse.Namespace) -> int:
    from opauc_sim.train.report import report_markdown

    df = _read_sweep(args.csv, "csv")
    dataset = str(df["dataset"].iloc[0]) if "dataset" in df and len(df) else ""
    print(report_markdown(df, dataset=dataset, reference=_paper_reference(dataset)))
    if args.against is not None:
        from opauc_sim.train.recipes import recipe_markdown

        other = _read_sweep(args.against, "--against")
        print()
        print(recipe_markdown(df, other))
    return 0


def _paper_reference(dataset: str) -> dict | None:
    """The paper's Table 2 for ``dataset`` (its registry entry), keyed as Table 2's rows."""
    from opauc_sim.train import datasets, samplers, summary

    try:
        ref = datasets.paper_reference(dataset)
    except ValueError:  # a LightGCN folder given as a path: no reference
        return None
    if ref is None:
        return None
    return {summary._method_name(samplers.get(s)): v for s, v in ref.values.items()}


def _read_sweep(name: str, arg: str):
    """The sweep CSV at ``name``, checked to be one (``arg`` names it in errors)."""
    import pandas as pd

    path = Path(name)
    if not path.is_file():
        raise ValueError(f"{arg} {name!r} is not a file (a sweep's results/NAME.csv)")
    df = pd.read_csv(path, dtype={"id": str})
    missing = [c for c in ("sampler", "label", "M", "N", "weight_decay") if c not in df]
    if missing:
        raise ValueError(f"{arg} {name!r} is not a sweep's CSV: it lacks the columns {missing}")
    return df


def register(subparsers) -> None:
    r = subparsers.add_parser(
        "report",
        help="tables of a sweep CSV: Table 2 analog and the guideline per K",
        description="Print the Markdown tables of a sweep: BPR against the best DNS and "
        "Softmax-v (mean and sd over seeds where there are several), the best M, rho and N "
        "per K with paired comparisons, and, for a study of DNS over all items, the "
        "pre-registered guideline verdict (opauc_sim.train.summary, .report, .guideline).",
    )
    r.add_argument("csv", help="a sweep's results/NAME.csv")
    r.add_argument(
        "--against",
        metavar="CSV",
        help="a sweep of the same grid under the other recipe (--authors-code or not): "
        "adds a table pairing their configurations and seeds (opauc_sim.train.recipes)",
    )
    r.set_defaults(func=run_report)
