"""One way to run: a scenario and its options in, a finished `Sim` out.

The command line (`run`, `compare-terrors`), the server's jobs, the Python API, the
experiment, calibration, sensitivity and scale-invariance drivers all run the model through
`simulate`, and write run folders through `write`, so that a run means the same thing
everywhere: load the scenario (with its ``--set`` overrides, scale and seed), build the
society, run every day (a stop signal is honoured between days), and time the days.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .scenario import Scenario, load

if TYPE_CHECKING:
    from .engine import Sim


def simulate(scenario: str | Scenario, *, sets: Iterable[str] = (),
             scale: float | None = None, seed: int | None = None, check: bool = False,
             progress: Callable[[int, int], None] | None = None,
             trace: bool = False) -> Sim:
    """Run `scenario` (a built-in name, a .toml path, or a validated `Scenario`) to its end.

    `sets`, `scale` and `seed` are applied as `scenario.load` applies them (its messages on
    a bad value); they apply to a name only: a `Scenario` is already complete.  `check`
    verifies the invariants every day; `progress(days_done, n_days)` is called after each
    day; `trace` records every random draw in ``sim.trace`` (the common-random-numbers
    tests).  The run's time is in ``sim.run_seconds``."""
    from .engine import Sim

    if isinstance(scenario, Scenario):
        if tuple(sets) or scale is not None or seed is not None:
            raise TypeError("sets, scale and seed apply to a scenario name; a Scenario is "
                            "already complete")
        sc = scenario
    else:
        sc = load(scenario, list(sets), scale=scale, seed=seed)
    sim = Sim(sc, check=check, progress=progress)
    if trace:
        sim.trace = []
    return sim.run()


def write(sim: Sim, out: Path, *, force: bool = False, seconds: float | None = None,
          check: Callable[[], None] | None = None,
          report: Callable[[Path, str], None] | None = None) -> dict[str, Any]:
    """Write the run folder of a finished run (`results.write_run`); its timing.json gives
    the run's own time unless `seconds` says otherwise.  Returns the summary."""
    from .results import write_run

    return write_run(sim, out, sim.run_seconds if seconds is None else seconds, force=force,
                     check=check, report=report)
