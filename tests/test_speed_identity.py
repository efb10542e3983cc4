"""The speed-ups of issue 13 are pure: each fast path gives what the plain one gives.

tests/test_baseline.py checks whole runs against the stored baseline; these tests check each
kernel against a plain reference on inputs chosen to reach its corners (region ends, the
elite block, dry pools, empty inputs)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
from conftest import subordinates_named_beyond_the_ring
from hypothesis import given, settings
from hypothesis import strategies as st

from purgesim import rng
from purgesim.codes import AT_LARGE_LUT, TRAIT_ELEMENT, TRAIT_OPPOSITION, Cause, Event, State
from purgesim.engine import CASE_DTYPE, Sim
from purgesim.population import _pick, _subordinates_listed, sample_ties, ties_many
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
    p = p_kind[kind] * f
    # a chief's subordinates, listed last, weigh together as one workplace (W-1 ties)
    n_ties = np.bincount(owner, minlength=ids.size)
    n_sub = np.array([_subordinates_listed(int(c), pop.geo, pop.e_unit, pop.unit_lo,
                                           pop.unit_hi, pop.sub_lo, pop.sub_ids) for c in ids])
    sub = pos >= n_ties[owner] - n_sub[owner]
    w = pop.geo[2] - 1
    p = np.where(sub, p_kind[1] * f * np.minimum(1.0, w / np.maximum(n_sub[owner], 1)), p)
    hit = u < np.minimum(p, 1.0)
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


@settings(max_examples=40, deadline=None)
@given(counts=st.lists(st.integers(0, 40), min_size=1, max_size=12),
       share=st.sampled_from([0.0, 0.3, 1.0]), bitmaps=st.booleans(),
       day=st.integers(0, 2000), gone=st.floats(0.0, 0.99))
def test_routine_picks_of_a_day_equal_the_region_loop(pop, counts, share, bitmaps, day,
                                                       gone) -> None:
    """`routine._picks` gives the groups the region loop it replaces gave: for each region
    with arrests, its registered elements (`pick_people` in the element pool, 2000 tries a
    person) then the others (20 tries), with or without the pool's bitmaps, whatever is
    left of the pools."""
    from purgesim.mechanisms.routine import S, _picks

    R = pop.n_regions
    c = np.zeros(R, dtype=np.int64)
    c[: min(len(counts), R)] = counts[:R]
    state = pop.state.copy()
    g = np.random.default_rng(day)
    state[g.integers(0, pop.n, int(pop.n * gone))] = State.ARRESTED
    bits, coarse = (pop.pool_bits(TRAIT_ELEMENT, TRAIT_ELEMENT) if bitmaps
                    else (np.zeros(1, np.uint8),) * 2)
    ids, sizes = _picks(c, 7, day, pop.region_start, share, pop.traits, bits, coarse,
                        bitmaps, state, AT_LARGE_LUT, TRAIT_ELEMENT, np.zeros(1, np.uint8), 0,
                        False, 2000, 20, S.element_count, S.pick_element, S.pick_any)
    plain: list[np.ndarray] = []
    none = np.zeros(1, np.uint8)
    for r in np.flatnonzero(c).tolist():
        lo, hi = int(pop.region_start[r]), int(pop.region_start[r + 1])
        k = int(c[r])
        k_el = int(np.count_nonzero(rng.uniforms_k(7, day, r, S.element_count, k) < share))
        a = (_pick(7, day, r, S.pick_element, lo, hi, k_el, pop.traits, TRAIT_ELEMENT,
                   TRAIT_ELEMENT, bits, coarse, bitmaps, state, AT_LARGE_LUT, 2000)
             if k_el > 0 else np.empty(0, np.int64))
        b = (_pick(7, day, r, S.pick_any, lo, hi, k - a.size, pop.traits, 0, 0, none, none,
                   False, state, AT_LARGE_LUT, 20)
             if k - a.size > 0 else np.empty(0, np.int64))
        plain += [a, b]
    assert sizes.tolist() == [a.size for a in plain]
    assert ids.tolist() == (np.concatenate(plain).tolist() if plain else [])


@settings(max_examples=40, deadline=None)
@given(counts=st.lists(st.integers(-1, 40), min_size=1, max_size=12),
       pool=st.sampled_from([(0, 0, 20), (TRAIT_OPPOSITION, TRAIT_OPPOSITION, 5000),
                             (TRAIT_ELEMENT, TRAIT_ELEMENT, 2000), (TRAIT_ELEMENT, 0, 20)]),
       day=st.integers(0, 2000), gone=st.floats(0.0, 0.99))
def test_picks_in_all_regions_equal_picks_region_by_region(pop, counts, pool, day,
                                                           gone) -> None:
    """`population.pick_in_regions` (the daily orders, denunciations) gives what
    `pick_people` called region by region gave, one region after the other; and
    `denunciation._bosses` is `boss_of` person by person."""
    from purgesim.mechanisms.denunciation import _bosses
    from purgesim.population import boss_of, pick_in_regions, pick_people

    mask, value, tries = pool
    c = np.zeros(pop.n_regions, dtype=np.int64)
    c[: min(len(counts), pop.n_regions)] = counts[:pop.n_regions]
    saved = pop.state.copy()
    g = np.random.default_rng(day)
    try:
        pop.state[g.integers(0, pop.n, int(pop.n * gone))] = State.ARRESTED
        got = pick_in_regions(5, day, 9, c, pop, mask, value, tries)
        plain = [pick_people(5, day, r, 9, int(pop.region_start[r]),
                             int(pop.region_start[r + 1]), int(c[r]), pop, mask, value, tries)
                 for r in range(pop.n_regions) if c[r] > 0]
    finally:
        pop.state[:] = saved
    assert got.tolist() == (np.concatenate(plain).tolist() if plain else [])
    assert _bosses(got, pop.geo, pop.region_start, pop.key_work, pop.e_superior).tolist() == [
        boss_of(int(i), pop.geo, pop.region_start, pop.key_work, pop.e_superior) for i in got]


def test_weights_by_kernel_equal_the_plain_where(pop) -> None:
    """`Population.weight`'s compiled path (1-D contiguous int64 ids) and its NumPy
    fallback (other dtypes, strided, 0-d, 2-D) give `np.where(ids < n_elite, 1, 1/scale)`."""
    ids = _some_people(pop, 4)
    for x in (ids, ids[::3], ids.astype(np.int32), ids[:0], np.array(int(ids[5])),
              ids[:12].reshape(3, 4), np.int64(ids[7])):
        w = pop.weight(x)
        assert w.dtype == np.float64 and np.shape(w) == np.shape(x)
        assert np.array_equal(w, np.where(x < pop.n_elite, 1.0, 1.0 / pop.scale))


def _pick_one_by_one(seed, day, subject, purpose, lo, hi, count, traits, mask, value, state,
                     max_tries) -> list[int]:
    """`population._pick` as its definition says: keyed tries one by one, stopping after
    `max_tries * count` tries or `5 * max_tries` failures in a row."""
    out: list[int] = []
    tries = fails = 0
    while (len(out) < count and tries < max_tries * count and fails < 5 * max_tries
           and hi > lo):
        i = lo + int(rng.uniform_k(seed, day, subject, purpose, tries) * (hi - lo))
        tries += 1
        fails += 1
        if (traits[i] & mask) == value and AT_LARGE_LUT[state[i]]:
            fails = 0
            if i not in out:
                out.append(i)
    return out


@settings(max_examples=300, deadline=None)
@given(n=st.one_of(st.integers(1, 12), st.integers(1, 3000)),
       density=st.sampled_from([0.0, 0.001, 0.02, 0.3, 1.0]),
       gone=st.sampled_from([0.0, 0.5, 0.97]), count=st.integers(0, 40),
       max_tries=st.one_of(st.integers(1, 3), st.integers(1, 300)), mask0=st.booleans(),
       bitmaps=st.booleans(), seed=st.integers(0, 2**31))
def test_picks_in_batches_equal_tries_one_by_one(n, density, gone, count, max_tries, mask0,
                                                 bitmaps, seed) -> None:
    from purgesim.population import _pool_bits

    g = np.random.default_rng(seed)
    traits = np.where(g.random(n) < density, TRAIT_OPPOSITION, 0).astype(np.uint8)
    state = np.where(g.random(n) < gone, State.ARRESTED, State.FREE).astype(np.int8)
    mask = value = 0 if mask0 else TRAIT_OPPOSITION
    bits, coarse = _pool_bits(traits, mask, value)
    lo = int(g.integers(0, n))
    hi = int(g.integers(lo, n + 1))
    got = _pick(seed, 3, 5, 7, lo, hi, count, traits, mask, value, bits, coarse,
                bitmaps and mask != 0, state, AT_LARGE_LUT, max_tries)
    assert got.tolist() == _pick_one_by_one(seed, 3, 5, 7, lo, hi, count, traits, mask, value,
                                            state, max_tries)


@settings(max_examples=60, deadline=None)
@given(states=st.lists(st.integers(0, 10), max_size=300), code=st.integers(0, 11))
def test_people_in_a_state_are_flatnonzero_of_the_comparison(states, code) -> None:
    from purgesim.population import people_in

    state = np.array(states, dtype=np.int8)
    assert np.array_equal(people_in(state, code), np.flatnonzero(state == code))


def test_pool_bitmaps_mark_exactly_the_pool(pop) -> None:
    for mask, value in ((TRAIT_OPPOSITION, TRAIT_OPPOSITION), (TRAIT_ELEMENT, 0)):
        bits, coarse = pop.pool_bits(mask, value)
        fine = np.unpackbits(bits, bitorder="little")[: pop.n].astype(bool)
        assert np.array_equal(fine, (pop.traits & mask) == value)
        blocks = np.zeros(coarse.size * 8, dtype=bool)
        blocks[np.flatnonzero(fine) >> 6] = True
        assert np.array_equal(np.unpackbits(coarse, bitorder="little").astype(bool), blocks)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(0, 1500), sparse=st.booleans(), mask=st.integers(0, 255),
       value=st.integers(0, 255), seed=st.integers(0, 2**31))
def test_pool_bitmaps_eight_people_a_word_equal_person_by_person(n, sparse, mask, value,
                                                                  seed) -> None:
    from purgesim.population import _pool_bits

    g = np.random.default_rng(seed)
    traits = g.integers(0, 256, n).astype(np.uint8)
    if sparse:
        traits[g.random(n) < 0.98] = 0
    bits, coarse = _pool_bits(traits, mask, value)
    fine = np.unpackbits(bits, bitorder="little")[:n].astype(bool)
    assert np.array_equal(fine, (traits & mask) == value)
    assert not np.unpackbits(bits, bitorder="little")[n:].any()
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


def _admitted(pop, seed: int) -> np.ndarray:
    """Distinct people of both blocks, region ends included, in no particular order."""
    ids = np.unique(_some_people(pop, seed))
    return np.random.default_rng(seed).permutation(ids)


def test_arrest_rows_equal_the_plain_numpy_book_keeping(pop) -> None:
    from purgesim.engine import LOG_DTYPE, _arrest_rows

    ids = _admitted(pop, 3)
    g = np.random.default_rng(4)
    n = ids.size
    causes = g.integers(0, len(Cause), n).astype(np.uint8)
    bys = g.integers(-1, pop.n, n).astype(np.int64)
    ops = g.integers(-1, 3, n).astype(np.int16)
    start = g.integers(0, 12, pop.n).astype(pop.state.dtype)
    start[ids[::3]] = int(State.SUSPECT)
    w_mass = 1.0 / 0.003  # a weight that is not a whole number: sums must match bit for bit
    # the plain code the kernel replaced (engine.arrest before, recorder._add_arrests)
    state0 = start.copy()
    was0 = state0[ids] == int(State.SUSPECT)
    state0[ids] = int(State.ARRESTED)
    regions0 = pop.regions_of(ids)
    w0 = np.where(ids < pop.n_elite, 1.0, w_mass)
    log0, cases0 = Table(LOG_DTYPE, 4), Table(CASE_DTYPE, 4)
    log0.append(person=[7], day=1, event=2, cause=3, by=-1, op=-1)
    log0.append(person=ids, day=9, event=int(Event.ARRESTED), cause=causes, by=bys, op=ops)
    cases0.append(person=ids, region=regions0, day=9, cause=causes, op=ops, by=bys, ready=-1,
                  confessed=0)
    sums0 = [np.zeros(len(Cause)), np.zeros(3), np.zeros(pop.n_regions)]
    np.add.at(sums0[0], causes.astype(np.int64), w0)
    np.add.at(sums0[1], ops[ops >= 0].astype(np.int64), w0[ops >= 0])
    np.add.at(sums0[2], regions0, w0)
    # the kernel
    state1 = start.copy()
    log1, cases1 = Table(LOG_DTYPE, 4), Table(CASE_DTYPE, 4)
    log1.put(1, 7, 1, 2, 3, -1, -1)
    log1.reserve(n)
    cases1.reserve(n)
    sums1 = [np.zeros(len(Cause)), np.zeros(3), np.zeros(pop.n_regions)]
    w1, was1 = _arrest_rows(ids, causes, bys, ops, 9, state1, log1.storage, log1.n,
                            cases1.storage, cases1.n, pop.n_elite, pop.hsize, pop.e_region,
                            pop.region_start, w_mass, *sums1)
    log1.n += n
    cases1.n += n
    assert was0.any() and not was0.all()
    assert np.array_equal(state0, state1) and np.array_equal(was0, was1)
    assert np.array_equal(w0, w1) and w0.sum() == w1.sum()
    assert np.array_equal(log0.rows, log1.rows) and np.array_equal(cases0.rows, cases1.rows)
    for a, b in zip(sums0, sums1):
        assert np.array_equal(a, b)


def test_suspect_rows_equal_the_plain_numpy_book_keeping(pop) -> None:
    from purgesim.engine import LOG_DTYPE, QUEUE_DTYPE, _suspect_rows

    ids = _admitted(pop, 5)
    g = np.random.default_rng(6)
    n = ids.size
    bys = g.integers(-1, pop.n, n).astype(np.int64)
    start = g.integers(0, 12, pop.n).astype(pop.state.dtype)
    w_mass = 1.0 / 0.003
    state0 = start.copy()
    prev = state0[ids]
    state0[ids] = int(State.SUSPECT)
    log0, queue0 = Table(LOG_DTYPE, 2), Table(QUEUE_DTYPE, 2)
    log0.append(person=ids, day=4, event=int(Event.SUSPECTED), cause=5, by=bys, op=-1)
    queue0.append(person=ids, region=pop.regions_of(ids), day=4, cause=5, by=bys, prev=prev)
    state1 = start.copy()
    log1, queue1 = Table(LOG_DTYPE, 2), Table(QUEUE_DTYPE, 2)
    log1.reserve(n)
    queue1.reserve(n)
    w1 = _suspect_rows(ids, 5, bys, 4, state1, log1.storage, 0, queue1.storage, 0,
                       pop.n_elite, pop.hsize, pop.e_region, pop.region_start, w_mass)
    log1.n += n
    queue1.n += n
    assert np.array_equal(state0, state1)
    assert np.array_equal(np.where(ids < pop.n_elite, 1.0, w_mass), w1)
    assert np.array_equal(log0.rows, log1.rows) and np.array_equal(queue0.rows, queue1.rows)


def test_table_put_equals_append() -> None:
    from purgesim.engine import LOG_DTYPE

    a, b = Table(LOG_DTYPE, 2), Table(LOG_DTYPE, 2)
    ids = np.arange(5, dtype=np.int64)
    for t in range(3):  # grows past its capacity
        a.append(person=ids + t, day=t, event=3, cause=np.full(5, t, np.uint8), by=-1,
                 op=ids.astype(np.int16))
        b.put(5, ids + t, t, 3, np.full(5, t, np.uint8), -1, ids.astype(np.int16))
    assert a.n == b.n == 15
    assert np.array_equal(a.rows, b.rows)


def test_poisson_counts_of_many_subjects_equal_one_by_one() -> None:
    lams = np.array([0.0, -1.0, 1e-3, 0.7, 3.0, 49.9, 50.0, 50.1, 400.0, 1e5])
    subjects = rng.subjects(2, np.arange(lams.size, dtype=np.int64))
    got = rng.poissons_keyed(lams, 11, 300, subjects, 42)
    want = [rng.poisson_keyed(float(x), 11, 300, int(s), 42) for x, s in zip(lams, subjects)]
    assert got.tolist() == want
    assert int(subjects[3]) == rng.subject(2, 3)


def test_sentences_added_in_one_call_equal_add_at() -> None:
    from purgesim.recorder import _add_sentences

    g = np.random.default_rng(8)
    regions = g.integers(0, 5, 300)
    ops = g.integers(-1, 4, 300)
    w = g.choice([1.0, 1.0 / 0.003, 1.0 / 0.007], 300)
    a_reg, a_op = np.zeros(5), np.zeros(4)
    np.add.at(a_reg, regions, w)
    np.add.at(a_op, ops[ops >= 0], w[ops >= 0])
    b_reg, b_op = np.zeros(5), np.zeros(4)
    _add_sentences(b_reg, b_op, regions, ops, w)
    assert np.array_equal(a_reg, b_reg) and np.array_equal(a_op, b_op)


def test_take_gives_what_full_and_indexing_gave() -> None:
    from purgesim.engine import _take

    keep = np.array([0, 2, 3], dtype=np.int64)
    for x, dtype in [(-1, np.int64), (Cause.QUOTA, np.uint8), (np.int16(4), np.int16),
                     (np.array(7), np.int64), (2, np.int16)]:
        got = _take(x, keep, dtype)
        assert got.dtype == np.dtype(dtype) and np.array_equal(got, np.full(3, x, dtype))
    assert _take(-1, np.zeros(5000, dtype=np.int64), np.int64).tolist() == [-1] * 5000
    arr = np.array([5, 6, 7, 8])
    assert np.array_equal(_take(arr, keep, np.int16), arr[keep].astype(np.int16))
    assert _take([1, 2, 3, 4], keep, np.int64).tolist() == [1, 3, 4]


def _handle_plain(region: np.ndarray, w: np.ndarray, budget: np.ndarray,
                  capacity: np.ndarray, bank: float) -> np.ndarray:
    """The loop over regions vigilance.step ran before `vigilance._handle` (issue 13)."""
    handled = np.zeros(region.size, dtype=bool)
    for r in np.unique(region):
        idx = np.flatnonzero(region == r)
        cum = np.cumsum(w[idx])
        ok = cum <= budget[r]
        if not ok[0] and budget[r] >= capacity[r] * bank > 0:
            ok[0] = True
        handled[idx[ok]] = True
        budget[r] = max(budget[r] - (cum[ok][-1] if ok.any() else 0.0), 0.0)
    return handled


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from([1.0, 333.333, 0.5, 1e3])),
                max_size=60),
       st.lists(st.floats(0.0, 3000.0), min_size=4, max_size=4),
       st.lists(st.floats(0.0, 500.0), min_size=4, max_size=4),
       st.sampled_from([0.0, 1.0, 3.0]))
def test_police_handle_the_queue_as_before(cases, budget, capacity, bank) -> None:
    from purgesim.mechanisms.vigilance import _handle

    region = np.array([c[0] for c in cases], dtype=np.int64)
    w = np.array([c[1] for c in cases], dtype=np.float64)
    b1, b2 = np.array(budget), np.array(budget)
    cap = np.array(capacity)
    fast = _handle(region, w, b1, cap, bank)
    plain = _handle_plain(region, w, b2, cap, bank)
    assert np.array_equal(fast, plain)
    assert np.array_equal(b1, b2)



def _sort_cases_plain(rows, state, officers, officer_region, n_regions, per_officer, bank,
                      budget, n_elite, scale, day, max_wait, u, p_act, top):
    """The NumPy code of vigilance.step before `vigilance._sort_cases` (issue 13): the
    officers at large counted per region, the budgets topped up, the cases handled, acted
    on, let go or lapsed.  Returns the fates and the new budgets."""
    from purgesim.mechanisms.vigilance import SERVING, _handle
    from purgesim.tables import member

    per_region = np.zeros(n_regions)
    np.add.at(per_region, officer_region[SERVING[state[officers]]], 1.0)
    capacity = per_region * per_officer
    budget = np.minimum(budget + capacity, capacity * bank)
    w = np.where(rows["person"] < n_elite, 1.0, 1.0 / scale)
    handled = _handle(rows["region"].astype(np.int64), w, budget, capacity, float(bank))
    lapsed = ~handled & (day - rows["day"] >= max_wait)
    acts = handled & (u < p_act)
    on_top = acts & member(rows["person"], top)
    fate = np.zeros(rows.size, dtype=np.int8)
    fate[acts] = 1
    fate[on_top] = 2
    fate[handled & ~acts] = 3
    fate[lapsed] = 4
    return fate, budget


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.booleans(), st.integers(0, 90),
                          st.floats(0.0, 1.0, exclude_max=True)), max_size=50),
       st.lists(st.sampled_from([int(State.FREE), int(State.RELEASED), int(State.SUSPECT),
                                 int(State.ARRESTED), int(State.SHOT)]),
                min_size=12, max_size=12),
       st.lists(st.floats(0.0, 3000.0), min_size=4, max_size=4),
       st.sampled_from([0.01, 1.0, 40.0]), st.integers(1, 7), st.sampled_from([0.003, 1.0]),
       st.floats(0.0, 1.0))
def test_police_sort_their_cases_as_before(cases, officer_states, budget, per_officer, bank,
                                           scale, p_act) -> None:
    from purgesim.codes import SERVING_LUT
    from purgesim.engine import LOG_DTYPE, QUEUE_DTYPE
    from purgesim.mechanisms.vigilance import _sort_cases
    from purgesim.tables import StateCount, Table

    n_elite = 400
    state = np.full(1000, int(State.FREE), dtype=np.uint8)
    officers = np.arange(0, 48, 4, dtype=np.int64)  # 12 officers; region 3 has none
    state[officers] = officer_states
    officer_region = np.array([0, 0, 0, 0, 0, 1, 1, 2, 2, 2, 2, 2], dtype=np.int64)
    lo = np.searchsorted(officer_region, np.arange(4)).astype(np.int64)
    hi = np.searchsorted(officer_region, np.arange(4), side="right").astype(np.int64)
    rows = np.zeros(len(cases), dtype=QUEUE_DTYPE)
    for k, (r, elite, waited, _) in enumerate(cases):
        rows[k] = (k * 4 if elite else n_elite + k, r, 100 - waited, 0, -1, 0)
    u = np.array([c[3] for c in cases], dtype=np.float64)
    top = np.array([0, 8, 20], dtype=np.int64)
    b = np.array(budget)
    at_large = StateCount(officers, officer_region, 4, SERVING_LUT, state,
                          Table(LOG_DTYPE, 16))
    assert np.array_equal(at_large.lo, lo) and np.array_equal(at_large.hi, hi)
    fast = _sort_cases(rows, at_large.counts(), per_officer, float(bank), b, n_elite,
                       1.0 / scale, 100, 60, u, p_act, top)
    plain, b_plain = _sort_cases_plain(rows, state, officers, officer_region, 4, per_officer,
                                       bank, np.array(budget), n_elite, scale, 100, 60, u,
                                       p_act, top)
    assert np.array_equal(fast, plain)
    assert np.array_equal(b, b_plain)



@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 6), min_size=1, max_size=30),
       st.lists(st.lists(st.tuples(st.integers(0, 59),
                                   st.sampled_from([int(State.FREE), int(State.RELEASED),
                                                    int(State.SUSPECT), int(State.ARRESTED),
                                                    int(State.DISMISSED)])),
                         max_size=6), max_size=12),
       st.lists(st.integers(0, 59), max_size=12))
def test_a_state_count_kept_from_the_log_equals_a_fresh_count(groups, days, others) -> None:
    """`tables.StateCount` (the officers at large by region of vigilance and quotas) equals
    a count made from the states after every batch of logged changes, whatever the members,
    their groups (some empty, members not in id order) and the people logged who are no
    members.  The plain count: `SERVING_LUT` over each group's members."""
    from purgesim.codes import SERVING_LUT
    from purgesim.engine import LOG_DTYPE
    from purgesim.tables import StateCount, Table

    members = np.array([59 - 2 * k for k in range(len(groups))], dtype=np.int64)
    group = np.array(groups, dtype=np.int64)
    state = np.full(60, int(State.FREE), dtype=np.uint8)
    log = Table(LOG_DTYPE, 4)
    count = StateCount(members, group, 7, SERVING_LUT, state, log)

    def plain() -> list[float]:
        return [float(SERVING_LUT[state[members[group == g]]].sum()) for g in range(7)]

    assert count.counts().tolist() == plain()
    for d, changes in enumerate(days):
        for who, new in changes:
            state[who] = new
            log.put(1, np.array([who]), d, 1, 0, -1, -1)
        for who in others[:d]:  # people logged without a change (members or not)
            log.put(1, np.array([who]), d, 1, 0, -1, -1)
        assert count.counts().tolist() == plain()
        assert not count.stale()
    state[members[0]] = int(State.SHOT)  # a change not logged: the invariant sees it
    assert count.stale() == (plain() != count.counts().tolist())


