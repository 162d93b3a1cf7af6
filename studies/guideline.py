"""The pre-registered guideline study (docs/guideline-test.md) as a resumable job queue.

    nice -n 19 .venv/bin/python studies/guideline.py work a &    # one worker per core
    nice -n 19 .venv/bin/python studies/guideline.py work b &
    .venv/bin/python studies/guideline.py status                 # what is done, per arm
    .venv/bin/python studies/guideline.py merge                  # worker rows -> results/

A job is one training run (`opauc-sim sweep` with one grid point, one weight decay and one
seed). Each worker writes its own CSV per data set under the queue folder
(``$GUIDELINE_QUEUE``, default ``.cache/guideline`` of this checkout), so two workers never
share a file; `merge` appends their new rows to ``results/guideline_<dataset>.csv`` through
``opauc-sim merge-sweeps`` (ids decide what is new). A job is done when its configuration
id is in any of those CSVs; a worker claims a job with ``mkdir`` (atomic), and the claim of a
worker that died is taken over. A job whose weight decay is "chosen" waits until both
seed-0 runs of its configuration are done, then takes the weight decay with the higher mean
validation NDCG@K over the five K (a tie: 1e-2), as pre-registered.

Run the workers from a git worktree pinned to a commit, so that editing the working tree
never changes a running study::

    git worktree add ../study HEAD && cd ../study && \
        PYTHONPATH=$PWD nice -n 19 ../main/.venv/bin/python studies/guideline.py work a
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUEUE = Path(os.environ.get("GUIDELINE_QUEUE", ROOT / ".cache" / "guideline"))
KS = (5, 10, 20, 50, 100)
MS = (1, 2, 5, 10, 20, 50, 100, 200)
#: The exploratory extension (docs/guideline-test.md, deviation of 2026-12-03, third session):
#: its M, seeds and one weight decay; run after every planned job.
EXPLORE_MS = (500, 1000, 2000)
EXPLORE_SEEDS = (0, 1, 2)
EXPLORE_WD = 0.01
WDS = (0.01, 0.001)
#: The protocol's options (docs/guideline-test.md, "Protocol"), common to every run.
PROTOCOL = [
    "--epochs", "200", "--eval-every", "10", "--patience", "5",
    "--select-metric", "ndcg@K", "--ks", *map(str, KS), "--batching", "user",
    "--batch-size", "4096", "--lr", "0.001", "--dim", "32", "--valid-frac", "0.1",
    "--threads", "1", "--quiet",
]  # fmt: skip
#: The batching control: the authors' recipe, user batches, the committed weight decays.
CONTROL = ["--authors-code", "--batching", "user", "--epochs", "200", "--threads", "1", "--quiet"]


@dataclass(frozen=True)
class Job:
    """One run. ``wd`` None: chosen on the seed-0 runs (module docstring)."""

    dataset: str
    sampler: str  # "rns", or "dns" (N = all); the control's "dns" is DNS(5, 200)
    m: int
    seed: int
    oracle: bool = False
    wd: float | None = None
    control: bool = False
    explore: bool = False

    @property
    def key(self) -> str:
        arm = "control" if self.control else "oracle" if self.oracle else "main"
        arm = f"explore-{arm}" if self.explore else arm
        wd = "chosen" if self.wd is None else f"{self.wd:g}"
        return f"{self.dataset}.{arm}.{self.sampler}{self.m}.s{self.seed}.wd{wd}"

    @property
    def csv_name(self) -> str:
        suffix = "_control" if self.control else "_explore" if self.explore else ""
        return f"guideline_{self.dataset}{suffix}"

    @property
    def grid(self) -> str:
        if self.sampler == "rns":
            return "rns"
        return f"dns:M={self.m}:N=200" if self.control else f"dns:M={self.m}:N=all"

    def config(self, wd: float):
        from opauc_sim.train.config import TrainConfig

        sampler = {"sampler": "rns"}
        if self.sampler == "dns":
            sampler = {"sampler": "dns", "M": self.m, "N": 200 if self.control else "all"}
        if self.control:
            return TrainConfig(
                **sampler, weight_decay=wd, authors_code=True, batching="user", eval_every=0,
                seed=self.seed,
            )  # fmt: skip
        return TrainConfig(
            **sampler, weight_decay=wd, epochs=200, eval_every=10, patience=5,
            select_metric="ndcg@K", ks=KS, batching="user", batch_size=4096, lr=1e-3, dim=32,
            seed=self.seed, exclude_heldout=self.oracle,
        )  # fmt: skip

    def run_id(self, wd: float) -> str:
        from opauc_sim.train.sweep import config_id

        valid_frac = 0.0 if self.control else 0.1
        return config_id(
            self.config(wd), self.dataset, self.seed, valid_frac=valid_frac, backend="numba"
        )


def _configs() -> list[tuple[str, int]]:
    return [("rns", 1), *(("dns", m) for m in MS)]


def jobs() -> list[Job]:
    """Every run of the study, in the queue order of docs/guideline-test.md (and its deviations)."""
    out: list[Job] = []
    seed0 = [Job(d, s, m, 0, wd=w) for d in ("ml-1m",) for s, m in _configs() for w in WDS]
    out += seed0
    # ML-1M before Gowalla's seed 0: the deviation of 2026-12-02 (docs/guideline-test.md).
    out += [Job("ml-1m", s, m, seed) for seed in range(1, 5) for s, m in _configs()]
    out += [Job("ml-1m", s, m, seed, oracle=True) for seed in range(5) for s, m in _configs()]
    out += [Job("gowalla", s, m, 0, wd=w) for s, m in _configs() for w in WDS]
    out += [Job("gowalla", s, m, seed) for seed in range(1, 5) for s, m in _configs()]
    out += [Job("gowalla", s, m, seed, oracle=True) for seed in range(3) for s, m in _configs()]
    out += [Job("yelp2018", s, m, 0, wd=w) for s, m in _configs() for w in WDS]
    out += [Job("yelp2018", s, m, seed) for seed in range(1, 3) for s, m in _configs()]
    out += [
        Job("gowalla", s, m, seed, wd=wd, control=True)
        for seed in range(3)
        for s, m, wd in (("rns", 1, 0.001), ("dns", 5, 0.01))
    ]
    # Step 8, exploratory (the deviation of 2026-12-03, third session): after every planned run.
    arms = (("gowalla", False), ("ml-1m", False), ("ml-1m", True))
    out += [
        Job(d, "dns", m, seed, oracle=oracle, wd=EXPLORE_WD, explore=True)
        for d, oracle in arms
        for seed in EXPLORE_SEEDS
        for m in EXPLORE_MS
    ]
    return out


def _rows(name: str, results: Path):
    """Every finished row of study CSV ``name``: results/ and every worker's."""
    import pandas as pd

    from opauc_sim.train.sweep import read_rows

    paths = [results / f"{name}.csv", *sorted(QUEUE.glob(f"*-{name}.csv"))]
    frames = [read_rows(p) for p in paths if p.exists()]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True).drop_duplicates("id")


