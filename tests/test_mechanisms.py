"""Each mechanism alone does what its docstring and the design brief claim.

Runs are small (the `toy` scenario, a few thousand people over 1937) with the invariants
checked every day.  Most tests read the event log: who was accused or arrested, by whom, for
what cause, on which day.
"""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pytest
from conftest import (
    AT_LARGE,
    SENTENCES,
    STATE_EVENTS,
    Row,
    log_of,
    only,
    per_person,
    run_sim,
    ties_set,
    write_scenario,
)

from purgesim.codes import (
    NATION_KEYS,
    NATION_MASK,
    NATION_SHIFT,
    POLICE_STAFF,
    TRAIT_ELEMENT,
    Cause,
    Event,
    State,
    Tie,
)
from purgesim.engine import Sim
from purgesim.population import _subordinates_listed
from purgesim.results import summary

TOY_HALT = dt.date(1937, 11, 1)
TOY_CHIEF_CHANGE = dt.date(1937, 4, 1)
POLICE_POSTS = POLICE_STAFF  # every level below the chief


def in_pool(sim: Sim, ids: np.ndarray, target: str) -> np.ndarray:
    """Whether each person belongs to an operation's target pool."""
    t = sim.pop.traits[ids]
    if target == "element":
        return (t & TRAIT_ELEMENT) != 0
    return ((t & NATION_MASK) >> NATION_SHIFT) == NATION_KEYS.index(target) + 1


def previous_state_event(rows: list[Row], k: int) -> Row | None:
    """The last state-changing event before position k in one person's event list."""
    for j in range(k - 1, -1, -1):
        if rows[j][1] in STATE_EVENTS:
            return rows[j]
    return None


def sentence_rows(sim: Sim) -> list[tuple[int, int, Row, Row | None]]:
    """(person, position, sentence event, previous state event) for every SHOT/CAMP/EXILE."""
    out = []
    for p, rows in per_person(sim.log.rows).items():
        for k, r in enumerate(rows):
            if r[1] in SENTENCES:
                out.append((p, k, r, previous_state_event(rows, k)))
    return out


# =============================================================================================
# (i) quotas
# =============================================================================================


@pytest.fixture(scope="module")
def quota_sim() -> Sim:
    """The toy scenario with every mechanism but the quotas off; limits fixed (no petitions)."""
    return run_sim("toy", only("quotas") + ["quotas.petition_prob=0"])


def test_quotas_alone_arrest_only_for_quota(quota_sim: Sim) -> None:
    """With the other mechanisms off, every arrest is a QUOTA arrest of a known operation."""
    arrests = log_of(quota_sim, Event.ARRESTED)
    assert arrests.size > 50
    assert (arrests["cause"] == Cause.QUOTA).all()
    assert ((arrests["op"] >= 0) & (arrests["op"] < len(quota_sim.op_keys))).all()
    assert log_of(quota_sim, Event.SUSPECTED).size == 0


def test_quota_arrests_only_between_operation_start_and_halt(quota_sim: Sim) -> None:
    """Each operation arrests from its start date to its end or the halt, never outside."""
    sc = quota_sim.sc
    assert quota_sim.halt_day == sc.day_of(TOY_HALT)
    arrests = log_of(quota_sim, Event.ARRESTED, Cause.QUOTA)
    for o, op in enumerate(sc.operations):
        days = arrests["day"][arrests["op"] == o]
        assert days.size > 0, op.key
        first = sc.day_of(op.start)
        last = min(sc.day_of(op.end) if op.end else quota_sim.n_days - 1,
                   quota_sim.halt_day - 1)
        assert days.min() >= first, op.key
        assert days.max() <= last, op.key
        assert days.min() < first + 14  # it does start on time


def test_troika_sentences_follow_category_limits(quota_sim: Sim) -> None:
    """Troika sentences (quota cases before the halt) stay within each region's category-1
    (shoot) and category-2 (camp) limits, and both categories are used."""
    q = quota_sim.mechs["quotas"]
    assert np.allclose(q.limit, q.initial_region)  # no petitions: the limits never moved
    sent = log_of(quota_sim, (Event.SHOT, Event.CAMP, Event.EXILE, Event.RELEASED))
    troika = sent[(sent["op"] >= 0) & (sent["day"] < quota_sim.halt_day)]
    assert set(troika["event"].tolist()) <= {Event.SHOT, Event.CAMP}  # categories 1 and 2 only
    regions = quota_sim.pop.regions_of(troika["person"])
    for o in range(len(quota_sim.op_keys)):
        for r in range(quota_sim.pop.n_regions):
            mine = troika["event"][(troika["op"] == o) & (regions == r)]
            shot = int((mine == Event.SHOT).sum())
            camp = int((mine == Event.CAMP).sum())
            assert shot <= math.ceil(q.limit[o, r, 0]), (o, r)
            assert camp <= math.ceil(q.limit[o, r, 1]), (o, r)
            assert (shot, camp) == tuple(q.used[o, r].astype(int))
    assert (troika["event"] == Event.SHOT).sum() > 10
    assert (troika["event"] == Event.CAMP).sum() > 10


