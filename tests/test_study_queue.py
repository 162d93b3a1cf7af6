"""studies/guideline.py, the guideline study's job queue: the pre-registered runs and the
exploratory extension (docs/guideline-test.md, Grid and Deviations)."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def queue():
    path = ROOT / "studies" / "guideline.py"
    spec = importlib.util.spec_from_file_location("guideline_queue", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["guideline_queue"] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules["guideline_queue"]


def _arm(job) -> str:
    return job.key.split(".s")[0].rsplit(".", 1)[0]


def test_the_planned_runs_are_the_grid_of_the_pre_registration(queue):
    jobs = queue.jobs()
    planned = [j for j in jobs if not j.explore]
    assert Counter(_arm(j) for j in planned) == {
        "ml-1m.main": 54,  # 9 configurations: seed 0 at two weight decays, seeds 1-4
        "ml-1m.oracle": 45,
        "gowalla.main": 54,
        "gowalla.oracle": 27,
        "yelp2018.main": 36,
        "gowalla.control": 6,
    }
    assert len(planned) == 222  # "Compute plan": 222 runs
    assert {j.m for j in planned if j.sampler == "dns" and not j.control} == set(queue.MS)


def test_the_extension_comes_after_every_planned_run_with_its_own_file_and_ids(queue):
    jobs = queue.jobs()
    first = next(i for i, j in enumerate(jobs) if j.explore)
    assert all(j.explore for j in jobs[first:]) and not any(j.explore for j in jobs[:first])
    explore = jobs[first:]
    assert Counter(_arm(j) for j in explore) == {
        "gowalla.explore-main": 9,
        "ml-1m.explore-main": 9,
        "ml-1m.explore-oracle": 9,
    }
    assert {j.m for j in explore} == {500, 1000, 2000}
    assert {j.seed for j in explore} == {0, 1, 2}
    # the queue keeps its own copy (it runs on the study's pinned package, which predates
    # the extension); the verdict's plan of the extension must be the same
    from opauc_sim.train import guideline

    assert queue.EXPLORE_MS == guideline.EXTENSION_MS
    assert len(queue.EXPLORE_SEEDS) == guideline.EXTENSION_SEEDS
    assert {j.wd for j in explore} == {0.01}  # fixed: no seed-0 choice
    assert {j.csv_name for j in explore} == {
        "guideline_gowalla_explore",
        "guideline_ml-1m_explore",
    }
    keys = [j.key for j in jobs]
    assert len(set(keys)) == len(keys)
    planned_ids = {j.run_id(w) for j in jobs[:first] for w in ((j.wd,) if j.wd else queue.WDS)}
    explore_ids = {j.run_id(j.wd) for j in explore}
    assert len(explore_ids) == len(explore) and not explore_ids & planned_ids


def test_an_extension_run_is_the_protocol_at_its_m(queue, tmp_path):
    job = next(j for j in queue.jobs() if j.explore and j.oracle and j.m == 2000)
    cmd = queue._command(job, job.wd, tmp_path / "out.csv")
    text = " ".join(cmd)
    assert "--grid dns:M=2000:N=all --weight-decay 0.01" in text
    assert " ".join(queue.PROTOCOL) in text
    assert cmd[-1] == "--exclude-heldout"
    main = next(j for j in queue.jobs() if j.explore and not j.oracle)
    assert "--exclude-heldout" not in queue._command(main, main.wd, tmp_path / "o.csv")