def test_a_chiefs_subordinates_weigh_as_one_workplace() -> None:
    """The names a chief gives among his subordinates do not grow with his span of command
    (an assumption of society.build_army): each of the n subordinates he lists beyond his unit
    ring is drawn with p_work x (W-1)/n, so on average (W-1) x p_work of them, as the head of
    a workplace names among his workers."""
    pop = build_population(load("ussr-1937", scale=0.002))
    chiefs, total = subordinates_named_beyond_the_ring(pop, 0, 40)
    assert chiefs > 100  # the army's commanders of staffs larger than a workplace
    expected = 40 * chiefs * (pop.geo[2] - 1) * 0.02
    assert abs(total - expected) < 5 * np.sqrt(expected)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 40), st.lists(st.tuples(st.booleans(),
                                              st.lists(st.integers(0, 200), max_size=20)),
                                    max_size=12))
def test_bitmap_is_a_set_of_ids(n: int, steps) -> None:
    """tables.Bitmap (compiled `has` and `add`, issue 13) against a Python set, ids beyond
    its first size included (it grows)."""
    from purgesim.tables import Bitmap

    bits, plain = Bitmap(n), set()
    for add, ids in steps:
        arr = np.array(ids, dtype=np.int64)
        if add:
            bits.add(arr)
            plain.update(ids)
        assert bits.has(arr).tolist() == [i in plain for i in ids]
    probe = np.arange(0, 260, dtype=np.int64)
    assert bits.has(probe).tolist() == [i in plain for i in range(260)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.integers(0, 40),  # a sitting day (not a troika's)
                                    st.integers(0, 40).map(lambda c: (1 << 30) + c),
                                    st.just(np.iinfo(np.int32).max)),  # held
                          st.integers(0, 6)), max_size=60),
       st.integers(0, 40), st.integers(1, 9))
