"""Cached results: a small CSV plus a JSON sidecar that says how it was made.

Expensive computations write here once; figure scripts only read. The sidecar
(``NAME.json`` beside ``NAME.csv``) records the parameters, the seed, the package
version, the git commit and the command line, so that every cached number can be
traced back and regenerated.

Writes are atomic (write to a temporary file, then ``os.replace``), so an interrupted
run never leaves a truncated CSV behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from opauc_sim import __version__

DEFAULT_RESULTS_DIR = Path("results")


def git_commit(cwd: str | os.PathLike | None = None) -> str | None:
    """The current commit hash (with ``-dirty`` when the tree has changes), or None."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10
        )
        if head.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


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


def save_result(
    df: pd.DataFrame,
    name: str,
    *,
    params: dict[str, Any],
    seed: Any = None,
    results_dir: str | os.PathLike = DEFAULT_RESULTS_DIR,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``results_dir/name.csv`` and its sidecar ``name.json``; return the CSV path."""
    results_dir = Path(results_dir)
    csv_path = results_dir / f"{name}.csv"
    meta = {
        "name": name,
        "params": _jsonable(params),
        "seed": _jsonable(seed) if not hasattr(seed, "entropy") else repr(seed),
        "opauc_sim_version": __version__,
        "git_commit": git_commit(),
        "command": " ".join(sys.argv),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows": len(df),
    }
    if extra:
        meta.update(_jsonable(extra))
    atomic_write_text(csv_path, df.to_csv(index=False, float_format="%.17g"))
    atomic_write_text(csv_path.with_suffix(".json"), json.dumps(meta, indent=2) + "\n")
    return csv_path


def load_result(
    name: str, results_dir: str | os.PathLike = DEFAULT_RESULTS_DIR
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a cached result and its sidecar. Raises FileNotFoundError naming the missing file."""
    csv_path = Path(results_dir) / f"{name}.csv"
    if not csv_path.exists():
        raise FileNotFoundError(
            f"cached result {str(csv_path)!r} does not exist; compute it first "
            f"(see the README for the 'opauc-sim' command that writes it)"
        )
    meta_path = csv_path.with_suffix(".json")
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
    return pd.read_csv(csv_path), meta


def save_figure(fig, name: str, out_dir: str | os.PathLike = "figures", dpi: int = 130) -> Path:
    """Write a figure script's output as ``out_dir/name.png`` (folder created) and return it."""
    out = Path(out_dir) / f"{name}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi)
    return out
