"""The two recipes side by side (opauc_sim.train.recipes), on hand-built sweep tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from opauc_sim.train import recipes

LABELS = {"rns": "RNS", "dns": "DNS(M=5, N=200)", "softmax": "Softmax-v(rho={:g}, N=200)"}


def _sweep(authors: bool, values: dict) -> pd.DataFrame:
    """One row per (sampler, wd, seed) -> (test NDCG@50, valid NDCG@50 or None); a
    sampler ``softmax:RHO`` is Softmax-v(RHO, 200)."""
    rows = []
    for (name, wd, seed), (ndcg, valid) in values.items():
        sampler, _, rho = name.partition(":")
        rows.append(
            {
                "id": f"{len(rows):016x}",
                "sampler": sampler,
                "M": 5 if sampler == "dns" else 1,
                "N": 1 if sampler == "rns" else 200,
                "rho": float(rho) if rho else np.nan,
                "weight_decay": wd,
                "seed": seed,
                "split_seed": seed,
                "epochs": 200,
                "lr": 1e-3,
                "authors_code": authors,
                "label": LABELS[sampler].format(float(rho or 0)),
                "best_epoch": 200 if authors else 120 + 10 * len(rows),
                **{f"test_ndcg@{k}": ndcg * k / 50 for k in (5, 20, 50)},
                **{f"test_recall@{k}": 2 * ndcg * k / 50 for k in (5, 20, 50)},
                "valid_ndcg@50": valid,
            }
        )
    return pd.DataFrame(rows)


AUTHORS = _sweep(
    True,
    {
        ("rns", 0.01, 0): (0.118, None),
        ("rns", 0.001, 0): (0.142, None),
        ("dns", 0.01, 0): (0.180, None),
        ("dns", 0.001, 0): (0.166, None),
        ("dns", 0.01, 1): (0.181, None),  # no project row: must not pair
        ("softmax:1", 0.01, 0): (0.182, None),
    },
)
PROJECT = _sweep(
    False,
    {
        ("rns", 0.01, 0): (0.130, 0.20),
        ("rns", 0.001, 0): (0.120, 0.21),  # best on validation, not on test
        ("dns", 0.01, 0): (0.170, 0.30),
        ("dns", 0.001, 0): (0.175, 0.29),
        ("softmax:1", 0.01, 0): (0.176, 0.28),
        ("softmax:10", 0.01, 0): (0.150, 0.25),  # no authors row at rho = 10
    },
)


def test_rows_pair_on_configuration_weight_decay_and_seed():
    t = recipes.recipe_table(AUTHORS, PROJECT).set_index(["label", "weight_decay"])
    assert len(t) == 5 and set(t["seed"]) == {0}
    soft = t.loc[("Softmax-v(rho=1, N=200)", 0.01)]
    assert soft["ndcg_authors"] == 0.182 and soft["ndcg_project"] == 0.176
    row = t.loc[("DNS(M=5, N=200)", 0.001)]
    assert row["ndcg_authors"] == 0.166 and row["ndcg_project"] == 0.175
    assert row["recall_project"] == 2 * 0.175 and row["epoch_authors"] == 200
    assert row["ndcg_ratio"] == pytest.approx(0.175 / 0.166, rel=1e-15)
    # the order of the two sweeps does not matter
    swapped = recipes.recipe_table(PROJECT, AUTHORS).set_index(["label", "weight_decay"])
    pd.testing.assert_frame_equal(t, swapped)


def test_gains_select_on_test_for_the_authors_and_on_validation_for_the_project():
    g = recipes.recipe_gains(AUTHORS, PROJECT).set_index(["recipe", "label"])
    assert g.loc[("authors", "RNS"), "weight_decay"] == 0.001
    assert g.loc[("authors", "DNS(M=5, N=200)"), "gain"] == pytest.approx(0.180 / 0.142 - 1)
    # the project's BPR is chosen at wd 0.001 (validation 0.21), although 0.01 tests higher
    assert g.loc[("project", "RNS"), "weight_decay"] == 0.001
    assert g.loc[("project", "DNS(M=5, N=200)"), "weight_decay"] == 0.01
    assert g.loc[("project", "DNS(M=5, N=200)"), "gain"] == pytest.approx(0.170 / 0.120 - 1)


def test_markdown_names_both_recipes():
    text = recipes.recipe_markdown(AUTHORS, PROJECT)
    assert "| DNS(M=5, N=200) | 0.001 | 0 | 0.1660 / 0.3320 | 0.1750 / 0.3500 (" in text
    assert "- the project's recipe: DNS(M=5, N=200) at its best wd 0.01" in text
    assert "+41.7% over BPR" in text  # 0.170 / 0.120 - 1
    empty = AUTHORS.assign(weight_decay=0.1)
    assert recipes.recipe_markdown(empty, PROJECT).startswith("No configuration")


def test_one_recipe_twice_or_mixed_is_refused():
    with pytest.raises(ValueError, match="both sweeps are of the authors recipe"):
        recipes.recipe_table(AUTHORS, AUTHORS)
    mixed = pd.concat([AUTHORS, PROJECT])
    with pytest.raises(ValueError, match="one recipe"):
        recipes.recipe_table(mixed, PROJECT)


def test_report_command_prints_the_recipe_table(tmp_path, capsys):
    from opauc_sim.cli import main

    a, p = tmp_path / "a.csv", tmp_path / "p.csv"
    AUTHORS.assign(dataset="gowalla").to_csv(a, index=False)
    PROJECT.assign(dataset="gowalla").to_csv(p, index=False)
    assert main(["report", str(a), "--against", str(p)]) == 0
    assert "| RNS | 0.01 | 0 | 0.1180 / 0.2360 | 0.1300 / 0.2600 (" in capsys.readouterr().out
    assert main(["report", str(a), "--against", str(a)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "both sweeps" in err
    assert main(["report", str(a), "--against", str(tmp_path / "x.csv")]) == 2
    assert "--against" in capsys.readouterr().err
