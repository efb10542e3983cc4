"""(e) Guilt by association: defenders and relatives become suspects.

When someone is arrested, each of his ties at large speaks up for him and is thereby put
under suspicion with probability `p_defend` (cause DEFENDER, by = the arrested person).  When
someone is convicted, each member of his household at large comes under suspicion with
probability `p_relative` (`p_relative_elite` for the families of officials, as under Order
00486 on the wives of traitors) (cause RELATIVE).

Inputs: today's arrests, yesterday's convictions.  Outputs: suspicions.  Invariant: only
people at large defend or are accused; ties are the same symmetric ties confessions use.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import rng
from ..codes import Cause
from ..params import MechanismParams, P
from ..population import sample_ties
from .base import Mechanism as Base
from .base import Phase, Spec
from .contract import Engine

S = rng.Streams("association", "defend", "relative")


#: what the registry reads (purgesim.mechanisms): letter, place, phases of the day, states
SPEC = Spec(letter="e", position=80,
            phases=(Phase(100, "association (defenders, relatives)"),),
            states=())


class Params(MechanismParams):
    p_defend: float = P(0.002, 0.0, 1.0, unit="per tie",
                        meaning="probability that a tie of an arrested person defends him and "
                                "becomes a suspect", free=True)
    p_relative: float = P(0.01, 0.0, 1.0, unit="per relative",
                          meaning="probability that a relative of a convicted person becomes a "
                                  "suspect", free=True)
    p_relative_elite: float = P(0.3, 0.0, 1.0, unit="per relative",
                                meaning="the same for relatives of convicted officials")


class Mechanism(Base):
    def __init__(self, sim: Engine, params: Params) -> None:
        super().__init__(sim, params)
        self.defenders = 0
        self.relatives = 0

    def step(self, day: int) -> None:
        if not self.on:
            return
        sim = self.sim
        pop = sim.pop
        arrested = sim.arrested_today()
        if arrested.size and self.p.p_defend > 0:
            # each tie at large speaks up with probability p_defend, drawn per (arrested,
            # tie); only the ties drawn are looked up (population.sample_ties)
            defenders, by, _ = sample_ties(
                arrested, np.ones(arrested.size), np.full(4, self.p.p_defend), 1.0, sim.seed,
                day, S.defend, pop.geo, pop.region_start, pop.key_work, pop.key_acq,
                pop.e_superior, pop.e_unit, pop.unit_lo, pop.unit_hi, pop.sub_lo,
                pop.sub_ids)
            got = sim.accuse(defenders, Cause.DEFENDER, by)
            self.defenders += int(got.size)
        convicted = sim.prev_convicted
        if convicted.size:
            H = pop.hsize
            fam = (convicted[:, None] // H) * H + np.arange(H)[None, :]
            by = np.repeat(convicted, H)
            fam = fam.ravel()
            keep = fam != by
            fam, by = fam[keep], by[keep]
            p = np.where(by < pop.n_elite, self.p.p_relative_elite, self.p.p_relative)
            u = sim.draws(fam, S.relative)
            got = sim.accuse(fam[u < p], Cause.RELATIVE, by[u < p])
            self.relatives += int(got.size)

    def summary(self) -> dict[str, Any]:
        return {"defenders_accused": self.defenders, "relatives_accused": self.relatives}
