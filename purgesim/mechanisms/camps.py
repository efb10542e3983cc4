"""Camps: the Gulag's stock, its political prisoners and the rest, day by day.

Two compartments make up the camp population the NKVD counted (camps and colonies):

* the political prisoners of the model, admitted on conviction.  On admission each prisoner's
  term is drawn (`short_term_share` of them get `short_term_years`, the others the tribunal's
  term) and his day of death is drawn once from the cumulative hazard of the scenario's
  yearly camp mortality (`camp_mortality`, from the record's Gulag deaths over the camp
  population, times `mortality_factor`); whichever comes first is scheduled.  The review of
  1939-40 (`review_share`, `review_start`, `review_end`) releases a share of the prisoners in
  camp when it begins, each on a day drawn in the review's window (cause REVIEW).  Nothing is
  done for a prisoner until his day.
* the others: the stock at the start of the run (`stock_at_start`, the record's camp and
  colony population less the model's own prisoners) and the ordinary, non-political
  admissions (`other_admissions`, persons a year), people the model does not simulate.
  They are an aggregate of real people (scale-free): they die at the same yearly mortality
  and leave at the end of terms drawn from an exponential distribution of mean
  `other_term_years`.  The series does not depend on the run: it is computed once.

Outputs: DIED and RELEASED (cause TERM_END or REVIEW) events; the aggregate's daily stock,
admissions, deaths and releases (`other_stock`, `other_in`, `other_died`, `other_released`).
Invariants: only people in camp die or are released here; each compartment's stock equals
its start plus admissions minus deaths and releases, every day.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from pydantic import field_validator, model_validator

from .. import rng
from ..codes import Cause, Event, State
from ..kernels import njit
from ..params import MechanismParams, P
from ..tables import Bitmap, DayLists, distinct, first_occurrence
from .base import Mechanism as Base
from .base import Phase, Spec
from .contract import Engine

S = rng.Streams("camps", "death", "term", "review", "review_day")

#: what a scheduled day does to a prisoner
DIES, TERM_ENDS, REVIEWED = 0, 1, 2
#: a scheduled death or release (`tables.DayLists`)
_DUE_DTYPE = [("person", "i8"), ("kind", "i1"), ("since", "i8")]

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
    short_term_share: float = P(0.0, 0.0, 1.0, unit="share",
                                meaning="share of the convicted sent to camp who get the "
                                        "short term (the others: the tribunal's term)")
    short_term_years: int = P(3, 1, 25, unit="years", meaning="the short camp term")
    review_share: float = P(0.0, 0.0, 1.0, unit="share",
                            meaning="share of the political prisoners in camp when the review "
                                    "begins whom it releases (cause REVIEW)")
    review_start: str = P("", meaning="first day of the review of sentences (YYYY-MM-DD; "
                                      "empty: no review)")
    review_end: str = P("", meaning="last day of the review of sentences (YYYY-MM-DD)")
    stock_at_start: float = P(0.0, 0.0, 1e8, unit="persons",
                              meaning="camp and colony population on the first day of the "
                                      "run, all prisoners (the record's count)")
    other_admissions: float = P(0.0, 0.0, 1e8, unit="persons/year",
                                meaning="admissions to the camps and colonies of people the "
                                        "model does not simulate (ordinary criminals)")
    other_term_years: float = P(3.0, 0.1, 50.0, unit="years",
                                meaning="mean term of the prisoners the model does not "
                                        "simulate (exponential)")

    @field_validator("review_start", "review_end", mode="before")
    @classmethod
    def _date(cls, v: Any) -> Any:
        if isinstance(v, dt.date):  # a TOML date or --set camps.review_start=1939-01-01
            return v.isoformat()
        if isinstance(v, str) and v:
            try:
                dt.date.fromisoformat(v)
            except ValueError:
                raise ValueError(f"value {v!r} is not allowed; allowed: a date YYYY-MM-DD "
                                 "or empty") from None
        return v

    @model_validator(mode="after")
    def _window(self) -> Params:
        if self.review_start and self.review_end and self.review_end < self.review_start:
            raise ValueError(f"review_end {self.review_end} is not allowed; allowed: a date "
                             f"on or after review_start {self.review_start}")
        return self


def _day_of(sim: Engine, text: str) -> int:
    return sim.sc.day_of(dt.date.fromisoformat(text))


_NO_DEATHS = np.empty(0, dtype=np.float64)  # camps switched off: nobody dies there
@njit(cache=True)
def _fates(ids: np.ndarray, release: np.ndarray, e: np.ndarray, hazard_cum: np.ndarray,
           day: int, n_days: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each prisoner's scheduled fate: death on the first day after today on which the
    hazard accumulated since today reaches his `e` (the left insertion point of
    ``hazard_cum[day] + e`` in `hazard_cum`, as ``np.searchsorted``; no draw `e`: no
    death) if it comes before his `release`, else the term's end; the fates after the
    run's last day are not kept.  Returns their days, prisoners and kinds."""
    n = ids.shape[0]
    when = np.empty(n, dtype=np.int64)
    who = np.empty(n, dtype=np.int64)
    kind = np.empty(n, dtype=np.int8)
    h0 = hazard_cum[day]
    m = 0
    for k in range(n):
        death = 10**9
        if e.shape[0]:
            v = h0 + e[k]
            lo = 0
            hi = hazard_cum.shape[0]
            while lo < hi:
                mid = (lo + hi) >> 1
                if hazard_cum[mid] < v:
                    lo = mid + 1
                else:
                    hi = mid
            death = max(lo, day + 1)
        d = death if death < release[k] else release[k]
        if d < n_days:
            when[m] = d
            who[m] = ids[k]
            kind[m] = DIES if death < release[k] else TERM_ENDS
            m += 1
    return when[:m], who[:m], kind[:m]


