"""Counter-based random draws keyed by (seed, day, subject, purpose).

Why: a draw that depends only on its key, never on the order in which people are visited,
makes a run identical whatever the number of threads, and gives common random numbers for
free: the same person meets the same luck on the same day in two counterfactual runs.

The mixer is SplitMix64's finaliser (Steele, Lea & Flood 2014), applied to a combined key.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53

# Purposes: one constant per kind of decision, so that two decisions about the same person on
# the same day never share a draw.  Values are arbitrary but fixed (changing one changes every
# result that uses it); they are spaced by 1000 so that a module may derive sub-purposes as
# P_X + k (k < 1000) without colliding with another purpose.
P_TRAIT_ELEMENT = 1000
P_TRAIT_NATION = 2000
P_TRAIT_PARTY = 3000
P_TRAIT_OPPOSITION = 4000
P_PERM_WORK = 10000
P_PERM_ACQ = 11000
P_PERM_ELITE = 12000
P_QUOTA_COUNT = 20000
P_QUOTA_PICK = 21000
P_ROUTINE_COUNT = 22000
P_ROUTINE_PICK = 23000
P_DENOUNCE_COUNT = 30000
P_DENOUNCE_PICK = 31000
P_POLICE_ACT = 40000
P_POLICE_OFFICER = 41000
P_VIGILANCE = 42000
P_CONFESS = 50000
P_NAME = 51000
P_DEFEND = 60000
P_RELATIVE = 61000
P_TRIBUNAL = 70000
P_SENTENCE = 71000
P_TERM = 72000
P_CAMP_DEATH = 80000
P_HALT_RELEASE = 90000
P_CLIENT = 91000
P_PROMOTE = 92000
P_PETITION = 93000
P_LEADER = 94000


@njit(cache=True, inline="always")
def mix(z: np.uint64) -> np.uint64:
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def key(seed: int, day: int, subject: int, purpose: int) -> np.uint64:
    h = mix(np.uint64(seed) * _GOLDEN + np.uint64(purpose))
    h = mix(h ^ (np.uint64(day + 1) * _GOLDEN))
    return mix(h ^ (np.uint64(subject) + _GOLDEN))


@njit(cache=True, inline="always")
def uniform(seed: int, day: int, subject: int, purpose: int) -> float:
    """A uniform draw in [0, 1) that depends only on its key."""
    return float(key(seed, day, subject, purpose) >> np.uint64(11)) * _INV53


@njit(cache=True, inline="always")
def uniform_k(seed: int, day: int, subject: int, purpose: int, k: int) -> float:
    """The k-th draw of a keyed stream (several draws for one subject and purpose)."""
    h = key(seed, day, subject, purpose)
    return float(mix(h ^ (np.uint64(k + 1) * _M2)) >> np.uint64(11)) * _INV53


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
def poisson_keyed(lam: float, seed: int, day: int, subject: int, purpose: int) -> int:
    """Poisson count keyed like `uniform`; normal approximation above lam = 50."""
    if lam > 50.0:
        u1 = uniform_k(seed, day, subject, purpose, 0)
        u2 = uniform_k(seed, day, subject, purpose, 1)
        z = np.sqrt(-2.0 * np.log(max(u1, 1e-300))) * np.cos(2.0 * np.pi * u2)
        return max(int(np.floor(lam + np.sqrt(lam) * z + 0.5)), 0)
    return poisson(lam, uniform(seed, day, subject, purpose))


def stochastic_round(x: float, seed: int, day: int, subject: int, purpose: int) -> int:
    """Round x up or down so that the expectation is x (for scaled-down quotas)."""
    base = int(np.floor(x))
    return base + (1 if uniform(seed, day, subject, purpose) < x - base else 0)