def test_petitions_raise_limits_by_the_declared_increments() -> None:
    """Units that always petition do so once a week while the operation runs; each week a
    region's limits are multiplied by (1 + increment x k/n), k of its n units granted, the
    same k for both categories; refused petitions change nothing."""
    snaps: list[np.ndarray] = []
    grow = run_sim("toy", only("quotas") + [
        "quotas.petition_threshold=0", "quotas.petition_prob=1", "quotas.approval_prob=1",
        "quotas.approval_halflife=200", "quotas.increment_cat1=0.1",
        "quotas.increment_cat2=0.05", "quotas.petition_delay=0"], check=False,
        hooks={("quotas", "step"): lambda sim, day: snaps.append(
            sim.mechs["quotas"].limit.copy())})
    q = grow.mechs["quotas"]
    sc = grow.sc
    n = q.n_units.astype(float)
    assert int(n.sum()) >= grow.pop.n_regions
    snaps.append(q.limit.copy())
    for o, op in enumerate(sc.operations):
        start = sc.day_of(op.start)
        last = min(sc.day_of(op.end) if op.end else grow.n_days - 1, grow.halt_day - 1)
        weeks = sum(1 for d in range(start, last + 1) if (d - start) % 7 == 6)
        assert weeks > 10
        assert q.petitions[o] == weeks * n.sum()
        partial = 0
        for d in range(grow.n_days):
            f1 = snaps[d + 1][o, :, 0] / snaps[d][o, :, 0]
            f2 = snaps[d + 1][o, :, 1] / snaps[d][o, :, 1]
            k = (f1 - 1) / 0.1 * n
            assert np.allclose(k, np.round(k)) and (k >= -1e-9).all() and (k <= n + 1e-9).all()
            assert np.allclose(f2, 1 + 0.05 * np.round(k) / n)
            if not (start <= d <= last and (d - start) % 7 == 6):
                assert np.allclose(k, 0), d  # limits move only on petition days
            partial += int(((k > 0.5) & (k < n - 0.5)).sum())
        assert partial > 0  # the share granted is not all-or-nothing
        assert round(np.log(q.limit[o, :, 0] / q.initial_region[o, :, 0]).max(), 6) > 0
    refused = run_sim("toy", only("quotas") + [
        "quotas.petition_threshold=0", "quotas.petition_prob=1", "quotas.approval_prob=0"],
        check=False)
    q = refused.mechs["quotas"]
    assert q.petitions.sum() > 0 and q.granted.sum() == 0
    assert np.allclose(q.limit, q.initial_region)


def test_petitions_decided_per_unit_grow_limits_by_the_granted_share() -> None:
    """With half the units petitioning each week, a region's limit grows each week by
    increment x (share of its units granted): with one unit per region that share is 0 or 1,
    with 64 units it is near 1/2, so the final limits vary far less between seeds."""
    def growth(units: int, seed: int) -> np.ndarray:
        sim = run_sim("toy", only("quotas") + [
            "quotas.petition_threshold=0", "quotas.petition_prob=0.5", "quotas.approval_prob=1",
            "quotas.approval_halflife=10000", "quotas.increment_cat1=0.1",
            f"quotas.units={units}", f"seed={seed}"], check=False)
        q = sim.mechs["quotas"]
        assert q.granted.sum() > 0
        return np.log(q.limit[:, :, 0] / q.initial_region[:, :, 0]).ravel()

    one = np.array([growth(1, s) for s in range(6)])
    many = np.array([growth(64, s) for s in range(6)])
    per_grant = np.log(1.1)
    assert np.allclose(one / per_grant, np.round(one / per_grant))  # whole grants per region
    assert one.std(axis=0).mean() > 3 * many.std(axis=0).mean() > 0
    assert abs(one.mean() - many.mean()) < 0.25 * one.mean()  # same expected growth


DENSE_REGIONS = """
[[regions]]
name = "North"
population = 2400
element_share = 0.5
party_share = 0.05
nationalities = { polish = 0.5 }

[[regions]]
name = "South"
population = 1600
element_share = 0.5
party_share = 0.05
nationalities = { polish = 0.5 }
"""


def test_quota_arrests_come_from_the_target_pool(tmp_path) -> None:
    """While the target pool is far from exhausted, every quota arrest is a member of it
    (registered element for Order 00447, the nationality for a national operation)."""
    sim = run_sim(write_scenario(tmp_path, DENSE_REGIONS), only("quotas"))
    arrests = log_of(sim, Event.ARRESTED, Cause.QUOTA)
    for o, op in enumerate(sim.sc.operations):
        ids = arrests["person"][arrests["op"] == o]
        assert ids.size > 10
        assert in_pool(sim, ids, op.target).all(), op.key


SMALL_LIMITS = """
[quotas]
petition_prob = 0

[[operations]]
key = "elements"
name = "Operation against elements"
target = "element"
start = 1937-04-01
cat1 = 15
cat2 = 15
"""


def test_quota_arrests_stay_in_a_sparse_pool_that_is_not_exhausted(tmp_path) -> None:
    """About 30 arrests from a pool of some 136 registered elements (3-4% of the people):
    all are in the pool, the sampler does not give up on a sparse pool (it used to, with 50
    draws per person)."""
    sim = run_sim(write_scenario(tmp_path, SMALL_LIMITS), only("quotas"), check=False)
    ids = log_of(sim, Event.ARRESTED, Cause.QUOTA)["person"]
    pool = np.flatnonzero((sim.pop.traits & TRAIT_ELEMENT) != 0)
    assert 10 < ids.size < pool.size / 3
    assert in_pool(sim, ids, "element").all()


