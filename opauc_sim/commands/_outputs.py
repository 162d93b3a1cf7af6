"""Where a command writes: the committed results only from the canonical run.

The repository commits the results of the *canonical* runs (``results/*.csv|json`` and
``figures/*.png``, written by each command with its default parameters). A run with any
other parameters must not overwrite them: it writes under ``runs/<command>-<key>/``, the key
naming the parameters that differ from the defaults (``runs/fig6-n_rankings=20000``), and
says so. ``--results-dir`` (and ``--out-dir`` for the PNGs) choose the folder explicitly;
``--update-results`` lets a non-canonical run write the committed folders on purpose.
Parameters that do not change any number (threads, progress bars, the executor) are not
part of the key. The committed folders are recognised by what they are, a folder holding
:data:`COMMITTED_MARK`, not by the current directory.
"""

from __future__ import annotations

import argparse
import hashlib
import re
from pathlib import Path
from typing import Any

#: Where the canonical runs write, relative to the current directory.
CANONICAL_RESULTS = Path("results")
CANONICAL_FIGURES = Path("figures")
#: The file that marks a folder of committed outputs (the repository's ``results/`` and
#: ``figures/`` hold one): such a folder is protected wherever the command runs from and
#: however the path to it is spelt (``--results-dir ../clone/results``, a symlink).
COMMITTED_MARK = ".opauc-sim-committed"
#: Where non-canonical runs go when no folder is given.
RUNS_DIR = Path("runs")

#: Options that never change a computed number (or only name the outputs).
NOT_KEYED = frozenset(
    {
        "results_dir",
        "out_dir",
        "no_figure",
        "quiet",
        "threads",
        "update_results",
        "save",
        "markdown",
        "verbose",
        "func",
        "command",
        "simulation",
        "help",
        "keyed_defaults",
        "on_interrupt",
        "where_note",
        # where the work runs: the numbers are bit-identical on any executor
        "executor",
        "workers",
        "scheduler",
        "resources",
    }
)


def add_output_options(parser: argparse.ArgumentParser, *, figures: bool = True) -> None:
    """``--results-dir``, ``--update-results`` (and ``--out-dir`` when the command draws)."""
    parser.add_argument(
        "--results-dir",
        default=None,
        metavar="DIR",
        help="write the results here (default: results/ for the canonical run, else "
        "runs/<command>-<parameters>/)",
    )
    if figures:
        parser.add_argument(
            "--out-dir",
            default=None,
            metavar="DIR",
            help="write the PNGs here (default: figures/ for the canonical run, else the "
            "results folder)",
        )
    parser.add_argument(
        "--update-results",
        action="store_true",
        help="let a run with non-default parameters overwrite the committed results/ and figures/",
    )


def keyed_defaults(parser: argparse.ArgumentParser) -> dict[str, Any]:
    """The defaults of the options that change the numbers a command computes."""
    return {
        a.dest: a.default
        for a in parser._actions
        if a.dest not in NOT_KEYED and a.default is not argparse.SUPPRESS
    }


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(_text(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else repr(value)
    return str(value)


def run_key(command: str, changed: dict[str, Any]) -> str:
    """``command-name=value-...`` for the changed parameters, safe as a folder name."""
    parts = [command]
    for name, value in sorted(changed.items()):
        parts.append(name if value is True else f"{name}={_text(value)}")
    key = re.sub(r"[^A-Za-z0-9_.,=+-]", "_", "-".join(parts))
    if len(key) > 120:  # keep it readable; the hash keeps it unique
        digest = hashlib.sha256(key.encode()).hexdigest()[:12]
        key = f"{key[:100]}-{digest}"
    return key


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def is_committed(folder: str | Path | None) -> bool:
    """Whether ``folder`` holds committed outputs: it carries :data:`COMMITTED_MARK`, or it
    is the ``results/`` or ``figures/`` of the current directory that a canonical run
    writes."""
    if folder is None:
        return False
    p = Path(folder)
    try:
        if (p / COMMITTED_MARK).is_file():
            return True
    except OSError:
        return False
    return any(c.is_dir() and _same(p, c) for c in (CANONICAL_RESULTS, CANONICAL_FIGURES))


def committed_figures(results: str | Path) -> Path:
    """The figures folder that belongs with the committed ``results`` (its sibling)."""
    p = Path(results)
    return CANONICAL_FIGURES if _same(p, CANONICAL_RESULTS) else p.resolve().parent / "figures"


def refuse_committed(option: str, folder: str | Path, why: str) -> None:
    """Raise ValueError when ``folder`` holds committed outputs (see :func:`is_committed`)."""
    if is_committed(folder):
        raise ValueError(
            f"{option} {str(folder)!r} holds the committed canonical results, and {why}; "
            f"pass --update-results to overwrite them, or choose another folder"
        )


def resolve(
    args: argparse.Namespace,
    command: str,
    defaults: dict[str, Any],
    *,
    canonical: bool = True,
    figures: bool = True,
) -> tuple[Path, Path | None, bool]:
    """Decide this run's results folder and PNG folder; :func:`say_where` then says where,
    when it matters, once the command's checks have passed.

    Parameters
    ----------
    args
        The parsed options (``results_dir``, ``out_dir``, ``update_results`` and the
        computing options).
    command : str
        The name used in ``runs/`` (``fig6``, ``curve``, ``proof-tables``, ...).
    defaults : dict
        :func:`keyed_defaults` of the command's parser.
    canonical : bool
        Whether the command has committed results at all (``simulate curve`` has none).

    Returns
    -------
    (results_dir, out_dir, is_canonical)

    Raises
    ------
    ValueError
        A non-canonical run pointed at the committed ``results/`` or ``figures/`` without
        ``--update-results``.
    """
    changed = {
        name: getattr(args, name)
        for name, default in defaults.items()
        if getattr(args, name, default) != default
    }
    is_canonical = canonical and not changed
    update = bool(getattr(args, "update_results", False))
    out_given = getattr(args, "out_dir", None) if figures else None
    if args.results_dir is not None:
        results = Path(args.results_dir)
    elif is_canonical or update:
        results = CANONICAL_RESULTS
    else:
        results = RUNS_DIR / run_key(command, changed)
    if not figures:
        out = None
    elif out_given is not None:
        out = Path(out_given)
    elif args.results_dir is None and (is_canonical or update):
        out = CANONICAL_FIGURES
    else:
        out = results
    if not is_canonical and not update:
        what = ", ".join(f"--{n.replace('_', '-')} {_text(v)}" for n, v in changed.items())
        reason = f"this run ({what})" if what else "this run"
        for option, folder in (("--results-dir", results), ("--out-dir", out)):
            refuse_committed(option, folder, f"{reason} is not the canonical one")
    args.where_note = None
    if not is_canonical and args.results_dir is None and not update:
        where = f"{results}/" if out in (None, results) else f"{results}/ and {out}/"
        args.where_note = (
            f"this run's outputs go to {where} (non-default parameters; the committed "
            f"results/ and figures/ are written only by the canonical run or with "
            f"--update-results)"
        )
    return results, out, is_canonical


def say_where(args: argparse.Namespace) -> None:
    """Print where a non-canonical run writes (:func:`resolve` leaves the line on ``args``):
    called once every check has passed, so a refused run announces nothing."""
    note = getattr(args, "where_note", None)
    if note:
        print(note, flush=True)
        args.where_note = None
