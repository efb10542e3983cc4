"""Shared helpers for the purgesim test suite.

Small scenarios only: the built-in `toy` (a few thousand people, one year) and variants of it
written to a temporary folder with `base = "toy"` plus overrides, or made with `--set`-style
overrides through `load_scenario`.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def _numba_cache_dir() -> str:
    """A numba cache folder keyed by the content of every purgesim source file.

    numba's `cache=True` only notices changes to the file that defines a kernel, not to the
    kernels it calls from other modules (population.sample_ties inlines
    population.ties_of): a stale cache silently runs old code.  Tests therefore compile into
    a folder of their own per version of the sources (and the CLI subprocesses inherit it)."""
    h = hashlib.sha256()
    for f in sorted((REPO / "purgesim").rglob("*.py")):
        h.update(f.relative_to(REPO).as_posix().encode())
        h.update(f.read_bytes())
    return os.path.join(tempfile.gettempdir(), f"purgesim-numba-{h.hexdigest()[:16]}")


os.environ.setdefault("NUMBA_CACHE_DIR", _numba_cache_dir())

from purgesim.codes import Event, State  # noqa: E402
from purgesim.engine import PLAN, Sim  # noqa: E402
from purgesim.scenario import Scenario, load  # noqa: E402

#: every mechanism that produces its own arrests or suspicions
ACTIVE_MECHANISMS = ("orders", "quotas", "routine", "denunciation", "vigilance", "confession",
                     "purgers", "association", "police_purge", "army")

#: events that change a person's state (the others, NAMED, DENOUNCED, PROMOTED and
#: CHIEF_REPLACED, are about a person without moving him)
STATE_EVENTS = (Event.SUSPECTED, Event.ARRESTED, Event.CONFESSED, Event.INVESTIGATION_CLOSED,
                Event.SHOT, Event.CAMP, Event.EXILE, Event.RELEASED, Event.DIED, Event.DROPPED,
                Event.DISMISSED, Event.REINSTATED)
SENTENCES = (Event.SHOT, Event.CAMP, Event.EXILE)
AT_LARGE = (State.FREE, State.RELEASED, State.EXILE, State.DISMISSED)


# ------------------------------------------------------------------------------ scenarios


def write_scenario(tmp_path: Path, body: str, name: str = "variant", base: str = "toy") -> Path:
    """Write a scenario file `base = BASE` + `body` and return its path."""
    path = tmp_path / f"{name}.toml"
    path.write_text(f'base = "{base}"\n{body}\n')
    return path


def load_scenario(name_or_path: str | Path = "toy", sets: Iterable[str] = (),
                  **kw: object) -> Scenario:
    return load(str(name_or_path), sets=list(sets), **kw)  # type: ignore[arg-type]


def only(*keep: str) -> list[str]:
    """`--set` overrides switching off every active mechanism except `keep`."""
    return [f"{m}.enabled=false" for m in ACTIVE_MECHANISMS if m not in keep]


def run_sim(scenario: str | Path | Scenario = "toy", sets: Iterable[str] = (),
            check: bool = True, hooks: dict[tuple[str, str], Callable[[Sim, int], None]]
            | None = None) -> Sim:
    """Run a scenario to the end (invariants checked every day unless check=False).

    `hooks` maps a phase of the plan, (mechanism, method), to a function called just before
    that phase each day, to observe the state the phase sees."""
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario, sets)
    sim = Sim(sc, check=check)
    for (mech, meth), fn in (hooks or {}).items():
        k = next(i for i, (_, m, f) in enumerate(PLAN) if (m, f) == (mech, meth))
        inner = sim._steps[k]

        def wrapped(day: int, inner: Callable[[int], None] = inner,
                    fn: Callable[[Sim, int], None] = fn) -> None:
            fn(sim, day)
            inner(day)

        sim._steps[k] = wrapped
    return sim.run()


# ------------------------------------------------------------------------------ the event log


def log_of(sim: Sim, event: Event | Iterable[Event] | None = None,
           cause: int | Iterable[int] | None = None) -> np.ndarray:
    """Rows of the event log, optionally only some events and causes (log order kept)."""
    log = sim.log.rows
    keep = np.ones(log.size, dtype=bool)
    if event is not None:
        evs = [int(event)] if isinstance(event, int) else [int(e) for e in event]
        keep &= np.isin(log["event"], evs)
    if cause is not None:
        cs = [int(cause)] if isinstance(cause, int) else [int(c) for c in cause]
        keep &= np.isin(log["cause"], cs)
    return log[keep]


Row = tuple[int, int, int, int, int]  # (day, event, cause, by, operation)


def per_person(rows: np.ndarray) -> dict[int, list[Row]]:
    """person -> [(day, event, cause, by, operation), ...] in log order."""
    out: dict[int, list[Row]] = {}
    for p, d, e, c, b, o in zip(rows["person"].tolist(), rows["day"].tolist(),
                                rows["event"].tolist(), rows["cause"].tolist(),
                                rows["by"].tolist(), rows["op"].tolist()):
        out.setdefault(p, []).append((d, e, c, b, o))
    return out


def ties_set(sim: Sim, i: int) -> set[int]:
    ids, _ = sim.pop.ties(int(i))
    return set(ids.tolist())


# ------------------------------------------------------------------------------ the CLI


def cli_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["COLUMNS"] = "250"  # wide tables: names are not folded
    env.pop("FORCE_COLOR", None)
    env.update(extra)
    return env


def run_cli(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m purgesim ARGS` in a subprocess."""
    return subprocess.run([sys.executable, "-m", "purgesim", *args], cwd=cwd, env=cli_env(**env),
                          capture_output=True, text=True, timeout=300)


