"""The files of a sweep: its CSV, its sidecar and its lock (no torch).

A sweep writes ``OUT.csv`` (one row per finished configuration) and its sidecar
``OUT.json`` (the sweep's parameters and every command that wrote rows) through
:func:`opauc_sim.results_cache.save_result`, which replaces the files atomically, so a
sweep killed at any moment (even with ``kill -9``) leaves either the previous CSV or the
new one. This module holds what every reader and writer of those files shares:

* :func:`check_out`: ``out_csv`` must end in ``.csv``, not be a folder, and, if it
  exists, have been written by a sweep (its sidecar says so, or it has a sweep's
  columns). Any other CSV is refused rather than rewritten.
* :func:`lock_out`: an exclusive lock (``fcntl.flock`` on ``.NAME.csv.lock`` beside it)
  for the whole sweep, so that a second writer is refused at once.
* :func:`read_rows`: the finished rows, dropping rows cut short (a file truncated
  mid-row) or malformed, and repeated ids (first kept), saying so.
* :func:`merge_sweeps`: append the rows of side-by-side sweeps.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from opauc_sim.results_cache import ResultsError, check_name, recover, save_result

__all__ = [
    "ADDED_COLUMNS",
    "SWEEP_COLUMNS",
    "check_out",
    "done_ids",
    "lock_out",
    "merge_sweeps",
    "read_rows",
]

SWEEP_COLUMNS = ("id", "dataset", "split_seed", "label", "sampler", "best_epoch")

#: Columns rows gained after sweeps had been written without them: such a CSV still
#: merges, and its rows read NaN there (``diverged_epoch``: the first epoch whose loss was
#: not finite, NaN for a run that did not diverge).
ADDED_COLUMNS = frozenset(
    {
        "diverged_epoch",
        "alpha",
        "batching",
        "exclude_heldout",
        "patience",
        "stopped_epoch",
        "heldout_share",
    }
)


def check_out(out_csv: str | os.PathLike) -> Path:
    """Check that ``out_csv`` may receive a sweep's rows; return it as a Path.

    Raises
    ------
    ResultsError
        The name does not end in ``.csv``, is a folder, has an unusable stem, or names an
        existing file that was not written by a sweep.
    """
    path = Path(out_csv)
    if path.suffix != ".csv":
        raise ResultsError(f"--out must end in .csv, got {str(out_csv)!r}")
    if path.is_dir():
        raise ResultsError(f"--out {str(out_csv)!r} is a folder; give a file name NAME.csv")
    check_name(path.stem, "--out")
    if not path.exists():
        return path
    recover(path)
    sidecar = path.with_suffix(".json")
    try:
        meta = json.loads(sidecar.read_text(encoding="utf-8")) if sidecar.exists() else None
    except (OSError, ValueError):
        meta = {}
    params = meta.get("params") if isinstance(meta, dict) else None
    by_sidecar = isinstance(meta, dict) and (
        meta.get("kind") == "sweep"
        or (isinstance(params, dict) and {"dataset", "split_seed"} <= set(params))
    )
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            header = next(csv.reader([handle.readline()]), [])
    except (OSError, UnicodeDecodeError):
        header = []
    has_columns = set(SWEEP_COLUMNS) <= set(header)
    if not has_columns or (meta is not None and not by_sidecar):
        why = (
            f"its sidecar {sidecar} is not a sweep's"
            if meta is not None and not by_sidecar
            else f"it lacks the sweep columns {[c for c in SWEEP_COLUMNS if c not in header]}"
        )
        raise ResultsError(
            f"--out {str(out_csv)!r} exists and was not written by a sweep ({why}); "
            f"refusing to rewrite it: choose another --out"
        )
    return path


@contextlib.contextmanager
def lock_out(out_csv: str | os.PathLike) -> Iterator[Path]:
    """Hold an exclusive lock on ``out_csv`` (``.NAME.csv.lock`` beside it) or refuse.

    The lock is released when the block ends or the process dies (``kill -9`` included).
    The lock file itself is left in place: deleting it would race with a waiting sweep.

    Raises
    ------
    ResultsError
        Another process holds the lock.
    """
    path = Path(out_csv)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.parent / f".{path.name}.lock"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ResultsError(
                f"another sweep is writing {str(out_csv)!r} (lock {lock_path} is held); "
                f"wait for it to finish or choose another --out"
            ) from None
        yield path
    finally:
        os.close(fd)


def read_rows(out_csv: str | os.PathLike, log: Callable[[str], None] | None = None) -> pd.DataFrame:
    """The finished rows of a sweep CSV: complete rows only, one per id.

    A row cut short (no final newline, or fewer fields than the header: a file truncated
    mid-row) or without an id is dropped, and so is a repeated id (the first is kept);
    ``log`` is told how many, and those configurations are trained again.

    Returns
    -------
    pandas.DataFrame
        Empty (no columns) when the file does not exist or holds no row.
    """
    path = Path(out_csv)
    if not path.exists():
        return pd.DataFrame()
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    if not lines:
        return pd.DataFrame()
    header = next(csv.reader([lines[0]]))
    keep = [lines[0]]
    broken = 0
    for line in lines[1:]:
        fields = next(csv.reader([line]), [])
        if line.endswith("\n") and len(fields) == len(header) and fields[0]:
            keep.append(line)
        elif line.strip():
            broken += 1
    df = pd.read_csv(io.StringIO("".join(keep)), dtype={"id": str})
    df.attrs["dropped"] = broken
    repeated = int(df["id"].duplicated().sum()) if "id" in df else 0
    if repeated:
        df = df.drop_duplicates("id", keep="first").reset_index(drop=True)
    df.attrs["dropped"] = broken + repeated
    if log is not None and (broken or repeated):
        log(
            f"{path}: dropped {broken} truncated or malformed row(s) and {repeated} repeated "
            f"id(s); those configurations are trained again"
        )
    return df


def done_ids(out_csv: str | os.PathLike) -> set[str]:
    """Ids of the complete rows already in ``out_csv`` (empty when it does not exist)."""
    df = read_rows(out_csv)
    return set(df["id"]) if "id" in df else set()


def _sidecar(out_csv: Path) -> dict[str, Any]:
    """The sidecar of ``out_csv`` as a dict; empty if it is missing or unreadable."""
    try:
        meta = json.loads(out_csv.with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def _commands(out_csv: Path, more: Sequence[str]) -> list[str]:
    """Every command that wrote rows of ``out_csv``: its sidecar's list, then ``more``.

    A sweep CSV collects the rows of many commands (stages, seeds, a second core), so the
    sidecar keeps them all, in order, each once; a sidecar from before this list existed
    contributes its one ``command``.
    """
    meta = _sidecar(out_csv)
    listed = meta.get("commands")
    if not isinstance(listed, list):
        listed = [meta["command"]] if meta.get("command") else []
    return list(dict.fromkeys([*map(str, listed), *more]))


def merge_sweeps(
    out_csv: str | os.PathLike,
    sources: Sequence[str | os.PathLike],
    *,
    log: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Append to ``out_csv`` the rows of other sweep CSVs whose ids it does not have yet.

    For sweeps run side by side (one per core, each with its own ``--out``): the ids
    say which configuration a row is, so a row already in ``out_csv`` is kept and its
    twin skipped. The write goes through the same lock and atomic save as a sweep's; the
    sidecar keeps the parameters of ``out_csv`` (of the first source for a new
    ``out_csv``), lists the commands of every source, and, in ``source_commits``, the
    commits of the code that computed the rows it holds.

    Raises
    ------
    ResultsError
        ``out_csv`` or a source is not a sweep's CSV, a source is missing or is
        ``out_csv`` itself, or its dataset or columns differ from those of ``out_csv``.
    """
    out_csv = check_out(out_csv)
    with lock_out(out_csv):
        rows = read_rows(out_csv, log)
        commands = _commands(out_csv, [])
        meta = _sidecar(out_csv)
        params = meta.get("params") or {}
        commits = list(meta.get("source_commits", []))
        for source in sources:
            path = check_out(source)
            if not path.is_file():
                raise ResultsError(f"source {str(source)!r} is not a file (a sweep's NAME.csv)")
            if path.resolve() == out_csv.resolve():
                raise ResultsError(f"source {str(source)!r} is --out itself")
            new = read_rows(path, log)
            if len(rows) and len(new):
                diff = sorted((set(new.columns) ^ set(rows.columns)) - ADDED_COLUMNS)
                if diff:
                    raise ResultsError(f"source {str(source)!r} has other columns: {diff}")
                if set(new["dataset"]) != set(rows["dataset"]):
                    raise ResultsError(
                        f"source {str(source)!r} is on {sorted(set(new['dataset']))}, "
                        f"--out on {sorted(set(rows['dataset']))}"
                    )
            fresh = new[~new["id"].isin(rows["id"])] if len(rows) else new
            if log is not None:
                log(f"{source}: {len(fresh)} new rows, {len(new) - len(fresh)} already in")
            rows = pd.concat([rows, fresh], ignore_index=True) if len(rows) else fresh
            commands = list(dict.fromkeys([*commands, *_commands(path, [])]))
            source = _sidecar(path)
            params = params or source.get("params") or {}
            if len(fresh):  # the code that computed rows kept here
                commits += [*source.get("source_commits", []), source.get("git_commit")]
        save_result(
            rows.reset_index(drop=True),
            out_csv.stem,
            params=params,
            seed=meta.get("seed"),
            results_dir=out_csv.parent,
            extra={
                "kind": "sweep",
                "commands": commands,
                "source_commits": [c for c in dict.fromkeys(commits) if c],
            },
        )
        return read_rows(out_csv)
