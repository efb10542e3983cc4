"""Scale changes the cost and the noise of a run, never its answer.

Every figure of summary.json a user reads (yearly totals, each cohort's arrested and shot,
each operation, channel shares, regions, the police, the dates of endogenous events) has the
same mean at two scales, within a statistical tolerance: the difference of the means over
seeds is at most 4 standard errors plus a floor (5% of the mean or 5 people, and for a region's
arrests under one operation at least one simulated person of the smaller scale; 0.01 for a
share; 14 days for a date).  Before issue 12 this failed: at scale 0.01 against 0.002 the state
security cohort lost about 1.6 times as many officers (mass prisoners naming their
investigators and "lack of vigilance" were drawn once per simulated person, without weight).

And one test per place where the weighted mass population acts on people who are not scaled
(the audit of docs/model.md, "Scale"): the expected effect is the same at two scales.
"""

from __future__ import annotations

import numpy as np
import pytest

from purgesim import rng
from purgesim.codes import Cause
from purgesim.engine import Sim
from purgesim.invariance import compare, figures, run_summaries, table
from purgesim.scenario import load

pytestmark = pytest.mark.slow


def _check(by_scale: dict[float, list[dict]]) -> None:
    comps = compare(by_scale)
    assert len(comps) > 20
    bad = [c for c in comps if not c.ok]
    assert not bad, "figures that depend on the scale:\n" + table(bad)


def test_toy_gives_the_same_answers_at_two_scales() -> None:
    seeds = range(1, 7)
    _check({0.5: run_summaries("toy", 0.5, seeds), 1.0: run_summaries("toy", 1.0, seeds)})


def test_the_army_gives_the_same_answers_at_two_scales() -> None:
    """The army's outputs by rank group (discharged, arrested, shot, reinstated: mechanism
    j, issue 16) do not depend on the scale; with discharges frequent enough to count."""
    seeds = range(1, 7)
    sets = ["army.base_rate=0.5", "army.review_from=1937-08-01", "army.appeal_days=30"]
    by_scale = {sc: run_summaries("toy", sc, seeds, sets) for sc in (0.5, 1.0)}
    comps = [c for c in compare(by_scale) if c.name.startswith("army.")]
    assert len(comps) >= 4 * 9
    staff = [figures(s)["army.command_staff.discharged"] for s in by_scale[1.0]]
    assert np.mean(staff) > 5
    bad = [c for c in comps if not c.ok]
    assert not bad, "army figures that depend on the scale:\n" + table(bad)


def test_overdispersed_naming_gives_the_same_answers_at_two_scales() -> None:
    sets = ["confession.naming=overdispersed", "confession.names_mean=1.5"]
    seeds = range(1, 7)
    _check({0.5: run_summaries("toy", 0.5, seeds, sets),
            1.0: run_summaries("toy", 1.0, seeds, sets)})


def test_ussr_gives_the_same_answers_at_two_scales() -> None:
    seeds = range(1, 5)
    _check({0.002: run_summaries("ussr-1937", 0.002, seeds),
            0.01: run_summaries("ussr-1937", 0.01, seeds)})


def test_france_gives_the_same_answers_at_two_scales() -> None:
    """The deputies' coup reads the capital's death sentences per 1,000 (weighted) and the
    deputies' ties (elite): its occurrence and date must not depend on the scale either."""
    seeds = range(1, 5)
    _check({0.05: run_summaries("france-1793", 0.05, seeds),
            0.2: run_summaries("france-1793", 0.2, seeds)})


def test_the_comparison_catches_a_figure_that_grows_with_the_scale() -> None:
    """The test above can fail: an officer count multiplied by the scale ratio (5, as between
    0.002 and 0.01 before the fix) is flagged; the same runs against themselves are not."""
    runs = run_summaries("toy", 1.0, range(1, 5))
    grown = []
    for s in runs:
        t = {**s, "police": {**s["police"]}}
        t["police"]["officers_arrested"] = s["police"]["officers_arrested"] * 5
        grown.append(t)
    comps = {c.name: c for c in compare({0.5: runs, 1.0: grown})}
    assert not comps["police.officers_arrested"].ok
    assert all(c.ok for c in compare({0.5: runs, 1.0: runs}))
    assert "police.officers_arrested" in figures(runs[0])


