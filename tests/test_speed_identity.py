"""The speed-ups of issue 13 are pure: each fast path gives what the plain one gives.

tests/test_baseline.py checks whole runs against the stored baseline; these tests check each
kernel against a plain reference on inputs chosen to reach its corners (region ends, the
elite block, dry pools, empty inputs)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from purgesim import rng
from purgesim.codes import AT_LARGE_LUT, TRAIT_ELEMENT, TRAIT_OPPOSITION, Cause, Event, State
from purgesim.engine import CASE_DTYPE, Sim
from purgesim.population import _pick, sample_ties, ties_many
from purgesim.results import cascade_stats
from purgesim.scenario import load
from purgesim.society import build_population
from purgesim.tables import Table, contained, distinct


@pytest.fixture(scope="module", params=[("ussr-1937", 0.002), ("toy", None)])
def pop(request):
    name, scale = request.param
    return build_population(load(name, scale=scale))


def _some_people(pop, seed: int) -> np.ndarray:
    g = np.random.default_rng(seed)
    return np.concatenate([
        g.integers(0, pop.n, 2000), g.integers(0, pop.n_elite, 200),
        np.arange(pop.n_elite - 4, pop.n_elite + 4), pop.region_start[1:-1] - 1,
        pop.region_start[:-1], [pop.n - 1]]).astype(np.int64)


def test_sampled_ties_equal_every_tie_drawn(pop) -> None:
    ids = _some_people(pop, 1)
    factor = np.random.default_rng(2).choice([0.1, 1.0, 4.0], ids.size)
    p_kind = np.array([0.3, 0.2, 0.25, 0.6])
    owner, other, kind, pos = ties_many(ids, pop.geo, pop.region_start, pop.key_work,
                                        pop.key_acq, pop.e_superior, pop.e_unit,
                                        pop.unit_lo, pop.unit_hi, pop.sub_lo, pop.sub_ids)
    f = factor[owner] * np.where(ids[owner] < pop.n_elite, 2.0, 1.0)
    u = rng.uniforms_pos(5, 9, ids[owner], pos, 77)
    hit = u < np.minimum(p_kind[kind] * f, 1.0)
    got, by, k = sample_ties(ids, factor, p_kind, 2.0, 5, 9, 77, pop.geo, pop.region_start,
                             pop.key_work, pop.key_acq, pop.e_superior, pop.e_unit,
                             pop.unit_lo, pop.unit_hi, pop.sub_lo, pop.sub_ids)
    assert hit.sum() > 100
    assert np.array_equal(got, other[hit])
    assert np.array_equal(by, ids[owner[hit]])
    assert np.array_equal(k, kind[hit])


@pytest.mark.parametrize("mask,value,max_tries", [
    (TRAIT_OPPOSITION, TRAIT_OPPOSITION, 5000), (TRAIT_ELEMENT, TRAIT_ELEMENT, 2000),
    (0, 0, 20)])
def test_picks_with_bitmaps_equal_picks_without(pop, mask: int, value: int,
                                                max_tries: int) -> None:
    state = pop.state.copy()
    g = np.random.default_rng(3)
    state[g.integers(0, pop.n, pop.n // 3)] = State.ARRESTED  # some of the pool is gone
    bits, coarse = pop.pool_bits(mask, value) if mask else (np.zeros(1, np.uint8),) * 2
    for day in range(20):
        r = day % pop.n_regions
        lo, hi = int(pop.region_start[r]), int(pop.region_start[r + 1])
        count = int(g.integers(0, 300))
        a = _pick(1, day, r, 4, lo, hi, count, pop.traits, mask, value, bits, coarse,
                  mask != 0, state, AT_LARGE_LUT, max_tries)
        b = _pick(1, day, r, 4, lo, hi, count, pop.traits, mask, value, bits, coarse,
                  False, state, AT_LARGE_LUT, max_tries)
        assert np.array_equal(a, b)
        # and the plain definition: distinct, at large, in the pool, in the region
        assert np.unique(a).size == a.size
        assert ((pop.traits[a] & mask) == value).all() and AT_LARGE_LUT[state[a]].all()
        assert ((a >= lo) & (a < hi)).all()


def test_pool_bitmaps_mark_exactly_the_pool(pop) -> None:
    for mask, value in ((TRAIT_OPPOSITION, TRAIT_OPPOSITION), (TRAIT_ELEMENT, 0)):
        bits, coarse = pop.pool_bits(mask, value)
        fine = np.unpackbits(bits, bitorder="little")[: pop.n].astype(bool)
        assert np.array_equal(fine, (pop.traits & mask) == value)
        blocks = np.zeros(coarse.size * 8, dtype=bool)
        blocks[np.flatnonzero(fine) >> 6] = True
        assert np.array_equal(np.unpackbits(coarse, bitorder="little").astype(bool), blocks)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.booleans(), max_size=200), st.integers(0, 5))
def test_compacting_a_table_in_place_keeps_the_rows_in_order(keep: list[bool],
                                                             extra: int) -> None:
    t = Table(CASE_DTYPE, 4)
    n = len(keep)
    t.append(person=np.arange(n), region=np.arange(n) % 7, day=np.arange(n) * 3, cause=2,
             op=np.arange(n) % 5 - 1, by=np.arange(n) * 11, ready=-1, confessed=1)
    before = t.rows.copy()
    mask = np.array(keep, dtype=bool)
    t.keep(mask)
    assert np.array_equal(t.rows, before[mask])
    t.append(person=np.arange(extra), region=1, day=2, cause=3, op=0, by=-1, ready=4,
             confessed=0)
    assert t.n == int(mask.sum()) + extra


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-3, 40), max_size=300), st.lists(st.integers(-3, 40), max_size=30))
def test_distinct_and_contained_are_unique_and_isin(values: list[int], few: list[int]) -> None:
    v = np.array(values, dtype=np.int64)
    f = np.array(few, dtype=np.int64)
    assert np.array_equal(distinct(v), np.unique(v))
    assert np.array_equal(contained(f, v), np.isin(f, v))


def _cascade_reference(sim: Sim) -> dict:
    """The Python loop the numba kernel replaced (commit 6963326)."""
    log = sim.log.rows
    arr = log[log["event"] == Event.ARRESTED]
    w = sim.pop.weight(arr["person"])
    month_of_day = np.array([sim.sc.date_of(d).strftime("%Y-%m") for d in range(sim.n_days)])
    months = month_of_day[arr["day"]]
    parent_month: dict[int, str] = {}
    depth: dict[int, int] = {}
    children: dict[str, float] = defaultdict(float)
    deepest = 0
    chained = {int(Cause.CONFESSION), int(Cause.DEFENDER), int(Cause.RELATIVE)}
    for k in range(arr.size):
        p, b, c = int(arr["person"][k]), int(arr["by"][k]), int(arr["cause"][k])
        if c in chained and b in parent_month:
            children[parent_month[b]] += w[k]
        if c == Cause.CONFESSION and b in depth:
            depth[p] = depth[b] + 1
            deepest = max(deepest, depth[p])
        else:
            depth[p] = 0
        parent_month[p] = months[k]
    per_month: dict[str, float] = defaultdict(float)
    for m, wk in zip(months.tolist(), w.tolist()):
        per_month[m] += wk
    return {"reproduction_by_month": {m: round(children[m] / per_month[m], 4)
                                      for m in sorted(per_month)},
            "deepest_chain": int(deepest)}


def test_cascade_statistics_equal_the_python_loop() -> None:
    sim = Sim(load("ussr-1937", scale=0.001, seed=4)).run()
    got = cascade_stats(sim)
    ref = _cascade_reference(sim)
    assert got["deepest_chain"] == ref["deepest_chain"] > 0
    assert got["reproduction_by_month"] == ref["reproduction_by_month"]
