"""purgesim: an agent-based model of the machine of political purges."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

__version__ = "0.1.0"


def _numba_cache_dir() -> None:
    """Keep numba's compiled kernels in a folder keyed by a hash of purgesim's sources.

    Numba's cache notices a change only in the file that defines a kernel, not in the jitted
    functions it calls from other modules (the tie kernel inside the naming kernel), so a
    cache from older sources could run old code.  A folder per version of the sources rules
    that out.  A user's own NUMBA_CACHE_DIR is respected.
    """
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    h = hashlib.sha256()
    root = Path(__file__).parent
    for p in sorted(root.rglob("*.py")):
        h.update(p.relative_to(root).as_posix().encode())
        h.update(p.read_bytes())
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    path = base / "purgesim" / f"numba-{h.hexdigest()[:16]}"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return  # numba falls back to __pycache__
    os.environ["NUMBA_CACHE_DIR"] = str(path)
    try:  # numba imported before purgesim: tell its config too
        import sys

        if "numba" in sys.modules:
            sys.modules["numba"].config.CACHE_DIR = str(path)
    except Exception:  # pragma: no cover - best effort
        pass


_numba_cache_dir()
