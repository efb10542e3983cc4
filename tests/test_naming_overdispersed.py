"""Names per confession drawn as a count first (issue 15, item 4): an overdispersed
(negative binomial) number of names, then whom among the confessor's ties.

The theory checks: the sampler has the negative binomial's mean and variance; a
Galton-Watson process with that offspring distribution dies out with the probability q
that solves q = G(q), G(s) = (1 + m (1 - s) / k)^(-k), and below m = 1 its mean total size is
1 / (1 - m)."""

from __future__ import annotations

import numpy as np
import pytest

from purgesim import rng
from purgesim.engine import Sim
from purgesim.population import negative_binomial, sample_named, ties_many
from purgesim.results import summary
from purgesim.scenario import load
from purgesim.society import build_population


def _draws(n: int, mean: float, size: float, stream: int = 3) -> np.ndarray:
    u = rng.uniforms(11, 0, np.arange(n, dtype=np.int64), stream)
    return np.array([negative_binomial(float(x), mean, size) for x in u])


@pytest.mark.parametrize("mean,size", [(2.0, 0.5), (9.7, 0.93), (0.8, 5.0)])
def test_the_count_has_the_negative_binomials_mean_and_variance(mean: float,
                                                                 size: float) -> None:
    k = _draws(40000, mean, size)
    var = mean + mean**2 / size
    se_mean = np.sqrt(var / k.size)
    assert abs(k.mean() - mean) < 4 * se_mean, (k.mean(), mean)
    assert abs(k.var() / var - 1) < 0.15, (k.var(), var)


def _extinction(m: float, size: float) -> float:
    q = 0.0
    for _ in range(10000):
        q = (1 + m * (1 - q) / size) ** (-size)
    return q


@pytest.mark.parametrize("mean,size", [(1.5, 0.5), (2.0, 0.93), (1.3, 10.0)])
def test_a_branching_process_dies_out_as_theory_says(mean: float, size: float) -> None:
    runs, died = 3000, 0
    for r in range(runs):
        alive, total, day = 1, 1, 0
        while 0 < alive and total < 2000:  # beyond 2,000 the process survives (q^2000 ~ 0)
            u = rng.uniforms(r, day, np.arange(alive, dtype=np.int64), 5)
            alive = int(sum(negative_binomial(float(x), mean, size) for x in u))
            total += alive
            day += 1
        died += alive == 0
    q = _extinction(mean, size)
    se = np.sqrt(q * (1 - q) / runs)
    assert abs(died / runs - q) < 4 * se, (died / runs, q)


def test_below_one_the_mean_cascade_is_one_over_one_minus_m() -> None:
    mean, size, runs = 0.6, 0.93, 4000
    sizes = []
    for r in range(runs):
        alive, total, day = 1, 1, 0
        while alive:
            u = rng.uniforms(r, day, np.arange(alive, dtype=np.int64), 6)
            alive = int(sum(negative_binomial(float(x), mean, size) for x in u))
            total += alive
            day += 1
        sizes.append(total)
    s = np.array(sizes, dtype=float)
    assert abs(s.mean() - 1 / (1 - mean)) < 4 * s.std() / np.sqrt(runs), s.mean()


@pytest.fixture(scope="module")
def pop():
    return build_population(load("ussr-1937", scale=0.002))


def test_whom_a_confession_names_are_distinct_ties_of_the_kinds_allowed(pop) -> None:
    g = np.random.default_rng(1)
    ids = np.unique(np.concatenate([g.integers(pop.n_elite, pop.n, 3000),
                                    g.integers(0, pop.n_elite, 300)]).astype(np.int64))
    factor = np.ones(ids.size)
    for weights in (np.array([1.0, 1.0, 1.0, 1.0]), np.array([0.0, 1.0, 0.0, 0.0])):
        named, by, kind, drawn = sample_named(
            ids, factor, 3.0, 0.93, weights, 1.0, 7, 12, 44, pop.geo, pop.region_start,
            pop.key_work, pop.key_acq, pop.e_superior, pop.e_unit, pop.unit_lo, pop.unit_hi,
            pop.sub_lo, pop.sub_ids)
        owner, other, tkind, _ = ties_many(ids, pop.geo, pop.region_start, pop.key_work,
                                           pop.key_acq, pop.e_superior, pop.e_unit,
                                           pop.unit_lo, pop.unit_hi, pop.sub_lo, pop.sub_ids)
        allowed = {(int(ids[o]), int(x)) for o, x, k in zip(owner, other, tkind)
                   if weights[k] > 0}
        assert all((int(b), int(n)) in allowed for b, n in zip(by, named))
        assert (weights[kind] > 0).all()
        for c in np.unique(by)[:200]:
            mine = named[by == c]
            assert np.unique(mine).size == mine.size  # nobody named twice by one confession
        # each confession names min(drawn, ties allowed)
        n_allowed = np.bincount(owner[weights[tkind] > 0], minlength=ids.size)
        got = np.array([(by == c).sum() for c in ids])
        assert np.array_equal(got, np.minimum(drawn, n_allowed))


def test_a_run_with_overdispersed_naming_names_few_often_and_many_rarely() -> None:
    sc = load("toy", ["confession.naming=overdispersed", "confession.names_mean=3",
                      "confession.names_dispersion=0.5"])
    sim = Sim(sc).run()
    log = sim.log.rows
    conf = log[log["event"] == 3]  # CONFESSED
    named = log[log["event"] == 4]  # NAMED
    keys = named["by"].astype(np.int64) * 10000 + named["day"]
    _, counts = np.unique(keys, return_counts=True)
    per = np.concatenate([counts, np.zeros(conf.size - counts.size)])
    assert per.var() > 2 * per.mean() > 0  # overdispersed: Poisson would give var = mean
    s = summary(sim, cascade=True)
    assert s["cascade"]["mean_names_per_confession"] > 0
    # the default stays the per-tie naming the calibration fitted
    assert load("ussr-1937").confession.naming == "per_tie"
