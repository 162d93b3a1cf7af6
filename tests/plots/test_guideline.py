"""The guideline figures (opauc_sim.plots.guideline) on a hand-built study."""

from __future__ import annotations

import pandas as pd
import pytest

from opauc_sim.plots import guideline as P
from opauc_sim.results_cache import save_result
from tests.train.test_guideline import KS, MS, _rows

pytest.importorskip("seaborn")


def _study() -> pd.DataFrame:
    main = _rows(lambda k: k, noise=0.001)
    oracle = _rows(lambda k: 2 * k, oracle=True, noise=0.001)
    return pd.concat([main, oracle], ignore_index=True)


def test_relative_table_is_one_at_each_ks_best():
    table = P.relative_table(_study(), oracle=False)
    assert list(table.index) == list(MS) and list(table.columns) == list(KS)
    assert (table.max(axis=0) == 1.0).all() and (table <= 1.0).all().all()


def test_heatmap_marks_the_prediction_and_every_measured_k():
    fig = P.make_heatmap(_study(), title="toy")
    ax = fig.axes[0]
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert len(dashed) == 1 and len(dashed[0].get_xdata()) == len(KS)
    assert "guideline" in ax.get_title()


def test_draw_writes_both_arms_and_refuses_an_empty_cache(tmp_path):
    save_result(_study(), "guideline_toy", params={"dataset": "toy"}, results_dir=tmp_path)
    names = sorted(p.name for p in P.draw(results_dir=str(tmp_path), out_dir=str(tmp_path)))
    assert names == [
        "guideline_toy.png",
        "guideline_toy_curves.png",
        "guideline_toy_oracle.png",
        "guideline_toy_oracle_curves.png",
    ]
    with pytest.raises(FileNotFoundError, match=r"guideline_<dataset>\.csv.*guideline-test\.md"):
        P.draw(results_dir=str(tmp_path / "none"), out_dir=str(tmp_path))


def test_draw_adds_the_exploratory_figures_of_each_extended_arm(tmp_path):
    from tests.train.test_guideline import _extended_study

    study, ext = _extended_study()
    save_result(study, "guideline_toy", params={"dataset": "toy"}, results_dir=tmp_path)
    save_result(ext, "guideline_toy_explore", params={"dataset": "toy"}, results_dir=tmp_path)
    names = sorted(p.name for p in P.draw(results_dir=str(tmp_path), out_dir=str(tmp_path)))
    assert names == [
        "guideline_toy.png",
        "guideline_toy_curves.png",
        "guideline_toy_explore.png",  # the main arm was extended, the oracle arm not
        "guideline_toy_explore_curves.png",
        "guideline_toy_oracle.png",
        "guideline_toy_oracle_curves.png",
    ]
    from opauc_sim.train import guideline as G

    fig = P.make_heatmap(G.extend(study, ext), title="toy", exploratory=True)
    assert "holds (exploratory)" in fig.axes[0].get_title()
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()][-3:] == ["500", "1000", "2000"]