EXHAUSTED_POOL = """
[quotas]
petition_prob = 0

[[regions]]
name = "North"
population = 2400
element_share = 0.002
party_share = 0.05

[[regions]]
name = "South"
population = 1600
element_share = 0.002
party_share = 0.05

[[operations]]
key = "elements"
name = "Operation against elements"
target = "element"
start = 1937-01-10
cat1 = 100
cat2 = 100
"""


def test_quota_is_filled_beyond_an_exhausted_pool(tmp_path) -> None:
    """When the pool runs dry the police take whoever is at hand: the operation arrests many
    more people than its pool holds."""
    sim = run_sim(write_scenario(tmp_path, EXHAUSTED_POOL), only("quotas"))
    ids = log_of(sim, Event.ARRESTED, Cause.QUOTA)["person"]
    mass = np.arange(sim.pop.n_elite, sim.pop.n)
    pool = mass[in_pool(sim, mass, "element")]
    assert pool.size < 20
    assert ids.size > 100 > 5 * pool.size


# =============================================================================================
# (b) confession
# =============================================================================================


@pytest.fixture(scope="module")
def confession_run() -> tuple[Sim, dict[int, tuple[np.ndarray, int]]]:
    """The toy scenario without the investigator-naming of mechanism (f), with the states
    (and the serving police chief) seen by the interrogation phase each day."""
    seen: dict[int, tuple[np.ndarray, int]] = {}

    def snap(sim: Sim, day: int) -> None:
        seen[day] = (sim.pop.state.copy(), sim.police_chief)

    sim = run_sim("toy", ["purgers.transformation=0"],
                  hooks={("confession", "step"): snap})
    return sim, seen


def test_confessions_name_only_real_ties(confession_run) -> None:
    """Every name given in a confession is a tie of the confessor (Population.ties), and the
    confessor confessed that day."""
    sim, _ = confession_run
    named = log_of(sim, Event.NAMED)
    assert named.size > 100
    assert (named["cause"] == Cause.CONFESSION).all()
    confessed = {(d, p) for d, p in zip(log_of(sim, Event.CONFESSED)["day"].tolist(),
                                        log_of(sim, Event.CONFESSED)["person"].tolist())}
    for p, b, d in zip(named["person"].tolist(), named["by"].tolist(), named["day"].tolist()):
        assert (d, b) in confessed
        assert p in ties_set(sim, b), (p, b)


def test_named_people_become_suspects_with_cause_confession(confession_run) -> None:
    """A suspicion with cause CONFESSION always follows a naming (same day, person and
    confessor), and everyone named who was at large becomes a suspect that day."""
    sim, seen = confession_run
    named = log_of(sim, Event.NAMED)
    sus = log_of(sim, Event.SUSPECTED, Cause.CONFESSION)
    assert sus.size > 100
    naming = set(zip(named["day"].tolist(), named["person"].tolist(), named["by"].tolist()))
    for d, p, b in zip(sus["day"].tolist(), sus["person"].tolist(), sus["by"].tolist()):
        assert (d, p, b) in naming
    suspected = set(zip(sus["day"].tolist(), sus["person"].tolist()))
    checked = 0
    for d, p in set(zip(named["day"].tolist(), named["person"].tolist())):
        state, chief = seen[d]
        if state[p] in AT_LARGE and p not in (sim.leader, chief):
            assert (d, p) in suspected, (d, p)
            checked += 1
    assert checked > 100


@pytest.mark.parametrize("kind", list(Tie), ids=lambda k: k.name.lower())
def test_confession_names_exactly_the_ties_of_a_certain_kind(kind: Tie) -> None:
    """With the naming probability 1 for one kind of tie and 0 for the others, each confessor
    names exactly his ties of that kind (family, colleagues, acquaintances, superior)."""
    p = {Tie.FAMILY: "p_family", Tie.WORK: "p_work", Tie.ACQUAINTANCE: "p_acquaintance",
         Tie.SUPERIOR: "p_superior"}
    sets = [f"confession.{v}={1 if k == kind else 0}" for k, v in p.items()]
    sets += ["confession.quota_factor=1", "confession.elite_factor=1",
             "halt.intensity_after=1", "purgers.transformation=0"]
    sim = run_sim("toy", sets, check=False)
    named = log_of(sim, Event.NAMED)
    got: dict[tuple[int, int], set[int]] = {}
    for d, who, b in zip(named["day"].tolist(), named["person"].tolist(),
                         named["by"].tolist()):
        got.setdefault((d, b), set()).add(who)
    confessed = log_of(sim, Event.CONFESSED)
    assert confessed.size > 20
    nonempty = 0
    pop = sim.pop
    for d, c in zip(confessed["day"].tolist(), confessed["person"].tolist()):
        ids, kinds = pop.ties(c)
        want = set(ids[kinds == int(kind)].tolist())
        # a chief's subordinates weigh as one workplace: beyond W-1 of them each is named
        # with probability (W-1)/n < 1 (population.sample_ties), so only the others are sure
        n_sub = _subordinates_listed(c, pop.geo, pop.e_unit, pop.unit_lo, pop.unit_hi,
                                     pop.sub_lo, pop.sub_ids)
        if kind == Tie.WORK and n_sub > pop.geo[2] - 1:
            sure = set(ids[:-n_sub][kinds[:-n_sub] == int(kind)].tolist())
            assert sure <= got.get((d, c), set()) <= want, (d, c)
        else:
            assert got.get((d, c), set()) == want, (d, c)
        nonempty += bool(want)
    assert nonempty > 10


