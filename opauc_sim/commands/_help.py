"""Shared help formatting: the module text as written, and every option's default shown."""

from __future__ import annotations

import argparse


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keep descriptions as written and append ``(default: X)`` to every option's help.

    Left as it is: an option whose help already states its default, a switch (off unless
    given), and an option whose default is None (its help says what happens without it).
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "%(default)" in text or "default" in text.lower() or action.default is None:
            return text
        if action.default is argparse.SUPPRESS or isinstance(action.default, bool):
            return text  # a switch (off unless given), or --help / --version
        return super()._get_help_string(action)