def test_troika_sittings_in_one_pass_equal_a_pass_per_region(cases, day, interval) -> None:
    """trials._sitting_today (issue 13) against the NumPy code it replaced: the cases heard
    at today's sittings, region by region in ascending order, each in queue order."""
    from purgesim.mechanisms.trials import HELD, TROIKA, _sitting_today

    rows = np.zeros(len(cases), dtype=CASE_DTYPE)
    rows["ready"] = [r for r, _ in cases]
    rows["region"] = [g for _, g in cases]
    waiting = (rows["ready"] >= TROIKA) & (rows["ready"] < HELD)
    at = np.flatnonzero(waiting)
    at = at[rows["ready"][at].astype(np.int64) - TROIKA < day]
    region = rows["region"][at].astype(np.int64)
    want = {r: at[region == r].tolist() for r in sorted(set(region.tolist()))
            if (day - r) % interval == 0}
    any_waiting, got, bounds = _sitting_today(rows["ready"], rows["region"], day, interval, 7)
    assert any_waiting == bool(waiting.any())
    assert {r: got[bounds[r]:bounds[r + 1]].tolist() for r in range(7)
            if bounds[r + 1] > bounds[r]} == want


def test_day_lists_grow_past_their_first_room() -> None:
    from purgesim.mechanisms import camps
    from purgesim.tables import DayLists

    g = np.random.default_rng(4)
    lists = DayLists(30, camps._DUE_DTYPE)
    plain: dict[int, list[int]] = defaultdict(list)
    for batch in range(3):  # 6,000 rows: the table and its links grow twice
        when = g.integers(0, 30, 2000)
        ids = np.arange(2000 * batch, 2000 * (batch + 1), dtype=np.int64)
        lists.add(when, ids, np.zeros(2000, dtype=np.int8), ids)
        for i, d in zip(ids.tolist(), when.tolist()):
            plain[d].append(i)
    assert lists.table.storage.shape[0] >= 6000
    for day in range(30):
        assert lists.pop(day)["person"].tolist() == plain[day]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(
    st.lists(st.tuples(st.integers(0, 12), st.integers(0, 2)), max_size=40),  # a batch filed
    st.integers(0, 9)),  # a day popped
    max_size=12))