def test_no_confession_means_investigations_close_after_max_days() -> None:
    """With a zero confession hazard nobody confesses or names anyone, and each
    investigation closes exactly max_days after the arrest (unless a show trial comes
    first)."""
    sim = run_sim("toy", ["confession.hazard=0", "confession.max_days=20"])
    assert log_of(sim, (Event.CONFESSED, Event.NAMED)).size == 0
    closed = 0
    for _p, rows in per_person(sim.log.rows).items():
        for k, (d, e, _c, _b, _o) in enumerate(rows):
            if e == Event.INVESTIGATION_CLOSED:
                prev = previous_state_event(rows, k)
                assert prev is not None and prev[1] == Event.ARRESTED
                assert d - prev[0] == 20
                closed += 1
    assert closed > 50


# =============================================================================================
# switching a mechanism off removes its cause
# =============================================================================================

SWITCHES = {
    # mechanism: (its causes, overrides that make sure they occur when it is on)
    "confession": ((Cause.CONFESSION,), []),
    "denunciation": ((Cause.DENUNCIATION,), []),
    "association": ((Cause.DEFENDER, Cause.RELATIVE), []),
    "vigilance": ((Cause.VIGILANCE,), ["vigilance.act_base=0.05", "vigilance.pressure_gain=0",
                                       "vigilance.lack_of_vigilance_prob=1"]),
    "purgers": ((Cause.CHIEF_REPLACEMENT,), ["purgers.p_client=0.5"]),
    "orders": ((Cause.ORDER,), []),
    "routine": ((Cause.ROUTINE,), []),
    "quotas": ((Cause.QUOTA,), []),
}


@pytest.mark.parametrize("mech", list(SWITCHES))
def test_switching_a_mechanism_off_removes_its_cause(mech: str) -> None:
    """A mechanism's causes appear in the event log when it is on and never when it is off."""
    causes, extra = SWITCHES[mech]
    on = run_sim("toy", extra)
    off = run_sim("toy", extra + [f"{mech}.enabled=false"])
    for c in causes:
        assert log_of(on, cause=c).size > 0, c.name
        assert log_of(off, cause=c).size == 0, c.name
    assert log_of(off, Event.ARRESTED).size > 0


def test_denunciation_off_means_nobody_denounces() -> None:
    """No DENOUNCED or PROMOTED events without mechanism (c)."""
    sim = run_sim("toy", ["denunciation.enabled=false"])
    assert log_of(sim, (Event.DENOUNCED, Event.PROMOTED)).size == 0


def test_denouncers_accuse_their_superior(toy_sim: Sim) -> None:
    """A denunciation accuses the denouncer's structural superior and records the denouncer;
    the accusation carries the denouncer."""
    den = log_of(toy_sim, Event.DENOUNCED)
    assert den.size > 5
    assert (den["by"] >= 0).all() and (den["cause"] == Cause.DENUNCIATION).all()
    pop = toy_sim.pop
    for whom, who in zip(den["person"].tolist(), den["by"].tolist()):
        assert pop.boss(who) == whom  # the head of his workplace, or his superior in post
    sus = log_of(toy_sim, Event.SUSPECTED, Cause.DENUNCIATION)
    pairs = set(zip(den["day"].tolist(), den["person"].tolist(), den["by"].tolist()))
    for d, p, b in zip(sus["day"].tolist(), sus["person"].tolist(), sus["by"].tolist()):
        assert (d, p, b) in pairs


# =============================================================================================
# (d) vigilance
# =============================================================================================


def test_police_always_act_when_act_base_is_one() -> None:
    """act_base = 1: no officer ever drops an accusation (the leader may still withhold his
    sanction for a top official, and accusations may lapse or touch a protected man: those are
    logged with no officer), and accusations lead to arrests."""
    sim = run_sim("toy", ["vigilance.act_base=1"])
    dropped = log_of(sim, Event.DROPPED)
    assert (dropped["by"] >= 0).sum() == 0
    sim = run_sim("toy", ["vigilance.act_base=1", "vigilance.top_sanction=100"])
    dropped = log_of(sim, Event.DROPPED)
    assert (dropped["by"] >= 0).sum() == 0
    assert not np.isin(dropped["person"], sim.mechs["vigilance"].top).any()
    assert log_of(sim, Event.ARRESTED, (Cause.CONFESSION, Cause.DENUNCIATION)).size > 20


def test_police_never_act_when_act_probability_is_zero() -> None:
    """act_base = 0 without pressure: every accusation handled is dropped, so the only arrests
    are those ordered directly (orders, quotas, routine, the old chief, the purge of his
    apparatus)."""
    sim = run_sim("toy", ["vigilance.act_base=0", "vigilance.pressure_gain=0"])
    arrests = log_of(sim, Event.ARRESTED)
    direct = {Cause.ORDER, Cause.QUOTA, Cause.ROUTINE, Cause.CHIEF_REPLACEMENT,
              Cause.POLICE_PURGE}
    assert set(arrests["cause"].tolist()) <= direct
    assert log_of(sim, Event.DROPPED).size > 20


