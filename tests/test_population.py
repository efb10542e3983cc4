"""The synthetic society: symmetric ties, keyed permutations, cohorts at their real sizes at
every scale, named people at their posts, a mass population that scales."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import load_scenario, subordinates_named_beyond_the_ring

from purgesim.codes import (
    COHORT_KEYS,
    NATION_MASK,
    NATION_SHIFT,
    TRAIT_ELEMENT,
    Cohort,
    Post,
    State,
    Tie,
)
from purgesim.population import (
    MAX_SPAN,
    Population,
    permute,
    unpermute,
)
from purgesim.society import _balanced_tree, build_population, police_region_plan

REAL_SIZES = {
    Cohort.CENTRAL_COMMITTEE_1934: 139,
    Cohort.CONGRESS_17: 1966,
    Cohort.MARSHALS: 5,
    Cohort.ARMY_COMMANDERS: 16,
    Cohort.CORPS_DIVISION_COMMANDERS: 229,
    Cohort.OFFICERS: 137000,
    Cohort.STATE_SECURITY: 25000,
    Cohort.FIRST_GOVERNMENT_1917: 15,
}


@pytest.fixture(scope="module")
def toy_pop() -> Population:
    return build_population(load_scenario("toy"))


@pytest.fixture(scope="module")
def ussr_pop() -> Population:
    """ussr-1937 at scale 0.0001: the unscaled elite (some 660,000 people) and 16,000 others."""
    return build_population(load_scenario("ussr-1937", scale=0.0001))


def _sample(pop: Population, elite: bool, k: int, seed: int = 0) -> list[int]:
    rng = np.random.default_rng(seed)
    lo, hi = (0, pop.n_elite) if elite else (pop.n_elite, pop.n)
    heads = rng.integers(lo // pop.hsize, hi // pop.hsize, k) * pop.hsize
    others = rng.integers(lo, hi, k)
    return sorted(set(heads.tolist()) | set(others.tolist()))


def _one_way_ties(pop: Population, people: list[int], skip_kind: int | None = None) -> list:
    """(a, b, kind) for every tie a -> b that b does not return."""
    bad = []
    for a in people:
        ids, kinds = pop.ties(a)
        for b, kind in zip(ids.tolist(), kinds.tolist()):
            if kind != skip_kind and a not in pop.ties(b)[0].tolist():
                bad.append((a, b, Tie(kind).name))
    return bad


# =============================================================================================
# ties
# =============================================================================================


@pytest.mark.parametrize("which", ["toy", "ussr"])
def test_mass_ties_are_symmetric(which: str, toy_pop: Population,
                                 ussr_pop: Population) -> None:
    """In the mass population, if B is among A's ties then A is among B's (family, workplace
    and its head, acquaintance rings)."""
    pop = toy_pop if which == "toy" else ussr_pop
    people = _sample(pop, elite=False, k=600)
    assert _one_way_ties(pop, people) == []


@pytest.mark.parametrize("which", ["toy", "ussr"])
def test_elite_ties_other_than_the_superior_are_symmetric(which: str, toy_pop: Population,
                                                          ussr_pop: Population) -> None:
    """In the elite block family, unit and acquaintance ties go both ways."""
    pop = toy_pop if which == "toy" else ussr_pop
    people = _sample(pop, elite=True, k=600)
    assert _one_way_ties(pop, people, skip_kind=int(Tie.SUPERIOR)) == []


def _heads_of_branch(pop: Population, branch: str, k: int, seed: int = 0) -> list[int]:
    lo, hi = next((lo, hi) for name, lo, hi in pop.branches if name == branch)
    rng = np.random.default_rng(seed)
    return sorted(set((rng.integers(lo, hi, k) * pop.hsize).tolist()))


def test_elite_ties_are_symmetric_in_toy(toy_pop: Population) -> None:
    """If B is among the ties of an elite person A, A is among B's ties: the superior lists
    his direct subordinates (population.ties_of, at most MAX_SPAN of them)."""
    assert _one_way_ties(toy_pop, _sample(toy_pop, elite=True, k=600)) == []


@pytest.mark.parametrize("branch", ["party and state", "army", "police"])
def test_chain_of_command_is_symmetric(branch: str, ussr_pop: Population) -> None:
    """In ussr-1937 every chief of the party, the state, the army and the police lists each
    direct subordinate who lists him (spans of command at most MAX_SPAN), and every other
    elite tie goes both ways."""
    pop = ussr_pop
    people = _heads_of_branch(pop, branch, 400)
    if branch == "army":  # and the high command, whole
        people = sorted(set(people) | set(pop.cohort_members(Cohort.MARSHALS).tolist())
                        | set(pop.cohort_members(Cohort.ARMY_COMMANDERS).tolist()))
    if branch == "police":  # and the commissar and the regional chiefs, whole
        people = sorted(set(people) | set(pop.heads_with_post(Post.POLICE_CHIEF).tolist())
                        | set(pop.heads_with_post(Post.POLICE_REGIONAL_CHIEF).tolist()))
    assert _one_way_ties(pop, people) == []
    spans = np.diff(pop.sub_lo)
    lo, hi = next((lo, hi) for name, lo, hi in pop.branches if name == branch)
    assert 0 < spans[lo:hi].max() <= MAX_SPAN


def test_a_chief_lists_his_subordinates_and_they_list_him(ussr_pop: Population) -> None:
    """The two ends of the SUPERIOR tie: a division commander's direct subordinates (his
    brigade commanders and his staff) are among his ties, and each lists him as SUPERIOR."""
    pop = ussr_pop
    H = pop.hsize
    div = pop.heads_with_post(Post.CORPS_DIVISION_COMMANDER)[-1]
    subs = pop.sub_ids[pop.sub_lo[div // H]:pop.sub_lo[div // H + 1]].astype(np.int64) * H
    assert 20 < subs.size <= MAX_SPAN
    ids, _ = pop.ties(int(div))
    assert set(subs.tolist()) <= set(ids.tolist())
    for s in subs.tolist():
        sid, skind = pop.ties(s)
        assert int(div) in sid[skind == Tie.SUPERIOR].tolist()


def test_police_ties_are_symmetric(ussr_pop: Population) -> None:
    """If B is among the ties of a police officer A, A is among B's ties."""
    assert _one_way_ties(ussr_pop, _heads_of_branch(ussr_pop, "police", 300, seed=1)) == []


