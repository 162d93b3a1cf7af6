"""Epoch time of the samplers against the authors' training loop, and the evaluation time.

For RNS, DNS(5, 200) and Softmax-v(1, 200) this times, in the same process and with the
same thread count:

- the project's epoch on the CPU (the fused Numba trainer, ``opauc_sim.train.numba_engine``), in
  the project's recipe and in the authors' recipe (``--authors-code``);
- the authors' batch loop, re-created here from their published code
  (``swt-user/WWW_2023_code``: ``main_more.py``, ``model.py``, ``sampler.py``):
  ``torch.randint`` candidates over all items, an ``nn.Embedding`` gather, ``topk``
  (DNS) or the tau-softmax weights (Softmax-v), ``-logsigmoid`` losses summed over the
  batch, ``torch.optim.Adam(weight_decay=...)``. Its epoch time is the median batch time
  times the number of batches (``--author-batches`` batches are timed after one warm-up
  batch), since a full epoch of it takes minutes;
- optionally (``--torch-engine``) the project's own PyTorch engine;

and prints each time and the ratio authors / project. Then it times one full-ranking
evaluation of every test user (scoring GEMM plus ``opauc_sim.metrics.evaluate``), with
and without the AUC column.

    python benchmarks/bench_train.py --dataset gowalla --threads 1
    python benchmarks/bench_train.py --dataset ml-1m --threads 1 --epochs 3
"""

from __future__ import annotations

import argparse
import os
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


def authors_batch_fn(torch, n_users, n_items, users, items, config, dim=32, lr=1e-3):
    """One batch of the authors' loop (their formulas, re-created), as a closure."""
    user_emb = torch.nn.Embedding(n_users, dim)
    item_emb = torch.nn.Embedding(n_items, dim)
    torch.nn.init.normal_(user_emb.weight, std=0.1)
    torch.nn.init.normal_(item_emb.weight, std=0.1)
    params = [user_emb.weight, item_emb.weight]
    optimizer = torch.optim.Adam(params, lr=lr, weight_decay=config.weight_decay)
    n = config.N
    log_q = -np.log(n_items)  # base_sampler's constant proposal log-probability
    users_t = torch.as_tensor(users)
    items_t = torch.as_tensor(items)
    batch = config.batch_size
    state = {"start": 0}

    def step():
        start = state["start"]
        if start + batch > len(users):
            start = 0
        state["start"] = start + batch
        u = users_t[start : start + batch]
        i = items_t[start : start + batch]
        optimizer.zero_grad()
        neg = torch.randint(0, n_items, size=(len(u), n))  # base_sampler.forward
        pos_rat = (user_emb(u) * item_emb(i)).sum(-1)  # BaseMF.forward / inference
        neg_rat = (user_emb(u.unsqueeze(1).repeat(1, n)) * item_emb(neg)).sum(-1)
        if config.sampler == "dns":  # loss_type 1
            top, _ = torch.topk(neg_rat, config.M, dim=-1)
            pred = pos_rat.unsqueeze(1) - top
            loss = (-torch.nn.functional.logsigmoid(pred)).sum(-1).sum(-1)
        else:  # RNS (N = 1, uniform weights) or Softmax-v (loss_type 2, weighted)
            pred = pos_rat.unsqueeze(1) - neg_rat
            with torch.no_grad():
                if config.sampler == "softmax":
                    z = -torch.nn.functional.logsigmoid(pred)
                    tau = torch.sqrt(torch.var(z, dim=1, keepdim=True) / (2 * config.rho))
                    importance = torch.softmax(z / tau - log_q, dim=1)
                else:
                    importance = torch.softmax(torch.ones_like(pred), dim=1)
            weighted = importance.detach() * -torch.nn.functional.logsigmoid(pred)
            loss = weighted.sum(-1).sum(-1)
        loss.backward()
        optimizer.step()

    return step


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="gowalla", help="gowalla, ml-1m or ml-100k")
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=2, help="timed project epochs each")
    parser.add_argument("--author-batches", type=int, default=10)
    parser.add_argument("--eval-repeats", type=int, default=2)
    parser.add_argument("--torch-engine", action="store_true", help="also time TorchEngine")
    parser.add_argument("--skip-authors", action="store_true")
    args = parser.parse_args(argv)

    from opauc_sim.train import load_split, set_threads
    from opauc_sim.train.config import TrainConfig
    from opauc_sim.train.evaluation import evaluate_ranking
    from opauc_sim.train.numba_engine import NumbaEngine

    threads = set_threads(args.threads)
    import torch

    torch.set_num_threads(threads)
    print(f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(f"threads: Numba/BLAS/torch = {threads}; torch {torch.__version__}")
    split = load_split(args.dataset, cache_dir=args.cache_dir, seed=0, valid_frac=0.0)
    n_pairs = split.train.nnz
    n_batches = -(-n_pairs // 4096)
    print(
        f"{args.dataset}: {split.n_users} users, {split.n_items} items, "
        f"{n_pairs} training pairs, {n_batches} batches of 4096"
    )
    configs = [
        TrainConfig(sampler="rns", weight_decay=0.01),
        TrainConfig(sampler="dns", M=5, N=200, weight_decay=0.01),
        TrainConfig(sampler="softmax", rho=1.0, N=200, weight_decay=0.01),
    ]
    users = np.repeat(np.arange(split.n_users), np.diff(split.train.indptr))
    items = split.train.indices.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(users))
    users, items = users[order], items[order]
    rows = []
    for config in configs:
        row = {"label": config.label}
        for name, cfg in (
            ("project", config),
            ("project_authors", TrainConfig(**{**config.to_dict(), "authors_code": True})),
        ):
            engine = NumbaEngine(split, [cfg])
            engine.epoch()  # warm-up (and JIT)
            row[name] = _median_time(engine.epoch, args.epochs)
        if args.torch_engine:
            from opauc_sim.train.torch_engine import TorchEngine

            engine = TorchEngine(split, [config], "cpu")
            engine.epoch()
            row["torch_engine"] = _median_time(engine.epoch, 1)
        if not args.skip_authors:
            step = authors_batch_fn(torch, split.n_users, split.n_items, users, items, config)
            step()
            row["authors"] = _median_time(step, args.author_batches) * n_batches
        rows.append(row)
        print(f"  {row}", flush=True)

    print(
        "\n| sampler | authors' loop, s/epoch | opauc-sim (project recipe) | × faster "
        "| opauc-sim (authors' recipe) | × faster |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        a = r.get("authors", float("nan"))
        print(
            f"| {r['label']} | {a:.2f} | {r['project']:.2f} | {a / r['project']:.1f} "
            f"| {r['project_authors']:.2f} | {a / r['project_authors']:.1f} |"
        )
    if args.torch_engine:
        for r in rows:
            print(f"  TorchEngine {r['label']}: {r['torch_engine']:.2f} s/epoch")

    rng = np.random.default_rng(0)
    user_w = rng.normal(0, 0.1, (split.n_users, 32)).astype(np.float32)
    item_w = rng.normal(0, 0.1, (split.n_items, 32)).astype(np.float32)

    def score(rows_):
        return user_w[rows_] @ item_w.T

    n_test = int((np.diff(split.test.indptr) > 0).sum())
    for auc in (True, False):
        t = _median_time(
            lambda auc=auc: evaluate_ranking(
                split.test, score, exclude=split.train_all, ks=(5, 20, 50), auc=auc
            ),
            args.eval_repeats,
        )
        print(
            f"full-ranking evaluation, {n_test} users x {split.n_items} items, auc={auc}: {t:.2f} s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
