"""Benchmark the Fig. 6 simulation: rankings per second, peak memory, exact Pearson time.

Workload: the paper's grid, n_pos = 200, n_neg = 800, K in {1, 5, 10, 20, 50, 100},
61 log-spaced betas in [1/800, 1], Recall/Precision/NDCG, streaming Monte Carlo Pearson
with jackknife CIs (``opauc_sim.correlation.beta_curve``).

Measured, each in a fresh subprocess so that peak RSS belongs to one workload:

* ``cold start``: first call in a process with an empty Numba cache (JIT compile included);
* ``ours 1e6`` and ``ours 1e7``: wall time, rankings/s and peak RSS (``ru_maxrss``);
* ``numpy baseline``: the same statistics with plain numpy, argsort of n random keys per
  ranking, on >= 2e4 rankings (rankings/s; the ratio compares throughputs);
* ``exact``: ``beta_curve(..., exact=True)`` on the whole grid (median of 3 after warm-up).

Targets: 1e7 rankings in <= 30 s on 2 cores using < 1 GB; exact grid <= 10 s.

Usage::

    .venv/bin/python benchmarks/bench_simulation.py            # 1e6 and 1e7
    .venv/bin/python benchmarks/bench_simulation.py --quick    # 1e5 and 1e6
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

CHILD = r"""
import json, resource, sys, time
import numpy as np
kind, n = sys.argv[1], int(sys.argv[2])
from opauc_sim import correlation as corr
ks = [1, 5, 10, 20, 50, 100]
betas = corr.fig6_grid(800, 61)
out = {}
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
if kind == "cold":
    t = time.perf_counter()
    corr.beta_curve(200, 800, ks=ks, betas=betas, n_rankings=n, seed=0)
    corr.beta_curve(200, 800, ks=ks, betas=betas, exact=True)
    out["seconds"] = time.perf_counter() - t
elif kind == "ours":
    corr.beta_curve(200, 800, ks=ks, betas=betas, n_rankings=2000, seed=1)  # warm the JIT
    t, c = time.perf_counter(), cpu()
    corr.beta_curve(200, 800, ks=ks, betas=betas, n_rankings=n, seed=0)
    out["seconds"] = time.perf_counter() - t
    out["cpu_seconds"] = cpu() - c
elif kind == "numpy":
    rng = np.random.default_rng(0)
    n_pos, n_neg = 200, 800
    n_items = n_pos + n_neg
    ks_a = np.array(ks)
    ms = betas * n_neg
    disc = 1.0 / np.log2(np.arange(n_items) + 2.0)
    n_x, n_y = 2 * len(ks), len(ms)
    sums = [0.0, np.zeros(n_x), np.zeros(n_x), np.zeros(n_y), np.zeros(n_y),
            np.zeros((n_x, n_y))]
    t, c = time.perf_counter(), cpu()
    chunk = 1000
    for start in range(0, n, chunk):
        rows = min(chunk, n - start)
        keys = rng.random((rows, n_items))
        order = np.argsort(keys, axis=1)                 # item at each rank
        is_pos = order < n_pos                           # items 0..n_pos-1 are positive
        pos = np.nonzero(is_pos)[1].reshape(rows, n_pos)  # sorted positive ranks
        hits = (pos[:, :, None] < ks_a).sum(axis=1)
        dcg = np.stack([(disc[pos] * (pos < k)).sum(axis=1) for k in ks_a], axis=1)
        a = pos - np.arange(n_pos)
        y = np.stack([np.maximum(0.0, m - a).sum(axis=1) for m in ms], axis=1)
        x = np.concatenate((hits, dcg), axis=1).astype(float)
        sums[0] += rows
        sums[1] += x.sum(0); sums[2] += (x * x).sum(0)
        sums[3] += y.sum(0); sums[4] += (y * y).sum(0)
        sums[5] += x.T @ y
    out["seconds"] = time.perf_counter() - t
    out["cpu_seconds"] = cpu() - c
