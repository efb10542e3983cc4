"""(h) The halt of the mass phase.

Scripted mode: the scenario's `halt` event (the decree of 17 Nov 1938) stops it. Endogenous
mode: the leader stops it himself when the disruption he sees, the share of officials (elite
post-holders) arrested since the start, reaches `disruption_threshold`. Coup mode (the French
Thermidor): the ruling faction (`coup_faction`) is protected while it rules. Every week each
deputy of the assembly at large weighs his personal risk: the share of his ties (family,
colleagues, acquaintances, superior) arrested in the last `fear_window` days, times the chance
that an arrest now ends in death (the tribunals' `p_shot_mass_phase`, raised by the Law of 22
Prairial), plus `climate_weight` times the death sentences of the last `fear_window` days per
thousand inhabitants of the capital (the first region: the scaffold the deputies see), plus a
personal disposition (uniform in [0, `fear_spread`]). When the share of deputies whose risk
exceeds `fear_threshold` reaches `coup_share`, a conspiracy forms, and `coup_delay` days later
(the time to organise it) they overthrow the leaders: the members of `coup_faction` lose their
protection and are arrested and executed, and the mass phase stops as at a halt.

At the halt: the mass operations stop and the troikas are abolished; interrogation intensity
and vigilance pressure fall to their post-halt levels; each pending case (in interrogation or
awaiting trial) is released with probability `release_pending`; routine arrests go on at the
post-halt rate. The date is reported under `events.halt`.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from .. import rng
from ..codes import POLICE_STAFF, Cause, Cohort, Event, Post, State
from ..params import MechanismParams, P
from ..population import people_in, ties_many
from .base import Mechanism as Base
from .base import Phase, Spec
from .contract import Engine

S = rng.Streams("halt", "disposition", "release_pending", "release_detained")


#: what the registry reads (purgesim.mechanisms): letter, place, phases of the day, states
SPEC = Spec(letter="h", position=110,
            phases=(Phase(20, "halt (leader)"),),
            states=(State.FREE, State.SUSPECT, State.CAMP, State.RELEASED))


class Params(MechanismParams):
    mode: Literal["scripted", "endogenous", "coup"] = P(
        "scripted", meaning="scripted: the halt comes on the scenario's date; endogenous: "
                            "the leader halts when disruption crosses the threshold; coup: "
                            "the deputies overthrow the leaders when enough fear they are next")
    disruption_threshold: float = P(0.25, 0.0, 1.0, unit="share",
                                    meaning="share of officials arrested at which the leader "
                                            "halts (endogenous mode)", free=True)
    release_pending: float = P(0.3, 0.0, 1.0, unit="share",
                               meaning="share of pending cases released at the halt", free=True)
    intensity_after: float = P(0.3, 0.0, 10.0, unit="x",
                               meaning="interrogation intensity after the halt")
    pressure_after: float = P(0.2, 0.0, 10.0, unit="x",
                              meaning="vigilance pressure after the halt")
    release_detained: float = P(0.0, 0.0, 1.0, unit="share",
                                meaning="share of people in camp or detention released at the "
                                        "halt (France: suspects freed after Thermidor)")
    fear_window: int = P(60, 1, 3650, unit="days",
                         meaning="coup mode: arrests of the last days that a deputy weighs")
    fear_threshold: float = P(0.15, 0.0, 5.0, unit="share",
                              meaning="coup mode: personal risk above which a deputy fears he "
                                      "is next", free=True)
    fear_spread: float = P(0.1, 0.0, 5.0, unit="share",
                           meaning="coup mode: spread of the deputies' personal dispositions")
    climate_weight: float = P(0.05, 0.0, 10.0, unit="per death sentence per 1,000",
                              meaning="coup mode: weight of the capital's recent death "
                                      "sentences in a deputy's perceived risk", free=True)
    coup_share: float = P(0.5, 0.0, 1.0, unit="share",
                          meaning="coup mode: share of deputies in fear that brings the coup",
                          free=True)
    coup_delay: int = P(21, 0, 365, unit="days",
                        meaning="coup mode: days from the forming of the conspiracy to the coup")
    coup_faction: str = P("", meaning="coup mode: the faction overthrown (arrested and "
                                      "executed)")


class Mechanism(Base):
    def __init__(self, sim: Engine, params: Params) -> None:
        super().__init__(sim, params)
        pop = sim.pop
        posts = np.isin(pop.e_post, [Post.POLITBURO, Post.CENTRAL_COMMITTEE, Post.DELEGATE,
                                     Post.COMMISSAR, Post.MARSHAL, Post.ARMY_COMMANDER,
                                     Post.CORPS_DIVISION_COMMANDER, Post.OFFICER,
                                     *POLICE_STAFF])
        self.officials = np.flatnonzero(posts) * pop.hsize
        self.released = 0.0
        self.deputies = pop.cohort_members(Cohort.CONGRESS_17)
        heads = self.deputies // pop.hsize
        self.deputy_unit = pop.e_unit[heads].astype(np.int64) if heads.size else heads
        self.disposition = sim.draws(self.deputies, S.disposition, day=-1) * self.p.fear_spread
        self.fear_log: list[tuple[str, float]] = []
        self.conspiracy_day = -1
        if self.on and self.p.mode == "coup":
            sim.protected = np.union1d(sim.protected, pop.factions.get(
                self.p.coup_faction, np.empty(0, dtype=np.int64)))
            owner, other, _, _ = ties_many(self.deputies, pop.geo, pop.region_start,
                                           pop.key_work, pop.key_acq, pop.e_superior,
                                           pop.e_unit, pop.unit_lo, pop.unit_hi, pop.sub_lo,
                                           pop.sub_ids)
            self.tie_owner, self.tie_other = owner, other

    def disruption(self) -> float:
        st = self.sim.pop.state[self.officials]
        return float(np.mean((st != State.FREE) & (st != State.SUSPECT)))

    def step(self, day: int) -> None:
        sim = self.sim
        if not self.on or sim.halted:
            return
        if self.conspiracy_day >= 0 and day >= self.conspiracy_day + self.p.coup_delay:
            self.coup(day)
            return
        if day % 7:
            return
        if self.p.mode == "endogenous" and self.disruption() >= self.p.disruption_threshold:
            self.do_halt(day)
        elif self.p.mode == "coup" and self.deputies.size and self.conspiracy_day < 0:
            share = self.fear(day)
            self.fear_log.append((sim.date(day), share))
            if share >= self.p.coup_share:
                self.conspiracy_day = day
                sim.endogenous["conspiracy"] = {"date": sim.date(day)}

    def fear(self, day: int) -> float:
        """Share of deputies at large whose perceived personal risk exceeds the threshold."""
        sim = self.sim
        log = sim.log.rows
        recent = log["person"][(log["event"] == Event.ARRESTED)
                               & (log["day"] > day - self.p.fear_window)]
        free = np.isin(sim.pop.state[self.deputies], [State.FREE, State.RELEASED])
        if not free.any():
            return 0.0
        n = self.deputies.size
        hit = np.isin(self.tie_other, recent).astype(np.float64)
        share = np.bincount(self.tie_owner, weights=hit, minlength=n) / \
            np.maximum(np.bincount(self.tie_owner, minlength=n), 1)
        death = sim.death_rate_of_mass_phase()
        capital = sim.rec.shot_region[max(day - self.p.fear_window, 0):day, 0].sum()
        climate = capital / sim.sc.regions[0].population * 1000.0
        risk = share * death + self.p.climate_weight * climate + self.disposition
        return float(np.mean(risk[free] > self.p.fear_threshold))

    def coup(self, day: int) -> None:
        sim = self.sim
        sim.endogenous["thermidor"] = {"date": sim.date(day)}
        leaders = sim.pop.factions.get(self.p.coup_faction, np.empty(0, dtype=np.int64))
        sim.police_chief = -1
        sim.leader = -1
        sim.protected = np.setdiff1d(sim.protected, leaders)
        sim.arrest(leaders, Cause.ORDER)
        sim.sentence_now(leaders, "shot")
        self.do_halt(day)

    def do_halt(self, day: int) -> None:
        sim = self.sim
        if sim.halted:
            return
        sim.halted = True
        sim.halt_day = day
        sim.endogenous["halt"] = {"date": sim.date(day)}
        sim.intensity = self.p.intensity_after
        sim.pressure = self.p.pressure_after
        for table in (sim.interrogation, sim.awaiting):
            if table.n == 0:
                continue
            ids = table.rows["person"]
            go = sim.draws(ids, S.release_pending) < self.p.release_pending
            freed = ids[go]
            table.keep(~go)
            sim.release_from_custody(freed, Cause.HALT)
            self.released += float(sim.pop.weight(freed).sum())
        if self.p.release_detained > 0:
            held = people_in(sim.pop.state, int(State.CAMP))  # once, at the halt
            go = held[sim.draws(held, S.release_detained) < self.p.release_detained]
            sim.pop.state[go] = State.RELEASED
            sim.record(go, Event.RELEASED, int(Cause.HALT))
            sim.rec.left_camp(go, died=False, cause=Cause.HALT)
            self.released += float(sim.pop.weight(go).sum())

    def summary(self) -> dict[str, Any]:
        h = self.sim.endogenous.get("halt")
        return {"mode": self.p.mode, "date": h["date"] if h else None,
                "released": self.released, "fear": self.fear_log[-12:]}
