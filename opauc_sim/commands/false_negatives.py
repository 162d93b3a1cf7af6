"""``opauc-sim false-negatives``: how often hard negatives are held-out positives.

Train a model (BPR by default; the options are those of ``opauc-sim train``), then measure
the share of held-out positives (validation and test items) among DNS's top M of N
candidates, in Softmax-v's weight mass and among uniform draws
(``opauc_sim.train.false_negatives``). One table collects several data sets: this data
set's rows are replaced, the others' kept.

The committed table ``results/false_negatives.csv`` holds the canonical protocol: BPR, the
project's recipe, weight decay 0.01, 200 epochs selected on validation, 100,000 pairs
(``opauc-sim false-negatives --dataset NAME --weight-decay 0.01``). A run with any other
setting writes ``runs/false-negatives-<settings>/false_negatives.csv`` instead, unless
``--out`` says where; ``--out`` in the committed ``results/`` needs ``--update-results``
for such a run. Every option, the output and the memory of the measurement are checked
before any data is loaded.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

#: The settings of the committed table that differ from the options' defaults.
CANONICAL = {"weight_decay": 0.01, "valid_frac": 0.1, "eval_every": 10}
#: Options that do not change the table's numbers here (the data set is a row key).
_NOT_KEYED = frozenset({"dataset", "cache_dir", "out"})
#: The committed table's name.
TABLE = "false_negatives"


def _changed(args: argparse.Namespace) -> dict[str, Any]:
    """The settings of this run that are not the committed table's."""
    canonical = {**args.keyed_defaults, **CANONICAL}
    return {
        name: getattr(args, name)
        for name, value in canonical.items()
        if name not in _NOT_KEYED and getattr(args, name, value) != value
    }


def _output(args: argparse.Namespace) -> tuple[Path, str | None]:
    """This run's table, and the line that says where it goes (None when it is the
    committed table or ``--out``)."""
    from opauc_sim.commands import _outputs

    changed = _changed(args)
    canonical = not changed
    if args.out is not None:
        out = Path(args.out)
        if not canonical and not args.update_results:
            what = ", ".join(
                f"--{n.replace('_', '-')} {_outputs._text(v)}" for n, v in changed.items()
            )
            why = f"this run ({what}) is not the canonical one"
            _outputs.refuse_committed("--out", out.parent, why)
        return out, None
    if canonical or args.update_results:
        return _outputs.CANONICAL_RESULTS / f"{TABLE}.csv", None
    out = _outputs.RUNS_DIR / _outputs.run_key("false-negatives", changed) / f"{TABLE}.csv"
    note = (
        f"this run's table goes to {out} (settings other than the committed table's; "
        f"results/{TABLE}.csv is written only by the canonical run or with --update-results)"
    )
    return out, note


def _check_measurement(args: argparse.Namespace) -> int:
    """Check --ms, --rhos, --n-candidates and --n-pairs, and the memory they need; return
    the number of sampler settings measured."""
    import math

    from opauc_sim._cost import check_memory
    from opauc_sim._validation import check_int, check_real
    from opauc_sim.train.false_negatives import share_configs, shares_cost

    n = check_int("--n-candidates", args.n_candidates, low=1)
    check_int("--n-pairs", args.n_pairs, low=1)
    for m in args.ms:
        check_int("--ms", m, low=1, high=n)
    for rho in args.rhos:
        check_real("--rhos", rho, low=0.0, low_open=True)
        if not math.isfinite(rho):
            raise ValueError(f"--rhos must be finite, got {rho}")
    configs = share_configs(ms=args.ms, rhos=args.rhos, n=n, n_pairs=args.n_pairs)
    check_memory(shares_cost(len(configs), args.n_pairs))
    return len(configs)


def run(args: argparse.Namespace) -> int:
    from opauc_sim.commands.train import _train_one
    from opauc_sim.results_cache import check_writable_dir
    from opauc_sim.train import samplers
    from opauc_sim.train.false_negatives import (
        check_shares_out,
        false_negative_shares,
        save_shares,
    )

    where: dict[str, Path] = {}

    def check_out(config) -> None:  # every check, before any data is loaded
        _check_measurement(args)
        out, note = _output(args)
        if out.suffix != ".csv":
            raise ValueError(f"--out must end in .csv, got {str(out)!r}")
        check_writable_dir(out.parent if str(out.parent) else Path("."), "--out")
        where["out"] = check_shares_out(
            out, dataset=str(args.dataset), config=config, n_pairs=args.n_pairs
        )
        where["shown"] = out
        if note:
            print(note, flush=True)

    config, split, result = _train_one(args, check_out, keep_embeddings=True)
    table = false_negative_shares(
        result.user_embedding,
        result.item_embedding,
        split,
        ms=args.ms,
        rhos=args.rhos,
        n=args.n_candidates,
        n_pairs=args.n_pairs,
        seed=args.seed,
    )
    table = save_shares(
        where["out"],
        table,
        dataset=str(args.dataset),
        config=config,
        test=result.test,
        n_pairs=args.n_pairs,
        seed=args.seed,
        log=lambda line: print(f"note: {line}", flush=True),
    )
    mine = table[table["dataset"] == str(args.dataset)]
    for row in mine.itertuples():
        if row.sampler == "uniform":
            what = "uniform draws"
        elif samplers.get(row.sampler).weighs_all:
            what = f"{samplers.get(row.sampler).title}(rho={row.rho:g}) weight"
        else:
            what = f"{samplers.get(row.sampler).title} top-{row.M:g}"
        print(f"{args.dataset}: {what:<28} {100 * row.share:6.2f}% held-out positives")
    print(f"wrote {where['shown']}")
    return 0


def register(subparsers) -> None:
    from opauc_sim.commands import _outputs
    from opauc_sim.commands._help import PlainHelpFormatter
    from opauc_sim.commands.train import _add_common, _add_weight_decay, _sampler_options

    fn = subparsers.add_parser(
        "false-negatives",
        help="train a model, then measure how often hard negatives are held-out positives",
        description=__doc__,
        formatter_class=PlainHelpFormatter,
    )
    _add_common(fn)
    _sampler_options(fn)
    _add_weight_decay(fn)
    fn.add_argument(
        "--ms",
        type=int,
        nargs="+",
        default=[1, 5, 20],
        help="DNS's M values (default: %(default)s)",
    )
    fn.add_argument(
        "--rhos",
        type=float,
        nargs="+",
        default=[0.1, 1.0, 10.0],
        help="Softmax-v's rho values (default: %(default)s)",
    )
    fn.add_argument(
        "--n-candidates", type=int, default=200, help="candidates per pair N (default: %(default)s)"
    )
    fn.add_argument(
        "--n-pairs",
        type=int,
        default=100_000,
        help="training pairs sampled to average over (default: %(default)s)",
    )
    fn.add_argument(
        "--out",
        default=None,
        help=f"CSV whose rows for this data set are replaced (default: results/{TABLE}.csv for "
        f"the canonical settings, else runs/false-negatives-<settings>/{TABLE}.csv)",
    )
    fn.add_argument(
        "--update-results",
        action="store_true",
        help="let a run with other settings write the committed results/",
    )
    fn.set_defaults(func=run, keyed_defaults=_outputs.keyed_defaults(fn))
