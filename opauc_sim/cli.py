"""The ``opauc-sim`` command line: a thin dispatcher over ``opauc_sim.commands``."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from collections.abc import Sequence

from opauc_sim import __version__
from opauc_sim._optional import MissingDependencyError

# One module per group of subcommands; each exposes ``register(subparsers)``.
_COMMAND_MODULES: tuple[str, ...] = (
    "opauc_sim.commands.demo",
    "opauc_sim.commands.figures",
    "opauc_sim.commands.check",
    "opauc_sim.commands.train",
    "opauc_sim.commands.false_negatives",
    "opauc_sim.commands.report",
    "opauc_sim.commands.data",
    "opauc_sim.commands.merge",
    "opauc_sim.commands.simulate",
)


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line (the option and the bad value), pointing at ``--help``."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="opauc-sim",
        description="Verify and explore the theory of hard negative sampling (Shi et al. 2023).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def _threads(args: argparse.Namespace):
    """The command's threads, set once here for Numba, BLAS and torch
    (:func:`opauc_sim._threads.limit_threads`); ``args.threads`` becomes the count."""
    import contextlib

    if not hasattr(args, "threads"):
        return contextlib.nullcontext()
    from opauc_sim._threads import check_threads, default_threads, limit_threads

    n = default_threads() if args.threads is None else check_threads(args.threads, "--threads")
    args.threads = n
    device = str(getattr(args, "device", "") or "")
    uses_torch = getattr(args, "backend", None) == "torch" or device.startswith("cuda")
    return limit_threads(n, torch=uses_torch and importlib.util.find_spec("torch") is not None)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    from opauc_sim._compile_notice import announce_compiles
    from opauc_sim._provenance import forget_tree_state, record_tree_state

    record_tree_state()  # provenance: the tree as it was before this run wrote anything
    announce_compiles()
    try:
        with _threads(args):
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        # Ctrl-C: every file is whole (written atomically), so no traceback; the command's
        # own hint says what a rerun does (a sweep resumes).
        if os.environ.get("OPAUC_SIM_DEBUG"):
            raise
        hint = getattr(args, "on_interrupt", None) or "every file written is whole; rerun it"
        print(f"opauc-sim {args.command}: interrupted; {hint}", file=sys.stderr)
        return 130
    except SystemError as exc:
        # Numba reports a failed allocation inside a kernel as a SystemError caused by a
        # MemoryError; anything else is a bug and keeps its traceback.
        if not isinstance(exc.__cause__, MemoryError) or os.environ.get("OPAUC_SIM_DEBUG"):
            raise
        print(
            f"opauc-sim {args.command}: error: out of memory in a kernel; reduce the sizes",
            file=sys.stderr,
        )
        return 2
    except (ValueError, TypeError, OSError, MemoryError, MissingDependencyError) as exc:
        # Bad input is reported as the library words it (argument and value), without a
        # traceback; set OPAUC_SIM_DEBUG=1 to see where it came from. OSError covers a
        # file or folder that cannot be read or written (the path is in the message);
        # MemoryError is a last resort, as sizes are checked against memory up front;
        # MissingDependencyError names the extra to install (matplotlib for a figure).
        if os.environ.get("OPAUC_SIM_DEBUG"):
            raise
        message = " ".join(str(exc).split()) or type(exc).__name__
        if isinstance(exc, MemoryError):
            message = f"out of memory ({message}); reduce the sizes"
        print(f"opauc-sim {args.command}: error: {message}", file=sys.stderr)
        return 2
    finally:
        forget_tree_state()


if __name__ == "__main__":
    raise SystemExit(main())
