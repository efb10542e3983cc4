"""(i) Quotas: the mass operations on regional limits per category.

Each operation (Order 00447, the national operations) has national limits for category 1
(shoot) and category 2 (camp), split across regions in proportion to each region's target pool
(registered elements, or the diaspora nationality).  Each day a region's police arrest a share
`pace` of the limit not yet used, at most what its operational officers at large can make
(`arrests_per_officer` each, shared among the operations running) and never beyond the
granted limit times 1 + `overrun_tolerance`; when the pool runs dry they take whoever is at
hand (the quota is filled regardless).  Every week a region that has used most of its limit
petitions the centre for more and mostly gets it at first, the answer arriving
`petition_delay` days later; the centre's willingness to grant halves every
`approval_halflife` days.  Petitions are decided for each of the region's territorial units
(`units` oblasts in all), and the region's limit grows by the share of its units granted.
With `absorb_bottom_up`, people of the mass population found by naming, denunciation or
defence where an operation runs are tried under it and count against its limits.  A region
that lags far behind its limit puts its police chief under suspicion (lack of vigilance).

Inputs: operations and extra limits from the scenario.  Outputs: arrests with cause QUOTA and
the operation's index; the category of each troika sentence; initial and final limits.
Invariant: no arrests under an operation before its start, after its end, or after the halt.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import rng
from ..codes import (
    AT_LARGE_LUT,
    NATION_KEYS,
    NATION_MASK,
    NATION_SHIFT,
    SERVING_LUT,
    TRAIT_ELEMENT,
    Cause,
    Post,
    State,
)
from ..kernels import njit
from ..params import MechanismParams, P
from ..population import BITMAP_FROM, _pick, copy_into
from .base import Mechanism as Base
from .base import Phase, Spec
from .contract import Engine

S = rng.Streams("quotas", "count", "pick", "pick_any", "petition_ask", "petition_grant",
                "lagging_chief", "ceiling")

#: the posts whose holders make a region's arrests (its operational groups): the operational
#: officers and the regional chiefs' deputies and heads of departments (society.py)
OPERATIONAL = (Post.POLICE_OFFICER, Post.POLICE_REGIONAL_DEPUTY)

_QUOTA = int(Cause.QUOTA)  # a plain int: an enum attribute costs a lookup on every call


@njit(cache=True)
def troika_categories(ops: np.ndarray, regions: np.ndarray, weights: np.ndarray,
                      u: np.ndarray, limit: np.ndarray, used: np.ndarray) -> np.ndarray:
    """Category 1 (True) or 2 for each case in turn; `used` is updated as they are decided."""
    out = np.zeros(ops.size, dtype=np.bool_)
    for k in range(ops.size):
        o, r = ops[k], regions[k]
        rem0 = max(limit[o, r, 0] - used[o, r, 0], 0.0)
        rem1 = max(limit[o, r, 1] - used[o, r, 1], 0.0)
        tot = rem0 + rem1
        if tot > 0:
            p1 = rem0 / tot
        else:
            p1 = limit[o, r, 0] / max(limit[o, r, 0] + limit[o, r, 1], 1e-9)
        out[k] = u[k] < p1
        used[o, r, 0 if out[k] else 1] += weights[k]
    return out


#: what the registry reads (purgesim.mechanisms): letter, place, phases of the day, states
SPEC = Spec(letter="i", position=20, phases=(Phase(40, "quota operations"),),
            # read: the operational officers serving, and the people at large it picks
            states=(State.FREE, State.RELEASED, State.EXILE, State.DISMISSED))


_NO_BITS = np.zeros(1, dtype=np.uint8)  # no bitmap (population.pick_people's)


@njit(cache=True)
def _quota_picks(want: np.ndarray, subjects: np.ndarray, seed: int, day: int,
                 region_start: np.ndarray, traits: np.ndarray, mask: int, value: int,
                 bits: np.ndarray, coarse: np.ndarray, use_bits: bool, state: np.ndarray,
                 dry: np.ndarray, at_large: np.ndarray, no_bits: np.ndarray, plain: int,
                 off: bool, tries_pool: int, tries_any: int, s_pick: int,
                 s_pick_any: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One operation's picks of the day, region by region (`want[r]` people in region r,
    drawn with subject `subjects[r]`), as `pick_people` gave them: in the operation's
    target pool (`tries_pool` tries a person) unless the pool was found dry in the last 7
    days (`dry[r]`, updated), then, if short, among everyone (mask `plain` = 0, no bitmap,
    `tries_any` tries).  Returns the people, the size of each region's group and the
    regions, in order.  Every argument of `_pick` is passed in (`population.copy_into`)."""
    R = want.shape[0]
    total = 0
    for r in range(R):
        total += max(want[r], 0)
    out = np.empty(total, dtype=np.int64)
    sizes = np.empty(R, dtype=np.int64)
    regions = np.empty(R, dtype=np.int64)
    m = np.int64(0)  # not the literal 0: copy_into would compile for Literal[int](0) too
    g = 0
    for r in range(R):
        k = want[r]
        if k <= 0:
            continue
        lo, hi = region_start[r], region_start[r + 1]
        start = m
        if day - dry[r] >= 7:
            a = _pick(seed, day, subjects[r], s_pick, lo, hi, k, traits, mask, value, bits,
                      coarse, use_bits, state, at_large, tries_pool)
            m = copy_into(out, m, a)
        if m - start < k:  # the pool is dry: the quota is filled with whoever is at hand
            if day - dry[r] >= 7:
                dry[r] = day
            b = _pick(seed, day, subjects[r], s_pick_any, lo, hi, k - (m - start), traits,
                      plain, plain, no_bits, no_bits, off, state, at_large, tries_any)
            m = copy_into(out, m, b)
        sizes[g] = m - start
        regions[g] = r
        g += 1
    return out[:m], sizes[:g], regions[:g]


