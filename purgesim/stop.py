"""How a command stops: Ctrl-C and SIGTERM become exceptions, and are never lost.

The signals stop a command as exceptions (KeyboardInterrupt, SystemExit 128 + signal), so
that a run folder being written is removed (results.write_run) and workers are shut down.
Each signal is also remembered: a library that swallows the exception (numba, compiling a
kernel during a user's first run, reports it as "ignored" and goes on) cannot make the
command go on, because every simulated day (engine.Sim.run) and the moment before a run
folder is put in place call `check`, which raises it again.
"""

from __future__ import annotations

import signal
import sys
from typing import Any

#: stop signals received, in order
RECEIVED: list[int] = []


def handler(signum: int, frame: object = None) -> None:
    if signum not in RECEIVED:
        RECEIVED.append(signum)
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise SystemExit(128 + signum)


def check() -> None:
    """Raise again a stop signal received earlier (cheap when there is none)."""
    if RECEIVED:
        handler(RECEIVED[0])


def exit_code() -> int:
    return 128 + RECEIVED[0]


def _quiet_unraisable(u: Any) -> None:
    """After a stop, errors Python can only report (raised in a library's callback or
    finaliser, such as llvmlite's while numba compiles) are not printed."""
    if not RECEIVED:
        sys.__unraisablehook__(u)


def install() -> None:
    """Handle SIGINT and SIGTERM this way (from the main thread)."""
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    sys.unraisablehook = _quiet_unraisable
