"""france-1793: the same machine in another revolution, against the French record.

Acceptance is a share of seeds: ten runs at the scenario's scale (seeds 1-10).  Each French
target of the record (all fitted by the calibration) is met in at least 8 of 10 seeds, or is
an expected failure (strict) with its cause; the deputies' coup (Thermidor) is never scripted
and never fitted: where it falls, and how much the Law of 22 Prairial quickens the Paris
tribunal, are predictions, checked here as shares of seeds too (docs/france.md).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

import pytest

from purgesim import scenario
from purgesim.compare import TARGETS, RunData, compare
from purgesim.engine import Sim
from purgesim.results import summary

DOCS = Path(__file__).resolve().parents[1] / "docs" / "gen_france.py"
SEEDS = range(1, 11)
GOAL = 8

#: French targets met in fewer than 8 of 10 seeds: id -> why (docs/france.md)
_PARIS_MONTHS = ("the Paris tribunal sentences fewer than the record in the Great Terror "
                 "(measured); probable cause, not yet verified: the Law of 22 Prairial "
                 "changes the verdicts of the cases the courts hear, not how many cases "
                 "reach the Paris tribunal (arrests in the capital)")
MISSED: dict[str, str] = {
    "FR-PARIS-GREAT-TERROR": "0 of 10 (700-910 against 1,302-1,376): " + _PARIS_MONTHS,
    "FR-PARIS-FLOREAL": "0 of 10 (114-148 against 354): the spring 1794 acceleration before "
                        "22 Prairial is missed (probable cause, not verified: nothing in the "
                        "scenario raises the capital's arrests in Floreal)",
    "FR-PARIS-PRAIRIAL": "5 of 10 (224-390 against 509 +-35%): " + _PARIS_MONTHS,
    "FR-PARIS-THERMIDOR1-9": "0 of 10 (0-153 against 342): the coup comes on 18 or 25 July in "
                             "the model, so the nine days of Thermidor before it are cut short",
}
#: predictions met in fewer than 8 of 10 seeds: name -> why
MISSED_PREDICTIONS: dict[str, str] = {}

FRENCH = [t.id for t in TARGETS if t.id.startswith("FR-")]


def _gen_france():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_france", DOCS)
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def runs() -> list[dict]:
    out = []
    ratio = _gen_france().prairial_ratio
    for seed in SEEDS:
        sim = Sim(scenario.load("france-1793", seed=seed)).run()
        out.append({"sim": sim, "summary": summary(sim, cascade=False),
                    "targets": {t["id"]: t for t in compare(RunData(sim=sim))["targets"]},
                    "ratio": ratio(sim)})
    return out


def test_thermidor_is_not_scripted() -> None:
    sc = scenario.load("france-1793")
    assert not any("thermidor" in e.label.lower() for e in sc.events)
    assert sc.halt.mode == "coup"


@pytest.mark.slow
@pytest.mark.parametrize("tid", [
    pytest.param(t, marks=pytest.mark.xfail(strict=True, reason=MISSED[t])) if t in MISSED
    else t for t in FRENCH])
def test_french_target_met_in_most_seeds(runs: list[dict], tid: str) -> None:
    got = [r["targets"][tid] for r in runs]
    met = sum(g["within"] for g in got)
    assert met >= GOAL, (tid, met, [round(g["simulated"]) for g in got], got[0]["record"])


def _coup_near(r: dict) -> bool:
    ev = r["summary"]["events"].get("thermidor")
    if not ev:
        return False
    return abs((dt.date.fromisoformat(ev["date"]) - dt.date(1794, 7, 27)).days) <= 21


PREDICTIONS = {
    "thermidor within three weeks of 27 July 1794": _coup_near,
    "22 Prairial quickens the Paris tribunal four to eight times":
        lambda r: 4.0 <= r["ratio"] <= 8.0,
}


@pytest.mark.slow
@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=MISSED_PREDICTIONS[n]))
    if n in MISSED_PREDICTIONS else n for n in PREDICTIONS])
def test_prediction_holds_in_most_seeds(runs: list[dict], name: str) -> None:
    met = sum(PREDICTIONS[name](r) for r in runs)
    assert met >= GOAL, (name, met)


@pytest.mark.slow
def test_a_coup_overthrows_the_robespierrists(runs: list[dict]) -> None:
    """Where the coup comes, Robespierre is shot on its day and his whole faction with him."""
    coups = [r for r in runs if r["summary"]["events"].get("thermidor")]
    assert coups
    for r in coups:
        s = r["summary"]
        day = s["events"]["thermidor"]["date"]
        assert s["named"]["Robespierre"]["fate"] == "shot"
        assert s["named"]["Robespierre"]["date"] == day
        assert s["factions"]["Robespierrists"]["shot"] == s["factions"]["Robespierrists"]["size"]


@pytest.mark.slow
def test_factions_fall_in_the_order_of_history(runs: list[dict]) -> None:
    s = runs[0]["summary"]
    named = s["named"]
    assert named["Brissot"]["date"] == "1793-10-31"
    assert named["Hebert"]["date"] == "1794-03-24"
    assert named["Danton"]["date"] == "1794-04-05"
    assert named["Danton"]["fate"] == named["Robespierre"]["fate"] == "shot"
    assert s["trials"][0]["label"].startswith("The Girondins")
