"""The invariants of purgesim/invariants.py hold every day, for the toy scenario, for variants
of its parameters, and for a tiny run of ussr-1937; the checker does catch a broken state; the
event log replays, person by person, through the state machine of the design brief to the
final states.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pytest
from conftest import AT_LARGE, log_of, only, per_person, run_sim
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from purgesim.codes import Cause, Event, State
from purgesim.engine import Sim
from purgesim.invariants import InvariantError, check_day
from purgesim.scenario import load

# =============================================================================================
# the invariants hold
# =============================================================================================


def test_toy_keeps_every_invariant_every_day(toy_sim: Sim) -> None:
    """The shipped toy scenario, checked after each of its days (check=True raises on the
    first violation)."""
    assert toy_sim.day == toy_sim.n_days - 1
    assert log_of(toy_sim, Event.ARRESTED).size > 100
    assert toy_sim.timing[-1].calls == toy_sim.n_days  # the recording phase ran every day


VARIANTS = {
    "fast confessions, much naming": ["confession.hazard=5", "confession.p_work=0.2",
                                      "confession.p_acquaintance=0.2"],
    "police never act": ["vigilance.act_base=0", "vigilance.pressure_gain=0"],
    "police short of officers": ["vigilance.capacity_per_officer=0.01", "vigilance.max_wait=5"],
    "lack of vigilance everywhere": ["vigilance.act_base=0.05", "vigilance.pressure_gain=0",
                                     "vigilance.lack_of_vigilance_prob=1"],
    "endogenous early halt, all released": ["halt.mode=endogenous",
                                            "halt.disruption_threshold=0.01",
                                            "halt.release_pending=1"],
    "deadly short camps": ["camps.mortality_factor=10", "trials.camp_years=1"],
    "guilt by association": ["association.p_defend=0.05", "association.p_relative=1",
                             "association.p_relative_elite=1"],
    "purge of the purgers": ["purgers.p_client=1", "purgers.p_client_senior=1",
                             "purgers.transformation=1", "purgers.old_chief_delay=0"],
    "instant tribunals": ["trials.troika_delay=0", "trials.board_delay=0",
                          "trials.list_interval=1"],
    "everything off": [f"{m}.enabled=false" for m in (
        "orders", "quotas", "routine", "denunciation", "vigilance", "confession", "purgers",
        "association", "trials", "camps", "halt")],
}


@pytest.mark.parametrize("sets", list(VARIANTS.values()), ids=list(VARIANTS))
def test_variants_keep_every_invariant(sets: list[str]) -> None:
    """Extreme but legal parameter values keep every invariant every day."""
    sim = run_sim("toy", sets)
    assert sim.day == sim.n_days - 1


def test_a_suspect_appointed_police_chief_keeps_the_invariants() -> None:
    """The incoming police chief is under suspicion on the eve of his appointment; the
    police, who always act (act_base = 1), handle his case the next day: they may not arrest
    the serving chief, so he goes free, and no file is lost (this used to leave him SUSPECT
    with no file in the queue)."""
    sim = Sim(load("toy", sets=only("vigilance") + ["vigilance.act_base=1"]), check=True)
    change = sim.sc.day_of(dt.date(1937, 4, 1))
    for day in range(change):
        sim.step(day)
    chief = sim.pop.names["Second Chief"]
    assert sim.pop.state[chief] == State.FREE
    sim.accuse(np.array([chief]), Cause.DENUNCIATION)
    sim.step(change)
    assert sim.police_chief == chief
    assert sim.pop.state[chief] == State.FREE
    assert chief not in sim.queue.rows["person"]


@settings(max_examples=6, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31),
    hazard=st.floats(0.0, 3.0),
    p_work=st.floats(0.0, 0.3),
    act_base=st.floats(0.0, 1.0),
    p_defend=st.floats(0.0, 0.05),
    p_relative=st.floats(0.0, 1.0),
    pace=st.floats(0.0, 0.2),
    release=st.floats(0.0, 1.0),
    mode=st.sampled_from(["scripted", "endogenous"]),
)
def test_random_parameters_keep_every_invariant(seed: int, hazard: float, p_work: float,
                                                 act_base: float, p_defend: float,
                                                 p_relative: float, pace: float,
                                                 release: float, mode: str) -> None:
    """Property: any seed and any values within the declared ranges keep the invariants."""
    sim = run_sim("toy", [
        f"seed={seed}", f"confession.hazard={hazard}", f"confession.p_work={p_work}",
        f"vigilance.act_base={act_base}", f"association.p_defend={p_defend}",
        f"association.p_relative={p_relative}", f"quotas.pace={pace}",
        f"halt.release_pending={release}", f"halt.mode={mode}",
        "halt.disruption_threshold=0.05"])
    assert sim.day == sim.n_days - 1


@pytest.mark.slow
def test_tiny_ussr_1937_keeps_every_invariant() -> None:
    """Smoke run of the historical scenario at scale 0.0005 (some 700,000 people, mostly the
    unscaled elite) over its four years, checked every day."""
    sim = Sim(load("ussr-1937", scale=0.0005), check=True).run()
    assert sim.day == sim.n_days - 1
    assert log_of(sim, Event.ARRESTED).size > 1000
    assert sim.halted


# =============================================================================================
# the checker can fail
# =============================================================================================


@pytest.fixture
def midway() -> Sim:
    """The toy scenario stopped after 150 days (mid-campaign), with a few fresh suspects so
    that the police queue is not empty; the invariants hold at this point."""
    sim = Sim(load("toy"), check=True)
    for day in range(150):
        sim.step(day)
    free = np.flatnonzero(sim.pop.state[sim.pop.n_elite:] == State.FREE) + sim.pop.n_elite
    sim.accuse(free[:3], Cause.DENUNCIATION)
    check_day(sim, sim.day)
    return sim


def _someone(sim: Sim, state: State) -> int:
    """Somebody in that state (the last such id)."""
    ids = np.flatnonzero(sim.pop.state == state)
    assert ids.size, state
    return int(ids[-1])


def _log(sim: Sim, person: int, event: Event, cause: int = 0, by: int = -1) -> None:
    sim.log.append(person=person, day=sim.day, event=int(event), cause=cause, by=by, op=-1)


def _swap_queue_owner(sim: Sim) -> None:
    a = int(sim.queue.rows["person"][0])
    b = _someone(sim, State.FREE)
    sim.pop.state[a] = State.FREE
    sim.pop.state[b] = State.SUSPECT


CORRUPTIONS: dict[str, tuple[Callable[[Sim], None], str]] = {
    "unknown state": (lambda s: s.pop.state.__setitem__(_someone(s, State.FREE), 200),
                      "unknown state"),
    "suspect without a file": (lambda s: s.pop.state.__setitem__(_someone(s, State.FREE),
                                                                  State.SUSPECT),
                               "suspect queue holds"),
    "prisoner without a file": (lambda s: s.pop.state.__setitem__(_someone(s, State.FREE),
                                                                   State.ARRESTED),
                                "interrogation holds"),
    "file twice in the queue": (lambda s: s.queue.append(**{
        k: s.queue.rows[k][:1].copy() for k in s.queue.rows.dtype.names}),
        "appears twice in the suspect queue"),
    "file of someone else": (_swap_queue_owner, "belongs to someone not SUSPECT"),
    "custody stock": (lambda s: setattr(s.rec, "_custody", s.rec._custody + 1.0),
                      "custody stock"),
    "camp stock": (lambda s: setattr(s.rec, "_camp", s.rec._camp - 1.0), "camp stock"),
    "arrest without a cause": (lambda s: _log(s, _someone(s, State.FREE), Event.ARRESTED),
                               "arrest without a cause"),
    "dead denouncer": (lambda s: _log(s, _someone(s, State.FREE), Event.DENOUNCED,
                                      int(Cause.DENUNCIATION), _someone(s, State.SHOT)),
                       "denouncer who is dead"),
    "name from someone who did not confess": (
        lambda s: _log(s, _someone(s, State.FREE), Event.NAMED, int(Cause.CONFESSION),
                       _someone(s, State.FREE)), "did not confess"),
    "officer in camp drops a case": (
        lambda s: _log(s, _someone(s, State.FREE), Event.DROPPED, int(Cause.CONFESSION),
                       _someone(s, State.CAMP)), "officer who is dead or in camp"),
}


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_checker_catches_a_broken_state(midway: Sim, name: str) -> None:
    """Each invariant can fail: corrupting the state in one way trips the matching check."""
    corrupt, message = CORRUPTIONS[name]
    corrupt(midway)
    with pytest.raises(InvariantError, match=message):
        check_day(midway, midway.day)


def test_engine_with_check_stops_on_the_day_of_a_violation() -> None:
    """Sim.step(check=True) runs the checker: a corruption is reported on that very day."""
    sim = Sim(load("toy"), check=True)
    for day in range(10):
        sim.step(day)
    sim.rec._camp += 1.0
    with pytest.raises(InvariantError, match="invariant broken on day 10: camp stock"):
        sim.step(10)


# =============================================================================================
# the event log replays through the state machine
# =============================================================================================

S = State
E = Event
# (state before, event) -> state after.  ARRESTED and the sentences handed down by a show
# trial may also come straight from custody, see `_replay`.
MOVES = {
    **{(s, E.SUSPECTED): S.SUSPECT for s in AT_LARGE},
    **{(s, E.ARRESTED): S.ARRESTED for s in (*AT_LARGE, S.SUSPECT)},
    (S.ARRESTED, E.CONFESSED): S.AWAITING_TRIAL,
    (S.ARRESTED, E.INVESTIGATION_CLOSED): S.AWAITING_TRIAL,
    (S.AWAITING_TRIAL, E.SHOT): S.SHOT,
    (S.AWAITING_TRIAL, E.CAMP): S.CAMP,
    (S.AWAITING_TRIAL, E.EXILE): S.EXILE,
    (S.AWAITING_TRIAL, E.RELEASED): S.RELEASED,
    (S.CAMP, E.DIED): S.DIED,
    (S.CAMP, E.RELEASED): S.RELEASED,
    (S.FREE, E.DISMISSED): S.DISMISSED,  # discharged from the army (j)
    (S.DISMISSED, E.REINSTATED): S.FREE,  # reinstated after appeal (j)
}


class Replay:
    """The states the event log leads to, person by person."""

    def __init__(self, sim: Sim) -> None:
        self.final: dict[int, State] = {}
        self.suspected_on: dict[int, int] = {}  # day of each person's latest accusation
        self.lapses = 0  # accusations that lapsed unhandled (they leave no event)
        trial_days = {sim.sc.day_of(e.date) for e in sim.sc.events
                      if e.kind in ("show_trial", "closed_trial")}
        max_wait = sim.sc.vigilance.max_wait
        initial = {sim.pop.names[n.name]: State[n.state.upper()] for n in sim.sc.named}
        for p, rows in per_person(sim.log.rows).items():
            s = initial.get(p, State.FREE)
            before_suspicion, suspected_on = s, -1
            for d, e, c, _b, _o in rows:
                if e in (E.NAMED, E.DENOUNCED, E.PROMOTED, E.CHIEF_REPLACED):
                    continue  # events about a person that do not move him
                if s == S.SUSPECT and e == E.SUSPECTED and d - suspected_on >= max_wait:
                    s = before_suspicion  # the earlier accusation lapsed
                    self.lapses += 1
                if e == E.SUSPECTED:
                    before_suspicion, suspected_on = s, d
                if e == E.DROPPED:
                    assert s == S.SUSPECT, (p, d)
                    s = before_suspicion
                elif (s, e) in MOVES:
                    s = MOVES[(s, e)]
                elif e == E.ARRESTED and s == S.CAMP and d in trial_days:
                    s = S.ARRESTED  # retried from camp by a show trial
                elif e in (E.SHOT, E.CAMP) and s == S.ARRESTED and d in trial_days:
                    s = S.SHOT if e == E.SHOT else S.CAMP  # sentenced at a show trial
                elif e == E.RELEASED and c == Cause.HALT and s in (S.ARRESTED,
                                                                    S.AWAITING_TRIAL):
                    s = S.RELEASED  # released at the halt
                else:
                    raise AssertionError(f"person {p} day {d}: {e.name} while {s.name}")
            self.final[p] = s
            self.suspected_on[p] = suspected_on


@pytest.mark.parametrize("sets", [[], ["halt.release_pending=1", "camps.mortality_factor=10"],
                                  ["vigilance.capacity_per_officer=0.01",
                                   "vigilance.max_wait=5"]],
                         ids=["toy", "halt releases, deadly camps", "accusations lapse"])
def test_event_log_replays_to_the_final_states(sets: list[str]) -> None:
    """Every event is a legal move from the state before it, and the log leads each person
    to the state the population ends in.  (A suspicion that lapses unhandled is logged as
    DROPPED with no officer; an unlogged lapse is accepted only vigilance.max_wait days or
    more after the accusation.)"""
    sim = run_sim("toy", sets, check=False)
    replay = Replay(sim)
    assert len(replay.final) > 200
    last_day = sim.n_days - 1
    lapses = replay.lapses
    for p, s in replay.final.items():
        actual = State(int(sim.pop.state[p]))
        if s == S.SUSPECT and actual in AT_LARGE:
            assert last_day - replay.suspected_on[p] >= sim.sc.vigilance.max_wait, p
            lapses += 1
            continue
        assert actual == s, (p, s.name, actual.name)
    if "vigilance.max_wait=5" in sets:
        # lapsed accusations are now logged: DROPPED with no officer
        log = sim.log.rows
        logged_lapses = int(((log["event"] == E.DROPPED) & (log["by"] < 0)).sum())
        assert lapses + logged_lapses > 0
    untouched = np.setdiff1d(np.arange(sim.pop.n), np.fromiter(replay.final, dtype=np.int64))
    untouched = untouched[~np.isin(untouched, list(sim.pop.names.values()))]
    assert untouched.size > 1000
    assert (sim.pop.state[untouched] == State.FREE).all()
