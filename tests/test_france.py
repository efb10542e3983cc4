"""france-1793: the same machine in another revolution, against the French record.

One run (seed 1, the scenario's scale) is checked against the targets the issue sets: total
and Paris death sentences within 15%, the regional shares within 5 points, suspects arrested
between 200,000 and 300,000, the weekly rate of the Paris tribunal after 22 Prairial four to
eight times the rate before, and an unscripted Thermidor within three weeks of 27 July 1794.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

import pytest

from purgesim import scenario
from purgesim.compare import RunData, compare
from purgesim.engine import Sim
from purgesim.results import summary

DOCS = Path(__file__).resolve().parents[1] / "docs" / "gen_france.py"


@pytest.fixture(scope="module")
def france() -> Sim:
    return Sim(scenario.load("france-1793", seed=1)).run()


def test_thermidor_is_endogenous_and_falls_near_27_july_1794(france: Sim) -> None:
    sc = scenario.load("france-1793")
    assert not any("thermidor" in e.label.lower() for e in sc.events)
    assert sc.halt.mode == "coup"
    coup = dt.date.fromisoformat(france.endogenous["thermidor"]["date"])
    assert abs((coup - dt.date(1794, 7, 27)).days) <= 21
    s = summary(france)
    assert s["events"]["thermidor"]["date"] == coup.isoformat()
    assert s["named"]["Robespierre"]["fate"] == "shot"
    assert s["named"]["Robespierre"]["date"] == coup.isoformat()
    assert s["factions"]["Robespierrists"]["shot"] == s["factions"]["Robespierrists"]["size"]


def test_death_sentences_and_arrests_against_the_record(france: Sim) -> None:
    got = {t["id"]: t for t in compare(RunData(sim=france))["targets"]}
    for tid in ("FR-DEATHSENT-TOT", "FR-DEATHSENT-PARIS", "FR-SHARE-WEST", "FR-SHARE-SE",
                "FR-SUSPECTS-ARR"):
        assert got[tid]["within"], (tid, got[tid]["simulated"], got[tid]["record"])
    assert 200_000 <= got["FR-SUSPECTS-ARR"]["simulated"] <= 300_000
    s = summary(france)
    total = sum(r["death_sentences"] for r in s["regions"].values())
    paris_share = 100 * s["regions"]["Paris"]["death_sentences"] / total
    assert abs(paris_share - 16) <= 5


def test_prairial_quickens_the_paris_tribunal_four_to_eight_times(france: Sim) -> None:
    spec = importlib.util.spec_from_file_location("gen_france", DOCS)
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    assert 4.0 <= mod.prairial_ratio(france) <= 8.0


def test_factions_fall_in_the_order_of_history(france: Sim) -> None:
    s = summary(france)
    named = s["named"]
    assert named["Brissot"]["date"] == "1793-10-31"
    assert named["Hebert"]["date"] == "1794-03-24"
    assert named["Danton"]["date"] == "1794-04-05"
    assert named["Danton"]["fate"] == named["Robespierre"]["fate"] == "shot"
    assert s["trials"][0]["label"].startswith("The Girondins")