def test_lack_of_vigilance_accuses_the_officer_who_let_a_suspect_go() -> None:
    """lack_of_vigilance_prob = 1 and act_base small: officers who dropped an accusation
    against someone later arrested are accused (cause VIGILANCE, by = that person)."""
    sim = run_sim("toy", ["vigilance.act_base=0.05", "vigilance.pressure_gain=0",
                          "vigilance.lack_of_vigilance_prob=1"])
    vig = log_of(sim, Event.SUSPECTED, Cause.VIGILANCE)
    assert vig.size > 0
    pop = sim.pop
    assert all(pop.post(int(p)) in POLICE_POSTS for p in vig["person"])
    dropped = log_of(sim, Event.DROPPED)
    arrested = log_of(sim, Event.ARRESTED)
    arrest_days = set(zip(arrested["person"].tolist(), arrested["day"].tolist()))
    traced = 0
    for d, officer, b in zip(vig["day"].tolist(), vig["person"].tolist(), vig["by"].tolist()):
        if b < 0:
            continue  # a regional chief whose region lags behind its quota (mechanism i)
        let_go = (dropped["person"] == b) & (dropped["by"] == officer) & (dropped["day"] < d)
        assert let_go.any(), (d, officer, b)
        assert (b, d - 1) in arrest_days
        traced += 1
    assert traced > 0


# =============================================================================================
# (e) association
# =============================================================================================


@pytest.fixture(scope="module")
def association_run() -> tuple[Sim, dict[int, tuple[np.ndarray, int]]]:
    seen: dict[int, tuple[np.ndarray, int]] = {}

    def snap(sim: Sim, day: int) -> None:
        seen[day] = (sim.pop.state.copy(), sim.police_chief)

    sim = run_sim("toy", ["association.p_defend=0.02", "association.p_relative=1",
                          "association.p_relative_elite=1"],
                  hooks={("association", "step"): snap})
    return sim, seen


def test_defenders_are_ties_of_someone_arrested_that_day(association_run) -> None:
    """A DEFENDER suspect is a tie of the person he defended, who was arrested that day."""
    sim, _ = association_run
    dfd = log_of(sim, Event.SUSPECTED, Cause.DEFENDER)
    assert dfd.size > 20
    arrested = log_of(sim, Event.ARRESTED)
    arrest_days = set(zip(arrested["person"].tolist(), arrested["day"].tolist()))
    for d, p, b in zip(dfd["day"].tolist(), dfd["person"].tolist(), dfd["by"].tolist()):
        assert (b, d) in arrest_days
        assert p in ties_set(sim, b)


