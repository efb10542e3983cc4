"""The compiled kernels: whether they are cached, and compiling them before a first run.

purgesim's kernels are numba functions compiled on first use and cached on disk in a folder
keyed by the sources (`purgesim._numba_cache_dir`).  On a fresh machine the first run spends
about 10 s compiling (docs/performance.md, "First run"); `purgesim run` says so in its
progress display instead of sitting silent, by compiling them first with a small run of the
`toy` scenario, which calls every kernel a run of any scenario calls, with the same types.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def njit(*args: Any, **options: Any) -> Any:
    """``numba.njit`` as purgesim's kernels are compiled: without the C-callable wrapper
    that numba otherwise compiles beside every kernel (for passing a kernel as a first-class
    function value or a C function pointer, which purgesim never does): about 0.7 CPU s
    less on a fresh machine (docs/performance.md).  The rest as ``numba.njit``."""
    from numba import njit as numba_njit

    options.setdefault("no_cfunc_wrapper", True)
    return numba_njit(*args, **options)


def cache_dir() -> Path | None:
    """Numba's cache folder, if one is set (purgesim sets one unless the user did)."""
    d = os.environ.get("NUMBA_CACHE_DIR")
    return Path(d) if d else None


def cold() -> bool:
    """True when the cache holds no compiled kernel: this run compiles them.  Unknown (no
    cache folder set) counts as warm: say nothing rather than something wrong."""
    d = cache_dir()
    if d is None:
        return False
    try:
        return not any(d.rglob("*.nbi"))
    except OSError:
        return False


#: the young generation's threshold of Python's garbage collector while the kernels compile
#: (the default is 700 allocations)
COMPILE_GC_THRESHOLD = 30_000


def warm_up() -> None:
    """Compile (or load) the kernels of a run, its summary and its tables, with `toy`.

    Numba's compiler allocates millions of small objects (IR, types, llvmlite values), so
    with the default threshold Python's collector walks the young generations thousands of
    times; a larger young generation while compiling saves about 1 CPU second of 10 on a
    fresh machine, for about 10 MB more at the peak (docs/performance.md).  The threshold
    is put back afterwards."""
    import gc

    from .results import daily_table, events_table, people_table, summary
    from .runner import simulate

    before = gc.get_threshold()
    gc.set_threshold(max(before[0], COMPILE_GC_THRESHOLD), *before[1:])
    try:
        sim = simulate("toy", seed=1)
        summary(sim)
        daily_table(sim)
        events_table(sim)
        _rare_paths(sim)
        people_table(sim)
    finally:
        gc.set_threshold(*before)


def _rare_paths(sim: object) -> None:
    """Kernels that a run reaches only on rare paths, which `toy` may never take, called once
    with the types of a run: the officers who let a mass person's accusation go (vigilance);
    the ties of the deputies who may plot a coup (halt, france-1793).  Compiled here, they
    are never compiled in the middle of a run, or of a calibration's worker (a compilation
    there re-reads numba's settings from the environment; tests/test_compilation.py)."""
    import numpy as np

    from .mechanisms.vigilance import pick_officers
    from .population import ties_many

    vig = sim.mechs["vigilance"]  # type: ignore[attr-defined]
    pop = sim.pop  # type: ignore[attr-defined]
    pick_officers(0, 1, 1, 0, 0, 0, vig.officers, vig.region_lo, vig.region_hi, pop.state)
    ties_many(np.zeros(1, dtype=np.int64), pop.geo, pop.region_start, pop.key_work,
              pop.key_acq, pop.e_superior, pop.e_unit, pop.unit_lo, pop.unit_hi, pop.sub_lo,
              pop.sub_ids)
