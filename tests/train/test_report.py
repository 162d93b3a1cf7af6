"""Single-seed sweep summaries (no torch): the best per K on validation, the verdict, Table 2
and the sweep figures, on a synthetic table whose validation optimum is known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from opauc_sim.train import summary as S
from opauc_sim.train.report import report_markdown

ROOT = Path(__file__).resolve().parents[2]


def _sweep(best_m=None, best_rho=None) -> pd.DataFrame:
    """Valid and test NDCG/Recall@K peak at best_m[K] (DNS) and best_rho[K] (Softmax-v)."""
    best_m = best_m or {5: 1, 20: 3, 50: 10}
    best_rho = best_rho or {5: 10.0, 20: 1.0, 50: 0.1}
    rows = [{"sampler": "rns", "label": "RNS", "M": 1, "N": 1, "rho": np.nan, "base": 0.8}]
    for m in (1, 3, 10):
        rows.append(
            {
                "sampler": "dns",
                "label": f"DNS(M={m}, N=200)",
                "M": m,
                "N": 200,
                "rho": np.nan,
                "peak": ("M", m),
            }
        )
    for rho in (0.1, 1.0, 10.0):
        rows.append(
            {
                "sampler": "softmax",
                "label": f"Softmax-v(rho={rho:g}, N=200)",
                "M": 1,
                "N": 200,
                "rho": rho,
                "peak": ("rho", rho),
            }
        )
    out = []
    for r in rows:
        r = dict(r)
        peak = r.pop("peak", None)
        base = r.pop("base", 1.0)
        for k in (5, 20, 50):
            target = best_m[k] if peak and peak[0] == "M" else best_rho[k]
            hit = 1.0 if peak and peak[1] == target else 0.9
            value = base * hit * (0.1 + k / 100)
            for split in ("valid", "test"):
                for metric in ("ndcg", "recall"):
                    r[f"{split}_{metric}@{k}"] = value * (1.1 if metric == "recall" else 1.0)
        r["weight_decay"] = 1e-4
        r["seed"] = r["split_seed"] = 0
        out.append(r)
    return pd.DataFrame(out)


def _best(df, param):
    g = S.guideline_per_k(df)
    return g[g.param == param].sort_values("K")["best"].astype(float).tolist()


def test_best_per_k_follows_validation():
    assert _best(_sweep(), "M") == [1, 3, 10]
    assert _best(_sweep(), "rho") == [10.0, 1.0, 0.1]


def test_guideline_verdict_holds_and_fails():
    ok = S.guideline_per_k(_sweep())
    assert ok.groupby("param")["as_guideline"].all().to_dict() == {"M": True, "rho": True}
    assert ok.groupby("param")["changes"].all().all()
    bad = S.guideline_per_k(_sweep(best_m={5: 10, 20: 3, 50: 1}, best_rho={5: 0.1, 20: 1, 50: 10}))
    assert not bad["as_guideline"].any()
    assert "N" not in set(ok["param"])  # no N grid at M = 5 in this table
    flat = S.guideline_per_k(_sweep(best_m={5: 3, 20: 3, 50: 3}))
    dns = flat[flat.param == "M"]
    assert dns["as_guideline"].all() and not dns["changes"].any()
    text = report_markdown(_sweep(best_m={5: 3, 20: 3, 50: 3}))
    assert "the guideline's shift is not seen" in text


def test_comparison_table_gain_over_bpr():
    table = S.table2(_sweep(), k=50)
    assert table["method"].tolist() == ["BPR", "DNS(M*, N)", "Softmax-v(rho*, N)"]
    gain = 1 / (0.8 * 0.9) - 1  # RNS: base 0.8, off-peak 0.9
    np.testing.assert_allclose(table["ndcg vs BPR"].iloc[1:], [gain, gain])
    assert (table["n_seeds"] == 1).all() and table["ndcg_sd"].isna().all()


@pytest.mark.parametrize("param", ["M", "rho", "N"])
def test_sweep_figure_draws_every_family(param, tmp_path):
    pytest.importorskip("matplotlib")
    from opauc_sim.plots import train_sweep

    df = _sweep().assign(seed=0, split_seed=0)
    if param == "N":
        df.loc[df["sampler"] == "dns", "N"] = [10, 50, 200]
        df.loc[df["sampler"] == "dns", "M"] = 5
    fams = [f for f in S.families(df) if f[1] == param]
    assert len(fams) == 1
    fig = train_sweep.make_figure(df, fams[0], title="toy")
    assert len(fig.axes) == 3
    with pytest.raises(FileNotFoundError, match="opauc-sim sweep"):
        train_sweep.draw(results_dir=str(tmp_path), out_dir=str(tmp_path))


def test_against_a_sweep_of_the_other_batching_prints_the_batching_control():
    """`report USER.csv --against PAIR.csv` (either order) is the pre-registered control:
    user − pair paired by seed, and the 2% verdict; committed rows without a batching
    column are pair-batched."""
    import numpy as np
    import pandas as pd

    from opauc_sim.commands.report import _against

    def runs(batching, shift):
        df = pd.DataFrame(
            {
                "label": "RNS", "sampler": "rns", "M": 1, "N": 1, "weight_decay": 0.001,
                "authors_code": True, "seed": [0, 1, 2],
                "test_ndcg@50": np.array([0.140, 0.142, 0.144]) + shift,
                "test_recall@50": np.array([0.230, 0.238, 0.240]) + shift,
            }
        )  # fmt: skip
        return df if batching is None else df.assign(batching=batching)

    for user, pair in (
        (runs("user", 0.01), runs(None, 0.0)),
        (runs("user", 0.001), runs("pair", 0)),
    ):
        for text in (_against(user, pair), _against(pair, user)):
            assert "Batching control" in text
            row = [line for line in text.splitlines() if line.startswith("| RNS |")]
            assert len(row) == 1 and "| 3 | 0.1420 |" in row[0]
    assert "| +0.0100 (" in _against(runs("user", 0.01), runs(None, 0.0))
    assert "| material |" in _against(runs("user", 0.01), runs(None, 0.0))  # 0.01 > 2% of 0.142
    assert "| immaterial |" in _against(runs("user", 0.001), runs("pair", 0.0))
    with pytest.raises(ValueError, match="nothing to compare"):  # same batching: recipes
        _against(runs("pair", 0.0), runs("pair", 0.001))


def test_report_extend_adds_the_exploratory_verdict_and_refuses_what_is_not_an_extension(
    tmp_path, capsys
):
    """`report STUDY --extend EXT` prints the pre-registered verdict, then the statistic on
    the union marked exploratory; a file that is not an extension of the study is a
    one-line error naming --extend and the file."""
    from opauc_sim.cli import main
    from tests.train.test_guideline import _extended_study

    study, ext = _extended_study()
    for d in (study, ext):
        d["label"] = [f"{s}({m})" for s, m in zip(d["sampler"], d["M"], strict=True)]
    grid, extension = tmp_path / "g.csv", tmp_path / "e.csv"
    study.to_csv(grid, index=False)
    ext.to_csv(extension, index=False)
    assert main(["report", str(grid), "--extend", str(extension)]) == 0
    out = capsys.readouterr().out
    planned, explored = out.split("**Exploratory** guideline test on gowalla, M = 1 to 2000")
    assert "Guideline test on gowalla" in planned and "exploratory" not in planned
    assert "| main | NDCG | 50 (50.1) | 100 (99.8) | 200 (195) | 500 (499) | 1000 (" in explored
    assert explored.count("holds (exploratory)") == 2 and "| oracle |" not in explored
    other = tmp_path / "other.csv"
    ext.assign(dataset="ml-1m").to_csv(other, index=False)
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"\xff\xfe\x00")
    for bad, message in (
        (grid, "DNS(M, all) rows only, not rns(N=1)"),
        (other, "holds rows of another protocol (dataset: ml-1m, this run's: gowalla)"),
        (tmp_path / "missing.csv", "is not a file"),
        (binary, "is not a text CSV"),
        (tmp_path, "is not a file"),
    ):
        assert main(["report", str(grid), "--extend", str(bad)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and f"--extend {str(bad)!r}" in err, err
        assert message in err, err
