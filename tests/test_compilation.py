"""The kernels' compilation, counted rather than timed (issue 13, goal 3).

What the first run on a fresh machine spends compiling grows with the number of
specialisations numba makes (one per kernel and per set of argument types), so the budget
is a count: a timed assertion would fail on a busy machine and pass a regression on an idle
one.  And `kernels.warm_up` promises that nothing compiles afterwards, in the middle of a
run or of a calibration's worker (where a compilation costs seconds per worker and re-reads
numba's settings, `calibrate._warm`): a run after it must add no specialisation.

The count runs in a fresh interpreter with an empty numba cache: this interpreter may already
hold kernels compiled by other tests, and a kernel loaded from the cache does not compile
the kernels it calls, so only a cold start counts every specialisation the first run pays
for (about 40 s of CPU for the whole module).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Counted on 1 December 2026 with an empty cache: 70 kernels, 57 specialisations after
# `kernels.warm_up`, one per kernel (some kernels are only ever inlined into others and make
# none of their own), with a margin of 10 % for the kernels the model will need.  A kernel
# compiled twice is a fault: a literal constant (a counter started at 0 in a kernel made
# `_pick` and `copy_into` compile for `Literal[int](0)`) or a global array (read-only, which
# made `_admissible` compile again), or `_pick` compiled once per caller before it took its
# constants as arguments (docs/performance.md, "Two faults").
BUDGET = 63
MAX_PER_KERNEL = 1

PROBE = r"""
import importlib, json, pkgutil, sys, tempfile
import purgesim
from numba.core.dispatcher import Dispatcher

kernels = {}
for m in pkgutil.walk_packages(purgesim.__path__, "purgesim."):
    if m.name.endswith("__main__") or ".server" in m.name:
        continue
    mod = importlib.import_module(m.name)
    for k, v in vars(mod).items():
        if isinstance(v, Dispatcher) and v.py_func.__module__ == m.name:
            kernels[f"{m.name}.{k}"] = v

def counts():
    return {k: len(v.overloads) for k, v in kernels.items()}

from purgesim import kernels as K
from purgesim.cli import main
K.warm_up()
after = counts()
new = {}
with tempfile.TemporaryDirectory() as d:
    for i, args in enumerate(sys.argv[1:]):
        sys.argv = ["purgesim", "run", *args.split(), "--out", f"{d}/{i}", "--quiet"]
        try:
            main()
        except SystemExit as e:
            assert not e.code, (args, e.code)
        now = counts()
        new[args] = {k: now[k] - after[k] for k in now if now[k] != after[k]}
print(json.dumps({"after_warm_up": after, "new": new}))
"""

RUNS = ["ussr-1937 --scale 0.003 --seed 2", "france-1793 --seed 2",
        "ussr-1937 --scale 0.003 --seed 3 --check"]


pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def counted(tmp_path_factory: pytest.TempPathFactory) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path_factory.mktemp("numba"))}
    r = subprocess.run([sys.executable, "-c", PROBE, *RUNS], cwd=REPO, capture_output=True,
                       text=True, timeout=1800, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_the_probe_finds_the_kernels(counted: dict) -> None:
    after = counted["after_warm_up"]
    assert len(after) > 50
    # kernels every run calls, in modules the walk must reach
    for name in ("purgesim.population._pick", "purgesim.engine._log_rows",
                 "purgesim.mechanisms.routine._picks"):
        assert after.get(name, 0) >= 1, name


def test_a_run_after_the_warm_up_compiles_nothing(counted: dict) -> None:
    assert counted["new"] == {r: {} for r in RUNS}


def test_the_specialisations_stay_within_their_budget(counted: dict) -> None:
    after = counted["after_warm_up"]
    assert sum(after.values()) <= BUDGET, sum(after.values())
    several = {k: n for k, n in after.items() if n > MAX_PER_KERNEL}
    assert several == {}, "kernels compiled for more than one set of argument types"