class Params(MechanismParams):
    pace: float = P(0.012, 0.0, 0.5, unit="1/day",
                    meaning="share of the unused limit a region arrests each day", free=True)
    petition_threshold: float = P(0.7, 0.0, 1.0, unit="share",
                                  meaning="share of its limit a region must have used to "
                                          "petition for more")
    petition_prob: float = P(0.5, 0.0, 1.0, unit="1/week",
                             meaning="probability that an eligible region petitions in a week",
                             free=True)
    approval_prob: float = P(0.9, 0.0, 1.0, unit="share",
                             meaning="probability that the centre grants a petition at the "
                                     "start of an operation")
    approval_halflife: float = P(120.0, 1.0, 10000.0, unit="days",
                                 meaning="the centre's willingness to grant petitions halves "
                                         "every this many days of an operation", free=True)
    increment_cat1: float = P(0.25, 0.0, 3.0, unit="share",
                              meaning="growth of the category-1 limit per granted petition",
                              free=True)
    increment_cat2: float = P(0.10, 0.0, 3.0, unit="share",
                              meaning="growth of the category-2 limit per granted petition",
                              free=True)
    national_limit_factor: float = P(1.0, 0.0, 20.0, unit="x",
                                     meaning="multiplies the initial limits of the national "
                                             "operations (which had no published limits)",
                                     free=True)
    units: int = P(64, 1, 10000, unit="units",
                   meaning="territorial units (oblasts, krais, republics) that petition "
                           "separately, shared among the regions by population")
    absorb_bottom_up: bool = P(False, meaning="people found by naming, denunciation or "
                                              "defence where an operation runs are tried under "
                                              "it (troika, limits): its 'other anti-Soviet "
                                              "elements'")
    lag_threshold: float = P(0.2, 0.0, 1.0, unit="share",
                             meaning="a region that has used less than this share of its limit "
                                     "after 30 days puts its police chief under suspicion")
    lag_prob: float = P(0.05, 0.0, 1.0, unit="1/week",
                        meaning="weekly probability that a lagging chief is accused")
    arrests_per_officer: float = P(0.6, 0.0, 100.0, unit="1/day per officer",
                                   meaning="most quota arrests (full scale) a region's "
                                           "operational officers at large make a day, per "
                                           "officer: the arrest stage's capacity")
    overrun_tolerance: float = P(0.1, 0.0, 10.0, unit="share",
                                 meaning="a region's arrests under an operation never exceed "
                                         "its granted limit times 1 + this share (overruns "
                                         "the centre tolerated)")
    petition_delay: int = P(3, 0, 365, unit="days",
                            meaning="days from a region's petition to the centre's answer; "
                                    "a region waits for the answer before it asks again")


