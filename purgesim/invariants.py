"""Invariants checked every day with `--check` (and always in the tests).

Each is a statement about the model that must hold whatever the parameters:

1. every person is in exactly one known state;
2. the case tables agree with the states: one queue entry per suspect, one interrogation
   file per prisoner under interrogation, one trial file per prisoner awaiting trial;
3. stocks are conserved: the recorder's custody and camp stocks equal the weighted counts of
   people in those states;
4. every arrest has a cause;
5. nobody dead or in camp acts: today's denouncers are not dead, shot or in camp; today's
   confessors are awaiting trial; officers who let an accusation go were at large;
6. dismissal is a state of post-holders: only elite heads are DISMISSED, each dismissal has
   a cause, each reinstatement the cause REVIEW; a mechanism with a `check_day(day)` method
   checks its own (the army: DISMISSED only after a discharge on record, reinstated only
   after an earlier dismissal).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .codes import Cause, Event, State

if TYPE_CHECKING:
    from .engine import Sim


class InvariantError(AssertionError):
    pass


def _fail(day: int, what: str) -> None:
    raise InvariantError(f"invariant broken on day {day}: {what}")


def check_day(sim: Sim, day: int) -> None:
    pop = sim.pop
    st = pop.state
    counts = np.bincount(st, minlength=256)
    if counts[len(State):].any():
        _fail(day, "a person is in an unknown state")
    for table, state, name in ((sim.queue, State.SUSPECT, "suspect queue"),
                               (sim.interrogation, State.ARRESTED, "interrogation"),
                               (sim.awaiting, State.AWAITING_TRIAL, "trial queue")):
        ids = table.rows["person"]
        if ids.size != np.unique(ids).size:
            _fail(day, f"a person appears twice in the {name}")
        if ids.size != counts[state]:
            _fail(day, f"{name} holds {ids.size} files but {counts[state]} people are "
                       f"{state.name}")
        if ids.size and (st[ids] != state).any():
            _fail(day, f"a file in the {name} belongs to someone not {state.name}")
    custody = np.flatnonzero((st == State.ARRESTED) | (st == State.AWAITING_TRIAL))
    if not np.isclose(pop.weight(custody).sum(), sim.rec._custody, rtol=1e-9, atol=1e-6):
        _fail(day, "custody stock is not conserved")
    camp = np.flatnonzero(st == State.CAMP)
    if not np.isclose(pop.weight(camp).sum(), sim.rec._camp, rtol=1e-9, atol=1e-6):
        _fail(day, "camp stock is not conserved")
    log = sim.log.rows
    today = log[log["day"] == day]
    arrests = today[today["event"] == Event.ARRESTED]
    if (arrests["cause"] == Cause.NONE).any():
        _fail(day, "an arrest without a cause")
    den = today["by"][today["event"] == Event.DENOUNCED]
    if den.size and np.isin(st[den], [State.SHOT, State.DIED, State.CAMP]).any():
        _fail(day, "a denouncer who is dead or in camp")
    named_by = today["by"][today["event"] == Event.NAMED]
    if named_by.size and (st[named_by] != State.AWAITING_TRIAL).any():
        _fail(day, "a name given by someone who did not confess today")
    if counts[State.DISMISSED]:
        dis = np.flatnonzero(st == State.DISMISSED)
        if not pop.is_official(dis).all():
            _fail(day, "someone who holds no post is DISMISSED")
    ev = today["event"]
    if (today["cause"][ev == Event.DISMISSED] == Cause.NONE).any():
        _fail(day, "a dismissal without a cause")
    if (today["cause"][ev == Event.REINSTATED] != Cause.REVIEW).any():
        _fail(day, "a reinstatement whose cause is not REVIEW")
    for mech in sim.mechs.values():
        if hasattr(mech, "check_day"):
            what = mech.check_day(day)
            if what:
                _fail(day, what)
    dropped_by = today["by"][(today["event"] == Event.DROPPED) & (today["by"] >= 0)]
    if dropped_by.size and np.isin(st[dropped_by], [State.SHOT, State.DIED, State.CAMP]).any():
        _fail(day, "an officer who is dead or in camp handled an accusation")
