"""Training speed: epochs against each other, against the authors' loop and an older commit.

In one run, on one data set, with one thread for Numba, BLAS and torch:

1. **Full-item DNS against DNS(5, 200).** An epoch of DNS(20, all) with ``--batching user``
   (the project's recipe) against a pair-batched DNS(5, 200) epoch. Target: at most 1.5x.
2. **The authors' loop.** An epoch of DNS(5, 200) in the authors' recipe (``--authors-code``)
   against the authors' batch loop, re-created from their published code
   (``swt-user/WWW_2023_code``: ``main_more.py``, ``model.py``, ``sampler.py``:
   ``torch.randint`` candidates over all items, ``nn.Embedding`` gathers, ``topk``,
   ``-logsigmoid`` summed over the batch, ``torch.optim.Adam(weight_decay=...)``). Its epoch
   is the median batch time times the number of batches. Target: at least 25x. The torch
   loop is timed with 1 thread and with every core, because its speed depends on torch's
   thread pools while the fused trainer's does not: the two ratios are both printed.
3. **No regression** (``--against REV``): the same epochs timed on another commit, in a git
   worktree, in a child process, interleaved with this commit's repeats.
4. The machine's state before and after (load average, the busiest other processes, CPU
   frequency and vector extensions, thread pools): a ratio measured on a loaded machine
   says so.

    python benchmarks/bench_train.py --dataset gowalla
    python benchmarks/bench_train.py --dataset gowalla --against 5092b85
    python benchmarks/bench_train.py --dataset ml-100k --repeats 1 --author-batches 3  # a look
    python benchmarks/bench_train.py --only dns5_200_authors --against 05b6490 --rounds 1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
#: The timed epochs: (name, TrainConfig settings). Missing features on an old commit: n/a.
EPOCHS = {
    "dns5_200_pair": dict(sampler="dns", M=5, N=200, weight_decay=0.01),
    "dns20_all_user": dict(sampler="dns", M=20, N="all", batching="user", weight_decay=0.01),
    "dns200_all_user": dict(sampler="dns", M=200, N="all", batching="user", weight_decay=0.01),
    "dns5_200_authors": dict(sampler="dns", M=5, N=200, weight_decay=0.01, authors_code=True),
    "softmax1_200_pair": dict(sampler="softmax", rho=1.0, N=200, weight_decay=0.01),
    "rns_pair": dict(sampler="rns", weight_decay=0.01),
}


def machine_state() -> dict:
    """Load average, the busiest other processes, CPU model, frequency and vector
    extensions (AVX2, AVX-512: the fused kernels' speed depends on them), thread pools."""
    state = {"load": os.getloadavg(), "cpu": platform.processor() or platform.machine()}
    try:
        text = Path("/proc/cpuinfo").read_text()
        names = [
            line.split(":", 1)[1].strip() for line in text.splitlines() if "model name" in line
        ]
        mhz = [
            float(line.split(":")[1]) for line in text.splitlines() if line.startswith("cpu MHz")
        ]
        state["cpu"] = names[0] if names else state["cpu"]
        state["mhz"] = [round(m) for m in mhz]
        flags = next((ln.split(":", 1)[1].split() for ln in text.splitlines()
                      if ln.startswith("flags")), [])  # fmt: skip
        state["simd"] = [f for f in ("avx2", "fma", "avx512f", "avx512bw") if f in flags]
    except (OSError, ValueError, IndexError):
        pass
    try:
        out = subprocess.run(
            ["ps", "-eo", "pcpu,ni,comm", "--sort=-pcpu"], capture_output=True, text=True, timeout=5
        ).stdout.splitlines()[1:6]
        state["busiest"] = [" ".join(line.split()) for line in out]
    except (OSError, subprocess.SubprocessError):
        state["busiest"] = []
    state["cores"] = len(os.sched_getaffinity(0))
    return state


def _print_state(when: str, state: dict) -> None:
    load = ", ".join(f"{x:.2f}" for x in state["load"])
    simd = ", ".join(state.get("simd", [])) or "none"
    print(f"machine ({when}): {state['cpu']}, {state['cores']} cores, MHz {state.get('mhz')}")
    print(f"  vector extensions: {simd}")
    print(f"  load average {load}; busiest processes (%CPU nice command):")
    for line in state["busiest"]:
        print(f"    {line}")


def _engine_class():
    try:
        from opauc_sim.train.numba_engine import NumbaEngine
    except ImportError:  # commits before the engines were named
        from opauc_sim.train.fast import FastEngine as NumbaEngine
    return NumbaEngine


def worker(names: list[str], dataset: str, cache_dir, repeats: int) -> dict:
    """Median epoch CPU seconds of ``names`` (and wall seconds, ``NAME_wall``) on the
    installed opauc_sim (any commit); None for a setting that commit does not have.

    One thread: CPU time is the work done, which a shared machine's other processes
    disturb far less than the wall time (both are reported)."""
    import numba
    from threadpoolctl import threadpool_limits

    from opauc_sim.train import load_split
    from opauc_sim.train.config import TrainConfig

    numba.set_num_threads(1)
    threadpool_limits(1)
    split = load_split(dataset, cache_dir=cache_dir, seed=0, valid_frac=0.0)
    engine_class = _engine_class()
    out = {}
    for name in names:
        try:
            config = TrainConfig(eval_every=0, **EPOCHS[name])
        except (TypeError, ValueError):
            out[name] = None
            continue
        engine = engine_class(split, [config])
        engine.epoch()  # warm-up: JIT or cache load, first touch of the tables
        cpu, wall = [], []
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            engine.epoch()
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - t0)
        out[name] = statistics.median(cpu)
        out[f"{name}_wall"] = statistics.median(wall)
    return out


