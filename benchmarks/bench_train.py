"""Epoch time of the training samplers on ML-1M, and the full-ranking evaluation time.

Prints, for RNS, DNS(5, 200) and Softmax-v(1, 200) on the device asked for, the median
seconds per training epoch over ``--epochs`` epochs (after one warm-up epoch), the ratio
to RNS measured in the same run, and the median time of a full-ranking evaluation of all
ML-1M test users (``opauc_sim.train.evaluate_ranking``, which calls
``opauc_sim.metrics.evaluate(..., opauc_ks=ks)`` once per chunk) next to that call alone.

    python benchmarks/bench_train.py --device cpu --threads 1 --epochs 2
    python benchmarks/bench_train.py --device cuda --epochs 5
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ml-1m")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs per sampler")
    parser.add_argument("--eval-repeats", type=int, default=3)
    args = parser.parse_args(argv)

    import torch

    from opauc_sim.metrics import evaluate
    from opauc_sim.train import load_split
    from opauc_sim.train.evaluation import evaluate_ranking
    from opauc_sim.train.loop import TrainConfig, _Group, _sync, resolve_device

    if args.threads:
        torch.set_num_threads(args.threads)
    dev = resolve_device(args.device)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor()
    print(f"device: {dev} ({name}); torch threads: {torch.get_num_threads()}")
    split = load_split(args.dataset, seed=0)
    print(f"{args.dataset}: {split.n_users} users, {split.n_items} items, {split.train.nnz} train")

    configs = [
        TrainConfig(sampler="rns"),
        TrainConfig(sampler="dns", M=5, N=200),
        TrainConfig(sampler="softmax", rho=1.0, N=200),
    ]
    rows = []
    for config in configs:
        group = _Group(split, [config], dev)
        group.epoch()  # warm-up

        def one_epoch(group=group):
            group.epoch()
            _sync(dev)

        rows.append((config.label, _median_time(one_epoch, args.epochs)))
    base = rows[0][1]
    print(f"\n{'sampler':<28}{'s/epoch':>10}{'x RNS':>8}")
    for label, sec in rows:
        print(f"{label:<28}{sec:>10.3f}{sec / base:>8.1f}")

    rng = np.random.default_rng(0)
    scores = rng.normal(size=(split.n_users, 32)) @ rng.normal(size=(split.n_items, 32)).T
    test_users = np.flatnonzero(np.diff(split.test.indptr) > 0)
    ks = (5, 20, 50)
    evaluate(split.test[test_users], scores[test_users], ks=ks, exclude=split.train_all[test_users])
    t_eval = _median_time(
        lambda: evaluate(
            split.test[test_users],
            scores[test_users],
            ks=ks,
            betas=(1.0,),
            opauc_ks=ks,
            exclude=split.train_all[test_users],
        ),
        args.eval_repeats,
    )
    t_rank = _median_time(
        lambda: evaluate_ranking(split.test, scores, exclude=split.train_all, ks=ks),
        args.eval_repeats,
    )
    print(f"\nfull-ranking evaluation of {len(test_users)} users x {split.n_items} items (CPU):")
    print(f"  metrics.evaluate alone:                      {t_eval:.3f} s")
    print(f"  evaluate_ranking (chunks, user selection):     {t_rank:.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