def test_relatives_of_the_convicted_become_suspects(association_run) -> None:
    """A RELATIVE suspect belongs to the household of someone convicted the day before; with
    p_relative = 1 every relative at large is accused."""
    sim, seen = association_run
    H = sim.pop.hsize
    rel = log_of(sim, Event.SUSPECTED, Cause.RELATIVE)
    assert rel.size > 20
    conv = log_of(sim, SENTENCES)
    convicted_on = set(zip(conv["person"].tolist(), conv["day"].tolist()))
    for d, p, b in zip(rel["day"].tolist(), rel["person"].tolist(), rel["by"].tolist()):
        assert p != b and p // H == b // H
        assert (b, d - 1) in convicted_on
    sus = log_of(sim, Event.SUSPECTED, (Cause.RELATIVE, Cause.DEFENDER))
    accused = set(zip(sus["person"].tolist(), sus["day"].tolist()))
    checked = 0
    for b, d in convicted_on:
        if d + 1 not in seen:
            continue
        state, chief = seen[d + 1]
        for p in range((b // H) * H, (b // H + 1) * H):
            if p != b and state[p] in AT_LARGE and p not in (sim.leader, chief):
                assert (p, d + 1) in accused, (p, b, d)
                checked += 1
    assert checked > 20


# =============================================================================================
# (h) halt
# =============================================================================================


def test_halt_stops_quota_arrests_and_is_reported(toy_sim: Sim) -> None:
    """After the scripted halt (1 Nov 1937 in toy) no quota arrests; the date is reported in
    the summary's events; arrests go on at a lower level."""
    day = toy_sim.sc.day_of(TOY_HALT)
    assert toy_sim.halted and toy_sim.halt_day == day
    assert "1937-11-01" in json.dumps(summary(toy_sim)["events"]["halt"])
    quota = log_of(toy_sim, Event.ARRESTED, Cause.QUOTA)
    assert (quota["day"] < day).all()
    assert ((quota["day"] >= day - 30) & (quota["day"] < day)).sum() > 0


def test_halt_releases_pending_cases() -> None:
    """release_pending = 1: everyone in custody on the eve of the halt is released (cause
    HALT) on the day of the halt; release_pending = 0: nobody is."""
    sim = run_sim("toy", ["halt.release_pending=1"])
    day = sim.halt_day
    rel = log_of(sim, Event.RELEASED, Cause.HALT)
    assert rel.size > 0 and (rel["day"] == day).all()
    assert rel.size == round(sim.rec.custody[day - 1])
    none = run_sim("toy", ["halt.release_pending=0"])
    assert log_of(none, Event.RELEASED, Cause.HALT).size == 0


def test_endogenous_halt_when_disruption_crosses_the_threshold() -> None:
    """Endogenous mode: the leader halts on a weekly review once the threshold is crossed,
    ignoring the scripted date; with an unreachable threshold he never halts."""
    early = run_sim("toy", ["halt.mode=endogenous", "halt.disruption_threshold=0.005"])
    assert early.halted and early.halt_day % 7 == 0
    assert early.halt_day < early.sc.day_of(TOY_HALT)
    assert early.date(early.halt_day) in json.dumps(early.endogenous["halt"])
    quota = log_of(early, Event.ARRESTED, Cause.QUOTA)
    assert (quota["day"] < early.halt_day).all()
    never = run_sim("toy", ["halt.mode=endogenous", "halt.disruption_threshold=1"])
    assert not never.halted and "halt" not in never.endogenous
    late = log_of(never, Event.ARRESTED, Cause.QUOTA)
    assert (late["day"] >= never.sc.day_of(TOY_HALT)).any()


def test_no_halt_when_switched_off() -> None:
    """halt.enabled = false: the scripted halt does nothing and the operations go on."""
    sim = run_sim("toy", ["halt.enabled=false"])
    assert not sim.halted and "halt" not in sim.endogenous
    quota = log_of(sim, Event.ARRESTED, Cause.QUOTA)
    assert (quota["day"] >= sim.sc.day_of(TOY_HALT)).any()


# =============================================================================================
# (f) purgers
# =============================================================================================


def test_outgoing_chief_is_arrested_after_the_delay() -> None:
    """p_old_chief = 1: the replaced chief is arrested old_chief_delay days after the
    chief_change, cause CHIEF_REPLACEMENT, by = the new chief."""
    sim = run_sim("toy", only("purgers") + ["purgers.p_old_chief=1",
                                            "purgers.old_chief_delay=30"])
    old, new = sim.pop.names["First Chief"], sim.pop.names["Second Chief"]
    change = sim.sc.day_of(TOY_CHIEF_CHANGE)
    rep = log_of(sim, Event.CHIEF_REPLACED)
    assert [(int(r["person"]), int(r["day"]), int(r["by"])) for r in rep] == [(old, change, new)]
    arrests = log_of(sim, Event.ARRESTED)
    mine = arrests[arrests["person"] == old]
    assert len(mine) == 1
    assert int(mine["day"][0]) == change + 30
    assert mine["cause"][0] == Cause.CHIEF_REPLACEMENT and mine["by"][0] == new
    assert sim.police_chief == new


def test_outgoing_chief_is_spared_when_p_old_chief_is_zero() -> None:
    sim = run_sim("toy", only("purgers") + ["purgers.p_old_chief=0"])
    old = sim.pop.names["First Chief"]
    assert log_of(sim, Event.ARRESTED)["person"].tolist().count(old) == 0


def test_new_chief_purges_the_old_chiefs_clients() -> None:
    """p_client = p_client_senior = 1: every regional chief and officer comes under suspicion
    (cause CHIEF_REPLACEMENT, by = the old chief) within client_window days of the change."""
    sim = run_sim("toy", only("purgers") + ["purgers.p_client=1", "purgers.p_client_senior=1",
                                            "purgers.client_window=10"])
    old = sim.pop.names["First Chief"]
    change = sim.sc.day_of(TOY_CHIEF_CHANGE)
    sus = log_of(sim, Event.SUSPECTED, Cause.CHIEF_REPLACEMENT)
    clients = np.concatenate([sim.pop.heads_with_post(p) for p in POLICE_POSTS])
    assert sorted(sus["person"].tolist()) == sorted(clients.tolist())
    assert (sus["by"] == old).all()
    assert ((sus["day"] > change) & (sus["day"] <= change + 10)).all()


def test_serving_chief_is_never_accused(toy_sim: Sim) -> None:
    """The police chief cannot be accused or arrested while he holds the post."""
    new = toy_sim.pop.names["Second Chief"]
    change = toy_sim.sc.day_of(TOY_CHIEF_CHANGE)
    rows = log_of(toy_sim, (Event.SUSPECTED, Event.ARRESTED))
    assert not ((rows["person"] == new) & (rows["day"] >= change)).any()


def test_prisoners_name_their_investigator() -> None:
    """transformation = 1: each confession also names a police officer of the confessor's
    region (the only names that are not ties)."""
    sim = run_sim("toy", ["purgers.transformation=1"])
    pop = sim.pop
    named = log_of(sim, Event.NAMED)
    investigators = 0
    for p, b in zip(named["person"].tolist(), named["by"].tolist()):
        if p not in ties_set(sim, b):
            assert pop.post(p) in POLICE_POSTS
            assert pop.region_of(p) == pop.region_of(b)
            investigators += 1
    assert investigators > 50


# =============================================================================================
# camps
# =============================================================================================


def test_camp_deaths_only_of_camp_prisoners() -> None:
    """mortality_factor high: people die in camp, and only people sentenced to camp do."""
    sim = run_sim("toy", ["camps.mortality_factor=10"])
    died = log_of(sim, Event.DIED)
    assert died.size > 20
    rows = per_person(sim.log.rows)
    for p in set(died["person"].tolist()):
        for k, r in enumerate(rows[p]):
            if r[1] == Event.DIED:
                prev = previous_state_event(rows[p], k)
                assert prev is not None and prev[1] == Event.CAMP, p
        assert sim.pop.state[p] == State.DIED


@pytest.mark.parametrize("sets", [["camps.mortality_factor=0"], ["camps.enabled=false"]])
def test_no_camp_deaths_without_mortality(sets: list[str]) -> None:
    sim = run_sim("toy", sets)
    assert log_of(sim, Event.CAMP).size > 50
    assert log_of(sim, Event.DIED).size == 0


def test_camp_terms_end_with_release(tmp_path) -> None:
    """One-year terms over eighteen months: prisoners leave camp (RELEASED, cause TERM_END)
    exactly one year (365 days) after their sentence."""
    path = write_scenario(tmp_path, "end = 1938-06-30\n[trials]\ncamp_years = 1\n")
    sim = run_sim(path, ["camps.mortality_factor=0"])
    rows = per_person(sim.log.rows)
    ended = log_of(sim, Event.RELEASED, Cause.TERM_END)
    assert ended.size > 20
    for p in set(ended["person"].tolist()):
        for k, r in enumerate(rows[p]):
            if r[1] == Event.RELEASED and r[2] == Cause.TERM_END:
                prev = previous_state_event(rows[p], k)
                assert prev is not None and prev[1] == Event.CAMP
                assert r[0] - prev[0] == 365


# =============================================================================================
# (g) trials
# =============================================================================================


def _trial_days(sim: Sim) -> set[int]:
    return {sim.sc.day_of(e.date) for e in sim.sc.events
            if e.kind in ("show_trial", "closed_trial")}


def test_sentences_come_from_awaiting_trial(toy_sim: Sim) -> None:
    """Everyone shot, sent to camp or exiled had his investigation closed first (confessed or
    not), except defendants of a show trial, sentenced on its date."""
    trial_days = _trial_days(toy_sim)
    rows = sentence_rows(toy_sim)
    assert len(rows) > 200
    staged = 0
    for p, _k, r, prev in rows:
        assert prev is not None, p
        if prev[1] not in (Event.CONFESSED, Event.INVESTIGATION_CLOSED):
            assert r[0] in trial_days and prev[1] == Event.ARRESTED, (p, r, prev)
            staged += 1
    assert staged > 0


def test_without_orders_every_sentence_follows_a_closed_investigation() -> None:
    """No show trials (orders off): every sentence follows CONFESSED or
    INVESTIGATION_CLOSED, and each arrest leads to at most one sentence."""
    sim = run_sim("toy", ["orders.enabled=false"])
    rows = sentence_rows(sim)
    assert len(rows) > 200
    for p, _k, _r, prev in rows:
        assert prev is not None and prev[1] in (Event.CONFESSED, Event.INVESTIGATION_CLOSED), p
    for p, evs in per_person(sim.log.rows).items():
        seq = [r[1] for r in evs if r[1] in (Event.ARRESTED, *SENTENCES, Event.RELEASED)]
        for a, b in zip(seq, seq[1:]):
            assert not (a in SENTENCES and b in SENTENCES), p


def test_each_tribunal_sits_within_its_delay() -> None:
    """Troikas sentence quota cases within troika_delay days of the closed investigation, the
    special board other cases within board_delay days, and elite cases go on the lists drawn
    up every list_interval days (officials; their relatives go to the board)."""
    sim = run_sim("toy", ["orders.enabled=false", "halt.enabled=false", "trials.troika_delay=5",
                          "trials.troika_session_interval=0",  # the rule without a calendar
                          "trials.board_delay=20", "trials.list_interval=7"])
    seen = {"troika": 0, "board": 0, "list": 0}
    for p, evs in per_person(sim.log.rows).items():
        closed, op = None, -1
        for d, e, c, _b, o in evs:
            if e == Event.ARRESTED:
                op = o
            elif e in (Event.CONFESSED, Event.INVESTIGATION_CLOSED):
                closed = d
            elif c == Cause.SENTENCE:
                assert closed is not None and d > closed
                if sim.pop.is_official(np.array([p]))[0]:
                    assert d % 7 == 0 and d - closed <= 14
                    seen["list"] += 1
                elif op >= 0:
                    assert d - closed <= 5
                    seen["troika"] += 1
                else:
                    assert d - closed <= 20
                    seen["board"] += 1
                closed = None
    assert min(seen.values()) > 10, seen


@pytest.mark.parametrize("p_shot, outcome", [(1, Event.SHOT), (0, Event.CAMP)])
def test_elite_lists_follow_p_shot_elite(p_shot: int, outcome: Event) -> None:
    """Officials on the lists are shot with probability p_shot_elite, else sent to camp."""
    sim = run_sim("toy", ["orders.enabled=false", "halt.enabled=false",
                          f"trials.p_shot_elite={p_shot}"], check=False)
    sent = log_of(sim, SENTENCES)
    elite = sent[sim.pop.is_official(sent["person"])]
    assert elite.size > 10
    assert (elite["event"] == outcome).all()


def test_no_tribunal_sits_when_trials_are_switched_off() -> None:
    """trials.enabled = false: nobody is sentenced or acquitted except at the leader's show
    trials; closed cases wait in custody."""
    sim = run_sim("toy", ["trials.enabled=false"])
    sent = log_of(sim, SENTENCES)
    assert sent.size > 0 and set(sent["day"].tolist()) <= _trial_days(sim)
    assert log_of(sim, Event.RELEASED, Cause.SENTENCE).size == 0
    assert (sim.pop.state == State.AWAITING_TRIAL).sum() > 100


# =============================================================================================
# (i) quotas: the operations absorb what the other channels find
# =============================================================================================


def _expected_op(sim: Sim, person: int, day: int) -> int:
    """The absorption rule restated: national operations claim their nationality first, an
    element operation takes anyone else, only where the operation runs and has a pool."""
    q = sim.mechs["quotas"]
    if person < sim.pop.n_elite or day >= sim.halt_day >= 0:
        return -1
    r = int(sim.pop.regions_of(np.array([person]))[0])
    traits = int(sim.pop.traits[person])
    ops = sim.sc.operations
    order = sorted(range(len(ops)), key=lambda o: ops[o].target == "element")
    for o in order:
        end = sim.sc.day_of(ops[o].end) if ops[o].end else 10**9
        if not (q.start[o] <= day <= end) or q.pool[o, r] <= 0:
            continue
        mask, value = q.masks[o]
        if ops[o].target == "element" or (traits & mask) == value:
            return o
    return -1


@pytest.mark.parametrize("absorb", [True, False])
def test_bottom_up_arrests_are_tried_under_the_running_operation(absorb: bool) -> None:
    """absorb_bottom_up: people of the mass population arrested after naming, denunciation or
    defence join the operation that runs in their region (their nationality's first); the
    elite, relatives and routine cases never do; switched off, none do."""
    sim = run_sim("toy", [f"quotas.absorb_bottom_up={str(absorb).lower()}",
                          "confession.p_work=0.08", "confession.p_acquaintance=0.08"])
    arrests = log_of(sim, Event.ARRESTED)
    found = np.isin(arrests["cause"], [Cause.CONFESSION, Cause.DENUNCIATION, Cause.DEFENDER])
    checked = absorbed = 0
    for row in arrests[found]:
        want = _expected_op(sim, int(row["person"]), int(row["day"])) if absorb else -1
        assert int(row["op"]) == want, row
        checked += 1
        absorbed += want >= 0
    assert checked > 20
    assert (absorbed > 5) == absorb
    others = arrests[np.isin(arrests["cause"], [Cause.ROUTINE, Cause.RELATIVE, Cause.ORDER])]
    assert (others["op"] == -1).all()


def test_absorbed_cases_count_against_the_limits() -> None:
    """Every arrest tried under an operation, found by the quota or by another channel,
    counts once against its region's limit."""
    sim = run_sim("toy", ["quotas.absorb_bottom_up=true", "confession.p_work=0.08"])
    q = sim.mechs["quotas"]
    arrests = log_of(sim, Event.ARRESTED)
    arrests = arrests[arrests["op"] >= 0]
    assert (arrests["cause"] != Cause.QUOTA).sum() > 5
    regions = sim.pop.regions_of(arrests["person"])
    w = sim.pop.weight(arrests["person"])
    for o in range(len(sim.op_keys)):
        for r in range(sim.pop.n_regions):
            sel = (arrests["op"] == o) & (regions == r)
            assert q.arrested[o, r] == pytest.approx(w[sel].sum())


# =============================================================================================
# (g) trials: cases held for further investigation
# =============================================================================================


def test_held_cases_wait_until_their_operation_ends() -> None:
    """p_held = 1: no operation case is sentenced while its operation runs; once it has ended
    (or the halt came) each is tried by the courts within board_delay days."""
    sim = run_sim("toy", ["trials.p_held=1", "trials.board_delay=20"])
    sc = sim.sc
    ends = [min(sc.day_of(op.end) if op.end else 10**9, sim.halt_day)
            for op in sc.operations]
    sentenced = log_of(sim, (Event.SHOT, Event.CAMP, Event.EXILE, Event.RELEASED),
                       Cause.SENTENCE)
    ops = sentenced[sentenced["op"] >= 0]
    assert ops.size > 10
    # a case still under interrogation when its operation ended is held only once its
    # investigation closes: the courts' delay runs from the later of the two days
    closed = log_of(sim, (Event.CONFESSED, Event.INVESTIGATION_CLOSED))
    closed_day = dict(zip(closed["person"].tolist(), closed["day"].tolist()))
    for o, end in enumerate(ends):
        mine = ops[ops["op"] == o]
        assert (mine["day"] > end).all(), sc.operations[o].key
        start = np.array([max(end, closed_day[p]) for p in mine["person"].tolist()])
        assert (mine["day"] <= start + 21).all(), sc.operations[o].key
    base = run_sim("toy", ["trials.p_held=0"])
    early = log_of(base, (Event.SHOT, Event.CAMP), Cause.SENTENCE)
    assert ((early["op"] >= 0) & (early["day"] < base.halt_day)).sum() > 10


# =============================================================================================
# routine policing
# =============================================================================================


def test_routine_rate_while_operations_run() -> None:
    """rate_in_operations replaces rate_per_year on the days an operation runs."""
    sim = run_sim("toy", only("routine", "quotas") + [
        "routine.rate_per_year=4000", "routine.rate_in_operations=0"])
    routine = log_of(sim, Event.ARRESTED, Cause.ROUTINE)
    q = sim.mechs["quotas"]
    running = np.zeros(sim.n_days, dtype=bool)
    for o in range(len(sim.op_keys)):
        for d in range(sim.n_days):
            before_halt = sim.halt_day < 0 or d < sim.halt_day
            running[d] |= before_halt and bool(q.start[o] <= d <= q.end[o])
    assert running.any() and (~running).any()
    assert routine.size > 10
    assert not running[routine["day"]].any()
