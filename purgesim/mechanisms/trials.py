"""(g) Trials and sentences.

A closed case goes to one of three bodies:

* **troika** (cases of a mass operation): a region's troikas sit every
  `troika_session_interval` days and hear at most `troika_capacity` cases each a sitting,
  the oldest arrests first (without a calendar, interval 0, a case waits up to
  `troika_delay` days: France); the category follows the region's unused limits
  (mechanism i): category 1 = shot, category 2 = camp; the lag from arrest to sentence is
  recorded (summary.json `troika`, regions.parquet);
* **lists** (elite cases: officials, officers, police, not their relatives): the Politburo
  approves a list of sentences every `list_interval` days; each name is shot with
  probability `p_shot_elite`, otherwise sent to camp (Military Collegium);
* **special board / courts** (everyone else): within `board_delay` days; shot with probability
  `p_shot_mass_phase` while a mass operation runs, `p_shot_after_halt` after the halt and
  `p_shot` otherwise; else camp, exile or
  acquittal.

A share `p_held` of operation cases is returned for further investigation: they wait in
custody until their operation ends (the halt), then go to the courts.

Show trials are staged by the leader (mechanism a) and sentenced through `sentence_now`.
After the halt the troikas are abolished: their pending cases go to the courts.

Outputs: SHOT, CAMP, EXILE and RELEASED events; the lists; convictions.  Invariant: only
people awaiting trial (or on trial by order) are sentenced, each once per arrest.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import rng
from ..codes import Cause, Event, State
from ..kernels import njit
from ..params import MechanismParams, P
from ..tables import member
from .base import Mechanism as Base
from .base import Phase, Spec
from .contract import Engine

#: the trial date of a case held for further investigation (until its operation ends)
S = rng.Streams("trials", "delay", "held", "held_release", "sentence", "outcome",
                "troika_heard", "troika_to_court")

HELD = np.iinfo(np.int32).max
#: the trial date of a case waiting for its troika's sitting is TROIKA + the day its
#: investigation closed (between TROIKA and HELD: never due by date)
TROIKA = 1 << 30


#: what the registry reads (purgesim.mechanisms): letter, place, phases of the day, states
SPEC = Spec(letter="g", position=90,
            phases=(Phase(110, "trials and sentences"),),
            states=(State.ARRESTED, State.AWAITING_TRIAL, State.SHOT, State.CAMP, State.EXILE,
                    State.RELEASED))


_NO_DRAWS = np.empty(0, dtype=np.float64)


@njit(cache=True)
def _ready(person: np.ndarray, op: np.ndarray, u: np.ndarray, u_held: np.ndarray, day: int,
           halted: bool, n_elite: int, hsize: int, board_delay: int, session_interval: int,
           troika_delay: int, list_interval: int,
           p_held: float) -> tuple[np.ndarray, bool, bool]:
    """The day each closed case will be heard (`Mechanism.enqueue`), in one pass: by the
    board within `board_delay` days; a case of a running operation (before the halt) at
    its troika's next sitting (TROIKA + day) or within `troika_delay` days if troikas sit
    any day; an official on the next list, every `list_interval` days (half of them the
    one after); a quota case of an ordinary person held (HELD) if his draw `u_held` is
    below `p_held` (no draws: nobody held).  Returns the days and whether any case was a
    quota case, and held."""
    n = person.shape[0]
    ready = np.empty(n, dtype=np.int64)
    any_quota = False
    any_held = False
    li = list_interval
    for k in range(n):
        i = person[k]
        quota = op[k] >= 0 and not halted
        elite = i < n_elite and i % hsize == 0
        if elite:
            ready[k] = ((day // li) + 1) * li + (li if u[k] < 0.5 else 0)
        elif quota:
            if session_interval > 0:
                ready[k] = TROIKA + day
            else:
                ready[k] = day + 1 + np.int64(u[k] * troika_delay)
        else:
            ready[k] = day + 1 + np.int64(u[k] * board_delay)
        any_quota |= quota
        if quota and not elite and u_held.shape[0] and u_held[k] < p_held:
            ready[k] = HELD
            any_held = True
    return ready, any_quota, any_held


class Params(MechanismParams):
    troika_delay: int = P(10, 0, 365, unit="days",
                          meaning="longest wait for a troika sitting, when the troikas do not "
                                  "sit on a calendar (troika_session_interval = 0)")
    troika_session_interval: int = P(7, 0, 365, unit="days",
                                     meaning="days between two sittings of a region's "
                                             "troikas (0: no calendar, each case waits up to "
                                             "troika_delay days)")
    troika_capacity: float = P(700.0, 0.0, 1e6, unit="cases per sitting per troika",
                               meaning="most cases (full scale) one troika hears at a sitting; "
                                       "the oldest first", free=True)
    troikas: int = P(64, 1, 10000, unit="troikas",
                     meaning="troikas (one per oblast, krai or republic), shared among the "
                             "regions by population")
    board_delay: int = P(45, 0, 730, unit="days",
                         meaning="longest wait for the special board or a court")
    list_interval: int = P(3, 1, 365, unit="days",
                           meaning="days between two lists of elite sentences")
    p_shot_elite: float = P(0.75, 0.0, 1.0, unit="share",
                            meaning="share of elite cases on a list sentenced to death",
                            free=True)
    p_shot: float = P(0.005, 0.0, 1.0, unit="share",
                      meaning="death sentences among ordinary cases outside mass operations")
    p_shot_mass_phase: float = P(0.3, 0.0, 1.0, unit="share",
                                 meaning="death sentences among ordinary cases while a mass "
                                         "operation runs", free=True)
    p_shot_after_halt: float = P(0.03, 0.0, 1.0, unit="share",
                                 meaning="death sentences among ordinary cases after the halt",
                                 free=True)
    p_exile: float = P(0.08, 0.0, 1.0, unit="share",
                       meaning="share of ordinary non-capital sentences that are exile")
    p_acquit: float = P(0.08, 0.0, 1.0, unit="share",
                        meaning="share of ordinary cases released by the court")
    p_acquit_after_halt: float = P(0.25, 0.0, 1.0, unit="share",
                                   meaning="share of cases released by the courts after the halt",
                                   free=True)
    p_held: float = P(0.0, 0.0, 1.0, unit="share",
                      meaning="share of operation cases returned for further investigation: "
                              "they wait until their operation ends, then go to the courts",
                      free=True)
    camp_years: int = P(8, 1, 25, unit="years", meaning="camp term")
    death_or_acquittal: bool = P(False, meaning="ordinary cases end in death or acquittal only "
                                                "(the French Law of 22 Prairial)")


#: codes used on every sentence, as plain ints (an enum attribute costs a lookup each time)
_RELEASED = int(State.RELEASED)
_EV_RELEASED = int(Event.RELEASED)
_SENTENCE = int(Cause.SENTENCE)
_OUTCOMES = {"shot": (int(State.SHOT), int(Event.SHOT)),
             "camp": (int(State.CAMP), int(Event.CAMP)),
             "exile": (int(State.EXILE), int(Event.EXILE))}
#: the verdicts of `_verdicts`, in the order their sentences are applied
SHOT, CAMP, EXILE, ACQUITTED, BY_TROIKA = 0, 1, 2, 3, 4
_VERDICTS = ("shot", "camp", "exile", "acquitted")
#: each verdict's new state and event (as `_apply` gives them)
_STATE_OF = np.array([_OUTCOMES["shot"][0], _OUTCOMES["camp"][0], _OUTCOMES["exile"][0],
                      _RELEASED], dtype=np.int64)
_EVENT_OF = np.array([_OUTCOMES["shot"][1], _OUTCOMES["camp"][1], _OUTCOMES["exile"][1],
                      _EV_RELEASED], dtype=np.int64)


@njit(cache=True)
def _verdicts(ids: np.ndarray, ops: np.ndarray, regions: np.ndarray, u: np.ndarray,
              v: np.ndarray, n_elite: int, hsize: int, shot_factor: np.ndarray,
              halted: bool, p_shot: float, p_acq: float, p_exile: float,
              p_shot_elite: float, death_or_acquittal: bool) -> tuple[np.ndarray, int]:
    """Each due case's verdict (SHOT, CAMP, EXILE, ACQUITTED, or BY_TROIKA for the cases of
    an operation, whose category the quotas decide) and the number of elite cases, in one
    pass instead of the thirty small NumPy calls of the masks it replaces (a run sentences
    on most of its days).  `p_shot` and `p_acq` are the courts' shares of the day."""
    n = ids.shape[0]
    out = np.empty(n, dtype=np.int64)
    n_el = 0
    for k in range(n):
        i = ids[k]
        if i < n_elite and i % hsize == 0:  # on a list (mechanism g)
            n_el += 1
            if halted:
                if u[k] < p_shot_elite * (1 - p_acq):
                    out[k] = SHOT
                elif v[k] >= p_acq:
                    out[k] = CAMP
                else:
                    out[k] = ACQUITTED
            else:
                out[k] = SHOT if u[k] < p_shot_elite else CAMP
        elif ops[k] >= 0 and not halted:
            out[k] = BY_TROIKA
        else:
            if u[k] < min(p_shot * shot_factor[regions[k]], 1.0):
                out[k] = SHOT
            elif death_or_acquittal and not halted:
                out[k] = ACQUITTED
            elif v[k] < p_acq:
                out[k] = ACQUITTED
            elif v[k] < p_acq + (1 - p_acq) * p_exile:
                out[k] = EXILE
            else:
                out[k] = CAMP
    return out, n_el


