"""The calibrated defaults of `ussr-1937`: the shipped scenario holds the calibrated values,
and runs at scale 0.01 meet each criterion of the acceptance list in at least 8 of 10 seeds
(acceptance is a share of seeds, not seed 1; docs/calibration.md adds seed 1 at scale 1).

Criteria the calibrated model does not meet that often are marked xfail(strict=True) with the
reason, so that the day they are met the test says so (see docs/calibration.md)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from purgesim.calibrate import ACCEPTANCE, acceptance
from purgesim.compare import RunData
from purgesim.engine import Sim
from purgesim.scenario import load

SCALE = 0.01
SEEDS = range(1, 11)  # docs/gen_calibration.py uses the same
GOAL = 8  # seeds of 10 that must meet each criterion
CALIBRATION = Path(__file__).resolve().parents[1] / "purgesim" / "calibration" / "ussr-1937.toml"

#: criteria the calibrated model meets in fewer than 8 of 10 seeds at scale 0.01: id -> why
MISSED: dict[str, str] = {
    "SU-447-SHOT-FINAL": "context row (contested: 350,000-445,000), checked but never fitted: "
                         "the model sentences 222,000-267,000 of Order 00447's cases to death "
                         "(range over seeds 1-10, after the refit of issues 15-16); the cases "
                         "held for further investigation (trials.p_held) reach the courts only "
                         "after the halt, mostly to camp, and the category-1 limit raised late "
                         "in 1938 is not used up by the halt",
    "SU-447-CONV-FINAL": "met in 1 of 10 seeds (559,000-654,000 against 767,396 +-15%): "
                         "absorbed bottom-up arrests go to the national operations first, "
                         "and the Polish operation ends too large (next row) while Order "
                         "00447 ends short",
    "SU-NAT-POL-SHOT": "met in 7 of 10 seeds after the refit of issues 15-16 (102,000-144,000 "
                       "against 111,091 +-20%; 9 of 10 before it): the seeds whose Polish "
                       "operation absorbs many bottom-up arrests overshoot",
}


@pytest.fixture(scope="module")
def results() -> list[dict[str, dict]]:
    out = []
    for seed in SEEDS:
        sim = Sim(load("ussr-1937", scale=SCALE, seed=seed)).run()
        out.append({r["id"]: r for r in acceptance(RunData(sim=sim))})
    return out


def test_scenario_holds_the_calibrated_values() -> None:
    cal = tomllib.loads(CALIBRATION.read_text())
    sc = load("ussr-1937")
    fitted = [(m, k, v) for m, t in cal.items() if m not in ("calibration",)
              and isinstance(t, dict) for k, v in t.items()]
    assert fitted
    for mech, name, value in fitted:
        assert getattr(sc.mechanism_params(mech), name) == pytest.approx(value), (mech, name)
    result = cal["calibration"]["result"]
    assert result["command"].startswith("purgesim calibrate ussr-1937")
    assert result["simulations"] >= 1 and result["final_epsilon"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("rid", [
    pytest.param(rid, marks=pytest.mark.xfail(strict=True, reason=MISSED[rid]))
    if rid in MISSED else rid
    for rid, _ in ACCEPTANCE])
def test_acceptance(results: list[dict[str, dict]], rid: str) -> None:
    runs = [r[rid] for r in results]
    met = sum(r["met"] for r in runs)
    sims = ", ".join(f"{r['simulated']:,.0f}" for r in runs)
    assert met >= GOAL, (f"{rid}: met in {met} of {len(runs)} seeds; record "
                         f"{runs[0]['record']:,.0f}, simulated {sims}; tolerance "
                         f"{runs[0]['tolerance']}")