def authors_batch_fn(torch, n_users, n_items, users, items, m, n, weight_decay, dim=32):
    """One batch of the authors' DNS loop (their formulas, re-created), as a closure."""
    user_emb = torch.nn.Embedding(n_users, dim)
    item_emb = torch.nn.Embedding(n_items, dim)
    torch.nn.init.normal_(user_emb.weight, std=0.1)
    torch.nn.init.normal_(item_emb.weight, std=0.1)
    params = [user_emb.weight, item_emb.weight]
    optimizer = torch.optim.Adam(params, lr=1e-3, weight_decay=weight_decay)
    users_t, items_t = torch.as_tensor(users), torch.as_tensor(items)
    state = {"start": 0}

    def step():
        start = state["start"] if state["start"] + 4096 <= len(users) else 0
        state["start"] = start + 4096
        u, i = users_t[start : start + 4096], items_t[start : start + 4096]
        optimizer.zero_grad()
        neg = torch.randint(0, n_items, size=(len(u), n))  # base_sampler.forward
        pos_rat = (user_emb(u) * item_emb(i)).sum(-1)  # BaseMF.forward
        neg_rat = (user_emb(u.unsqueeze(1).repeat(1, n)) * item_emb(neg)).sum(-1)
        top, _ = torch.topk(neg_rat, m, dim=-1)  # loss_type 1
        loss = (-torch.nn.functional.logsigmoid(pos_rat.unsqueeze(1) - top)).sum(-1).sum(-1)
        loss.backward()
        optimizer.step()

    return step


