"""Where full-item DNS switches from one pass to two (``numba_inline._TWO_PASS``).

The exact top M of a user's score row over all items, by the two strategies of
:func:`opauc_sim.train.numba_inline._top_m_of_row`: ``one pass`` (a heap offered every
item, blocks of 16 skipped by their maximum) and ``two passes`` (block maxima, a
threshold, then only the items above it), each followed by the same heap sort. The rows
are a trained model's, with each user's training items excluded as in training: MF with
DNS(50, all) trained ``--epochs`` epochs on ``--dataset``, ``--users`` users drawn at
random. One thread; microseconds a row, the minimum of ``--repeats`` timings.

    python benchmarks/bench_top_m.py                        # Gowalla, 15 epochs (~1.5 min)
    python benchmarks/bench_top_m.py --dataset ml-1m --epochs 5
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from numba import njit

from opauc_sim.train.numba_inline import _heap_sort, _one_pass, _two_pass


def _timer(strategy):
    @njit
    def run(rows, users, indptr, indices, m):
        hs = np.empty(m, rows.dtype)
        hj = np.empty(m, np.int64)
        declined = 0  # rows the two-pass strategy leaves to one pass (fewer blocks than M)
        for g in range(rows.shape[0]):
            u = users[g]
            size = strategy(rows[g], m, indices, indptr[u], indptr[u + 1], hs, hj)
            _heap_sort(hs, hj, size, m)
            declined += size < 0
        return declined

    return run


def trained_rows(dataset: str, epochs: int, n_users: int, seed: int = 0):
    """Score rows of ``n_users`` random users of a DNS(50, all) model, and the exclusions."""
    from opauc_sim.train import load_split
    from opauc_sim.train.config import TrainConfig
    from opauc_sim.train.numba_engine import NumbaEngine

    split = load_split(dataset, seed=seed, valid_frac=0.1)
    config = TrainConfig(
        sampler="dns", M=50, N="all", batching="user", weight_decay=0.001, seed=seed, eval_every=0
    )
    engine = NumbaEngine(split, [config])
    for _ in range(epochs):
        engine.epoch()
    if n_users > split.n_users:
        raise ValueError(f"{dataset} has {split.n_users} users, fewer than {n_users}")
    users = np.random.default_rng(seed).choice(split.n_users, n_users, replace=False)
    tables = engine.tables[0]
    rows = np.ascontiguousarray(tables["user"][users] @ tables["item"].T)
    excl = engine.exclusions
    return rows, users, excl.indptr.astype(np.int64), excl.indices.astype(np.int64)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="gowalla")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--users", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ms", default="16,24,32,40,50,64,100,200")
    args = parser.parse_args(argv)
    for name in ("epochs", "users", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1, not {getattr(args, name)}")
    try:
        ms = [int(m) for m in args.ms.split(",")]
    except ValueError:
        parser.error(f"--ms must be comma-separated integers, not {args.ms!r}")
    if min(ms) < 1:
        parser.error(f"--ms must be positive, not {args.ms!r}")
    import numba

    numba.set_num_threads(1)
    try:
        rows, users, indptr, indices = trained_rows(args.dataset, args.epochs, args.users)
    except (ValueError, OSError) as exc:  # an unknown data set, too many users, no data
        parser.error(f"--dataset {args.dataset!r}, --users {args.users}: {exc}")
    timers = {"one pass": _timer(_one_pass), "two passes": _timer(_two_pass)}
    for run in timers.values():
        run(rows[:2], users[:2], indptr, indices, 8)  # compile
    print(f"{args.dataset}, {args.epochs} epochs of DNS(50, all), {len(users)} users; us a row")
    print("| M | " + " | ".join(timers) + " | two / one |")
    print("|---:|" + "---:|" * (len(timers) + 1))
    for m in ms:
        best = {}
        for name, run in timers.items():
            times = []
            for _ in range(args.repeats):
                start = time.process_time()
                declined = run(rows, users, indptr, indices, m)
                times.append(time.process_time() - start)
            best[name] = min(times) / len(users) * 1e6
        cells = " | ".join(f"{best[name]:.1f}" for name in timers)
        ratio = f"{best['two passes'] / best['one pass']:.2f}"
        if declined:
            ratio = f"n/a ({declined} rows with fewer blocks than M)"
        print(f"| {m} | {cells} | {ratio} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