def test_police_levels_of_command(ussr_pop: Population) -> None:
    """The NKVD's chain of command by level (society.build_police_levels): an operational
    officer answers to a deputy or head of department of his own region, a deputy to another
    deputy of his region or to its regional chief, an officer of the central apparatus to
    another of it or to the commissar, a regional chief to the commissar; every regional
    chief, deputy and head of section commands someone, and the cohorts keep their sizes."""
    pop = ussr_pop
    H = pop.hsize
    chief = pop.heads_with_post(Post.POLICE_CHIEF)[0] // H
    sup = pop.e_superior.astype(np.int64)
    post = pop.e_post
    spans = np.diff(pop.sub_lo)

    def heads(p: Post) -> np.ndarray:
        return pop.heads_with_post(p) // H

    off, dep, cen, reg = (heads(Post.POLICE_OFFICER), heads(Post.POLICE_REGIONAL_DEPUTY),
                          heads(Post.POLICE_CENTRAL), heads(Post.POLICE_REGIONAL_CHIEF))
    assert (off.size, dep.size, cen.size, reg.size) == (22385, 1100, 1500, 14)
    assert (post[sup[off]] == Post.POLICE_REGIONAL_DEPUTY).all()
    assert (pop.e_region[sup[off]] == pop.e_region[off]).all()
    assert np.isin(post[sup[dep]], [Post.POLICE_REGIONAL_DEPUTY,
                                    Post.POLICE_REGIONAL_CHIEF]).all()
    assert (pop.e_region[sup[dep]] == pop.e_region[dep]).all()
    assert ((post[sup[cen]] == Post.POLICE_CENTRAL) | (sup[cen] == chief)).all()
    assert (sup[reg] == chief).all()
    assert (spans[dep] > 0).all() and (spans[reg] > 0).all() and spans[off].max() == 0
    # three tiers in the capital: heads of departments, heads of sections, officers
    top = cen[sup[cen] == chief]
    sections = cen[np.isin(sup[cen], top)]
    assert top.size == 12 and sections.size == 144 and (spans[sections] > 0).all()
    # operational officers spread evenly over the heads of departments of their region
    for r in range(pop.n_regions):
        n = np.bincount(sup[off[pop.e_region[off] == r]])
        n = n[n > 0]
        assert n.max() - n.min() <= 1


