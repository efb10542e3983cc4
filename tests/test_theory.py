"""Theory checks (design brief section 6; reference models section 5.3 and D5, items 3 and 5).

With every mechanism off but forced confession (b), the police acting on every accusation at
once (d: ``act_base = 1``, ample capacity) and every prisoner confessing the day after arrest
(``hazard = 20``), one seed arrest starts a cascade in which each confessor names each of his
acquaintances independently with probability ``p`` (family, work and superior ties are never
named).  The acquaintance graph of a region is the union of ``K`` keyed random Hamiltonian
cycles, so it is ``d = 2K``-regular and locally tree-like, and the cascade is:

* below the threshold, a Galton-Watson process whose root has ``d`` possible offspring and
  every later generation ``d - 1`` (the tie back to one's accuser is already in custody):
  mean total size ``1 + d p / (1 - (d - 1) p)``, and ``P(size = 1) = (1 - p)^d``;
* bond percolation on the random ``d``-regular graph: a giant cascade appears at
  ``p_c = 1 / (d - 1)``.  Above it, a seed starts a giant cascade with probability ``S``, and a
  giant cascade takes a share ``S`` of the region, where ``u = (1 - p + p u)^(d-1)`` (smallest
  root) and ``S = 1 - (1 - p + p u)^d`` (Molloy-Reed / Newman; the SIR final size of D5.5).

Each run is a fresh population (different scenario seed: a different graph and different draws),
so runs are independent.  Runs are deterministic (keyed draws), so the tests are not flaky; the
tolerances say how far a correct engine could be from theory at this number of runs:
4 standard errors (a false alarm rate of about 6e-5 per check under the normal approximation),
estimated from the sample, or for the mean size from the larger of the sample and the
branching-process variance (the size is heavy-tailed near p_c), plus, for the giant share, a
finite-size allowance of 1/sqrt(n).
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import numpy as np
import pytest

from purgesim.codes import Cause, Event
from purgesim.engine import Sim
from purgesim.scenario import Scenario

# thousands of cascades per probability (shared by the tests through `sizes`): slow
pytestmark = pytest.mark.slow

K = 3  # acquaintance rings
D = 2 * K  # degree of the acquaintance graph
P_C = 1.0 / (D - 1)  # bond-percolation threshold on a random D-regular graph
N_PEOPLE = 100_000  # people in the one region
MAX_DAYS = 400  # enough for the slowest giant cascade; runs stop when the cascade is over
GIANT = 0.01 * N_PEOPLE  # a "giant" cascade: more than 1% of the region
RUNS_BELOW = 1000  # runs per p below the threshold (about 2 ms each)
RUNS_ABOVE = {1.5: 100, 2.0: 50}  # runs per p above the threshold (a giant cascade: ~0.15 s)
OFF = ("orders", "quotas", "routine", "denunciation", "association", "purgers", "halt", "camps")


def scenario(p: float, seed: int) -> Scenario:
    """One region, a token elite (whose police do the arrests), naming of acquaintances only."""
    start = dt.date(1937, 1, 1)
    data: dict = {
        "name": "theory",
        "start": start,
        "end": start + dt.timedelta(days=MAX_DAYS - 1),
        "scale": 1.0,
        "seed": seed,
        "household_size": 4,
        "workplace_size": 2,
        "acquaintance_rings": K,
        "regions": [{"name": "Region", "population": N_PEOPLE, "element_share": 0.0,
                     "party_share": 0.0}],
        "cohorts": {"politburo": 2, "central_committee": 3, "congress": 4, "commissars": 0,
                    "old_bolsheviks": 0, "foreign_communists": 0, "marshals": 1,
                    "army_commanders": 0, "corps_division_commanders": 1, "officers": 2,
                    "state_security": 400},
        "vigilance": {"act_base": 1.0, "capacity_per_officer": 100.0, "max_wait": 3650},
        "confession": {"hazard": 20.0, "max_days": 30, "p_family": 0.0, "p_work": 0.0,
                       "p_superior": 0.0, "p_acquaintance": p, "elite_factor": 1.0,
                       "quota_factor": 1.0},
        # trials run even when switched off (trials.enabled is not read): make sure nobody
        # comes back to be named again (acquittal and exile put people back at large); trial
        # the next day keeps the queue of cases awaiting trial, scanned daily, short
        "trials": {"p_acquit": 0.0, "p_acquit_after_halt": 0.0, "p_exile": 0.0,
                   "board_delay": 0},
    }
    for key in OFF:
        data[key] = {"enabled": False}
    return Scenario.model_validate(data)


def cascade_size(p: float, seed: int) -> int:
    """Number of people ever arrested after one seed arrest of a mass person."""
    sim = Sim(scenario(p, seed))
    pop = sim.pop
    n_mass = pop.n - pop.n_elite
    assert n_mass >= N_PEOPLE
    root = pop.n_elite + (seed * 7919) % n_mass
    sim.arrest(np.array([root]), Cause.ORDER)
    finished = False
    for day in range(sim.n_days):
        sim.step(day)
        if sim.queue.n == 0 and sim.interrogation.n == 0:
            finished = True
            break
    assert finished, f"cascade p={p} seed={seed} still running after {MAX_DAYS} days"
    log = sim.log.rows
    arrested = log["person"][log["event"] == Event.ARRESTED]
    suspected = log["person"][log["event"] == Event.SUSPECTED]
    causes = log["cause"][log["event"] == Event.ARRESTED]
    # the process is the pure naming cascade: one arrest per person, every suspect arrested
    # (nothing dropped or lapsed), every arrest but the seed's a confession's, all in the mass
    assert np.unique(arrested).size == arrested.size
    assert np.array_equal(np.sort(suspected), np.sort(arrested[arrested != root]))
    assert (causes == Cause.CONFESSION).sum() == arrested.size - 1
    assert not (log["event"] == Event.DROPPED).any()
    assert arrested.min() >= pop.n_elite
    return int(arrested.size)


@cache
def sizes(f: float, runs: int) -> np.ndarray:
    """Cascade sizes at p = f p_c over `runs` independent populations (cached across tests)."""
    p = f * P_C
    return np.array([cascade_size(p, 1000 * int(round(100 * f)) + k) for k in range(runs)])


def mean_size(p: float) -> float:
    return 1.0 + D * p / (1.0 - (D - 1) * p)


def size_variance(p: float) -> float:
    """Variance of the total size: root offspring X ~ Bin(D, p), then subtrees of a GW process
    with offspring Bin(D - 1, p): Var = E[X] Var(T1) + Var(X) E[T1]^2, with E[T1] = 1/(1 - m),
    Var(T1) = sigma^2 / (1 - m)^3 (m, sigma^2 the mean and variance of Bin(D - 1, p))."""
    m = (D - 1) * p
    var_sub = m * (1 - p) / (1 - m) ** 3
    return D * p * var_sub + D * p * (1 - p) / (1 - m) ** 2


def giant_share(p: float) -> float:
    """S for bond percolation with probability p on a random D-regular graph."""
    u = 0.0
    for _ in range(10_000):  # monotone fixed-point iteration from 0: the smallest root
        u = (1.0 - p + p * u) ** (D - 1)
    return 1.0 - (1.0 - p + p * u) ** D


# ------------------------------------------------------------------ below the threshold


@pytest.mark.parametrize("f", [0.5, 0.7, 0.8, 0.9])
def test_mean_cascade_size_is_galton_watson(f: float) -> None:
    s = sizes(f, RUNS_BELOW)
    p = f * P_C
    # near p_c the size is heavy-tailed and the sample underestimates its spread (at 0.9 p_c
    # the sample SD of 1000 runs is ~21 against a true 30), so take the larger of the two
    se = max(s.std(ddof=1), np.sqrt(size_variance(p))) / np.sqrt(s.size)
    theory = mean_size(p)
    assert abs(s.mean() - theory) < 4 * se, (f, s.mean(), theory, se)


@pytest.mark.parametrize("f", [0.5, 0.7, 0.8, 0.9])
def test_seed_names_nobody_with_probability_1_minus_p_to_the_d(f: float) -> None:
    s = sizes(f, RUNS_BELOW)
    q = (1.0 - f * P_C) ** D
    se = np.sqrt(q * (1 - q) / s.size)
    assert abs((s == 1).mean() - q) < 4 * se, (f, (s == 1).mean(), q)


def test_mean_size_diverges_towards_the_threshold() -> None:
    fs = [0.5, 0.7, 0.8, 0.9]
    means = [sizes(f, RUNS_BELOW).mean() for f in fs]
    assert all(a < b for a, b in zip(means, means[1:])), means
    # theory: 2.2, 3.8, 5.8, 11.8; the size blows up like 1 / (1 - p / p_c)
    assert means[-1] > 4 * means[0], means
    # and so does the spread, the signature of a critical point
    spreads = [sizes(f, RUNS_BELOW).std() for f in fs]
    assert all(a < b for a, b in zip(spreads, spreads[1:])), spreads


def test_no_giant_cascade_below_the_threshold() -> None:
    for f in (0.7, 0.9):
        s = sizes(f, RUNS_BELOW)
        assert s.max() < GIANT, (f, s.max())


# ------------------------------------------------------------------ above the threshold


@pytest.mark.parametrize("f", [1.5, 2.0])
def test_giant_cascade_above_the_threshold(f: float) -> None:
    p = f * P_C
    s = sizes(f, RUNS_ABOVE[f])
    S = giant_share(p)
    big = s > GIANT
    # the outcome is bimodal: small clusters or a giant cascade, nothing in between
    assert np.all((s < GIANT / 10) | (np.abs(s / N_PEOPLE - S) < 0.05)), np.sort(s)
    # a seed starts a giant cascade with probability S (binomial standard error)
    se = np.sqrt(S * (1 - S) / s.size)
    assert abs(big.mean() - S) < 4 * se, (f, big.mean(), S)
    assert big.mean() > 0.5
    # a giant cascade takes the share S of the region
    share = s[big] / N_PEOPLE
    se = share.std(ddof=1) / np.sqrt(share.size)
    assert abs(share.mean() - S) < 4 * se + 1 / np.sqrt(N_PEOPLE), (f, share.mean(), S, se)


def test_threshold_is_at_the_bond_percolation_point() -> None:
    """The share of giant cascades jumps from 0 just below p_c to S(p) above it."""
    below = sizes(0.9, RUNS_BELOW)
    above = sizes(1.5, RUNS_ABOVE[1.5])
    assert (below > GIANT).mean() == 0.0
    assert (above > GIANT).mean() > 0.5
    assert giant_share(0.9 * P_C) < 1e-6 < giant_share(1.1 * P_C)
