"""Counter-based random draws keyed by (seed, day, subject, purpose).

Why: a draw that depends only on its key, never on the order in which people are visited,
makes a run identical whatever the number of threads, and gives common random numbers for
free: the same person meets the same luck on the same day in two counterfactual runs.

The mixer is SplitMix64's finaliser (Steele, Lea & Flood 2014), applied to a combined key.
"""

from __future__ import annotations

import hashlib
import re
import sys
from typing import Any

import numpy as np

from .kernels import njit

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53

# Streams: every kind of decision draws from its own stream, named "owner.purpose" (the
# owner is the mechanism, or `society` for the building of the population), so that two
# decisions never share a draw and switching one mechanism off cannot change the draws any
# other mechanism sees (common random numbers).  A stream's id is a 62-bit hash of its name:
# stable across versions as long as the name is, and never typed by hand.  Two declarations
# of the same name from different modules, or two names with the same id, are refused.

STREAMS: dict[str, int] = {}  # name -> id
_DECLARED_BY: dict[str, str] = {}  # name -> module that declared it
_NAME_OF: dict[int, str] = {}  # id -> name
_STREAM_NAME = re.compile(r"[a-z][a-z_]*\.[a-z][a-z0-9_]*")


class StreamCollision(ValueError):
    """Two places claim the same stream, or two stream names hash to one id."""


def stream_id(name: str) -> int:
    """The id of a stream name: blake2b of the name, 62 bits (fits numba's int64)."""
    digest = hashlib.blake2b(name.encode(), digest_size=8, person=b"purgesim-rng").digest()
    return int.from_bytes(digest, "little") >> 2


def stream(name: str, _module: str | None = None) -> int:
    """Declare the stream `name` ("owner.purpose") and return its id."""
    if not _STREAM_NAME.fullmatch(name):
        raise ValueError(f"stream name {name!r}: allowed: 'owner.purpose' in lower case")
    module = _module or sys._getframe(1).f_globals.get("__name__", "?")
    sid = stream_id(name)
    if name in STREAMS:
        if _DECLARED_BY[name] != module:  # the same module again (a reload) is no collision
            raise StreamCollision(f"stream {name!r} is declared by {_DECLARED_BY[name]} "
                                  f"and again by {module}")
        return sid
    if sid in _NAME_OF:
        raise StreamCollision(f"streams {_NAME_OF[sid]!r} and {name!r} have the same id")
    STREAMS[name] = sid
    _DECLARED_BY[name] = module
    _NAME_OF[sid] = name
    return sid


class Streams:
    """The streams of one owner, as attributes: ``S = Streams("confession", "confess", "name")``
    then ``S.confess``.  Declared at import time, so a collision stops the import."""

    def __init__(self, owner: str, *purposes: str) -> None:
        module = sys._getframe(1).f_globals.get("__name__", "?")
        self.owner = owner
        self.ids: dict[str, int] = {}
        for p in purposes:
            self.ids[p] = stream(f"{owner}.{p}", _module=module)
            setattr(self, p, self.ids[p])

    def __repr__(self) -> str:
        return f"Streams({self.owner!r}, {', '.join(map(repr, self.ids))})"


def name_of(stream_id_: int) -> str:
    """The name of a declared stream id (for traces and error messages)."""
    return _NAME_OF.get(int(stream_id_), f"<undeclared {stream_id_}>")


# Subjects: a draw is keyed by one integer subject (a person's id, a region, ...).  Where a
# subject is made of several indices (operation, region, territorial unit), `subject` packs
# them into disjoint bit fields, so that two different tuples can never give the same key.
SUBJECT_BITS = 20
SUBJECT_LIMIT = 1 << SUBJECT_BITS


def subject(*parts: int) -> int:
    """Pack up to three indices, each in [0, 2**20), into one collision-free subject."""
    if len(parts) > 3:
        raise ValueError("subject: at most three indices")
    out = 0
    for p in parts:
        p = int(p)
        if not 0 <= p < SUBJECT_LIMIT:
            raise ValueError(f"subject index {p}: allowed: 0 to {SUBJECT_LIMIT - 1}")
        out = (out << SUBJECT_BITS) | p
    return out | (len(parts) << (3 * SUBJECT_BITS))  # the arity keeps (1,) and (0, 1) apart


def subjects(*parts: np.ndarray | int) -> np.ndarray:
    """`subject` over arrays (broadcast), checked the same way.  Scalar parts are packed as
    Python ints (the weekly petitions call this for every region and unit)."""
    if len(parts) > 3:
        raise ValueError("subjects: at most three indices")
    out: Any = 0
    for p in parts:
        if isinstance(p, int | np.integer):
            a = int(p)
            if not 0 <= a < SUBJECT_LIMIT:
                raise ValueError(
                    f"subject index out of range: allowed: 0 to {SUBJECT_LIMIT - 1}")
        else:
            a = np.asarray(p, dtype=np.int64)
            if a.size and (a.min() < 0 or a.max() >= SUBJECT_LIMIT):
                raise ValueError(
                    f"subject index out of range: allowed: 0 to {SUBJECT_LIMIT - 1}")
        out = (out << SUBJECT_BITS) | a
    return np.asarray(out | (len(parts) << (3 * SUBJECT_BITS)), dtype=np.int64)


@njit(cache=True, inline="always")
def mix(z: np.uint64) -> np.uint64:
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def key(seed: int, day: int, subject: int, purpose: int) -> np.uint64:
    """The key of a draw: compiled once and called, not inlined by numba (its three mixes
    copied into the IR of every call site cost about 0.1 s of compilation each; LLVM
    inlines the call, so a run is as fast).  Pass it no literal constant (a ``-1`` typed
    as a literal makes numba compile a second copy): see `population._fill_traits`."""
    h = mix(np.uint64(seed) * _GOLDEN + np.uint64(purpose))
    h = mix(h ^ (np.uint64(day + 1) * _GOLDEN))
    return mix(h ^ (np.uint64(subject) + _GOLDEN))