def test_a_police_chiefs_subordinates_weigh_as_one_workplace(ussr_pop: Population) -> None:
    """A head of an NKVD department names among his officers, on average, (W-1) x p_work of
    them, as the head of a mass workplace names among his workers, though he commands
    about 20 (population.sample_ties; the army's case is in tests/test_speed_identity.py)."""
    pop = ussr_pop
    lo = next(lo for name, lo, _ in pop.branches if name == "police")
    chiefs, total = subordinates_named_beyond_the_ring(pop, lo, 20)
    assert chiefs > 1000  # the heads of departments
    expected = 20 * chiefs * (int(pop.geo[2]) - 1) * 0.02
    assert abs(total - expected) < 5 * np.sqrt(expected)


@pytest.mark.parametrize("scenario", ["toy", "ussr-1937", "france-1793"])
def test_no_span_of_command_exceeds_max_span(scenario: str) -> None:
    """Every chief of every bundled scenario has at most MAX_SPAN direct subordinates, so
    every chain of command is a symmetric tie (population.ties_of)."""
    pop = build_population(load_scenario(scenario, scale=None if scenario == "toy" else 0.0001))
    assert np.diff(pop.sub_lo).max() <= MAX_SPAN


@pytest.mark.parametrize("d,o,senior", [
    (0, 0, False), (0, 40, False), (0, 65, True), (0, 4000, True), (3, 10, False),
    (15, 306, False), (595, 12042, False), (1, 500, True), (5000, 10, False)])
