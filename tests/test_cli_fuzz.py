"""Fuzz the command line: hostile option values never reach the user as a traceback.

Hypothesis draws argument lists for ``simulate`` (fig6, curve, binormal, methods),
``figures``, ``check``, ``proof-tables`` and ``demo`` from pools of valid, out-of-range,
non-numeric, huge and path-like values, and runs ``opauc_sim.cli.main`` in-process. Every
run must end with exit status 0 or 2 (1 where a command documents it: ``figures`` with a
cache not computed yet, ``check`` with an unexpected outcome), and nothing written to stderr
may contain a traceback. Sizes stay small, or are huge enough to be refused up front (the
available memory is pinned at 2 GiB so that the refusals do not depend on the machine).
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opauc_sim.cli import main
from opauc_sim.results_cache import save_result

ROOT = Path(__file__).resolve().parent.parent
WORK = Path(tempfile.mkdtemp(prefix="opauc-sim-fuzz-"))
A_FILE = WORK / "a_file"
A_FILE.write_text("x")
BROKEN = WORK / "broken"  # a results folder whose tables lack columns or were truncated
save_result(
    __import__("pandas").DataFrame({"source": ["exact"], "k": [5]}),
    "fig6_curves",
    params={},
    results_dir=BROKEN,
)
(BROKEN / "peak_law.csv").write_text("n_pos,n_neg,k\n1,2,")

SIZES = st.sampled_from(["-1", "0", "1", "2", "5", "40", "2000000000", "abc", "1e3", ""])
# Mostly valid, so that the commands also run to the end, not only fail early.
COUNTS = st.sampled_from(["1", "5", "5", "20", "40", "40", "0", "-1", "2000000000", "abc"])
REALS = st.sampled_from(["-1", "0", "0.25", "1", "2", "nan", "inf", "-inf", "1e308", "abc"])
RANKINGS = st.sampled_from(["-1", "0", "1", "2", "64", "300", "abc", "1e2"])
N_BETAS = st.sampled_from(["-1", "0", "1", "2", "3", "abc", "10000000"])
THREADS = st.sampled_from(["-1", "0", "1", "2", "100000", "abc"])
DIRS = st.sampled_from(
    [str(WORK / "out"), str(WORK / "new" / "deeper"), "/dev/null/x", str(A_FILE), "", "rel/../y"]
)
BETAS = st.lists(
    st.sampled_from(
        ["0.1", "0.5", "1", "5", "5", "0", "-1", "nan", "abc", "2.5", "10000000", "1e-9"]
    ),
    min_size=1,
    max_size=3,
)
KS = st.lists(
    st.sampled_from(["1", "5", "5", "10", "0", "-3", "1000", "abc"]), min_size=1, max_size=3
)


def _opts(draw, pool: dict) -> list[str]:
    """Each option of ``pool`` is left out or given a drawn value (a list, a flag)."""
    argv: list[str] = []
    for name, strategy in pool.items():
        if not draw(st.booleans()):
            continue
        if strategy is None:
            argv.append(name)
            continue
        value = draw(strategy)
        argv += [name, *value] if isinstance(value, list) else [name, value]
    return argv


@st.composite
def command_lines(draw) -> list[str]:
    which = draw(
        st.sampled_from(["curve", "fig6", "binormal", "methods", "figures", "check", "tables"])
    )
    out = ["--results-dir", draw(DIRS)]
    if which == "curve":
        argv = ["simulate", "curve", "--n-pos", draw(COUNTS), "--n-neg", draw(COUNTS)]
        argv += ["--ks", *draw(KS), *out, "--quiet", "--no-figure"]
        argv += _opts(
            draw,
            {
                "--betas": BETAS,
                "--n-betas": N_BETAS,
                "--metrics": st.lists(
                    st.sampled_from(["recall", "precision", "ndcg", "auc"]), min_size=1
                ),
                "--method": st.sampled_from(["pearson", "spearman", "kendall", "tau"]),
                "--n-rankings": RANKINGS,
                "--exact": None,
                "--generator": st.sampled_from(["uniform", "binormal"]),
                "--mu": REALS,
                "--save": st.sampled_from(["ok", "../x", ".h", "a/b", ""]),
                "--threads": THREADS,
                "--seed": SIZES,
            },
        )
        return argv
    if which == "fig6":
        argv = ["simulate", "fig6", *out, "--no-figure", "--quiet"]
        return argv + _opts(
            draw,
            {
                "--n-rankings": st.sampled_from(["-1", "0", "2", "128", "abc"]),
                "--n-betas": N_BETAS,
                "--no-exact": None,
                "--seed": SIZES,
                "--threads": THREADS,
            },
        )
    if which in ("binormal", "methods"):
        argv = ["simulate", which, *out, "--no-figure", "--quiet"]
        argv += ["--n-rankings", draw(st.sampled_from(["-1", "2", "128", "abc"]))]
        argv += ["--n-betas", draw(st.sampled_from(["2", "3", "0", "-1", "abc"]))]
        if which == "binormal":
            argv += ["--mus", *draw(st.lists(REALS, min_size=1, max_size=2))]
        return argv
    if which == "figures":
        results = draw(st.sampled_from([str(WORK / "empty"), str(BROKEN), str(A_FILE)]))
        argv = ["figures", "--results-dir", results, "--out-dir", draw(DIRS)]
        only = st.lists(st.sampled_from(["beta", "peak", "x"]), min_size=1)
        return argv + _opts(draw, {"--only": only})
    if which == "check":
        argv = ["check", "--only", draw(st.sampled_from(["nomatch", "zzz"]))]
        return argv + _opts(draw, {"--save": None, "--results-dir": DIRS, "--markdown": None})
    return ["proof-tables", "--quick", *out]


def _demo_lines() -> st.SearchStrategy[list[str]]:
    @st.composite
    def build(draw):
        cells = st.sampled_from(
            ["1", "40", "60", "60", "200", "200", "0", "-1", "abc", "2000000000"]
        )
        argv = ["demo", "--rows", draw(cells), "--items", draw(cells)]
        return argv + _opts(
            draw,
            {
                "--pos-rate": REALS,
                "--mu": REALS,
                "--decimals": SIZES,
                "--ks": st.sampled_from([["1", "2"], "0", "abc", "5", ["1", "1"], "1,2", ""]),
                "--betas": st.sampled_from(
                    ["0.1", ["0", "1"], "2", "nan", "abc", ["0.1", "0.1"], "0.1,0.2"]
                ),
                "--seed": SIZES,
            },
        )

    return build()


def _run(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's usage errors exit 2
            code = exc.code
    return code, err.getvalue()


def _check(argv: list[str], monkeypatch) -> None:
    monkeypatch.setattr("opauc_sim._cost.available_memory", lambda: 2 * 2**30)
    here = os.getcwd()
    os.chdir(WORK)  # default paths ("results", "figures") land in the scratch folder
    try:
        code, err = _run(argv)
    finally:
        os.chdir(here)
    allowed = {0, 2} | ({1} if argv[0] in ("figures", "check") else set())
    assert code in allowed, (argv, code, err)
    assert "Traceback" not in err, (argv, err)
    if code == 2:
        assert any("error:" in line for line in err.splitlines()), (argv, err)


@settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(argv=command_lines())
def test_hostile_option_values_never_give_a_traceback(argv, monkeypatch):
    _check(argv, monkeypatch)


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(argv=_demo_lines())
def test_hostile_demo_options_never_give_a_traceback(argv, monkeypatch):
    _check(argv, monkeypatch)


@pytest.mark.parametrize(
    "argv",
    [
        ["demo", "--rows", "0", "--items", "0"],
        # Found by the fuzz test: all-NaN curves (2 rankings) gave an empty peak table,
        # which raised KeyError / TypeError; `check --only nomatch` was not one error line.
        [
            "simulate",
            "binormal",
            "--n-rankings",
            "2",
            "--n-betas",
            "3",
            "--mus",
            "-1",
            "--no-figure",
            "--quiet",
            "--results-dir",
            str(WORK / "o"),
        ],
        ["check", "--only", "nomatch"],
        # No rows but 2e9 items: the metric kernel's per-item buffers (a Numba SystemError).
        ["demo", "--rows", "0", "--items", "2000000000", "--ks", "1", "--betas", "0.1"],
        [
            "simulate",
            "curve",
            *("--n-pos", "1", "--n-neg", "1", "--ks", "1", "--betas", "1", "--no-figure"),
            *("--results-dir", str(WORK / "o")),
        ],
        ["simulate", "fig6", "--n-betas", "1", "--no-figure", "--results-dir", str(WORK / "o")],
    ],
)
def test_edge_sizes_are_handled(argv, monkeypatch):
    _check(argv, monkeypatch)