@njit(cache=True, inline="always")
def kth(h: np.uint64, k: int) -> float:
    """The k-th draw of the stream whose `key` is h: ``uniform_k`` with the key computed
    once for all the draws of one subject (a kernel that draws several times for a person
    mixes his key once, and numba compiles one copy of `key` instead of one per draw)."""
    return float(mix(h ^ (np.uint64(k + 1) * _M2)) >> np.uint64(11)) * _INV53


@njit(cache=True, inline="always")
def unit(h: np.uint64) -> float:
    """``uniform`` from its key h."""
    return float(h >> np.uint64(11)) * _INV53


@njit(cache=True, inline="always")
def uniform(seed: int, day: int, subject: int, purpose: int) -> float:
    """A uniform draw in [0, 1) that depends only on its key."""
    return unit(key(seed, day, subject, purpose))


@njit(cache=True, inline="always")
def uniform_k(seed: int, day: int, subject: int, purpose: int, k: int) -> float:
    """The k-th draw of a keyed stream (several draws for one subject and purpose)."""
    return kth(key(seed, day, subject, purpose), k)


@njit(cache=True)
def uniforms(seed: int, day: int, subjects: np.ndarray, purpose: int) -> np.ndarray:
    """Vectorised `uniform` over an array of subjects."""
    out = np.empty(subjects.shape[0], dtype=np.float64)
    for i in range(subjects.shape[0]):
        out[i] = uniform(seed, day, subjects[i], purpose)
    return out


@njit(cache=True)
def poisson(lam: float, u: float) -> int:
    """Poisson draw by inversion from one uniform (used for lam <= 50)."""
    if lam <= 0.0:
        return 0
    p = np.exp(-lam)
    cdf = p
    k = 0
    while u > cdf and k < 1000:
        k += 1
        p *= lam / k
        cdf += p
    return k


@njit(cache=True)
def _normal(u1: float, u2: float) -> float:
    """A standard normal deviate from two uniforms (Box-Muller): one compiled copy for the
    normal approximations of `poisson_keyed` and `binomial_keyed`."""
    return np.sqrt(-2.0 * np.log(max(u1, 1e-300))) * np.cos(2.0 * np.pi * u2)


@njit(cache=True)
def poisson_keyed(lam: float, seed: int, day: int, subject: int, purpose: int) -> int:
    """Poisson count keyed like `uniform`; normal approximation above lam = 50."""
    h = key(seed, day, subject, purpose)
    if lam > 50.0:
        return max(int(np.floor(lam + np.sqrt(lam) * _normal(kth(h, 0), kth(h, 1)) + 0.5)), 0)
    return poisson(lam, unit(h))


@njit(cache=True)
def poissons_keyed(lams: np.ndarray, seed: int, day: int, subjects: np.ndarray,
                   purpose: int) -> np.ndarray:
    """`poisson_keyed` for each (rate, subject) pair: one call for the regions of a day
    instead of one each (the same counts)."""
    out = np.empty(lams.shape[0], dtype=np.int64)
    for i in range(lams.shape[0]):
        out[i] = poisson_keyed(lams[i], seed, day, subjects[i], purpose)
    return out


@njit(cache=True)
def uniforms_k(seed: int, day: int, subject: int, purpose: int, n: int) -> np.ndarray:
    """The first n draws of one keyed stream (k = 0 .. n-1)."""
    out = np.empty(n, dtype=np.float64)
    h = key(seed, day, subject, purpose)
    for k in range(n):
        out[k] = kth(h, k)
    return out


@njit(cache=True)
def uniforms_pos(seed: int, day: int, subjects: np.ndarray, ks: np.ndarray,
                 purpose: int) -> np.ndarray:
    """The ks[i]-th draw of each subject's stream (e.g. one draw per tie of a person)."""
    out = np.empty(subjects.shape[0], dtype=np.float64)
    for i in range(subjects.shape[0]):
        out[i] = uniform_k(seed, day, subjects[i], purpose, ks[i])
    return out


@njit(cache=True)
def binomial_keyed(n_real: float, p: float, seed: int, day: int, subject: int,
                   purpose: int) -> int:
    """How many of `n_real` people (a full-scale count, possibly fractional: rounded up or
    down so that its expectation is kept) do something of probability p: binomial by
    inversion from one keyed uniform, normal approximation above a mean of 50.

    Why: when simulated people of the mass population (each standing for 1/scale) act on
    people who are not scaled, the count of real acts is drawn from the full-scale number;
    at weight 1 this is exactly one Bernoulli draw."""
    if n_real <= 0.0 or p <= 0.0:
        return 0
    h = key(seed, day, subject, purpose)
    n = int(np.floor(n_real))
    if kth(h, 0) < n_real - n:
        n += 1
    if n == 0:
        return 0
    if p >= 1.0:
        return n
    mean = n * p
    if mean > 50.0:
        z = _normal(kth(h, 1), kth(h, 2))
        return min(max(int(np.floor(mean + np.sqrt(mean * (1.0 - p)) * z + 0.5)), 0), n)
    u = kth(h, 1)
    q = p / (1.0 - p)
    pk = (1.0 - p) ** n
    cdf = pk
    k = 0
    while u > cdf and k < n:
        pk *= q * (n - k) / (k + 1)
        k += 1
        cdf += pk
    return k
