"""The engine: one simulated day is an explicit, printable sequence of phases.

The engine owns the shared machinery every mechanism uses (accusing, arresting, the case
files, the event log, the daily records) and nothing else: each mechanism lives in its own
module under `purgesim.mechanisms` and is called in the order of `PLAN`, which the
registry builds from the phases each mechanism declares (`mechanisms.base.Spec`).

Work is proportional to events.  No phase visits the whole population: they visit today's
suspects, the people in custody, the people named, the people whose camp term or life ends
today.  The only whole-population passes are building the society and the final census.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import rng, stop
from .codes import AT_LARGE_LUT, Cause, Event, Post, State
from .kernels import njit
from .mechanisms import MECHANISMS, PLAN  # the day's plan, built from the registry
from .population import Population, _region_of
from .recorder import Recorder
from .scenario import Scenario
from .society import build_population, check_memory
from .tables import StateCount, Table, holds, member

CASE_DTYPE = [
    ("person", "i8"), ("region", "i2"), ("day", "i4"), ("cause", "u1"), ("op", "i2"),
    ("by", "i8"), ("ready", "i4"), ("confessed", "u1"),
]
QUEUE_DTYPE = [("person", "i8"), ("region", "i2"), ("day", "i4"), ("cause", "u1"),
               ("by", "i8"), ("prev", "u1")]
LOG_DTYPE = [("person", "i8"), ("day", "i4"), ("event", "u1"), ("cause", "u1"),
             ("by", "i8"), ("op", "i2")]

#: state -> can be accused or arrested (a lookup table: faster than isin on every call)
_ACCUSABLE_LUT = AT_LARGE_LUT.copy()
_ACCUSABLE_LUT[int(State.SUSPECT)] = True


@njit(cache=True)
def _admissible(ids: np.ndarray, order: np.ndarray, state: np.ndarray, allowed: np.ndarray,
                leader: int, chief: int, protected: np.ndarray) -> np.ndarray:
    """Where in `ids` the people to act on are: each distinct person once (his first
    occurrence), in order of id, if his state is allowed and he is neither the leader, nor
    the serving police chief, nor protected (`protected` sorted).  One pass instead of the
    ten NumPy calls it replaces (``np.unique(return_index=True)``, whose stable sort
    `order` is, then the filters): a run makes tens of thousands of small calls."""
    n = ids.shape[0]
    out = np.empty(n, dtype=np.int64)
    m = 0
    for j in range(n):
        k = order[j]
        i = ids[k]
        if j > 0 and i == ids[order[j - 1]]:
            continue
        if not allowed[state[i]] or i == leader or i == chief:
            continue
        if protected.shape[0] and holds(protected, i):
            continue
        out[m] = k
        m += 1
    return out[:m]



@njit(cache=True)
def _admit_in_turn(ids: np.ndarray, order: np.ndarray, bounds: np.ndarray, state: np.ndarray,
                   allowed: np.ndarray, leader: int, chief: int,
                   protected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`Sim.arrest_groups`' admission: group g (positions bounds[g] to bounds[g + 1] of
    `order`, which lists each group's people by id) admitted as `_admissible` admits one
    group, less the people an earlier group admitted (their state is set aside while the
    groups are walked, then put back).  Returns the people admitted, group after group,
    and how many in each group."""
    G = bounds.shape[0] - 1
    out = np.empty(ids.shape[0], dtype=np.int64)
    prev = np.empty(ids.shape[0], dtype=state.dtype)
    sizes = np.zeros(G, dtype=np.int64)
    m = 0
    for g in range(G):
        for j in range(bounds[g], bounds[g + 1]):
            i = ids[order[j]]
            if j > bounds[g] and i == ids[order[j - 1]]:
                continue
            if not allowed[state[i]] or i == leader or i == chief:
                continue
            if protected.shape[0] and holds(protected, i):
                continue
            out[m] = i
            prev[m] = state[i]
            state[i] = 255  # admitted: no later group admits him (no state has this code)
            m += 1
            sizes[g] += 1
    for k in range(m):
        state[out[k]] = prev[k]
    return out[:m], sizes


def _admit(ids: np.ndarray, state: np.ndarray, allowed: np.ndarray, leader: int, chief: int,
           protected: np.ndarray) -> np.ndarray:
    """`_admissible` with the stable sort made by NumPy (one compiled specialisation, and no
    sort compiled into the kernel: the first run compiles less)."""
    order = _ONE if ids.size == 1 else np.argsort(ids, kind="stable")
    return _admissible(ids, order, state, allowed, leader, chief, protected)


