"""(j) The army purges itself: discharges for political reasons, arrests of the discharged,
reinstatement after appeal.

After the closed trial of the Tukhachevsky group (11 June 1937, SU-DATE-1937-06-11; the
parameter `start`) the army's own channels, the military councils, the NKVD's Special
Departments in the army and the political administration, discharge officers from the army
for political reasons.  Until `end` (and, with `stop_at_halt`, until the halt of the mass
operations, mechanism h), every day:

* **chain of command**: when an officer falls (arrested through any channel, or
  discharged), each officer in post tied to him by the chain of command (his superior, his
  direct subordinates, his unit's neighbours: `population.ties_of`, kinds SUPERIOR and WORK)
  is discharged with probability `p_tie`, after a delay drawn from an exponential of mean
  `tie_delay_days` (if he is still in post then);
* **base rate**: officers in post are discharged at `base_rate` a year each, whoever their
  ties (vigilance on record: social origin, relatives abroad, former opposition);

A discharged officer is DISMISSED (at large, out of the army; Event.DISMISSED, cause ARMY,
`by` = the fallen officer whose fall exposed him, -1 for the base rate).  His fate is drawn
at once: with probability `p_arrest` he is arrested by the NKVD's Special Department after
an exponential delay of mean `arrest_delay_days` (`sim.arrest`, cause ARMY: the police and
the tribunals take over, mechanisms b and g); otherwise he appeals, and with probability
`p_reinstate` he is reinstated (Event.REINSTATED, cause REVIEW; back to FREE, in post) after
an exponential delay of mean `appeal_days`, not before `review_from`.  Either happens only
if he is still DISMISSED on that day (another channel may have arrested him first).  A
reinstated officer can fall again.

Only officers (the army's unweighted heads, weight 1) act on officers here, so nothing
depends on the scale.  All parameters are ASSUMPTIONS: the army's discharges, arrests and
reinstatements are kept back as predictions (never fitted, no target rows).

Inputs: yesterday's arrests, the chain of command, the halt.  Outputs: DISMISSED and
REINSTATED events, arrests with cause ARMY; `summary()` and `army_table()` by rank group and
year.  Invariants (`check_day`): an officer is DISMISSED only after a discharge on record;
reinstated only after a dismissal on an earlier day, and then no longer DISMISSED.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from pydantic import field_validator

from .. import rng
from ..codes import (
    BRANCH_KEYS,
    BRANCH_SHIFT,
    RANK_KEYS,
    RANK_MASK,
    Branch,
    Cause,
    Event,
    Rank,
    State,
)
from ..kernels import njit
from ..params import MechanismParams, P
from ..population import MAX_SPAN, MAX_TIES, _in_unit_ring
from ..tables import DayLists
from .base import Mechanism as Base
from .base import Phase, Spec
from .contract import Engine

S = rng.Streams("army", "base_count", "base_pick", "tie", "tie_delay", "fate",
                "arrest_delay", "appeal", "appeal_delay")

#: what the registry reads (purgesim.mechanisms): letter, place, phases of the day, states
SPEC = Spec(letter="j", position=125,
            phases=(Phase(77, "army purge (discharges, appeals)"),),
            states=(State.FREE, State.SUSPECT, State.DISMISSED))

#: the outputs by rank group and year (summary, army_table)
COUNTS = ("discharged", "arrested", "arrested_army", "shot", "reinstated")


class Params(MechanismParams):
    start: str = P("1937-06-11", unit="date",
                       meaning="the army's channels begin to discharge officers (the closed "
                               "trial of the Tukhachevsky group, SU-DATE-1937-06-11)")
    end: str = P("1940-12-31", unit="date",
                     meaning="last day of discharges (the run's end if earlier)")
    stop_at_halt: bool = P(True, unit="",
                           meaning="no discharges after the halt of the mass operations "
                                   "(mechanism h)")
    base_rate: float = P(0.02, 0.0, 1.0, unit="1/year per officer",
                         meaning="discharges of officers in post whatever their ties")
    p_tie: float = P(0.03, 0.0, 1.0, unit="per tie",
                     meaning="probability that an officer in post is discharged when one of "
                             "his chain of command (superior, subordinate, unit neighbour) "
                             "falls (arrested or discharged)")
    tie_delay_days: float = P(60.0, 0.0, 3650.0, unit="days",
                              meaning="mean delay from a fall to the discharges it brings")
    p_arrest: float = P(0.3, 0.0, 1.0, unit="share",
                        meaning="discharged officers handed to the NKVD for arrest")
    arrest_delay_days: float = P(60.0, 0.0, 3650.0, unit="days",
                                 meaning="mean delay from discharge to arrest")
    p_reinstate: float = P(0.3, 0.0, 1.0, unit="share",
                           meaning="discharged officers not arrested whose appeal succeeds")
    appeal_days: float = P(365.0, 1.0, 3650.0, unit="days",
                           meaning="mean delay from discharge to reinstatement")
    review_from: str = P("1938-01-01", unit="date",
                         meaning="no reinstatement before this date")

    @field_validator("start", "end", "review_from", mode="before")
    @classmethod
    def _a_date(cls, v: Any) -> Any:
        if isinstance(v, dt.date):  # a TOML date
            return v.isoformat()
        if isinstance(v, str):
            try:
                dt.date.fromisoformat(v)
            except ValueError:
                raise ValueError("not a date YYYY-MM-DD") from None
        return v


@njit(cache=True)
def _exposed(fallen: np.ndarray, geo: np.ndarray, e_superior: np.ndarray,
             e_unit: np.ndarray, unit_lo: np.ndarray, unit_hi: np.ndarray, sub_lo: np.ndarray,
             sub_ids: np.ndarray, state: np.ndarray, free: int, head_lo: int, head_hi: int,
             p_tie: float, seed: int, day: int,
             purpose: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The officers in post whom the fall of the officers `fallen` (heads of the elite)
    exposes today, with the fallen officer and the tie's position in `population.ties_of`
    (the key of the draws), in the order of `population.ties_many`: one pass instead of
    NumPy calls and a Python loop a day (issue 13).

    It walks only the chain of command of `ties_of`'s list of a head (unit ring and
    subordinates: WORK; superior: SUPERIOR) and counts the places of the rest (family,
    acquaintance rings) without drawing them.  Same ties, positions, arithmetic and draws
    as the plain code (tests/test_speed_identity.py compares them)."""
    hsize = geo[1]
    wsize = geo[2]
    kring = geo[3]
    n_heads = geo[4]
    w = wsize - 1
    cap = fallen.shape[0] * MAX_TIES
    other = np.empty(cap, dtype=np.int64)
    by = np.empty(cap, dtype=np.int64)
    pos = np.empty(cap, dtype=np.int64)
    cand = np.empty(MAX_TIES, dtype=np.int64)  # a fallen officer's chain of command
    cpos = np.empty(MAX_TIES, dtype=np.int64)
    m = 0
    for a in range(fallen.shape[0]):
        c = fallen[a]
        g = c // hsize
        t = hsize - 1  # the family comes first
        nc = 0
        u = e_unit[g]
        lo = unit_lo[u]
        size = unit_hi[u] - lo
        if size > 1:  # the unit ring (WORK)
            if size <= wsize:
                for r in range(size):
                    if lo + r != g:
                        cand[nc] = (lo + r) * hsize
                        cpos[nc] = t
                        nc += 1
                        t += 1
            else:
                gp = g - lo
                for d in range(1, wsize // 2 + 1):
                    cand[nc] = (lo + (gp + d) % size) * hsize
                    cpos[nc] = t
                    cand[nc + 1] = (lo + (gp - d) % size) * hsize
                    cpos[nc + 1] = t + 1
                    nc += 2
                    t += 2
        bsize = n_heads
        for b in range(geo[6]):
            if geo[7 + 2 * b] <= g < geo[8 + 2 * b]:
                bsize = geo[8 + 2 * b] - geo[7 + 2 * b]
        for k in range(kring):  # acquaintance rings: two places each, not drawn here
            if (bsize if k < kring - 1 else n_heads) > 2:
                t += 2
        s = e_superior[g]
        if s >= 0:  # the superior (SUPERIOR)
            cand[nc] = s * hsize
            cpos[nc] = t
            nc += 1
            t += 1
        first_sub = t
        b0 = sub_lo[g]
        b1 = sub_lo[g + 1]
        if b1 - b0 <= MAX_SPAN:  # the subordinates beyond the unit ring (WORK), last
            for r in range(b0, b1):
                x = sub_ids[r]
                if not _in_unit_ring(x, g, u, size, wsize, e_unit):
                    cand[nc] = x * hsize
                    cpos[nc] = t
                    nc += 1
                    t += 1
        n_sub = t - first_sub
        for q in range(nc):
            x = cand[q]
            h = x // hsize
            if x % hsize != 0 or h < head_lo or h >= head_hi or state[x] != free:
                continue
            j = cpos[q]
            p = p_tie * min(1.0, w / max(n_sub, 1)) if j >= t - n_sub else p_tie
            if rng.uniform_k(seed, day, c, purpose, j) < p:
                other[m] = x
                by[m] = c
                pos[m] = j
                m += 1
    return other[:m], by[:m], pos[:m]


def _delays(u: np.ndarray, mean: float) -> np.ndarray:
    """Whole days of an exponential delay of this mean, from uniforms in [0, 1)."""
    return np.floor(-np.log1p(-u) * mean).astype(np.int64)


class Mechanism(Base):
    def __init__(self, sim: Engine, params: Params) -> None:
        super().__init__(sim, params)
        pop = sim.pop
        H = pop.hsize
        lo, hi = next(((lo, hi) for name, lo, hi in pop.branches if name == "army"), (0, 0))
        self.head_lo, self.head_hi = int(lo), int(hi)
        #: the officers (person ids of the army's heads), in order
        self.officers = np.arange(lo, hi, dtype=np.int64) * H
        #: day of each officer's latest discharge (-1: never)
        self.dismissed_on = np.full(self.officers.size, -1, dtype=np.int32)
        sc = sim.sc
        self.first = sc.day_of(dt.date.fromisoformat(self.p.start))
        self.last = min(sc.day_of(dt.date.fromisoformat(self.p.end)), sim.n_days - 1)
        self.review_day = sc.day_of(dt.date.fromisoformat(self.p.review_from))
        # the discharges (officer, and who exposed him), arrests and reinstatements due,
        # filed under their day (tables.DayLists: each day's in the order they were filed)
        self.due_discharge = DayLists(sim.n_days, [("person", "i8"), ("by", "i8")])
        self.due_arrest = DayLists(sim.n_days, [("person", "i8")])
        self.due_reinstate = DayLists(sim.n_days, [("person", "i8")])
        self.yesterday = np.empty(0, dtype=np.int64)  # discharged yesterday
        self.today = np.empty(0, dtype=np.int64)

    # ------------------------------------------------------------------ who is an officer
    def is_officer(self, ids: np.ndarray) -> np.ndarray:
        H = self.sim.pop.hsize
        g = ids // H
        return (ids % H == 0) & (g >= self.head_lo) & (g < self.head_hi)

    def index(self, ids: np.ndarray) -> np.ndarray:
        """Position of officers (person ids) in `officers`."""
        return ids // self.sim.pop.hsize - self.head_lo

    def discharging(self, day: int) -> bool:
        return (self.on and self.first <= day <= self.last
                and not (self.p.stop_at_halt and self.sim.halted))

    # ------------------------------------------------------------------ the day
    def step(self, day: int) -> None:
        self.yesterday, self.today = self.today, np.empty(0, dtype=np.int64)
        if not self.on:
            return
        sim = self.sim
        if self.discharging(day):
            if day == max(self.first, 0):  # the fallen before: the Tukhachevsky group
                st = sim.pop.state[self.officers]
                fallen = self.officers[(st != State.FREE) & (st != State.SUSPECT)]
            else:
                arr = sim.prev_arrested
                fallen = np.union1d(arr[self.is_officer(arr)], self.yesterday)
            self.expose(fallen, day)
            n = self.officers.size
            k = rng.poisson_keyed(self.p.base_rate / 365.0 * n, sim.seed, day, 0, S.base_count)
            picked = self.officers[np.minimum(
                (rng.uniforms_k(sim.seed, day, 0, S.base_pick, k) * n).astype(np.int64), n - 1)]
            due = self.due_discharge.pop(day)
            self.discharge(np.concatenate([picked, due["person"]]),
                           np.concatenate([np.full(k, -1, dtype=np.int64), due["by"]]), day)
        elif day in self.due_discharge:
            self.due_discharge.pop(day)
        if day in self.due_arrest:
            ids = self.due_arrest.pop(day)["person"]
            sim.arrest(ids[sim.pop.state[ids] == State.DISMISSED], Cause.ARMY)
        if day in self.due_reinstate:
            ids = self.due_reinstate.pop(day)["person"]
            back = ids[sim.pop.state[ids] == State.DISMISSED]
            if back.size:
                sim.pop.state[back] = State.FREE
                sim.record(back, Event.REINSTATED, int(Cause.REVIEW))

    def expose(self, fallen: np.ndarray, day: int) -> None:
        """The chain-of-command ties of fallen officers: each discharged with probability
        p_tie after a delay (scheduled; acted on if he is still in post then)."""
        if fallen.size == 0 or self.p.p_tie <= 0:
            return
        sim = self.sim
        pop = sim.pop
        # a fallen chief's subordinates (listed last) weigh together as one workplace, as in
        # population.sample_ties: each is exposed with p_tie x (W-1)/their number, so that the
        # span of command (an assumption of society.build_army) does not multiply discharges
        other, by, pos = _exposed(fallen, pop.geo, pop.e_superior, pop.e_unit,
                                  pop.unit_lo, pop.unit_hi, pop.sub_lo, pop.sub_ids,
                                  pop.state, int(State.FREE), self.head_lo, self.head_hi,
                                  float(self.p.p_tie), sim.seed, day, S.tie)
        if other.size == 0:
            return
        due = day + 1 + _delays(rng.uniforms_pos(sim.seed, day, by, pos, S.tie_delay),
                                self.p.tie_delay_days)
        keep = due <= self.last
        self.due_discharge.add(due[keep], other[keep], by[keep])

    def discharge(self, ids: np.ndarray, by: np.ndarray, day: int) -> None:
        """Officers in post leave the army (DISMISSED); their fate is drawn at once."""
        sim = self.sim
        if ids.size == 0:
            return
        ids, first = np.unique(ids, return_index=True)
        by = by[first]
        ok = (sim.pop.state[ids] == State.FREE) & sim.at_large(ids)
        ids, by = ids[ok], by[ok]
        if ids.size == 0:
            return
        sim.pop.state[ids] = State.DISMISSED
        sim.record(ids, Event.DISMISSED, int(Cause.ARMY), by)
        self.dismissed_on[self.index(ids)] = day
        # ids are sorted and distinct (np.unique): today's first discharges need no union
        self.today = ids if self.today.size == 0 else np.union1d(self.today, ids)
        u = sim.draws(ids, S.fate)
        arrest = u < self.p.p_arrest
        a = ids[arrest]
        if a.size:
            due = day + 1 + _delays(sim.draws(a, S.arrest_delay), self.p.arrest_delay_days)
            self._schedule(self.due_arrest, a, due)
        rest = ids[~arrest]
        if rest.size:
            ok = sim.draws(rest, S.appeal) < self.p.p_reinstate
            r = rest[ok]
            due = day + 1 + _delays(sim.draws(r, S.appeal_delay), self.p.appeal_days)
            self._schedule(self.due_reinstate, r, np.maximum(due, self.review_day))

    def _schedule(self, table: DayLists, ids: np.ndarray, due: np.ndarray) -> None:
        keep = due < self.sim.n_days
        table.add(due[keep], ids[keep])

    # ------------------------------------------------------------------ invariants
    def check_day(self, day: int) -> str | None:
        """What is wrong today, if anything (purgesim.invariants)."""
        pop = self.sim.pop
        st = pop.state[self.officers]
        if ((st == State.DISMISSED) & (self.dismissed_on < 0)).any():
            return "an officer is DISMISSED without a discharge on record"
        log = self.sim.log.rows
        today = log[log["day"] == day]
        back = today["person"][today["event"] == Event.REINSTATED]
        if back.size:
            if not self.is_officer(back).all():
                return "someone outside the army was reinstated in it"
            since = self.dismissed_on[self.index(back)]
            if ((since < 0) | (since >= day)).any():
                return "an officer reinstated without an earlier dismissal"
            if (pop.state[back] == State.DISMISSED).any():
                return "a reinstated officer is still DISMISSED"
        out = today[(today["event"] == Event.DISMISSED) & (today["cause"] == Cause.ARMY)]
        if out.size and (self.dismissed_on[self.index(out["person"])] != day).any():
            return "a discharge not on record"
        return None

    # ------------------------------------------------------------------ outputs
    def summary(self) -> dict[str, Any]:
        if self.officers.size == 0:
            return {}
        table = army_table(self.sim)
        by_rank: dict[str, Any] = {}
        for i, rank in enumerate(table["rank"]):
            r = by_rank.setdefault(rank, {"size": 0, "years": {}})
            if table["year"][i] == 0:
                r["size"] += table["size"][i]
                continue
            y = r["years"].setdefault(str(table["year"][i]), dict.fromkeys(COUNTS, 0))
            for c in COUNTS:
                y[c] += table[c][i]
        for r in by_rank.values():
            r["total"] = {c: sum(y[c] for y in r["years"].values()) for c in COUNTS}
        st = self.sim.pop.state[self.officers]
        return {
            "start": self.sim.date(self.first) if self.first < self.sim.n_days else None,
            "by_rank": by_rank,
            "by_branch": _branch_totals(table),
            "dismissed_at_end": int((st == State.DISMISSED).sum()),
            "ever_discharged": int((self.dismissed_on >= 0).sum()),
        }


def _branch_totals(table: dict[str, list]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for i, b in enumerate(table["branch"]):
        t = out.setdefault(b, {"size": 0, **dict.fromkeys(COUNTS, 0)})
        if table["year"][i] == 0:
            t["size"] += table["size"][i]
        else:
            for c in COUNTS:
                t[c] += table[c][i]
    return out


def army_table(sim: Any) -> dict[str, list]:
    """The army by rank group, branch and year, as columns (``pandas.DataFrame(...)`` or
    ``pyarrow.table(...)`` take it as it is): rank, branch, year, size, and the counts of
    officers discharged, arrested (any channel), arrested by the army's channel (cause
    ARMY), shot and reinstated that year.  The rows of year 0 give each group's size (its
    counts are 0); the other rows, one per year of the run, its events (events, not people:
    an officer reinstated and discharged again counts twice)."""
    pop = sim.pop
    H = pop.hsize
    lo, hi = next(((lo, hi) for name, lo, hi in pop.branches if name == "army"), (0, 0))
    code = pop.e_rank[lo:hi]
    ranks = list(RANK_KEYS)
    branches = list(BRANCH_KEYS)
    years = sorted({sim.sc.date_of(d).year for d in (0, sim.n_days - 1)})
    years = list(range(years[0], years[-1] + 1))
    nR, nB, nY = max(int(r) for r in Rank) + 1, max(int(b) for b in Branch) + 1, len(years)
    counts = np.zeros((len(COUNTS), nR, nB, nY), dtype=np.int64)
    log = sim.log.rows
    ev = log["event"]
    sel = np.isin(ev, [Event.DISMISSED, Event.ARRESTED, Event.SHOT, Event.REINSTATED])
    person = log["person"][sel]
    inside = (person % H == 0) & (person // H >= lo) & (person // H < hi)
    rows = log[sel][inside]
    if rows.size:
        c = code[rows["person"] // H - lo]
        rk = (c & RANK_MASK).astype(np.int64)
        br = (c >> BRANCH_SHIFT).astype(np.int64)
        day0 = np.array([(dt.date(y, 1, 1) - sim.sc.start).days for y in years])
        yi = np.searchsorted(day0, rows["day"], side="right") - 1
        for k, (what, m) in enumerate((
                ("discharged", (rows["event"] == Event.DISMISSED)
                 & (rows["cause"] == Cause.ARMY)),
                ("arrested", rows["event"] == Event.ARRESTED),
                ("arrested_army", (rows["event"] == Event.ARRESTED)
                 & (rows["cause"] == Cause.ARMY)),
                ("shot", rows["event"] == Event.SHOT),
                ("reinstated", rows["event"] == Event.REINSTATED))):
            assert what == COUNTS[k]
            np.add.at(counts[k], (rk[m], br[m], yi[m]), 1)
    size = np.zeros((nR, nB), dtype=np.int64)
    np.add.at(size, ((code & RANK_MASK).astype(np.int64),
                     (code >> BRANCH_SHIFT).astype(np.int64)), 1)
    out: dict[str, list] = {k: [] for k in ("rank", "branch", "year", "size", *COUNTS)}
    for r in ranks:
        for b in branches:
            if size[r, b] == 0:
                continue
            for j, y in enumerate([0, *years]):
                out["rank"].append(RANK_KEYS[r])
                out["branch"].append(BRANCH_KEYS[b])
                out["year"].append(y)
                out["size"].append(int(size[r, b]) if y == 0 else 0)
                for k, c in enumerate(COUNTS):
                    out[c].append(0 if y == 0 else int(counts[k, r, b, j - 1]))
    return out
