"""The Red Army (issue 16, item 1): rank groups at their real sizes at every scale, a
symmetric chain of command, and mechanism (j): discharges by the army's own channels after
the Tukhachevsky trial, arrests of the discharged, reinstatement after appeal."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from conftest import load_scenario, only, run_sim, write_scenario

from purgesim.codes import (
    BRANCH_SHIFT,
    RANK_KEYS,
    RANK_MASK,
    Branch,
    Cause,
    Cohort,
    Event,
    Post,
    Rank,
    State,
    Tie,
)
from purgesim.invariants import InvariantError, check_day
from purgesim.mechanisms.army import COUNTS, army_table
from purgesim.population import MAX_SPAN, Population
from purgesim.results import summary
from purgesim.society import army_sizes, build_population

#: ussr-1937's rank groups: sourced (SU-ARMY-COL-1936, SU-ARMY-OFF-1937-IMPL, CLAIM-MIL's
#: sizes) or ASSUMPTIONS of the scenario file ([sources].army_ranks)
USSR_RANKS = {
    Rank.MARSHAL: 5, Rank.ARMY_COMMANDER_1: 5, Rank.ARMY_COMMANDER_2: 11,
    Rank.CORPS_COMMANDER: 60, Rank.DIVISION_COMMANDER: 169, Rank.BRIGADE_COMMANDER: 450,
    Rank.REGIMENT_COMMANDER: 1713, Rank.POLITICAL: 20000, Rank.COMMAND_STAFF: 114587,
}


def _army(pop: Population) -> tuple[int, int]:
    return next((lo, hi) for name, lo, hi in pop.branches if name == "army")


def _rank_counts(pop: Population) -> dict[Rank, int]:
    lo, hi = _army(pop)
    r = pop.e_rank[lo:hi] & RANK_MASK
    return {Rank(k): int((r == k).sum()) for k in RANK_KEYS}


# =============================================================================================
# cohorts by rank
# =============================================================================================


@pytest.mark.parametrize("scale", [0.0005, 0.002])
def test_rank_groups_have_their_real_sizes_at_every_scale(scale: float) -> None:
    """Each rank group of ussr-1937 has its size at every scale; together they are the
    officer corps (137,000) and the old cohorts keep theirs (5, 16, 229)."""
    pop = build_population(load_scenario("ussr-1937", scale=scale))
    assert _rank_counts(pop) == USSR_RANKS
    assert sum(USSR_RANKS.values()) == 137000
    lo, hi = _army(pop)
    assert hi - lo == 137000 == pop.cohort_members(Cohort.OFFICERS).size
    assert pop.cohort_members(Cohort.MARSHALS).size == 5
    assert pop.cohort_members(Cohort.ARMY_COMMANDERS).size == 16
    assert pop.cohort_members(Cohort.CORPS_DIVISION_COMMANDERS).size == 229
    code = pop.e_rank[lo:hi]
    assert (code & RANK_MASK > 0).all()  # every officer has a rank group
    assert (pop.e_rank[:lo] == 0).all() and (pop.e_rank[hi:] == 0).all()
    # the navy and the air force: two army-rank formations each, with everyone under them
    ac = pop.e_rank[pop.cohort_members(Cohort.ARMY_COMMANDERS) // pop.hsize] >> BRANCH_SHIFT
    assert sorted(ac.tolist()).count(Branch.NAVY) == 2
    assert sorted(ac.tolist()).count(Branch.AIR_FORCE) == 2
    branch = code >> BRANCH_SHIFT
    for b in (Branch.NAVY, Branch.AIR_FORCE):
        ranks = set((code[branch == b] & RANK_MASK).tolist())
        assert {Rank.CORPS_COMMANDER, Rank.REGIMENT_COMMANDER, Rank.POLITICAL} <= ranks


def test_toy_ranks_are_its_declared_sizes() -> None:
    sc = load_scenario("toy")
    pop = build_population(sc)
    sizes = army_sizes(sc.cohorts)
    assert _rank_counts(pop) == {r: sizes[r] for r in RANK_KEYS}
    assert sum(sizes.values()) == sc.cohorts.officers


def test_rank_groups_larger_than_the_officer_corps_are_refused(tmp_path) -> None:
    """Bad input: one line naming the field, the value and what is allowed."""
    from purgesim.scenario import ScenarioError

    path = write_scenario(tmp_path, "[cohorts]\nofficers = 80\npolitical_officers = 1000")
    with pytest.raises(ScenarioError, match="cohorts.officers.*80.*allowed: at least"):
        load_scenario(path)


# =============================================================================================
# the chain of command
# =============================================================================================


@pytest.fixture(scope="module")
def ussr_pop() -> Population:
    return build_population(load_scenario("ussr-1937", scale=0.0001))


def test_every_officer_answers_to_a_higher_rank(ussr_pop: Population) -> None:
    """The first marshal answers to the leader; every other officer to an officer of the
    army: a commander to one of a higher rank group, a staff officer to the commander of his
    unit; in the same branch below the army commanders; no
    chief has more than MAX_SPAN direct subordinates."""
    pop = ussr_pop
    lo, hi = _army(pop)
    sup = pop.e_superior[lo:hi].astype(np.int64)
    assert pop.e_post[sup[0]] == Post.LEADER
    sup = sup[1:]
    assert ((sup >= lo) & (sup < hi)).all()
    rank = pop.e_rank & RANK_MASK
    mine = rank[lo + 1:hi]
    theirs = rank[sup]
    commanders = (mine >= Rank.MARSHAL) & (mine <= Rank.REGIMENT_COMMANDER)
    assert ((theirs[commanders] < mine[commanders])
            | (mine[commanders] == Rank.MARSHAL)).all()  # the marshals: the first one
    staff = ~commanders
    unit = pop.e_unit
    # the staff answers to the commander of its unit
    assert ((theirs[staff] >= Rank.ARMY_COMMANDER_1)
            & (theirs[staff] <= Rank.REGIMENT_COMMANDER)).all()
    at = (theirs[staff] > Rank.ARMY_COMMANDER_2)  # army commanders: their staff unit apart
    assert (unit[sup[staff]][at] == unit[lo + 1:hi][staff][at]).all()
    below = mine >= Rank.CORPS_COMMANDER
    br = pop.e_rank >> BRANCH_SHIFT
    assert (br[lo + 1:hi][below] == br[sup[below]]).all()
    assert np.diff(pop.sub_lo)[lo:hi].max() <= MAX_SPAN


def test_the_chain_of_command_is_symmetric_in_the_army(ussr_pop: Population) -> None:
    """Both ends: each officer's SUPERIOR tie is returned by his chief, and every officer
    a chief lists as a subordinate lists him as SUPERIOR."""
    pop = ussr_pop
    H = pop.hsize
    lo, hi = _army(pop)
    rng = np.random.default_rng(3)
    for g in sorted(set(rng.integers(lo, hi, 300).tolist()) | set(range(lo, lo + 30))):
        ids, kinds = pop.ties(g * H)
        for s in ids[kinds == Tie.SUPERIOR].tolist():
            assert g * H in pop.ties(s)[0].tolist()
        for x in (pop.sub_ids[pop.sub_lo[g]:pop.sub_lo[g + 1]].astype(np.int64) * H).tolist():
            assert x in ids.tolist()
            xi, xk = pop.ties(x)
            assert g * H in xi[xk == Tie.SUPERIOR].tolist()


# =============================================================================================
# the mechanism
# =============================================================================================


def _events(sim, event: Event) -> np.ndarray:
    log = sim.log.rows
    return log[log["event"] == event]


def test_switched_off_it_does_nothing() -> None:
    """army.enabled=false: nobody is discharged or reinstated, nobody arrested with cause
    ARMY, nobody DISMISSED (the police's purge, which also dismisses, is switched off too)."""
    sim = run_sim("toy", ["army.enabled=false", "army.base_rate=0.5",
                          "police_purge.enabled=false"])
    assert _events(sim, Event.DISMISSED).size == 0
    assert _events(sim, Event.REINSTATED).size == 0
    assert (_events(sim, Event.ARRESTED)["cause"] != Cause.ARMY).all()
    assert (sim.pop.state != State.DISMISSED).all()


def _army_run(*sets: str):
    return run_sim("toy", [*only("army"), "army.review_from=1937-08-01", *sets])


def test_base_rate_discharges_officers_in_post_from_the_start_date() -> None:
    """With the chain of command off, officers in post are discharged at the base rate from
    `start` until the halt, each once (cause ARMY, by nobody); a share of them is arrested
    later (cause ARMY), some of the others reinstated (cause REVIEW) after `review_from`."""
    sim = _army_run("army.base_rate=1.0", "army.p_tie=0", "army.p_arrest=0.4",
                    "army.p_reinstate=0.7", "army.appeal_days=20", "army.arrest_delay_days=10")
    army = sim.mechs["army"]
    out = _events(sim, Event.DISMISSED)
    start = sim.sc.day_of(dt.date(1937, 6, 11))
    assert out.size > 10
    assert (out["day"] >= start).all() and (out["day"] <= sim.halt_day).all()
    assert (out["cause"] == Cause.ARMY).all() and (out["by"] == -1).all()
    assert army.is_officer(out["person"]).all()
    arrests = _events(sim, Event.ARRESTED)
    assert arrests.size > 0 and (arrests["cause"] == Cause.ARMY).all()
    back = _events(sim, Event.REINSTATED)
    assert back.size > 0 and (back["cause"] == Cause.REVIEW).all()
    assert (back["day"] >= sim.sc.day_of(dt.date(1937, 8, 1))).all()
    # every arrest and reinstatement follows a discharge of the same officer
    for row in np.concatenate([arrests[["person", "day"]], back[["person", "day"]]]):
        before = out[(out["person"] == row["person"]) & (out["day"] < row["day"])]
        assert before.size
    # nobody is both arrested and reinstated after the same discharge: a fate each
    st = sim.pop.state[out["person"]]
    assert set(np.unique(st).tolist()) <= {State.DISMISSED, State.FREE, State.ARRESTED,
                                           State.AWAITING_TRIAL, State.SHOT, State.CAMP,
                                           State.EXILE, State.RELEASED, State.SUSPECT}


def test_a_fall_exposes_the_chain_of_command() -> None:
    """With p_tie = 1 and no delay, an officer discharged because of a fall is tied to the
    fallen officer (superior, subordinate or unit neighbour) and is discharged two days
    after the fall (seen the next day, acted on the day after)."""
    sim = _army_run("army.base_rate=0.3", "army.p_tie=1.0", "army.tie_delay_days=0",
                    "army.p_arrest=0.5")
    pop = sim.pop
    out = _events(sim, Event.DISMISSED)
    by_tie = out[out["by"] >= 0]
    assert by_tie.size > 5
    log = sim.log.rows
    for row in by_tie:
        ids, kinds = pop.ties(int(row["by"]))
        k = kinds[ids == row["person"]]
        assert k.size and np.isin(k, [Tie.SUPERIOR, Tie.WORK]).any()
        fell = log[(log["person"] == row["by"])
                   & np.isin(log["event"], [Event.DISMISSED, Event.ARRESTED])
                   & (log["day"] == row["day"] - 2)]
        assert fell.size


def test_outputs_by_rank_and_year_add_up() -> None:
    """summary['army'] and army_table give the same counts, by rank group and year, as the
    event log of the officers."""
    sim = _army_run("army.base_rate=1.0", "army.p_arrest=0.5", "army.p_reinstate=0.5",
                    "army.appeal_days=20")
    s = summary(sim, cascade=False)["army"]
    table = army_table(sim)
    assert set(table) == {"rank", "branch", "year", "size", *COUNTS}
    assert sum(table["size"]) == sim.sc.cohorts.officers
    total = {c: sum(v["total"][c] for v in s["by_rank"].values()) for c in COUNTS}
    army = sim.mechs["army"]
    log = sim.log.rows
    mine = log[army.is_officer(log["person"])]
    assert total["discharged"] == int((mine["event"] == Event.DISMISSED).sum()) > 0
    assert total["reinstated"] == int((mine["event"] == Event.REINSTATED).sum()) > 0
    assert total["arrested"] == int((mine["event"] == Event.ARRESTED).sum())
    assert total["shot"] == int((mine["event"] == Event.SHOT).sum())
    assert sum(table["discharged"]) == total["discharged"]
    assert set(s["by_rank"]["command_staff"]["years"]) == {"1937"}
    assert s["ever_discharged"] == int((army.dismissed_on >= 0).sum())
    assert s["dismissed_at_end"] == int((sim.pop.state == State.DISMISSED).sum())


def test_the_army_follows_the_tukhachevsky_trial_in_toy_with_every_mechanism() -> None:
    """With every mechanism on (invariants checked each day), the army discharges officers
    after the trial's date and their arrests go through the police and the tribunals."""
    sim = run_sim("toy", ["army.base_rate=0.3"], check=True)
    out = _events(sim, Event.DISMISSED)
    assert out.size > 0
    arrested_army = _events(sim, Event.ARRESTED)
    arrested_army = arrested_army[arrested_army["cause"] == Cause.ARMY]
    assert arrested_army.size > 0
    sentenced = np.isin(sim.pop.state[arrested_army["person"]],
                        [State.SHOT, State.CAMP, State.EXILE, State.RELEASED,
                         State.AWAITING_TRIAL, State.ARRESTED, State.DIED])
    assert sentenced.all()


def test_invariants_catch_a_dismissal_without_a_discharge() -> None:
    """The daily invariants refuse someone without a post DISMISSED, an officer DISMISSED
    with no discharge on record, and a reinstatement without an earlier dismissal."""
    sim = run_sim("toy", ["army.enabled=false"], check=False)
    last = sim.n_days - 1
    st = sim.pop.state
    mass = sim.pop.n_elite + 1
    was = st[mass]
    st[mass] = State.DISMISSED
    with pytest.raises(InvariantError, match="holds no post"):
        check_day(sim, last)
    st[mass] = was
    army = sim.mechs["army"]
    free = army.officers[st[army.officers] == State.FREE]
    st[free[0]] = State.DISMISSED
    with pytest.raises(InvariantError, match="DISMISSED without a discharge"):
        check_day(sim, last)
    st[free[0]] = State.FREE
    check_day(sim, last)
    sim.record(free[:1], Event.REINSTATED, int(Cause.REVIEW), day=last)
    with pytest.raises(InvariantError, match="reinstated without an earlier dismissal"):
        check_day(sim, last)
