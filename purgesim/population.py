"""The synthetic society: a structure of arrays, one row per person, rows never deleted.

Layout (ids are rows):

* the **elite block** ``[0, n_elite)``: households of ``H`` rows, the head holding a post
  (party, army, police) and ``H-1`` relatives.  Unscaled: cohorts keep their real sizes at every
  scale.  Explicit arrays (post, cohort mask, superior, unit, region) exist for this block only.
* the **mass block** ``[n_elite, n)``: regions laid out contiguously, each a whole number of
  households.  Scaled by ``scale``.

Ties are never stored.  Households are blocks of ``H`` consecutive rows.  Workplaces and
acquaintance rings come from keyed Feistel permutations of each region: person ``l`` sits at
position ``perm(l)``; the workplace is the block of ``W`` positions around it, acquaintances
are the two ring neighbours ``perm(l) +- 1`` in each of ``K`` permutations.  Family, workplace
and acquaintance ties are therefore symmetric (if A knows B, B knows A), cost no memory, and
are computed in O(1) per tie.  The elite's chain of command is symmetric too: a subordinate
lists his chief (he names him, he can denounce him) and a chief lists his direct subordinates,
at most `MAX_SPAN` of them; the party, the state, the army (`society.build_army`) and the
police (`society.build_police_levels`) are built with levels of command so that no chief has
more.  The subordinates are read from a table derived once from ``e_superior`` (`subordinates`).

Bytes per person: ``state`` (1) + ``traits`` (1) = 2 B in the mass block; the elite block adds
post (1) + region (1) + cohorts (2) + superior (4) + unit (4) + army rank (1) = 13 B per elite
head (post-holder), and the table of subordinates 12 B more (``sub_lo`` 8, ``sub_ids`` 4),
i.e. 25 B per head, about 6 B per elite row with households of 4.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numba import prange

from . import rng
from .codes import (
    AT_LARGE_LUT,
    NATION_SHIFT,
    TRAIT_ELEMENT,
    TRAIT_OPPOSITION,
    TRAIT_PARTY,
    Cohort,
    Post,
    State,
    Tie,
)
from .kernels import njit

#: the random streams of the society (traits, workplaces, acquaintance rings)
S = rng.Streams("society", "trait_element", "trait_party", "trait_opposition", "trait_nation",
                "perm_work", "perm_acq", "perm_elite", "elite_opposition")

#: most direct subordinates a chief lists (the symmetric chain of command, `ties_of`)
MAX_SPAN = 64
#: >= (H-1) + W + 2K + 1 + MAX_SPAN for the largest sizes a scenario may declare
MAX_TIES = 96 + MAX_SPAN


# --------------------------------------------------------------------------------------------
# Keyed permutations (Feistel network with cycle walking)
# --------------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _half_bits(n: int) -> int:
    h = 1
    while (1 << (2 * h)) < n:
        h += 1
    return h


@njit(cache=True, inline="always")
def _feistel(x: int, h: int, k: np.uint64) -> int:
    mask = (1 << h) - 1
    left = x >> h
    right = x & mask
    for r in range(4):
        f = int(rng.mix(np.uint64(right) ^ k ^ np.uint64(r * 0x9E37)) & np.uint64(mask))
        left, right = right, left ^ f
    return (left << h) | right


@njit(cache=True, inline="always")
def _feistel_inv(x: int, h: int, k: np.uint64) -> int:
    mask = (1 << h) - 1
    left = x >> h
    right = x & mask
    for r in range(3, -1, -1):
        f = int(rng.mix(np.uint64(left) ^ k ^ np.uint64(r * 0x9E37)) & np.uint64(mask))
        left, right = right ^ f, left
    return (left << h) | right


@njit(cache=True)
def permute(x: int, n: int, k: np.uint64) -> int:
    """A keyed bijection of [0, n): the Feistel network on [0, 4^h), walked until it lands
    in [0, n) (one call site of the inlined network, so numba compiles one copy of it)."""
    h = _half_bits(n)
    y = x
    while True:
        y = _feistel(y, h, k)
        if y < n:
            return y


@njit(cache=True)
def unpermute(y: int, n: int, k: np.uint64) -> int:
    """The inverse of `permute`."""
    h = _half_bits(n)
    x = y
    while True:
        x = _feistel_inv(x, h, k)
        if x < n:
            return x


# --------------------------------------------------------------------------------------------
# Ties, computed on demand
# --------------------------------------------------------------------------------------------


@njit(cache=True)
def _region_of(i: int, region_start: np.ndarray) -> int:
    """The mass region of person i (``np.searchsorted(region_start, i, "right") - 1`` for
    ``region_start[0] <= i < region_start[-1]``, an empty region never chosen): a search
    compiled once, where ``np.searchsorted`` would compile numba's generic one."""
    lo = 0
    hi = region_start.shape[0] - 2
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if region_start[mid] <= i:
            lo = mid
        else:
            hi = mid - 1
    return lo


