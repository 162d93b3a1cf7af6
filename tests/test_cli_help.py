"""Every subcommand's ``--help``: it exits 0, has its own text, and every option has help
text and shows its default."""

from __future__ import annotations

import argparse

import pytest

from opauc_sim.cli import build_parser, main


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """Yield ``(argv path, parser)`` for the parser and every subcommand under it."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, (*path, name))


SUBCOMMANDS = [path for path, _ in _walk(build_parser()) if path]


def test_the_walk_finds_every_subcommand():
    found = {" ".join(p) for p in SUBCOMMANDS}
    for name in ("demo", "figures", "check", "proof-tables", "train", "sweep", "report"):
        assert name in found
    for name in ("fig6", "curve", "peak-law", "binormal", "methods"):
        assert f"simulate {name}" in found


@pytest.mark.parametrize("path", SUBCOMMANDS, ids=[" ".join(p) for p in SUBCOMMANDS])
def test_help_exits_zero_and_describes_every_option(path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*path, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: opauc-sim " + " ".join(path))
    parser = dict(_walk(build_parser()))[path]
    formatter = parser._get_formatter()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
            continue
        name = "/".join(action.option_strings) or action.dest
        assert action.help, f"{' '.join(path)} {name} has no help text"
        shown = formatter._expand_help(action)
        default = action.default
        if default is None or isinstance(default, bool) or default is argparse.SUPPRESS:
            continue  # a switch, or "absent" (the help says what happens then)
        assert "default" in shown.lower(), f"{' '.join(path)} {name} hides its default"


def test_proof_tables_help_is_its_own(capsys):
    texts = {}
    for command in ("check", "proof-tables"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        texts[command] = capsys.readouterr().out
    assert "opauc-sim proof-tables: compute and cache" in texts["proof-tables"]
    assert "proof-tables" not in texts["check"].split("usage:", 1)[1].split("\n\n", 1)[1][:200]


@pytest.mark.parametrize("path", SUBCOMMANDS, ids=[" ".join(p) for p in SUBCOMMANDS])
def test_help_is_plain_text(path, capsys):
    """`--help` showed raw reST (``opauc-sim``, :mod:`...`)."""
    with pytest.raises(SystemExit):
        main([*path, "--help"])
    out = capsys.readouterr().out
    assert "``" not in out and ":mod:`" not in out and ":func:`" not in out


def test_train_and_sweep_help_open_with_their_own_description(capsys):
    """`train --help` opened with the docstring of the whole train module (train, sweep,
    false-negatives alike)."""
    firsts = {}
    for command in ("train", "sweep", "false-negatives"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        firsts[command] = text.split("\n\n")[1].split("\n")[0]
    assert firsts["train"].startswith("Train one matrix-factorisation model")
    assert firsts["sweep"].startswith("Train every configuration of the grids")
    assert firsts["false-negatives"].startswith("opauc-sim false-negatives: how often")


def test_lists_are_space_separated_everywhere():
    """One convention for lists: argparse's nargs, never commas inside one value."""
    for path, parser in _walk(build_parser()):
        for action in parser._actions:
            if action.dest in ("ks", "betas", "mus", "metrics", "only", "ms", "rhos"):
                assert action.nargs in ("+", "*"), (path, action.dest)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["demo", "--ks", "5,10"], "argument --ks: invalid int value: '5,10'"),
        (
            ["simulate", "curve", "--n-pos", "5", "--n-neg", "5", "--ks", "1", "--betas", "2x"],
            "argument --betas: invalid float value: '2x'",
        ),
        (
            [
                "simulate",
                "curve",
                "--n-pos",
                "5",
                "--n-neg",
                "5",
                "--ks",
                "1",
                "--betas",
                "0.5",
                "--n-betas",
                "3",
            ],
            "argument --n-betas: not allowed with argument --betas",
        ),
    ],
)
def test_usage_errors_are_one_line_naming_option_and_value(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and message in err