class Mechanism(Base):
    def __init__(self, sim: Engine, params: Params) -> None:
        super().__init__(sim, params)
        sc = sim.sc
        pop = sim.pop
        self.ops = sc.operations
        O, R = len(self.ops), pop.n_regions
        self.pool = np.zeros((O, R))
        for o, op in enumerate(self.ops):
            for r, rg in enumerate(sc.regions):
                share = rg.element_share if op.target == "element" else \
                    rg.nationalities.get(op.target, 0.0)
                if op.regions and rg.name not in op.regions:
                    share = 0.0
                self.pool[o, r] = share * rg.population
        self.limit = np.zeros((O, R, 2))
        names = [rg.name for rg in sc.regions]
        for o, op in enumerate(self.ops):
            f = 1.0 if op.target == "element" else self.p.national_limit_factor
            self._initial_limits(o, op.cat1 * f, op.cat2 * f, {
                names.index(k): (v.cat1 * f if v.cat1 is not None else None,
                                 v.cat2 * f if v.cat2 is not None else None)
                for k, v in op.limits_by_region.items()})
        self.initial_region = self.limit.copy()  # [O, R, 2]
        self.initial = self.limit.sum(axis=1).copy()  # [O, 2]
        self.arrested = np.zeros((O, R))  # full-scale arrests so far
        self.used = np.zeros((O, R, 2))  # full-scale sentences by category
        self.dry = np.full((O, R), -(10**9), dtype=np.int64)  # day a pool was found dry
        self.petitions = np.zeros(O, dtype=np.int64)
        self.granted = np.zeros(O, dtype=np.int64)
        self.start = np.array([sc.day_of(op.start) for op in self.ops], dtype=np.int64)
        self.end = np.array([sc.day_of(op.end) if op.end else 10**9 for op in self.ops],
                            dtype=np.int64)
        self.masks = []
        for op in self.ops:
            if op.target == "element":
                self.masks.append((TRAIT_ELEMENT, TRAIT_ELEMENT))
            else:
                code = NATION_KEYS.index(op.target) + 1
                self.masks.append((NATION_MASK, code << NATION_SHIFT))
        self.reg_chief = pop.heads_with_post(Post.POLICE_REGIONAL_CHIEF)
        people = np.array([rg.population for rg in sc.regions], dtype=np.float64)
        self.n_units = np.maximum(np.round(self.p.units * people / people.sum()), 1).astype(
            np.int64)
        # national operations claim their nationality first; an element operation takes
        # whoever else is found (Order 00447's "other anti-Soviet elements")
        self.absorb_order = sorted(range(O), key=lambda o: self.ops[o].target == "element")
        self._absorbing: tuple[int, list[int]] = (-1, [])  # (day, operations running)
        #: (day, halted, on) -> which operations run (`running`)
        self._running: tuple[Any, np.ndarray, list[int]] = (None, np.zeros(0, bool), [])
        #: the draw subject of each (operation, region): rng.subject(o, r)
        self.subjects = np.array([rng.subjects(o, np.arange(R, dtype=np.int64))
                                  for o in range(O)], dtype=np.int64).reshape(O, R)
        # the arrest stage: the operational officers of each region (sorted by region, and
        # by id for the look-up of whose state changed) and their count at large, refreshed
        # only for the regions where an officer appears in the event log since the last count
        heads = np.flatnonzero(np.isin(pop.e_post, [int(p) for p in OPERATIONAL]))
        self.at_large = sim.state_count((heads * pop.hsize).astype(np.int64),
                                        pop.e_region[heads].astype(np.int64), R, SERVING_LUT)
        self.officers = self.at_large.members  # sorted by region
        #: petitions: (day of the answer, operation, share of units granted by region)
        self.pending: list[tuple[int, int, np.ndarray]] = []
        self.answer_day = np.full((O, R), -1, dtype=np.int64)  # a region waits until then
        self.capped_days = np.zeros(R, dtype=np.int64)  # days the officers' capacity bound
        self.ceiling_refused = np.zeros(O)  # full-scale arrests refused at the ceiling
        #: the ceiling's random rounding: one draw per operation and region for the run (the
        #: day key -1 is no day of the run)
        self.ceiling_u = rng.uniforms(sim.seed, -1, self.subjects.ravel(),
                                      S.ceiling).reshape(self.subjects.shape)
        #: operation -> the draw subjects of its petitioning units (rng.subjects(o, r, unit)),
        #: region after region, made at its first petitions
        self._unit_subjects: dict[int, np.ndarray] = {}

    # ------------------------------------------------------------------ the arrest stage
    def officers_serving(self) -> np.ndarray:
        """Operational officers at large by region (READ ONLY).  Cost in proportion to
        events: a region is counted again only if one of its officers appears in the event
        log since the last call (`tables.StateCount`)."""
        return self.at_large.counts()

    def ceiling(self, o: int) -> np.ndarray:
        """The most arrests (full scale) each region may make under operation `o`: its
        granted limit times 1 + overrun_tolerance."""
        return self.limit[o].sum(axis=1) * (1.0 + self.p.overrun_tolerance)

    def room(self, o: int) -> np.ndarray:
        """Simulated people each region may still arrest under `o` before its ceiling: the
        room left (full scale x scale) rounded down or up at random with ONE keyed draw per
        operation and region for the whole run (`self.ceiling_u`), so that at every scale
        the arrests reach the ceiling on average, never more than one simulated person
        beyond it.  A fresh draw every day would give a region whose room is a fraction of
        one simulated person a new chance each day, and so an overrun in expectation at
        small scales (found by tests/test_scale_invariance.py: a German operation's few
        dozen arrests in Armenia came out at 500 at scale 0.002 and 200 at 0.01)."""
        left = (self.ceiling(o) - self.arrested[o]) * self.sim.pop.scale
        return np.maximum(np.floor(left + self.ceiling_u[o]), 0).astype(np.int64)

    def rooms(self, ops: np.ndarray) -> np.ndarray:
        """`room` of several operations at once, one row each (the same draws)."""
        left = (self.limit[ops].sum(axis=2) * (1.0 + self.p.overrun_tolerance)
                - self.arrested[ops]) * self.sim.pop.scale
        return np.maximum(np.floor(left + self.ceiling_u[ops]), 0).astype(np.int64)

    def _initial_limits(self, o: int, cat1: float, cat2: float,
                        given: dict[int, tuple[float | None, float | None]]) -> None:
        """The order's limits where it gives a region one (`limits_by_region`); the rest of
        each category is shared by the regions not given one, by their target pools (or, if
        none of them has a pool, by all of them)."""
        for c, total in enumerate((cat1, cat2)):
            fixed = {r: v[c] for r, v in given.items() if v[c] is not None}
            for r, x in fixed.items():
                self.limit[o, r, c] += x
            rest = max(total - sum(fixed.values()), 0.0)
            w = self.pool[o].copy()
            w[list(fixed)] = 0.0
            if w.sum() <= 0:
                w = np.ones_like(w)
                w[list(fixed)] = 0.0
            if w.sum() > 0:
                self.limit[o, :, c] += rest * w / w.sum()

    def _split(self, o: int, cat1: float, cat2: float) -> None:
        w = self.pool[o]
        w = w / w.sum() if w.sum() > 0 else np.full_like(w, 1.0 / w.size)
        self.limit[o, :, 0] += cat1 * w
        self.limit[o, :, 1] += cat2 * w

    def add_limits(self, key: str, cat1: float, cat2: float) -> None:
        o = [op.key for op in self.ops].index(key)
        self._split(o, cat1, cat2)

    def active(self, o: int, day: int) -> bool:
        return self.on and not self.sim.halted and self.start[o] <= day <= self.end[o]

    def running(self, day: int) -> tuple[np.ndarray, list[int]]:
        """`active` for every operation at once, and the operations running in their
        order: found once for a day and a state of the halt (the phases ask tens of times a
        day).  The array is READ ONLY."""
        key = (day, self.sim.halted, self.on)
        if self._running[0] != key:
            now = (self.start <= day) & (day <= self.end)
            if not (self.on and not self.sim.halted):
                now[:] = False
            self._running = (key, now, np.flatnonzero(now).tolist())
        return self._running[1], self._running[2]

    def step(self, day: int) -> None:
        sim = self.sim
        pop = sim.pop
        scale = pop.scale
        self._answers(day)
        running = self.running(day)[1]
        if not running:
            return
        # the day's wanted arrests of each operation and region (full scale), then the arrest
        # stage's capacity: the region's operational officers at large x arrests_per_officer,
        # shared among its operations in proportion to what each wants
        run = np.array(running)
        remaining = self.limit[run].sum(axis=2) - self.arrested[run]  # [operation, region]
        go_all = (self.pool[run] > 0) & (remaining > 0)
        rate_all = self.p.pace * remaining
        if self.officers.size:
            want = np.zeros(pop.n_regions)
            for rate, go in zip(rate_all, go_all):  # added operation by operation
                want += np.where(go, rate, 0.0)
            cap = self.officers_serving() * self.p.arrests_per_officer
            over = want > cap
            factor = np.where(over, cap / np.maximum(want, 1e-300), 1.0)
            if over.any():
                self.capped_days += over
                rate_all = rate_all * factor
        # the day's counts and rooms of all the operations that arrest and their regions at
        # once (keyed draws, each element as operation by operation and region by region:
        # an operation's arrests change neither another's limit, its count nor its room)
        moving = go_all.any(axis=1)
        if moving.any():
            ops_m = run[moving]
            subjects = self.subjects[ops_m]
            counts_all = rng.poissons_keyed((rate_all[moving] * scale).ravel(), sim.seed, day,
                                            subjects.ravel(), S.count).reshape(subjects.shape)
            room_all = self.rooms(ops_m)
        i = -1
        for j, o in enumerate(running):
            go = go_all[j]
            mask, value = self.masks[o]
            if not moving[j]:
                if (day - self.start[o]) % 7 == 6:
                    self._weekly(o, day)
                continue
            i += 1
            counts, room = counts_all[i], room_all[i]
            want = np.where(go, counts, 0)
            over = np.flatnonzero(want > room)
            for r in over.tolist():  # never beyond the granted limit and the tolerated overrun
                self.ceiling_refused[o] += (int(counts[r]) - room[r]) / scale
            if over.size:
                want[over] = room[over]
            if want.any():
                # the picks region by region in one call (found dry this week: not searched
                # again, and the quota filled with whoever is at hand)
                use_bits = mask != 0 and pop.n >= BITMAP_FROM
                bits, coarse = (pop.pool_bits(mask, value) if use_bits
                                else (_NO_BITS, _NO_BITS))
                ids, sizes, regions = _quota_picks(
                    want, self.subjects[o], sim.seed, day, pop.region_start, pop.traits,
                    mask, value, bits, coarse, use_bits, pop.state, self.dry[o],
                    AT_LARGE_LUT, _NO_BITS, 0, False, 2000, 20, S.pick, S.pick_any)
                # the operation's arrests region by region, as one call each (a region's
                # picks see only its own people: arresting after all of them is the same)
                got = sim.arrest_groups(ids, sizes, _QUOTA, op=o)
                self.arrested[o, regions] += np.array(got, dtype=np.float64) / scale
            if (day - self.start[o]) % 7 == 6:
                self._weekly(o, day)

    def absorb(self, ids: np.ndarray, causes: np.ndarray, ops: np.ndarray) -> np.ndarray:
        """The operation each arrest is tried under: people of the mass population found by
        naming, denunciation or defence in a region where an operation runs join it (its
        troika, its limits), as the troikas' lists did; others keep theirs."""
        sim = self.sim
        if not (self.on and self.p.absorb_bottom_up) or sim.halted or ids.size == 0:
            return ops
        if self._absorbing[0] != sim.day:  # the operations running today, found once a day
            now = self.running(sim.day)[0]
            self._absorbing = (sim.day, [o for o in self.absorb_order if now[o]])
        active = self._absorbing[1]
        if not active:
            return ops
        pop = sim.pop
        cand = (ops < 0) & (ids >= pop.n_elite) & (
            (causes == Cause.CONFESSION) | (causes == Cause.DENUNCIATION)
            | (causes == Cause.DEFENDER))
        if not cand.any():
            return ops
        ops = ops.copy()
        idx = np.flatnonzero(cand)
        people = ids[idx]
        reg = pop.regions_of(people)
        traits = pop.traits[people]
        taken = np.zeros(idx.size, dtype=bool)
        for o in active:
            mask, value = self.masks[o]
            m = ~taken & (self.pool[o, reg] > 0)
            if self.ops[o].target != "element":
                m &= (traits & mask) == value
            if m.any():
                m = self._within_ceiling(o, m, reg)
            if m.any():
                ops[idx[m]] = o
                taken |= m
                np.add.at(self.arrested[o], reg[m], 1.0 / pop.scale)
        return ops

    def _within_ceiling(self, o: int, m: np.ndarray, reg: np.ndarray) -> np.ndarray:
        """The candidates `m` an operation may still take: in each region, the first ones in
        order up to its room below the ceiling; the others are tried by the courts (or by
        the next operation running)."""
        sel = np.flatnonzero(m)
        r_sel = reg[sel]
        room = self.room(o)
        if (np.bincount(r_sel, minlength=room.size) <= room).all():
            return m
        order = np.argsort(r_sel, kind="stable")
        sorted_r = r_sel[order]
        rank = np.empty(sel.size, dtype=np.int64)
        rank[order] = np.arange(sel.size) - np.searchsorted(sorted_r, sorted_r, side="left")
        ok = rank < room[r_sel]
        self.ceiling_refused[o] += float((~ok).sum()) / self.sim.pop.scale
        out = np.zeros_like(m)
        out[sel[ok]] = True
        return out

    def _answers(self, day: int) -> None:
        """The centre's answers to petitions that arrive today raise the regions' limits."""
        if not self.pending:
            return
        due = [x for x in self.pending if x[0] <= day]
        if not due:
            return
        self.pending = [x for x in self.pending if x[0] > day]
        for _, o, share in due:
            self._grant(o, share)

    def _grant(self, o: int, share: np.ndarray) -> None:
        self.limit[o, :, 0] *= 1 + self.p.increment_cat1 * share
        self.limit[o, :, 1] *= 1 + self.p.increment_cat2 * share

    def _weekly(self, o: int, day: int) -> None:
        """Petitions, decided unit by unit (oblasts): a region's limit grows by the share of
        its units granted more, so that one draw does not decide a whole region's fate."""
        sim = self.sim
        R = sim.pop.n_regions
        fill = self.arrested[o] / np.maximum(self.limit[o].sum(axis=1), 1e-9)
        regions = self.subjects[o]  # rng.subjects(o, region)
        age = day - self.start[o]
        p_grant = self.p.approval_prob * 0.5 ** (age / self.p.approval_halflife)
        share = np.zeros(R)
        delay = self.p.petition_delay
        waiting = self.answer_day[o] > day  # a petition of this region awaits its answer
        asking = (fill >= self.p.petition_threshold) & ~waiting
        if asking.any():
            # the units of all the regions that may petition, in one draw of each stream
            # (keyed draws: the same as region by region), counted region by region
            if o not in self._unit_subjects:
                self._unit_subjects[o] = np.concatenate([
                    rng.subjects(o, r, np.arange(self.n_units[r], dtype=np.int64))
                    for r in range(R)])
            units = self._unit_subjects[o][np.repeat(asking, self.n_units)]
            ask = sim.draws(units, S.petition_ask) < self.p.petition_prob
            grant = ask & (sim.draws(units, S.petition_grant) < p_grant)
            r_ask = np.flatnonzero(asking)
            n = self.n_units[r_ask]
            starts = np.concatenate(([0], np.cumsum(n)[:-1]))
            n_ask = np.add.reduceat(ask.astype(np.int64), starts)
            n_grant = np.add.reduceat(grant.astype(np.int64), starts)
            self.petitions[o] += int(n_ask.sum())
            self.granted[o] += int(n_grant.sum())
            share[r_ask] = n_grant / n
            self.answer_day[o, r_ask[n_ask > 0]] = day + delay
        if delay == 0:
            self._grant(o, share)
        elif share.any():
            self.pending.append((day + delay, o, share))
        if day - self.start[o] >= 30 and self.reg_chief.size == R:
            lag = (fill < self.p.lag_threshold) & (self.pool[o] > 0)
            w = sim.draws(regions, S.lagging_chief)
            chiefs = self.reg_chief[lag & (w < self.p.lag_prob)]
            sim.accuse(chiefs, Cause.VIGILANCE)

    def category(self, ops: np.ndarray, regions: np.ndarray, weights: np.ndarray,
                 u: np.ndarray) -> np.ndarray:
        """Troika sentences for quota cases: True = category 1 (shoot).

        A case goes to category 1 with the probability of the share of category-1 limit still
        unused in its region, so that both limits fill together (cases in the order given).
        """
        return troika_categories(ops.astype(np.int64), regions.astype(np.int64),
                                 weights.astype(np.float64), u, self.limit, self.used)

    def check_day(self, day: int) -> str | None:
        """Invariant (with --check): the count of officers at large kept between changes
        equals a fresh count."""
        if not self.officers.size:
            return None
        if self.at_large.stale():
            return "the quotas' count of operational officers at large is stale"
        return None

    def summary(self) -> dict[str, Any]:
        out = {}
        final = self.limit.sum(axis=1)
        for o, op in enumerate(self.ops):
            out[op.key] = {
                "name": op.name, "order": op.order,
                "limits_initial": {"cat1": round(float(self.initial[o, 0])),
                                   "cat2": round(float(self.initial[o, 1]))},
                "limits_final": {"cat1": round(float(final[o, 0])),
                                 "cat2": round(float(final[o, 1]))},
                "petitions": int(self.petitions[o]), "granted": int(self.granted[o]),
                "refused_at_ceiling": round(float(self.ceiling_refused[o])),
                "limits_by_region": {
                    self.sim.pop.region_names[r]: {
                        "initial_cat1": round(float(self.initial_region[o, r, 0])),
                        "initial_cat2": round(float(self.initial_region[o, r, 1])),
                        "final_cat1": round(float(self.limit[o, r, 0])),
                        "final_cat2": round(float(self.limit[o, r, 1])),
                        "arrested": round(float(self.arrested[o, r])),
                        "used_cat1": round(float(self.used[o, r, 0])),
                        "used_cat2": round(float(self.used[o, r, 1]))}
                    for r in range(self.sim.pop.n_regions)},
            }
        return out


__all__ = ["Params", "Mechanism", "State"]
