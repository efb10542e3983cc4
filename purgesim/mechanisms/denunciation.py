"""(c) Careerist denunciation: officials denounce their superiors to get their posts.

Each day a number of people at large denounce their superior (the head of their workplace; in
the elite, the holder of the post above theirs).  The rate rises with the local climate: the
arrests of the last 30 days per thousand inhabitants of the region.  When a denounced superior
is arrested, the denouncer takes the post with probability `promotion_prob` (a PROMOTED
event).  Posts are not otherwise reassigned: the promotion is recorded, not simulated further.

Inputs: the recorder's arrests by region (for the climate), yesterday's arrests (for
promotions).  Outputs: suspicions with cause DENUNCIATION (by = the denouncer), PROMOTED
events.  Invariant: a denouncer is at large when he denounces.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import rng
from ..codes import AT_LARGE_LUT, Cause, Event, State
from ..kernels import njit
from ..params import MechanismParams, P
from ..population import boss_of, pick_in_regions
from ..tables import Awaiting
from .base import Mechanism as Base
from .base import Phase, Spec
from .contract import Engine

S = rng.Streams("denunciation", "count", "pick", "elite_count", "elite_superior",
                "elite_subordinate", "promote")


#: what the registry reads (purgesim.mechanisms): letter, place, phases of the day, states
SPEC = Spec(letter="c", position=40,
            phases=(Phase(60, "denunciations"),),
            states=(State.FREE, State.RELEASED, State.EXILE, State.DISMISSED))


_NOBODY = np.empty(0, dtype=np.int64)


@njit(cache=True)
def _bosses(ids: np.ndarray, geo: np.ndarray, region_start: np.ndarray, key_work: np.ndarray,
            e_superior: np.ndarray) -> np.ndarray:
    """Each person's structural superior (`population.boss_of`; -1 if none), for an array."""
    out = np.empty(ids.shape[0], dtype=np.int64)
    for k in range(ids.shape[0]):
        out[k] = boss_of(ids[k], geo, region_start, key_work, e_superior)
    return out


class Params(MechanismParams):
    rate: float = P(2e-7, 0.0, 1e-3, unit="1/person/day",
                    meaning="baseline rate at which a person denounces his superior", free=True)
    elite_rate: float = P(2e-4, 0.0, 1e-1, unit="1/superior/day",
                          meaning="baseline rate at which an elite official with subordinates "
                                  "is denounced by one of them", free=True)
    climate_gain: float = P(2.0, 0.0, 100.0, unit="per arrest per 1,000 people in 30 days",
                            meaning="how much the denunciation rate rises with recent arrests",
                            free=True)
    promotion_prob: float = P(0.3, 0.0, 1.0, unit="share",
                              meaning="probability that the denouncer gets the post of the "
                                      "superior he denounced")


class Mechanism(Base):
    def __init__(self, sim: Engine, params: Params) -> None:
        super().__init__(sim, params)
        self.denounced_by = Awaiting(sim.pop.n)  # person -> his denouncer
        self.promotions = 0
        self.denunciations = 0
        pops = np.array([rg.population for rg in sim.sc.regions], dtype=np.float64)
        self.region_pop = pops
        pop = sim.pop
        sup = pop.e_superior.astype(np.int64)
        has = sup >= 0
        order = np.argsort(sup[has], kind="stable")
        self.sub_heads = np.flatnonzero(has)[order]  # subordinates grouped by superior
        sups = sup[has][order]
        self.superiors, self.sub_lo = np.unique(sups, return_index=True)
        self.sub_hi = np.append(self.sub_lo[1:], sups.size)
        self.region_size = np.diff(pop.region_start)  # simulated people in each region
        self.region_ids = np.arange(pop.n_regions, dtype=np.int64)  # draw subjects

    def climate(self, day: int) -> np.ndarray:
        rec = self.sim.rec
        recent = rec.arrests_region[max(day - 30, 0):day].sum(axis=0)
        return 1.0 + self.p.climate_gain * recent / self.region_pop * 1000.0

    def step(self, day: int) -> None:
        if not self.on:
            return
        sim = self.sim
        pop = sim.pop
        self._promote(day)
        climate = self.climate(day)
        # the day's counts of all regions at once (the same draws as region by region)
        counts = rng.poissons_keyed(self.p.rate * climate * self.region_size, sim.seed, day,
                                    self.region_ids, S.count)
        who_mass = whom_mass = _NOBODY
        if counts.any():  # the picks region by region, and whose superior each is
            picked = pick_in_regions(sim.seed, day, S.pick, counts, pop, 0, 0, 20)
            bosses = _bosses(picked, pop.geo, pop.region_start, pop.key_work, pop.e_superior)
            has = bosses >= 0
            who_mass, whom_mass = picked[has], bosses[has]
        who: list[int] = []
        whom: list[int] = []
        # elite: a superior is denounced by one of his subordinates (a rival for his post)
        n_sup = self.superiors.size
        k = rng.poisson_keyed(self.p.elite_rate * float(climate.mean()) * n_sup, sim.seed,
                              day, 0, S.elite_count)
        for j in range(k):
            a = int(rng.uniform_k(sim.seed, day, 0, S.elite_superior, j) * n_sup)
            lo, hi = int(self.sub_lo[a]), int(self.sub_hi[a])
            v = rng.uniform_k(sim.seed, day, 0, S.elite_subordinate, j)
            d = int(self.sub_heads[lo + int(v * (hi - lo))]) * pop.hsize
            b = int(self.superiors[a]) * pop.hsize
            if AT_LARGE_LUT[pop.state[d]]:
                who.append(d)
                whom.append(b)
        if not who and not who_mass.size:
            return
        whom_a = np.concatenate([whom_mass, np.array(whom, dtype=np.int64)])
        who_a = np.concatenate([who_mass, np.array(who, dtype=np.int64)])
        n_who = who_a.size
        sim.record(whom_a, Event.DENOUNCED, int(Cause.DENUNCIATION), who_a)
        self.denunciations += n_who
        accused = sim.accuse(whom_a, Cause.DENUNCIATION, who_a)
        # each accused person's first denouncer today (accused: distinct, in order of id)
        order = np.argsort(whom_a, kind="stable")
        first = order[np.searchsorted(whom_a[order], accused)]
        self.denounced_by.hold(accused, who_a[first])

    def _promote(self, day: int) -> None:
        sim = self.sim
        for t, d in self.denounced_by.pop_arrested(sim.prev_arrested):
            if AT_LARGE_LUT[sim.pop.state[d]] and \
                    rng.uniform(sim.seed, day, d, S.promote) < self.p.promotion_prob:
                sim.record(np.array([d], dtype=np.int64), Event.PROMOTED, 0, int(t))
                self.promotions += 1

    def summary(self) -> dict[str, Any]:
        return {"denunciations": self.denunciations, "promotions": self.promotions}
