"""purgesim: an agent-based model of the machine of political purges.

From Python (docs/api.md)::

    import purgesim as ps
    sim = ps.Sim("toy", seed=1).run()
    sim.results.daily, sim.summary, sim.plot(), sim.story("Old Comrade")
    ps.MultiSim("toy", seeds=10).run().summary()
"""

from __future__ import annotations

import hashlib
import os
import types
from pathlib import Path
from typing import Any

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


# ------------------------------------------------------------------------------ the Python API
#: names of the Python API (purgesim.api), imported on first use so that the command line
#: does not pay for pandas and plotly
_API = ("InputError", "MultiSim", "Results", "Run", "Sim", "load_run", "scenarios")
__all__ = ["__version__", "params", *_API]


class _ParamsModule(types.ModuleType):
    """`purgesim.params` is the module of declared parameters, a submodule: as an attribute
    of the package it hides any function of that name.  Calling the module gives the API's
    table, so that ``ps.params("toy")`` works as in the API's documentation."""

    def __call__(self, scenario: Any = "toy", pars: Any = None) -> Any:
        from .api import params

        return params(scenario, pars)


from . import params as _params  # noqa: E402

_params.__class__ = _ParamsModule


def __getattr__(name: str) -> object:
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'purgesim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