def run_cli_many(jobs: dict[str, tuple[list[str], Path, dict[str, str]]],
                 workers: int = 4) -> dict[str, subprocess.CompletedProcess[str]]:
    """Several `python -m purgesim` commands at once: {key: (args, cwd, env)} -> results.

    Each subprocess spends most of its time importing; running a few side by side keeps the
    CLI tests fast."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {k: pool.submit(run_cli, *args, cwd=cwd, **env)
                   for k, (args, cwd, env) in jobs.items()}
        return {k: f.result() for k, f in futures.items()}


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="session")
def toy_sim() -> Sim:
    """The toy scenario as shipped, run once with the invariants checked every day."""
    return run_sim("toy")


@pytest.fixture(scope="session")
def toy_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run folder of the toy scenario, written by the CLI."""
    cwd = tmp_path_factory.mktemp("toy-run")
    res = run_cli("run", "toy", "--out", "run", "--quiet", cwd=cwd)
    assert res.returncode == 0, res.stderr
    return cwd / "run"


def cli_main(*args: str) -> tuple[int, str]:
    """`purgesim ARGS` in this process: (exit code, stderr)."""
    err = io.StringIO()
    code = 0
    with mock.patch.object(sys, "argv", ["purgesim", *args]), \
            contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            from purgesim import cli

            cli.main()
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
    return code, err.getvalue()


def subordinates_named_beyond_the_ring(pop, first_head: int, days: int,
                                       p_work: float = 0.02) -> tuple[int, int]:
    """The chiefs from head `first_head` on whose direct subordinates outnumber a workplace,
    and how many subordinates outside their unit ring they named over `days` days with
    workplace probability `p_work` (population.sample_ties): (chiefs, named).  The rule that
    a chief's subordinates weigh as one workplace expects days x chiefs x (W-1) x p_work."""
    from purgesim.population import _subordinates_listed, sample_ties

    H, W = pop.hsize, int(pop.geo[2])
    n_sub = np.array([_subordinates_listed(g * H, pop.geo, pop.e_unit, pop.unit_lo,
                                           pop.unit_hi, pop.sub_lo, pop.sub_ids)
                      for g in range(first_head, pop.n_heads)])
    chiefs = (first_head + np.flatnonzero(n_sub > W)) * H
    p_kind = np.array([0.0, p_work, 0.0, 0.0])
    total = 0
    for day in range(days):
        got, by, _ = sample_ties(chiefs, np.ones(chiefs.size), p_kind, 1.0, 3, day, 11,
                                 pop.geo, pop.region_start, pop.key_work, pop.key_acq,
                                 pop.e_superior, pop.e_unit, pop.unit_lo, pop.unit_hi,
                                 pop.sub_lo, pop.sub_ids)
        g, x = by // H, got // H
        u = pop.e_unit[g]
        size = pop.unit_hi[u] - pop.unit_lo[u]
        dd = (x - g) % size
        ring = (pop.e_unit[x] == u) & ((dd <= W // 2) | (size - dd <= W // 2))
        total += int(((pop.e_superior[x] == g) & ~ring).sum())  # beyond the unit ring
    return int(chiefs.size), total