def chosen_wd(job: Job, rows) -> float | None:
    """The weight decay of a "chosen" job, or None while its seed-0 runs are not done."""
    from opauc_sim.train.config import selection_keys

    if job.wd is not None:
        return job.wd
    base = Job(job.dataset, job.sampler, job.m, 0)
    values = {}
    for wd in WDS:
        rid = base.run_id(wd)
        row = rows[rows["id"] == rid] if len(rows) else rows
        if len(row) == 0:
            return None
        keys = list(selection_keys(base.config(wd)))
        values[wd] = float(row[[f"valid_{k}" for k in keys]].iloc[0].mean())
    return max(WDS, key=lambda w: (values[w], w))  # a tie goes to the larger (1e-2)


def _claim(job: Job) -> bool:
    """Take ``job`` unless a live process holds it (mkdir is atomic)."""
    path = QUEUE / "claims" / job.key
    try:
        path.mkdir(parents=True)
    except FileExistsError:
        if (path / "failed").exists():
            return False
        try:
            pid = int((path / "pid").read_text())
        except (OSError, ValueError):
            pid = 0
        if pid and pid != os.getpid():
            try:
                os.kill(pid, 0)
                return False
            except ProcessLookupError:
                pass
    (path / "pid").write_text(str(os.getpid()))
    return True


