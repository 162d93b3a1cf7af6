"""The ``opauc-sim`` command line: a thin dispatcher over ``opauc_sim.commands``."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence

from opauc_sim import __version__

# One module per group of subcommands; each exposes ``register(subparsers)``.
_COMMAND_MODULES: tuple[str, ...] = (
    "opauc_sim.commands.figures",
    "opauc_sim.commands.check",
    "opauc_sim.commands.simulate",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="opauc-sim",
        description="Verify and explore the theory of hard negative sampling (Shi et al. 2023).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