class Admissions:
    """Who entered the camps and the day of his latest admission, for the schedules: a
    death or release is carried out only if the prisoner still serves the term it was
    scheduled for.  A dictionary of every prisoner (1.5 million at scale 1, about 100 bytes
    each, and a Python call per admission and per due day) is replaced by the admissions in
    order (8 bytes each), a bitmap of who was ever admitted and a dictionary of the few
    admitted more than once: a prisoner admitted once serves the term of his only
    admission."""

    def __init__(self, n: int) -> None:
        self._ever = Bitmap(n)
        self._twice = Bitmap(n)
        self._again: dict[int, int] = {}  # prisoner admitted again -> day of the latest
        self._ids: list[np.ndarray] = []
        self._days: list[int] = []
        self.n = 0

    def add(self, ids: np.ndarray, day: int) -> None:
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if ids.size == 0:
            return
        # admitted before, or twice in this call: his later entry is an admission again
        again = self._ever.add_seen(ids)
        if again.any():
            back = ids[again]
            self._again.update(dict.fromkeys(back.tolist(), day))
            self._twice.add(back)
        self._ids.append(ids)
        self._days.append(day)
        self.n += ids.size

    def __bool__(self) -> bool:
        return self.n > 0

    def serving(self, ids: np.ndarray, since: np.ndarray) -> np.ndarray:
        """Whether each prisoner's latest admission is on day `since`, a day on which he was
        admitted (the term a schedule belongs to)."""
        ok = np.ones(ids.size, dtype=bool)
        twice = np.flatnonzero(self._twice.has(ids))
        for j in twice.tolist():
            ok[j] = self._again[int(ids[j])] == since[j]
        return ok

    def everyone(self) -> tuple[np.ndarray, np.ndarray]:
        """Every prisoner ever admitted, in order of his first admission, and the day of his
        latest (as a dictionary updated at each admission would list them)."""
        ids = np.concatenate(self._ids)
        days = np.repeat(np.array(self._days, dtype=np.int64),
                         [a.size for a in self._ids])
        keep = first_occurrence(ids)
        ids, since = ids[keep], days[keep]
        for j in np.flatnonzero(self._twice.has(ids)).tolist():
            since[j] = self._again[int(ids[j])]
        return ids, since


