"""Camps: prisoners die at the yearly rate of the Gulag records and leave when their term ends.

On admission each prisoner's day of death is drawn once from the cumulative hazard of the
scenario's yearly camp mortality (`camp_mortality`, from the record's Gulag deaths over the
camp population, times `mortality_factor`), and compared with the end of his term; whichever
comes first is scheduled.  Nothing is done for a prisoner until that day.

Outputs: DIED and RELEASED (cause TERM_END) events.  Invariant: only people in camp die or
are released here.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from .. import rng
from ..codes import Cause, Event, State
from ..params import MechanismParams, P
from .base import Mechanism as Base
from .base import Phase, Spec

S = rng.Streams("camps", "death")


#: what the registry reads (purgesim.mechanisms): letter, place, phases of the day, states
SPEC = Spec(letter="-", position=100,
            phases=(Phase(120, "camps"),),
            states=(State.CAMP, State.DIED, State.RELEASED))


class Params(MechanismParams):
    mortality_factor: float = P(1.0, 0.0, 10.0, unit="x",
                                meaning="multiplies the recorded yearly camp mortality")
    default_mortality: float = P(0.03, 0.0, 1.0, unit="1/year",
                                 meaning="yearly camp mortality for years the scenario does "
                                         "not list")


class Mechanism(Base):
    def __init__(self, sim: Any, params: Params) -> None:
        super().__init__(sim, params)
        sc = sim.sc
        D = sim.n_days
        rates = np.empty(D + 1)
        for d in range(D + 1):
            y = str(sc.date_of(d).year)
            m = sc.camp_mortality.get(y, self.p.default_mortality) * self.p.mortality_factor
            m = min(m, 0.999)
            rates[d] = -np.log1p(-m) / 365.0
        self.hazard_cum = np.concatenate([[0.0], np.cumsum(rates)])[: D + 1]
        self.due: dict[int, list[np.ndarray]] = defaultdict(list)
        self.due_kind: dict[int, list[np.ndarray]] = defaultdict(list)
        self.due_since: dict[int, list[np.ndarray]] = defaultdict(list)
        self.admitted: dict[int, int] = {}  # prisoner -> day of his latest admission

    def admit(self, ids: np.ndarray, years: int) -> None:
        sim = self.sim
        day = sim.day
        release = day + int(round(years * 365.25))
        if self.on:
            u = sim.draws(ids, S.death)
            e = -np.log(np.maximum(1.0 - u, 1e-300))
            # the first day after today on which the hazard accumulated since today reaches
            # e (population.first_death_day, for all prisoners at once)
            death = np.maximum(np.searchsorted(self.hazard_cum, self.hazard_cum[day] + e),
                               day + 1).astype(np.int64)
        else:
            death = np.full(ids.size, 10**9, dtype=np.int64)
        dies = death < release
        when = np.where(dies, death, release)
        keep = when < sim.n_days
        self.admitted.update(dict.fromkeys(ids.tolist(), day))
        ids, dies, when = ids[keep], dies[keep], when[keep]
        order = np.argsort(when, kind="stable")  # grouped by day, admission order kept
        when = when[order]
        starts = np.flatnonzero(np.r_[True, when[1:] != when[:-1]]) if when.size else when
        for a, b in zip(starts.tolist(), [*starts[1:].tolist(), when.size]):
            d = int(when[a])
            sel = order[a:b]
            self.due[d].append(ids[sel])
            self.due_kind[d].append(dies[sel])
            self.due_since[d].append(np.full(b - a, day, dtype=np.int64))

    def step(self, day: int) -> None:
        if day not in self.due:
            return
        sim = self.sim
        ids = np.concatenate(self.due.pop(day))
        dies = np.concatenate(self.due_kind.pop(day))
        since = np.concatenate(self.due_since.pop(day))
        # only for a prisoner still serving the term this schedule belongs to
        current = np.fromiter(map(self.admitted.__getitem__, ids.tolist()), dtype=np.int64,
                              count=ids.size)
        ok = (sim.pop.state[ids] == State.CAMP) & (current == since)
        ids, dies = ids[ok], dies[ok]
        for mask, died in ((dies, True), (~dies, False)):
            who = ids[mask]
            if who.size == 0:
                continue
            sim.pop.state[who] = State.DIED if died else State.RELEASED
            sim.record(who, Event.DIED if died else Event.RELEASED,
                       0 if died else int(Cause.TERM_END))
            sim.rec.left_camp(who, died)

    def summary(self) -> dict[str, Any]:
        return {}