elif kind == "exact":
    corr.beta_curve(200, 800, ks=ks, betas=betas, exact=True)  # warm the JIT
    times = []
    for _ in range(3):
        t = time.perf_counter()
        corr.beta_curve(200, 800, ks=ks, betas=betas, exact=True)
        times.append(time.perf_counter() - t)
    out["seconds"] = sorted(times)[1]
out["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def run_child(kind: str, n: int, env: dict | None = None) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, kind, str(n)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} {n} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1e5 and 1e6 instead of 1e6, 1e7")
    parser.add_argument("--baseline-n", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3, help="runs per size (median)")
    args = parser.parse_args(argv)
    import numba

    sizes = [100_000, 1_000_000] if args.quick else [1_000_000, 10_000_000]
    print(
        f"Fig. 6 grid: n_pos=200, n_neg=800, 6 K x 61 betas x 3 metrics; "
        f"{numba.config.NUMBA_NUM_THREADS} Numba threads, {os.cpu_count()} CPUs"
    )
    rows = []

    def add(name, res, n=None):
        rows.append(
            {
                "name": name,
                "sec": res["seconds"],
                "cpu": res.get("cpu_seconds"),
                "rate": None if n is None else n / res["seconds"],
                "rss": res["max_rss_mb"],
            }
        )

    with tempfile.TemporaryDirectory() as cache:
        add(
            "cold start (JIT compile + 2e4 MC + exact)",
            run_child("cold", 20_000, {"NUMBA_CACHE_DIR": cache}),
        )
    base = run_child("numpy", args.baseline_n)
    add(f"numpy argsort baseline, {args.baseline_n:,} rankings", base, args.baseline_n)
    base_rate = args.baseline_n / base["seconds"]
    base_cpu_rate = args.baseline_n / base["cpu_seconds"]
    ours = {}
    for n in sizes:
        runs = [run_child("ours", n) for _ in range(max(1, args.repeats if n < 10**7 else 1))]
        res = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]  # the median run
        res["max_rss_mb"] = max(r["max_rss_mb"] for r in runs)
        ours[n] = res
        add(f"opauc-sim streaming MC, {n:,} rankings", res, n)
    exact = run_child("exact", 0)
    add("exact Pearson, whole grid (median of 3)", exact)
    print()
    print(
        "| workload | wall s | CPU s | rankings/s (wall) | rankings per CPU-s "
        "| wall ratio vs numpy | CPU ratio vs numpy | peak RSS (MB) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        cpu = "" if r["cpu"] is None else f"{r['cpu']:.2f}"
        if r["rate"] is None:
            rate = per_cpu = ratio = cpu_ratio = ""
        else:
            n = r["rate"] * r["sec"]
            rate = f"{r['rate']:,.0f}"
            per_cpu = f"{n / r['cpu']:,.0f}"
            ratio = f"{r['rate'] / base_rate:,.0f}x"
            cpu_ratio = f"{n / r['cpu'] / base_cpu_rate:,.0f}x"
        print(
            f"| {r['name']} | {r['sec']:.2f} | {cpu} | {rate} | {per_cpu} | {ratio} "
            f"| {cpu_ratio} | {r['rss']:.0f} |"
        )
    big = max(sizes)
    res = ours[big]
    print()
    if big >= 10**7:
        sec, rss = res["seconds"], res["max_rss_mb"]
        print(
            f"target 1e7 rankings <= 30 s: {sec:.1f} s wall -> "
            f"{'met' if sec <= 30 else 'NOT met'}; {res['cpu_seconds']:.1f} CPU-s, i.e. "
            f"{res['cpu_seconds'] / 2:.1f} s on 2 otherwise idle cores"
        )
        print(f"target < 1 GB: {rss:.0f} MB peak RSS -> {'met' if rss < 1024 else 'NOT met'}")
    print(
        f"target exact grid <= 10 s: {exact['seconds']:.2f} s -> "
        f"{'met' if exact['seconds'] <= 10 else 'NOT met'}"
    )
    load = os.getloadavg()
    print(f"load average during the run: {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
