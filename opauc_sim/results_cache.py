"""Cached results: a small CSV plus a JSON sidecar that says how it was made.

Expensive computations write here once; figure scripts only read. The sidecar
(``NAME.json`` beside ``NAME.csv``) records the parameters, the seed, the package
version, the git commit, the command line, the CSV's columns and its sha256, so that every
cached number can be traced back and regenerated, and a CSV that does not match its
sidecar is refused instead of read.

Writes are atomic: both files are first written to temporary files (``.NAME.csv.PID.*.tmp``,
in the same folder, with the permissions the umask gives), then renamed over the old ones,
CSV first. A ``kill -9`` at any moment leaves:

* before the renames, the old pair and orphaned temporaries: the next read or write of that
  name deletes the temporaries of writers that are no longer running;
* between the two renames, the new CSV beside the old (or no) sidecar: the next read
  renames the pending sidecar temporary into place (its sha256 names the new CSV). If it is
  gone too, the read refuses the CSV (:class:`ResultsError`), since its provenance is lost.

A write that would change no number (the same parameters, seed and columns as the pair on
disk, and the same CSV bytes or floats equal to a relative 1e-9, :data:`SAME_NUMBERS_RTOL`:
the last digits another CPU's vector units change) leaves both files as they are, so
rerunning a canonical command keeps the committed sidecars (their commit, timestamp and
timings) and ``git status`` clean. The commit recorded is that of the package's own checkout
(:mod:`opauc_sim._provenance`), never of the current folder.

A result that spans several files (``simulate fig6`` writes curves, peaks and claims) is
written as a *set* (:func:`save_result_set`): the old manifest ``SET.manifest.json`` is
deleted first, every member is written, and a new manifest naming each file and its sha256
is written last. A member is read back only when the manifest is there and matches it, so a
set interrupted half-way is never read as one result.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import tempfile
import uuid
import warnings
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from opauc_sim import __version__
from opauc_sim._atomic import (
    atomic_write_text,
    file_sha256,
    orphaned_temporaries,
    unlink_quietly,
    write_temporary,
)
from opauc_sim._provenance import (  # noqa: F401  (re-exported)
    forget_tree_state,
    git_commit,
    provenance_commit,
    record_tree_state,
)
from opauc_sim._same_numbers import SAME_NUMBERS_RTOL, same_numbers  # noqa: F401
from opauc_sim._validation import find_stack_level

DEFAULT_RESULTS_DIR = Path("results")

#: A result name is a plain file stem: no folder, no leading dot.
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,199}$")


class ResultsError(ValueError):
    """A cached result that cannot be written or trusted; the message names the file."""


def recover(csv_path: str | os.PathLike) -> list[str]:
    """Finish or clean up an interrupted write of ``csv_path`` and its sidecar.

    A sidecar temporary whose recorded sha256 is that of the current CSV, left by a writer
    killed between the two renames, is renamed into place (the pair is whole again). Every
    other temporary of the CSV or sidecar left by a writer that is no longer running is
    deleted. A read-only folder is left as it is.

    Parameters
    ----------
    csv_path : path
        ``DIR/NAME.csv``.

    Returns
    -------
    list of str
        One line per action taken (empty when there was nothing to do).
    """
    csv_path = Path(csv_path)
    json_path = csv_path.with_suffix(".json")
    actions: list[str] = []
    json_orphans = orphaned_temporaries(json_path)
    if json_orphans and csv_path.exists():
        current = file_sha256(csv_path)
        meta = _read_json(json_path)
        if meta is None or meta.get("csv_sha256") != current:
            for tmp in json_orphans:
                pending = _read_json(tmp)
                if pending is not None and pending.get("csv_sha256") == current:
                    try:
                        os.replace(tmp, json_path)
                    except OSError:
                        break
                    actions.append(f"healed {json_path} from an interrupted write")
                    break
    for tmp in orphaned_temporaries(json_path) + orphaned_temporaries(csv_path):
        try:
            os.unlink(tmp)
        except OSError:
            continue
        actions.append(f"deleted orphaned temporary {tmp}")
    return actions


# ---------------------------------------------------------------------------------------
# Names and folders
# ---------------------------------------------------------------------------------------


def check_name(name: object, option: str = "name") -> str:
    """Return ``name`` if it is a plain result name (a file stem), else raise naming ``option``.

    A name may hold letters, digits, ``_``, ``.`` and ``-``, and must not start with a dot:
    ``../x`` or ``a/b`` would write outside the results folder.
    """
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ResultsError(
            f"{option} must be a plain file name (letters, digits, '_', '.', '-'; no folder, "
            f"no leading dot), got {name!r}"
        )
    return name


def check_writable_dir(path: str | os.PathLike, option: str) -> Path:
    """Check that the folder ``path`` exists and takes files, or could be created and would.

    Call it before any computing, so that an unusable output folder is reported at once.
    Nothing is left behind: a folder that does not exist yet is not created (the write
    creates it), the probe is made in its nearest existing parent, and the probe file is
    deleted, so a run refused later leaves no empty folder.

    Parameters
    ----------
    path : path
    option : str
        The option that gave the folder, for the message (e.g. ``"--results-dir"``).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ResultsError
        ``path`` is a file, cannot be created, or is not writable (read-only, no permission).
    """
    p = Path(path)
    if not str(path):
        raise ResultsError(f"{option} must name a folder, got ''")
    if p.exists() and not p.is_dir():
        raise ResultsError(f"{option} {str(p)!r} is a file, not a folder")
    probe_in = p
    while not probe_in.is_dir():
        if probe_in.exists() or probe_in.is_symlink():
            raise ResultsError(f"{option} {str(p)!r} cannot be created: Not a directory")
        probe_in = probe_in.parent
    try:
        fd, probe = tempfile.mkstemp(dir=probe_in, prefix=".opauc-sim-probe.", suffix=".tmp")
    except OSError as exc:
        what = "is not writable" if probe_in == p else "cannot be created"
        raise ResultsError(f"{option} {str(p)!r} {what}: {exc.strerror}") from None
    os.close(fd)
    unlink_quietly(Path(probe))
    return p


# ---------------------------------------------------------------------------------------
# Save and load
# ---------------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def _csv_bytes(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False, float_format="%.17g").encode("utf-8")


def command_line(argv: list[str] | None = None) -> str:
    """The command that is running, as a user would type it again.

    ``python -m opauc_sim ...`` and the ``opauc-sim`` script both read ``opauc-sim ...``;
    any other program keeps its own name.
    """
    argv = list(sys.argv if argv is None else argv)
    if argv and Path(argv[0]).name in ("__main__.py", "opauc-sim"):
        argv[0] = "opauc-sim"
    return " ".join(argv)


#: The sidecar fields that describe the numbers; the others say when, by which commit and
#: command, and how fast. A write whose CSV bytes and these fields equal what is on disk
#: changes nothing, and the files are left as they are (a rerun that reproduces a
#: committed result leaves ``git status`` clean).
_CONTENT_FIELDS = ("name", "params", "seed", "rows", "columns", "csv_sha256", "kind", "result_set")


def _result_meta(
    df: pd.DataFrame, name: str, params: dict[str, Any], seed: Any, extra: dict[str, Any] | None
) -> tuple[bytes, dict[str, Any]]:
    """The CSV bytes of ``df`` and the sidecar that :func:`save_result` writes with them."""
    data = _csv_bytes(df)
    meta = {
        "name": name,
        "params": _jsonable(params),
        "seed": _jsonable(seed) if not hasattr(seed, "entropy") else repr(seed),
        "opauc_sim_version": __version__,
        "git_commit": provenance_commit(),
        "command": command_line(),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows": len(df),
        "columns": [str(c) for c in df.columns],
        "csv_sha256": hashlib.sha256(data).hexdigest(),
    }
    if extra:
        meta.update(_jsonable(extra))
    return data, meta


def _unchanged(csv_path: Path, data: bytes, meta: dict[str, Any]) -> bool:
    """Whether ``csv_path`` and its sidecar already hold this content: the same parameters,
    seed and columns, and the same bytes or numbers (:func:`~opauc_sim._same_numbers.
    same_numbers`)."""
    old = _read_json(csv_path.with_suffix(".json"))
    if old is None:
        return False
    try:
        on_disk = csv_path.read_bytes()
    except OSError:
        return False
    if old.get("csv_sha256") != hashlib.sha256(on_disk).hexdigest():
        return False  # the sidecar does not describe the CSV beside it
    if on_disk != data and not same_numbers(on_disk, data):
        return False
    new = json.loads(json.dumps(meta))  # tuples as lists, as the sidecar holds them
    return all(new.get(k) == old.get(k) for k in _CONTENT_FIELDS if k != "csv_sha256")


def save_result(
    df: pd.DataFrame,
    name: str,
    *,
    params: dict[str, Any],
    seed: Any = None,
    results_dir: str | os.PathLike = DEFAULT_RESULTS_DIR,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``results_dir/name.csv`` and its sidecar ``name.json``; return the CSV path.

    Parameters
    ----------
    df : pandas.DataFrame
    name : str
        A plain file stem (see :func:`check_name`).
    params : dict
        The parameters that produced ``df`` (JSON-able).
    seed : optional
    results_dir : path, default "results"
    extra : dict, optional
        More sidecar fields.

    Returns
    -------
    pathlib.Path
        The CSV's path.
    """
    name = check_name(name)
    results_dir = Path(results_dir)
    csv_path = results_dir / f"{name}.csv"
    json_path = csv_path.with_suffix(".json")
    results_dir.mkdir(parents=True, exist_ok=True)
    recover(csv_path)
    data, meta = _result_meta(df, name, params, seed, extra)
    if _unchanged(csv_path, data, meta):
        return csv_path  # the same numbers: the files (and their provenance) stay as they are
    # Both temporaries first, then the renames: a kill between the renames leaves the
    # sidecar's temporary, which recover() renames into place.
    tmp_csv = write_temporary(csv_path, data)
    try:
        tmp_json = write_temporary(json_path, (json.dumps(meta, indent=2) + "\n").encode("utf-8"))
    except BaseException:
        unlink_quietly(tmp_csv)
        raise
    try:
        os.replace(tmp_csv, csv_path)
        os.replace(tmp_json, json_path)
    except BaseException:
        unlink_quietly(tmp_csv)
        unlink_quietly(tmp_json)
        raise
    return csv_path


