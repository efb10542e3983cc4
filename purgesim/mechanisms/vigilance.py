"""(d) The police act on accusations; vigilance pressure makes them act on almost all.

Each suspect waits in his region's queue.  The region's officers at large can take on
`capacity_per_officer` arrests a day each (counted at full scale).  An officer handed an
accusation acts on it with probability ``1 - (1 - act_base) * exp(-pressure_gain * pressure)``
where `pressure` is the vigilance campaign's level, set by scenario events.  An accusation let
go is remembered: if that person is later arrested through any channel, the officers who
let him go are accused "for lack of vigilance", each with probability
`lack_of_vigilance_prob`: their number is binomial over the real people the simulated person
stands for (his weight), the first being the officer who handled him, the others serving
officers of his region (at scale 1 or in the elite: one Bernoulli draw for that officer).

Scale: a simulated person of the mass population stands for 1/scale real people, each of whom
was let go by an officer (who are not scaled); so the expected number of officers accused is
the same at every scale.  Queue capacity is likewise counted at full scale (weights).

The arrest of a top official (Politburo, Central Committee, people's commissar, marshal, army
commander) needs the leader's sanction as well: it is given with probability
``1 - exp(-top_sanction * pressure)``.

A sanction withheld, an accusation that lapses after `max_wait` days and one against a
protected person are logged as DROPPED with no officer (`by` = -1) and make nobody liable.

Inputs: the suspect queue, today's pressure, yesterday's arrests.  Outputs: arrests (cause =
the suspicion's cause), DROPPED events, suspicions of officers with cause VIGILANCE.
Invariant: an officer who is not at large handles no case.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import rng
from ..codes import POLICE_STAFF, SERVING_LUT, Cause, Event, Post, State
from ..kernels import njit
from ..params import MechanismParams, P
from ..tables import Awaiting, holds, member
from .base import Mechanism as Base
from .base import Phase, Spec
from .contract import Engine

S = rng.Streams("vigilance", "act", "sanction", "handling_officer", "liable_count",
                "liable_officer")

#: state code -> an officer in that state serves (free, or released and back at work)
SERVING = SERVING_LUT


@njit(cache=True)
def _handle(region: np.ndarray, w: np.ndarray, budget: np.ndarray, capacity: np.ndarray,
            bank: float) -> np.ndarray:
    """Which queued cases each region's police handle today (in queue order, while the
    region's budget lasts), updating the budgets: the loop over regions in one pass."""
    n = region.shape[0]
    handled = np.zeros(n, dtype=np.bool_)
    R = budget.shape[0]
    seen = np.zeros(R, dtype=np.bool_)
    for k in range(n):
        seen[region[k]] = True
    for r in range(R):
        if not seen[r]:
            continue
        cum = 0.0
        first = True
        last = 0.0
        any_ok = False
        for k in range(n):
            if region[k] != r:
                continue
            cum += w[k]
            ok = cum <= budget[r]
            if first and not ok and budget[r] >= capacity[r] * bank and capacity[r] * bank > 0:
                ok = True
            first = False
            if ok:
                handled[k] = True
                last = cum
                any_ok = True
        budget[r] = max(budget[r] - (last if any_ok else 0.0), 0.0)
    return handled


#: what becomes of a queued case today (`_sort_cases`)
#: (the cases that leave the queue without an arrest come last: ``fate >= DROPS``)
WAITS, ACTS, ACTS_ON_TOP, DROPS, LAPSES, WITHHELD = 0, 1, 2, 3, 4, 5


@njit(cache=True)
def _sort_cases(rows: np.ndarray, serving: np.ndarray, per_officer: float,
                bank: float, budget: np.ndarray, n_elite: int, w_mass: float, day: int,
                max_wait: int, u: np.ndarray, p_act: float, top: np.ndarray) -> np.ndarray:
    """What becomes of each queued case today, in one pass instead of the two dozen small
    NumPy calls it replaces: the regions' capacity (`serving`, the officers at large,
    times `per_officer`) tops up their budgets (kept for `bank` days), the police handle cases in
    queue order while the budget lasts (`_handle`), a handled case is acted on if its draw
    `u` is below `p_act` (ACTS, or ACTS_ON_TOP when the leader must sanction it) and let go
    otherwise (DROPS), a case not handled for `max_wait` days LAPSES, the others WAIT.
    `rows` is the police queue (engine.QUEUE_DTYPE); `budget` is updated in place."""
    n = rows.shape[0]
    capacity = serving * per_officer
    for r in range(budget.shape[0]):
        budget[r] = min(budget[r] + capacity[r], capacity[r] * bank)
    region = np.empty(n, dtype=np.int64)
    w = np.empty(n, dtype=np.float64)
    for k in range(n):
        region[k] = rows[k].region
        w[k] = 1.0 if rows[k].person < n_elite else w_mass
    handled = _handle(region, w, budget, capacity, bank)
    out = np.zeros(n, dtype=np.int8)
    for k in range(n):
        if handled[k]:
            if u[k] < p_act:
                out[k] = ACTS
                if top.shape[0] and holds(top, rows[k].person):
                    out[k] = ACTS_ON_TOP
            else:
                out[k] = DROPS
        elif day - np.int64(rows[k].day) >= max_wait:
            out[k] = LAPSES
    return out


