"""The calibration status of a run or a scenario, in one sentence, from one source.

The source is the calibration files `purgesim/calibration/*.toml` (what `purgesim calibrate`
wrote: the posterior medians and how they were obtained), whose values the scenario files
carry.  A run or scenario is described by which of those values it actually uses, so that a
`--set` override or a scenario of one's own is not called calibrated when it is not.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

CALIBRATION_DIR = Path(__file__).resolve().parent / "calibration"

#: where each calibration is reported and checked against the record over seeds
REPORTS = {"ussr-1937": "docs/calibration.md", "france-1793": "docs/france.md"}


@dataclass(frozen=True)
class Calibration:
    """One calibration file: its scenario, the calibrated values and how they were fitted."""

    scenario: str
    values: dict[str, float]
    result: dict[str, Any]


@cache
def calibrations() -> tuple[Calibration, ...]:
    out = []
    for f in sorted(CALIBRATION_DIR.glob("*.toml")):
        data = tomllib.loads(f.read_text())
        result = data.get("calibration", {}).get("result", {})
        values = {f"{mech}.{k}": v for mech, table in data.items()
                  if mech != "calibration" and isinstance(table, dict)
                  for k, v in table.items() if isinstance(v, (int, float))}
        out.append(Calibration(result.get("scenario", f.stem), values, result))
    return tuple(out)


def _uses(parameters: dict[str, Any], cal: Calibration) -> list[str]:
    """The calibrated values that `parameters` holds unchanged."""
    used = []
    for name, v in cal.values.items():
        w = parameters.get(name)
        if isinstance(w, (int, float)) and not isinstance(w, bool) and \
                math.isclose(float(w), float(v), rel_tol=1e-9, abs_tol=0.0):
            used.append(name)
    return used


def status(scenario: str, parameters: dict[str, Any]) -> str:
    """One sentence: which parameters are calibrated, how, and which were changed here.

    `parameters` maps `mechanism.name` to the value used (summary.json's `parameters`, or a
    scenario's)."""
    best, used = None, []
    for cal in calibrations():
        u = _uses(parameters, cal)
        # its own scenario, or one built on it that keeps at least half its fitted values
        if (cal.scenario == scenario and u) or 2 * len(u) >= len(cal.values) > 0:
            if len(u) > len(used):
                best, used = cal, u
    if best is None:
        return (f"none; {scenario}'s parameters are set by hand in the scenario file "
                "(purgesim/calibration/ holds no calibration of them)")
    r = best.result
    how = "ABC-SMC posterior medians"
    if "simulations" in r and "scale" in r:
        how += f" ({r['simulations']:,} simulations at scale {r['scale']:g}"
        how += f", {str(r['date'])[:10]})" if "date" in r else ")"
    text = (f"{len(used)} of the {len(best.values)} parameters calibrated for {best.scenario} "
            f"are used: {how}, see {REPORTS.get(best.scenario, 'docs/calibration.md')}")
    changed = [n for n in best.values if n not in used]
    if changed:
        text += f"; changed here: {', '.join(changed)}"
    return text + "; the other parameters are set by hand in the scenario file"