def test_day_lists_equal_a_dictionary_of_lists(steps) -> None:
    """tables.DayLists, the camps' schedule (issue 13), against the dictionary of day ->
    list of arrays it replaced: the same rows, each day's in the order they were filed."""
    from purgesim.mechanisms import camps
    from purgesim.tables import DayLists

    lists = DayLists(10, camps._DUE_DTYPE)
    plain: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    person = 0
    for step in steps:
        if isinstance(step, int):
            got = lists.pop(step) if step in lists else None
            want = plain.pop(step, None)
            assert (got is None) == (want is None)
            if got is not None:
                assert list(zip(got["person"].tolist(), got["kind"].tolist(),
                                got["since"].tolist())) == want
            assert step not in lists
            continue
        keep = [(d, k) for d, k in step if d < 10]  # days 10 to 12 fall after the run
        ids = np.arange(person, person + len(keep), dtype=np.int64)
        person += len(keep)
        lists.add(np.array([d for d, _ in keep], dtype=np.int64), ids,
                  np.array([k for _, k in keep], dtype=np.int8), ids - 50)
        for i, (d, k) in zip(ids.tolist(), keep):
            plain[d].append((i, k, i - 50))
    for day in range(10):
        assert (day in lists) == (day in plain)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60), st.floats(0.0, 1.0, exclude_max=True)),
                max_size=40),
       st.floats(0.0, 1.0), st.integers(1, 40), st.booleans())