def test_police_region_plan(d: int, o: int, senior: bool) -> None:
    """The levels of one region's NKVD: deputies in two tiers, officers under the heads of
    departments, senior officers added as heads only when the deputies are too few; no span
    above MAX_SPAN, nobody left out, sizes unchanged."""
    k, parent, head = police_region_plan(d, o)
    assert parent.size == d + k and head.size == o - k
    assert ((parent < np.arange(d + k)) & (parent >= -1)).all()  # a superior comes first
    spans = np.bincount(np.concatenate([parent, head]) + 1, minlength=d + k + 1)
    assert spans.max() <= MAX_SPAN
    leaves = np.setdiff1d(np.arange(d + k), parent)
    assert np.isin(head, leaves if d + k else [-1]).all()
    assert (k > 0) == senior
    if k:  # the fewest senior officers that will do: one fewer leaves a span too wide
        fewer, _ = _balanced_tree(d + k - 1, 2)
        n_leaves = d + k - 1 - np.unique(fewer[fewer >= 0]).size
        assert n_leaves == 0 or -(-(o - k + 1) // n_leaves) > MAX_SPAN
    if d == 0 and o <= MAX_SPAN:  # a handful of officers answer to the regional chief
        assert k == 0 and (head == -1).all()


def test_ties_are_valid_people(toy_pop: Population) -> None:
    """Ties point to existing people other than oneself; the family is the household block
    of H consecutive rows; a relative of an official has family ties only."""
    pop = toy_pop
    H = pop.hsize
    for a in _sample(pop, elite=False, k=300) + _sample(pop, elite=True, k=300):
        ids, kinds = pop.ties(a)
        assert ((ids >= 0) & (ids < pop.n)).all() and a not in ids.tolist()
        fam = ids[kinds == Tie.FAMILY]
        assert sorted(fam.tolist()) == [j for j in range((a // H) * H, (a // H + 1) * H)
                                        if j != a]
        if a < pop.n_elite and a % H:
            assert (kinds == Tie.FAMILY).all()
        if a >= pop.n_elite:  # mass ties stay in one's region
            assert (pop.regions_of(ids) == pop.region_of(a)).all()


def test_the_boss_is_the_superior_tie(toy_pop: Population) -> None:
    """Population.boss agrees with the SUPERIOR tie (at most one), for mass and elite."""
    pop = toy_pop
    n_boss = 0
    for a in _sample(pop, elite=False, k=300) + _sample(pop, elite=True, k=300):
        ids, kinds = pop.ties(a)
        sup = ids[kinds == Tie.SUPERIOR].tolist()
        assert len(sup) <= 1
        assert pop.boss(a) == (sup[0] if sup else -1)
        n_boss += bool(sup)
    assert n_boss > 100


# =============================================================================================
# keyed permutations
# =============================================================================================


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 16, 17, 100, 1000, 4097])
@pytest.mark.parametrize("key", [1, 0x632BE59BD9B4E019, 2**63 - 25])
def test_permute_is_a_bijection_with_unpermute_as_inverse(n: int, key: int) -> None:
    """permute(., n, k) maps [0, n) onto [0, n) one to one; unpermute undoes it."""
    k = np.uint64(key)
    image = [permute(x, n, k) for x in range(n)]
    assert sorted(image) == list(range(n))
    assert [unpermute(y, n, k) for y in image] == list(range(n))


def test_permutations_depend_on_the_key() -> None:
    n = 1000
    a = [permute(x, n, np.uint64(11)) for x in range(n)]
    b = [permute(x, n, np.uint64(12)) for x in range(n)]
    assert a != b
    assert sum(x == y for x, y in zip(a, range(n))) < 20  # not close to the identity


# =============================================================================================
# cohorts, named people, scale
# =============================================================================================


@pytest.mark.parametrize("scale", [0.0001, 0.0003])
def test_ussr_cohorts_have_their_real_sizes_at_any_scale(scale: float) -> None:
    """The cohorts of the source are never scaled: 139, 1966, 5, 16, 229, 137,000, 25,000
    and 15 people."""
    pop = build_population(load_scenario("ussr-1937", scale=scale))
    sizes = {COHORT_KEYS[c]: int(pop.cohort_members(c).size) for c in REAL_SIZES}
    assert sizes == {COHORT_KEYS[c]: n for c, n in REAL_SIZES.items()}


def test_cohorts_hold_the_right_posts(ussr_pop: Population) -> None:
    """Marshals are marshals, state-security officers are police, officers are army."""
    pop = ussr_pop
    posts = {c: {pop.post(int(i)) for i in pop.cohort_members(c)} for c in REAL_SIZES}
    assert posts[Cohort.MARSHALS] == {Post.MARSHAL}
    assert posts[Cohort.ARMY_COMMANDERS] == {Post.ARMY_COMMANDER}
    assert posts[Cohort.CORPS_DIVISION_COMMANDERS] == {Post.CORPS_DIVISION_COMMANDER}
    assert posts[Cohort.STATE_SECURITY] == {Post.POLICE_CHIEF, Post.POLICE_REGIONAL_CHIEF,
                                            Post.POLICE_OFFICER, Post.POLICE_CENTRAL,
                                            Post.POLICE_REGIONAL_DEPUTY}
    assert posts[Cohort.OFFICERS] == {Post.MARSHAL, Post.ARMY_COMMANDER,
                                      Post.CORPS_DIVISION_COMMANDER, Post.OFFICER}
    assert (pop.cohort_members(Cohort.CENTRAL_COMMITTEE_1934) < pop.n_elite).all()


@pytest.mark.parametrize("scenario", ["toy", "ussr-1937"])
def test_named_people_are_at_their_posts(scenario: str) -> None:
    """Each named person heads a household at the post the scenario gives him, in the
    cohorts it says, in his initial state; the leader is the LEADER."""
    sc = load_scenario(scenario, scale=0.0001 if scenario != "toy" else None)
    pop = build_population(sc)
    ids = [pop.names[n.name] for n in sc.named]
    assert len(set(ids)) == len(ids) == len(sc.named)
    for n in sc.named:
        i = pop.names[n.name]
        assert i < pop.n_elite and i % pop.hsize == 0, n.name
        post = Post.OLD_BOLSHEVIK if n.place == "first_government" else Post[n.place.upper()]
        assert pop.post(i) == post, n.name
        mask = int(pop.e_cohorts[i // pop.hsize])
        if n.first_government:
            assert mask & (1 << Cohort.FIRST_GOVERNMENT_1917), n.name
        if n.central_committee:
            assert mask & (1 << Cohort.CENTRAL_COMMITTEE_1934), n.name
        assert pop.state[i] == State[n.state.upper()], n.name
        assert pop.label(i) == n.name
    assert pop.heads_with_post(Post.LEADER).tolist() == \
        [pop.names[n.name] for n in sc.named if n.place == "leader"]


def test_mass_population_scales_and_elite_does_not() -> None:
    """The mass block is each region's population times scale (whole households); the elite
    block is the same at every scale."""
    sizes = {}
    for scale in (0.0001, 0.0002, 0.0004):
        sc = load_scenario("ussr-1937", scale=scale)
        pop = build_population(sc)
        H = sc.household_size
        want = [max(math.ceil(r.population * scale / H) * H, 2 * H) for r in sc.regions]
        assert np.diff(pop.region_start).tolist() == want
        sizes[scale] = (pop.n_elite, pop.n - pop.n_elite)
    assert len({e for e, _ in sizes.values()}) == 1
    assert sizes[0.0002][1] / sizes[0.0001][1] == pytest.approx(2, rel=0.01)
    assert sizes[0.0004][1] / sizes[0.0001][1] == pytest.approx(4, rel=0.01)
    full = sum(r.population for r in sc.regions)
    assert sizes[0.0004][1] == pytest.approx(full * 0.0004, rel=0.01)


def test_weights_scale_back_to_full_population() -> None:
    """A mass person stands for 1/scale people, an elite person for one."""
    pop = build_population(load_scenario("toy", scale=0.25))
    w = pop.weight(np.array([0, pop.n_elite - 1, pop.n_elite, pop.n - 1]))
    assert w.tolist() == [1, 1, 4, 4]


def test_traits_follow_the_regional_shares() -> None:
    """Registered elements and nationalities appear in the shares the scenario gives (within
    sampling error); a household shares one nationality."""
    sc = load_scenario("toy")
    pop = build_population(sc)
    H = pop.hsize
    for r, rg in enumerate(sc.regions):
        lo, hi = int(pop.region_start[r]), int(pop.region_start[r + 1])
        t = pop.traits[lo:hi]
        n = hi - lo
        share = ((t & TRAIT_ELEMENT) != 0).mean()
        sd = math.sqrt(rg.element_share * (1 - rg.element_share) / n)
        assert abs(share - rg.element_share) < 4 * sd + 1e-9, rg.name
        nation = (t & NATION_MASK) >> NATION_SHIFT
        households = nation.reshape(-1, H)
        assert (households == households[:, :1]).all()
        polish = (households[:, 0] == 1).mean()
        p = rg.nationalities.get("polish", 0.0)
        sd = math.sqrt(p * (1 - p) / households.shape[0])
        assert abs(polish - p) < 4 * sd + 1e-9, rg.name


def test_the_same_seed_builds_the_same_society() -> None:
    a = build_population(load_scenario("toy"))
    b = build_population(load_scenario("toy"))
    c = build_population(load_scenario("toy", seed=2))
    assert np.array_equal(a.traits, b.traits) and np.array_equal(a.key_acq, b.key_acq)
    assert not np.array_equal(a.traits, c.traits)
    i = a.n_elite + 17
    assert a.ties(i)[0].tolist() == b.ties(i)[0].tolist() != c.ties(i)[0].tolist()