def authors_epoch(dataset, cache_dir, threads: int, batches: int) -> float:
    """The authors' DNS(5, 200) loop: median batch time times the batches of an epoch
    (CPU time with one thread, as for the fused trainer; wall time with more)."""
    import torch

    from opauc_sim.train import load_split

    torch.set_num_threads(threads)
    split = load_split(dataset, cache_dir=cache_dir, seed=0, valid_frac=0.0)
    users = np.repeat(np.arange(split.n_users), np.diff(split.train.indptr))
    items = split.train.indices.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(users))
    step = authors_batch_fn(
        torch, split.n_users, split.n_items, users[order], items[order], 5, 200, 0.01
    )
    step()
    times = []
    clock = time.process_time if threads == 1 else time.perf_counter
    for _ in range(batches):
        t0 = clock()
        step()
        times.append(clock() - t0)
    return statistics.median(times) * -(-len(users) // 4096)


def _child(python_path: Path, args, names) -> dict:
    """:func:`worker` in a fresh process on the package at ``python_path``."""
    env = {**os.environ, "PYTHONPATH": str(python_path), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", ",".join(names)]
    cmd += ["--dataset", args.dataset, "--repeats", str(args.repeats)]
    if args.cache_dir:
        cmd += ["--cache-dir", args.cache_dir]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="gowalla")
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--repeats", type=int, default=3, help="timed epochs per setting")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds per commit")
    parser.add_argument("--author-batches", type=int, default=10)
    parser.add_argument("--against", metavar="REV", help="also time this commit (worktree)")
    parser.add_argument(
        "--only", metavar="NAMES", help=f"comma-separated epochs to time, of: {', '.join(EPOCHS)}"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(EPOCHS)
    unknown = sorted(set(names) - set(EPOCHS))
    if unknown:
        parser.error(f"unknown epochs {unknown}; known: {', '.join(EPOCHS)}")
    if args.worker:
        print(
            json.dumps(worker(args.worker.split(","), args.dataset, args.cache_dir, args.repeats))
        )
        return 0
    _print_state("before", machine_state())
    commits = {"this": ROOT}
    tmp = None
    if args.against:
        tmp = Path(tempfile.mkdtemp(prefix="bench-train-"))
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tmp / "old"), args.against],
            check=True, capture_output=True,
        )  # fmt: skip
        commits[args.against] = tmp / "old"
    try:
        runs: dict[str, list[dict]] = {c: [] for c in commits}
        for _ in range(args.rounds):  # interleaved, so that a load change hits both
            for commit, path in commits.items():
                runs[commit].append(_child(path, args, names))
        authors = {}
        if "dns5_200_authors" in names:
            authors = {t: authors_epoch(args.dataset, args.cache_dir, t, args.author_batches)
                       for t in sorted({1, len(os.sched_getaffinity(0))})}  # fmt: skip
    finally:
        if tmp is not None:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tmp / "old")]
            )
            shutil.rmtree(tmp, ignore_errors=True)
    _print_state("after", machine_state())
    _report(runs, authors, names)
    return 0


def _median(runs: list[dict], name: str) -> float | None:
    values = [r[name] for r in runs if r.get(name) is not None]
    return statistics.median(values) if values else None


def _report(runs: dict, authors: dict, names: list[str]) -> None:
    fmt = lambda v: "n/a" if v is None else f"{v:.2f}"  # noqa: E731
    print("\n| epoch, one thread (median CPU s; wall s) | " + " | ".join(runs) + " |")
    print("|---|" + "---:|" * len(runs))
    for name in names:
        cells = [
            f"{fmt(_median(r, name))}; {fmt(_median(r, name + '_wall'))}" for r in runs.values()
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")
    this = runs["this"]
    full, pair = _median(this, "dns20_all_user"), _median(this, "dns5_200_pair")
    if full is not None and pair is not None:
        print(
            f"\nDNS(20, all) user / DNS(5, 200) pair, CPU time: {full / pair:.2f}x (target <= 1.5)"
        )
    ours = _median(this, "dns5_200_authors")
    for threads, seconds in authors.items():
        print(
            f"authors' loop DNS(5, 200), torch {threads} thread(s): {seconds:.1f} s/epoch "
            f"against {ours:.2f} s: {seconds / ours:.1f}x (target >= 25)"
        )
    for commit, r in runs.items():
        if commit == "this":
            continue
        for name in names:
            old, new = _median(r, name), _median(this, name)
            if old is not None and new is not None:
                print(f"{name}: this / {commit} = {new / old:.2f}")


if __name__ == "__main__":
    raise SystemExit(main())