def _command(job: Job, wd: float, out: Path) -> list[str]:
    options = CONTROL if job.control else PROTOCOL
    cmd = [sys.executable, "-m", "opauc_sim", "sweep", "--dataset", job.dataset]
    cmd += ["--grid", job.grid, "--weight-decay", f"{wd:g}", *options]
    cmd += ["--seed", str(job.seed), "--split-seed", str(job.seed), "--out", str(out)]
    if job.oracle:
        cmd.append("--exclude-heldout")
    return cmd


def work(name: str, results: Path) -> int:
    """Run jobs until none is left (waiting while only "chosen" ones are blocked)."""
    while True:
        caches: dict[str, object] = {}
        pending = 0
        started = False
        for job in jobs():
            if job.csv_name not in caches:
                caches[job.csv_name] = _rows(job.csv_name, results)
            rows = caches[job.csv_name]
            wd = chosen_wd(job, rows)
            if wd is not None and len(rows) and job.run_id(wd) in set(rows["id"]):
                continue
            pending += 1
            if wd is None or not _claim(job):
                continue
            out = QUEUE / f"{name}-{job.csv_name}.csv"
            print(f"{name}: {job.key} (wd {wd:g}) start {time.strftime('%H:%M:%S')}", flush=True)
            rc = subprocess.call(_command(job, wd, out), cwd=ROOT, stdin=subprocess.DEVNULL)
            print(f"{name}: {job.key} rc={rc} end {time.strftime('%H:%M:%S')}", flush=True)
            if rc != 0:
                (QUEUE / "claims" / job.key / "failed").write_text(str(rc))
            elif job.run_id(wd) not in set(_rows(job.csv_name, results)["id"]):
                print(f"{name}: warning: {job.key} wrote no row with its id", flush=True)
            started = True
            break
        if not pending:
            print(f"{name}: queue empty {time.strftime('%H:%M:%S')}", flush=True)
            return 0
        if not started:
            time.sleep(60)  # blocked on "chosen" jobs or jobs held by the other worker


def status(results: Path) -> int:
    """Per data set and arm: runs done of runs planned."""
    counts: dict[str, list[int]] = {}
    caches: dict[str, object] = {}
    for job in jobs():
        if job.csv_name not in caches:
            caches[job.csv_name] = _rows(job.csv_name, results)
        rows = caches[job.csv_name]
        arm = job.key.split(".s")[0].rsplit(".", 1)[0]
        wd = chosen_wd(job, rows)
        done = wd is not None and len(rows) and job.run_id(wd) in set(rows["id"])
        pair = counts.setdefault(arm, [0, 0])
        pair[0] += bool(done)
        pair[1] += 1
    for arm, (done, total) in counts.items():
        print(f"{arm:<20} {done:>4} / {total}")
    return 0


def merge(results: Path) -> int:
    """Append the workers' new rows to results/guideline_<dataset>[_control].csv."""
    names = sorted({job.csv_name for job in jobs()})
    for name in names:
        sources = sorted(QUEUE.glob(f"*-{name}.csv"))
        if not sources:
            continue
        cmd = [sys.executable, "-m", "opauc_sim", "merge-sweeps"]
        cmd += ["--out", str(results / f"{name}.csv"), *map(str, sources)]
        rc = subprocess.call(cmd)
        if rc:
            return rc
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    w = sub.add_parser("work", help="run jobs until the queue is empty")
    w.add_argument("name", help="this worker's name (its CSVs are NAME-guideline_*.csv)")
    sub.add_parser("status", help="runs done per data set and arm")
    sub.add_parser("merge", help="append the workers' rows to results/")
    parser.add_argument(
        "--results", default=str(ROOT / "results"), help="the results folder (default: ours)"
    )
    args = parser.parse_args(argv)
    results = Path(args.results)
    QUEUE.mkdir(parents=True, exist_ok=True)
    if args.what == "work":
        return work(args.name, results)
    return status(results) if args.what == "status" else merge(results)


if __name__ == "__main__":
    sys.exit(main())
