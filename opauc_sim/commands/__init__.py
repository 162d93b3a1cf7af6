"""Subcommands of the ``opauc-sim`` command line.

Each module here defines ``register(subparsers)``, which adds one or more subcommands and
sets ``func`` on them. Modules import their heavy dependencies (numba kernels, torch)
inside the command function, so that ``opauc-sim --help`` stays fast.
"""
