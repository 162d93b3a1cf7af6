"""Where commands write: committed results only from the canonical run; provenance from the
tree before the run; figures drawn by the package, never by files of the current folder."""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

import pytest

from opauc_sim import results_cache as rc
from opauc_sim.cli import main
from opauc_sim.commands import _outputs

SMALL_FIG6 = ["simulate", "fig6", "--n-rankings", "256", "--n-betas", "5", "--quiet"]


def test_a_non_canonical_run_goes_to_a_folder_keyed_by_its_parameters(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    assert main(SMALL_FIG6) == 0
    out = capsys.readouterr().out
    run = Path("runs/fig6-n_betas=5-n_rankings=256")
    assert f"this run's outputs go to {run}/" in out
    assert (run / "fig6_curves.csv").exists() and (run / "beta_curves.png").exists()
    assert not Path("results").exists() and not Path("figures").exists()


def test_a_non_canonical_run_refuses_the_committed_folders(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("results").mkdir()
    Path("figures").mkdir()
    for extra, option in (
        (["--results-dir", "results"], "--results-dir"),
        (["--out-dir", "figures"], "--out-dir"),
    ):
        args = argparse.Namespace(results_dir=None, out_dir=None, update_results=False, n=2)
        setattr(args, option[2:].replace("-", "_"), extra[1])
        with pytest.raises(ValueError, match=f"{option} .* committed canonical results"):
            _outputs.resolve(args, "x", {"n": 1})
        assert main([*SMALL_FIG6, "--no-figure", *extra]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "--update-results" in err
    assert list(Path("results").iterdir()) == []


def test_update_results_and_the_canonical_run_write_the_committed_folders(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main([*SMALL_FIG6, "--update-results"]) == 0
    assert Path("results/fig6_curves.csv").exists() and Path("figures/beta_curves.png").exists()
    args = argparse.Namespace(results_dir=None, out_dir=None, update_results=False, n=1)
    assert _outputs.resolve(args, "x", {"n": 1}) == (Path("results"), Path("figures"), True)


def test_run_keys_are_folder_names():
    assert _outputs.run_key("fig6", {"seed": 1, "n_rankings": 20000}) == (
        "fig6-n_rankings=20000-seed=1"
    )
    assert _outputs.run_key("curve", {"ks": [5, 10], "exact": True}) == "curve-exact-ks=5,10"
    long = _outputs.run_key("b", {"mus": [0.125] * 40})
    assert len(long) <= 120 and "/" not in long


def _repo(path: Path, *, fsmonitor: Path | None = None) -> str:
    """A git repository at ``path`` with one commit (and a core.fsmonitor hook that
    writes ``fsmonitor`` when run); returns its HEAD."""
    path.mkdir()
    git = ["git", "-C", str(path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    (path / "results").mkdir()
    (path / "results" / "a.csv").write_text("x\n")
    (path / "pyproject.toml").write_text("")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    if fsmonitor is not None:
        hook = path.parent / f"{path.name}-hook.sh"
        hook.write_text(f"#!/bin/sh\necho ran >> {fsmonitor}\n")
        hook.chmod(0o755)
        subprocess.run([*git, "config", "core.fsmonitor", str(hook)], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True)
    return head.stdout.strip()


def test_provenance_is_the_tree_before_the_run(tmp_path, monkeypatch):
    """A run's sidecars record the tree it started from: its own writes to tracked files
    (the second member of a result set) do not make it "-dirty"."""
    from opauc_sim import _provenance

    repo = tmp_path / "repo"
    _repo(repo)
    monkeypatch.setattr(_provenance, "package_checkout", lambda: repo)
    monkeypatch.setattr(_provenance, "_TREE_STATE", {})
    clean = rc.record_tree_state()
    assert clean and not clean.endswith("-dirty")
    (repo / "results" / "a.csv").write_text("changed by the run\n")  # the run's own write
    assert rc.git_commit().endswith("-dirty")
    import pandas as pd

    path = rc.save_result(pd.DataFrame({"x": [1]}), "b", params={}, results_dir=repo / "results")
    assert json.loads(path.with_suffix(".json").read_text())["git_commit"] == clean
    rc.forget_tree_state()  # outside a command, each write asks git again
    path = rc.save_result(pd.DataFrame({"x": [2]}), "c", params={}, results_dir=repo / "results")
    assert json.loads(path.with_suffix(".json").read_text())["git_commit"].endswith("-dirty")


def test_provenance_never_runs_git_in_the_current_folder(tmp_path, monkeypatch, capsys):
    """Every command used to run `git rev-parse` and `git status` in the current folder:
    a repository there whose .git/config sets core.fsmonitor ran its hook, and the
    sidecars recorded that repository's commit instead of opauc-sim's."""
    from opauc_sim import _provenance

    ran = tmp_path / "hook-ran"
    foreign = _repo(tmp_path / "elsewhere", fsmonitor=ran)
    monkeypatch.chdir(tmp_path / "elsewhere")
    argv = ["simulate", "curve", "--n-pos", "4", "--n-neg", "12", "--ks", "1", "--n-betas", "3"]
    argv += ["--n-rankings", "64", "--no-figure", "--quiet", "--results-dir", str(tmp_path / "o")]
    assert main(argv) == 0
    capsys.readouterr()
    meta = json.loads((tmp_path / "o" / "curve.json").read_text())
    assert not ran.exists()
    assert meta["git_commit"] == _provenance.git_commit() and foreign not in str(meta)
    # The package's own checkout is asked with the hook turned off.
    own = tmp_path / "own"
    head = _repo(own, fsmonitor=ran)
    assert _provenance.git_commit(own) == head and not ran.exists()
    # A package installed without a checkout records its version alone.
    monkeypatch.setattr(_provenance, "package_checkout", lambda: None)
    assert _provenance.git_commit() is None


def test_the_cli_records_the_tree_per_command(tmp_path, monkeypatch):
    """Each command records the tree it starts from, and forgets it when it ends."""
    from opauc_sim import _provenance

    seen = []
    monkeypatch.setattr(_provenance, "git_commit", lambda root=None: f"c{len(seen)}")
    real = rc.save_result

    def spy(*args, **kwargs):
        seen.append(_provenance.provenance_commit())
        return real(*args, **kwargs)

    monkeypatch.setattr(rc, "save_result", spy)
    argv = ["proof-tables", "--quick", "--quiet", "--results-dir"]
    assert main([*argv, str(tmp_path / "a")]) == 0
    assert main([*argv, str(tmp_path / "b")]) == 0
    assert len(set(seen)) == 2 and len(seen) == 8 and _provenance._TREE_STATE == {}


def test_figures_never_run_files_of_the_current_folder(tmp_path, monkeypatch, capsys):
    """`opauc-sim figures` and `simulate fig6` used to import figures/fig_*.py from the
    current folder: a folder's code ran just by running the command there."""
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "pwned"
    Path("figures").mkdir()
    for name in ("fig_beta_curves.py", "fig_beta_curves_by_k.py", "beta_curves.py"):
        (Path("figures") / name).write_text(
            f"open({str(marker)!r}, 'w').write('ran')\ndef main(*a, **k):\n    return []\n"
        )
    assert main([*SMALL_FIG6, "--results-dir", "r", "--out-dir", "o"]) == 0
    assert main(["figures", "--results-dir", "r", "--out-dir", "o", "--only", "beta"]) == 0
    assert not marker.exists()
    assert (tmp_path / "o" / "beta_curves.png").stat().st_size > 10_000
    capsys.readouterr()


def test_the_first_compile_is_announced_once(monkeypatch, capsys):
    import numba

    from opauc_sim import _compile_notice

    _compile_notice.announce_compiles()
    monkeypatch.setitem(_compile_notice._STATE, "announced", False)

    @numba.njit
    def fresh(x):
        return x + 1

    @numba.njit
    def other(x):
        return x * 2

    if numba.config.DISABLE_JIT:
        pytest.skip("no compiling with NUMBA_DISABLE_JIT")
    assert fresh(1) == 2 and other(2) == 4
    err = capsys.readouterr().err
    assert err.count("compiling kernels (first run only") == 1


def test_figures_from_other_results_do_not_overwrite_the_committed_pngs(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    Path("figures").mkdir()
    assert main([*SMALL_FIG6, "--results-dir", "mine", "--no-figure"]) == 0
    assert main(["figures", "--results-dir", "mine", "--only", "beta_curves"]) == 0
    assert Path("mine/beta_curves.png").exists() and not list(Path("figures").iterdir())
    assert main(["figures", "--results-dir", "mine", "--out-dir", "figures"]) == 2
    assert "--update-results" in capsys.readouterr().err


def _clone_like(root: Path) -> tuple[Path, Path]:
    """``root/results`` and ``root/figures`` marked as committed, each with one file."""
    results, figures = root / "results", root / "figures"
    for folder, name in ((results, "fig6_curves.csv"), (figures, "beta_curves.png")):
        folder.mkdir(parents=True)
        (folder / _outputs.COMMITTED_MARK).write_text("committed\n")
        (folder / name).write_text("committed\n")
    return results, figures


def test_committed_folders_are_protected_wherever_the_command_runs(tmp_path, monkeypatch, capsys):
    """The guard used to compare with ./results and ./figures only: from another folder,
    `simulate fig6 --results-dir CLONE/results` rewrote the committed fig6 files,
    `figures --out-dir CLONE/figures` replaced committed PNGs and `simulate curve
    --results-dir CLONE/results` added files there."""
    results, figures = _clone_like(tmp_path / "clone")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    link = tmp_path / "link"
    link.symlink_to(results)
    before = {p: p.read_bytes() for p in [*results.iterdir(), *figures.iterdir()]}
    curve = ["simulate", "curve", "--n-pos", "4", "--n-neg", "12", "--ks", "1", "--quiet"]
    for argv in (
        [*SMALL_FIG6, "--no-figure", "--results-dir", str(results)],
        [*SMALL_FIG6, "--no-figure", "--results-dir", str(link)],
        [*SMALL_FIG6, "--results-dir", "mine", "--out-dir", str(figures)],
        [*curve, "--n-rankings", "64", "--no-figure", "--results-dir", str(results)],
    ):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "--update-results" in err, err
    assert main([*SMALL_FIG6, "--no-figure", "--results-dir", "mine"]) == 0
    assert main(["figures", "--results-dir", "mine", "--out-dir", str(figures)]) == 2
    assert "committed" in capsys.readouterr().err
    after = {p: p.read_bytes() for p in [*results.iterdir(), *figures.iterdir()]}
    assert after == before and not Path("runs").exists()


def test_a_rerun_that_changes_no_number_changes_no_file(tmp_path, monkeypatch, capsys):
    """The README's first command rewrote four tracked sidecars (commit, timestamp,
    timings) although no number changed, so `git status` was dirty after it."""
    monkeypatch.chdir(tmp_path)
    argv = [*SMALL_FIG6, "--results-dir", "r", "--out-dir", "r"]
    assert main(argv) == 0
    files = sorted(Path("r").iterdir())
    stamp = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files}
    assert len(files) >= 9 and any(p.suffix == ".png" for p in files)
    assert main(argv) == 0
    assert sorted(Path("r").iterdir()) == files
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files} == stamp
    # Other numbers are written, as a whole set again.
    assert main([*argv, "--seed", "1"]) == 0
    assert rc.load_result_set("fig6", "r")["fig6_curves"][1]["seed"] == 1
    capsys.readouterr()


def test_last_digit_differences_of_another_cpu_do_not_rewrite_a_result(tmp_path):
    """In a fresh clone the README's first command rewrote the committed fig6 CSVs: this
    machine's AVX2 sums differ from the AVX-512 machine's in the last digits. Floats equal
    to a relative 1e-9 keep the files; a real change, or a text cell, rewrites them."""
    import hashlib
    import json

    import pandas as pd

    df = pd.DataFrame({"metric": ["ndcg", "recall"], "k": [5, 20], "corr": [0.95822, 1 / 3]})
    path = rc.save_result(df, "t", params={"a": 1}, results_dir=tmp_path)
    sidecar = path.with_suffix(".json")

    def as_if_written_elsewhere(frame):  # the other machine's CSV, its sidecar's sha256
        path.write_bytes(frame.to_csv(index=False, float_format="%.17g").encode())
        meta = json.loads(sidecar.read_text())
        meta["csv_sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
        sidecar.write_text(json.dumps(meta))
        return path.read_bytes(), sidecar.read_bytes()

    nudged = df.assign(corr=df["corr"] * (1 + 3e-16))
    before = as_if_written_elsewhere(nudged)
    rc.save_result(df, "t", params={"a": 1}, results_dir=tmp_path)
    assert (path.read_bytes(), sidecar.read_bytes()) == before
    for changed in (df.assign(corr=df["corr"] * (1 + 1e-6)), df.assign(metric=["ndcg", "map"])):
        as_if_written_elsewhere(nudged)
        rc.save_result(changed, "t", params={"a": 1}, results_dir=tmp_path)
        pd.testing.assert_frame_equal(pd.read_csv(path), changed)
        meta = json.loads(sidecar.read_text())
        assert meta["csv_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    # Other parameters with the same numbers are a new result too.
    as_if_written_elsewhere(df)
    rc.save_result(df, "t", params={"a": 2}, results_dir=tmp_path)
    assert json.loads(sidecar.read_text())["params"] == {"a": 2}


def test_where_the_work_runs_is_not_a_parameter(capsys):
    """`simulate fig6 --executor dask --workers 2` was taken for a non-default run and
    written under runs/: the options that change no number were two lists, drifted apart."""
    from opauc_sim.cli import build_parser

    for extra in (["--executor", "dask", "--workers", "2"], ["--threads", "1", "--quiet"]):
        args = build_parser().parse_args(["simulate", "fig6", *extra])
        results, figures, canonical = _outputs.resolve(args, "fig6", args.keyed_defaults)
        assert canonical and results == Path("results") and figures == Path("figures")
    assert capsys.readouterr().out == ""


def test_a_refused_run_announces_nothing_and_leaves_no_folder(tmp_path, monkeypatch, capsys):
    """Errors came after "this run's outputs go to runs/..." and left an empty folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("opauc_sim._cost.available_memory", lambda: 16 * 2**30)
    argv = ["simulate", "fig6", "--n-betas", str(10**7), "--no-figure", "--quiet"]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert "would need about" in err and "outputs go to" not in out
    assert list(tmp_path.iterdir()) == []
