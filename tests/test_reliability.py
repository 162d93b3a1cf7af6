"""Reliability: results are never lost or mixed, work is bounded, errors are one line.

Each test here failed before the fix it guards.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from opauc_sim import results_cache as rc

ROOT = Path(__file__).resolve().parent.parent


def _frame(n: int, value: float = 0.5) -> pd.DataFrame:
    return pd.DataFrame({"a": range(n), "b": [value] * n})


def _child(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (a process that may SIGKILL itself)."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


# A child that writes NAME with n rows and is killed (SIGKILL) at its k-th os.replace.
_KILL_AT_REPLACE = """
import os, signal, sys
import pandas as pd
from opauc_sim import results_cache as rc
calls = [0]
real = os.replace
def replace(a, b):
    calls[0] += 1
    if calls[0] == {k}:
        os.kill(os.getpid(), signal.SIGKILL)
    real(a, b)
os.replace = replace
rc.save_result(pd.DataFrame({{"a": range({n}), "b": [0.5] * {n}}}), "res", params={{"n": {n}}},
               results_dir=".")
"""


# ----------------------------------------------------------------------- atomic writes


def test_atomic_writes_use_the_umask(tmp_path):
    """Files written atomically used to get mode 0600 (mkstemp's) whatever the umask."""
    old = os.umask(0o027)
    try:
        rc.save_result(_frame(2), "res", params={}, results_dir=tmp_path)
        rc.atomic_write_text(tmp_path / "x.txt", "hi\n")
    finally:
        os.umask(old)
    for name in ("res.csv", "res.json", "x.txt"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o640, name


def test_kill_before_the_renames_leaves_the_old_pair_and_no_temporaries(tmp_path):
    """kill -9 between the temporary write and the rename used to leave orphaned *.tmp
    files for good; the next read or write now deletes them, and the old pair is intact."""
    rc.save_result(_frame(3), "res", params={"n": 3}, results_dir=tmp_path)
    done = _child(_KILL_AT_REPLACE.format(k=1, n=5), tmp_path)
    assert done.returncode == -9, done.stderr
    assert list(tmp_path.glob(".res.*.tmp"))  # the fault left temporaries
    df, meta = rc.load_result("res", tmp_path)
    assert len(df) == 3 and meta["params"] == {"n": 3}
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("first_write", [False, True])
def test_kill_between_csv_and_sidecar_renames_is_healed(tmp_path, first_write):
    """kill -9 between the CSV and JSON renames used to leave the new CSV with the old
    sidecar (read back as one result) or with none. The pending sidecar is now renamed into
    place on the next read, so the pair matches again."""
    if not first_write:
        rc.save_result(_frame(3), "res", params={"n": 3}, results_dir=tmp_path)
    done = _child(_KILL_AT_REPLACE.format(k=2, n=5), tmp_path)
    assert done.returncode == -9, done.stderr
    df, meta = rc.load_result("res", tmp_path)
    assert len(df) == 5 and meta["params"] == {"n": 5} and meta["rows"] == 5
    assert not list(tmp_path.glob(".*.tmp"))


def test_csv_that_no_longer_matches_its_sidecar_is_refused(tmp_path):
    """A CSV truncated mid-row (or otherwise changed) used to be read, its last row padded
    with NaN; it is now refused with a message naming the file."""
    path = rc.save_result(_frame(4), "res", params={}, results_dir=tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 3])
    with pytest.raises(rc.ResultsError, match=r"res\.csv does not match its sidecar"):
        rc.load_result("res", tmp_path)
    # Without a sidecar (an older cache), a missing final newline still gives it away.
    path.with_suffix(".json").unlink()
    with pytest.raises(rc.ResultsError, match=r"res\.csv ends mid-row"):
        rc.load_result("res", tmp_path)


def test_load_result_names_missing_columns(tmp_path):
    rc.save_result(_frame(2), "res", params={}, results_dir=tmp_path)
    with pytest.raises(rc.ResultsError, match=r"res\.csv lacks the columns \['corr'\]"):
        rc.load_result("res", tmp_path, columns=["a", "corr"])


def test_result_names_cannot_leave_the_results_folder(tmp_path):
    for bad in ("../x", "a/b", ".hidden", "", "/abs"):
        with pytest.raises(rc.ResultsError, match="plain file name"):
            rc.save_result(_frame(1), bad, params={}, results_dir=tmp_path / "r")
    assert not (tmp_path / "x.csv").exists()


# ----------------------------------------------------------------------- result sets


def test_result_set_interrupted_half_way_is_never_read_as_one_result(tmp_path, monkeypatch):
    """`simulate fig6 --seed 1` killed between its three files used to leave curves from
    seed 1 beside peaks and claims from seed 0, read back as one result."""
    from opauc_sim.cli import main

    argv = ["simulate", "fig6", "--n-rankings", "256", "--n-betas", "5", "--no-exact"]
    argv += ["--no-figure", "--quiet", "--results-dir", str(tmp_path)]
    assert main([*argv, "--seed", "0"]) == 0
    assert rc.load_result_set("fig6", tmp_path)["fig6_peaks"][1]["seed"] == 0

    real = rc.save_result
    calls = []

    def dies_after_first(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the process dies between the first and second file
        return real(*args, **kwargs)

    monkeypatch.setattr(rc, "save_result", dies_after_first)
    assert main([*argv, "--seed", "1"]) == 130  # Ctrl-C: one line, exit 130
    monkeypatch.setattr(rc, "save_result", real)
    assert json.loads((tmp_path / "fig6_curves.json").read_text())["seed"] == 1
    for name in ("fig6_curves", "fig6_peaks", "fig6_claims"):
        with pytest.raises(rc.ResultsError, match="result set 'fig6'"):
            rc.load_result(name, tmp_path)
    with pytest.raises(FileNotFoundError, match="did not finish"):
        rc.load_result_set("fig6", tmp_path)
    assert main([*argv, "--seed", "1"]) == 0  # a rerun makes the set whole again
    assert {m["seed"] for _, m in rc.load_result_set("fig6", tmp_path).values()} == {1}


def test_a_manifest_temporary_left_by_a_kill_is_removed_by_the_next_write(tmp_path):
    """A writer killed while writing SET.manifest.json left its temporary for good."""
    code = """
import os, signal
import pandas as pd
from opauc_sim import results_cache as rc
real = os.replace
def replace(a, b):
    if str(b).endswith("s.manifest.json"):
        os.kill(os.getpid(), signal.SIGKILL)
    real(a, b)
os.replace = replace
frame = pd.DataFrame({"a": [1, 2]})
rc.save_result_set({"s_a": frame, "s_b": frame}, "s", params={}, results_dir=".")
"""
    assert _child(code, tmp_path).returncode == -9
    assert len(list(tmp_path.glob(".s.manifest.json.*.tmp"))) == 1
    frame = pd.DataFrame({"a": [1, 2]})
    rc.save_result_set({"s_a": frame, "s_b": frame}, "s", params={}, results_dir=tmp_path)
    assert list(tmp_path.glob(".*.tmp")) == []
    assert set(rc.load_result_set("s", tmp_path)) == {"s_a", "s_b"}


def test_result_set_member_edited_after_the_manifest_is_refused(tmp_path):
    rc.save_result_set({"s_a": _frame(2), "s_b": _frame(3)}, "s", params={}, results_dir=tmp_path)
    assert set(rc.load_result_set("s", tmp_path)) == {"s_a", "s_b"}
    rc.save_result(_frame(4), "s_b", params={}, results_dir=tmp_path)  # a lone rewrite
    with pytest.raises(rc.ResultsError, match=r"s_b\.csv"):
        rc.load_result("s_b", tmp_path)


# ----------------------------------------------------------------------- sweeps


@pytest.fixture
def fake_sweep(monkeypatch):
    """run_sweep with training replaced by an instant fake (the bookkeeping is under test;
    no torch needed)."""
    from opauc_sim.train import sweep
    from opauc_sim.train.config import TrainConfig, TrainResult

    trained: list[str] = []

    def train_many(split, group, device="auto", progress=False, **kw):
        trained.extend(c.label for c in group)
        return [
            TrainResult(
                config=c,
                device="cpu",
                best_epoch=1,
                valid={f"ndcg@{k}": 0.1 for k in c.ks},
                test={f"{m}@{k}": 0.2 + c.M / 100 for k in c.ks for m in ("ndcg", "recall")},
                history=[{"loss": 1.0}],
                epoch_seconds=[0.01],
                backend=kw.get("backend", "torch"),
            )
            for c in group
        ]

    monkeypatch.setattr(sweep, "train_many", train_many)
    configs = [TrainConfig(sampler="dns", M=m, N=8, epochs=1) for m in (1, 2, 4)]

    def run(out, cfgs=configs, lines=None):
        log = None if lines is None else lines.append
        return sweep.run_sweep(None, cfgs, out, dataset="toy", log=log)

    return run, trained, configs


def test_sweep_out_must_end_in_csv_refused_before_training(tmp_path, fake_sweep):
    """`sweep --out results.txt` used to overwrite results.csv with each group's rows only
    and exit 0; it is now refused before any training."""
    run, trained, _ = fake_sweep
    for bad in (tmp_path / "results.txt", tmp_path / "results"):
        with pytest.raises(rc.ResultsError, match=r"must end in \.csv"):
            run(bad)
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(rc.ResultsError, match="is a folder"):
        run(tmp_path / "d.csv")
    assert trained == [] and not (tmp_path / "results.csv").exists()


def test_second_sweep_on_the_same_out_is_refused(tmp_path, fake_sweep, monkeypatch):
    """Two sweeps writing the same --out at once used to lose and duplicate rows. A sweep
    started while another holds the output is refused, and the first keeps every row."""
    from opauc_sim.train import sweep
    from opauc_sim.train.config import TrainConfig

    run, trained, _ = fake_sweep
    out = tmp_path / "r.csv"
    fake = sweep.train_many
    refused = []

    def train_many_and_race(split, group, **kw):
        if not refused:  # a second sweep starts while the first is training
            with pytest.raises(rc.ResultsError, match="another sweep is writing") as info:
                run(out, [TrainConfig(sampler="dns", M=7, N=8, epochs=1)])
            refused.append(str(info.value))
        return fake(split, group, **kw)

    monkeypatch.setattr(sweep, "train_many", train_many_and_race)
    df = run(out)
    assert refused and len(df) == 3 and df["id"].is_unique
    assert "DNS(M=7, N=8)" not in trained


def test_sweep_refuses_to_rewrite_a_csv_it_did_not_write(tmp_path, fake_sweep):
    """`sweep --out` on an unrelated CSV with an `id` column used to rewrite it silently."""
    run, trained, _ = fake_sweep
    other = tmp_path / "other.csv"
    other.write_text("id,score\na,1\nb,2\n")
    with pytest.raises(rc.ResultsError, match="was not written by a sweep"):
        run(other)
    # Even with every sweep column, a sidecar from something else is refused.
    done = run(tmp_path / "s.csv")
    rc.save_result(done, "t", params={"n": 1}, results_dir=tmp_path)
    with pytest.raises(rc.ResultsError, match=r"sidecar .* is not a sweep's"):
        run(tmp_path / "t.csv")
    assert other.read_text() == "id,score\na,1\nb,2\n"
    assert trained == ["DNS(M=1, N=8)", "DNS(M=2, N=8)", "DNS(M=4, N=8)"]  # s.csv only


def test_sweep_retrains_a_row_truncated_mid_row_and_drops_repeated_ids(tmp_path, fake_sweep):
    """A CSV truncated mid-row used to count as a finished configuration with NaN metrics,
    skipped for good; a repeated id was kept twice."""
    run, trained, _ = fake_sweep
    out = tmp_path / "r.csv"
    run(out)
    text = out.read_text()
    out.write_text(text[: len(text) - 10])  # the last row loses its metrics
    lines: list[str] = []
    trained.clear()
    df = run(out, lines=lines)
    assert trained == ["DNS(M=4, N=8)"]
    assert any("dropped 1 truncated" in line for line in lines)
    assert len(df) == 3 and df["test_ndcg@20"].notna().all()
    body = out.read_text().splitlines(keepends=True)
    out.write_text("".join([*body, body[1]]))  # a repeated row
    trained.clear()
    df = run(out)
    assert trained == [] and len(df) == 3 and df["id"].is_unique
    assert pd.read_csv(out)["id"].is_unique


def test_sweep_resumes_from_a_csv_whose_sidecar_was_lost(tmp_path, fake_sweep):
    """A kill between the CSV and sidecar renames of the first write leaves a CSV with no
    sidecar; a sweep CSV (by its columns) is still resumed, not refused."""
    run, trained, _ = fake_sweep
    out = tmp_path / "r.csv"
    run(out)
    out.with_suffix(".json").unlink()
    trained.clear()
    assert len(run(out)) == 3 and trained == []


def test_merge_sweeps_appends_new_ids_and_keeps_every_command(tmp_path, fake_sweep):
    """Sweeps run side by side write their own CSVs; merging appends only the rows whose
    ids --out lacks, and the sidecar lists every command that wrote rows."""
    from opauc_sim.train.config import TrainConfig
    from opauc_sim.train.sweep import merge_sweeps
    from opauc_sim.train.sweep import read_rows as sweep_read

    run, _, configs = fake_sweep
    main_csv, side = tmp_path / "main.csv", tmp_path / "side.csv"
    run(main_csv, configs[:2])
    run(side, [*configs[1:], TrainConfig(sampler="dns", M=8, N=8, epochs=1)])
    before = pd.read_csv(main_csv, dtype={"id": str})
    lines: list[str] = []
    merged = merge_sweeps(main_csv, [side], log=lines.append)
    assert len(merged) == 4 and merged["id"].is_unique
    assert lines[-1].endswith("2 new rows, 1 already in")
    # the rows that were there are unchanged and first
    pd.testing.assert_frame_equal(merged.iloc[:2].reset_index(drop=True), before)
    meta = json.loads(main_csv.with_suffix(".json").read_text())
    assert meta["kind"] == "sweep" and len(meta["commands"]) >= 1
    assert len(merge_sweeps(main_csv, [side])) == 4  # merging again adds nothing
    with pytest.raises(rc.ResultsError, match="is --out itself"):
        merge_sweeps(main_csv, [main_csv])
    with pytest.raises(rc.ResultsError, match="is not a file"):
        merge_sweeps(main_csv, [tmp_path / "absent.csv"])
    other = tmp_path / "other.csv"
    other.write_text("id,score\na,1\n")
    # The message names the source as a source (it used to call it --out).
    with pytest.raises(rc.ResultsError, match=r"^source .* was not written by a sweep"):
        merge_sweeps(main_csv, [other])
    run(other.with_name("long.csv"), [TrainConfig(sampler="dns", M=8, N=8, epochs=3)])
    with pytest.raises(rc.ResultsError, match=r"another protocol than --out .*epochs: 3"):
        merge_sweeps(main_csv, [other.with_name("long.csv")])
    assert len(sweep_read(main_csv)) == 4


def test_sweep_refuses_to_mix_protocols_in_one_csv(tmp_path, fake_sweep):
    """Resuming --out with another data set, recipe (--authors-code) or --ks used to append
    to the same CSV, and `report` then pooled them. Other samplers, weight decays, seeds
    and the oracle arm still share one CSV (the studies rely on it)."""
    from opauc_sim.train import sweep
    from opauc_sim.train.config import TrainConfig

    run, trained, configs = fake_sweep
    out = tmp_path / "r.csv"
    run(out)
    before = out.read_bytes()
    trained.clear()
    for other, what in (
        ([TrainConfig(sampler="dns", M=7, N=8, epochs=1, authors_code=True)], "authors_code"),
        ([TrainConfig(sampler="dns", M=7, N=8, epochs=1, ks=(10,), select_metric="ndcg@10")], "ks"),
        ([TrainConfig(sampler="dns", M=7, N=8, epochs=2)], "epochs"),
        ([TrainConfig(sampler="dns", M=7, N=8, epochs=1, batching="user")], "batching"),
    ):
        with pytest.raises(rc.ResultsError, match=f"another protocol \\(.*{what}: "):
            run(out, other)
    with pytest.raises(rc.ResultsError, match=r"another protocol \(dataset: toy, this run's: ml"):
        sweep.run_sweep(None, configs, out, dataset="ml-100k", log=None)
    with pytest.raises(ValueError, match="several protocols"):
        run(tmp_path / "new.csv", [configs[0], TrainConfig(epochs=2)])
    assert trained == [] and out.read_bytes() == before
    same = [
        TrainConfig(sampler="rns", weight_decay=0.01, seed=3, epochs=1),
        TrainConfig(sampler="dns", M=2, N=8, epochs=1, exclude_heldout=True),
        TrainConfig(sampler="softmax", rho=1.0, N=8, epochs=1),
    ]
    assert len(run(out, same)) == 6
    # A file mixed by hand (or by an older version) is refused by the reader, naming both.
    mixed = pd.concat([pd.read_csv(out), pd.read_csv(out).assign(epochs=200, id="x")])
    mixed.to_csv(tmp_path / "mixed.csv", index=False)
    with pytest.raises(rc.ResultsError, match="mixes rows of several protocols \\(epochs 1, 200"):
        sweep.read_rows(tmp_path / "mixed.csv")


def test_a_sweep_row_edited_by_hand_is_refused(tmp_path, fake_sweep):
    """A hand-edited metric used to be read silently although the sidecar's sha256 no
    longer matched. Cut and repeated rows are still dropped (and retrained)."""
    from opauc_sim.train import sweep

    run, _, _ = fake_sweep
    out = tmp_path / "r.csv"
    run(out)
    text = out.read_text()
    out.write_text(text.replace("0.22", "0.99", 1))
    with pytest.raises(rc.ResultsError, match=r"line \d, does not match its sidecar"):
        sweep.read_rows(out)
    with pytest.raises(rc.ResultsError, match="does not match its sidecar"):
        run(out)
    lines = text.splitlines(keepends=True)
    out.write_text("".join(lines[:2] + lines[3:]))  # a whole row removed: retrained
    assert len(sweep.read_rows(out)) == 2 and len(run(out)) == 3
    # An older sidecar, without row digests: the file's sha256 vouches for it.
    meta = json.loads(out.with_suffix(".json").read_text())
    del meta["row_sha256"]
    out.with_suffix(".json").write_text(json.dumps(meta))
    assert len(sweep.read_rows(out)) == 3
    out.write_text(out.read_text().replace("0.21", "0.99", 1))
    with pytest.raises(rc.ResultsError, match="sha256 differs"):
        sweep.read_rows(out)
    out.with_suffix(".json").unlink()  # the way out the message gives: take it as it is
    assert len(sweep.read_rows(out)) == 3


def test_every_name_of_one_sweep_csv_takes_the_same_lock(tmp_path, fake_sweep):
    """The lock was per file name: a symlink or a hard link to --out gave two writers (and
    the write replaced the symlink with a file)."""
    from opauc_sim.train import sweep

    run, _, configs = fake_sweep
    real = tmp_path / "real.csv"
    run(real, configs[:1])
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    assert sweep.check_out(link) == real.resolve()
    with sweep.lock_out(real):
        with pytest.raises(rc.ResultsError, match="another sweep is writing"):
            with sweep.lock_out(link):
                pass
    assert len(run(link)) == 3 and link.is_symlink() and len(sweep.read_rows(real)) == 3
    hard = tmp_path / "hard.csv"
    os.link(real, hard)
    with pytest.raises(rc.ResultsError, match="has 2 hard links"):
        run(hard)


def test_report_on_a_family_that_diverged_whole_is_not_an_error(tmp_path, monkeypatch, capsys):
    """When every Softmax-v run diverged (NaN test metrics), `report` ended in "error:
    Encountered all NA values"."""
    from opauc_sim.train import sweep
    from opauc_sim.train.config import TrainConfig, TrainResult

    def train_many(split, group, device="auto", progress=False, **kw):
        nan = float("nan")
        return [
            TrainResult(
                config=c,
                device="cpu",
                best_epoch=1,
                valid={f"ndcg@{k}": 0.1 for k in c.ks},
                test={
                    f"{m}@{k}": nan if c.sampler == "softmax" else 0.2 + c.M / 100
                    for k in c.ks
                    for m in ("ndcg", "recall")
                },
                history=[{"loss": 1.0}],
                epoch_seconds=[0.01],
                backend="numba",
                diverged_epoch=1 if c.sampler == "softmax" else None,
            )
            for c in group
        ]

    monkeypatch.setattr(sweep, "train_many", train_many)
    configs = [TrainConfig(sampler="rns", epochs=1)]
    configs += [TrainConfig(sampler="dns", M=m, N=8, epochs=1) for m in (1, 2)]
    configs += [TrainConfig(sampler="softmax", rho=r, N=8, epochs=1) for r in (0.1, 1.0)]
    out = tmp_path / "s.csv"
    sweep.run_sweep(None, configs, out, dataset="toy", log=None)
    code, report_out, err = _report([out], capsys)
    assert code == 0, err
    assert "Encountered all NA" not in err and "Traceback" not in err
    assert "Softmax-v(rho=1, N=8), wd 0.0001, seed 0: at epoch 1" in report_out


def test_committed_sweep_csvs_still_read_report_and_merge(tmp_path, capsys):
    """The reader's new checks (sidecar, protocol) accept every committed table."""
    from opauc_sim.cli import main
    from opauc_sim.train import sweep, sweep_files

    for path in sorted((ROOT / "results").glob("*.csv")):
        meta = json.loads(path.with_suffix(".json").read_text())
        if sweep_files.SWEEP.owns(meta):
            rows = sweep.read_rows(path)
            assert len(rows) == meta["rows"] and rows.attrs["dropped"] == 0, path
        elif sweep_files.SHARES.owns(meta):
            assert len(sweep.read_rows(path, kind=sweep_files.SHARES)) == meta["rows"]
    for name in ("train_gowalla", "guideline_ml-1m"):
        assert main(["report", str(ROOT / "results" / f"{name}.csv")]) == 0
        assert "| method |" in capsys.readouterr().out
    merged = tmp_path / "m.csv"
    src = ROOT / "results" / "guideline_ml-1m.csv"
    assert main(["merge-sweeps", str(src), "--out", str(merged)]) == 0
    assert len(sweep.read_rows(merged)) == len(sweep.read_rows(src))  # rows land as the study runs
    capsys.readouterr()


def _report(argv, capsys):
    from opauc_sim.cli import main

    code = main(["report", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_report_reads_sweeps_with_the_sweeps_reader(tmp_path, fake_sweep, capsys):
    """`report A --against B` paired a truncated row as "nan / nan" and a repeated row
    twice; a header-only CSV printed nothing and exited 0; an empty or binary file gave
    an error that named no file; a sweep without K = 50 printed no table and no word why."""
    from opauc_sim.train.config import TrainConfig

    run, _, configs = fake_sweep
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    run(a, [TrainConfig(sampler="rns", epochs=1), *configs])
    run(b, [TrainConfig(sampler=s, M=m, N=8 * (s == "dns") or 1, epochs=1, authors_code=True)
            for s, m in (("rns", 1), ("dns", 1), ("dns", 2), ("dns", 4))])  # fmt: skip
    body = b.read_text().splitlines(keepends=True)
    b.write_text("".join([*body[:-1], body[-1][:30]]))  # the last row cut mid-row
    lines = a.read_text().splitlines(keepends=True)
    a.write_text("".join([*lines, lines[1]]))  # a repeated row
    code, out, err = _report([a, "--against", b], capsys)
    assert code == 0, err
    assert "nan" not in out.lower() and out.count("| DNS(M=1, N=8) |") == 1
    assert "DNS(M=4, N=8) |" not in out.split("project / authors")[1]
    assert "dropped 1 truncated" in err and "1 repeated" in err
    for content, message in (
        (lines[0], "h.csv' holds no finished row"),
        ("", "h.csv' is empty"),
        (None, "h.csv' is not a text CSV"),
    ):
        h = tmp_path / "h.csv"
        h.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe" if content is None else content.encode())
        code, out, err = _report([h], capsys)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    k10 = tmp_path / "k10.csv"
    run(k10, [TrainConfig(sampler="dns", M=1, N=8, epochs=1, ks=(10,), select_metric="ndcg@10")])
    code, out, err = _report([k10], capsys)
    assert code == 2 and "no metrics at K = 50 (its cut-offs K: 10)" in err


def test_command_line_reads_as_typed():
    assert rc.command_line(["/x/opauc_sim/__main__.py", "sweep", "--out", "r.csv"]) == (
        "opauc-sim sweep --out r.csv"
    )
    assert rc.command_line(["/venv/bin/opauc-sim", "check"]) == "opauc-sim check"
    assert rc.command_line(["script.py", "a"]) == "script.py a"


# ----------------------------------------------------------------------- environment


def test_read_only_package_and_home_still_import_the_kernels(tmp_path):
    """With no writable folder for Numba's kernel cache (the package's __pycache__ and
    ~/.cache both unusable), importing the kernels used to fail with Numba's RuntimeError
    traceback ("no locator available"). The cache now falls back to a temporary folder."""
    import shutil

    copy = tmp_path / "site"
    shutil.copytree(
        ROOT / "opauc_sim", copy / "opauc_sim", ignore=shutil.ignore_patterns("__pycache__")
    )
    (copy / "opauc_sim" / "__pycache__").write_text("")  # blocks the in-tree cache
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME")}
    env.update(HOME="/dev/null", PYTHONPATH=str(copy), TMPDIR=str(tmp_path))
    code = (
        "import os, opauc_sim.metrics, opauc_sim.correlation; print(os.environ['NUMBA_CACHE_DIR'])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout.strip().startswith(str(tmp_path))


# ----------------------------------------------------------------------- bounded work


def _run_cli(argv, capsys):
    from opauc_sim.cli import main

    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


class _Started(Exception):
    """Raised in place of the real computation: the checks before it have all passed."""


def _no_computing(monkeypatch):
    from opauc_sim import checks, correlation
    from opauc_sim.checks import theorem3
    from opauc_sim.correlation import studies

    def started(*args, **kwargs):
        raise _Started

    for module, name in [
        (correlation, "beta_curve"),  # simulate curve
        (studies, "beta_curve"),  # the studies of simulate fig6, methods
        (studies, "peak_law"),
        (studies, "binormal_study"),
        (checks, "run_checks"),
        (theorem3, "scatter_table"),
    ]:
        monkeypatch.setattr(module, name, started)


@pytest.mark.parametrize(
    "argv",
    [
        # Numba SystemError at 6.4 GB before
        [
            "simulate",
            "curve",
            "--n-pos",
            "200",
            "--n-neg",
            "800",
            "--ks",
            "10",
            "--n-betas",
            "10000000",
            "--exact",
        ],
        ["simulate", "fig6", "--n-betas", "10000000", "--no-figure"],  # reached 33 GiB
        # MemoryError before the package's own size check
        ["simulate", "curve", "--n-pos", "2000000000", "--n-neg", "800", "--ks", "10"],
        ["simulate", "methods", "--n-rankings", "100000000000", "--no-figure"],
        ["demo", "--rows", "100000", "--items", "1000000"],
    ],
)
def test_work_that_cannot_fit_in_memory_is_refused_up_front(argv, capsys, monkeypatch, tmp_path):
    monkeypatch.setattr("opauc_sim._cost.available_memory", lambda: 16 * 2**30)
    _no_computing(monkeypatch)
    code, _, err = _run_cli(
        [*argv, *(["--results-dir", str(tmp_path)] if argv[0] == "simulate" else [])], capsys
    )
    assert code == 2
    assert "would need about" in err and "of memory, more than the 16 GiB available" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_beta_curve_checks_memory_before_allocating():
    from opauc_sim import correlation
    from opauc_sim._cost import ResourceError

    with pytest.raises(ResourceError, match="would need about"):
        correlation.beta_curve(2_000_000_000, 800, ks=[10], betas=[0.5], metrics=["recall"])


@pytest.mark.parametrize(
    ("argv", "unit"),
    [
        (["simulate", "fig6", "--n-rankings", str(10**12), "--no-figure"], "days"),
        (
            [
                "simulate",
                "curve",
                "--n-pos",
                "100000",
                "--n-neg",
                "1000000",
                "--ks",
                "10",
                "--exact",
            ],
            " h ",
        ),
    ],
)
def test_long_work_is_announced_on_stderr_even_under_quiet(
    argv, unit, capsys, monkeypatch, tmp_path
):
    """`simulate fig6 --n-rankings 10**12` (days) and an exact curve at n_pos = 1e5,
    n_neg = 1e6 (hours, no progress bar) used to start without a word."""
    monkeypatch.setattr("opauc_sim._cost.available_memory", lambda: 64 * 2**30)
    _no_computing(monkeypatch)
    with pytest.raises(_Started):
        _run_cli([*argv, "--quiet", "--results-dir", str(tmp_path)], capsys)
    err = capsys.readouterr().err
    assert "note: this will take about" in err and unit in err


def test_short_work_is_not_announced(capsys, tmp_path):
    argv = ["simulate", "curve", "--n-pos", "20", "--n-neg", "80", "--ks", "5", "--n-betas", "5"]
    argv += ["--results-dir", str(tmp_path), "--no-figure"]
    code, _, err = _run_cli([*argv, "--exact", "--quiet"], capsys)
    assert code == 0 and "will take" not in err


# ----------------------------------------------------------------------- one-line errors


@pytest.fixture
def a_file(tmp_path):
    path = tmp_path / "a_file"
    path.write_text("x")
    return str(path)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["figures", "--out-dir", "/dev/null/x"], "--out-dir '/dev/null/x' cannot be created"),
        (["check", "--save", "--results-dir", "/dev/null/x"], "--results-dir '/dev/null/x'"),
        (["proof-tables", "--results-dir", "FILE"], "is a file, not a folder"),
        (["simulate", "fig6", "--results-dir", "FILE"], "--results-dir 'FILE' is a file"),
        (["simulate", "peak-law", "--results-dir", "FILE"], "is a file, not a folder"),
        (["simulate", "binormal", "--out-dir", "/dev/null/x"], "--out-dir '/dev/null/x'"),
        (["simulate", "methods", "--results-dir", "/dev/null/x"], "cannot be created"),
        (
            [
                "simulate",
                "curve",
                "--n-pos",
                "20",
                "--n-neg",
                "80",
                "--ks",
                "5",
                "--save",
                "c",
                "--results-dir",
                "FILE",
            ],
            "is a file",
        ),
        (
            ["simulate", "curve", "--n-pos", "20", "--n-neg", "80", "--ks", "5", "--betas", "abc"],
            "argument --betas: invalid float value: 'abc'",
        ),
        (
            [
                "simulate",
                "curve",
                "--n-pos",
                "20",
                "--n-neg",
                "80",
                "--ks",
                "5",
                "--save",
                "../../x",
            ],
            "--save must be a plain file name",
        ),
    ],
)
def test_bad_outputs_and_options_are_one_line_errors_before_any_computing(
    argv, message, a_file, capsys, monkeypatch
):
    """These used to compute first and then die with a traceback (or, for --save ../../x,
    write outside --results-dir; for --betas abc, not name the option)."""
    _no_computing(monkeypatch)
    argv = [a_file if v == "FILE" else v for v in argv]
    code, _, err = _run_cli(argv, capsys)
    assert code == 2, err
    assert message.replace("FILE", a_file) in err
    assert re.match(rf"opauc-sim {argv[0]}( [a-z0-9-]+)?: error: ", err), err
    assert len(err.strip().splitlines()) == 1


def test_read_only_folder_is_reported(tmp_path, monkeypatch):
    """A folder that exists but refuses new files (read-only mount, no permission)."""
    import errno
    import tempfile

    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(rc.ResultsError, match=r"--out-dir .* is not writable: Read-only file"):
        rc.check_writable_dir(tmp_path, "--out-dir")


def test_figures_with_a_results_csv_missing_columns_is_one_line(tmp_path, capsys):
    """A results CSV with missing columns given to `figures` used to end in a KeyError
    traceback."""
    curves = pd.DataFrame({"source": ["exact"], "metric": ["recall"], "k": [5], "beta": [0.1]})
    rc.save_result(curves, "fig6_curves", params={}, results_dir=tmp_path)
    argv = ["figures", "--results-dir", str(tmp_path), "--out-dir", str(tmp_path)]
    argv += ["--only", "beta_curves"]
    code, _, err = _run_cli(argv, capsys)
    assert code == 2 and "Traceback" not in err
    for line in err.strip().splitlines():
        assert line.startswith("opauc-sim figures: error: beta_curves")
        assert "fig6_curves.csv lacks the columns ['corr'" in line
    # A hand-made table with no sidecar and no declared columns: the KeyError is one line.
    (tmp_path / "theorem1_dns_bias.csv").write_text("x\n1\n")
    (tmp_path / "theorem1_dns_bias.json").write_text('{"name": "theorem1_dns_bias"}')
    argv[-1] = "theorem1"
    code, _, err = _run_cli(argv, capsys)
    assert code == 2 and "Traceback" not in err
    assert (
        err.strip()
        .splitlines()[-1]
        .startswith("opauc-sim figures: error: theorem1_dns_bias: missing column")
    )


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--decimals", "2000000000", "decimals must be <= 15, got 2000000000"),
        ("--mu", "1e308", "mu must be <= 1000000.0, got 1e+308"),
    ],
)
def test_demo_values_that_overflow_the_scores_are_named(option, value, message, capsys):
    """Found by the CLI fuzz test: these made NaN scores, reported as "y_score must not
    contain NaN", which names no demo option."""
    argv = ["demo", "--rows", "5", "--items", "60", option, value]
    code, _, err = _run_cli(argv, capsys)
    assert code == 2 and message in err


