"""The LightGCN reader checks the format strictly: each fault is one line naming file:line."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

from opauc_sim.train import formats as F


def _folder(tmp_path, train: str, test: str):
    (tmp_path / "train.txt").write_text(train)
    (tmp_path / "test.txt").write_text(test)
    return tmp_path


def test_a_well_formed_folder_reads_as_written(tmp_path):
    """Blank lines are skipped, a user may have a line with no items, blanks may be tabs."""
    folder = _folder(tmp_path, "0 1 2\n1 0\n\n2\n3 3\t4\n", "0 3\n1 2\n")
    train, test = F.read_lightgcn(folder)
    assert train.matrix.shape == test.matrix.shape == (4, 5)
    assert train.nnz == 5 and test.nnz == 2
    assert train.matrix[3, 4] and not train.matrix[2].nnz


@pytest.mark.parametrize(
    ("train", "test", "match"),
    [
        ("0 1 2\n1 x\n", "0 3\n", r"train\.txt:2 is not 'user item item \.\.\.'.*'x'"),
        ("0 1 2\n", "0 3\n1 -4\n", r"test\.txt:2 .*a negative id"),
        ("0 1 2\n1 2.5\n", "0 3\n", r"train\.txt:2 .*'\.'"),
        ("0 1 +2\n", "0 3\n", r"train\.txt:1 .*'\+'"),
        ("0 1 2\n1 99999999999999999999\n", "0 3\n", r"train\.txt:2 has id 9+, out of range"),
        ("0 1 2\n1 3\n0 4\n", "0 5\n", r"train\.txt:3: user 0 has a second line .*line 1"),
        ("0 1 2\n1 3 4 3\n", "0 5\n", r"train\.txt:2: user 1 lists item 3 twice"),
        ("0 1 2\n1 3\n", "0 5\n1 4 3\n", r"test\.txt:2: user 1, item 3 is also in train\.txt "),
        ("0 1\n5000000 2\n", "0 3\n", r"train\.txt:2: user ids go up to 5,000,000 .*renumber"),
        ("0 1\n1 2\n", "0 3\n1 4000000\n", r"test\.txt:2: item ids go up to 4,000,000 "),
    ],
)
def test_each_fault_is_one_line_naming_file_and_line(tmp_path, train, test, match):
    folder = _folder(tmp_path, train, test)
    with pytest.raises(ValueError, match=match) as err:
        F.read_lightgcn(folder)
    assert "\n" not in str(err.value)
    assert str(folder) in str(err.value)


def test_the_pair_in_both_files_names_the_training_line(tmp_path):
    folder = _folder(tmp_path, "0 1\n1 2\n2 5 7\n", "0 3\n2 9 7\n")
    with pytest.raises(ValueError, match=r"test\.txt:2: user 2, item 7 .*\(line 3\)"):
        F.read_lightgcn(folder)


def test_a_missing_file_is_named(tmp_path):
    (tmp_path / "train.txt").write_text("0 1\n")
    with pytest.raises(ValueError, match=r"test\.txt is not a file: a LightGCN folder holds"):
        F.read_lightgcn(tmp_path)


def test_read_inter_in_zip_and_read_mat(tmp_path):
    text = "user_id:token\titem_id:token\trating:float\nu1\tA\t5\nu2\tB\t3\nu2\tA\t4\n"
    wheel = tmp_path / "w.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("pkg/x.inter", text)
    inter = F.read_inter_in_zip(wheel, member="pkg/x.inter")
    assert inter.matrix.toarray().tolist() == [[True], [True]]
    assert F.read_inter_in_zip(wheel, member="pkg/x.inter", min_rating=None).nnz == 3
    with pytest.raises(ValueError, match=r"no member 'pkg/y.inter'"):
        F.read_inter_in_zip(wheel, member="pkg/y.inter")
    mat = tmp_path / "m.mat"
    scipy.io.savemat(mat, {"data": sp.csc_matrix(np.eye(3))})
    assert F.read_mat(mat).matrix.toarray().tolist() == np.eye(3, dtype=bool).tolist()
    with pytest.raises(ValueError, match=r"no variable 'other'"):
        F.read_mat(mat, key="other")
    assert F.read_inter(io.StringIO(text)).nnz == 2