def test_interrogation_day_equals_the_plain_numpy_code(cases, h, max_days, on) -> None:
    """confession._interrogation_day (issue 13) against the NumPy code it replaced."""
    from purgesim.mechanisms.confession import _NO_DRAWS, _interrogation_day

    day = 50
    rows = np.zeros(len(cases), dtype=CASE_DTYPE)
    rows["day"] = [d for d, _ in cases]
    u = np.array([x for _, x in cases], dtype=np.float64)
    started = rows["day"] < day
    confess = started & (u < h) if on else np.zeros(rows.size, dtype=bool)
    closed = started & ~confess & (day - rows["day"] >= max_days)
    fate = _interrogation_day(rows, u if on else _NO_DRAWS, h, day, max_days)
    assert np.array_equal(fate == 1, confess)
    assert np.array_equal(fate == 2, closed)
    assert not ((fate != 0) & ~(confess | closed)).any()


def _verdicts_plain(ids, ops, regions, u, v, n_elite, hsize, shot_factor, halted, p_shot,
                    p_acq, p_exile, p_shot_elite, death_or_acquittal):
    """The masks of trials.Mechanism.step before the kernel (troika cases left undecided)."""
    from purgesim.mechanisms.trials import ACQUITTED, BY_TROIKA, CAMP, EXILE, SHOT

    elite = (ids < n_elite) & (ids % hsize == 0)
    quota = (ops >= 0) & ~elite & (not halted)
    other = ~elite & ~quota
    shot = np.zeros(ids.size, dtype=bool)
    camp = np.zeros(ids.size, dtype=bool)
    exile = np.zeros(ids.size, dtype=bool)
    if halted:
        shot[elite] = u[elite] < p_shot_elite * (1 - p_acq)
        camp[elite] = ~shot[elite] & (v[elite] >= p_acq)
    else:
        shot[elite] = u[elite] < p_shot_elite
        camp[elite] = ~shot[elite]
    p = np.minimum(p_shot * shot_factor[regions], 1.0)
    s = other & (u < p)
    if death_or_acquittal and not halted:
        shot |= s
    else:
        acq = other & ~s & (v < p_acq)
        ex = other & ~s & ~acq & (v < p_acq + (1 - p_acq) * p_exile)
        shot |= s
        exile |= ex
        camp |= other & ~s & ~acq & ~ex
    out = np.full(ids.size, ACQUITTED)
    out[shot], out[camp], out[exile], out[quota] = SHOT, CAMP, EXILE, BY_TROIKA
    return out, int(elite.sum())


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0, 3, 5, 25, 29, 30, 31, 60]),
                          st.integers(-1, 2), st.integers(0, 2),
                          st.sampled_from([0.0, 0.1, 0.3, 0.5, 0.75, 0.99]),
                          st.sampled_from([0.0, 0.05, 0.08, 0.155, 0.25, 0.3, 0.99])),
                 max_size=60),
       st.booleans(), st.booleans(), st.sampled_from([0.0, 0.03, 0.3, 1.0]),
       st.sampled_from([0.0, 0.08, 0.25]))
def test_verdicts_equal_the_plain_numpy_masks(cases, halted, prairial, p_shot, p_acq) -> None:
    from purgesim.mechanisms.trials import _verdicts

    ids = np.array([c[0] for c in cases], dtype=np.int64)  # elite below 30, heads at 5k
    ops = np.array([c[1] for c in cases], dtype=np.int16)
    regions = np.array([c[2] for c in cases], dtype=np.int16)
    u = np.array([c[3] for c in cases], dtype=np.float64)
    v = np.array([c[4] for c in cases], dtype=np.float64)
    args = (ids, ops, regions, u, v, 30, 5, np.array([0.5, 1.0, 4.0]), halted, p_shot, p_acq,
            0.08, 0.75, prairial)
    got, n_elite = _verdicts(*args)
    want, n_elite_want = _verdicts_plain(*args)
    assert np.array_equal(got, want)
    assert n_elite == n_elite_want


def _exposed_plain(pop, fallen, state, head_lo, head_hi, p_tie, seed, day, purpose):
    """army.Mechanism.expose's NumPy code before its kernel (issue 13)."""
    from purgesim.codes import Tie

    H = pop.hsize
    owner, other, kind, pos = ties_many(fallen, pop.geo, pop.region_start, pop.key_work,
                                        pop.key_acq, pop.e_superior, pop.e_unit, pop.unit_lo,
                                        pop.unit_hi, pop.sub_lo, pop.sub_ids)
    n_ties = np.bincount(owner, minlength=fallen.size)
    n_sub = np.array([_subordinates_listed(int(c), pop.geo, pop.e_unit, pop.unit_lo,
                                           pop.unit_hi, pop.sub_lo, pop.sub_ids)
                      for c in fallen], dtype=np.int64)
    g = other // H
    officer = (other % H == 0) & (g >= head_lo) & (g < head_hi)
    keep = (((kind == Tie.SUPERIOR) | (kind == Tie.WORK)) & officer
            & (state[other] == State.FREE))
    owner, other, pos = owner[keep], other[keep], pos[keep]
    by = fallen[owner]
    sub = pos >= n_ties[owner] - n_sub[owner]
    w = int(pop.geo[2]) - 1
    p = np.where(sub, p_tie * np.minimum(1.0, w / np.maximum(n_sub[owner], 1)), p_tie)
    hit = rng.uniforms_pos(seed, day, by, pos, purpose) < p
    return other[hit], by[hit], pos[hit]


_ARMY_POP: list = []


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31), st.sampled_from([0.0, 0.03, 0.4, 1.0]),
       st.floats(0.0, 1.0), st.integers(0, 60))
def test_army_exposure_kernel_equals_the_plain_numpy_code(seed, p_tie, fallen_share,
                                                          n_fallen) -> None:
    """army._exposed (one kernel) gives the officers, the fallen and the tie positions that
    expose's NumPy code gave: same ties, same weights of a chief's subordinates, same draws,
    same order; with officers out of post, chiefs of large staffs and no one fallen."""
    from purgesim.mechanisms.army import _exposed

    if not _ARMY_POP:
        _ARMY_POP.append(build_population(load("ussr-1937", scale=0.002)))
    pop = _ARMY_POP[0]
    lo, hi = next((lo, hi) for name, lo, hi in pop.branches if name == "army")
    g = np.random.default_rng(seed)
    officers = np.arange(lo, hi, dtype=np.int64) * pop.hsize
    state = pop.state.copy()
    state[officers[g.random(officers.size) < fallen_share]] = State.ARRESTED
    n_sub = np.array([_subordinates_listed(int(c), pop.geo, pop.e_unit, pop.unit_lo,
                                           pop.unit_hi, pop.sub_lo, pop.sub_ids)
                      for c in officers[:2000]])
    chiefs = officers[:2000][n_sub > pop.geo[2]]
    fallen = np.unique(np.concatenate([g.choice(officers, n_fallen),
                                       g.choice(chiefs, min(n_fallen, 5))]))
    day = int(g.integers(0, 1000))
    want = _exposed_plain(pop, fallen, state, int(lo), int(hi), p_tie, seed, day, 5)
    got = _exposed(fallen, pop.geo, pop.e_superior, pop.e_unit, pop.unit_lo, pop.unit_hi,
                   pop.sub_lo, pop.sub_ids, state, int(State.FREE), int(lo), int(hi), p_tie,
                   seed, day, 5)
    for a, b in zip(got, want):
        assert a.dtype == b.dtype and np.array_equal(a, b)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.integers(1, 40), max_size=30), max_size=6), st.integers(0, 45))
