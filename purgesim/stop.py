"""How a command stops: Ctrl-C and SIGTERM become exceptions, and are never lost.

The signals stop a command as exceptions (KeyboardInterrupt, SystemExit 128 + signal), so
that a run folder being written is removed (results.write_run) and workers are shut down.
Each signal is also remembered: a library that swallows the exception (numba, compiling a
kernel during a user's first run, reports it as "ignored" and goes on) cannot make the
command go on, because every simulated day (engine.Sim.run) and the moment before a run
folder is put in place call `check`, which raises it again.

A command that stops exits 128 + signal (130 for Ctrl-C), never by dying of the signal:
`exit_code` also clears CPython's record of a KeyboardInterrupt raised inside code run by
exec() or eval() of a string (numba runs ~250 such strings while it compiles the kernels of a
first run).  CPython (3.11 at least) keeps that record even when the exception is caught
later, and at exit kills the process with SIGINT instead of exiting with the code given to
sys.exit: a parent then saw -2, not 130.
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
    """The exit code of a stopped command (128 + the first stop signal).

    Called on every way out of a stopped command (cli.main), it also forgets a
    KeyboardInterrupt that escaped code run by exec() of a string (see above): exec() of a
    string resets CPython's flag of an unhandled KeyboardInterrupt (run_eval_code_obj), which
    would otherwise make the interpreter kill itself with SIGINT at exit."""
    exec("None")  # resets _Py_UnhandledKeyboardInterrupt; runs nothing
    return 128 + RECEIVED[0]


def _quiet_unraisable(u: Any) -> None:
    """After a stop, errors Python can only report (raised in a library's callback or
    finaliser, such as llvmlite's while numba compiles) are not printed."""
    if not RECEIVED:
        sys.__unraisablehook__(u)


def install() -> None:
    """Handle SIGINT and SIGTERM this way (from the main thread).

    SIGTERM last: once a process catches SIGTERM (the SigCgt mask of /proc/PID/status, which
    tests watch) both handlers are in place."""
    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    sys.unraisablehook = _quiet_unraisable