@njit(cache=True)
def _sitting_today(ready: np.ndarray, region: np.ndarray, day: int, interval: int,
                   n_regions: int) -> tuple[bool, np.ndarray, np.ndarray]:
    """Whether any case waits for a troika, and the cases heard at today's sittings: waiting
    (TROIKA <= ready < HELD), their investigation closed before today, in a region whose
    calendar has a sitting today ((day - region) mod interval = 0).  They are grouped by
    region (region r's cases are ``cases[bounds[r]:bounds[r + 1]]``), each group in queue
    order: what a pass over the queue per sitting region gave, in one pass."""
    n = ready.shape[0]
    count = np.zeros(n_regions + 1, dtype=np.int64)
    waiting = False
    for i in range(n):
        if ready[i] >= TROIKA and ready[i] < HELD:
            waiting = True
            r = region[i]
            if ready[i] - TROIKA < day and (day - r) % interval == 0:
                count[r + 1] += 1
    bounds = np.cumsum(count)
    cases = np.empty(bounds[n_regions], dtype=np.int64)
    fill = bounds[:n_regions].copy()
    for i in range(n):
        if ready[i] >= TROIKA and ready[i] < HELD:
            r = region[i]
            if ready[i] - TROIKA < day and (day - r) % interval == 0:
                cases[fill[r]] = i
                fill[r] += 1
    return waiting, cases, bounds