def test_army_schedule_gives_each_day_what_the_masks_did(batches, last) -> None:
    """The army's discharges, arrests and reinstatements due (tables.DayLists) give each
    day's officers as the dictionary of day -> list of masked batches did (`ids[due == d]`
    for each distinct day d <= last, batch after batch): the same people, in the same
    order, the days beyond `last` never given."""
    from purgesim.tables import DayLists

    lists = DayLists(41, [("person", "i8"), ("by", "i8")])
    plain: dict[int, list[np.ndarray]] = defaultdict(list)
    start = 1000
    for b in batches:
        due = np.array(b, dtype=np.int64)
        ids = np.arange(start, start + due.size, dtype=np.int64)
        start += due.size
        for d in np.unique(due):
            if d <= last:
                plain[int(d)].append(ids[due == d])
        keep = due <= last
        lists.add(due[keep], ids[keep], -ids[keep])
    for d in range(41):
        rows = lists.pop(d)
        want = np.concatenate(plain[d]) if plain.get(d) else np.empty(0, np.int64)
        assert rows["person"].tolist() == want.tolist()
        assert rows["by"].tolist() == (-want).tolist()
        assert d not in lists


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 6), max_size=300), st.booleans())
def test_labels_from_codes_equal_labels_from_python_strings(codes: list[int], twins: bool) -> None:
    """The outputs' string columns (results._labels, _encoded) are the columns NumPy's object
    arrays gave: the same values, and a dictionary in order of first appearance."""
    import pyarrow as pa

    from purgesim.results import _encoded, _labels

    names = ["", "arrested", "shot", "camp", "named", "x", "arrested" if twins else "y"]
    c = np.array(codes, dtype=np.uint8)
    plain = pa.array(np.array(names, dtype=object)[c].tolist(), type=pa.string())
    assert _labels(c, names).equals(plain)
    enc, ref = _encoded(c, names), plain.dictionary_encode()
    assert enc.type == ref.type
    assert enc.dictionary.equals(ref.dictionary) and enc.indices.equals(ref.indices)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 2000), max_size=100),
       st.sampled_from(["1793-06-01", "1936-01-01", "1970-01-01"]))
def test_dates_in_int32_equal_numpy_datetimes(days: list[int], start: str) -> None:
    import datetime as dt

    import pyarrow as pa

    from purgesim.results import _dates

    d = np.array(days, dtype=np.int32)
    s = dt.date.fromisoformat(start)
    assert _dates(d, s).equals(pa.array((np.datetime64(s) + d).astype("datetime64[D]")))


def _cascade_by_walking(person, by, day):
    """The largest confession cascade as the report first found it: a walk from each root."""
    from collections import deque

    parent: dict[int, int] = {}
    days: dict[int, int] = {}
    children: dict[int, list[int]] = defaultdict(list)
    for p, b, d in zip(person, by, day):
        if p in parent or b < 0 or p == b:
            continue
        parent[p], days[p] = b, d
        children[b].append(p)
    best_root, best = -1, 0
    for root in children:
        if root in parent:
            continue
        seen, stack = {root}, [root]
        while stack:
            for c in children.get(stack.pop(), []):
                if c not in seen:
                    seen.add(c)
                    stack.append(c)
        if len(seen) > best:
            best_root, best = root, len(seen)
    if best_root < 0:
        return None
    nodes, edges, depth = [best_root], [], {best_root: 0}
    q = deque([best_root])
    while q and len(nodes) < 7:
        x = q.popleft()
        for c in children.get(x, []):
            if c in depth or len(nodes) >= 7:
                continue
            depth[c] = depth[x] + 1
            nodes.append(c)
            edges.append((x, c))
            q.append(c)
    return best_root, best, nodes, edges, max(depth.values()), depth, days


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 25), st.integers(-1, 25), st.integers(0, 9),
                          st.booleans()), max_size=60))
def test_largest_cascade_by_ancestors_equals_the_walk_from_each_root(rows) -> None:
    """Pointer jumping finds the tree the walk found, loops of re-arrests included."""
    from types import SimpleNamespace

    from purgesim.charts import confession_tree, largest_cascade

    person = np.array([r[0] for r in rows], dtype=np.int64)
    by = np.array([r[1] for r in rows], dtype=np.int64)
    day = np.array([r[2] for r in rows], dtype=np.int64)
    cause = np.array(["confession" if r[3] else "denunciation" for r in rows], dtype=object)
    run = SimpleNamespace(events={"person": person, "by": by, "day": day, "cause": cause,
                                  "event": np.array(["arrested"] * len(rows), dtype=object)})
    conf = cause == "confession"
    ref = _cascade_by_walking(person[conf].tolist(), by[conf].tolist(), day[conf].tolist())
    got = largest_cascade(run, cap=7)
    if ref is None:
        assert got["root"] is None
        return
    root, size, nodes, edges, deepest, depth, days = ref
    assert (got["root"], got["size"], got["nodes"], got["edges"], got["depth"]) == (
        root, size, nodes, edges, deepest)
    assert got["depths"] == depth and list(got["day"].items()) == list(days.items())
    children, parent, when = confession_tree(run)
    assert list(when.items()) == list(days.items())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.tuples(st.sampled_from(["hold", "arrest"]), st.integers(0, 70)),
                         max_size=12), max_size=8))
def test_awaiting_gives_what_a_pop_per_arrest_gave(days) -> None:
    """tables.Awaiting (a bitmap before the dictionary) against the plain dictionary and a
    pop for each of the day's arrests: the same people, values and order, day after day;
    ids beyond the size it was made for included, people held one by one or a day at once."""
    from purgesim.tables import Awaiting

    fast, plain = Awaiting(40), {}
    bitmap = Awaiting(40)
    bitmap.few = 0  # the bitmap's path even for a few arrests
    for k, day in enumerate(days):
        held = [p for what, p in day if what == "hold"]
        arrested = np.array([p for what, p in day if what == "arrest"], dtype=np.int64)
        for a in (fast, bitmap):
            if k % 2:  # a day's people held at once, or one by one
                a.hold(np.array(held, dtype=np.int64), np.array([1000 * k + p for p in held]))
            else:
                for p in held:
                    a[p] = 1000 * k + p
        for p in held:
            plain[p] = 1000 * k + p
        want = []
        for p in arrested.tolist():
            v = plain.pop(p, None)
            if v is not None:
                want.append((p, v))
        assert fast.pop_arrested(arrested) == want
        assert bitmap.pop_arrested(arrested) == want
        assert len(fast) == len(plain) == len(bitmap) and all(p in fast for p in plain)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.integers(0, 50), max_size=10), max_size=10),
       st.lists(st.tuples(st.integers(0, 50), st.integers(0, 12)), max_size=30))
