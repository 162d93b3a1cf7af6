"""Say "compiling kernels (first run only)" when Numba starts compiling, once per process.

Numba compiles a kernel on its first call unless its on-disk cache already holds it (a
later process loads it in well under a second). A first run can thus sit still for 5-16 s
with nothing on screen; this listener prints one line on stderr when the first compile
begins, so that the pause has a reason. A load from the cache fires no compile event and
prints nothing.
"""

from __future__ import annotations

import sys
import threading

_LOCK = threading.Lock()
_STATE = {"installed": False, "announced": False}

MESSAGE = "compiling kernels (first run only; later runs load them from Numba's cache) ..."


def _make_listener():
    from numba.core import event

    class _Notice(event.Listener):
        def on_start(self, event_obj) -> None:
            with _LOCK:
                if _STATE["announced"]:
                    return
                _STATE["announced"] = True
            _say(MESSAGE)

        def on_end(self, event_obj) -> None:
            pass

    return _Notice()


def _say(line: str) -> None:
    """Print ``line`` on stderr above any progress bar being drawn (tqdm.write), else plainly."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        print(line, file=sys.stderr, flush=True)
        return
    tqdm.write(line, file=sys.stderr)
    sys.stderr.flush()


def announce_compiles() -> None:
    """Install the listener (idempotent). Numba is imported here, and only here."""
    with _LOCK:
        if _STATE["installed"]:
            return
        _STATE["installed"] = True
    try:
        from numba.core import event
    except ImportError:  # pragma: no cover - numba is a dependency
        return
    event.register("numba:compile", _make_listener())
