"""False-negative shares of DNS and Softmax-v against a brute-force recount."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from opauc_sim import dro
from opauc_sim.train import data as D
from opauc_sim.train import numba_engine
from opauc_sim.train.false_negatives import false_negative_shares


def _setup(seed=0):
    rng = np.random.default_rng(seed)
    matrix = sp.csr_matrix(rng.random((25, 60)) < 0.25)
    split = D.split_per_user(matrix, seed=seed, test_frac=0.3, valid_frac=0.1)
    user_w = rng.normal(size=(25, 4))
    item_w = rng.normal(size=(60, 4))
    return split, user_w, item_w


def test_shares_equal_a_brute_force_recount():
    split, user_w, item_w = _setup()
    n, n_pairs = 15, 300
    got = false_negative_shares(
        user_w, item_w, split, ms=(1, 4), rhos=(0.5,), n=n, n_pairs=n_pairs, seed=3
    )
    # Recount with the same draws, by definition.
    train = split.train
    held = (split.valid + split.test).toarray().astype(bool)
    counts = np.diff(train.indptr)
    users = np.repeat(np.arange(train.shape[0]), counts)
    items = train.indices.astype(np.int64)
    pick = np.random.default_rng(3).integers(0, len(users), n_pairs)
    u, i = users[pick], items[pick]
    cand = np.empty((n_pairs, n), dtype=np.int64)
    bloom = np.empty((n_pairs, numba_engine._BLOOM_WORDS), dtype=np.uint64)
    key = np.uint64(numba_engine._stream_key(3, 3))
    numba_engine.draw_candidates(cand, u, key, 0, 60, numba_engine._csr64(train), bloom)
    assert not train.toarray()[u[:, None], cand].any()  # candidates are non-training items
    is_held = held[u[:, None], cand]
    scores = np.einsum("bd,bnd->bn", user_w[u], item_w[cand])
    pos = np.einsum("bd,bd->b", user_w[u], item_w[i])
    want = {("uniform", None): is_held.mean()}
    for m in (1, 4):
        top = np.argsort(-scores, axis=1, kind="stable")[:, :m]
        want[("dns", m)] = np.take_along_axis(is_held, top, 1).mean()
    w = dro.softmax_v_weights(np.logaddexp(0, scores - pos[:, None]), 0.5)
    want[("softmax", 0.5)] = (w * is_held).sum(1).mean()
    for row in got.itertuples():
        key_ = {
            "uniform": ("uniform", None),
            "dns": ("dns", row.M),
            "softmax": ("softmax", row.rho),
        }
        key_ = key_[row.sampler]
        assert abs(row.share - want[key_]) < 1e-12, (key_, row.share, want[key_])
    assert (got["n_pairs"] == n_pairs).all() and (got["se"] > 0).all()


def test_a_model_that_scores_held_out_items_first_makes_dns_pick_them():
    split, _, _ = _setup(1)
    held = (split.valid + split.test).toarray().astype(float)
    # Users and items embedded so that score(u, j) = 1 + 10 * [j held out for u].
    user_w = np.hstack([np.eye(25), np.ones((25, 1))])
    item_w = np.hstack([10 * held.T, np.ones((60, 1))])
    got = false_negative_shares(user_w, item_w, split, ms=(1,), rhos=(), n=30, n_pairs=500)
    uniform = got.loc[got.sampler == "uniform", "share"].item()
    dns = got.loc[got.sampler == "dns", "share"].item()
    assert uniform < 0.3 and dns > 0.9


def test_false_negatives_command_writes_rows_per_dataset(tmp_path, capsys):
    from opauc_sim.cli import main

    split, _, _ = _setup(2)
    data = tmp_path / "data"
    D.write_lightgcn(data, split.train + split.valid, split.test)
    out = tmp_path / "res" / "fn.csv"
    argv = ["false-negatives", "--dataset", str(data), "--valid-frac", "0", "--epochs", "2"]
    argv += ["--n-pairs", "200", "--n-candidates", "20", "--quiet", "--out", str(out)]
    assert main(argv) == 0
    import pandas as pd

    table = pd.read_csv(out)
    assert set(table["sampler"]) == {"uniform", "dns", "softmax"}
    assert (table["dataset"] == str(data)).all() and table["share"].between(0, 1).all()
    assert main(argv) == 0  # rerun replaces this dataset's rows, not appends
    assert len(pd.read_csv(out)) == len(table)
    assert main([*argv[:-2], "--out", str(tmp_path / "fn.txt")]) == 2


def test_rewriting_one_data_set_keeps_the_others_order_and_the_sidecar_names_all(tmp_path):
    """Rerunning the committed table's ml-100k rows moved them to the end of the file, and the
    sidecar then named ml-100k alone for a table of three data sets."""
    import json

    import pandas as pd

    from opauc_sim.train.config import TrainConfig
    from opauc_sim.train.false_negatives import save_shares

    table = pd.DataFrame(
        {"sampler": ["uniform", "dns"], "M": [float("nan"), 1], "rho": [float("nan")] * 2}
    ).assign(N=10, share=[0.1, 0.2], se=0.01, n_pairs=100)
    out = tmp_path / "fn.csv"
    kw = dict(config=TrainConfig(), test={"ndcg@50": 0.3}, n_pairs=100, seed=0)
    for name in ("a", "b", "c"):
        save_shares(out, table, dataset=name, **kw)
    rows = save_shares(out, table.assign(share=[0.3, 0.4]), dataset="b", **kw)
    assert rows["dataset"].tolist() == ["a", "a", "b", "b", "c", "c"]
    assert rows.loc[rows["dataset"] == "b", "share"].tolist() == [0.3, 0.4]
    assert rows.loc[rows["dataset"] != "b", "share"].tolist() == [0.1, 0.2] * 2
    params = json.loads(out.with_suffix(".json").read_text())["params"]
    assert params["datasets"] == ["a", "b", "c"] and params["dataset"] == "b"
