"""Invariants checked every day with `--check` (and always in the tests).

Each is a statement about the model that must hold whatever the parameters:

1. every person is in exactly one known state;
2. the case tables agree with the states: one queue entry per suspect, one interrogation
   file per prisoner under interrogation, one trial file per prisoner awaiting trial;
3. stocks are conserved: the recorder's custody and camp stocks equal the weighted counts of
   people in those states; each camp compartment (the model's political prisoners, and the
   prisoners it does not simulate) equals its start plus admissions minus deaths and releases
   to date;
4. every arrest has a cause;
5. nobody dead or in camp acts: today's denouncers are not dead, shot or in camp; today's
   confessors are awaiting trial; officers who let an accusation go were at large and not
   dismissed (unless dismissed later the same day);
6. a dismissed person (State.DISMISSED) is a post-holder of the elite block who was dismissed
   (a DISMISSED event with a cause) and has not been arrested since; every dismissal has a
   cause, every reinstatement the cause REVIEW; a mechanism with a `check_day(day)` method
   checks its own (the army: DISMISSED only after a discharge on record, reinstated only
   after an earlier dismissal; the quotas: the count of operational officers at large it
   keeps equals a fresh count);
7. no region's arrests under a mass operation exceed its granted limit times
   1 + `quotas.overrun_tolerance` (counted from the event log, full scale) by a simulated
   person (1 / scale) or more, and the quota
   mechanism's own count of them agrees with the log.
"""

from __future__ import annotations

import weakref
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
    _camp_accounts(sim, day)
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
    # a dismissed officer handles no case: one who handled a case today and is DISMISSED
    # tonight was dismissed later today (the police purge runs after the police act)
    gone = dropped_by[st[dropped_by] == State.DISMISSED] if dropped_by.size else dropped_by
    if gone.size and not np.isin(gone, today["person"][today["event"] == Event.DISMISSED]).all():
        _fail(day, "a dismissed officer handled an accusation")
    if counts[State.DISMISSED]:
        _check_dismissed(log, np.flatnonzero(st == State.DISMISSED), day)
    _quota_ceiling(sim, day)


#: sim -> (rows of the log counted, full-scale arrests under each operation by region)
_OPERATION_ARRESTS: weakref.WeakKeyDictionary[Sim, tuple[int, np.ndarray]] = \
    weakref.WeakKeyDictionary()


def _quota_ceiling(sim: Sim, day: int) -> None:
    """Invariant 7: arrests under each operation by region (from the log's new rows since
    the last check, weighted) within the granted limit x (1 + overrun_tolerance)."""
    quotas = sim.mechs["quotas"]
    O, R = quotas.limit.shape[0], sim.pop.n_regions
    if O == 0:
        return
    seen, counted = _OPERATION_ARRESTS.get(sim, (0, np.zeros((O, R))))
    log = sim.log.rows
    new = log[seen:]
    new = new[(new["event"] == Event.ARRESTED) & (new["op"] >= 0)]
    if new.size:
        people = new["person"]
        np.add.at(counted, (new["op"].astype(np.int64), sim.pop.regions_of(people)),
                  sim.pop.weight(people))
    _OPERATION_ARRESTS[sim] = (log.size, counted)
    ceiling = quotas.limit.sum(axis=2) * (1.0 + quotas.p.overrun_tolerance)
    # the room is rounded at random to whole simulated people (quotas.room): never more
    # than one simulated person (1 / scale real people) beyond the ceiling
    over = counted > ceiling * (1 + 1e-9) + 1.0 / sim.pop.scale - 1e-6
    if over.any():
        o, r = (int(x[0]) for x in np.nonzero(over))
        _fail(day, f"{counted[o, r]:.6g} arrests under operation {sim.op_keys[o]} in region "
                   f"{sim.pop.region_names[r]} exceed its granted limit x (1 + tolerance) "
                   f"= {ceiling[o, r]:.6g}")
    if not np.allclose(counted, quotas.arrested, rtol=1e-9, atol=1e-6):
        _fail(day, "the quota mechanism's count of arrests under the operations differs "
                   "from the event log's")


def _camp_accounts(sim: Sim, day: int) -> None:
    """Camp stock = start + admissions - deaths - releases, for both compartments, from the
    daily series (independent of the running stocks they are compared with)."""
    rec = sim.rec
    n = day + 1
    own = (rec.camp_start + rec.flow["camp"][:n].sum() - rec.flow["camp_deaths"][:n].sum()
           - rec.camp_released[:n].sum() - rec.camp_retried[:n].sum())
    if not np.isclose(own, rec._camp, rtol=1e-9, atol=1e-6):
        _fail(day, f"camp stock {rec._camp:.6g} is not start + admissions - deaths - "
                   f"releases ({own:.6g})")
    camps = sim.mechs["camps"]
    other = (camps.other_start + camps.other_in[:n].sum() - camps.other_died[:n].sum()
             - camps.other_released[:n].sum())
    if not np.isclose(other, camps.other_stock[day], rtol=1e-9, atol=1e-6):
        _fail(day, f"stock of the prisoners not simulated {camps.other_stock[day]:.6g} is not "
                   f"start + admissions - deaths - releases ({other:.6g})")
    if (camps.other_stock[:n] < -1e-6).any():
        _fail(day, "negative stock of prisoners not simulated")


def _check_dismissed(log: np.ndarray, dismissed: np.ndarray, day: int) -> None:
    """Invariant 6: each dismissed person's last DISMISSED event comes after his last arrest
    (dismissed, then at large; an arrest ends the dismissal).  That he holds a post and that
    each dismissal and reinstatement has its cause are checked in `check_day`."""
    rows = log[np.isin(log["event"], [Event.DISMISSED, Event.ARRESTED])
               & np.isin(log["person"], dismissed)]
    last_dismissal = np.full(dismissed.size, -1, dtype=np.int64)
    last_arrest = np.full(dismissed.size, -1, dtype=np.int64)
    at = np.searchsorted(dismissed, rows["person"])
    order = np.arange(rows.size, dtype=np.int64)  # the log is in time order
    is_dis = rows["event"] == Event.DISMISSED
    np.maximum.at(last_dismissal, at[is_dis], order[is_dis])
    np.maximum.at(last_arrest, at[~is_dis], order[~is_dis])
    if (last_dismissal < 0).any():
        _fail(day, "a person is DISMISSED without a dismissal")
    if (last_arrest > last_dismissal).any():
        _fail(day, "a person arrested after his dismissal is still DISMISSED")