# ---------------------------------------------------------------- crossing points, unit tests


def _sim(scale: float, sets: list[str] | None = None) -> Sim:
    return Sim(load("toy", ["halt.enabled=false", *(sets or [])], scale=scale, seed=3))


def _accusations(sim: Sim, cause: Cause) -> list[np.ndarray]:
    """Record every accusation a mechanism asks the engine for (before the engine drops
    people already accused: the unit tests count what the mechanism asks)."""
    asked: list[np.ndarray] = []
    accuse = sim.accuse

    def spy(ids: np.ndarray, c: Cause, by: np.ndarray | int = -1) -> np.ndarray:
        if c == cause:
            asked.append(np.asarray(ids).copy())
        return accuse(ids, c, by)

    sim.accuse = spy  # type: ignore[method-assign]
    return asked


@pytest.mark.parametrize("scale", [0.25, 1.0])
def test_mass_prisoners_name_as_many_investigators_at_every_scale(scale: float) -> None:
    """transformation (f): confessors standing for W real people name about
    transformation x W officers, whatever the scale."""
    sim = _sim(scale, ["purgers.transformation=0.05"])
    pop = sim.pop
    purgers = sim.mechs["purgers"]
    asked = _accusations(sim, Cause.CONFESSION)
    lo = int(pop.region_start[0])
    real = 0.0
    for day in range(40):
        sim.day = day
        people = np.arange(lo, lo + int(200 * scale), dtype=np.int64)
        sim.mechs["confession"].today_confessors = people
        real += float(pop.weight(people).sum())
        purgers.step(day)
    named = sum(a.size for a in asked)
    expected = 0.05 * real  # 0.05 x 200 x 40 = 400
    assert abs(named - expected) < 4 * np.sqrt(expected)
    assert all(pop.post(int(i)).name.startswith("POLICE") for a in asked for i in a)


@pytest.mark.parametrize("scale", [0.25, 1.0])
def test_officers_are_accused_for_lack_of_vigilance_as_often_at_every_scale(scale: float
                                                                             ) -> None:
    """lack of vigilance (d): each real person let go and later arrested brings an accusation
    of an officer with probability lack_of_vigilance_prob, whatever the scale."""
    sim = _sim(scale, ["vigilance.lack_of_vigilance_prob=0.2"])
    pop = sim.pop
    vig = sim.mechs["vigilance"]
    asked = _accusations(sim, Cause.VIGILANCE)
    lo = int(pop.region_start[0])
    real = 0.0
    for day in range(30):
        sim.day = day
        people = np.arange(lo + day * 100, lo + day * 100 + int(40 * scale), dtype=np.int64)
        for p in people.tolist():
            vig.ignored[p] = int(vig.officers[vig.region_lo[0]])
        sim.prev_arrested = people
        real += float(pop.weight(people).sum())
        vig._lack_of_vigilance(day)
    accused = sum(a.size for a in asked)
    expected = 0.2 * real  # 0.2 x 40 x 30 = 240
    assert abs(accused - expected) < 4 * np.sqrt(expected)


def test_binomial_keyed_keeps_the_expected_count_and_is_bernoulli_at_weight_one() -> None:
    draws = np.array([rng.binomial_keyed(333.3, 0.01, 7, d, 5, 123) for d in range(4000)])
    assert abs(draws.mean() - 3.333) < 4 * np.sqrt(3.333 / 4000)
    big = np.array([rng.binomial_keyed(1e5, 0.01, 7, d, 5, 123) for d in range(2000)])
    assert abs(big.mean() - 1000) < 4 * np.sqrt(1000 / 2000) * 1.01
    one = np.array([rng.binomial_keyed(1.0, 0.3, 7, d, 5, 123) for d in range(4000)])
    assert set(np.unique(one)) <= {0, 1}
    u = np.array([rng.uniform_k(7, d, 5, 123, 1) for d in range(4000)])
    assert (one == (u > 0.7)).all()  # exactly one Bernoulli draw of that key (inversion)