def test_read_only_home_gives_no_matplotlib_warning(tmp_path):
    """With HOME unwritable, every figure command printed Matplotlib's two-line warning
    about a temporary config folder (and rebuilt its font cache each time)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MPLCONFIGDIR", "XDG_CONFIG_HOME")}
    env.update(HOME="/dev/null", PYTHONPATH=str(ROOT), TMPDIR=str(tmp_path))
    code = "import opauc_sim, matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr
    assert "Matplotlib created a temporary" not in done.stderr
    assert (tmp_path / f"opauc-sim-matplotlib-{os.getuid()}").is_dir()


# ----------------------------------------------------------------------- false negatives


@pytest.fixture
def toy_data(tmp_path):
    """A small LightGCN folder (train.txt, test.txt)."""
    import numpy as np
    import scipy.sparse as sp

    from opauc_sim.train import data as D

    rng = np.random.default_rng(2)
    split = D.split_per_user(
        sp.csr_matrix(rng.random((25, 60)) < 0.25), seed=2, test_frac=0.3, valid_frac=0.0
    )
    folder = tmp_path / "data"
    D.write_lightgcn(folder, split.train, split.test)
    return folder


def _no_loading(monkeypatch):
    from opauc_sim.train import data as D

    def refuse(*args, **kwargs):
        raise AssertionError("the data was loaded before every option was checked")

    monkeypatch.setattr(D, "load_split", refuse)


def test_false_negatives_checks_everything_before_loading_data(
    tmp_path, toy_data, fake_sweep, capsys, monkeypatch
):
    """--ms, --rhos, --n-pairs, --n-candidates and --out were checked only after training
    (on Gowalla most of an hour): --n-pairs 10**12 ended in "out of memory (7.28 TiB)", a
    sweep's CSV as --out in a KeyError traceback, or was overwritten with share rows."""
    from opauc_sim.cli import main

    run, _, _ = fake_sweep
    run(tmp_path / "sweep.csv")
    sweep_bytes = (tmp_path / "sweep.csv").read_bytes()
    results = tmp_path / "committed" / "results"
    results.mkdir(parents=True)
    (results / ".opauc-sim-committed").write_text("")
    _no_loading(monkeypatch)
    base = ["false-negatives", "--dataset", str(toy_data), "--epochs", "1", "--quiet"]
    for extra, message in (
        (["--out", str(tmp_path / "sweep.csv")], "was not written by opauc-sim false-negatives"),
        (["--n-pairs", str(10**12)], "would need about"),
        (["--ms", "0"], "--ms must be >= 1"),
        (["--ms", "5", "300"], "--ms must be <= 200"),
        (["--rhos", "-1"], "--rhos must be > 0"),
        (["--n-candidates", "0"], "--n-candidates must be >= 1"),
        (["--out", str(tmp_path / "x.txt")], "--out must end in .csv"),
        (["--out", str(results / "fn.csv")], "holds the committed canonical results"),
    ):
        assert main([*base, *extra]) == 2, extra
        out, err = capsys.readouterr()
        assert message in err and len(err.strip().splitlines()) == 1, err
        assert "goes to" not in out
    assert (tmp_path / "sweep.csv").read_bytes() == sweep_bytes
    assert list(results.iterdir()) == [results / ".opauc-sim-committed"]