class Mechanism(Base):
    def __init__(self, sim: Engine, params: Params) -> None:
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
        #: each prisoner's scheduled death or release: who, what, and the day of the
        #: admission whose term it belongs to, filed under its day
        self.due = DayLists(D, _DUE_DTYPE)
        self.admitted = Admissions(sim.pop.n)  # who entered the camps, and when last
        self.review_day = -1
        self.review_last = -1
        if self.p.review_share > 0 and self.p.review_start:
            self.review_day = _day_of(sim, self.p.review_start)
            self.review_last = (_day_of(sim, self.p.review_end) if self.p.review_end
                                else self.review_day)
        self.reviewed = 0.0
        self._other(sim, rates[:D])

    def _other(self, sim: Engine, rates: np.ndarray) -> None:
        """The prisoners the model does not simulate, day by day (end-of-day stock)."""
        D = rates.size
        own = float(sim.rec._camp)  # the model's own prisoners at the start (Zinoviev...)
        self.other_start = max(self.p.stock_at_start - own, 0.0)
        self.other_in = np.full(D, self.p.other_admissions / 365.25)
        self.other_died = np.zeros(D)
        self.other_released = np.zeros(D)
        self.other_stock = np.zeros(D)
        if self.other_start == 0.0 and self.p.other_admissions == 0.0:
            return
        r = 1.0 / (self.p.other_term_years * 365.25)
        leave = -np.expm1(-(rates + r))  # share of the stock leaving each day, either way
        dies = rates / (rates + r)
        s = self.other_start
        died, rel, stock, inflow = self.other_died, self.other_released, self.other_stock, \
            self.other_in
        for d in range(D):
            out = s * leave[d]
            died[d] = out * dies[d]
            rel[d] = out - died[d]
            s = s + inflow[d] - out
            stock[d] = s

    def admit(self, ids: np.ndarray, years: int) -> None:
        sim = self.sim
        day = sim.day
        release = np.full(ids.size, day + int(round(years * 365.25)), dtype=np.int64)
        if self.p.short_term_share > 0 and ids.size:
            short = sim.draws(ids, S.term) < self.p.short_term_share
            release[short] = day + int(round(self.p.short_term_years * 365.25))
        if self.on:
            u = sim.draws(ids, S.death)
            e = -np.log(np.maximum(1.0 - u, 1e-300))
        else:
            e = _NO_DEATHS
        self.admitted.add(ids, day)
        # the first day after today on which the hazard accumulated since today reaches e
        # (population.first_death_day), or the term's end if it comes first, the fates
        # falling after the run's last day dropped: one pass
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        when, who, kind = _fates(ids, release, e, self.hazard_cum, day, sim.n_days)
        self.due.add(when, who, kind, np.full(who.size, day, dtype=np.int64))

    def _schedule(self, ids: np.ndarray, kind: np.ndarray, when: np.ndarray,
                  since: np.ndarray) -> None:
        keep = when < self.sim.n_days
        if not keep.all():
            ids, kind, when, since = ids[keep], kind[keep], when[keep], since[keep]
        self.due.add(when, ids, kind, since)

    def begin_review(self, day: int) -> None:
        """The review of 1939-40: a share of the prisoners in camp today will be released,
        each on a day drawn in the review's window (after his death or term end: nothing)."""
        sim = self.sim
        if not self.admitted:
            return
        ids, since = self.admitted.everyone()
        held = sim.pop.state[ids] == State.CAMP
        ids, since = ids[held], since[held]
        go = sim.draws(ids, S.review) < self.p.review_share
        ids, since = ids[go], since[go]
        span = self.review_last - day + 1
        when = day + (sim.draws(ids, S.review_day) * span).astype(np.int64)
        self._schedule(ids, np.full(ids.size, REVIEWED, dtype=np.int8), when, since)

    def step(self, day: int) -> None:
        if day == self.review_day and self.on:
            self.begin_review(day)
        if day not in self.due:
            return
        sim = self.sim
        due = self.due.pop(day)
        ids = np.ascontiguousarray(due["person"])
        kind = np.ascontiguousarray(due["kind"])
        since = np.ascontiguousarray(due["since"])
        # only for a prisoner still serving the term this schedule belongs to
        ok = (sim.pop.state[ids] == State.CAMP) & self.admitted.serving(ids, since)
        ids, kind = ids[ok], kind[ok]
        present = np.bincount(kind, minlength=REVIEWED + 1)
        for k, state, event, cause in ((DIES, State.DIED, Event.DIED, Cause.NONE),
                                       (TERM_ENDS, State.RELEASED, Event.RELEASED,
                                        Cause.TERM_END),
                                       (REVIEWED, State.RELEASED, Event.RELEASED,
                                        Cause.REVIEW)):
            if present[k] == 0:
                continue
            who = ids[kind == k]
            who = distinct(who)  # one prisoner may be due twice today (review and term)
            who = who[sim.pop.state[who] == State.CAMP]
            sim.pop.state[who] = state
            sim.record(who, event, int(cause))
            sim.rec.left_camp(who, k == DIES, cause)
            if k == REVIEWED:
                self.reviewed += float(sim.pop.weight(who).sum())

    def summary(self) -> dict[str, Any]:
        return {"released_by_review": self.reviewed,
                "other_at_start": self.other_start}
