"""Engine parity on a lent GPU: the torch engine on a device against Numba on the CPU.

Stage 1 of ``benchmarks/gpu_sweep.sh``; on its own::

    python benchmarks/gpu_parity.py --device cuda --out parity.json
    python benchmarks/gpu_parity.py --device cpu --quick      # that it runs, anywhere

On a small planted problem, for RNS, PNS, DNS(M, N), Softmax-v and DNS(M, all) in pair and
user batches, in both recipes:

1. ``batch``: one batch in float64, the same tables and candidates: pair losses and
   gradients of the batch loss (torch's autograd on the device against the Numba
   kernels; DNS(M, all) also its selections, exactly), bound 1e-10;
2. ``train64``: whole training in float64 from the same initial tables, batches and draws
   (:class:`opauc_sim.train.torch_engine.MirrorEngine`): the tables after the epochs,
   bound 1e-10;
3. ``train32``: the same in float32, the training dtype, bound 1e-3;
4. ``metrics``: float32 training as ``opauc-sim train`` runs it, each engine with its own
   random streams (Numba on the CPU, torch on the device): test NDCG@20 and Recall@20,
   bound 0.05 (the two runs agree in distribution, not draw for draw).

Each check is a row of the JSON written to ``--out`` (measured value, bound, ok), which is
rewritten after every row, so a run stopped at a time limit keeps what it measured; the
exit status is 1 when one fails. Threads: all cores for Numba and BLAS (the device
machine is not shared).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time

import numpy as np
import scipy.sparse as sp

from opauc_sim.train import data as D
from opauc_sim.train import engine as E
from opauc_sim.train import numba_engine, torch_engine
from opauc_sim.train.config import TrainConfig

KINDS = {
    "rns": dict(sampler="rns"),
    "pns": dict(sampler="pns", alpha=0.75),
    "dns": dict(sampler="dns", M=5, N=50),
    "softmax": dict(sampler="softmax", rho=1.0, N=50),
    "dns_all": dict(sampler="dns", M=10, N="all"),
    "dns_all_user": dict(sampler="dns", M=10, N="all", batching="user"),
}
BOUNDS = {"batch": 1e-10, "train64": 1e-10, "train32": 1e-3, "metrics": 0.05}


def planted(n_users: int, n_items: int, seed: int = 0, rank: int = 4, share: float = 0.05):
    """Interactions from a planted low-rank model: each user's top ``share`` of items."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n_users, rank)) @ rng.normal(size=(rank, n_items))
    logits += rng.gumbel(size=logits.shape)
    return sp.csr_matrix(logits > np.quantile(logits, 1 - share, axis=1, keepdims=True))


def _configs(kind: str, authors: bool, **kw) -> list[TrainConfig]:
    """Two stacked configurations: another M (DNS) or another weight decay."""
    base = dict(batch_size=512, lr=0.01, dim=32, weight_decay=0.01, ks=(20,))
    base |= dict(select_metric="ndcg@20", authors_code=authors) | KINDS[kind] | kw
    other = dict(base, weight_decay=0.0)
    if "M" in KINDS[kind]:
        other["M"] = 1
    return [TrainConfig(**base), TrainConfig(**other)]


def _max_diff(got, want) -> float:
    """Largest difference relative to max(1, |want|)."""
    return max(
        float(np.max(np.abs(g - w) / np.maximum(1.0, np.abs(w)), initial=0.0))
        for g, w in zip(got, want, strict=True)
    )


def check_batch(split, device, rows):
    rng = np.random.default_rng(1)
    n_users, n_items = split.n_users, split.n_items
    user_w = rng.normal(0, 0.5, (n_users, 32))
    item_w = rng.normal(0, 0.5, (n_items, 32))
    pick = rng.choice(split.train.nnz, 1024, replace=False)
    users, items = E.training_pairs(split, None)
    users, items = users[pick], items[pick]
    for kind in KINDS:
        for authors in (False, True):
            for config in _configs(kind, authors):
                name = f"{kind}{' authors' if authors else ''} wd={config.weight_decay:g}"
                if config.full_items:
                    excl = E.negative_exclusions(split, config)
                    args = (user_w, item_w, users, items, excl, config)
                    want = numba_engine.full_losses_and_grads(*args)
                    got = torch_engine.full_losses_and_grads(*args, device=device)
                    wrong = sum(
                        not np.array_equal(g, w) for g, w in zip(got[3], want[3], strict=True)
                    )
                    value = _max_diff(got[:3], want[:3])
                    row = _row("batch", name, value, extra={"selections_differing": wrong})
                    row["ok"] = row["ok"] and wrong == 0
                    rows.append(row)
                else:
                    excl = E.negative_exclusions(split, config)
                    cdf = E.popularity_cdf(split, config, excl)
                    cand = np.empty((len(users), config.N), dtype=np.int64)
                    bloom = np.empty((len(users), numba_engine._BLOOM_WORDS), dtype=np.uint64)
                    key = np.uint64(5)
                    numba_engine.draw_candidates(cand, users, key, 0, n_items, excl, bloom, cdf)
                    args = (user_w, item_w, users, items, cand, config)
                    want = numba_engine.pair_losses_and_grads(*args)
                    got = torch_engine.pair_losses_and_grads(*args, device=device)
                    rows.append(_row("batch", name, _max_diff(got, want)))


