"""Benchmark opauc_sim.metrics against its peers and against another commit, in one run.

Data: ``n_rows x n_items`` random float64 scores with exactly ``n_pos`` positives per row
(default 10,000 x 1,000, 50 positives), ``ks=(5, 10, 20, 50)``, ``betas=(0.01, 0.05,
0.1)``. Every timing is over ``--repeats`` runs after one warm-up (which also pays Numba's
compile or cache load); the table gives the median and the minimum.

Clocks: each call is timed by its CPU time (``time.process_time()``) and its wall time. On
one thread (``--threads 1``, the default: Numba, OpenMP and BLAS) the CPU time is the
call's own work, which other jobs on a shared, loaded machine do not inflate as they do
the wall time; the ratios and targets are read on the CPU time, the wall time is shown
beside it.

The timed calls run in worker processes, one per commit, each importing its own
``opauc_sim`` (``PYTHONPATH``; its own Numba cache) and generating the same data; the
repetitions of the commits are interleaved (one of each in turn), so that all see the
same machine in the same minutes. ``--against REV`` (repeatable) adds a worker for
``REV``, its tracked files extracted into a temporary folder (``git archive``, removed
afterwards), and prints every commit's ratios.

- the read floor: ``y_score.sum() + y_true.sum()``, the cost of reading the inputs once;
- ``evaluate`` (4 K x recall/precision/ndcg, AUC, 3 beta), ``opauc(beta=0.1)``,
  ``ndcg_at_k(k=10)``;
- in this process, on the same data: a plain numpy implementation (one full argsort per
  row), sklearn ``roc_auc_score(max_fpr=0.1)`` and ``ndcg_score`` looped per row on a
  subset and scaled to all rows (they are per-query APIs), ranx (if installed, its sort
  included). Their values are checked against opauc_sim's first.

``--gowalla PATH`` times instead the full-ranking evaluation of Gowalla (``PATH`` is
``gowalladata.mat``; ``scipy.io.loadmat(PATH)["data"]``, users x items): each interaction
is masked as training with probability 0.8 (about the paper's split), the rest are the
positives, and an MF-like scorer (a random rank-32 float32 GEMM, ``U[rows] @ V.T``)
scores every item, through ``metrics.evaluate_scorer`` with sparse truth and exclusion,
``ks=(5, 20, 50)``, ``opauc_ks=ks``, ``betas=()``, without AUC (the training evaluation's
call), on one thread (Numba and BLAS); it reports the GEMM's share (the scorer alone over
the same chunks), in CPU and wall time. With ``--against REV`` each commit runs in its
own worker process on the same data, the repetitions interleaved, and the ratio is printed.

Usage::

    python benchmarks/bench_metrics.py                       # the issue's setting
    python benchmarks/bench_metrics.py --against 7bdb996     # and another commit, interleaved
    python benchmarks/bench_metrics.py --against 7bdb996 --against 5092b85   # and two
    python benchmarks/bench_metrics.py --rows 2000 --repeats 3   # a quick look
    python benchmarks/bench_metrics.py --gowalla /work/shared/data/gowalla/gowalladata.mat
    python benchmarks/bench_metrics.py --gowalla PATH --against 609710d --repeats 3
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
KS, BETAS = (5, 10, 20, 50), (0.01, 0.05, 0.1)
CALLS = ("read", "evaluate", "opauc", "ndcg")
TITLES = {
    "read": "read floor: y_score.sum() + y_true.sum()",
    "evaluate": "evaluate (4 K x 3 metrics, AUC, 3 beta)",
    "opauc": "opauc(beta=0.1)",
    "ndcg": "ndcg_at_k(k=10)",
}


def make_data(n_rows: int, n_items: int, n_pos: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    y_score = rng.random((n_rows, n_items))
    keys = rng.random((n_rows, n_items))
    pos_idx = np.argpartition(keys, n_pos, axis=1)[:, :n_pos]
    y_true = np.zeros((n_rows, n_items), dtype=bool)
    np.put_along_axis(y_true, pos_idx, True, axis=1)
    return y_true, y_score


# --------------------------------------------------------------------------------------
# The worker: one commit's timed calls, one repetition per line read from stdin
# --------------------------------------------------------------------------------------


def one_thread_env(threads: int) -> dict[str, str]:
    """The environment variables that fix the threads of Numba, OpenMP and BLAS."""
    n = str(threads)
    names = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    return dict.fromkeys(names, n)


def timed(fn) -> tuple[float, float]:
    """``(cpu, wall)`` seconds of one call of ``fn``."""
    c, t = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - c, time.perf_counter() - t


def worker(args) -> int:
    import opauc_sim
    from opauc_sim.metrics import evaluate, ndcg_at_k, opauc

    y_true, y_score = make_data(args.rows, args.items, args.pos)
    calls = {
        "read": lambda: y_score.sum() + y_true.sum(),
        "evaluate": lambda: evaluate(y_true, y_score, ks=KS, betas=BETAS),
        "opauc": lambda: opauc(y_true, y_score, 0.1),
        "ndcg": lambda: ndcg_at_k(y_true, y_score, 10),
    }
    t0 = time.perf_counter()
    for fn in calls.values():
        fn()  # warm-up: compile or cache load
    import numba

    head = {"file": opauc_sim.__file__, "warm_up": time.perf_counter() - t0}
    print(json.dumps({**head, "threads": numba.get_num_threads()}))
    sys.stdout.flush()
    for line in sys.stdin:
        if line.strip() != "go":
            break
        print(json.dumps({name: timed(fn) for name, fn in calls.items()}))
        sys.stdout.flush()
    return 0


def git(tree: Path, *args: str) -> str:
    out = subprocess.run(["git", "-C", str(tree), *args], capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"git {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout.strip()


@contextlib.contextmanager
def checkout(rev: str):
    """The tracked files of ``rev`` in a temporary folder (removed afterwards), and its
    commit hash.

    ``git archive``, not ``git worktree add``: nothing is registered in the repository, so
    a run that is killed leaves no stale worktree behind, only a folder under the temp dir.
    """
    commit = git(ROOT, "rev-parse", "--short", f"{rev}^{{commit}}")
    folder = Path(tempfile.mkdtemp(prefix="bench-metrics-"))
    path = folder / "tree"
    path.mkdir()
    try:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "--format=tar", commit],
            capture_output=True,
            check=True,
        )
        subprocess.run(["tar", "-x", "-C", str(path)], input=archive.stdout, check=True)
        yield path, commit
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def start_worker(tree: Path, options: list[str], threads: int):
    """A worker process timing ``tree``'s opauc_sim (``--worker`` plus ``options``) and the
    line it opens with; it must import that tree's package and run ``threads`` threads."""
    env = dict(os.environ, PYTHONPATH=str(tree), **one_thread_env(threads))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", *options]
    proc = subprocess.Popen(
        cmd, cwd=tree, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    line = proc.stdout.readline()
    if not line:
        raise SystemExit(f"error: the worker for {tree} exited (its error is above)")
    head = json.loads(line)
    if not head["file"].startswith(str(tree)):
        raise RuntimeError(f"the worker for {tree} imported {head['file']}")
    if head["threads"] != threads:
        raise RuntimeError(f"the worker for {tree} runs {head['threads']} Numba threads")
    return proc, head


def drive(procs: dict, commands: list[str], times: dict) -> None:
    """Send each command to every worker in turn (interleaved), append the ``(cpu, wall)``
    times each answers to ``times[label][name]``, and close the workers."""
    try:
        for cmd in commands:
            for label, proc in procs.items():
                proc.stdin.write(cmd + "\n")
                proc.stdin.flush()
                for name, t in json.loads(proc.stdout.readline()).items():
                    times[label].setdefault(name, []).append(tuple(t))
    finally:
        for proc in procs.values():
            proc.stdin.close()
            proc.wait()


def interleaved(trees: dict[str, Path], args) -> dict[str, dict[str, list[tuple]]]:
    """Each commit's ``(cpu, wall)`` times per call, its repetitions interleaved with the
    others'."""
    options = ["--threads", str(args.threads), "--rows", str(args.rows)]
    options += ["--items", str(args.items), "--pos", str(args.pos)]
    procs = {label: start_worker(tree, options, args.threads)[0] for label, tree in trees.items()}
    times = {label: {c: [] for c in CALLS} for label in trees}
    drive(procs, ["go"] * args.repeats, times)
    return times


# --------------------------------------------------------------------------------------
# Peers, in this process
# --------------------------------------------------------------------------------------


def median_time(fn, repeats: int) -> float:
    """The median CPU time of ``fn`` over ``repeats`` calls after a warm-up."""
    fn()  # warm-up
    return statistics.median(timed(fn)[0] for _ in range(repeats))


def numpy_argsort_metrics(y_true, y_score, ks, betas):
    """A plain numpy implementation: full argsort per row (tie-free data assumed)."""
    order = np.argsort(-y_score, axis=1, kind="stable")
    rel = np.take_along_axis(y_true, order, axis=1)
    n_pos = rel.sum(axis=1)
    n_neg = rel.shape[1] - n_pos
    out = {}
    disc = 1.0 / np.log2(np.arange(rel.shape[1]) + 2.0)
    for k in ks:
        hits = rel[:, :k].sum(axis=1)
        out[f"recall@{k}"] = hits / n_pos
        out[f"precision@{k}"] = hits / k
        dcg = (rel[:, :k] * disc[:k]).sum(axis=1)
        idcg = np.cumsum(disc)[np.minimum(n_pos, k) - 1]
        out[f"ndcg@{k}"] = dcg / idcg
    neg_above = np.cumsum(~rel, axis=1)
    a = np.where(rel, neg_above, 0)
    out["auc"] = np.where(rel, n_neg[:, None] - a, 0).sum(axis=1) / (n_pos * n_neg)
    for beta in betas:
        m = beta * n_neg
        out[f"opauc@{beta:g}"] = np.where(rel, np.maximum(0, m[:, None] - a), 0).sum(axis=1) / (
            n_pos * n_neg
        )
    return out


def peers(args) -> list[tuple[str, float, str]]:
    """``(name, seconds, compared with)`` of the peers on the same data, values checked."""
    sys.path.insert(0, str(ROOT))
    from opauc_sim.metrics import evaluate

    y_true, y_score = make_data(args.rows, args.items, args.pos)
    df = evaluate(y_true, y_score, ks=KS, betas=BETAS)
    ref = numpy_argsort_metrics(y_true, y_score, KS, BETAS)
    worst = max(float(np.max(np.abs(df[c].to_numpy() - ref[c]))) for c in ref)
    if worst > 1e-12:
        raise AssertionError(f"opauc_sim and the numpy reference differ by {worst:.2e}")
    t = median_time(lambda: numpy_argsort_metrics(y_true, y_score, KS, BETAS), args.repeats)
    rows = [("numpy argsort per row, same metrics as evaluate", t, "evaluate")]
    try:
        from sklearn.metrics import ndcg_score, roc_auc_score

        sub = slice(0, min(args.sklearn_rows, args.rows))
        scale = args.rows / (sub.stop - sub.start)
        yt, ys = y_true[sub], y_score[sub]
        for i in range(3):  # the values agree before the times mean anything
            ours = df.loc[i, "opauc@0.1"]
            beta = 0.1
            theirs = roc_auc_score(yt[i], ys[i], max_fpr=beta)
            half = beta * beta / 2
            if abs((1 + (ours - half) / (beta - half)) / 2 - theirs) > 1e-12:
                raise AssertionError("opauc and roc_auc_score(max_fpr) differ")
        reps = max(3, args.repeats // 2)
        t = scale * median_time(
            lambda: [roc_auc_score(a, b, max_fpr=0.1) for a, b in zip(yt, ys, strict=True)], reps
        )
        rows.append(("sklearn roc_auc_score(max_fpr=0.1), per row, scaled", t, "opauc"))
        t = scale * median_time(
            lambda: [ndcg_score(a[None], b[None], k=10) for a, b in zip(yt, ys, strict=True)], reps
        )
        rows.append(("sklearn ndcg_score(k=10), per row, scaled", t, "ndcg"))
        t = median_time(lambda: ndcg_score(y_true, y_score, k=10), 3)
        rows.append(("sklearn ndcg_score(k=10), one batched call", t, "ndcg"))
    except ImportError:
        print("scikit-learn not installed: its rows are skipped")
    try:
        from ranx import Qrels, Run
        from ranx import evaluate as ranx_evaluate

        sub = slice(0, min(2000, args.rows))
        scale = args.rows / (sub.stop - sub.start)
        qrels = Qrels(
            {f"q{i}": {f"d{j}": 1 for j in np.flatnonzero(y_true[i])} for i in range(sub.stop)}
        )
        run_dict = {
            f"q{i}": {f"d{j}": float(y_score[i, j]) for j in range(args.items)}
            for i in range(sub.stop)
        }
        run = Run(run_dict)
        metrics_ranx = [f"{m}@{k}" for k in KS for m in ("recall", "precision", "ndcg")]

        def call_ranx():
            run.sorted = False  # make ranx sort again, as it would on fresh input
            return ranx_evaluate(qrels, run, metrics_ranx, make_comparable=False)

        t = scale * median_time(call_ranx, max(3, args.repeats // 2))
        rows.append(
            ("ranx evaluate (4 K x recall/precision/ndcg), sort incl., scaled", t, "evaluate")
        )
    except ImportError:
        print("ranx not installed: its row is skipped")
    return rows


def first_call(threads: int) -> float:
    """First call in a fresh process: import plus compile (empty cache) or cache load."""
    code = (
        "import time, numpy as np; t=time.perf_counter(); from opauc_sim.metrics import evaluate;"
        "evaluate(np.array([[1,0,1]], bool), np.array([[0.3,0.2,0.1]]), ks=(1,), betas=(0.5,));"
        "print(time.perf_counter()-t)"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT), **one_thread_env(threads))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    return float(out.stdout)


def compare(args) -> int:
    here = git(ROOT, "rev-parse", "--short", "HEAD")
    dirty = git(ROOT, "status", "--porcelain", "--untracked-files=no")
    this = f"{here}{'+' if dirty else ''} (this)"
    with contextlib.ExitStack() as stack:
        trees = {this: ROOT}
        for rev in args.against or ():
            path, commit = stack.enter_context(checkout(rev))
            trees[commit] = path
        times = interleaved(trees, args)
    first = first_call(args.threads)
    peer_rows = peers(args) if not args.no_peers else []
    labels = list(trees)
    # clock 0 is the CPU time, clock 1 the wall time (see ``timed``)
    med = {
        lab: {c: [statistics.median(t[k] for t in times[lab][c]) for k in (0, 1)] for c in CALLS}
        for lab in labels
    }
    low = {lab: {c: min(t[0] for t in times[lab][c]) for c in CALLS} for lab in labels}
    print(
        f"\n{args.rows} rows x {args.items} items, {args.pos} positives/row, float64 scores; "
        f"{args.repeats} interleaved repetitions per commit; {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f}; threads (Numba, OpenMP, BLAS): {args.threads}"
    )
    print(
        "CPU time (time.process_time) per call, the figure the ratios use: on a loaded shared "
        "machine the wall time (shown beside it) also counts other jobs' turns on the cores"
    )
    print(f"first call in a fresh process (import + compile or cache load): {first:.2f} s\n")
    width = max(len(t) for t in TITLES.values())
    cell = 34
    print(f"{'call':<{width}}" + "".join(f"  {lab:>{cell}}" for lab in labels))
    print(
        f"{'':<{width}}" + "".join(f"  {'CPU ms median (min) | wall ms':>{cell}}" for _ in labels)
    )
    for c in CALLS:
        shown = {lab: f"{1e3 * med[lab][c][0]:.1f} ({1e3 * low[lab][c]:.1f})" for lab in labels}
        cells = "".join(
            f"  {f'{shown[lab]} | {1e3 * med[lab][c][1]:.1f}':>{cell}}" for lab in labels
        )
        print(f"{TITLES[c]:<{width}}{cells}")
    ratio_rows = [
        (
            "evaluate / read floor",
            {
                lab: [med[lab]["evaluate"][k] / med[lab]["read"][k] for k in (0, 1)]
                for lab in labels
            },
        )
    ]
    skl = next((t for name, t, _ in peer_rows if name.startswith("sklearn roc_auc")), None)
    if skl:
        ratio_rows.append(
            (
                "sklearn roc_auc_score(max_fpr=0.1) / opauc",
                {lab: [skl / med[lab]["opauc"][0], math.nan] for lab in labels},
            )
        )
    for other in labels[1:]:
        for c in ("evaluate", "opauc"):
            ratio_rows.append(
                (
                    f"{c}, this / {other}",
                    {other: [med[this][c][k] / med[other][c][k] for k in (0, 1)]},
                )
            )
    print(f"{'ratios (CPU | wall)':<{width}}")
    for name, values in ratio_rows:
        cells = "".join(
            f"  {_ratio_cell(values[lab]) if lab in values else '':>{cell}}" for lab in labels
        )
        print(f"{name:<{width}}{cells}")
    if peer_rows:
        print(f"\npeers, in this process on the same data (CPU time, median of {args.repeats}):")
        for name, t, ours in peer_rows:
            mine = med[this][ours][0]
            print(f"  {name:<66} {1e3 * t:>10.1f} ms  {t / mine:>8.1f}x opauc_sim's {ours}")
    print("\nTargets (this commit, CPU time):")
    ratio = med[this]["evaluate"][0] / med[this]["read"][0]
    print(f"  evaluate vs read floor: {ratio:.2f}x (<= 4x, goal 2.5x)")
    if skl:
        print(
            f"  opauc vs sklearn per-row loop: {skl / med[this]['opauc'][0]:.0f}x faster (>= 600x)"
        )
    for other in labels[1:]:
        ok = med[this]["evaluate"][0] <= med[other]["evaluate"][0]
        print(f"  evaluate no slower than {other}: {'yes' if ok else 'no'}")
    return 0


def _ratio_cell(values) -> str:
    cpu, wall = values
    return f"{cpu:.2f}" if math.isnan(wall) else f"{cpu:.2f} | {wall:.2f}"


# --------------------------------------------------------------------------------------
# Gowalla: full-ranking evaluation of every user, training items masked
# --------------------------------------------------------------------------------------


def gowalla_setup(path: str):
    """Gowalla's full ranking as the benchmark times it: ``(evaluation, gemm_alone,
    with_auc)``, three callables over the same users, chunks and scores."""
    import scipy.io
    import scipy.sparse as sp

    from opauc_sim.metrics import evaluate_scorer

    data = sp.csr_array(scipy.io.loadmat(path)["data"], dtype=bool)
    data.sum_duplicates()
    rng = np.random.default_rng(0)
    masked = rng.random(data.nnz) < 0.8  # training, each interaction with probability 0.8
    train, test = data.copy(), data.copy()
    train.data, test.data = masked, ~masked
    train.eliminate_zeros()
    test.eliminate_zeros()
    n_users, n_items = data.shape
    users = np.flatnonzero(np.diff(test.indptr) > 0)
    u = rng.standard_normal((n_users, 32)).astype(np.float32)
    v = rng.standard_normal((n_items, 32)).astype(np.float32)
    vt = np.ascontiguousarray(v.T)

    def score(rows):
        return u[rows] @ vt

    options = dict(ks=GOWALLA_KS, betas=(), opauc_ks=GOWALLA_KS, exclude=train, auc=False)
    chunk = max(1, (1 << 22) // n_items)

    def evaluation():
        return evaluate_scorer(score, users, test, **options)

    def gemm_alone():
        for start in range(0, len(users), chunk):
            score(users[start : start + chunk])

    def with_auc():
        return evaluate_scorer(score, users, test, **{**options, "auc": True})

    shape = (n_users, n_items, data.nnz, len(users))
    return evaluation, gemm_alone, with_auc, shape


GOWALLA_KS = (5, 20, 50)


def gowalla_worker(args) -> int:
    """One commit's Gowalla timings, one repetition per ``go`` (``auc``: the AUC run)."""
    import numba
    from threadpoolctl import threadpool_limits

    import opauc_sim

    numba.set_num_threads(1)  # and BLAS through threadpool_limits below
    from scipy.io.matlab import MatReadError

    try:
        evaluation, gemm_alone, with_auc, shape = gowalla_setup(args.gowalla)
    except (OSError, ValueError, KeyError, MatReadError) as e:
        print(f"error: --gowalla {args.gowalla}: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    with threadpool_limits(1):
        recall = float(evaluation()["recall@20"].mean())  # warm-up: compile or cache load
        head = {"file": opauc_sim.__file__, "shape": shape, "recall": recall}
        print(json.dumps({**head, "threads": numba.get_num_threads()}))
        sys.stdout.flush()
        for line in sys.stdin:
            cmd = line.strip()
            if cmd == "go":
                out = {"evaluation": timed(evaluation), "gemm": timed(gemm_alone)}
            elif cmd == "auc":
                out = {"auc": timed(with_auc)}
            else:
                break
            print(json.dumps(out))
            sys.stdout.flush()
    return 0


def gowalla(args) -> int:
    """Gowalla's full ranking on this commit and each ``--against``, interleaved."""
    path = Path(args.gowalla).expanduser().resolve()
    if not path.is_file():
        raise SystemExit(f"error: --gowalla: no such file: {args.gowalla}")
    args.gowalla = str(path)  # the workers run in other folders
    here = git(ROOT, "rev-parse", "--short", "HEAD")
    dirty = git(ROOT, "status", "--porcelain", "--untracked-files=no")
    this = f"{here}{'+' if dirty else ''} (this)"
    times: dict[str, dict[str, list]] = {}
    with contextlib.ExitStack() as stack:
        trees = {this: ROOT}
        for rev in args.against or ():
            path, commit = stack.enter_context(checkout(rev))
            trees[commit] = path
        procs, heads = {}, {}
        for label, tree in trees.items():
            procs[label], heads[label] = start_worker(tree, ["--gowalla", args.gowalla], 1)
            times[label] = {"evaluation": [], "gemm": [], "auc": []}
        drive(procs, ["go"] * args.repeats + ["auc"], times)
    labels = list(trees)
    n_users, n_items, nnz, n_eval = heads[this]["shape"]
    print(
        f"Gowalla {n_users:,} x {n_items:,} ({nnz:,} interactions): {n_eval:,} users with test "
        f"items; interactions masked as training with probability 0.8; rank-32 float32 "
        f"scores; ks={GOWALLA_KS}, opauc_ks=ks, no AUC; one thread; median of {args.repeats} "
        f"interleaved repetitions per commit; load average {os.getloadavg()[0]:.1f}"
    )
    med = {
        lab: {c: [statistics.median(t[k] for t in v) for k in (0, 1)] for c, v in ts.items()}
        for lab, ts in times.items()
    }
    rows = [
        ("full-ranking evaluation (evaluate_scorer, sparse truth and exclusion)", "evaluation"),
        ("of which the scoring GEMM alone", "gemm"),
        ("with AUC as well (one run)", "auc"),
    ]
    cell = 26
    print(f"  seconds, CPU | wall{'':<52}" + "".join(f"{lab:>{cell}}" for lab in labels))
    for title, c in rows:
        cells = "".join(
            f"{med[lab][c][0]:>{cell - 7}.2f} | {med[lab][c][1]:<4.2f}" for lab in labels
        )
        print(f"  {title:<72}{cells}")
    metrics = {
        lab: [med[lab]["evaluation"][k] - med[lab]["gemm"][k] for k in (0, 1)] for lab in labels
    }
    cells = "".join(f"{metrics[lab][0]:>{cell - 7}.2f} | {metrics[lab][1]:<4.2f}" for lab in labels)
    print(f"  {'the metrics (the rest)':<72}{cells}")
    for lab in labels:
        if heads[lab]["recall"] != heads[this]["recall"]:
            print(f"  warning: mean recall@20 differs on {lab}: {heads[lab]['recall']!r}")
    print(f"  mean recall@20: {heads[this]['recall']:.4f} (random scores)")
    for other in labels[1:]:
        r = med[this]["evaluation"][0] / med[other]["evaluation"][0]
        print(f"  evaluation, this / {other}: {r:.2f} (CPU)")
    total = med[this]["evaluation"][0]
    print(f"Target (this commit, CPU time): {total:.2f} s (<= 2.5 s)")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=1_000)
    parser.add_argument("--pos", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--sklearn-rows", type=int, default=200, help="subset for sklearn loops")
    parser.add_argument(
        "--against", metavar="REV", action="append", help="also time this commit (repeatable)"
    )
    parser.add_argument("--threads", type=int, default=1, help="Numba/OpenMP/BLAS threads")
    parser.add_argument("--no-peers", action="store_true", help="skip numpy/sklearn/ranx")
    parser.add_argument("--gowalla", metavar="PATH", help="time Gowalla's full ranking instead")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name in ("rows", "items", "pos", "repeats", "sklearn_rows", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.pos >= args.items:
        parser.error(f"--pos must be below --items ({args.items}), got {args.pos}")
    for rev in args.against or ():
        if subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "-q", "--verify", f"{rev}^{{commit}}"],
            capture_output=True,
        ).returncode:
            parser.error(f"--against: not a commit of this repository: {rev}")
    os.environ.update(one_thread_env(args.threads))  # before numba or BLAS are imported here
    if args.worker:
        return gowalla_worker(args) if args.gowalla else worker(args)
    if args.gowalla:
        return gowalla(args)
    return compare(args)


if __name__ == "__main__":
    raise SystemExit(main())