def test_camp_admissions_answer_as_the_dictionary_did(calls, asked) -> None:
    """camps.Admissions against the dictionary prisoner -> day of his latest admission: the
    same prisoners in the same order with the same days, and the same answer to 'does he
    still serve the term he began on day d?', d one of his admissions, as the schedules ask
    (prisoners admitted again, twice in one call included)."""
    from purgesim.mechanisms.camps import Admissions

    fast, plain = Admissions(30), {}
    for day, ids in enumerate(calls):
        a = np.array(ids, dtype=np.int64)
        if a.size and a.max() >= 30:
            a = a % 30  # the ids it was made for
        fast.add(a, day)
        plain.update(dict.fromkeys(a.tolist(), day))
    assert bool(fast) == bool(plain)
    if plain:
        ids, since = fast.everyone()
        assert ids.tolist() == list(plain) and since.tolist() == list(plain.values())
    # a schedule asks about a day on which the prisoner was admitted (its `since`)
    entered: dict[int, list[int]] = defaultdict(list)
    for day, ids in enumerate(calls):
        for p in ids:
            entered[p % 30].append(day)
    pairs = [(p % 30, entered[p % 30][k % len(entered[p % 30])]) for p, k in asked
             if p % 30 in entered]
    who = np.array([p for p, _ in pairs], dtype=np.int64)
    days = np.array([d for _, d in pairs], dtype=np.int64)
    want = [plain[p] == d for p, d in pairs]
    assert fast.serving(who, days).tolist() == want


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 60), max_size=8), max_size=5), st.integers(0, 2**20))
def test_arrests_in_turn_equal_one_call_per_group(groups, seed) -> None:
    """Sim.arrest_in_turn against one Sim.arrest per group on twin simulations: the same
    states, event log, case files, queue, custody count, day's records and arrests of the
    day; overlapping groups, suspects, the leader and protected people included."""
    sims = [Sim(load("toy", seed=3, scale=0.3)) for _ in range(2)]  # weight 3.33...
    g = np.random.default_rng(seed)
    for sim in sims:
        sim.day = 5
        pop = sim.pop
        lo = int(pop.region_start[-2])
        people = lo + np.arange(61, dtype=np.int64)
        special = np.array([0, sim.leader if sim.leader >= 0 else 0,
                            *sim.protected[:2].tolist()], dtype=np.int64)
        sim.pool = np.concatenate([people, special])
    states = g.integers(0, 12, 61)
    suspects = g.random(61) < 0.3
    for sim in sims:
        sim.pop.state[sim.pool[:61]] = states
        sim.accuse(sim.pool[:61][suspects], Cause.DENUNCIATION)
    picked = [sims[0].pool[np.array(grp, dtype=np.int64) % sims[0].pool.size] for grp in groups]
    op = seed % 3 - 1  # no operation, or one of two
    sizes = [sims[0].arrest(grp, Cause.ROUTINE, op=op).size for grp in picked]
    assert sims[1].arrest_in_turn(picked, Cause.ROUTINE, op=op) == sizes
    a, b = sims
    assert np.array_equal(a.pop.state, b.pop.state)
    for t in ("log", "interrogation", "queue"):
        assert np.array_equal(getattr(a, t).rows, getattr(b, t).rows), t
    assert a.rec._custody == b.rec._custody
    assert np.array_equal(a.rec.arrests, b.rec.arrests)
    assert np.array_equal(a.rec.arrests_region, b.rec.arrests_region)
    assert np.array_equal(a.rec.arrests_op, b.rec.arrests_op)
    assert np.array_equal(a.arrested_today(), b.arrested_today())
    with pytest.raises(ValueError):
        b.arrest_in_turn(picked, Cause.CONFESSION)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-3, 12), max_size=60))
def test_first_occurrence_marks_each_value_once_in_order(values: list[int]) -> None:
    from purgesim.tables import first_occurrence

    seen: set[int] = set()
    want = []
    for v in values:
        want.append(v not in seen)
        seen.add(v)
    assert first_occurrence(np.array(values, dtype=np.int64)).tolist() == want


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 64), max_size=20), st.integers(0, 2**20), st.booleans())
def test_accusations_in_one_pass_equal_admission_then_book_keeping(picks, seed,
                                                                   scalar_by) -> None:
    """Sim.accuse (`engine._suspect_admitted`: admission and rows in one pass) against the
    two steps it fused, `_admit` then `_suspect_rows` on the people kept, on twin
    simulations: the same people, states, event log, police queue and records; repeated
    people, people not at large, the leader and the protected included, `by` a scalar or
    one value per person."""
    from purgesim.engine import _admit, _suspect_rows, _take

    sims = [Sim(load("toy", seed=3, scale=0.3)) for _ in range(2)]
    g = np.random.default_rng(seed)
    states = g.integers(0, 12, 61)
    for sim in sims:
        sim.day = 4
        lo = int(sim.pop.region_start[-2])
        special = [0, max(sim.leader, 0), *sim.protected[:2].tolist()]
        sim.pool = np.concatenate([lo + np.arange(61, dtype=np.int64),
                                   np.array(special, dtype=np.int64)])
        sim.pop.state[sim.pool[:61]] = states
    ids = sims[0].pool[np.array(picks, dtype=np.int64) % sims[0].pool.size]
    by = 7 if scalar_by else g.integers(-1, 1000, ids.size)
    got = sims[0].accuse(ids, Cause.DENUNCIATION, by)
    b = sims[1]  # the two steps, as Sim.accuse did them before
    keep = _admit(ids, b.pop.state, AT_LARGE_LUT, b.leader, b.police_chief, b.protected)
    kept, by_kept = ids[keep], _take(by, keep, np.int64)
    b.log.reserve(kept.size)
    b.queue.reserve(kept.size)
    w = _suspect_rows(kept, int(Cause.DENUNCIATION), by_kept, b.day, b.pop.state,
                      b.log.storage, b.log.n, b.queue.storage, b.queue.n, b.pop.n_elite,
                      b.pop.hsize, b.pop.e_region, b.pop.region_start, b._w_mass)
    b.log.n += kept.size
    b.queue.n += kept.size
    if kept.size:
        b.rec.suspected_weights(w, int(Cause.DENUNCIATION))
    a = sims[0]
    assert got.tolist() == kept.tolist()
    assert np.array_equal(a.pop.state, b.pop.state)
    for t in ("log", "queue"):
        assert np.array_equal(getattr(a, t).rows, getattr(b, t).rows), t
    assert np.array_equal(a.rec.suspects, b.rec.suspects)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.floats(0.0, 1.0, exclude_max=True), st.booleans()), max_size=40),
       st.integers(0, 99), st.booleans(), st.sampled_from([0.0, 0.01, 0.3]))
def test_camp_fates_equal_the_numpy_schedule(draws, day, on, mortality) -> None:
    """`camps._fates` (one pass) against the NumPy it replaced in `camps.admit`: death on
    the left insertion point of the hazard accumulated since today (no earlier than
    tomorrow), the term's end if it comes first, the fates after the run's last day
    dropped; with the camps switched off nobody dies."""
    from purgesim.mechanisms.camps import DIES, TERM_ENDS, _fates

    n_days = 100
    rates = np.full(n_days, mortality / 365.0)
    rates[::7] *= 3.0  # a hazard that is not flat
    hazard_cum = np.concatenate([[0.0], np.cumsum(rates)])[: n_days + 1]
    ids = np.arange(500, 500 + len(draws), dtype=np.int64)
    u = np.array([x for x, _ in draws], dtype=np.float64)
    release = np.where([s for _, s in draws], day + 30, day + 3650).astype(np.int64)
    e = -np.log(np.maximum(1.0 - u, 1e-300)) if on else np.empty(0)
    if on:
        death = np.maximum(np.searchsorted(hazard_cum, hazard_cum[day] + e),
                           day + 1).astype(np.int64)
    else:
        death = np.full(ids.size, 10**9, dtype=np.int64)
    dies = death < release
    when = np.where(dies, death, release)
    kind = np.where(dies, DIES, TERM_ENDS).astype(np.int8)
    keep = when < n_days
    got = _fates(ids, release, e, hazard_cum, day, n_days)
    assert [a.tolist() for a in got] == [when[keep].tolist(), ids[keep].tolist(),
                                         kind[keep].tolist()]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.integers(0, 200), max_size=30), max_size=5))