class Mechanism(Base):
    def __init__(self, sim: Engine, params: Params) -> None:
        super().__init__(sim, params)
        self.lists: list[tuple[int, int]] = []  # (day, names on the list)
        self.shot_factor = np.array([rg.shot_factor for rg in sim.sc.regions])
        self.laws: list[dict[str, Any]] = []
        people = np.array([rg.population for rg in sim.sc.regions], dtype=np.float64)
        R = people.size
        #: troikas by region (at least one), as the quotas' petitioning units
        self.n_troikas = np.maximum(np.round(self.p.troikas * people / people.sum()),
                                    1).astype(np.int64)
        O = max(len(sim.op_keys), 1)
        horizon = sim.n_days + 1
        #: weighted troika sentences by operation and lag from arrest (days), and by
        #: operation and wait from the closing of the investigation to the sitting
        self.lag_hist = np.zeros((O, horizon))
        self.wait_hist = np.zeros((O, horizon))
        self.sittings = 0  # sittings held (a region's troikas on one day)
        self.backlog_max = np.zeros(R)  # the largest queue (full scale) before a sitting
        self.to_courts = 0.0  # cases waiting for a troika sent to the courts at the halt
        #: whether a case may be held for further investigation (`_release_held` looks
        #: for them only then: most runs hold none)
        self._any_held = False
        #: whether a case may be waiting for a troika's sitting (`_troikas` looks for them
        #: only then: outside the mass operations none is)
        self._any_troika = False

    def change_law(self, settings: dict[str, Any]) -> None:
        """New values for some of the tribunals' parameters, validated like the scenario's."""
        self.p = type(self.p).model_validate({**self.p.model_dump(), **settings})
        self.laws.append({"date": self.sim.date(), **settings})

    # ------------------------------------------------------------------ routing
    def enqueue(self, cases: np.ndarray, day: int) -> None:
        """Closed cases join the trial queue with the day their body will sit."""
        sim = self.sim
        n = cases.size
        person = np.ascontiguousarray(cases["person"])
        u = sim.draws(person, S.delay)
        p = self.p
        u_held = sim.draws(person, S.held) if p.p_held > 0 else _NO_DRAWS
        ready, any_quota, any_held = _ready(
            person, np.ascontiguousarray(cases["op"]), u, u_held, day, sim.halted,
            sim.pop.n_elite, sim.pop.hsize, p.board_delay, p.troika_session_interval,
            p.troika_delay, p.list_interval, p.p_held)
        self._any_troika |= any_quota and p.troika_session_interval > 0
        self._any_held |= any_held
        t = sim.awaiting
        if cases.dtype != t.dtype:
            t.put(n, cases["person"], cases["region"], cases["day"], cases["cause"],
                  cases["op"], cases["by"], ready, cases["confessed"])
            return
        t.reserve(n)  # the case files copied whole (one copy instead of eight columns)
        rows = t.storage[t.n:t.n + n]
        rows[:] = cases
        rows["ready"] = ready
        t.n += n

    def step(self, day: int) -> None:
        """Switched off, nobody is tried: cases wait in custody (a counterfactual)."""
        sim = self.sim
        t = sim.awaiting
        if t.n == 0 or not self.on:
            return
        self._release_held(day)
        self._troikas(day)
        due = t.rows["ready"] <= day
        reserved = sim.reserved_for_show_trial()
        if reserved and due.any():
            # np.isin's per-call setup dominated this line: `member` on the sorted keys, for
            # the cases due only (the queue holds thousands while the troikas sit)
            at = np.flatnonzero(due)
            keys = np.sort(np.fromiter(reserved, np.int64, len(reserved)))
            due[at[member(t.rows["person"][at], keys)]] = False
        if not due.any():
            return
        cases = t.rows[due]  # a copy (boolean indexing)
        t.keep(~due)
        pop = sim.pop
        ids = np.ascontiguousarray(cases["person"])
        ops = np.ascontiguousarray(cases["op"])
        regions = np.ascontiguousarray(cases["region"])
        u = sim.draws(ids, S.sentence)
        v = sim.draws(ids, S.outcome)
        p = self.p
        if sim.halted:
            p_shot, p_acq = p.p_shot_after_halt, p.p_acquit_after_halt
        else:
            p_shot = p.p_shot_mass_phase if sim.mass_operation_running(day) else p.p_shot
            p_acq = p.p_acquit
        verdict, n_elite = _verdicts(ids, ops, regions, u, v, pop.n_elite, pop.hsize,
                                     self.shot_factor, sim.halted, p_shot, p_acq, p.p_exile,
                                     p.p_shot_elite, p.death_or_acquittal)
        quota = np.flatnonzero(verdict == BY_TROIKA)
        if quota.size:
            ids_q, ops_q, regions_q = ids[quota], ops[quota], regions[quota]
            w_q = pop.weight(ids_q)
            cat1 = sim.troika_categories(ops_q, regions_q, w_q, u[quota])
            verdict[quota] = np.where(cat1, SHOT, CAMP)
            lag = day - cases["day"][quota].astype(np.int64)
            np.add.at(self.lag_hist, (ops_q.astype(np.int64), lag), w_q)
            sim.rec.troika_sentenced(regions_q.astype(np.int64), lag, w_q)
        if n_elite:
            self.lists.append((day, n_elite))
        # the sentences by verdict (shot, camp, exile, acquitted), each in the cases' order
        if ids.size == 1:
            self._apply(ids, _VERDICTS[verdict[0]], ops)
            return
        order = np.argsort(verdict, kind="stable")
        verdict = verdict[order]
        ends = np.searchsorted(verdict, (SHOT, CAMP, EXILE, ACQUITTED), side="right").tolist()
        ids, ops = ids[order], ops[order]
        # the new states and the event log's rows of all the verdicts at once (the rows in
        # the order `_apply` called verdict by verdict writes them), then the records
        pop.state[ids] = _STATE_OF[verdict]
        sim.log.put(ids.size, ids, sim.day, _EVENT_OF[verdict], _SENTENCE, -1, ops)
        a = 0
        for b, outcome in zip(ends, _VERDICTS):
            if b > a:
                sim.rec.sentenced(ids[a:b], outcome, ops[a:b])
                if outcome != "acquitted":
                    sim.today_convicted.append(ids[a:b])
                if outcome == "camp":
                    sim.admit_to_camp(ids[a:b], self.p.camp_years)
            a = b

    def _troikas(self, day: int) -> None:
        """The troikas' sittings.  A region's troikas sit every `troika_session_interval`
        days (region r on the days d with (d - r) mod interval = 0: the regions' calendars
        are staggered) and hear at most `troika_capacity` cases each (full scale; at scale,
        the number of simulated cases is `capacity x troikas x scale` rounded up or down at
        random, so that its mean is scale-free), the oldest arrests first, among the cases
        whose investigation closed before the day.  The cases heard are sentenced today.
        After the halt the troikas are abolished: the cases waiting for them go to the
        courts (within `board_delay` days, like the cases held for further investigation)."""
        if not self._any_troika:
            return
        sim = self.sim
        rows = sim.awaiting.rows
        interval = self.p.troika_session_interval
        if not sim.halted and interval > 0:
            self._sittings(day, rows, interval)
            return
        waiting = (rows["ready"] >= TROIKA) & (rows["ready"] < HELD)
        if not waiting.any():
            self._any_troika = False
            return
        at = np.flatnonzero(waiting)
        if sim.halted:
            u = sim.draws(rows["person"][at], S.troika_to_court)
            self.to_courts += float(sim.pop.weight(rows["person"][at]).sum())
            rows["ready"][at] = day + 1 + (u * self.p.board_delay).astype(np.int64)
            return
        closed = rows["ready"][at].astype(np.int64) - TROIKA
        at = at[closed < day]
        if at.size == 0:
            return
        # the calendar was abolished by a law (interval 0): the cases waiting are heard now
        rows["ready"][at] = day

    def _sittings(self, day: int, rows: np.ndarray, interval: int) -> None:
        """The day's sittings (`_troikas` while the calendar holds): the cases of each region
        sitting today found in one pass over the queue (`_sitting_today`)."""
        sim = self.sim
        waiting, cases, bounds = _sitting_today(rows["ready"], rows["region"], day, interval,
                                                self.n_troikas.size)
        if not waiting:
            self._any_troika = False
            return
        scale = sim.pop.scale
        for r in np.flatnonzero(bounds[1:] > bounds[:-1]).tolist():
            mine = cases[bounds[r]:bounds[r + 1]]
            # oldest arrests first, then the earliest closed, then by person (stable)
            order = np.lexsort((rows["person"][mine], rows["ready"][mine], rows["day"][mine]))
            mine = mine[order]
            cap = self.p.troika_capacity * self.n_troikas[r] * scale
            n = int(np.floor(cap + rng.uniform(sim.seed, day, r, S.troika_heard)))
            self.sittings += 1
            w = sim.pop.weight(rows["person"][mine])
            self.backlog_max[r] = max(self.backlog_max[r], float(w.sum()))
            heard = mine[:n]
            if heard.size == 0:
                continue
            ops = rows["op"][heard].astype(np.int64)
            wait = day - (rows["ready"][heard].astype(np.int64) - TROIKA)
            np.add.at(self.wait_hist, (ops, wait), w[:heard.size])
            rows["ready"][heard] = day

    def _release_held(self, day: int) -> None:
        """Cases held for further investigation go to the courts once their operation has
        ended (at the halt, in the USSR)."""
        if not self._any_held:
            return
        ended = ~self.sim.operations_running(day)
        if not ended.any():  # every operation runs: nobody held goes yet
            return
        rows = self.sim.awaiting.rows
        held = rows["ready"] == HELD
        if not held.any():
            self._any_held = False
            return
        go = np.flatnonzero(held)
        go = go[ended[rows["op"][go]]]
        if go.size:
            u = self.sim.draws(rows["person"][go], S.held_release)
            rows["ready"][go] = day + 1 + (u * self.p.board_delay).astype(np.int64)

    # ------------------------------------------------------------------ sentencing
    def sentence_now(self, ids: np.ndarray, outcome: str) -> None:
        """Sentence people in custody at once (show trials); removes them from any queue."""
        sim = self.sim
        ids = np.asarray(ids, dtype=np.int64)
        ids = ids[np.isin(sim.pop.state[ids], [State.ARRESTED, State.AWAITING_TRIAL])]
        if ids.size == 0:
            return
        sim.interrogation.keep(~np.isin(sim.interrogation.rows["person"], ids))
        sim.awaiting.keep(~np.isin(sim.awaiting.rows["person"], ids))
        self._apply(ids, outcome, np.full(ids.size, -1, dtype=np.int16))

    def release(self, ids: np.ndarray, cause: Cause) -> None:
        sim = self.sim
        sim.pop.state[ids] = State.RELEASED
        sim.record(ids, Event.RELEASED, int(cause))
        sim.rec.released_from_custody(ids)

    def _apply(self, ids: np.ndarray, outcome: str, ops: np.ndarray) -> None:
        sim = self.sim
        if outcome == "acquitted":
            sim.pop.state[ids] = _RELEASED
            sim.record(ids, _EV_RELEASED, _SENTENCE, -1, ops)
            sim.rec.sentenced(ids, "acquitted", ops)
            return
        state, event = _OUTCOMES[outcome]
        sim.pop.state[ids] = state
        sim.record(ids, event, _SENTENCE, -1, ops)
        sim.rec.sentenced(ids, outcome, ops)
        sim.today_convicted.append(ids)
        if outcome == "camp":
            sim.admit_to_camp(ids, self.p.camp_years)

    def summary(self) -> dict[str, Any]:
        sizes = [n for _, n in self.lists]
        return {"lists": len(self.lists), "names_on_lists": int(sum(sizes)),
                "mean_list_size": float(np.mean(sizes)) if sizes else 0.0,
                "laws": self.laws}
