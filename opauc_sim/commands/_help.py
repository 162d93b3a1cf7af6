"""Shared help formatting: the module text as written (its reST markup made plain), and
every option's default shown."""

from __future__ import annotations

import argparse
import re

#: ``:mod:`x```, ``:func:`x``` and the like: the role dropped, the name kept.
_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")


def plain(text: str) -> str:
    """``text`` without reST markup: ``:func:`x``` and ````x```` read ``x``."""
    return _ROLE.sub(r"\1", text).replace("``", "")


class PlainHelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keep descriptions and epilogs as written, less their reST markup (``--help`` printed
    ````opauc-sim```` as such)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return super()._fill_text(plain(text), width, indent)

    def _get_help_string(self, action: argparse.Action) -> str:
        return plain(super()._get_help_string(action) or "")


class HelpFormatter(PlainHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """:class:`PlainHelpFormatter`, appending ``(default: X)`` to every option's help.

    Left as it is: an option whose help already states its default, a switch (off unless
    given), and an option whose default is None (its help says what happens without it).
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "%(default)" in text or "default" in text.lower() or action.default is None:
            return plain(text)
        if action.default is argparse.SUPPRESS or isinstance(action.default, bool):
            return plain(text)  # a switch (off unless given), or --help / --version
        return plain(argparse.ArgumentDefaultsHelpFormatter._get_help_string(self, action))