def _manifest_path(set_name: str, results_dir: Path) -> Path:
    return results_dir / f"{set_name}.manifest.json"


def save_result_set(
    frames: Mapping[str, pd.DataFrame],
    set_name: str,
    *,
    params: dict[str, Any],
    seed: Any = None,
    results_dir: str | os.PathLike = DEFAULT_RESULTS_DIR,
    extra: dict[str, Any] | None = None,
    per_member: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Path]:
    """Write several results that belong together, so that they are read back only whole.

    The old manifest ``set_name.manifest.json`` is deleted first; each frame is written
    with :func:`save_result` (its sidecar names the set and this write's id); the new
    manifest, naming every CSV and sidecar with its sha256, is written last.
    :func:`load_result` refuses a member whose manifest is missing or does not match it.

    Parameters
    ----------
    frames : mapping of str to pandas.DataFrame
        Result name to table.
    set_name : str
        A plain file stem for the manifest.
    params, seed, results_dir, extra
        As in :func:`save_result`, shared by every member.
    per_member : mapping of str to dict, optional
        Member name to ``{"params": ..., "seed": ...}``, overriding ``params`` and ``seed``
        for that member.

    Returns
    -------
    list of pathlib.Path
        The CSV paths, in the order of ``frames``.
    """
    set_name = check_name(set_name, "set_name")
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    manifest = _manifest_path(set_name, results_dir)
    for orphan in orphaned_temporaries(manifest):  # a writer killed while writing it
        unlink_quietly(orphan)

    def member_kw(name: str) -> dict[str, Any]:
        own = (per_member or {}).get(name, {})
        return {"params": own.get("params", params), "seed": own.get("seed", seed)}

    kept = _set_unchanged(frames, set_name, results_dir, member_kw, extra)
    if kept is not None:
        return kept
    manifest.unlink(missing_ok=True)
    write_id = uuid.uuid4().hex
    member = {"result_set": {"name": set_name, "write_id": write_id}}
    paths = []
    files: dict[str, str] = {}
    for name, frame in frames.items():
        path = save_result(
            frame,
            name,
            **member_kw(name),
            results_dir=results_dir,
            extra={**(extra or {}), **member},
        )
        paths.append(path)
        for p in (path, path.with_suffix(".json")):
            files[p.name] = file_sha256(p)
    body = {
        "result_set": set_name,
        "write_id": write_id,
        "members": list(frames),
        "files": files,
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    atomic_write_text(manifest, json.dumps(body, indent=2) + "\n")
    return paths


def _set_unchanged(
    frames: Mapping[str, pd.DataFrame],
    set_name: str,
    results_dir: Path,
    member_kw,
    extra: dict[str, Any] | None,
) -> list[Path] | None:
    """The member paths when the set on disk is whole and holds exactly ``frames``, else None."""
    manifest = _read_json(_manifest_path(set_name, results_dir))
    if manifest is None or manifest.get("members") != list(frames):
        return None
    info = {"result_set": {"name": set_name, "write_id": manifest.get("write_id")}}
    paths = []
    for name, frame in frames.items():
        csv_path = results_dir / f"{check_name(name)}.csv"
        recover(csv_path)
        data, meta = _result_meta(frame, name, **member_kw(name), extra={**(extra or {}), **info})
        if not _unchanged(csv_path, data, meta):
            return None
        for p in (csv_path, csv_path.with_suffix(".json")):
            if manifest.get("files", {}).get(p.name) != file_sha256(p):
                return None
        paths.append(csv_path)
    return paths


def _check_set_member(csv_path: Path, meta: dict[str, Any], results_dir: Path) -> None:
    info = meta.get("result_set")
    if not isinstance(info, dict):
        # Written alone, but a manifest may still list it (a lone rewrite of a member).
        for path in sorted(results_dir.glob("*.manifest.json")):
            listed = _read_json(path)
            if listed is not None and csv_path.stem in listed.get("members", []):
                info = {"name": listed.get("result_set"), "write_id": None}
                break
        else:
            return
    set_name = str(info.get("name"))
    manifest_path = _manifest_path(set_name, results_dir)
    manifest = _read_json(manifest_path)
    rerun = "recompute it (rerun the command that wrote it)"
    if manifest is None:
        raise ResultsError(
            f"{csv_path} belongs to the result set {set_name!r}, whose manifest "
            f"{manifest_path} is missing: the write of the set did not finish; {rerun}"
        )
    if manifest.get("write_id") != info.get("write_id"):
        raise ResultsError(
            f"{csv_path} is not from the same run as the rest of the result set {set_name!r} "
            f"({manifest_path}): a later write was interrupted; {rerun}"
        )
    for name in (csv_path.name, csv_path.with_suffix(".json").name):
        expected = manifest.get("files", {}).get(name)
        if expected is None or expected != file_sha256(results_dir / name):
            raise ResultsError(
                f"{results_dir / name} does not match the manifest {manifest_path} of its "
                f"result set (sha256 differs); {rerun}"
            )


def load_result(
    name: str,
    results_dir: str | os.PathLike = DEFAULT_RESULTS_DIR,
    *,
    columns: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a cached result and its sidecar, checking that they belong together.

    Parameters
    ----------
    name : str
        The result's name (``results_dir/name.csv``).
    results_dir : path, default "results"
    columns : sequence of str, optional
        Columns the caller needs; a CSV that lacks one is refused.

    Returns
    -------
    (pandas.DataFrame, dict)
        The table and the sidecar (empty for an old CSV written without one).

    Raises
    ------
    FileNotFoundError
        The CSV does not exist.
    ResultsError
        The CSV does not match its sidecar (sha256, columns), ends mid-row, lacks a column
        in ``columns``, lost its sidecar in an interrupted write, or belongs to a result
        set whose write did not finish.
    """
    name = check_name(name)
    results_dir = Path(results_dir)
    csv_path = results_dir / f"{name}.csv"
    if not csv_path.exists():
        raise FileNotFoundError(f"cached result {str(csv_path)!r} does not exist")
    recover(csv_path)
    meta_path = csv_path.with_suffix(".json")
    meta = _read_json(meta_path) if meta_path.exists() else {}
    if meta is None:
        raise ResultsError(f"sidecar {meta_path} is not valid JSON; recompute {csv_path}")
    data = csv_path.read_bytes()
    if "csv_sha256" in meta and hashlib.sha256(data).hexdigest() != meta["csv_sha256"]:
        raise ResultsError(
            f"{csv_path} does not match its sidecar {meta_path} (sha256 differs): it was "
            f"changed, truncated or its write was interrupted; recompute it"
        )
    if data and not data.endswith(b"\n"):
        raise ResultsError(f"{csv_path} ends mid-row (truncated); recompute it")
    if not meta:
        # recover() has already renamed a pending sidecar into place, when there was one.
        warnings.warn(
            f"{csv_path} has no sidecar {meta_path}: how it was made is unknown",
            stacklevel=find_stack_level(),
        )
    _check_set_member(csv_path, meta, results_dir)
    try:
        df = pd.read_csv(csv_path)
    except (ValueError, UnicodeDecodeError) as exc:  # EmptyDataError, ParserError are ValueErrors
        raise ResultsError(f"{csv_path} is not a readable CSV: {exc}") from None
    recorded = meta.get("columns")
    if isinstance(recorded, list) and [str(c) for c in df.columns] != recorded:
        missing = [c for c in recorded if c not in df.columns]
        raise ResultsError(
            f"{csv_path} has columns that differ from its sidecar {meta_path}"
            + (f" (missing {missing})" if missing else "")
            + "; recompute it"
        )
    if columns is not None:
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise ResultsError(f"{csv_path} lacks the columns {missing}; recompute it")
    return df, meta


def load_result_set(
    set_name: str, results_dir: str | os.PathLike = DEFAULT_RESULTS_DIR
) -> dict[str, tuple[pd.DataFrame, dict[str, Any]]]:
    """Read every member of a result set written by :func:`save_result_set`, or refuse.

    Returns
    -------
    dict
        Member name to ``(DataFrame, sidecar)``, in the order they were written.

    Raises
    ------
    FileNotFoundError
        The set's manifest does not exist (never written, or its write did not finish).
    ResultsError
        A member does not match the manifest.
    """
    set_name = check_name(set_name, "set_name")
    manifest_path = _manifest_path(set_name, Path(results_dir))
    manifest = _read_json(manifest_path)
    if manifest is None:
        raise FileNotFoundError(
            f"result set {str(manifest_path)!r} does not exist or its write did not finish; "
            f"compute it first"
        )
    return {m: load_result(m, results_dir) for m in manifest.get("members", [])}


def save_figure(fig, name: str, out_dir: str | os.PathLike = "figures", dpi: int = 130) -> Path:
    """Write a figure as ``out_dir/name.png`` (folder created) and return the path.

    The PNG is written atomically (a kill leaves the old file or the new one), and a file
    that already holds the same bytes is left untouched.
    """
    import io

    out = Path(out_dir) / f"{check_name(name)}.png"
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=dpi, format="png")
    data = buffer.getvalue()
    try:
        if out.read_bytes() == data:
            return out
    except OSError:
        pass
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = write_temporary(out, data)
    try:
        os.replace(tmp, out)
    except BaseException:
        unlink_quietly(tmp)
        raise
    return out