_ONE = np.zeros(1, dtype=np.int64)

# The codes used on every call, as plain ints: an enum's attribute costs a lookup through
# its metaclass each time (tens of thousands of times a run).
_SUSPECT = int(State.SUSPECT)
_ARRESTED = int(State.ARRESTED)
_EV_SUSPECTED = int(Event.SUSPECTED)
_EV_ARRESTED = int(Event.ARRESTED)
#: the causes of arrest that an operation may absorb (`quotas.Mechanism.absorb`)
_ABSORBABLE = frozenset(int(c) for c in (Cause.CONFESSION, Cause.DENUNCIATION,
                                         Cause.DEFENDER))


@njit(cache=True, inline="always")
def _region_weight(i: int, n_elite: int, hsize: int, e_region: np.ndarray,
                   region_start: np.ndarray, w_mass: float) -> tuple[int, float]:
    """A person's region and weight: an elite head's own region and weight 1, a mass
    person's region (by id range) and the mass weight 1/scale."""
    if i < n_elite:
        return np.int64(e_region[i // hsize]), 1.0
    return _region_of(i, region_start), w_mass


@njit(cache=True)
def _arrest_rows(ids: np.ndarray, causes: np.ndarray, bys: np.ndarray, ops: np.ndarray,
                 day: int, state: np.ndarray, log: np.ndarray, log_n: int, cases: np.ndarray,
                 cases_n: int, n_elite: int, hsize: int, e_region: np.ndarray,
                 region_start: np.ndarray, w_mass: float, by_cause: np.ndarray,
                 by_op: np.ndarray, by_region: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The book-keeping of `Sim.arrest` for the people admitted, in one pass instead of a
    dozen small NumPy calls (a run makes tens of thousands of arrests of a few people):
    who was a suspect, the new state, a row of the event log and a case file each (the
    tables' storage, rows from `log_n` and `cases_n`, capacity already made), and the day's
    arrests added by cause, operation and region one by one in order (as
    `recorder._add_arrests`).  Returns each person's weight and whether he was a suspect."""
    n = ids.shape[0]
    w = np.empty(n, dtype=np.float64)
    was = np.empty(n, dtype=np.bool_)
    for k in range(n):
        i = ids[k]
        was[k] = state[i] == _SUSPECT
        state[i] = _ARRESTED
        region, wk = _region_weight(i, n_elite, hsize, e_region, region_start, w_mass)
        w[k] = wk
        r = log[log_n + k]
        r.person = i
        r.day = day
        r.event = _EV_ARRESTED
        r.cause = causes[k]
        r.by = bys[k]
        r.op = ops[k]
        c = cases[cases_n + k]
        c.person = i
        c.region = region
        c.day = day
        c.cause = causes[k]
        c.op = ops[k]
        c.by = bys[k]
        c.ready = -1
        c.confessed = 0
    for k in range(n):
        by_cause[causes[k]] += w[k]
    for k in range(n):
        if ops[k] >= 0:
            by_op[ops[k]] += w[k]
    for k in range(n):
        c = cases[cases_n + k]
        by_region[c.region] += w[k]
    return w, was


@njit(cache=True)
def _suspect_rows(ids: np.ndarray, cause: int, bys: np.ndarray, day: int, state: np.ndarray,
                  log: np.ndarray, log_n: int, queue: np.ndarray, queue_n: int, n_elite: int,
                  hsize: int, e_region: np.ndarray, region_start: np.ndarray,
                  w_mass: float) -> np.ndarray:
    """The book-keeping of `Sim.accuse` for the people admitted, in one pass: the new state,
    a row of the event log and a row of the police queue each (with the state before),
    written into the tables' storage from rows `log_n` and `queue_n` (capacity already
    made).  Returns each person's weight."""
    n = ids.shape[0]
    w = np.empty(n, dtype=np.float64)
    for k in range(n):
        i = ids[k]
        prev = state[i]
        state[i] = _SUSPECT
        region, wk = _region_weight(i, n_elite, hsize, e_region, region_start, w_mass)
        w[k] = wk
        r = log[log_n + k]
        r.person = i
        r.day = day
        r.event = _EV_SUSPECTED
        r.cause = cause
        r.by = bys[k]
        r.op = -1
        q = queue[queue_n + k]
        q.person = i
        q.region = region
        q.day = day
        q.cause = cause
        q.by = bys[k]
        q.prev = prev
    return w



@njit(cache=True)
def _suspect_admitted(ids: np.ndarray, order: np.ndarray, by: np.ndarray, cause: int,
                      day: int, state: np.ndarray, at_large: np.ndarray, leader: int,
                      chief: int, protected: np.ndarray, log: np.ndarray, log_n: int,
                      queue: np.ndarray,
                      queue_n: int, n_elite: int, hsize: int, e_region: np.ndarray,
                      region_start: np.ndarray, w_mass: float) -> tuple[np.ndarray, np.ndarray]:
    """`Sim.accuse` in one pass: the people `_admissible` admits among `ids` (at large, each
    once in order of id, neither the leader, the chief nor protected; `order` is the stable
    sort of `ids`) made suspects as `_suspect_rows` makes them (state, log row, queue row,
    `by` of his first occurrence).  Returns them and their weights.  `at_large` is
    `AT_LARGE_LUT`, passed in: a global array would be typed read-only and compile
    `_admissible` a second time (tests/test_compilation.py)."""
    keep = _admissible(ids, order, state, at_large, leader, chief, protected)
    m = keep.shape[0]
    out = np.empty(m, dtype=np.int64)
    bys = np.empty(m, dtype=np.int64)
    for j in range(m):
        out[j] = ids[keep[j]]
        bys[j] = by[keep[j]]
    w = _suspect_rows(out, cause, bys, day, state, log, log_n, queue, queue_n, n_elite, hsize,
                      e_region, region_start, w_mass)
    return out, w


@njit(cache=True)
def _log_rows(log: np.ndarray, n: int, ids: np.ndarray, day: int, event: int,
              cause: np.ndarray, by: np.ndarray, op: np.ndarray) -> None:
    """`Sim.record`'s rows of the event log, from row `n` (room already made)."""
    for k in range(ids.shape[0]):
        r = log[n + k]
        r.person = ids[k]
        r.day = day
        r.event = event
        r.cause = cause[k]
        r.by = by[k]
        r.op = op[k]


def _column(x: Any, n: int, dtype: Any) -> np.ndarray:
    """`x` as `n` values of `dtype`: an array as it is (made contiguous, of that dtype), a
    scalar as a view of a cached constant array (READ ONLY)."""
    if type(x) is np.ndarray and x.ndim:
        return np.ascontiguousarray(x, dtype=dtype)
    if not isinstance(x, int | np.integer) and np.ndim(x) != 0:
        return np.ascontiguousarray(x, dtype=dtype)
    return _constant(int(x), n, dtype)


def _take(x: Any, keep: np.ndarray, dtype: Any) -> np.ndarray:
    """Column `x` (a scalar or one value per id) at the rows kept.  A scalar's column is a
    view of a cached constant array: READ ONLY for the callers (absorb copies before it
    writes), and it saves an allocation on each of tens of thousands of calls."""
    if type(x) is np.ndarray:
        if x.ndim:
            return np.asarray(x, dtype=dtype)[keep]
        x = x.item()
    elif not isinstance(x, int | np.integer) and np.ndim(x) != 0:
        return np.asarray(x, dtype=dtype)[keep]
    return _constant(x, keep.shape[0], dtype)


def _constant(x: Any, n: int, dtype: Any) -> np.ndarray:
    """`n` copies of `x`: a view of a cached constant array, READ ONLY for the callers.
    Only codes (a cause, an operation, -1 for nobody) in small batches are served from the
    cache: a person's id as `by` (a promotion's) would add an array per person, 150 MB at
    scale 1, and a large batch would grow the arrays of every code to its size."""
    if n > _CACHED_UP_TO or not -1 <= x < 256:
        return np.full(n, x, dtype=dtype)
    key = (x, dtype)
    a = _CONSTANTS.get(key)
    if a is None or a.shape[0] < n:
        a = _CONSTANTS[key] = np.full(max(n, 1024), x, dtype=dtype)
    return a[:n]


#: (value, dtype) -> an array of that value, for `_take`
#: the largest batch served from `_CONSTANTS`
_CACHED_UP_TO = 4096
_CONSTANTS: dict[tuple[int, Any], np.ndarray] = {}


@dataclass
class PhaseTiming:
    name: str
    seconds: float = 0.0
    calls: int = 0


class Sim:
    """A run of one scenario at one scale and seed."""

    def __init__(self, scenario: Scenario, *, check: bool = False,
                 progress: Callable[[int, int], None] | None = None) -> None:
        self.sc = scenario
        self.seed = int(scenario.seed)
        self.check = check
        self.progress = progress
        check_memory(scenario)  # refuse before allocating, with a clear message
        t0 = time.perf_counter()
        self.pop: Population = build_population(scenario)
        self.build_seconds = time.perf_counter() - t0
        self.run_seconds = 0.0  # time of `run`, the days only (timing.json)
        self.n_days = scenario.n_days
        self.day = 0
        # room for one event per 16 simulated people (7.9 million at scale 1 fit): zeros
        # of that size are mapped lazily, so the room costs memory only as it is written,
        # and the log is not copied by the 7 doublings that took 0.6 s at scale 1
        self.log = Table(LOG_DTYPE, max(1 << 16, self.pop.n // 16))
        self.queue = Table(QUEUE_DTYPE, 1 << 12)  # suspects waiting for the police
        self.interrogation = Table(CASE_DTYPE, 1 << 12)  # arrested, being interrogated
        self.awaiting = Table(CASE_DTYPE, 1 << 12)  # investigation closed, waiting for trial
        self.today_arrested: list[np.ndarray] = []
        self.today_convicted: list[np.ndarray] = []
        self.prev_arrested = np.empty(0, dtype=np.int64)
        self.prev_convicted = np.empty(0, dtype=np.int64)
        self.op_keys = [o.key for o in scenario.operations]
        self.rec = Recorder(self)
        self._w_mass = 1.0 / self.pop.scale  # the weight of a mass person (Population.weight)
        leaders = self.pop.heads_with_post(Post.LEADER)
        self.leader = int(leaders[0]) if leaders.size and scenario.immune_leader else -1
        # the leader's inner circle (named, protected) and, in coup mode, the ruling faction
        self.protected = np.unique(np.array([self.pop.names[n.name] for n in scenario.named
                                             if n.protected], dtype=np.int64))
        self.police_chief = -1
        self.halted = False
        self.halt_day = -1
        self.intensity = 1.0  # interrogation pressure (b), set by scenario events
        self.pressure = 1.0  # vigilance pressure on officers (d)
        self.scheduled: dict[int, list[tuple[int, int, int, int]]] = defaultdict(list)
        self.endogenous: dict[str, str] = {}  # endogenous events and their dates
        self.trace: list[tuple[int, int, np.ndarray, np.ndarray]] | None = None
        self._state_counts: list[StateCount] = []  # kept from the log (state_count)
        self.mechs: dict[str, Any] = {
            key: mod.Mechanism(self, scenario.mechanism_params(key))
            for key, mod in MECHANISMS.items()
        }
        self.timing = [PhaseTiming(name) for name, _, _ in PLAN] + [PhaseTiming("recording")]
        self._steps = [getattr(self.mechs[m], meth) for _, m, meth in PLAN]

    # ---------------------------------------------------------------- the plan, printable
    @staticmethod
    def plan_text() -> str:
        lines = [f"{i + 1:2d}. {name:38s} ({mech}.{meth})"
                 for i, (name, mech, meth) in enumerate(PLAN)]
        lines.append(f"{len(PLAN) + 1:2d}. recording")
        return "\n".join(lines)

    # ---------------------------------------------------------------- running
    def run(self) -> Sim:
        t0 = time.perf_counter()
        for day in range(self.n_days):
            stop.check()  # a Ctrl-C a library swallowed still stops the run (purgesim.stop)
            self.step(day)
            if self.progress is not None:
                self.progress(day + 1, self.n_days)
        self.run_seconds = time.perf_counter() - t0
        return self

    def step(self, day: int) -> None:
        self.day = day
        self.today_arrested = []
        self.today_convicted = []
        for timing, fn in zip(self.timing, self._steps):
            t0 = time.perf_counter()
            fn(day)
            timing.seconds += time.perf_counter() - t0
            timing.calls += 1
        t0 = time.perf_counter()
        self.prev_arrested = self.arrested_today()
        self.prev_convicted = self.convicted_today()
        self.rec.end_of_day(day)
        if self.check:
            from .invariants import check_day

            check_day(self, day)
        self.timing[-1].seconds += time.perf_counter() - t0
        self.timing[-1].calls += 1

    # ---------------------------------------------------------------- shared actions
    def at_large(self, ids: np.ndarray) -> np.ndarray:
        """People who can be accused or arrested: the leader never; the police chief not
        while he holds the post (he falls after his replacement, mechanism f)."""
        return (AT_LARGE_LUT[self.pop.state[ids]] & (ids != self.leader)
                & (ids != self.police_chief) & ~member(ids, self.protected))

    def record(self, ids: np.ndarray, event: Event, cause: int | np.ndarray = 0,
               by: int | np.ndarray = -1, op: int | np.ndarray = -1,
               day: int | None = None) -> None:
        k = len(ids)
        if k == 0:
            return
        log = self.log
        if k > _CACHED_UP_TO:  # a large batch: its scalars broadcast, no column made
            log.put(k, ids, self.day if day is None else day, int(event), cause, by, op)
            return
        log.reserve(k)
        # the rows written by one compiled call (a run logs tens of thousands of batches of
        # a few rows, where the Python per column cost more than the rows)
        _log_rows(log.storage, log.n, np.ascontiguousarray(ids, dtype=np.int64),
                  self.day if day is None else day, int(event), _column(cause, k, np.uint8),
                  _column(by, k, np.int64), _column(op, k, np.int16))
        log.n += k

    def accuse(self, ids: np.ndarray, cause: Cause, by: np.ndarray | int = -1) -> np.ndarray:
        """Make people at large suspects (one entry per person, first accusation wins)."""
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        n = ids.shape[0]
        if n == 0:
            return ids
        # the admission, the state, the event log and the police queue in one pass
        pop, log, queue = self.pop, self.log, self.queue
        order = _ONE if n == 1 else np.argsort(ids, kind="stable")
        log.reserve(n)  # room for everyone: the rows are written as people are admitted
        queue.reserve(n)
        cause = int(cause)
        ids, w = _suspect_admitted(ids, order, _column(by, n, np.int64), cause, self.day, pop.state,
                                   AT_LARGE_LUT, self.leader, self.police_chief, self.protected,
                                   log.storage, log.n, queue.storage, queue.n, pop.n_elite,
                                   pop.hsize, pop.e_region, pop.region_start, self._w_mass)
        k = ids.shape[0]
        if k == 0:
            return ids
        log.n += k
        queue.n += k
        self.rec.suspected_weights(w, cause)
        return ids

    def arrest(self, ids: np.ndarray, cause: Cause | np.ndarray, by: np.ndarray | int = -1,
               op: np.ndarray | int = -1) -> np.ndarray:
        """Arrest people at large or under suspicion; open a case file for each."""
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if ids.size == 0:
            return ids
        keep = _admit(ids, self.pop.state, _ACCUSABLE_LUT, self.leader, self.police_chief,
                      self.protected)
        if keep.size == 0:
            return ids[:0]
        ids = ids[keep]
        cause_arr = _take(cause, keep, np.uint8)
        by_arr = _take(by, keep, np.int64)
        op_arr = _take(op, keep, np.int16)
        # only arrests for some causes can join an operation (quotas.absorb); the others
        # need not ask
        if type(cause) is np.ndarray or int(cause) in _ABSORBABLE:
            op_arr = self.mechs["quotas"].absorb(ids, cause_arr, op_arr)
        self._book_arrests(ids, cause_arr, by_arr, op_arr, [ids.size])
        return ids

    def arrest_in_turn(self, groups: list[np.ndarray], cause: int, op: int = -1) -> list[int]:
        """``[self.arrest(g, cause, op=op).size for g in groups]`` in one pass of
        book-keeping: a group's people are admitted as its own call would admit them (each
        once, in order of id), less those an earlier group arrested; the rows follow in the
        same order.  For causes no operation absorbs (routine policing and a quota operation
        arrest in a dozen regions a day: one call instead of tens of thousands at scale 1)."""
        sizes = np.array([np.size(g) for g in groups], dtype=np.int64)
        ids = (np.concatenate(groups).astype(np.int64, copy=False) if groups
               else np.empty(0, dtype=np.int64))
        return self.arrest_groups(ids, sizes, cause, op)

    def arrest_groups(self, ids: np.ndarray, sizes: np.ndarray, cause: int,
                      op: int = -1) -> list[int]:
        """`arrest_in_turn` of the groups given one after the other in `ids` (group g's
        are the next `sizes[g]`): the admission of every group in one compiled pass
        (`_admit_in_turn`)."""
        if int(cause) in _ABSORBABLE:
            raise ValueError("arrest_in_turn: a cause an operation may absorb needs arrest()")
        if ids.size == 0:
            return [0] * sizes.size
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        # each group's people by id (stable), the groups in their order: one sort
        group = np.repeat(np.arange(sizes.size, dtype=np.int64), sizes)
        order = np.argsort((group << 32) | ids, kind="stable")
        bounds = np.zeros(sizes.size + 1, dtype=np.int64)
        np.cumsum(sizes, out=bounds[1:])
        ids, got = _admit_in_turn(ids, order, bounds, self.pop.state, _ACCUSABLE_LUT,
                                  self.leader, self.police_chief, self.protected)
        got_sizes = got.tolist()
        if ids.size:
            self._book_arrests(ids, _take(int(cause), ids, np.uint8), _take(-1, ids, np.int64),
                               _take(int(op), ids, np.int16), [n for n in got_sizes if n])
        return got_sizes

    def _book_arrests(self, ids: np.ndarray, cause: np.ndarray, by: np.ndarray,
                      op: np.ndarray, sizes: list[int]) -> None:
        """The people admitted (`ids`: groups of these `sizes` one after the other, none
        empty) arrested: the state, the event log, the case files and the day's records in
        one pass, the custody count summed group by group (as one call per group summed
        it), and the police queue left."""
        pop, log, cases, rec = self.pop, self.log, self.interrogation, self.rec
        k = ids.shape[0]
        log.reserve(k)
        cases.reserve(k)
        d = self.day
        w, was_suspect = _arrest_rows(
            ids, cause, by, op, d, pop.state, log.storage, log.n, cases.storage, cases.n,
            pop.n_elite, pop.hsize, pop.e_region, pop.region_start, self._w_mass,
            rec.arrests[d], rec.arrests_op[d], rec.arrests_region[d])
        log.n += k
        cases.n += k
        if len(sizes) == 1:
            rec.into_custody(w)
        else:
            a = 0
            for n in sizes:
                rec.into_custody(w[a:a + n])
                a += n
        if was_suspect.any():  # leave the police queue (one group's ids are in order)
            left = ids[was_suspect]
            self.queue.keep(~member(self.queue.rows["person"],
                                    left if len(sizes) == 1 else np.sort(left)))
        self.today_arrested.append(ids)

    # ---------------------------------------------------------------- services between mechanisms
    # One mechanism's effect on another's people goes through these, named as a historian
    # would say it, so that no mechanism writes another's state.
    def take_from_camp_for_trial(self, ids: np.ndarray) -> None:
        """Bring prisoners back from camp to be tried again (Zinoviev and Kamenev, 1936):
        free for a moment, so that the order's arrest takes them, and out of the camp count
        without a release."""
        self.pop.state[ids] = State.FREE
        self.rec.left_camp_for_trial(ids)

    def sentence_now(self, ids: np.ndarray, outcome: str) -> None:
        """Sentence people in custody at once, without waiting for a tribunal (show trials,
        the leaders of a coup): `outcome` shot, camp or exile (trials, g)."""
        self.mechs["trials"].sentence_now(ids, outcome)

    def send_to_trial(self, cases: np.ndarray, day: int) -> None:
        """Closed investigations (case rows) join the queue of their tribunal (trials, g)."""
        self.mechs["trials"].enqueue(cases, day)

    def admit_to_camp(self, ids: np.ndarray, years: int) -> None:
        """The convicted enter the camps for a term of `years` (camps)."""
        self.mechs["camps"].admit(ids, years)

    def change_tribunal_law(self, settings: dict[str, Any]) -> None:
        """A new law for the tribunals (22 Prairial: death or acquittal) (trials, g)."""
        self.mechs["trials"].change_law(settings)

    def raise_limits(self, operation: str, cat1: float, cat2: float) -> None:
        """The centre grants an operation more arrests by category (quotas, i)."""
        self.mechs["quotas"].add_limits(operation, cat1, cat2)

    def order_halt(self, day: int) -> None:
        """The leader's order to stop the mass operations, when the halt is scripted (h)."""
        halt = self.mechs["halt"]
        if halt.on and halt.p.mode == "scripted":
            halt.do_halt(day)

    def replace_police_chief(self, new: int, day: int) -> None:
        """A new head of the police takes office; the old one falls (purgers, f) and, from
        the replacement the scenario names on, the new chief's men purge the old apparatus
        (police_purge)."""
        old = self.police_chief
        self.mechs["purgers"].change_chief(new, day)
        self.mechs["police_purge"].chief_replaced(old, self.police_chief, day)

    def confessed_today(self) -> np.ndarray:
        """The prisoners who signed a confession today (confession, b)."""
        return self.mechs["confession"].today_confessors

    def police_of_region(self, region: int) -> np.ndarray:
        """The police officers posted in a region (vigilance, d), serving or not."""
        vig = self.mechs["vigilance"]
        return vig.officers[int(vig.region_lo[region]):int(vig.region_hi[region])]

    def reserved_for_show_trial(self) -> dict[int, int]:
        """Defendants kept for a show trial to come (person -> its day): not sentenced
        before it (orders, a)."""
        return self.mechs["orders"].reserved

    def troika_categories(self, ops: np.ndarray, regions: np.ndarray, weights: np.ndarray,
                          u: np.ndarray) -> np.ndarray:
        """The troikas' sentences of quota cases: True = category 1, the death penalty
        (quotas, i)."""
        return self.mechs["quotas"].category(ops, regions, weights, u)

    def operation_running(self, o: int, day: int) -> bool:
        """Whether mass operation `o` runs on `day` (quotas, i)."""
        return bool(self.mechs["quotas"].running(day)[0][o])

    def operations_running(self, day: int) -> np.ndarray:
        """Whether each mass operation runs on `day` (quotas, i); READ ONLY."""
        return self.mechs["quotas"].running(day)[0]

    def death_rate_of_mass_phase(self) -> float:
        """The share of ordinary cases sentenced to death while the mass operations run, as
        a deputy of the Convention could estimate it (trials, g)."""
        return float(self.mechs["trials"].p.p_shot_mass_phase)

    def release_from_custody(self, ids: np.ndarray, cause: Cause) -> None:
        """People in custody set free without a sentence (the halt's releases) (trials, g)."""
        self.mechs["trials"].release(ids, cause)

    def mass_operation_running(self, day: int) -> bool:
        """Whether a mass operation (quotas, i) runs today: routine policing and the death
        sentences of the mass phase depend on it."""
        return bool(self.mechs["quotas"].running(day)[1])

    def schedule(self, day: int, person: int, kind: int, cause: int = 0, by: int = -1) -> None:
        if day < self.n_days:
            self.scheduled[day].append((person, kind, cause, by))

    def arrested_today(self) -> np.ndarray:
        if not self.today_arrested:
            return np.empty(0, dtype=np.int64)
        return np.concatenate(self.today_arrested)

    def convicted_today(self) -> np.ndarray:
        if not self.today_convicted:
            return np.empty(0, dtype=np.int64)
        return np.concatenate(self.today_convicted)

    def state_count(self, members: np.ndarray, group: np.ndarray, n_groups: int,
                    counted: np.ndarray) -> StateCount:
        """How many `members` of each group are in a `counted` state, kept up to date from
        the event log (`tables.StateCount`: the police's officers at large by region)."""
        count = StateCount(members, group, n_groups, counted, self.pop.state, self.log)
        self._state_counts.append(count)
        return count

    def clear_suspicion(self, person: int) -> None:
        """A suspect cleared without a trace in the event log (his appointment as police
        chief): his state before the suspicion comes back and he leaves the police queue;
        the counts kept from the log look at him again."""
        q = self.queue
        row = q.rows[q.rows["person"] == person]
        self.pop.state[person] = row["prev"][0] if row.size else State.FREE
        q.keep(q.rows["person"] != person)
        for count in self._state_counts:
            count.look_again(np.array([person], dtype=np.int64))

    def draws(self, ids: np.ndarray, stream: int, day: int | None = None) -> np.ndarray:
        """One uniform draw per person from a named stream (`rng.Streams`), keyed by (seed,
        day, person, stream).  With `trace` set (a list), every call is recorded as
        (stream, day, ids, draws): the common-random-numbers test reads it."""
        d = self.day if day is None else day
        ids = np.ascontiguousarray(ids, dtype=np.int64)  # one compiled specialisation
        u = rng.uniforms(self.seed, d, ids, stream)
        if self.trace is not None:
            self.trace.append((int(stream), d, ids.copy(), u.copy()))
        return u

    def date(self, day: int | None = None) -> str:
        return self.sc.date_of(self.day if day is None else day).isoformat()
