"""``opauc-sim report``: the Markdown summary of a sweep CSV (opauc_sim.train.report)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def run_report(args: argparse.Namespace) -> int:
    from opauc_sim.train.report import report_markdown

    df = _read_sweep(args.csv, "csv")
    other = _read_sweep(args.against, "--against") if args.against is not None else None
    extended = None
    if args.extend is not None:
        from opauc_sim.train.guideline import extend
        from opauc_sim.train.sweep_files import protocol_of

        extension = _read_sweep(args.extend, "--extend", protocol=protocol_of(df))
        extended = extend(df, extension, option=f"--extend {args.extend!r}")
    dataset = str(df["dataset"].iloc[0]) if "dataset" in df else ""
    text = report_markdown(
        df, dataset=dataset, reference=_paper_reference(dataset), extended=extended
    )
    if "test_ndcg@50" not in df:
        ks = sorted({c.split("@")[1] for c in df.columns if c.startswith("test_ndcg@")}, key=int)
        why = (
            f"{args.csv} has no metrics at K = 50 (its cut-offs K: {', '.join(ks) or 'none'}), "
            f"the K at which Table 2 and the comparisons with BPR are made"
        )
        if "|" not in text:
            raise ValueError(f"{why}; nothing to report: sweep with --ks including 50")
        print(f"opauc-sim report: note: {why}; they are left out", file=sys.stderr)
    print(text)
    if other is not None:
        print()
        print(_against(df, other))
    return 0


def _against(df, other) -> str:
    """Two sweeps side by side: the batching control where they differ in batching (the
    user-batched one first or second), else the two recipes' comparison."""
    from opauc_sim.train.recipes import recipe_markdown
    from opauc_sim.train.report import batching_markdown

    batching = [set(d["batching"]) if "batching" in d else {"pair"} for d in (df, other)]
    if batching == [{"user"}, {"pair"}]:
        return batching_markdown(df, other.assign(batching="pair"))
    if batching == [{"pair"}, {"user"}]:
        return batching_markdown(other, df.assign(batching="pair"))
    return recipe_markdown(df, other)


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


def _read_sweep(name: str, arg: str, *, protocol: dict[str, set[str]] | None = None):
    """The finished rows of the sweep CSV at ``name`` (the sweeps' own checked reader:
    cut and repeated rows dropped, edited rows, mixed protocols and, with ``protocol``,
    another protocol refused), ``arg`` naming it in errors."""
    from opauc_sim.train.sweep_files import read_rows

    path = Path(name)
    if not path.is_file():
        raise ValueError(f"{arg} {name!r} is not a file (a sweep's results/NAME.csv)")
    df = read_rows(
        path,
        lambda line: print(f"opauc-sim report: note: {line}", file=sys.stderr),
        option=arg,
        protocol=protocol,
    )
    if df.empty and not len(df.columns):
        raise ValueError(f"{arg} {name!r} is empty: not a sweep's CSV")
    missing = [c for c in ("sampler", "label", "M", "N", "weight_decay") if c not in df]
    if missing:
        raise ValueError(f"{arg} {name!r} is not a sweep's CSV: it lacks the columns {missing}")
    if df.empty:
        raise ValueError(f"{arg} {name!r} holds no finished row: nothing to report")
    return df


def register(subparsers) -> None:
    from opauc_sim.commands._help import PlainHelpFormatter

    r = subparsers.add_parser(
        "report",
        help="tables of a sweep CSV: Table 2 analog and the guideline per K",
        description="Print the Markdown tables of a sweep: BPR against the best DNS and "
        "Softmax-v (mean and sd over seeds where there are several), the best M, rho and N "
        "per K with paired comparisons, and, for a study of DNS over all items, the "
        "pre-registered guideline verdict (opauc_sim.train.summary, .report, .guideline); with "
        "--extend, the same statistic on the grid with its extension, marked exploratory.",
        formatter_class=PlainHelpFormatter,
    )
    r.add_argument("csv", help="a sweep's results/NAME.csv")
    r.add_argument(
        "--against",
        metavar="CSV",
        help="a second sweep of the same configurations, paired by seed: under the other "
        "--batching, the pre-registered batching control (user - pair, the 2%% rule); else "
        "under the other recipe (--authors-code or not), the recipes' table",
    )
    r.add_argument(
        "--extend",
        metavar="CSV",
        help="the rows of an extension of a guideline study's grid of M (DNS(M, all) at M "
        "the grid lacks, same protocol; results/guideline_<dataset>_explore.csv): adds the "
        "guideline statistic on the union, marked exploratory, after the pre-registered "
        "verdict",
    )
    r.set_defaults(func=run_report)