def test_bitmap_add_seen_is_has_or_repeated_then_add(batches) -> None:
    """`Bitmap.add_seen` (the camps' admissions) is ``has(ids) | ~first_occurrence(ids)``
    then ``add(ids)``, batch after batch, ids beyond the bitmap's first size included."""
    from purgesim.tables import Bitmap, first_occurrence

    fast, plain = Bitmap(40), Bitmap(40)
    for b in batches:
        ids = np.array(b, dtype=np.int64)
        want = plain.has(ids) | ~first_occurrence(ids)
        plain.add(ids)
        assert fast.add_seen(ids).tolist() == want.tolist()
        everyone = np.arange(260, dtype=np.int64)
        assert fast.has(everyone).tolist() == plain.has(everyone).tolist()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3000), st.integers(-1, 2),
                          st.floats(0.0, 1.0, exclude_max=True),
                          st.floats(0.0, 1.0, exclude_max=True)), max_size=40),
       st.integers(0, 1500), st.booleans(), st.sampled_from([0, 7]),
       st.sampled_from([0.0, 0.4]), st.integers(1, 5))
def test_trial_dates_equal_the_numpy_routing(cases, day, halted, interval, p_held,
                                             li) -> None:
    """`trials._ready` (one pass) against the NumPy routing of closed cases it replaced in
    `enqueue`: board, troika sitting or delay, the officials' lists (over a quota case),
    the cases held; and whether any case was a quota case, and held."""
    from purgesim.mechanisms.trials import HELD, TROIKA, _ready

    n_elite, hsize, board, troika_delay = 1000, 4, 45, 10
    person = np.array([c[0] for c in cases], dtype=np.int64)
    op = np.array([c[1] for c in cases], dtype=np.int16)
    u = np.array([c[2] for c in cases], dtype=np.float64)
    uh = np.array([c[3] for c in cases], dtype=np.float64)
    elite = (person < n_elite) & (person % hsize == 0)
    quota = (op >= 0) & (not halted)
    ready = day + 1 + (u * board).astype(np.int64)
    if interval > 0:
        ready[quota] = TROIKA + day
    else:
        ready[quota] = day + 1 + (u[quota] * troika_delay).astype(np.int64)
    ready[elite] = ((day // li) + 1) * li + (u[elite] < 0.5) * li
    held = quota & ~elite & (uh < p_held) if p_held > 0 else np.zeros(person.size, bool)
    ready[held] = HELD
    got, any_quota, any_held = _ready(person, op, u, uh if p_held > 0 else np.empty(0), day,
                                      halted, n_elite, hsize, board, interval, troika_delay,
                                      li, p_held)
    assert got.tolist() == ready.tolist()
    assert (any_quota, any_held) == (bool(quota.any()), bool(held.any()))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 10**6), max_size=30), st.booleans(), st.booleans(),
       st.booleans(), st.one_of(st.none(), st.integers(0, 50)))
def test_logged_rows_equal_the_table_put(ids, cause_array, by_array, op_array, day) -> None:
    """`Sim.record` (`engine._log_rows`, one compiled call) writes the rows `Table.put`
    wrote: causes, informers and operations as one value for all or one each (of other
    dtypes too), the day of the call or one given."""
    from purgesim.engine import LOG_DTYPE

    sim = Sim(load("toy", seed=3))
    sim.day = 9
    k = len(ids)
    g = np.random.default_rng(k)
    a = np.array(ids, dtype=np.int64)
    cause = g.integers(0, 12, k).astype(np.int32) if cause_array else Cause.RELATIVE
    by = g.integers(-1, 10**6, k) if by_array else -1
    op = g.integers(-1, 5, k).astype(np.int64) if op_array else 3
    plain = Table(LOG_DTYPE, 4)
    for _ in range(2):  # twice: rows after rows
        sim.record(a, Event.NAMED, cause, by, op, day)
        if k:
            plain.put(k, a, 9 if day is None else day, int(Event.NAMED), cause, by, op)
    assert np.array_equal(sim.log.rows[-plain.n:] if plain.n else sim.log.rows[:0], plain.rows)


@settings(max_examples=40, deadline=None)
@given(want=st.lists(st.integers(0, 40), min_size=1, max_size=12),
       dry=st.lists(st.integers(-10, 12), min_size=12, max_size=12),
       pool=st.sampled_from([(TRAIT_OPPOSITION, TRAIT_OPPOSITION), (TRAIT_ELEMENT, 0),
                             (TRAIT_ELEMENT, TRAIT_ELEMENT)]),
       bitmaps=st.booleans(), gone=st.floats(0.0, 0.999))
def test_quota_picks_equal_the_region_loop(pop, want, dry, pool, bitmaps, gone) -> None:
    """`quotas._quota_picks` gives the groups the region loop it replaced gave with
    `pick_people`: the operation's pool (unless found dry in the last 7 days), then anyone
    if short, the dry days updated alike; with and without the pool's bitmaps."""
    from purgesim.mechanisms.quotas import _NO_BITS, S, _quota_picks

    R = pop.n_regions
    day = 10
    w = np.zeros(R, dtype=np.int64)
    w[: min(len(want), R)] = want[:R]
    subjects = rng.subjects(2, np.arange(R, dtype=np.int64))
    mask, value = pool
    state = pop.state.copy()
    g = np.random.default_rng(len(want))
    state[g.integers(0, pop.n, int(pop.n * gone))] = State.ARRESTED
    bits, coarse = pop.pool_bits(mask, value) if bitmaps else (_NO_BITS, _NO_BITS)
    dry_fast = np.array(dry[:R], dtype=np.int64)
    dry_plain = dry_fast.copy()
    ids, sizes, regions = _quota_picks(w, subjects, 3, day, pop.region_start, pop.traits, mask,
                                       value, bits, coarse, bitmaps, state, dry_fast,
                                       AT_LARGE_LUT, _NO_BITS, 0, False, 2000, 20, S.pick,
                                       S.pick_any)
    groups, where = [], []
    for r in np.flatnonzero(w > 0).tolist():
        k = int(w[r])
        lo, hi = int(pop.region_start[r]), int(pop.region_start[r + 1])
        a = np.empty(0, dtype=np.int64)
        if day - dry_plain[r] >= 7:
            a = _pick(3, day, int(subjects[r]), S.pick, lo, hi, k, pop.traits, mask, value,
                      bits, coarse, bitmaps, state, AT_LARGE_LUT, 2000)
        if a.size < k:
            if day - dry_plain[r] >= 7:
                dry_plain[r] = day
            a = np.concatenate([a, _pick(3, day, int(subjects[r]), S.pick_any, lo, hi,
                                         k - a.size, pop.traits, 0, 0, _NO_BITS, _NO_BITS,
                                         False, state, AT_LARGE_LUT, 20)])
        groups.append(a)
        where.append(r)
    assert sizes.tolist() == [a.size for a in groups] and regions.tolist() == where
    assert ids.tolist() == (np.concatenate(groups).tolist() if groups else [])
    assert dry_fast.tolist() == dry_plain.tolist()


def test_the_constant_columns_cache_keeps_codes_only() -> None:
    """`engine._constant` caches the columns of codes (causes, operations, -1) for small
    batches only: a person's id as a scalar `by` (a promotion's) once added an array per
    person (150 MB at scale 1, and without end across a calibration's simulations)."""
    from purgesim import engine

    sim = Sim(load("toy", seed=3))
    before = len(engine._CONSTANTS)
    for who in range(1000, 1200):
        sim.record(np.array([who], dtype=np.int64), Event.PROMOTED, 0, who)
    big = np.arange(engine._CACHED_UP_TO + 1, dtype=np.int64)
    sim.record(big, Event.NAMED, 3, -1)
    assert len(engine._CONSTANTS) <= before + 2  # at most the codes 0 and 3 (uint8)
    assert all(a.shape[0] <= max(engine._CACHED_UP_TO, 1024)
               for a in engine._CONSTANTS.values())
    assert sim.log.rows["by"][-1 - big.size] == 1199
