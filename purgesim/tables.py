"""Growable columnar tables (event log, case files) with amortised O(1) appends."""

from __future__ import annotations

import numpy as np

from .kernels import njit


def member(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """``np.isin(values, sorted_set)`` for a sorted `sorted_set`, without isin's per-call setup
    (it dominated the daily cost of small runs: docs/performance.md)."""
    if sorted_set.size == 0 or np.size(values) == 0:
        return np.zeros(np.shape(values), dtype=bool)
    idx = np.searchsorted(sorted_set, values)
    idx[idx == sorted_set.size] = 0
    return sorted_set[idx] == values


@njit(cache=True)
def holds(sorted_set: np.ndarray, x: int) -> bool:
    """Whether x is in `sorted_set` (sorted, integers), inside a kernel: a binary search
    compiled once, where ``np.searchsorted`` compiles numba's generic search (comparisons
    that order NaNs and complex numbers) into the first run of every kernel that uses it."""
    lo = 0
    hi = sorted_set.shape[0]
    while lo < hi:
        mid = (lo + hi) // 2
        if sorted_set[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo < sorted_set.shape[0] and sorted_set[lo] == x


def distinct(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` by sorting: NumPy 2.3+ answers ``np.unique`` of a large integer
    array with a hash table that is about 20 times slower than a sort (9.3 s against 0.45 s
    for 7 million ids here: docs/performance.md)."""
    s = np.sort(np.asarray(values))
    if s.size < 2:
        return s
    keep = np.empty(s.size, dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def contained(values: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """``np.isin(values, pool)`` for a few values and a large unsorted pool: the pool is
    scanned once against the sorted values instead of being sorted (or hashed)."""
    values = np.asarray(values)
    if values.size == 0 or np.size(pool) == 0:
        return np.zeros(values.shape, dtype=bool)
    few = distinct(values)
    hit = distinct(np.asarray(pool)[member(np.asarray(pool), few)])
    return member(values, hit)


class Table:
    """Columns of fixed dtype that grow by doubling; rows are appended in batches."""

    def __init__(self, dtype: list[tuple[str, str]], capacity: int = 1024) -> None:
        self.dtype = np.dtype(dtype)
        self.names = self.dtype.names
        self._data = np.zeros(capacity, dtype=self.dtype)
        self._cols = [self._data[name] for name in self.names]  # column views, by position
        self.n = 0

    def append(self, **cols: np.ndarray | int | float) -> None:
        k = -1  # rows: the longest column given as an array; 1 if all are scalars
        for v in cols.values():
            if type(v) is np.ndarray:
                if v.ndim and v.shape[0] > k:
                    k = v.shape[0]
            elif isinstance(v, list | tuple):
                k = max(k, len(v))
            elif isinstance(v, np.ndarray) and v.ndim:
                k = max(k, v.shape[0])
        k = 1 if k < 0 else k
        if k == 0:
            return
        n = self.n
        need = n + k
        if need > self._data.shape[0]:
            self._grow(need)
        data = self._data
        for name, v in cols.items():
            data[name][n:need] = v
        self.n = need

    def put(self, k: int, *values: np.ndarray | int | float) -> None:
        """Append `k` rows given one value per column in the table's order (an array of
        `k` values or a scalar for all): `append` without the keyword parsing, for the
        calls made tens of thousands of times a run (the event log, the case files)."""
        n = self.n
        need = n + k
        if need > self._data.shape[0]:
            self._grow(need)
        for col, v in zip(self._cols, values):
            col[n:need] = v
        self.n = need

    def reserve(self, k: int) -> None:
        """Make room for `k` more rows (for a kernel that writes them into `storage`)."""
        if self.n + k > self._data.shape[0]:
            self._grow(self.n + k)

    @property
    def storage(self) -> np.ndarray:
        """All the rows allocated, the first `n` in use."""
        return self._data

    def _grow(self, need: int) -> None:
        cap = max(need, 2 * self._data.shape[0])
        new = np.zeros(cap, dtype=self.dtype)
        new[: self.n] = self._data[: self.n]
        self._data = new
        self._cols = [new[name] for name in self.names]

    @property
    def rows(self) -> np.ndarray:
        return self._data[: self.n]

    def keep(self, mask: np.ndarray) -> None:
        """Drop rows where mask is False (for queues, not for logs), in place: the rows kept
        move up in one pass, in their order (the queues of a large run hold hundreds of
        thousands of cases, and a copy out and back cost twice the bytes)."""
        self.n = _compact(self._data.view(np.uint8).reshape(self._data.shape[0], -1),
                          self.n, np.ascontiguousarray(mask, dtype=np.bool_))

    def __len__(self) -> int:
        return self.n


@njit(cache=True)
def _compact(rows: np.ndarray, n: int, keep: np.ndarray) -> int:
    """Move the rows to keep to the front, in order; return how many there are.  `rows` is
    the table's storage seen as bytes (one row of bytes per record)."""
    j = 0
    while j < n and keep[j]:  # a kept prefix stays where it is
        j += 1
    width = rows.shape[1]
    for i in range(j + 1, n):
        if keep[i]:
            for b in range(width):
                rows[j, b] = rows[i, b]
            j += 1
    return j


def first_occurrence(values: np.ndarray) -> np.ndarray:
    """True at each value's first occurrence in `values`, in their order (one stable sort):
    `values[first_occurrence(values)]` is the distinct values in order of appearance."""
    values = np.asarray(values)
    order = np.argsort(values, kind="stable")
    first = np.ones(values.size, dtype=bool)
    first[order[1:]] = values[order[1:]] != values[order[:-1]]
    return first


@njit(cache=True)
def _bits_has(bits: np.ndarray, ids: np.ndarray) -> np.ndarray:
    out = np.empty(ids.shape[0], dtype=np.bool_)
    for j in range(ids.shape[0]):
        i = ids[j]
        out[j] = (i >> 3) < bits.shape[0] and ((bits[i >> 3] >> (i & 7)) & 1) != 0
    return out


@njit(cache=True)
def _bits_add(bits: np.ndarray, ids: np.ndarray) -> int:
    """Set the ids' bits; if one lies beyond the bitmap, set none and return the largest id
    (the bitmap must grow first), else -1."""
    top = -1
    for j in range(ids.shape[0]):
        top = max(top, ids[j])
    if top >> 3 >= bits.shape[0]:
        return top
    for j in range(ids.shape[0]):
        i = ids[j]
        bits[i >> 3] |= np.uint8(1 << (i & 7))
    return -1


@njit(cache=True)
def _bits_add_seen(bits: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Set the ids' bits (all within the bitmap), in order; returns whether each id's bit
    was set before it: by an earlier call, or by the same id earlier in `ids`."""
    out = np.empty(ids.shape[0], dtype=np.bool_)
    for j in range(ids.shape[0]):
        i = ids[j]
        b = np.uint8(1 << (i & 7))
        out[j] = (bits[i >> 3] & b) != 0
        bits[i >> 3] |= b
    return out


class Bitmap:
    """One bit per person id: is he in a set?  Asked of thousands of ids at once (1 bit a
    person: 20 MB for the USSR at scale 1); grows when told of an id beyond its size."""

    def __init__(self, n: int) -> None:
        self.bits = np.zeros((n >> 3) + 1, dtype=np.uint8)

    def _grow(self, top: int) -> None:
        if top >> 3 >= self.bits.size:
            self.bits = np.concatenate(
                [self.bits, np.zeros((top >> 3) + 1 - self.bits.size, dtype=np.uint8)])

    def has(self, ids: np.ndarray) -> np.ndarray:
        """Whether each id (>= 0) is in the set (one compiled call: the six NumPy calls it
        replaces cost more than the bits on the few ids of a day at small scales)."""
        return _bits_has(self.bits, np.ascontiguousarray(ids, dtype=np.int64))

    def add(self, ids: np.ndarray) -> None:
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        top = _bits_add(self.bits, ids)
        if top >= 0:  # an id beyond the bitmap: grow, then add
            self._grow(top)
            _bits_add(self.bits, ids)

    def add_seen(self, ids: np.ndarray) -> np.ndarray:
        """Add the ids, and say for each whether he was in the set before him: added by an
        earlier call, or earlier in `ids` (``has(ids) | ~first_occurrence(ids)``, then
        ``add(ids)``, in one pass and no sort)."""
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if ids.size and int(ids.max()) >> 3 >= self.bits.size:
            self._grow(int(ids.max()))
        return _bits_add_seen(self.bits, ids)

    def add_one(self, i: int) -> None:
        self._grow(i)
        self.bits[i >> 3] |= np.uint8(1 << (i & 7))

    def discard_one(self, i: int) -> None:
        if i >> 3 < self.bits.size:
            self.bits[i >> 3] &= np.uint8(0xFF ^ (1 << (i & 7)))


class Awaiting:
    """person -> a value (his denouncer, the officer who let him go), kept until the person
    is arrested.  Every day the mechanism asks which of yesterday's arrests it holds: 2
    million arrests over a run at scale 1, of which a few are held.  A bitmap over the ids
    answers for all of them at once; only the few held go through the dictionary, in the
    order of the arrests (as a pop per arrest did)."""

    def __init__(self, n: int) -> None:
        self._bits = Bitmap(n)
        self._held: dict[int, int] = {}
        self.few = 64  # up to this many arrests a day are looked up one by one

    def __setitem__(self, person: int, value: int) -> None:
        person = int(person)
        self._held[person] = value
        self._bits.add_one(person)

    def hold(self, persons: np.ndarray, values: np.ndarray) -> None:
        """``self[p] = v`` for each pair in order (a later pair for the same person wins)."""
        persons = np.asarray(persons, dtype=np.int64)
        self._held.update(zip(persons.tolist(), np.asarray(values).tolist()))
        self._bits.add(persons)

    def __getitem__(self, person: int) -> int:
        return self._held[int(person)]

    def __contains__(self, person: object) -> bool:
        return person in self._held

    def __len__(self) -> int:
        return len(self._held)

    def pop_arrested(self, ids: np.ndarray) -> list[tuple[int, int]]:
        """(person, value) for each person of `ids` held, in the order of `ids`, no longer
        held afterwards (a person twice in `ids` is given once)."""
        if not self._held or np.size(ids) == 0:
            return []
        ids = np.asarray(ids)
        # a few arrests (small scales): the dictionary alone is faster than the bitmap
        asked = ids if ids.size <= self.few else ids[self._bits.has(ids)]
        out = []
        for person in asked.tolist():
            value = self._held.pop(person, None)
            if value is not None:
                self._bits.discard_one(person)
                out.append((person, value))
        return out


@njit(cache=True)
def _link(nxt: np.ndarray, head: np.ndarray, tail: np.ndarray, when: np.ndarray,
          start: int) -> None:
    """Rows start, start + 1, ... join the ends of their days' lists, in order."""
    for j in range(when.shape[0]):
        row = start + j
        d = when[j]
        nxt[row] = -1
        if tail[d] < 0:
            head[d] = row
        else:
            nxt[tail[d]] = row
        tail[d] = row


@njit(cache=True)
def _walk(nxt: np.ndarray, first: int) -> np.ndarray:
    """The rows of one day's list, from `first` on, in the order they joined it."""
    n = 0
    row = first
    while row >= 0:
        n += 1
        row = nxt[row]
    out = np.empty(n, dtype=np.int64)
    row = first
    for j in range(n):
        out[j] = row
        row = nxt[row]
    return out


class DayLists:
    """Rows kept for a later day: `add` files each row under its day, `pop(day)` gives the
    day's rows in the order they were filed (call after call, and within a call in order).

    A dictionary of day -> list of small arrays cost a Python loop over the distinct days of
    every batch filed and a concatenation per day (the camps' `_schedule` and step: 0.85 s
    of their own time at scale 1, cProfile); here the rows go into one table and each day's
    rows are chained by a `next` link, filed and walked by compiled loops.  The rows are
    kept until the run ends (25 bytes a row with the link: the camps file 176,165 rows at
    scale 1, 4.4 MB; deaths and releases after the run's last day are not filed)."""

    def __init__(self, n_days: int, dtype: list[tuple[str, str]]) -> None:
        self.table = Table(dtype, 1024)
        self._next = np.empty(1024, dtype=np.int64)
        self._head = np.full(n_days, -1, dtype=np.int64)
        self._tail = np.full(n_days, -1, dtype=np.int64)

    def add(self, when: np.ndarray, *columns: np.ndarray) -> None:
        """File rows (one value per column, in the table's order) under the days `when`
        (each in [0, n_days))."""
        k = when.shape[0]
        if k == 0:
            return
        start = self.table.n
        self.table.put(k, *columns)
        if self.table.n > self._next.shape[0]:
            grown = np.empty(self.table.storage.shape[0], dtype=np.int64)
            grown[:start] = self._next[:start]
            self._next = grown
        _link(self._next, self._head, self._tail, np.ascontiguousarray(when, np.int64),
              start)

    def __contains__(self, day: int) -> bool:
        return bool(self._head[day] >= 0)

    def pop(self, day: int) -> np.ndarray:
        """The rows filed under `day` (a copy), in order; the day's list is emptied."""
        first = int(self._head[day])
        if first < 0:
            return self.table.rows[:0].copy()
        rows = self.table.rows[_walk(self._next, first)]
        self._head[day] = self._tail[day] = -1
        return rows


@njit(cache=True)
def _update_counts(log: np.ndarray, start: int, end: int, slot: np.ndarray,
                   group: np.ndarray, known: np.ndarray, state: np.ndarray,
                   counted: np.ndarray, counts: np.ndarray) -> None:
    """`StateCount.counts`' update from the event log's rows [start, end): each member
    logged (`slot[p]`, his place among the members; -1 for others, and people beyond the
    end of `slot` are no members) is looked at again, and his group's count moves by the
    change of his counted state since he was last looked at (`known`).  One read a row and
    a few per member logged, where counting a group again read all its members' states
    (1,800 random reads a region, most regions every day of the mass operations)."""
    top = slot.shape[0]
    for k in range(start, end):
        p = log[k].person
        if p < top:
            j = slot[p]
            if j >= 0:
                now = counted[state[p]]
                if now != known[j]:
                    counts[group[j]] += 1.0 if now else -1.0
                    known[j] = now


class StateCount:
    """How many members of each group are in a counted state (the police officers of each
    region who serve: free or released), kept up to date from the event log: a member who
    appears in the rows logged since the last call is looked at again, and his group's
    count follows his change (`_update_counts`).  Relies on every change of a member's
    state being logged (arrest, sentence, release, death, dismissal, reinstatement), as the
    mechanisms' `check_day` verify with --check against a fresh count.  Cost in proportion
    to events: counting every member every day read 25,000 states a day at any scale, and
    counting again each group with a member logged read most of them during the mass
    operations (0.16 s of a calibration simulation, against 0.026 s now)."""

    def __init__(self, members: np.ndarray, group: np.ndarray, n_groups: int,
                 counted: np.ndarray, state: np.ndarray, log: Table) -> None:
        order = np.argsort(group, kind="stable")
        #: the members, group by group (group g's are members[lo[g]:hi[g]])
        self.members = np.ascontiguousarray(members[order], dtype=np.int64)
        grp = np.asarray(group, dtype=np.int64)[order]
        self.lo = np.searchsorted(grp, np.arange(n_groups)).astype(np.int64)
        self.hi = np.searchsorted(grp, np.arange(n_groups), side="right").astype(np.int64)
        self._group = grp  # each member's group
        # each member's place among the members, by id up to the largest (members are
        # officials of the elite block, whose size does not depend on the scale: 4 bytes
        # each of its people)
        top = int(self.members.max()) + 1 if self.members.size else 0
        self._slot = np.full(top, -1, dtype=np.int32)
        self._slot[self.members] = np.arange(self.members.size, dtype=np.int32)
        #: whether each member was in a counted state when last looked at
        self._known = counted[state[self.members]].copy()
        self._counted = counted
        self._state = state
        self._log = log
        self._seen = 0
        self._counts = np.array([self.fresh(g) for g in range(n_groups)], dtype=np.float64)

    def fresh(self, g: int) -> int:
        """Group g's count read from the states now (what `counts` must equal)."""
        ids = self.members[int(self.lo[g]):int(self.hi[g])]
        return int(self._counted[self._state[ids]].sum())

    def counts(self) -> np.ndarray:
        """The count of each group now (float64; READ ONLY for the callers)."""
        log = self._log
        n = log.n
        if n > self._seen:
            if self.members.size:
                _update_counts(log.storage, self._seen, n, self._slot, self._group,
                               self._known, self._state, self._counted, self._counts)
            self._seen = n
        return self._counts

    def look_again(self, ids: np.ndarray) -> None:
        """Members whose state changed without a row in the event log (the engine's
        `clear_suspicion`): their groups' counts follow them now."""
        self.counts()  # the log first, then them
        rows = np.zeros(ids.size, dtype=self._log.dtype)  # the log's kernel, compiled once
        rows["person"] = ids
        _update_counts(rows, 0, ids.size, self._slot, self._group, self._known, self._state,
                       self._counted, self._counts)

    def stale(self) -> bool:
        """Whether a group's count differs from a fresh one (the invariant of --check)."""
        now = self.counts()
        return any(now[g] != self.fresh(g) for g in range(now.size))