@njit(cache=True)
def handling_officers(people: np.ndarray, regions: np.ndarray, seed: int, day: int,
                      officers: np.ndarray, region_lo: np.ndarray, region_hi: np.ndarray,
                      state: np.ndarray, stream: int) -> np.ndarray:
    """The officer at large in each suspect's region who let his accusation go (up to 8
    keyed tries; -1 if none was found)."""
    out = np.full(people.size, -1, dtype=np.int64)
    for k in range(people.size):
        lo, hi = region_lo[regions[k]], region_hi[regions[k]]
        h = rng.key(seed, day, people[k], stream)
        for j in range(8):
            if hi <= lo:
                break
            v = rng.kth(h, j)
            o = officers[lo + int(v * (hi - lo))]
            if SERVING[state[o]]:
                out[k] = o
                break
    return out


@njit(cache=True)
def pick_officers(region: int, n: int, seed: int, day: int, subject: int, stream: int,
                  officers: np.ndarray, region_lo: np.ndarray, region_hi: np.ndarray,
                  state: np.ndarray) -> np.ndarray:
    """Up to n serving officers of one region, drawn with replacement (8 keyed tries each)."""
    out = np.empty(n, dtype=np.int64)
    m = 0
    lo, hi = region_lo[region], region_hi[region]
    if hi <= lo:
        return out[:0]
    h = rng.key(seed, day, subject, stream)
    for k in range(n):
        for j in range(8):
            v = rng.kth(h, k * 8 + j)
            o = officers[lo + int(v * (hi - lo))]
            if SERVING[state[o]]:
                out[m] = o
                m += 1
                break
    return out[:m]


#: what the registry reads (purgesim.mechanisms): letter, place, phases of the day, states
SPEC = Spec(letter="d", position=50,
            phases=(Phase(70, "police act on accusations"),),
            states=(State.FREE, State.RELEASED, State.EXILE))


class Params(MechanismParams):
    act_base: float = P(0.4, 0.0, 1.0, unit="share",
                        meaning="probability of acting on an accusation without pressure",
                        free=True)
    pressure_gain: float = P(1.0, 0.0, 20.0, unit="per pressure unit",
                             meaning="how fast vigilance pressure drives that probability to 1",
                             free=True)
    capacity_per_officer: float = P(1.0, 0.01, 100.0, unit="arrests/officer/day (full scale)",
                                    meaning="arrests one officer can carry out in a day")
    lack_of_vigilance_prob: float = P(0.05, 0.0, 1.0, unit="share",
                                      meaning="probability that an officer who let an accused "
                                              "go is accused when that person is arrested "
                                              "(per real person let go)",
                                      free=True)
    top_sanction: float = P(0.3, 0.0, 100.0, unit="per pressure unit",
                            meaning="how readily the leader sanctions the arrest of a top "
                                    "official", free=True)
    capacity_bank: int = P(7, 1, 365, unit="days",
                           meaning="unused arrest capacity is kept for at most this many days")
    max_wait: int = P(60, 1, 3650, unit="days",
                      meaning="an accusation not handled within this time lapses")


