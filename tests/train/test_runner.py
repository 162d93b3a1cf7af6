"""A run whose loss stops being finite (the authors' Softmax-v has no guard against a zero
variance, so its weights can turn NaN): training stops there, nothing ranks NaN scores,
and a sweep records the run instead of dying.

The engine is the real fused trainer, wrapped so that from a chosen epoch it reports a
NaN loss and scores NaN, as a diverged table would; a NaN score that reached the metrics
would raise, so these tests also show that none does.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from opauc_sim._definitions import ranking_columns
from opauc_sim.train import data as D
from opauc_sim.train import runner
from opauc_sim.train.config import TrainConfig


def _planted(seed=0, n_users=60, n_items=50, dim=3):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n_users, dim)) @ rng.normal(size=(dim, n_items)) * 1.5
    return sp.csr_matrix(logits > np.quantile(logits, 0.8, axis=1, keepdims=True))


class _Diverging:
    """The real engine, except that configuration ``c`` diverges at epoch ``at[c]``."""

    def __init__(self, engine, at: dict[int, int]):
        self.engine, self.at, self.epochs_run = engine, at, 0
        self.state_epoch: dict[int, int] = {}  # the epoch of each restored snapshot

    def __getattr__(self, name):
        return getattr(self.engine, name)

    def snapshot(self, c):
        return self.epochs_run, self.engine.snapshot(c)

    def restore(self, c, state):
        self.state_epoch[c], real = state
        self.engine.restore(c, real)

    def to_numpy(self, state):
        return self.engine.to_numpy(state[1])

    def _nan(self, c) -> bool:
        return c in self.at and self.state_epoch.get(c, self.epochs_run) >= self.at[c]

    def epoch(self):
        losses = np.array(self.engine.epoch(), dtype=float)
        self.epochs_run += 1
        for c, epoch in self.at.items():
            if self.epochs_run >= epoch:
                losses[c] = np.nan
        return losses

    def scorer(self, c):
        real = self.engine.scorer(c)
        if self._nan(c):
            return lambda rows: np.full_like(np.asarray(real(rows), dtype=float), np.nan)
        return real


@pytest.fixture
def diverging(monkeypatch):
    """``plan[c] = epoch`` makes configuration c of the next engine diverge at ``epoch``;
    ``made`` lists the engines made."""
    made: list[_Diverging] = []
    plan: dict[int, int] = {}
    real = runner._make_engine

    def make(*args, **kw):
        made.append(_Diverging(real(*args, **kw), dict(plan)))
        plan.clear()  # the plan is for the next engine only
        return made[-1]

    monkeypatch.setattr(runner, "_make_engine", make)
    return plan, made


def _config(**kw):
    base = dict(epochs=6, batch_size=64, lr=0.05, ks=(5, 10), select_metric="ndcg@10")
    return TrainConfig(**{**base, **kw})


def test_without_validation_training_stops_and_the_metrics_are_nan(diverging):
    plan, made = diverging
    plan[0] = 3
    split = D.split_per_user(_planted(), seed=0, valid_frac=0.0)
    config = _config(sampler="softmax", rho=1.0, N=8, eval_every=0, authors_code=True)
    (result,) = runner.train_many(split, [config], device="cpu", backend="numba")
    assert result.diverged_epoch == 3 and result.best_epoch == 3
    assert made[0].epochs_run == 3 and len(result.history) == 3  # stopped, not 6 epochs
    assert np.isnan(result.history[-1]["loss"]) and np.isfinite(result.history[1]["loss"])
    assert list(result.test) == ranking_columns((5, 10), auc=True)
    assert all(np.isnan(v) for v in result.test.values())
    # JSON: null, not the non-standard NaN token
    text = json.dumps(result.to_json(), allow_nan=False)
    assert json.loads(text)["diverged_epoch"] == 3


def test_with_validation_the_best_epoch_before_divergence_is_reported(diverging):
    plan, _ = diverging
    plan[0] = 4
    split = D.split_per_user(_planted(), seed=0)
    config = _config(sampler="dns", M=2, N=8, eval_every=1)
    (result,) = runner.train_many(split, [config], device="cpu", backend="numba")
    assert result.diverged_epoch == 4 and result.best_epoch <= 3
    validated = [row["epoch"] for row in result.history if "valid_ndcg@10" in row]
    assert validated == [1, 2, 3]
    assert all(np.isfinite(v) for v in result.test.values())
    # the same run without divergence keeps the same epoch and test metrics if its best
    # validated epoch was among the first three
    (clean,) = runner.train_many(split, [config], device="cpu", backend="numba")
    assert clean.diverged_epoch is None and len(clean.history) == 6
    if clean.best_epoch <= 3:
        assert clean.best_epoch == result.best_epoch and clean.test == result.test


def test_in_a_stacked_group_only_the_diverged_configuration_stops(diverging):
    plan, made = diverging
    plan[0] = 2
    split = D.split_per_user(_planted(), seed=0, valid_frac=0.0)
    configs = [
        _config(sampler="dns", M=2, N=8, eval_every=0, weight_decay=0.1),
        _config(sampler="dns", M=4, N=8, eval_every=0),
    ]
    bad, good = runner.train_many(split, configs, device="cpu", backend="numba")
    assert made[0].epochs_run == 6  # the other configuration trains on
    assert bad.diverged_epoch == 2 and all(np.isnan(v) for v in bad.test.values())
    assert good.diverged_epoch is None and good.best_epoch == 6
    assert all(np.isfinite(v) for v in good.test.values())


def test_a_sweep_records_the_diverged_run_and_goes_on(diverging, tmp_path):
    from opauc_sim.train import report, summary
    from opauc_sim.train.sweep import merge_sweeps, run_sweep

    plan, made = diverging
    split = D.split_per_user(_planted(), seed=0, valid_frac=0.0)
    configs = [
        _config(sampler="softmax", rho=1.0, N=8, eval_every=0, authors_code=True),
        _config(sampler="rns", eval_every=0, authors_code=True),
    ]
    plan[0] = 2  # the first engine made (the softmax group) diverges
    out = tmp_path / "s.csv"
    lines: list[str] = []
    df = run_sweep(split, configs, out, dataset="toy", valid_frac=0.0, log=lines.append)
    assert len(df) == 2 and len(made) == 2
    soft = df[df["sampler"] == "softmax"].iloc[0]
    assert soft["diverged_epoch"] == 2 and np.isnan(soft["test_ndcg@10"])
    assert np.isnan(df.loc[df["sampler"] == "rns", "diverged_epoch"].iloc[0])
    assert any("diverged at epoch 2" in line for line in lines)
    # resuming skips it: a diverged run is a result, not a failure to retry
    made.clear()
    assert len(run_sweep(split, configs, out, dataset="toy", valid_frac=0.0, log=None)) == 2
    assert made == []
    # the report names it, and counts only the epochs it ran
    rows = df.assign(seed=0, split_seed=0, epochs=6)
    assert "Softmax-v(rho=1, N=8), wd 0.0001, seed 0: at epoch 2" in "\n".join(
        report._diverged(rows)
    )
    seconds = summary.run_seconds(rows)
    assert seconds.iloc[0] == pytest.approx(
        2 * rows["epoch_seconds_median"].iloc[0] + rows["eval_seconds_total"].iloc[0]
    )
    # a CSV written before the column existed still merges with one that has it
    from opauc_sim.results_cache import save_result

    old = tmp_path / "old.csv"
    meta = json.loads((tmp_path / "s.json").read_text())
    before = pd.read_csv(out, dtype={"id": str}).drop(columns="diverged_epoch")
    save_result(before, "old", params=meta["params"], results_dir=tmp_path, extra={"kind": "sweep"})
    out.unlink()
    side = tmp_path / "side.csv"
    extra = [_config(sampler="dns", M=2, N=8, eval_every=0, authors_code=True)]
    run_sweep(split, [*configs, *extra], side, dataset="toy", valid_frac=0.0, log=None)
    merged = merge_sweeps(old, [side])
    assert len(merged) == 3 and "diverged_epoch" in merged  # the old rows read NaN there


def test_the_authors_softmax_diverges_on_a_zero_variance_and_the_projects_does_not():
    """Two identical candidates (N = 2, drawn with replacement) have zero loss variance:
    the authors' tau = sqrt(Var / (2 rho)) is 0 and the weights NaN (their code has no
    guard), while the project's recipe falls back to uniform weights. Real engine."""
    split = D.split_per_user(_planted(), seed=0, valid_frac=0.0)
    kw = dict(sampler="softmax", rho=1.0, N=2, eval_every=0, epochs=5)
    (authors,) = runner.train_many(split, [_config(**kw, authors_code=True)], device="cpu")
    assert authors.diverged_epoch == 1 and len(authors.history) == 1
    assert all(np.isnan(v) for v in authors.test.values())
    (project,) = runner.train_many(split, [_config(**kw)], device="cpu")
    assert project.diverged_epoch is None and len(project.history) == 5
    assert all(np.isfinite(v) for v in project.test.values())
