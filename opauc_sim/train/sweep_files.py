"""The files of a sweep: its CSV, its sidecar and its lock (no torch).

A sweep writes ``OUT.csv`` (one row per finished configuration) and its sidecar
``OUT.json`` (the sweep's parameters and every command that wrote rows) through
:func:`opauc_sim.results_cache.save_result`, which replaces the files atomically, so a
sweep killed at any moment (even with ``kill -9``) leaves either the previous CSV or the
new one. This module holds what every reader and writer of those files shares:

* :func:`check_out`: ``out_csv`` must end in ``.csv``, not be a folder nor a file with
  other hard links, and, if it exists, have been written by a sweep (its sidecar says so,
  or it has a sweep's columns). Any other CSV is refused rather than rewritten. A symlink
  is resolved: the file it names is the one locked and written.
* :func:`lock_out`: an exclusive lock (``fcntl.flock`` on ``.NAME.csv.lock`` beside the
  file) for the whole sweep, so that a second writer is refused at once.
* :func:`read_rows`: the one reader of these files (``sweep``, ``report``,
  ``merge-sweeps``, ``false-negatives``): the finished rows, dropping rows cut short (a file
  truncated mid-row) or malformed, and repeated ids (first kept), saying so; refusing rows
  edited after they were written (each row's digest is in the sidecar, :func:`save_rows`)
  and files whose rows mix protocols (:data:`PROTOCOL`, the cut-offs) or are of another
  protocol than the run's.
* :func:`merge_sweeps`: append the rows of side-by-side sweeps.

The same reader and checks serve ``opauc-sim false-negatives``' table (:data:`SHARES`).
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import hashlib
import io
import json
import math
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from opauc_sim.results_cache import ResultsError, _csv_bytes, check_name, recover, save_result

__all__ = [
    "ADDED_COLUMNS",
    "PROTOCOL",
    "SHARES",
    "SWEEP",
    "SWEEP_COLUMNS",
    "RowsKind",
    "check_out",
    "done_ids",
    "expected_protocol",
    "lock_out",
    "merge_sweeps",
    "protocol_of",
    "read_rows",
    "save_rows",
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


#: What makes rows comparable, besides the cut-offs K (read from the metric columns): the
#: data set, its split rule, the recipe and the training protocol. Rows that differ in one of
#: these never share a CSV; rows of other samplers, M, N, rho, weight decays, seeds and of
#: the oracle arm (``exclude_heldout``) do.
PROTOCOL = (
    "dataset",
    "valid_frac",
    "authors_code",
    "epochs",
    "eval_every",
    "select_metric",
    "batching",
)
#: The value a protocol column has in rows written before it existed.
_PROTOCOL_DEFAULTS = {"valid_frac": 0.1, "batching": "pair"}
_METRIC_K = re.compile(r"^(?:test|valid)_[A-Za-z_]+@(\d+)$")


@dataclass(frozen=True)
class RowsKind:
    """A kind of CSV that collects rows over many runs (a sweep's, the shares table).

    Attributes
    ----------
    name : str
        For messages, and the sidecar's ``kind``.
    key : tuple of str
        The columns that say which row is which (a repeat is dropped).
    columns : tuple of str
        Columns every file of this kind has.
    protocol : tuple of str
        Columns whose values all rows of one file share.
    writer : str
        What writes such files, for messages ("a sweep").
    owner : str
        Whose such a file is, for messages ("a sweep's").
    """

    name: str
    key: tuple[str, ...]
    columns: tuple[str, ...]
    protocol: tuple[str, ...]
    writer: str
    owner: str

    def owns(self, meta: dict[str, Any] | None) -> bool:
        """Whether a sidecar is one of this kind's."""
        if not isinstance(meta, dict):
            return False
        params = meta.get("params")
        params = set(params) if isinstance(params, dict) else set()
        if self is SWEEP:
            return meta.get("kind") == "sweep" or {"dataset", "split_seed"} <= params
        return meta.get("kind") == self.name or (
            "kind" not in meta and {"dataset", "model", "n_pairs"} <= params
        )


SWEEP = RowsKind("sweep", ("id",), SWEEP_COLUMNS, PROTOCOL, "a sweep", "a sweep's")
#: ``opauc-sim false-negatives``' table: one row per data set and sampler setting; the
#: model that was measured is the protocol.
SHARES = RowsKind(
    "false-negatives",
    ("dataset", "sampler", "M", "rho", "N"),
    ("dataset", "model", "sampler", "M", "rho", "N", "share"),
    ("model", "recipe", "epochs", "weight_decay", "n_pairs"),
    "opauc-sim false-negatives",
    "a false-negatives table's",
)


def _meta(path: Path) -> dict[str, Any] | None:
    """The sidecar of ``path``: None when there is none, ``{}`` when it is unreadable."""
    sidecar = path.with_suffix(".json")
    if not sidecar.exists():
        return None
    try:
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def check_out(
    out_csv: str | os.PathLike, option: str = "--out", kind: RowsKind | None = None
) -> Path:
    """Check that ``out_csv`` may receive rows of ``kind`` (a sweep's by default).

    Returns
    -------
    pathlib.Path
        The file itself: a symlink resolved, so that every name of one file takes the
        same lock and the write replaces the file, not the link.

    Raises
    ------
    ResultsError
        The name does not end in ``.csv``, is a folder, has an unusable stem, has other
        hard links (a write would part them), or names an existing file that was not
        written by ``kind``'s command.
    """
    kind = SWEEP if kind is None else kind
    given = str(out_csv)
    if not given:
        raise ResultsError(f"{option} must name a file NAME.csv, got ''")
    path = Path(out_csv)
    if path.suffix != ".csv":
        raise ResultsError(f"{option} must end in .csv, got {given!r}")
    if path.is_dir():
        raise ResultsError(f"{option} {given!r} is a folder; give a file name NAME.csv")
    check_name(path.stem, option)
    path = Path(os.path.realpath(path))
    if path.suffix != ".csv" or path.is_dir():
        raise ResultsError(f"{option} {given!r} links to {str(path)!r}, not a file NAME.csv")
    if not path.exists():
        return path
    links = path.stat().st_nlink
    if links > 1:
        raise ResultsError(
            f"{option} {given!r} has {links} hard links: each write replaces the file, which "
            f"would part them into separate files; keep one name (copy it instead)"
        )
    recover(path)
    meta = _meta(path)
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            header = next(csv.reader([handle.readline()]), [])
    except (OSError, UnicodeDecodeError):
        header = []
    missing = [c for c in kind.columns if c not in header]
    if missing or (meta is not None and not kind.owns(meta)):
        why = (
            f"its sidecar {path.with_suffix('.json')} is not {kind.owner}"
            if meta is not None and not kind.owns(meta)
            else f"it lacks the columns {missing}"
        )
        raise ResultsError(
            f"{option} {given!r} exists and was not written by {kind.writer} ({why}); "
            f"refusing to rewrite it: choose another {option}"
        )
    return path


@contextlib.contextmanager
def lock_out(
    out_csv: str | os.PathLike, option: str = "--out", who: str = "sweep"
) -> Iterator[Path]:
    """Hold an exclusive lock on ``out_csv`` (``.NAME.csv.lock`` beside the file it names,
    a symlink resolved) or refuse.

    The lock is released when the block ends or the process dies (``kill -9`` included).
    The lock file itself is left in place: deleting it would race with a waiting writer.

    Raises
    ------
    ResultsError
        Another process holds the lock.
    """
    path = Path(os.path.realpath(out_csv))
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.parent / f".{path.name}.lock"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ResultsError(
                f"another {who} is writing {str(out_csv)!r} (lock {lock_path} is held); "
                f"wait for it to finish or choose another {option}"
            ) from None
        yield path
    finally:
        os.close(fd)


def _row_digest(line: str) -> str:
    return hashlib.sha256(line.rstrip("\r\n").encode("utf-8")).hexdigest()[:12]


def save_rows(
    rows: pd.DataFrame,
    out_csv: Path,
    *,
    params: dict[str, Any],
    seed: Any = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``rows`` to ``out_csv`` with :func:`save_result`; the sidecar also lists a
    digest of every row (``row_sha256``), so that :func:`read_rows` tells a row cut short
    or repeated (dropped) from a row edited by hand (refused)."""
    data = _csv_bytes(rows).decode("utf-8")
    digests = [_row_digest(line) for line in data.splitlines()[1:]]
    return save_result(
        rows,
        out_csv.stem,
        params=params,
        seed=seed,
        results_dir=out_csv.parent,
        extra={**(extra or {}), "row_sha256": digests},
    )


def _norm(value: Any) -> str | None:
    """A protocol value as text that compares across dtypes (``200`` = ``200.0``)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, str):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(number):
        return None
    return str(int(number)) if number.is_integer() else repr(number)


def _row_ks(df: pd.DataFrame) -> list[str | None]:
    """Per row, its cut-offs K (those of its non-missing metrics), or None when it has none
    (a run that diverged before any evaluation)."""
    by_k: dict[int, list[str]] = {}
    for c in df.columns:
        m = _METRIC_K.match(str(c))
        if m:
            by_k.setdefault(int(m.group(1)), []).append(c)
    known = {k: df[cols].notna().any(axis=1).to_numpy() for k, cols in sorted(by_k.items())}
    out = []
    for i in range(len(df)):
        ks = [str(k) for k, has in known.items() if has[i]]
        out.append(",".join(ks) or None)
    return out


def protocol_of(df: pd.DataFrame, kind: RowsKind | None = None) -> dict[str, set[str]]:
    """The distinct values of each protocol column (and, for sweeps, of ``ks``) in ``df``."""
    kind = SWEEP if kind is None else kind
    out: dict[str, set[str]] = {}
    for name in kind.protocol:
        default = _PROTOCOL_DEFAULTS.get(name) if kind is SWEEP else None
        values = df[name] if name in df else pd.Series([default] * len(df), dtype=object)
        seen = {_norm(default if _norm(v) is None else v) for v in values}
        out[name] = {v for v in seen if v is not None}
    if kind is SWEEP:
        out["ks"] = {k for k in _row_ks(df) if k is not None}
    return out


def _differences(a: dict[str, set[str]], b: dict[str, set[str]], label: str) -> list[str]:
    """``name: A, label: B`` for each protocol value that differs between ``a`` and ``b``."""
    return [
        f"{name}: {', '.join(sorted(a[name]))}, {label}: {', '.join(sorted(b[name]))}"
        for name in a
        if a[name] and b.get(name) and a[name] != b[name]
    ]


def expected_protocol(*, dataset: str, valid_frac: float, config: Any) -> dict[str, set[str]]:
    """The protocol of the rows a sweep of ``config`` (a TrainConfig) on ``dataset`` writes."""
    values = {
        "dataset": str(dataset),
        "valid_frac": valid_frac,
        "authors_code": config.authors_code,
        "epochs": config.epochs,
        "eval_every": config.eval_every,
        "select_metric": config.select_metric,
        "batching": config.batching,
    }
    out = {name: {_norm(values[name])} for name in PROTOCOL}
    out["ks"] = {",".join(str(k) for k in sorted(config.ks))}
    return out


def _complete_lines(
    path: Path, data: bytes, meta: dict[str, Any] | None, key: str
) -> tuple[list[str], int]:
    """The header and the complete lines of ``text``, checked against the sidecar; and how
    many lines were cut short (no final newline, too few fields, no ``key``)."""
    text = data.decode("utf-8")
    lines = text.splitlines(keepends=True)
    header = next(csv.reader([lines[0]]), [])
    first = header.index(key) if key in header else 0
    recorded = meta.get("columns") if meta else None
    if isinstance(recorded, list) and [str(c) for c in recorded] != header:
        raise ResultsError(
            f"{path} has other columns than its sidecar {path.with_suffix('.json')} says: it "
            f"was changed after it was written; restore it, or delete the sidecar to take "
            f"the file as it is"
        )
    keep, cut = [lines[0]], 0
    for line in lines[1:]:
        fields = next(csv.reader([line]), [])
        if line.endswith("\n") and len(fields) == len(header) and fields[first]:
            keep.append(line)
        elif line.strip():
            cut += 1
    digests = meta.get("row_sha256") if meta else None
    if isinstance(digests, list):
        known = set(digests)
        for n, line in enumerate(keep[1:], start=2):
            if _row_digest(line) not in known:
                raise ResultsError(
                    f"{path}, line {n}, does not match its sidecar {path.with_suffix('.json')} "
                    f"(the row was edited after it was written); restore it, or delete the "
                    f"sidecar to take the file as it is"
                )
    elif meta and "csv_sha256" in meta and not cut and len(set(keep)) == len(keep):
        # An older sidecar (no row digests): the file's sha256 can vouch for the rows only
        # when no row was cut or repeated.
        if hashlib.sha256(data).hexdigest() != meta["csv_sha256"]:
            raise ResultsError(
                f"{path} does not match its sidecar {path.with_suffix('.json')} (sha256 "
                f"differs: it was edited after it was written); restore it, or delete the "
                f"sidecar to take the file as it is"
            )
    return keep, cut


def read_rows(
    out_csv: str | os.PathLike,
    log: Callable[[str], None] | None = None,
    *,
    kind: RowsKind | None = None,
    protocol: dict[str, set[str]] | None = None,
    option: str = "--out",
) -> pd.DataFrame:
    """The finished rows of a sweep CSV (or of another :class:`RowsKind`): checked, whole,
    one per key, of one protocol.

    The one reader of these files, for ``sweep``, ``report``, ``merge-sweeps`` and
    ``false-negatives``. A row cut short (no final newline, or fewer fields than the
    header: a file truncated mid-row) is dropped, and so is a repeated key (the first is
    kept); ``log`` is told how many (a sweep trains them again). A row that no longer
    matches the sidecar (its ``row_sha256``, or for an older sidecar the file's sha256)
    is refused, as is a file whose rows mix protocols (:data:`PROTOCOL` and the cut-offs)
    or, with ``protocol``, whose rows are of another protocol than the run's.

    Returns
    -------
    pandas.DataFrame
        Empty (no columns) when the file does not exist or holds no row.

    Raises
    ------
    ResultsError
        The file is not text, an edited row, mixed protocols, another protocol.
    """
    kind = SWEEP if kind is None else kind
    path = Path(out_csv)
    if not path.exists():
        return pd.DataFrame()
    recover(path)
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise ResultsError(f"{option} {str(path)!r} is not a text CSV") from None
    if not data.strip():
        return pd.DataFrame()
    keep, cut = _complete_lines(path, data, _meta(path), kind.key[0])
    try:
        df = pd.read_csv(io.StringIO("".join(keep)), dtype={k: str for k in kind.key if k == "id"})
    except (ValueError, pd.errors.ParserError) as exc:
        raise ResultsError(f"{option} {str(path)!r} is not a readable CSV: {exc}") from None
    key = [k for k in kind.key if k in df]
    repeated = int(df.duplicated(key).sum()) if key else 0
    if repeated:
        df = df.drop_duplicates(key, keep="first").reset_index(drop=True)
    df.attrs["dropped"] = cut + repeated
    if log is not None and (cut or repeated):
        again = "; those configurations are trained again" if kind is SWEEP else ""
        log(
            f"{path}: dropped {cut} truncated or malformed row(s) and {repeated} repeated "
            f"{'id' if kind is SWEEP else 'row'}(s){again}"
        )
    found = protocol_of(df, kind) if len(df) else {}
    mixed = [f"{n} {', '.join(sorted(v))}" for n, v in found.items() if len(v) > 1]
    if mixed:
        raise ResultsError(
            f"{path} mixes rows of several protocols ({'; '.join(mixed)}): they are not "
            f"comparable; split the file by these columns"
        )
    if protocol is not None and found:
        diff = _differences(found, protocol, "this run's")
        if diff:
            raise ResultsError(
                f"{option} {str(path)!r} holds rows of another protocol ({'; '.join(diff)}): "
                f"they would not be comparable; choose another {option}"
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
        ``out_csv`` itself, or its protocol (:func:`read_rows`) or columns differ from
        those of ``out_csv``.
    """
    out_csv = check_out(out_csv)
    sources = [(str(s), check_out(s, option="source")) for s in sources]
    for given, path in sources:  # every source is checked before anything is written
        if not path.is_file():
            raise ResultsError(f"source {given!r} is not a file (a sweep's NAME.csv)")
        if path == out_csv:
            raise ResultsError(f"source {given!r} is --out itself")
    with lock_out(out_csv):
        rows = read_rows(out_csv, log)
        commands = _commands(out_csv, [])
        meta = _sidecar(out_csv)
        params = meta.get("params") or {}
        commits = list(meta.get("source_commits", []))
        for given, path in sources:
            new = read_rows(path, log, option="source")
            if len(rows) and len(new):
                diff = sorted((set(new.columns) ^ set(rows.columns)) - ADDED_COLUMNS)
                if diff:
                    raise ResultsError(f"source {given!r} has other columns: {diff}")
                other = _differences(protocol_of(new), protocol_of(rows), "--out's")
                if other:
                    raise ResultsError(
                        f"source {given!r} holds rows of another protocol than --out "
                        f"({'; '.join(other)}): they would not be comparable"
                    )
            fresh = new[~new["id"].isin(rows["id"])] if len(rows) else new
            if log is not None:
                log(f"{given}: {len(fresh)} new rows, {len(new) - len(fresh)} already in")
            rows = pd.concat([rows, fresh], ignore_index=True) if len(rows) else fresh
            commands = list(dict.fromkeys([*commands, *_commands(path, [])]))
            source = _sidecar(path)
            params = params or source.get("params") or {}
            if len(fresh):  # the code that computed rows kept here
                commits += [*source.get("source_commits", []), source.get("git_commit")]
        save_rows(
            rows.reset_index(drop=True),
            out_csv,
            params=params,
            seed=meta.get("seed"),
            extra={
                "kind": "sweep",
                "commands": commands,
                "source_commits": [c for c in dict.fromkeys(commits) if c],
            },
        )
        return read_rows(out_csv)
