"""Routine political policing: the arrests that went on outside the campaigns.

The NKVD convicted about 275,000 people for counter-revolutionary crimes in 1936 and about
64,000 in 1939 (record rows SU-Y1936-CONV, SU-Y1939-CONV) without mass operations. This module
keeps that background: a national rate of arrests per year (before the operations, while they
run, after the halt), spread over the regions in
proportion to their population (times each region's `routine_factor`: civil-war regions) and
drawn preferentially from registered elements (a share `element_share`). Outputs: arrests with
cause ROUTINE.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import rng
from ..codes import TRAIT_ELEMENT, Cause
from ..params import MechanismParams, P
from ..population import pick_people
from .base import Mechanism as Base
from .base import Phase, Spec

S = rng.Streams("routine", "count", "element_count", "pick_element", "pick_any")
_ROUTINE = int(Cause.ROUTINE)  # a plain int: an enum attribute costs a lookup each time

#: what the registry reads (purgesim.mechanisms): letter, place, phases of the day, states
SPEC = Spec(letter="-", position=30, phases=(Phase(50, "routine policing"),), states=())


class Params(MechanismParams):
    rate_per_year: float = P(240000.0, 0.0, 2e6, unit="arrests/year (full scale)",
                             meaning="routine political arrests before the halt", free=True)
    rate_in_operations: float | None = P(None, 0.0, 2e6, unit="arrests/year (full scale)",
                                         meaning="routine political arrests while a mass "
                                                 "operation runs (ordinary cases then went "
                                                 "to the operations); unset: rate_per_year",
                                         free=True)
    rate_after_halt: float = P(45000.0, 0.0, 2e6, unit="arrests/year (full scale)",
                               meaning="routine political arrests after the halt", free=True)
    element_share: float = P(0.3, 0.0, 1.0, unit="share",
                             meaning="share of routine arrests drawn from registered elements")


class Mechanism(Base):
    def step(self, day: int) -> None:
        if not self.on:
            return
        sim = self.sim
        pop = sim.pop
        rate = self.p.rate_after_halt if sim.halted else self.p.rate_per_year
        if not sim.halted and self.p.rate_in_operations is not None:
            if sim.mass_operation_running(day):
                rate = self.p.rate_in_operations
        # the day's counts of all regions at once (the same draws as region by region)
        counts = rng.poissons_keyed(self._means(rate), sim.seed, day,
                                    self._regions(pop.n_regions), S.count)
        picked: list[np.ndarray] = []
        for r in np.flatnonzero(counts).tolist():
            lo, hi = int(pop.region_start[r]), int(pop.region_start[r + 1])
            k = int(counts[r])
            k_el = int(np.count_nonzero(rng.uniforms_k(sim.seed, day, r, S.element_count, k)
                                        < self.p.element_share))
            a = pick_people(sim.seed, day, r, S.pick_element, lo, hi, k_el, pop,
                            TRAIT_ELEMENT, TRAIT_ELEMENT, 2000)
            b = pick_people(sim.seed, day, r, S.pick_any, lo, hi, k - a.size,
                            pop, 0, 0, 20)
            picked += [a, b]
        # arrested region by region, registered elements first, as if one call each (the
        # picks of a region see only its own people: arresting after all picks is the same)
        sim.arrest_in_turn(picked, _ROUTINE)

    def _means(self, rate: float) -> np.ndarray:
        """The regions' expected arrests a day at a national `rate` a year: the same few
        rates every day, so each is computed once (the same arithmetic, in the same order)."""
        cache = self.__dict__.setdefault("_lams", {})
        lams = cache.get(rate)
        if lams is None:
            pop = self.sim.pop
            total = float(pop.region_start[-1] - pop.region_start[0])
            sizes = np.diff(pop.region_start)
            factors = np.array([rg.routine_factor for rg in self.sim.sc.regions],
                               dtype=np.float64)
            lams = cache[rate] = rate / 365.0 * pop.scale * sizes / total * factors
        return lams

    def _regions(self, n: int) -> np.ndarray:
        """The regions' indices, the subjects of the count draws (made once)."""
        r = getattr(self, "_region_ids", None)
        if r is None or r.size != n:
            r = self._region_ids = np.arange(n, dtype=np.int64)
        return r

    def summary(self) -> dict[str, Any]:
        return {}
