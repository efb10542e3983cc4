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
from ..codes import AT_LARGE, AT_LARGE_LUT, TRAIT_ELEMENT, Cause
from ..kernels import njit
from ..params import MechanismParams, P
from ..population import BITMAP_FROM, _pick, copy_into
from .base import Mechanism as Base
from .base import Phase, Spec

S = rng.Streams("routine", "count", "element_count", "pick_element", "pick_any")
_ROUTINE = int(Cause.ROUTINE)  # a plain int: an enum attribute costs a lookup each time

#: what the registry reads (purgesim.mechanisms): letter, place, phases of the day, states
SPEC = Spec(letter="-", position=30, phases=(Phase(50, "routine policing"),), states=AT_LARGE)

_NONE = np.zeros(1, dtype=np.uint8)  # no bitmap (population.pick_people's _NO_BITS)


@njit(cache=True)
def _picks(counts: np.ndarray, seed: int, day: int, region_start: np.ndarray,
           element_share: float, traits: np.ndarray, bits: np.ndarray, coarse: np.ndarray,
           use_bits: bool, state: np.ndarray, at_large: np.ndarray, element: int,
           no_bits: np.ndarray, plain: int, off: bool, tries_element: int, tries_any: int,
           s_element_count: int, s_pick_element: int,
           s_pick_any: int) -> tuple[np.ndarray, np.ndarray]:
    """The people routine policing arrests today, picked region by region: of region r's
    `counts[r]` arrests, those whose draw falls below `element_share` among its registered
    elements (traits `element`), the rest among everyone (mask `plain` = 0, no bitmap:
    `no_bits`, `off`), as `population.pick_people` picks them.  Returns the people (a
    region's elements, then its others, region after region) and the size of each of these
    groups (two per region with arrests): the region loop in one call instead of about a
    dozen NumPy and Python calls per region a day.  Every argument of `_pick` is passed in
    (`population.copy_into` says why)."""
    R = counts.shape[0]
    total = 0
    for r in range(R):
        total += counts[r]
    out = np.empty(total, dtype=np.int64)
    sizes = np.empty(2 * R, dtype=np.int64)
    m = np.int64(0)  # not literals: _pick and copy_into would compile for Literal[int](0)
    g = 0
    for r in range(R):
        k = counts[r]
        if k == 0:
            continue
        lo, hi = region_start[r], region_start[r + 1]
        u = rng.uniforms_k(seed, day, r, s_element_count, k)
        k_el = np.int64(0)
        for j in range(k):
            k_el += u[j] < element_share
        n_el = 0
        if k_el > 0:
            a = _pick(seed, day, r, s_pick_element, lo, hi, k_el, traits, element, element,
                      bits, coarse, use_bits, state, at_large, tries_element)
            n_el = a.shape[0]
            m = copy_into(out, m, a)
        sizes[g] = n_el
        n_any = 0
        if k - n_el > 0:
            b = _pick(seed, day, r, s_pick_any, lo, hi, k - n_el, traits, plain, plain,
                      no_bits, no_bits, off, state, at_large, tries_any)
            n_any = b.shape[0]
            m = copy_into(out, m, b)
        sizes[g + 1] = n_any
        g += 2
    return out[:m], sizes[:g]


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
        if not counts.any():
            return
        use_bits = pop.n >= BITMAP_FROM  # population.pick_people's choice for a trait pool
        bits, coarse = (pop.pool_bits(TRAIT_ELEMENT, TRAIT_ELEMENT) if use_bits
                        else (_NONE, _NONE))
        ids, sizes = _picks(counts, sim.seed, day, pop.region_start,
                            float(self.p.element_share), pop.traits, bits, coarse, use_bits,
                            pop.state, AT_LARGE_LUT, TRAIT_ELEMENT, _NONE, 0, False, 2000, 20,
                            S.element_count, S.pick_element, S.pick_any)
        sim.arrest_groups(ids, sizes, _ROUTINE)

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