def check_train(split, device, rows, dtype, epochs):
    check = "train64" if dtype == np.float64 else "train32"
    for kind in KINDS:
        for authors in (False, True):
            configs = _configs(kind, authors)
            ref = numba_engine.NumbaEngine(split, configs, dtype=dtype)
            source = numba_engine.NumbaEngine(split, configs, dtype=dtype)
            mirror = torch_engine.MirrorEngine(split, configs, source, device, dtype)
            for _ in range(epochs):
                loss_diff = _max_diff([mirror.epoch()], [ref.epoch()])
            tables = [
                _max_diff(mirror.to_numpy(mirror.snapshot(c)), ref.to_numpy(ref.snapshot(c)))
                for c in range(len(configs))
            ]
            name = f"{kind}{' authors' if authors else ''} x{len(configs)} {epochs} epochs"
            rows.append(_row(check, name, max(tables), extra={"loss_diff": loss_diff}))


def check_metrics(split, device, rows, epochs):
    from opauc_sim.train.runner import train

    for kind in ("rns", "dns_all"):
        config = _configs(kind, False, epochs=epochs, eval_every=max(1, epochs // 2))[0]
        got = {}
        for backend, dev in (("numba", "cpu"), ("torch", str(device))):
            t0 = time.perf_counter()
            result = train(split, config, backend=backend, device=dev)
            got[backend] = dict(result.test, seconds=time.perf_counter() - t0)
        diff = max(abs(got["numba"][m] - got["torch"][m]) for m in ("ndcg@20", "recall@20"))
        rows.append(_row("metrics", f"{kind} {epochs} epochs", diff, extra=got))


class _Report:
    """The checks' rows, written to ``path`` (if any) after each one."""

    def __init__(self, path, info):
        self.path, self.info, self.rows = path, info, []
        self.t0 = time.perf_counter()

    def append(self, row) -> None:
        self.rows.append(row)
        self.write()

    def write(self) -> None:
        self.info["seconds"] = time.perf_counter() - self.t0
        self.info["failed"] = sum(not r["ok"] for r in self.rows)
        if self.path:
            with open(self.path, "w", encoding="utf-8") as f:
                json.dump({"info": self.info, "checks": self.rows}, f, indent=1)


def _row(check, name, value, extra=None):
    bound = BOUNDS[check]
    row = {"check": check, "case": name, "value": float(value), "bound": bound}
    row["ok"] = bool(value <= bound)
    if extra:
        row["extra"] = {
            k: (v if isinstance(v, int | float) else {m: float(x) for m, x in v.items()})
            for k, v in extra.items()
        }
    print(f"{'ok  ' if row['ok'] else 'FAIL'} {check:8s} {name:40s} {value:.2e} <= {bound:.0e}")
    sys.stdout.flush()
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--out", default=None, help="JSON file of the checks")
    parser.add_argument("--quick", action="store_true", help="a smaller problem, 1 epoch")
    args = parser.parse_args(argv)
    from opauc_sim.train._torch import torch

    device = torch_engine.resolve_device(args.device)
    n_users, n_items, epochs = (300, 200, 1) if args.quick else (1000, 800, 3)
    split = D.split_per_user(planted(n_users, n_items), seed=0)
    info = {
        "device": str(device),
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "problem": {"users": n_users, "items": n_items, "train_pairs": int(split.train.nnz)},
        "complete": False,
    }
    print(json.dumps(info))
    rows = _Report(args.out, info)
    rows.write()
    check_batch(split, device, rows)
    check_train(split, device, rows, np.float64, epochs)
    check_train(split, device, rows, np.float32, epochs)
    check_metrics(split, device, rows, 2 if args.quick else 10)
    info["complete"] = True
    rows.write()
    print(f"{len(rows.rows)} checks, {info['failed']} failed, {info['seconds']:.0f} s")
    return 1 if info["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
