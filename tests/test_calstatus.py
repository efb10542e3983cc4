"""The calibration status printed by `run`, `params` and `compare` (purgesim.calstatus).

One source: the calibration files in purgesim/calibration/; a run is called calibrated only
for the calibrated values it actually uses.
"""

from __future__ import annotations

import pytest

from purgesim.calstatus import calibrations, status
from purgesim.mechanisms import MECHANISMS
from purgesim.params import describe
from purgesim.scenario import load


def values(name: str, sets: list[str] | None = None) -> dict:
    sc = load(name, sets or [])
    rows = []
    for key in MECHANISMS:
        rows += describe(sc.mechanism_params(key), key)
    return {r["name"]: r["value"] for r in rows}


@pytest.mark.parametrize("cal", calibrations(), ids=lambda c: c.scenario)
def test_each_calibrated_scenario_uses_every_value_of_its_calibration(cal) -> None:
    """The scenario file carries the calibration file's values: the one source agrees."""
    text = status(cal.scenario, values(cal.scenario))
    n = len(cal.values)
    assert text.startswith(f"{n} of the {n} parameters calibrated for {cal.scenario} are used")
    assert f"{cal.result['simulations']:,} simulations" in text
    assert "changed here" not in text


def test_an_override_is_named_and_not_called_calibrated() -> None:
    text = status("ussr-1937", values("ussr-1937", ["confession.p_work=0.02"]))
    n = len(next(c for c in calibrations() if c.scenario == "ussr-1937").values)
    assert text.startswith(f"{n - 1} of the {n} parameters")
    assert "changed here: confession.p_work;" in text


def test_toy_is_not_calibrated() -> None:
    assert status("toy", values("toy")).startswith("none; toy's parameters are set by hand")
