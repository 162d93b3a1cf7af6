"""Why opauc_sim.metrics places negatives by counting, not by binary search.

Placing a negative score s among the G sorted distinct positive scores u (finding
r = #{u <= s}) is the inner loop of every metric. This single-thread micro-benchmark
times, on the same random data, per negative:
- ``binary``: a textbook binary search (one data-dependent branch per level);
- ``linear``: a branch-free count of comparisons (vectorises); the kernel's count for
  few groups is the same work turned around (per group, over the negatives);
- ``two_level``: count over every 16th value, then inside one block of 16
  (the kernel's fallback for crowded buckets and infinite scores);
- ``table``: a bucket table over [u_0, u_{G-1}] plus a fixed window of 8 comparisons
  (what the kernel uses above 96 groups).
Each timing is the minimum of the repeats (the least disturbed run on a shared machine).

    python benchmarks/bench_placement.py
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit


@njit(cache=True)
def binary(u, neg):
    total = 0
    for i in range(u.shape[0]):
        row = u[i]
        for j in range(neg.shape[1]):
            s = neg[i, j]
            lo, hi = 0, row.shape[0]
            while lo < hi:
                mid = (lo + hi) >> 1
                if row[mid] <= s:
                    lo = mid + 1
                else:
                    hi = mid
            total += lo
    return total


@njit(cache=True)
def linear(u, neg):
    total = 0
    for i in range(u.shape[0]):
        row = u[i]
        for j in range(neg.shape[1]):
            s = neg[i, j]
            r = 0
            for q in range(row.shape[0]):
                r += row[q] <= s
            total += r
    return total


@njit(cache=True)
def two_level(u, neg):
    block = 16
    total = 0
    n_g = u.shape[1]
    n_blocks = (n_g + block - 1) // block
    pad = np.full(n_blocks * block, np.nan)
    fence = np.empty(n_blocks)
    for i in range(u.shape[0]):
        pad[:n_g] = u[i]
        for b in range(n_blocks):
            fence[b] = pad[b * block + block - 1]
        for j in range(neg.shape[1]):
            s = neg[i, j]
            r = 0
            for b in range(n_blocks):
                r += fence[b] <= s
            if r < n_blocks:
                lo = r * block
                r = lo
                for q in range(lo, lo + block):
                    r += pad[q] <= s
            else:
                r = n_g
            total += r
    return total


@njit(cache=True)
def table(u, neg):
    window = 8
    total = 0
    n_g = u.shape[1]
    n_buckets = 2 * n_g
    pad = np.full(n_g + window, np.nan)
    start = np.zeros(n_buckets + 2, np.int64)
    for i in range(u.shape[0]):
        row = u[i]
        pad[:n_g] = row
        lowest = row[0]
        scale = n_buckets / (row[n_g - 1] - lowest)
        start[:] = 0
        for q in range(n_g):
            start[int(min((row[q] - lowest) * scale, float(n_buckets))) + 1] += 1
        for b in range(n_buckets + 1):
            start[b + 1] += start[b]
        for j in range(neg.shape[1]):
            s = neg[i, j]
            b = int(min(max((s - lowest) * scale, 0.0), float(n_buckets)))
            lo = start[b]
            if start[b + 1] - lo <= window:
                r = lo
                for q in range(lo, lo + window):
                    r += pad[q] <= s
            else:
                r = 0
                for q in range(n_g):
                    r += pad[q] <= s
            total += r
    return total


def main() -> int:
    rng = np.random.default_rng(0)
    rows, n_neg = 2000, 950
    methods = {"binary": binary, "linear": linear, "two_level": two_level, "table": table}
    print(f"ns per negative, {rows} rows x {n_neg} negatives, min of 9 runs, 1 thread")
    print(f"{'G':>6}" + "".join(f"{name:>11}" for name in methods))
    for n_g in (10, 50, 200, 1000):
        u = np.sort(rng.random((rows, n_g)), axis=1)
        neg = rng.random((rows, n_neg))
        results = {name: fn(u, neg) for name, fn in methods.items()}
        assert len(set(results.values())) == 1, results  # all agree before timing means anything
        best = dict.fromkeys(methods, np.inf)
        for _ in range(9):
            for name, fn in methods.items():
                t0 = time.perf_counter()
                fn(u, neg)
                best[name] = min(best[name], time.perf_counter() - t0)
        print(f"{n_g:>6}" + "".join(f"{1e9 * best[m] / rows / n_neg:>11.2f}" for m in methods))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