@njit(cache=True)
def _regions_of(ids: np.ndarray, region_start: np.ndarray, n_elite: int, hsize: int,
                e_region: np.ndarray) -> np.ndarray:
    """The region of each person: the elite's from their household's head, the mass
    block's from the contiguous region ranges."""
    out = np.empty(ids.shape[0], dtype=np.int64)
    for k in range(ids.shape[0]):
        i = ids[k]
        if i < n_elite:
            out[k] = e_region[i // hsize]
        else:
            out[k] = _region_of(i, region_start)
    return out


@njit(cache=True, inline="always")
def _workplace(i: int, region_start: np.ndarray, key_work: np.ndarray,
               wsize: int) -> tuple[int, int, int, int, np.uint64, int, int]:
    """Where a person of the mass block works: (region, its first id, its size, his place
    in it, the region's workplace key, his position in the workplace permutation, the
    first position of his workplace, which is its boss)."""
    r = _region_of(i, region_start)
    base = region_start[r]
    n = region_start[r + 1] - base
    loc = i - base
    kw = np.uint64(key_work[r])
    p = permute(loc, n, kw)
    return r, base, n, loc, kw, p, (p // wsize) * wsize


@njit(cache=True)
def ties_of(
    i: int,
    geo: np.ndarray,
    region_start: np.ndarray,
    key_work: np.ndarray,
    key_acq: np.ndarray,
    e_superior: np.ndarray,
    e_unit: np.ndarray,
    unit_lo: np.ndarray,
    unit_hi: np.ndarray,
    sub_lo: np.ndarray,
    sub_ids: np.ndarray,
    out_ids: np.ndarray,
    out_kind: np.ndarray,
) -> int:
    """Fill out_ids/out_kind with the ties of person i; return their number.

    geo = [n_elite, H, W, K, n_heads, elite_key, n_branches, lo_0, hi_0, lo_1, hi_1, ...]

    Elite acquaintances: K-1 rings within the head's branch (party and state, army, police),
    one ring across all heads.

    Chain of command: a head lists his superior (kind SUPERIOR) and, if he has at most
    `MAX_SPAN` direct subordinates, each of them (kind WORK, as the head of a mass workplace
    lists its workers) unless the unit ring already lists him.  The tie is then symmetric.
    A chief with more subordinates would list none of them (the tie one-way); the society
    builds none (tests/test_population.py, test_no_span_of_command_exceeds_max_span).
    """
    n_elite = geo[0]
    hsize = geo[1]
    wsize = geo[2]
    kring = geo[3]
    n_heads = geo[4]
    elite_key = np.uint64(geo[5])
    m = 0
    # family: the household block
    h0 = (i // hsize) * hsize
    for j in range(h0, h0 + hsize):
        if j != i:
            out_ids[m] = j
            out_kind[m] = 0
            m += 1
    if i < n_elite:
        if i % hsize != 0:
            return m  # relatives of officials: family ties only
        g = i // hsize  # head index
        u = e_unit[g]
        lo = unit_lo[u]
        size = unit_hi[u] - lo
        if size > 1:
            half = wsize // 2
            if size <= wsize:
                for t in range(size):
                    if lo + t != g:
                        out_ids[m] = (lo + t) * hsize
                        out_kind[m] = 1
                        m += 1
            else:
                pos = g - lo
                for d in range(1, half + 1):
                    out_ids[m] = (lo + (pos + d) % size) * hsize
                    out_kind[m] = 1
                    m += 1
                    out_ids[m] = (lo + (pos - d) % size) * hsize
                    out_kind[m] = 1
                    m += 1
        blo = 0
        bsize = n_heads
        for b in range(geo[6]):
            if geo[7 + 2 * b] <= g < geo[8 + 2 * b]:
                blo = geo[7 + 2 * b]
                bsize = geo[8 + 2 * b] - blo
        for k in range(kring):
            kk = elite_key ^ np.uint64((k + 1) * 0x632BE59BD9B4E019)
            lo_r, size_r = (blo, bsize) if k < kring - 1 else (0, n_heads)
            if size_r > 2:
                p = permute(g - lo_r, size_r, kk)
                for d in (1, size_r - 1):
                    out_ids[m] = (lo_r + unpermute((p + d) % size_r, size_r, kk)) * hsize
                    out_kind[m] = 2
                    m += 1
        s = e_superior[g]
        if s >= 0:
            out_ids[m] = s * hsize
            out_kind[m] = 3
            m += 1
        a = sub_lo[g]
        b = sub_lo[g + 1]
        if b - a <= MAX_SPAN:
            for t in range(a, b):
                x = sub_ids[t]
                if _in_unit_ring(x, g, u, size, wsize, e_unit):
                    continue  # listed already as a unit neighbour
                out_ids[m] = x * hsize
                out_kind[m] = 1
                m += 1
        return m
    r, base, n, loc, kw, p, w0 = _workplace(i, region_start, key_work, wsize)
    for q in range(w0, min(w0 + wsize, n)):
        if q != p:
            out_ids[m] = base + unpermute(q, n, kw)
            out_kind[m] = 1 if q != w0 else 3  # the first position is the boss
            m += 1
    if n > 2:
        for k in range(kring):
            ka = np.uint64(key_acq[r, k])
            p = permute(loc, n, ka)
            for d in (1, n - 1):
                out_ids[m] = base + unpermute((p + d) % n, n, ka)
                out_kind[m] = 2
                m += 1
    return m


@njit(cache=True)
def _subordinates_listed(i: int, geo: np.ndarray, e_unit: np.ndarray, unit_lo: np.ndarray,
                         unit_hi: np.ndarray, sub_lo: np.ndarray, sub_ids: np.ndarray) -> int:
    """How many direct subordinates `ties_of` lists for elite person i, last among his ties
    (those not already listed as unit-ring neighbours; none above `MAX_SPAN`)."""
    hsize = geo[1]
    wsize = geo[2]
    if i >= geo[0] or i % hsize != 0:
        return 0
    g = i // hsize
    a = sub_lo[g]
    b = sub_lo[g + 1]
    if b - a > MAX_SPAN:
        return 0
    u = e_unit[g]
    size = unit_hi[u] - unit_lo[u]
    n = 0
    for t in range(a, b):
        if not _in_unit_ring(sub_ids[t], g, u, size, wsize, e_unit):
            n += 1
    return n


@njit(cache=True, inline="always")
def _in_unit_ring(x: int, g: int, u: int, size: int, wsize: int, e_unit: np.ndarray) -> bool:
    """Whether head x is listed among head g's unit neighbours (g in unit u of `size`): the
    whole unit when it is no larger than a workplace, else the W/2 heads on each side."""
    if e_unit[x] != u or size <= 1:
        return False
    if size <= wsize:
        return True
    dd = (x - g) % size
    return dd <= wsize // 2 or size - dd <= wsize // 2


@njit(cache=True)
def boss_of(i: int, geo: np.ndarray, region_start: np.ndarray, key_work: np.ndarray,
            e_superior: np.ndarray) -> int:
    """The structural superior of person i (-1 if none)."""
    hsize = geo[1]
    wsize = geo[2]
    if i < geo[0]:
        if i % hsize != 0:
            return -1
        s = e_superior[i // hsize]
        return s * hsize if s >= 0 else -1
    _, base, n, _, kw, p, w0 = _workplace(i, region_start, key_work, wsize)
    if w0 == p:
        return -1
    return base + unpermute(w0, n, kw)


# --------------------------------------------------------------------------------------------
# Traits of the mass population
# --------------------------------------------------------------------------------------------


@njit(cache=True, parallel=True)
def _fill_traits(
    traits: np.ndarray,
    start: int,
    stop: int,
    seed: int,
    hsize: int,
    p_element: float,
    p_party: float,
    p_opposition: float,
    nation_cum: np.ndarray,
    streams: np.ndarray,
) -> None:
    """Per-person traits from keyed draws: independent of thread count by construction.

    Nationality is drawn per household, so relatives share it.  `streams`: the ids of
    society.trait_element, trait_party, trait_opposition and trait_nation (passed, not read
    as globals, so that numba's cache never holds a stale id).
    """
    day = np.int64(-1)  # the society's draws come before day 0 (not a literal: see rng.key)
    for i in prange(start, stop):
        t = 0
        if rng.uniform(seed, day, i, streams[0]) < p_element:
            t |= TRAIT_ELEMENT
        if rng.uniform(seed, day, i, streams[1]) < p_party:
            t |= TRAIT_PARTY
            if rng.uniform(seed, day, i, streams[2]) < p_opposition:
                t |= TRAIT_OPPOSITION
        u = rng.uniform(seed, day, i // hsize, streams[3])
        for c in range(nation_cum.shape[0]):
            if u < nation_cum[c]:
                t |= (c + 1) << NATION_SHIFT
                break
        traits[i] = t


@njit(cache=True)
def _weights(ids: np.ndarray, n_elite: int, w_mass: float) -> np.ndarray:
    """`Population.weight` in one compiled call: 1 in the elite block, `w_mass` (1/scale)
    in the mass population."""
    out = np.empty(ids.shape[0], dtype=np.float64)
    for k in range(ids.shape[0]):
        out[k] = 1.0 if ids[k] < n_elite else w_mass
    return out


# --------------------------------------------------------------------------------------------
# The population object
# --------------------------------------------------------------------------------------------


@dataclass
class Population:
    """Single source of truth for per-person arrays (Covasim's `People`, LASER's frame)."""

    seed: int
    scale: float
    hsize: int
    wsize: int
    rings: int
    n_elite: int
    region_names: list[str]
    region_start: np.ndarray  # int64[R+1], global ids of mass regions
    state: np.ndarray  # uint8[n]
    traits: np.ndarray  # uint8[n]
    e_post: np.ndarray  # uint8[n_heads]
    e_cohorts: np.ndarray  # uint16[n_heads]
    e_superior: np.ndarray  # int32[n_heads] (head index, -1 none)
    e_unit: np.ndarray  # int32[n_heads]
    e_region: np.ndarray  # uint8[n_heads]
    unit_lo: np.ndarray  # int64[U]
    unit_hi: np.ndarray
    unit_names: list[str]
    key_work: np.ndarray  # uint64[R]
    key_acq: np.ndarray  # uint64[R, K]
    branches: list[tuple[str, int, int]] = field(default_factory=list)  # head-index ranges
    #: the army rank group of each head (`codes.Rank`, low 4 bits) and its branch
    #: (`codes.Branch` << 4); 0 outside the army
    e_rank: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint8))
    geo: np.ndarray = field(init=False)
    #: the direct subordinates of head g are sub_ids[sub_lo[g]:sub_lo[g + 1]] (head indices,
    #: increasing): the other end of the SUPERIOR tie, derived from e_superior
    sub_lo: np.ndarray = field(init=False)
    sub_ids: np.ndarray = field(init=False)
    names: dict[str, int] = field(default_factory=dict)
    factions: dict[str, np.ndarray] = field(default_factory=dict)  # faction -> member ids
    _pools: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = field(
        default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        elite_key = int(rng.key(self.seed, -1, 0, S.perm_elite)) & 0x7FFFFFFFFFFFFFFF
        ranges = [x for _, lo, hi in self.branches for x in (lo, hi)]
        self.geo = np.array(
            [self.n_elite, self.hsize, self.wsize, self.rings, self.n_heads, elite_key,
             len(self.branches), *ranges],
            dtype=np.int64,
        )
        self.sub_lo, self.sub_ids = subordinates(self.e_superior)
        if self.e_rank.size != self.e_superior.size:
            self.e_rank = np.zeros(self.e_superior.size, dtype=np.uint8)

    @property
    def n(self) -> int:
        return int(self.state.shape[0])

    @property
    def n_heads(self) -> int:
        return self.n_elite // self.hsize

    @property
    def n_regions(self) -> int:
        return len(self.region_names)

    def region_of(self, i: int) -> int:
        if i < self.n_elite:
            return int(self.e_region[i // self.hsize])
        return int(_region_of(i, self.region_start))

    def regions_of(self, ids: np.ndarray) -> np.ndarray:
        # contiguous: a column of the event log is a strided view, which would compile
        # another specialisation in the middle of a run (tests/test_compilation.py)
        return _regions_of(np.ascontiguousarray(ids, dtype=np.int64), self.region_start,
                           self.n_elite, self.hsize, self.e_region)

    def ties(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        ids = np.empty(MAX_TIES, dtype=np.int64)
        kinds = np.empty(MAX_TIES, dtype=np.int8)
        m = ties_of(i, self.geo, self.region_start, self.key_work, self.key_acq,
                    self.e_superior, self.e_unit, self.unit_lo, self.unit_hi, self.sub_lo,
                    self.sub_ids, ids, kinds)
        return ids[:m], kinds[:m]

    def boss(self, i: int) -> int:
        return int(boss_of(i, self.geo, self.region_start, self.key_work, self.e_superior))

    def is_official(self, ids: np.ndarray) -> np.ndarray:
        """Post-holders of the elite block (not their relatives)."""
        return (ids < self.n_elite) & (ids % self.hsize == 0)

    def weight(self, ids: np.ndarray) -> np.ndarray:
        """How many real people each simulated person stands for."""
        if (type(ids) is np.ndarray and ids.ndim == 1 and ids.dtype == np.int64
                and ids.flags.c_contiguous):
            return _weights(ids, self.n_elite, 1.0 / self.scale)  # a run makes 15,000 calls
        return np.where(ids < self.n_elite, 1.0, 1.0 / self.scale)

    def post(self, i: int) -> Post:
        if i >= self.n_elite:
            return Post.NONE
        if i % self.hsize:
            return Post.RELATIVE
        return Post(int(self.e_post[i // self.hsize]))

    def cohort_members(self, c: Cohort) -> np.ndarray:
        heads = np.flatnonzero(self.e_cohorts & (1 << int(c)))
        return heads * self.hsize

    def heads_with_post(self, post: Post) -> np.ndarray:
        return np.flatnonzero(self.e_post == int(post)) * self.hsize

    def heads_with_posts(self, posts: tuple[Post, ...]) -> np.ndarray:
        """The post-holders of any of `posts`, in order of id (e.g. codes.POLICE_STAFF)."""
        return np.flatnonzero(np.isin(self.e_post, [int(p) for p in posts])) * self.hsize

    def pool_bits(self, mask: int, value: int) -> tuple[np.ndarray, np.ndarray]:
        """The bitmaps of people whose traits match (traits & mask == value), built once per
        pool (traits never change after the society is built): 1 bit a person, and 1 bit
        per block of 64 people (`_pool_bits`)."""
        key = (int(mask), int(value))
        bits = self._pools.get(key)
        if bits is None:
            bits = self._pools[key] = _pool_bits(self.traits, key[0], key[1])
        return bits

    def nbytes(self) -> dict[str, int]:
        arrays = {
            "state": self.state, "traits": self.traits, "e_post": self.e_post,
            "e_cohorts": self.e_cohorts, "e_superior": self.e_superior, "e_unit": self.e_unit,
            "e_region": self.e_region, "e_rank": self.e_rank, "sub_lo": self.sub_lo,
            "sub_ids": self.sub_ids, "region_start": self.region_start,
            "unit_lo": self.unit_lo, "unit_hi": self.unit_hi,
        }
        return {k: int(v.nbytes) for k, v in arrays.items()}

    def label(self, i: int) -> str:
        for name, j in self.names.items():
            if j == i:
                return name
        post = self.post(i)
        where = self.region_names[self.region_of(i)]
        return f"#{i} ({post.name.lower().replace('_', ' ')}, {where})"


def subordinates(e_superior: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The chain of command read downwards, as a compressed table: head g's direct
    subordinates are ``sub_ids[sub_lo[g]:sub_lo[g + 1]]`` in increasing order (one pass over
    the elite heads when the society is built; 4 bytes a head and 8 a chief)."""
    n = e_superior.size
    sup = e_superior.astype(np.int64)
    has = sup >= 0
    order = np.flatnonzero(has)
    order = order[np.argsort(sup[order], kind="stable")]
    counts = np.bincount(sup[has], minlength=n)[:n] if has.any() else np.zeros(n, np.int64)
    sub_lo = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=sub_lo[1:])
    return sub_lo, order.astype(np.int32)


@njit(cache=True)
def people_in(state: np.ndarray, code: int) -> np.ndarray:
    """The ids of the people in one state, in order: ``np.flatnonzero(state == code)``
    without the comparison's array of one byte a person (162 MB at scale 1)."""
    s = state.dtype.type(code)
    n = 0
    for i in range(state.shape[0]):
        n += state[i] == s
    out = np.empty(n, dtype=np.int64)
    j = 0
    for i in range(state.shape[0]):
        if state[i] == s:
            out[j] = i
            j += 1
    return out


def state_counts(state: np.ndarray) -> np.ndarray:
    return np.bincount(state, minlength=len(State))


__all__ = ["Population", "Tie", "permute", "unpermute", "ties_of", "boss_of", "state_counts",
           "people_in"]


# --------------------------------------------------------------------------------------------
# Batch kernels used by the mechanisms
# --------------------------------------------------------------------------------------------


@njit(cache=True)
def ties_many(
    ids: np.ndarray,
    geo: np.ndarray,
    region_start: np.ndarray,
    key_work: np.ndarray,
    key_acq: np.ndarray,
    e_superior: np.ndarray,
    e_unit: np.ndarray,
    unit_lo: np.ndarray,
    unit_hi: np.ndarray,
    sub_lo: np.ndarray,
    sub_ids: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All ties of many people: (owner index, tie person, tie kind, tie position)."""
    cap = ids.shape[0] * MAX_TIES
    owner = np.empty(cap, dtype=np.int64)
    other = np.empty(cap, dtype=np.int64)
    kind = np.empty(cap, dtype=np.int8)
    pos = np.empty(cap, dtype=np.int64)
    buf_i = np.empty(MAX_TIES, dtype=np.int64)
    buf_k = np.empty(MAX_TIES, dtype=np.int8)
    m = 0
    for a in range(ids.shape[0]):
        t = ties_of(ids[a], geo, region_start, key_work, key_acq, e_superior, e_unit,
                    unit_lo, unit_hi, sub_lo, sub_ids, buf_i, buf_k)
        for j in range(t):
            owner[m] = a
            other[m] = buf_i[j]
            kind[m] = buf_k[j]
            pos[m] = j
            m += 1
    return owner[:m], other[:m], kind[:m], pos[:m]


_LOW7 = np.uint64(0x7F7F7F7F7F7F7F7F)
_BYTES = np.uint64(0x0101010101010101)
_GATHER = np.uint64(0x0002040810204081)  # sum of 2**(7k), k = 0..7


@njit(cache=True)
def _pool_bits(traits: np.ndarray, mask: int, value: int) -> tuple[np.ndarray, np.ndarray]:
    """One bit per person: do his traits match (traits & mask == value)?  And one bit per
    block of 64 people: does anyone in it match?  The coarse map (1 byte for 512 people,
    316 KB for the USSR at scale 1) stays in cache; a try in a sparse pool (former
    oppositionists: 1 person in 700) rarely needs to read the fine map from memory.

    Eight people are tested at once, as the eight bytes of one 64-bit word: a byte of
    ``(word & mask) ^ value`` (each repeated eight times) is zero where a person matches;
    the exact zero-byte test sets its top bit, and one multiplication gathers the eight top
    bits into the byte of the fine map (the same bits as testing person by person)."""
    n = traits.shape[0]
    bits = np.zeros((n + 7) // 8, dtype=np.uint8)
    m = np.uint8(mask)
    v = np.uint8(value)
    full = n // 8
    words = traits[:8 * full].view(np.uint64)
    mm = np.uint64(mask & 0xFF) * _BYTES
    vv = np.uint64(value & 0xFF) * _BYTES
    for j in range(full):
        x = (words[j] & mm) ^ vv
        y = ~(((x & _LOW7) + _LOW7) | x | _LOW7)  # top bit of each byte: the byte is zero
        bits[j] = np.uint8(((y >> np.uint64(7)) * _GATHER) >> np.uint64(49))
    for i in range(8 * full, n):
        if (traits[i] & m) == v:
            bits[i >> 3] |= np.uint8(1 << (i & 7))
    coarse = np.zeros((bits.shape[0] + 63) // 64, dtype=np.uint8)
    blocks = bits.shape[0] // 8  # whole blocks of 64 people: one 64-bit word of `bits` each
    fine = bits[:8 * blocks].view(np.uint64)
    for c in range(blocks):
        coarse[c >> 3] |= np.uint8(fine[c] != 0) << np.uint8(c & 7)
    for j in range(8 * blocks, bits.shape[0]):
        if bits[j]:
            c = j >> 3
            coarse[c >> 3] |= np.uint8(1 << (c & 7))
    return bits, coarse


#: tries per batch: the first batch is small (a dense pool gives its people in a few tries),
#: each next one twice as large up to `_BATCH` (a sparse pool needs thousands)
_BATCH = 256
_FIRST_BATCH = 16


@njit(cache=True)
def _pick(seed: int, day: int, subject: int, purpose: int, lo: int, hi: int, count: int,
          traits: np.ndarray, mask: int, value: int, bits: np.ndarray, coarse: np.ndarray,
          use_bits: bool, state: np.ndarray, at_large: np.ndarray,
          max_tries: int) -> np.ndarray:
    """Tries one by one, in the order of their keys, made in batches.  A batch's candidates
    are computed at once (the loop vectorises), then narrowed without a branch per try: the
    tries that pass the coarse map are listed, then those of them that pass the fine map,
    then those at large (each list's memory reads are independent, so the processor overlaps
    them; a mispredicted branch per try cost more than the reads).  The runs of failed tries
    between two successes are then counted at once, stopping exactly where one-by-one tries
    stop (after `max_tries * count` tries, or `5 * max_tries` failures in a row): the same
    people as trying one by one (tests/test_speed_identity.py)."""
    out = np.empty(count, dtype=np.int64)
    n = hi - lo
    got = 0
    tries = 0
    fails = 0
    k = 0
    most_tries = max_tries * count
    most_fails = 5 * max_tries
    cand = np.empty(_BATCH, dtype=np.int64)
    sel = np.empty(_BATCH + 1, dtype=np.int64)  # tries still in the running (+ a sentinel)
    h = rng.key(seed, day, subject, purpose)
    size = _FIRST_BATCH
    while got < count and tries < most_tries and fails < most_fails and n > 0:
        for b in range(size):
            cand[b] = lo + int(rng.kth(h, k + b) * n)
        m = 0
        if mask == 0:
            for b in range(size):
                sel[b] = b
            m = size
        elif use_bits:
            for b in range(size):  # the coarse map (in cache)
                c = cand[b] >> 6
                sel[m] = b
                m += (coarse[c >> 3] >> (c & 7)) & 1
            passed = 0
            for j in range(m):  # the fine map
                b = sel[j]
                i = cand[b]
                sel[passed] = b
                passed += (bits[i >> 3] >> (i & 7)) & 1
            m = passed
        else:
            for b in range(size):
                sel[m] = b
                m += (traits[cand[b]] & mask) == value
        passed = 0
        for j in range(m):  # the state last
            b = sel[j]
            sel[passed] = b
            passed += at_large[state[cand[b]]]
        sel[passed] = size  # the sentinel: no success after the last one listed
        b = 0
        j = 0
        while got < count:
            f = sel[j]
            run = f - b  # failed tries before the next success (or the batch's end)
            room = min(most_tries - tries, most_fails - fails)
            if run > room:  # the limit is reached within the run: stop where it is
                run = max(room, 0)
                k += run
                tries += run
                fails += run
                break
            k += run
            tries += run
            fails += run
            if f == size or not (tries < most_tries and fails < most_fails):
                break
            k += 1
            tries += 1
            fails = 0
            i = cand[f]
            dup = False
            for q in range(got):
                if out[q] == i:
                    dup = True
                    break
            if not dup:
                out[got] = i
                got += 1
            b = f + 1
            j += 1
        size = min(2 * size, _BATCH)
    return out[:got]


def pick_people(seed: int, day: int, subject: int, purpose: int, lo: int, hi: int, count: int,
                pop: Population, mask: int, value: int, max_tries: int) -> np.ndarray:
    """Draw up to `count` distinct people at large in [lo, hi) whose traits match.

    Rejection sampling with keyed draws: cost grows with the number picked, not with the
    region's size.  Returns fewer than `count` when the pool looks exhausted: after
    `max_tries` tries per person wanted, or `5 * max_tries` failures in a row (a pool that
    dense would have given someone with probability 1 - e^-5), so that a dry pool costs a
    bounded number of tries, not `max_tries` per person wanted.  A try tests the pool's
    bitmap (`Population.pool_bits`) before the person's state.
    """
    if count <= 0:
        return np.empty(0, dtype=np.int64)
    use_bits = mask != 0 and pop.n >= BITMAP_FROM
    bits, coarse = pop.pool_bits(mask, value) if use_bits else (_NO_BITS, _NO_BITS)
    return _pick(seed, day, subject, purpose, lo, hi, count, pop.traits, mask, value, bits,
                 coarse, use_bits, pop.state, AT_LARGE_LUT, max_tries)



@njit(cache=True)
def copy_into(out: np.ndarray, m: int, a: np.ndarray) -> int:
    """`a` copied into `out` from position m; returns the position after it.  A loop, not
    ``out[m:m + n] = a``: a slice assignment compiles NumPy's shape checks and their error
    messages (string formatting) into every kernel that does it, about 3 s of the first
    run's compilation for three kernels.  Kernels that call `_pick` pass it only arguments
    (no constants, no global arrays, which numba types as literals and read-only arrays):
    each other argument type is one more compilation of `_pick`."""
    for j in range(a.shape[0]):
        out[m + j] = a[j]
    return m + a.shape[0]


@njit(cache=True)
def _pick_regions(counts: np.ndarray, seed: int, day: int, purpose: int,
                  region_start: np.ndarray, traits: np.ndarray, mask: int, value: int,
                  bits: np.ndarray, coarse: np.ndarray, use_bits: bool, state: np.ndarray,
                  at_large: np.ndarray, max_tries: int) -> np.ndarray:
    """`pick_in_regions`' loop over the regions, in one call."""
    total = 0
    for r in range(counts.shape[0]):
        total += max(counts[r], 0)
    out = np.empty(total, dtype=np.int64)
    m = np.int64(0)  # not the literal 0: copy_into would compile for Literal[int](0) too
    for r in range(counts.shape[0]):
        if counts[r] <= 0:  # none wanted (pick_people's count <= 0)
            continue
        got = _pick(seed, day, r, purpose, region_start[r], region_start[r + 1], counts[r],
                    traits, mask, value, bits, coarse, use_bits, state, at_large, max_tries)
        m = copy_into(out, m, got)
    return out[:m]


def pick_in_regions(seed: int, day: int, purpose: int, counts: np.ndarray, pop: Population,
                    mask: int, value: int, max_tries: int) -> np.ndarray:
    """``pick_people`` in each region r with ``counts[r]`` people wanted (the region as the
    draw's subject), the picks one region after the other: the same people as calling it
    region by region, in one compiled call instead of a dozen NumPy and Python calls a
    region (the daily orders, routine policing and denunciations do this every day)."""
    counts = np.ascontiguousarray(counts, dtype=np.int64)
    use_bits = mask != 0 and pop.n >= BITMAP_FROM
    bits, coarse = pop.pool_bits(mask, value) if use_bits else (_NO_BITS, _NO_BITS)
    return _pick_regions(counts, seed, day, purpose, pop.region_start, pop.traits, mask,
                         value, bits, coarse, use_bits, pop.state, AT_LARGE_LUT, max_tries)


_NO_BITS = np.zeros(1, dtype=np.uint8)
#: pools get bitmaps from this many simulated people on: below it `traits` itself fits in
#: the cache and a bitmap would cost more to build than it saves (the picks are the same).
BITMAP_FROM = 1 << 24


@njit(cache=True)
def sample_ties(
    ids: np.ndarray, factor: np.ndarray, p_kind: np.ndarray, elite_factor: float, seed: int,
    day: int, stream: int, geo: np.ndarray, region_start: np.ndarray, key_work: np.ndarray,
    key_acq: np.ndarray, e_superior: np.ndarray, e_unit: np.ndarray, unit_lo: np.ndarray,
    unit_hi: np.ndarray, sub_lo: np.ndarray, sub_ids: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ties of each person that a keyed draw selects: tie j of person c (in the order of
    `ties_of`) is selected when ``uniform_k(seed, day, c, stream, j) < min(p_kind[kind] * f,
    1)``, with f = factor[a] (times `elite_factor` in the elite block).  Returns (selected,
    by, kind) in the order of (person, tie).

    The same result as listing every tie with `ties_of` and drawing for each, but in the
    mass block a tie's identity (a Feistel inversion) is computed only for the ties drawn:
    a person's ties are counted from his workplace position alone, and with the
    probabilities of naming and defending (a few per cent) most are never looked up."""
    cap = ids.shape[0] * MAX_TIES
    out = np.empty(cap, dtype=np.int64)
    by = np.empty(cap, dtype=np.int64)
    kind = np.empty(cap, dtype=np.int8)
    buf_i = np.empty(MAX_TIES, dtype=np.int64)
    buf_k = np.empty(MAX_TIES, dtype=np.int8)
    n_elite = geo[0]
    hsize = geo[1]
    wsize = geo[2]
    kring = geo[3]
    m = 0
    for a in range(ids.shape[0]):
        c = ids[a]
        h = rng.key(seed, day, c, stream)  # his draws: rng.kth(h, j) for tie j
        if c < n_elite:
            f = factor[a] * elite_factor
            t = ties_of(c, geo, region_start, key_work, key_acq, e_superior, e_unit, unit_lo,
                        unit_hi, sub_lo, sub_ids, buf_i, buf_k)
            # a chief's subordinates (listed last by ties_of) weigh together as one workplace:
            # each is drawn with p_work x (W-1)/their number, so that the span of command
            # (an assumption of society.build_army) does not multiply the names he gives
            n_sub = _subordinates_listed(c, geo, e_unit, unit_lo, unit_hi, sub_lo, sub_ids)
            p_sub = min(p_kind[1] * f * min(1.0, (wsize - 1) / n_sub), 1.0) if n_sub else 0.0
            for j in range(t):
                p = p_sub if j >= t - n_sub else min(p_kind[buf_k[j]] * f, 1.0)
                if rng.kth(h, j) < p:
                    out[m] = buf_i[j]
                    by[m] = c
                    kind[m] = buf_k[j]
                    m += 1
            continue
        f = factor[a] * 1.0
        h0 = (c // hsize) * hsize
        r, base, n, loc, kw, pw, w0 = _workplace(c, region_start, key_work, wsize)
        n_work = min(w0 + wsize, n) - w0 - 1
        n_fam = hsize - 1
        n_acq = 2 * kring if n > 2 else 0
        p_fam = min(p_kind[0] * f, 1.0)
        p_work = min(p_kind[1] * f, 1.0)
        p_boss = min(p_kind[3] * f, 1.0)
        p_acq = min(p_kind[2] * f, 1.0)
        for j in range(n_fam + n_work + n_acq):
            u = rng.kth(h, j)
            if j < n_fam:
                if u < p_fam:
                    x = h0 + j
                    out[m] = x if x < c else x + 1
                    kind[m] = 0
                    by[m] = c
                    m += 1
            elif j < n_fam + n_work:
                q = w0 + (j - n_fam)
                if q >= pw:
                    q += 1
                boss = q == w0
                if u < (p_boss if boss else p_work):
                    out[m] = base + unpermute(q, n, kw)
                    kind[m] = 3 if boss else 1
                    by[m] = c
                    m += 1
            else:
                if u < p_acq:
                    b = j - n_fam - n_work
                    ka = np.uint64(key_acq[r, b // 2])
                    pk = permute(loc, n, ka)
                    d = 1 if b % 2 == 0 else n - 1
                    out[m] = base + unpermute((pk + d) % n, n, ka)
                    kind[m] = 2
                    by[m] = c
                    m += 1
    return out[:m], by[:m], kind[:m]


@njit(cache=True)
def negative_binomial(u: float, mean: float, size: float) -> int:
    """The count whose cumulative probability first reaches `u` under a negative binomial of
    this mean and dispersion `size` (variance mean + mean^2 / size): inversion from one
    keyed uniform, so a count is a pure function of its key."""
    if mean <= 0.0:
        return 0
    q = size / (size + mean)
    pmf = q ** size
    cdf = pmf
    k = 0
    while cdf < u and k < 100000:
        pmf *= (k + size) / (k + 1.0) * (1.0 - q)
        k += 1
        cdf += pmf
        if pmf <= 0.0 and cdf < u:  # underflow far in the tail: stop there
            break
    return k


@njit(cache=True)
def sample_named(
    ids: np.ndarray, factor: np.ndarray, mean: float, size: float, weight_kind: np.ndarray,
    elite_factor: float, seed: int, day: int, stream: int, geo: np.ndarray,
    region_start: np.ndarray, key_work: np.ndarray, key_acq: np.ndarray,
    e_superior: np.ndarray, e_unit: np.ndarray, unit_lo: np.ndarray, unit_hi: np.ndarray,
    sub_lo: np.ndarray, sub_ids: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Names given by each confession when their number is drawn first: K ~ negative
    binomial(mean x f, size) (draw 0 of the confessor's stream; f = factor[a], times
    `elite_factor` in the elite block), then K distinct ties chosen with probability in
    proportion to `weight_kind[kind]` (weighted sampling without replacement by the keys
    u_j^(1/w_j), u_j = draw 1 + j), all ties if he has fewer.  Returns (named, by, kind) in
    the order of (confessor, key) and the count drawn for each confessor."""
    cap = ids.shape[0] * MAX_TIES
    out = np.empty(cap, dtype=np.int64)
    by = np.empty(cap, dtype=np.int64)
    kind = np.empty(cap, dtype=np.int8)
    drawn = np.empty(ids.shape[0], dtype=np.int64)
    buf_i = np.empty(MAX_TIES, dtype=np.int64)
    buf_k = np.empty(MAX_TIES, dtype=np.int8)
    keys = np.empty(MAX_TIES)
    n_elite = geo[0]
    m = 0
    for a in range(ids.shape[0]):
        c = ids[a]
        f = factor[a] * (elite_factor if c < n_elite else 1.0)
        h = rng.key(seed, day, c, stream)
        k = negative_binomial(rng.kth(h, 0), mean * f, size)
        drawn[a] = k
        if k == 0:
            continue
        t = ties_of(c, geo, region_start, key_work, key_acq, e_superior, e_unit, unit_lo,
                    unit_hi, sub_lo, sub_ids, buf_i, buf_k)
        n_ok = 0
        for j in range(t):
            w = weight_kind[buf_k[j]]
            if w > 0.0:
                keys[j] = rng.kth(h, 1 + j) ** (1.0 / w)
                n_ok += 1
            else:
                keys[j] = -1.0  # never named
        order = np.argsort(-keys[:t])
        for r in range(min(k, n_ok)):
            j = order[r]
            out[m] = buf_i[j]
            by[m] = c
            kind[m] = buf_k[j]
            m += 1
    return out[:m], by[:m], kind[:m], drawn
