"""TrainConfig is the one home of the training settings: the CLI's options and defaults and
the sweep's CSV rows are built from its fields, so a new field or a changed default
reaches both without being written twice."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from opauc_sim.cli import build_parser
from opauc_sim.train import samplers
from opauc_sim.train.config import TrainConfig, TrainResult
from opauc_sim.train.sweep import _NOT_IN_ROW, result_row

#: Fields that are not an option of their own, or whose CLI default depends on the recipe.
_NOT_PLAIN_OPTIONS = {
    "sampler",
    *samplers.PARAMS,
    "init_std",
    "eval_every",
    "authors_code",
    "exclude_heldout",
}


def _parse(command: str, *extra: str):
    argv = [command, *extra]
    if command == "sweep":
        argv += ["--grid", "rns", "--out", "x.csv"]
    return build_parser().parse_args(argv)


@pytest.mark.parametrize("command", ["train", "sweep", "false-negatives"])
def test_cli_defaults_are_the_dataclass_defaults(command):
    args = _parse(command)
    for f in dataclasses.fields(TrainConfig):
        if f.name in _NOT_PLAIN_OPTIONS:
            continue
        got = getattr(args, f.name)
        if f.name == "weight_decay" and command == "sweep":
            got = got[0]
        want = list(f.default) if isinstance(f.default, tuple) else f.default
        assert got == want, f.name
    if command != "sweep":  # a sweep's samplers come from --grid
        assert args.sampler == TrainConfig().sampler


def test_cli_option_types_follow_the_fields():
    args = _parse("train", "--epochs", "3", "--lr", "0.5", "--ks", "1", "7", "--dim", "4")
    assert (args.epochs, args.lr, args.ks, args.dim) == (3, 0.5, [1, 7], 4)
    assert isinstance(args.epochs, int) and isinstance(args.lr, float)


def test_a_row_holds_every_setting_of_to_dict():
    config = TrainConfig(sampler="dns", M=2, N=8, epochs=3, seed=4, authors_code=True)
    result = TrainResult(
        config=config,
        device="cpu",
        best_epoch=3,
        valid={},
        test={"ndcg@20": 0.5},
        history=[{"epoch": 3, "loss": 0.25}],
        epoch_seconds=[1.0],
        eval_seconds=[0.5],
        backend="numba",
    )
    row = result_row(result, "ml-100k", 1, valid_frac=0.0)
    settings = {k: v for k, v in config.to_dict().items() if k not in _NOT_IN_ROW}
    assert {k: row[k] for k in settings if k not in ("rho", "alpha")} == {
        k: v for k, v in settings.items() if k not in ("rho", "alpha")
    }
    assert np.isnan(row["rho"]) and np.isnan(row["alpha"])  # DNS has no rho, no alpha
    assert row["test_ndcg@20"] == 0.5 and row["final_loss"] == 0.25
