"""Provenance: which code wrote a result, asked of the package's own checkout only.

A sidecar records the commit of the code that computed it. That is the commit of the
checkout opauc-sim runs from (an editable install or ``python -m opauc_sim`` in a clone),
never of the current folder: the current folder may be any repository, whose
``.git/config`` can run programs (``core.fsmonitor``) and whose commit says nothing about
the code that ran. git is asked with every hook that ``rev-parse`` and ``status`` could
run turned off (``core.fsmonitor=false``), without optional locks (it writes nothing), with
the environment's ``GIT_DIR`` and the like removed, and under git's own ownership rules
(``safe.directory``: a checkout owned by another user is not read). An installed wheel has
no checkout: its sidecars record the version alone (``git_commit`` is None).

The command line calls :func:`record_tree_state` once, before a command computes anything
(and :func:`forget_tree_state` when it ends), so that every sidecar the command writes
records the tree the run started from, not "-dirty" caused by the run's own writes.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

__all__ = [
    "forget_tree_state",
    "git_commit",
    "package_checkout",
    "provenance_commit",
    "record_tree_state",
]

#: The tree state recorded by :func:`record_tree_state` when a command started.
_TREE_STATE: dict[str, str | None] = {}
#: Environment variables that would point git at another repository or index.
_GIT_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_CONFIG",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
)


def package_checkout() -> Path | None:
    """The git checkout this package runs from (the folder above ``opauc_sim/``), or None."""
    root = Path(__file__).resolve().parent.parent
    if (root / ".git").exists() and (root / "pyproject.toml").is_file():
        return root
    return None


def _git(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in _GIT_ENV}
    env.update(
        GIT_OPTIONAL_LOCKS="0",
        GIT_TERMINAL_PROMPT="0",
        GIT_CEILING_DIRECTORIES=str(root.parent),
    )
    cmd = ["git", "-C", str(root), "-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null"]
    return subprocess.run(
        [*cmd, *args], capture_output=True, text=True, timeout=10, env=env, stdin=subprocess.DEVNULL
    )


def git_commit(root: str | os.PathLike | None = None) -> str | None:
    """The commit of the package's checkout (``-dirty`` when tracked files changed), or None.

    Parameters
    ----------
    root : path, optional
        The checkout to ask (default: :func:`package_checkout`). The current folder is
        never asked.
    """
    where = package_checkout() if root is None else Path(root)
    if where is None:
        return None
    try:
        head = _git(where, "rev-parse", "--verify", "HEAD")
        if head.returncode != 0:
            return None
        dirty = _git(where, "status", "--porcelain", "--untracked-files=no")
        if dirty.returncode != 0:
            return None
        return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def record_tree_state() -> str | None:
    """Record the commit and ``-dirty`` flag of the package's checkout *now*."""
    _TREE_STATE["commit"] = git_commit()
    return _TREE_STATE["commit"]


def forget_tree_state() -> None:
    """Back to asking git at each write (library use outside a command)."""
    _TREE_STATE.clear()


def provenance_commit() -> str | None:
    """The commit a sidecar records: the one recorded at the command's start, else now."""
    return _TREE_STATE["commit"] if "commit" in _TREE_STATE else git_commit()