class Mechanism(Base):
    def __init__(self, sim: Engine, params: Params) -> None:
        super().__init__(sim, params)
        self.ignored = Awaiting(sim.pop.n)  # person -> the officer who let his accusation go
        pop = sim.pop
        heads = np.arange(pop.n_heads, dtype=np.int64)
        police = np.isin(pop.e_post, [int(p) for p in POLICE_STAFF])  # every level below the chief
        #: the officers at large by region, counted again only as the event log shows changes
        self.at_large = sim.state_count(heads[police] * pop.hsize,
                                        pop.e_region[heads[police]].astype(np.int64),
                                        pop.n_regions, SERVING_LUT)
        # the officers sorted by region: region r's are officers[region_lo[r]:region_hi[r]]
        self.officers = self.at_large.members
        self.region_lo = self.at_large.lo
        self.region_hi = self.at_large.hi
        self.dropped = 0
        self.vigilance_cases = 0
        self.budget = np.zeros(pop.n_regions)
        top = np.isin(pop.e_post, [Post.POLITBURO, Post.CENTRAL_COMMITTEE, Post.COMMISSAR,
                                   Post.MARSHAL, Post.ARMY_COMMANDER])
        self.top = np.flatnonzero(top) * pop.hsize  # sorted

    def p_act(self) -> float:
        if not self.on:
            return self.p.act_base
        return 1.0 - (1.0 - self.p.act_base) * np.exp(-self.p.pressure_gain * self.sim.pressure)

    def step(self, day: int) -> None:
        sim = self.sim
        pop = sim.pop
        self._lack_of_vigilance(day)
        q = sim.queue
        if q.n == 0:
            return
        rows = q.rows.copy()
        person = rows["person"]
        u = sim.draws(person, S.act)
        # the budgets, the cases handled and what becomes of each, in one pass
        fate = _sort_cases(rows, self.at_large.counts(),
                           float(self.p.capacity_per_officer), float(self.p.capacity_bank),
                           self.budget, pop.n_elite, 1.0 / pop.scale, day, self.p.max_wait, u,
                           float(self.p_act()), self.top)
        top = np.flatnonzero(fate == ACTS_ON_TOP)
        if top.size:  # the leader's sanction: a refusal is nobody's lack of vigilance
            v = sim.draws(person[top], S.sanction)
            fate[top] = np.where(v >= 1.0 - np.exp(-self.p.top_sanction * sim.pressure),
                                 WITHHELD, ACTS)
        n_fate = np.bincount(fate, minlength=WITHHELD + 1)
        if n_fate[WAITS] == rows.size:
            return
        if n_fate[DROPS] + n_fate[LAPSES] + n_fate[WITHHELD]:  # back as they were
            gone = fate >= DROPS
            pop.state[person[gone]] = rows["prev"][gone]
        assert q.n == rows.size  # nothing joined the queue since the copy
        q.keep(fate == WAITS)
        if n_fate[DROPS]:  # the officers handling the dropped accusations
            dropped_rows = rows[fate == DROPS]
            officers = handling_officers(
                dropped_rows["person"].astype(np.int64),
                dropped_rows["region"].astype(np.int64), sim.seed,
                day, self.officers, self.region_lo, self.region_hi, pop.state,
                S.handling_officer)
            sim.record(dropped_rows["person"], Event.DROPPED, dropped_rows["cause"], officers)
        for f in (WITHHELD, LAPSES):
            if n_fate[f]:
                mine = fate == f
                sim.record(person[mine], Event.DROPPED, rows["cause"][mine], -1)
        if n_fate[DROPS] and self.on:
            let_go = officers >= 0
            self.ignored.hold(dropped_rows["person"][let_go], officers[let_go])
        self.dropped += int(n_fate[DROPS])
        if n_fate[ACTS] == 0:
            return
        a = rows[fate == ACTS]
        done = sim.arrest(a["person"], a["cause"], a["by"])
        # people the police may not arrest (the serving chief, a protected faction) go free
        if done.size < a.size:
            spared = a[~member(a["person"], done)]
            pop.state[spared["person"]] = spared["prev"]
            sim.record(spared["person"], Event.DROPPED, spared["cause"], -1)

    def _lack_of_vigilance(self, day: int) -> None:
        if not self.on or not self.ignored:
            return
        sim = self.sim
        pop = sim.pop
        accused, by = [], []
        for p, o in self.ignored.pop_arrested(sim.prev_arrested):
            # the person stood for w real people, each let go by an officer of his region
            w = 1.0 if p < pop.n_elite else 1.0 / pop.scale
            k = rng.binomial_keyed(w, self.p.lack_of_vigilance_prob, sim.seed, day, p,
                                   S.liable_count)
            if k == 0:
                continue
            accused.append(o)
            by.append(p)
            if k > 1:  # the other officers who let the people he stands for go
                more = pick_officers(pop.region_of(p), k - 1, sim.seed, day, p,
                                     S.liable_officer, self.officers, self.region_lo,
                                     self.region_hi, pop.state)
                accused.extend(more.tolist())
                by.extend([p] * more.size)
        if accused:
            got = sim.accuse(np.array(accused, dtype=np.int64), Cause.VIGILANCE,
                             np.array(by, dtype=np.int64))
            self.vigilance_cases += int(got.size)

    def check_day(self, day: int) -> str | None:
        """Invariant (with --check): the count of officers at large kept between changes
        equals a fresh count."""
        if self.at_large.stale():
            return "the police's count of its officers at large is stale"
        return None

    def summary(self) -> dict[str, Any]:
        return {"dropped": self.dropped, "lack_of_vigilance_accusations": self.vigilance_cases}
