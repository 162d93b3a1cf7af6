"""Up-front cost estimates: refuse work that cannot fit in memory, announce work that is long.

Estimates are deliberately simple sums over the large arrays a computation allocates, and
per-unit times measured on this project's machine (see the constants in
:mod:`opauc_sim.correlation`). They are meant to be right within a factor of about two: good
enough to refuse 60 GB on a 16 GB machine, or to say "about 3 days" before starting.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

#: Announce (on stderr, even under --quiet) work estimated to take longer than this.
ANNOUNCE_SECONDS = 600.0


class ResourceError(ValueError):
    """A computation that would need more memory than the machine has (or can address)."""


@dataclass(frozen=True)
class Cost:
    """An estimate: peak memory in bytes and wall-clock seconds (one line says for what)."""

    bytes: float
    seconds: float
    what: str = ""

    def __add__(self, other: Cost) -> Cost:
        what = " plus ".join(w for w in (self.what, other.what) if w)
        return Cost(max(self.bytes, other.bytes), self.seconds + other.seconds, what)


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (``MemAvailable``), or None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def format_bytes(n: float) -> str:
    """``1536`` -> ``'1.5 KiB'``."""
    if not math.isfinite(n):
        return "unbounded"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.3g} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.3g} PiB"  # pragma: no cover


def format_seconds(s: float) -> str:
    """``27720`` -> ``'7.7 h'``; ``665000`` -> ``'7.7 days'``."""
    if not math.isfinite(s):
        return "unbounded"
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    if s < 2 * 86400:
        return f"{s / 3600:.1f} h"
    if s < 2 * 365 * 86400:
        return f"{s / 86400:.1f} days"
    return f"{s / (365 * 86400):.3g} years"


def check_memory(cost: Cost, available: int | None = None) -> None:
    """Raise :class:`ResourceError` when ``cost`` needs more memory than is available.

    Parameters
    ----------
    cost : Cost
    available : int, optional
        Bytes available (default: :func:`available_memory`; no check when unknown).
    """
    available = available_memory() if available is None else available
    if available is None or cost.bytes <= available:
        return
    raise ResourceError(
        f"{cost.what} would need about {format_bytes(cost.bytes)} of memory, more than the "
        f"{format_bytes(available)} available; reduce the sizes"
    )


def announce(cost: Cost, prog: str, *, threshold: float = ANNOUNCE_SECONDS) -> str | None:
    """The line to print before work estimated to take longer than ``threshold`` seconds."""
    if cost.seconds <= threshold:
        return None
    return (
        f"{prog}: note: this will take about {format_seconds(cost.seconds)} "
        f"(estimated: {cost.what}); press Ctrl-C to stop"
    )
