"""(h) The halt of the mass phase.

Scripted mode: the scenario's `halt` event (the decree of 17 Nov 1938) stops it.  Endogenous
mode: the leader stops it himself when the disruption he sees, the share of officials (elite
post-holders) arrested since the start, reaches `disruption_threshold`.

At the halt: the mass operations stop and the troikas are abolished; interrogation intensity
and vigilance pressure fall to their post-halt levels; each pending case (in interrogation or
awaiting trial) is released with probability `release_pending`; routine arrests go on at the
post-halt rate.  The date is reported under `events.halt`.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from .. import rng
from ..codes import Cause, Post, State
from ..params import MechanismParams, P
from .base import Mechanism as Base


class Params(MechanismParams):
    mode: Literal["scripted", "endogenous"] = P(
        "scripted", meaning="scripted: the halt comes on the scenario's date; endogenous: "
                            "the leader halts when disruption crosses the threshold")
    disruption_threshold: float = P(0.25, 0.0, 1.0, unit="share",
                                    meaning="share of officials arrested at which the leader "
                                            "halts (endogenous mode)", free=True)
    release_pending: float = P(0.3, 0.0, 1.0, unit="share",
                               meaning="share of pending cases released at the halt", free=True)
    intensity_after: float = P(0.3, 0.0, 10.0, unit="x",
                               meaning="interrogation intensity after the halt")
    pressure_after: float = P(0.2, 0.0, 10.0, unit="x",
                              meaning="vigilance pressure after the halt")


class Mechanism(Base):
    def __init__(self, sim: Any, params: Params) -> None:
        super().__init__(sim, params)
        pop = sim.pop
        posts = np.isin(pop.e_post, [Post.POLITBURO, Post.CENTRAL_COMMITTEE, Post.DELEGATE,
                                     Post.COMMISSAR, Post.MARSHAL, Post.ARMY_COMMANDER,
                                     Post.CORPS_DIVISION_COMMANDER, Post.OFFICER,
                                     Post.POLICE_REGIONAL_CHIEF, Post.POLICE_OFFICER])
        self.officials = np.flatnonzero(posts) * pop.hsize
        self.released = 0.0

    def disruption(self) -> float:
        st = self.sim.pop.state[self.officials]
        return float(np.mean((st != State.FREE) & (st != State.SUSPECT)))

    def step(self, day: int) -> None:
        sim = self.sim
        if not self.on or sim.halted or self.p.mode != "endogenous" or day % 7:
            return
        if self.disruption() >= self.p.disruption_threshold:
            self.do_halt(day)

    def do_halt(self, day: int) -> None:
        sim = self.sim
        if sim.halted:
            return
        sim.halted = True
        sim.halt_day = day
        sim.endogenous["halt"] = sim.date(day)
        sim.intensity = self.p.intensity_after
        sim.pressure = self.p.pressure_after
        trials = sim.mechs["trials"]
        for table in (sim.interrogation, sim.awaiting):
            if table.n == 0:
                continue
            ids = table.rows["person"]
            go = sim.draws(ids, rng.P_HALT_RELEASE) < self.p.release_pending
            freed = ids[go]
            table.keep(~go)
            trials.release(freed, Cause.HALT)
            self.released += float(sim.pop.weight(freed).sum())

    def summary(self) -> dict[str, Any]:
        return {"mode": self.p.mode, "date": self.sim.endogenous.get("halt"),
                "released_pending": self.released}