def test_false_negatives_writes_the_committed_table_only_with_its_settings(
    tmp_path, toy_data, capsys, monkeypatch
):
    """A fresh clone's `false-negatives` rewrote results/false_negatives.csv with a
    2-epoch run of other defaults (weight decay 1e-4, not the table's 0.01)."""
    from opauc_sim.cli import build_parser, main
    from opauc_sim.commands import false_negatives as F

    monkeypatch.chdir(tmp_path)
    Path("results").mkdir()
    committed = Path("results/false_negatives.csv")
    committed.write_bytes((ROOT / "results" / "false_negatives.csv").read_bytes())
    argv = ["false-negatives", "--dataset", str(toy_data), "--epochs", "1", "--n-pairs", "200"]
    argv += ["--n-candidates", "10", "--ms", "1", "2", "--rhos", "1", "--quiet"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    runs = list(Path("runs").glob("false-negatives-*/false_negatives.csv"))
    assert len(runs) == 1 and f"goes to {runs[0]}" in out and f"wrote {runs[0]}" in out
    assert committed.read_bytes() == (ROOT / "results" / "false_negatives.csv").read_bytes()
    for extra, canonical in (([], False), (["--weight-decay", "0.01"], True)):
        args = build_parser().parse_args(["false-negatives", "--dataset", "x", *extra])
        args.valid_frac, args.eval_every = 0.1, 10  # as the recipe's defaults fill them
        where, note = F._output(args)
        assert (where == Path("results/false_negatives.csv")) is canonical
        assert (note is None) is canonical


def test_a_cut_row_of_the_shares_table_is_dropped_and_said(tmp_path):
    """A truncated row of the false-negatives table used to be carried on with empty
    fields."""
    from opauc_sim.train.config import TrainConfig
    from opauc_sim.train.false_negatives import save_shares

    table = pd.DataFrame(
        {"sampler": ["uniform", "dns"], "M": [float("nan"), 1], "rho": [float("nan")] * 2}
    ).assign(N=10, share=[0.1, 0.2], se=0.01, n_pairs=100)
    out = tmp_path / "fn.csv"
    kw = dict(config=TrainConfig(), test={"ndcg@50": 0.3}, n_pairs=100, seed=0)
    save_shares(out, table, dataset="a", **kw)
    out.write_text(out.read_text()[:-20])  # a's last row cut mid-row
    lines: list[str] = []
    rows = save_shares(out, table, dataset="b", **kw, log=lines.append)
    assert len(rows) == 3 and rows.notna()["share"].all() and not rows["se"].isna().any()
    assert any("dropped 1 truncated" in line for line in lines)
    with pytest.raises(rc.ResultsError, match="another model or pairs"):
        save_shares(out, table, dataset="c", **{**kw, "n_pairs": 5})


# ----------------------------------------------------------------------- executors


@pytest.fixture
def listener():
    """A TCP server on localhost that sends ``greeting`` (or nothing) on each connection."""
    import socket
    import threading

    servers = []

    def start(greeting: bytes | None) -> str:
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen()
        servers.append(server)

        def serve():
            while True:
                try:
                    conn, _ = server.accept()
                except OSError:
                    return
                if greeting is not None:
                    conn.sendall(greeting)
                servers.append(conn)

        threading.Thread(target=serve, daemon=True).start()
        return f"tcp://127.0.0.1:{server.getsockname()[1]}"

    yield start
    for s in servers:
        s.close()


def test_a_scheduler_address_that_is_not_a_dask_scheduler_is_refused_up_front(
    listener, toy_data, capsys, monkeypatch
):
    """An HTTP-speaking port gave "out of memory (Unable to allocate 3.07 EiB ...)" and
    `python3 -m http.server` hung with no output (400 s and counting)."""
    pytest.importorskip("distributed")
    from opauc_sim.cli import main
    from opauc_sim.distributed import probe_scheduler

    _no_loading(monkeypatch)
    http = listener(b"HTTP/1.0 400 Bad Request\r\n\r\n")
    argv = ["sweep", "--dataset", str(toy_data), "--grid", "rns", "--out", "x.csv", "--quiet"]
    assert main([*argv, "--executor", "dask", "--scheduler", http]) == 2
    err = capsys.readouterr().err
    assert "answers, but not as a Dask scheduler (it sent b'HTTP/1.0" in err
    assert len(err.strip().splitlines()) == 1
    with pytest.raises(OSError, match=r"no Dask handshake within 0\.5 s"):
        probe_scheduler(listener(None), timeout=0.5)
    with pytest.raises(OSError, match="cannot connect"):
        probe_scheduler("tcp://127.0.0.1:1")
    with pytest.raises(ValueError, match="address like tcp://HOST:8786"):
        probe_scheduler("tcp://nohost")


@pytest.mark.distributed
def test_a_running_dask_scheduler_passes_the_probe():
    distributed = pytest.importorskip("distributed")
    from opauc_sim.distributed import probe_scheduler

    with distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as c:
        probe_scheduler(c.scheduler_address)


def test_workers_are_bounded_by_the_cores(monkeypatch):
    """`--workers 1000` had no bound: a thousand processes."""
    pytest.importorskip("distributed")
    from opauc_sim import _threads
    from opauc_sim.distributed import check_executor_options

    monkeypatch.setattr(_threads, "available_cores", lambda: 4)
    check_executor_options("dask", workers=4)
    with pytest.raises(ValueError, match=r"--workers must be in \[1, 4\] .* got 1000"):
        check_executor_options("dask", workers=1000)


# ----------------------------------------------------------------------- interruptions


def test_ctrl_c_is_one_line_and_exit_130_and_a_sweep_keeps_its_rows(
    tmp_path, toy_data, capsys, monkeypatch
):
    """Ctrl-C printed a KeyboardInterrupt traceback; the rows were kept, but nothing said
    a rerun resumes."""
    from opauc_sim.cli import main
    from opauc_sim.train import sweep

    real, calls = sweep.train_many, []

    def interrupted_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(sweep, "train_many", interrupted_second)
    out = tmp_path / "s.csv"
    argv = ["sweep", "--dataset", str(toy_data), "--grid", "rns", "--grid", "dns:M=1,2:N=5"]
    argv += ["--epochs", "1", "--threads", "1", "--quiet", "--out", str(out)]
    assert main(argv) == 130
    err = capsys.readouterr().err
    assert err.strip() == (
        "opauc-sim sweep: interrupted; the finished rows are kept: rerun the same command to resume"
    )
    assert len(sweep.read_rows(out)) == 1
    monkeypatch.setattr(sweep, "train_many", real)
    assert main(argv) == 0 and len(sweep.read_rows(out)) == 3
    assert "skipping 1 finished" in capsys.readouterr().out


def test_train_backend_torch_without_torch_is_one_line(toy_data, capsys, monkeypatch):
    """`opauc-sim train --backend torch` without torch printed an 18-frame traceback."""
    import importlib.util

    from opauc_sim.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a)
    )
    _no_loading(monkeypatch)
    assert main(["train", "--dataset", str(toy_data), "--backend", "torch", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--backend torch needs PyTorch, which is not installed; in a clone of" in err
    assert len(err.strip().splitlines()) == 1


def test_train_out_that_cannot_be_created_is_refused_before_training(
    tmp_path, toy_data, capsys, monkeypatch
):
    """`train --out /proc/nope.json` trained, then failed on the temporary."""
    import errno
    import tempfile

    from opauc_sim.cli import main

    _no_loading(monkeypatch)
    real = tempfile.mkstemp

    def refuse_in(folder):
        def mkstemp(*args, dir=None, **kwargs):
            if dir is not None and Path(dir) == folder:
                raise FileNotFoundError(errno.ENOENT, "No such file or directory")
            return real(*args, dir=dir, **kwargs)

        return mkstemp

    locked = tmp_path / "locked"
    locked.mkdir()
    monkeypatch.setattr(tempfile, "mkstemp", refuse_in(locked))
    argv = ["train", "--dataset", str(toy_data), "--quiet", "--out"]
    assert main([*argv, str(locked / "nope.json")]) == 2
    assert main([*argv, str(locked / "sub" / "nope.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all("is not writable" in e or "cannot be created" in e for e in err)
    assert not (locked / "sub").exists()


@pytest.mark.parametrize(
    ("grid", "expected"),
    [
        ("dns:M=1", [{"sampler": "dns", "M": 1, "N": 200}]),
        ("softmax:rho=1", [{"sampler": "softmax", "rho": 1.0, "N": 200}]),
        ("dns:M=1,5", [{"sampler": "dns", "M": m, "N": 200} for m in (1, 5)]),
        ("rns:N=5", "rns takes no parameters, got 'N=5'"),
        ("dns:M=1:rho=5", "field 'rho=5' in 'dns:M=1:rho=5' must be KEY=V1,V2,... with KEY one"),
        ("dns", "grid 'dns' needs M=..."),
        ("softmax", "grid 'softmax' needs rho=..."),
        ("dns:M=1:M=2", "each once"),
        ("dns:N=5:M=10", "M must be <= N"),
    ],
)
def test_grid_points_are_those_train_would_run(grid, expected, toy_data, capsys, monkeypatch):
    """`--grid dns:M=1` and `softmax:rho=1` without N= trained with N = 1 (plain RNS under
    another label) while `train` defaults N to 200; `dns:M=1,5` was refused as "M=5, N=1";
    keys that do not apply were dropped silently, and `--grid dns` trained DNS(1, 1)."""
    from opauc_sim.cli import main
    from opauc_sim.train.sweep import parse_grid

    if isinstance(expected, list):
        assert parse_grid(grid) == expected
        return
    with pytest.raises(ValueError, match=re.escape(expected)):
        parse_grid(grid)
    _no_loading(monkeypatch)
    argv = ["sweep", "--dataset", str(toy_data), "--grid", grid, "--out", "x.csv", "--quiet"]
    assert main(argv) == 2
    assert expected in capsys.readouterr().err
