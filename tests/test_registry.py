"""The mechanism registry: the day's plan and the scenario's tables are built from what each
mechanism module declares (`SPEC`), so these tests pin what the declarations must give and
check that a declaration tells the truth about its module."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

from purgesim import mechanisms
from purgesim.codes import AT_LARGE, State
from purgesim.engine import PLAN, Sim
from purgesim.mechanisms import LETTERS, MECHANISMS
from purgesim.mechanisms.base import Phase, Spec
from purgesim.scenario import Scenario

#: the day as it was written by hand before the registry built it: the registry must keep it
DAY = [
    ("scenario events", "orders", "scripted_events"),
    ("halt (leader)", "halt", "step"),
    ("top-down orders", "orders", "step"),
    ("quota operations", "quotas", "step"),
    ("routine policing", "routine", "step"),
    ("denunciations", "denunciation", "step"),
    ("police act on accusations", "vigilance", "step"),
    ("interrogation and naming", "confession", "step"),
    ("purge of the purgers", "purgers", "step"),
    ("purge of the police's own staff", "police_purge", "step"),
    ("association (defenders, relatives)", "association", "step"),
    ("trials and sentences", "trials", "step"),
    ("camps", "camps", "step"),
]
ORDER = ["orders", "quotas", "routine", "denunciation", "vigilance", "confession", "purgers",
         "police_purge", "association", "trials", "camps", "halt", "army"]
#: mechanisms added since, and where their phase stands in the day
ADDED = {("army purge (discharges, appeals)", "army", "step"): 7}


def test_plan_and_order_are_those_written_by_hand_before() -> None:
    assert [p for p in PLAN if p not in ADDED] == DAY
    for phase, at in ADDED.items():
        assert PLAN[at] == phase
    assert list(MECHANISMS) == ORDER
    assert LETTERS == {"orders": "a", "confession": "b", "denunciation": "c", "vigilance": "d",
                       "association": "e", "purgers": "f", "police_purge": "f", "trials": "g",
                       "halt": "h", "quotas": "i", "routine": "-", "camps": "-", "army": "j"}
    assert Sim.plan_text().splitlines()[-1] == f"{len(PLAN) + 1:2d}. recording"


def test_scenario_tables_come_from_the_registry() -> None:
    fields = list(Scenario.model_fields)
    assert fields[-len(MECHANISMS):] == list(MECHANISMS)
    for key, mod in MECHANISMS.items():
        assert Scenario.model_fields[key].annotation is mod.Params
    assert Scenario.__name__ == "Scenario" and Scenario.__module__ == "purgesim.scenario"


@pytest.mark.parametrize("key", list(MECHANISMS))
def test_declared_states_cover_the_states_named_in_the_module(key: str) -> None:
    """A module that names a state, or reads the at-large table, declares it."""
    mod = MECHANISMS[key]
    text = Path(mod.__file__ or "").read_text()
    named = {State[n] for n in re.findall(r"\bState\.([A-Z_]+)", text)}
    if "AT_LARGE" in text:
        named |= set(AT_LARGE)
    assert named <= set(mod.SPEC.states), sorted(s.name for s in named - set(mod.SPEC.states))
    for ph in mod.SPEC.phases:
        assert callable(getattr(mod.Mechanism, ph.method))


def _fake(phases: tuple[Phase, ...]) -> ModuleType:
    mod = ModuleType("fake")
    mod.SPEC = Spec(letter="-", position=999, phases=phases)  # type: ignore[attr-defined]
    mod.Mechanism = SimpleNamespace(step=lambda day: None)  # type: ignore[attr-defined]
    return mod


def test_a_new_mechanism_takes_its_declared_place_in_the_day() -> None:
    new = {**MECHANISMS, "rumours": _fake((Phase(55, "rumours"),))}
    plan = mechanisms._plan(new)
    assert plan[5] == ("rumours", "rumours", "step")
    assert [p for p in plan[:5] + plan[6:] if p not in ADDED] == DAY


def test_two_phases_at_one_place_or_a_missing_method_are_refused() -> None:
    with pytest.raises(ImportError, match="same order"):
        mechanisms._plan({**MECHANISMS, "x": _fake((Phase(50, "twin"),))})
    with pytest.raises(ImportError, match="no method 'act'"):
        mechanisms._plan({**MECHANISMS, "x": _fake((Phase(55, "x", "act"),))})
