"""The purge of the police's own staff by a new chief's men (Yezhov's men under Beria).

When the chief of the NKVD is replaced, the purgers mechanism (f) puts the old chief's
clients under suspicion, as Yezhov's men did to Yagoda's in 1936-1938.  The change of
November 1938 opened a purge of another kind: Beria's men removed Yezhov's apparatus from
its posts over the following year, level by level, most by dismissal (for "compromising
material", "links with enemies", "violations of socialist legality"), some by arrest, and
some of the dismissed were arrested later.  This module is that phase:

* it opens at the `from_change`-th change of chief of the scenario's timeline (and at every
  later one; in `ussr-1937`, the second: Beria for Yezhov, 25 Nov 1938), if the new chief
  takes office, and lasts `window` days;
* each state-security officer serving on the day of the change (every level below the chief:
  codes.POLICE_LEVELS) is, over the window, either arrested (probability ``arrest_LEVEL``)
  or dismissed (``dismiss_LEVEL``) or left at his post, on a day drawn uniformly in the
  window; LEVEL is his level (central apparatus, regional leadership, operational staff);
* a dismissed officer leaves his post but stays at large (state DISMISSED, event DISMISSED
  with cause POLICE_PURGE; by = the new chief): he no longer handles cases (vigilance, d)
  and can still be named, denounced or arrested by any channel; a share
  `later_arrest` of the dismissed are arrested with cause POLICE_PURGE within
  `later_arrest_delay` days of their dismissal;
* the old chief himself falls through the purgers mechanism (`old_chief_delay`).

Nothing here touches the weighted mass population: every person acted on is an unweighted
state-security officer, so the counts are the same at every scale.

Inputs: the chief replacements (engine service `replace_police_chief`), the officers' posts
and states.  Outputs: DISMISSED events and arrests with cause POLICE_PURGE; the count of
dismissals and arrests (`summary`).  Invariant: only an officer serving (free or released)
is dismissed; a dismissed officer stays DISMISSED until another channel arrests him.
Every rate is an ASSUMPTION (docs/model.md, section 7): the NKVD's losses by level are a
kept-back prediction, never fitted.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from pydantic import model_validator

from .. import rng
from ..codes import POLICE_LEVELS, POLICE_STAFF, SERVING_LUT, Cause, Event, State
from ..params import MechanismParams, P
from .base import Mechanism as Base
from .base import Phase, Spec
from .contract import Engine

S = rng.Streams("police_purge", "fate", "when", "later", "later_when")

#: what the registry reads (purgesim.mechanisms): letter, place, phases of the day, states
SPEC = Spec(letter="f", position=75,
            phases=(Phase(95, "purge of the police's own staff"),),
            states=(State.FREE, State.RELEASED, State.DISMISSED, State.SUSPECT))

#: the levels this phase acts on, in the order of their parameters (the chief is not one)
LEVELS = ("central_apparatus", "regional_leadership", "operational")

_DISMISS, _ARREST, _LATER = 0, 1, 2

#: state code -> an officer in that state holds his post (may be dismissed)
_SERVING = SERVING_LUT


class Params(MechanismParams):
    from_change: int = P(2, 1, 100, unit="replacement",
                         meaning="the change of police chief of the scenario's timeline (1 = "
                                 "its first chief_change event) that opens the purge of the "
                                 "old chief's apparatus; every later one opens it again")
    window: int = P(400, 1, 3650, unit="days",
                    meaning="period over which the new chief's men remove the old apparatus")
    dismiss_central_apparatus: float = P(
        0.3, 0.0, 1.0, unit="share", meaning="officers of the central apparatus dismissed "
                                             "over the window")
    dismiss_regional_leadership: float = P(
        0.3, 0.0, 1.0, unit="share", meaning="regional chiefs, deputies and heads of "
                                             "departments dismissed over the window")
    dismiss_operational: float = P(0.1, 0.0, 1.0, unit="share",
                                   meaning="operational officers dismissed over the window")
    arrest_central_apparatus: float = P(
        0.1, 0.0, 1.0, unit="share", meaning="officers of the central apparatus arrested "
                                             "(without dismissal first) over the window")
    arrest_regional_leadership: float = P(
        0.1, 0.0, 1.0, unit="share", meaning="regional chiefs, deputies and heads of "
                                             "departments arrested over the window")
    arrest_operational: float = P(0.02, 0.0, 1.0, unit="share",
                                  meaning="operational officers arrested over the window")
    later_arrest: float = P(0.1, 0.0, 1.0, unit="share",
                            meaning="dismissed officers arrested later")
    later_arrest_delay: int = P(180, 0, 3650, unit="days",
                                meaning="longest time from dismissal to the later arrest")

    @model_validator(mode="after")
    def _shares(self) -> Params:
        for k in LEVELS:
            a, d = getattr(self, f"arrest_{k}"), getattr(self, f"dismiss_{k}")
            if a + d > 1.0 + 1e-12:
                raise ValueError(f"field 'police_purge.dismiss_{k}': value {d:g} is not "
                                 f"allowed: arrest_{k} + dismiss_{k} must be at most 1 "
                                 f"(arrest_{k} = {a:g})")
        return self


class Mechanism(Base):
    def __init__(self, sim: Engine, params: Params) -> None:
        super().__init__(sim, params)
        pop = sim.pop
        self.staff = pop.heads_with_posts(POLICE_STAFF)
        post = pop.e_post[self.staff // pop.hsize]
        self.level = np.full(self.staff.size, -1, dtype=np.int64)
        for k, key in enumerate(LEVELS):
            self.level[np.isin(post, [int(p) for p in POLICE_LEVELS[key]])] = k
        assert (self.level >= 0).all(), "a police post without a level (codes.POLICE_LEVELS)"
        self.changes = 0  # replacements of the chief seen so far
        self.opened: list[dict[str, Any]] = []
        self.pending: dict[int, list[tuple[np.ndarray, int, int]]] = defaultdict(list)
        self.dismissed = 0
        self.arrested = 0
        self.arrested_after_dismissal = 0

    def rates(self) -> tuple[np.ndarray, np.ndarray]:
        """(arrest, dismissal) probabilities over the window, by level (LEVELS order)."""
        p = self.p
        return (np.array([getattr(p, f"arrest_{k}") for k in LEVELS]),
                np.array([getattr(p, f"dismiss_{k}") for k in LEVELS]))

    def chief_replaced(self, old: int, new: int, day: int) -> None:
        """The scenario's change of chief of today (engine service `replace_police_chief`;
        `new` is the chief serving after it: the old one if the appointment was skipped).
        From the `from_change`-th change of the scenario's timeline on (counted whether or
        not the appointment took place: the run's history may differ), if a new chief took
        office, each serving officer's fate over the window is drawn now (keyed on the day
        of the change), carried out on its day."""
        self.changes += 1
        if not self.on or self.changes < self.p.from_change or old < 0 or new == old:
            return
        sim = self.sim
        self.opened.append({"date": sim.date(day), "old": sim.pop.label(old),
                            "new": sim.pop.label(new)})
        serving = self.staff[_SERVING[sim.pop.state[self.staff]]]
        level = self.level[_SERVING[sim.pop.state[self.staff]]]
        if serving.size == 0:
            return
        arrest, dismiss = self.rates()
        u = sim.draws(serving, S.fate, day=day)
        v = sim.draws(serving, S.when, day=day)
        a = u < arrest[level]
        d = ~a & (u < arrest[level] + dismiss[level])
        when = day + 1 + (v * self.p.window).astype(np.int64)
        for mask, kind in ((d, _DISMISS), (a, _ARREST)):
            for w in np.unique(when[mask]).tolist():
                if w < sim.n_days:
                    self.pending[w].append((serving[mask & (when == w)], kind, new))

    def step(self, day: int) -> None:
        """Carry out today's dismissals and arrests of the purge."""
        todo = self.pending.pop(day, None)
        if not todo:
            return
        sim = self.sim
        st = sim.pop.state
        for ids, kind, by in todo:
            if kind == _DISMISS:
                ids = ids[_SERVING[st[ids]]]  # arrested or suspected meanwhile: not dismissed
                if ids.size == 0:
                    continue
                st[ids] = State.DISMISSED
                sim.record(ids, Event.DISMISSED, int(Cause.POLICE_PURGE), by)
                self.dismissed += int(ids.size)
                later = sim.draws(ids, S.later) < self.p.later_arrest
                delay = (sim.draws(ids, S.later_when) * (self.p.later_arrest_delay + 1)
                         ).astype(np.int64)
                for w in np.unique(delay[later]).tolist():
                    if day + 1 + w < sim.n_days:
                        self.pending[day + 1 + w].append(
                            (ids[later & (delay == w)], _LATER, by))
            elif kind == _ARREST:
                self.arrested += int(sim.arrest(ids, Cause.POLICE_PURGE, by).size)
            else:  # the later arrest of a dismissed officer still dismissed (or suspected)
                ids = ids[(st[ids] == State.DISMISSED) | (st[ids] == State.SUSPECT)]
                self.arrested_after_dismissal += int(
                    sim.arrest(ids, Cause.POLICE_PURGE, by).size)

    def summary(self) -> dict[str, Any]:
        return {"opened": self.opened, "dismissed": self.dismissed,
                "arrested": self.arrested,
                "arrested_after_dismissal": self.arrested_after_dismissal}
