"""The NKVD by level and the purge of the police's own staff (issue 16, item 2).

Sizes by level at every scale; the police_purge mechanism switched off does nothing; its
rule does what its docstring says (dismissals and arrests by level within the window after
the opening change of chief, the later arrest of the dismissed); the daily invariants hold
with the new state DISMISSED; the outputs by level and year add up; and (slow) the outputs
by level are the same at two scales.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from purgesim.codes import POLICE_LEVELS, POLICE_STAFF, Cause, Cohort, Event, Post, State
from purgesim.engine import Sim
from purgesim.invariance import compare, run_summaries, table
from purgesim.mechanisms.police_purge import LEVELS
from purgesim.police import COUNTS, levels_of, police_by_level, police_table
from purgesim.results import summary
from purgesim.scenario import ScenarioError
from purgesim.society import build_population
from tests.conftest import load_scenario, log_of, only, run_sim, write_scenario

TOY_CHANGE = dt.date(1937, 4, 1)
#: a toy with enough police to count shares: 600 officers at three levels
BIG_POLICE_TOML = """name = "toy-big-police"
[cohorts]
state_security = 600
police_central_apparatus = 100
police_regional_deputies = 100
"""


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The path of the toy with a large police (a scenario file with base = "toy")."""
    return str(write_scenario(tmp_path_factory.mktemp("police"), BIG_POLICE_TOML, "big"))


def level_sizes(sc_name: str, sets: list[str]) -> dict[str, int]:
    pop = build_population(load_scenario(sc_name, sets))
    return {k: int(np.isin(pop.e_post, [int(p) for p in posts]).sum())
            for k, posts in POLICE_LEVELS.items()}


# ------------------------------------------------------------------------------ sizes


@pytest.mark.parametrize("scale", [0.001, 0.004])
def test_ussr_levels_have_their_sizes_at_every_scale(scale: float) -> None:
    """The scenario's sizes: the chief, 1,500 in the central apparatus, a regional chief per
    region and 1,100 deputies, the rest of the 25,000 operational; the same at every scale."""
    sc = load_scenario("ussr-1937", [f"scale={scale}"])
    co = sc.cohorts
    sizes = level_sizes("ussr-1937", [f"scale={scale}"])
    assert sizes == {"commissar": 1, "central_apparatus": co.police_central_apparatus,
                     "regional_leadership": len(sc.regions) + co.police_regional_deputies,
                     "operational": co.state_security - 1 - len(sc.regions)
                     - co.police_central_apparatus - co.police_regional_deputies}
    assert co.police_central_apparatus == 1500 and co.police_regional_deputies == 1100
    assert sum(sizes.values()) == co.state_security == 25000


@pytest.mark.parametrize("scale", [0.5, 1.0])
def test_toy_levels_have_their_sizes_at_every_scale(scale: float) -> None:
    sizes = level_sizes("toy", [f"scale={scale}"])
    assert sizes == {"commissar": 1, "central_apparatus": 3, "regional_leadership": 2 + 4,
                     "operational": 30 - 1 - 2 - 3 - 4}


def _top_of_chain(pop, g: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """Follow each head's superiors up to the first head in `stop` (the levels of command
    of society.build_police_levels); -1 if the chain leaves without meeting one."""
    g = g.copy()
    for _ in range(10):
        up = ~np.isin(g, stop) & (g >= 0)
        if not up.any():
            break
        g[up] = pop.e_superior[g[up]]
    return np.where(np.isin(g, stop), g, -1)


def test_levels_are_where_they_belong(big: str) -> None:
    """The central apparatus sits in the capital under the chief; deputies and operational
    officers under their region's chief, through the levels of command within their region;
    all of them carry the state-security bit."""
    pop = build_population(load_scenario(big))
    chief = pop.heads_with_post(Post.POLICE_CHIEF)[0] // pop.hsize
    regional = pop.heads_with_post(Post.POLICE_REGIONAL_CHIEF) // pop.hsize
    central = pop.heads_with_post(Post.POLICE_CENTRAL) // pop.hsize
    assert central.size == 100 and (pop.e_region[central] == 0).all()
    sup = pop.e_superior[central]
    assert ((sup == chief) | np.isin(sup, central)).all()
    assert (_top_of_chain(pop, central, np.array([chief])) == chief).all()
    for post in (Post.POLICE_REGIONAL_DEPUTY, Post.POLICE_OFFICER):
        g = pop.heads_with_post(post) // pop.hsize
        assert (pop.e_region[pop.e_superior[g]] == pop.e_region[g]).all()
        assert (_top_of_chain(pop, g, regional) == regional[pop.e_region[g]]).all()
    staff = pop.heads_with_posts(POLICE_STAFF)
    assert np.array_equal(np.sort(np.append(staff, chief * pop.hsize)),
                          pop.cohort_members(Cohort.STATE_SECURITY))


def test_levels_that_do_not_fit_are_refused(tmp_path: Path) -> None:
    """More central officers than the toy's 30 state-security officers: one line naming the
    field, the value and what is allowed."""
    path = write_scenario(tmp_path, "[cohorts]\npolice_central_apparatus = 40\n")
    with pytest.raises(ScenarioError, match=r"field 'cohorts.police_central_apparatus': "
                                            r"value 40 .*is not allowed: .* must fit within "
                                            r"state_security = 30"):
        load_scenario(path)


# ------------------------------------------------------------------------------ the rule


def test_switched_off_it_does_nothing(big: str) -> None:
    """police_purge.enabled=false: no dismissal, no arrest with cause POLICE_PURGE; the same
    for a scenario whose changes of chief do not reach from_change (toy has one).  The army's
    discharges (also DISMISSED) are switched off."""
    for sets in (["police_purge.enabled=false"], ["police_purge.from_change=2"]):
        sim = run_sim(big, [*sets, "army.enabled=false"])
        log = sim.log.rows
        assert not (log["event"] == Event.DISMISSED).any()
        assert not (log["cause"] == Cause.POLICE_PURGE).any()
        assert not (sim.pop.state == State.DISMISSED).any()
        assert sim.mechs["police_purge"].summary()["opened"] == []


def _purge_sim(big: str, extra: tuple[str, ...] = ()) -> Sim:
    sets = only("police_purge") + [
        "police_purge.window=100", "police_purge.later_arrest=0",
        "police_purge.dismiss_central_apparatus=0.6", "police_purge.arrest_central_apparatus=0.2",
        "police_purge.dismiss_regional_leadership=0.4",
        "police_purge.arrest_regional_leadership=0.1",
        "police_purge.dismiss_operational=0.2", "police_purge.arrest_operational=0.05",
        *extra]
    return run_sim(big, sets)


def test_the_new_chiefs_men_dismiss_and_arrest_the_old_apparatus_by_level(big: str) -> None:
    """Alone (every other active mechanism off), from the change of chief: each officer
    serving that day is dismissed or arrested with his level's probabilities on a day within
    the window after the change, cause POLICE_PURGE, by = the new chief; the dismissed stay
    DISMISSED (nothing else arrests them here)."""
    sim = _purge_sim(big)
    pop = sim.pop
    change = sim.sc.day_of(TOY_CHANGE)
    new = pop.names["Second Chief"]
    dis = log_of(sim, Event.DISMISSED)
    arr = log_of(sim, Event.ARRESTED, Cause.POLICE_PURGE)
    assert dis.size and arr.size
    for rows in (dis, arr):
        assert (rows["cause"] == Cause.POLICE_PURGE).all() and (rows["by"] == new).all()
        assert ((rows["day"] > change) & (rows["day"] <= change + 100)).all()
        assert np.isin(pop.e_post[rows["person"] // pop.hsize],
                       [int(p) for p in POLICE_STAFF]).all()
    assert np.intersect1d(dis["person"], arr["person"]).size == 0  # one fate each
    assert (pop.state[dis["person"]] == State.DISMISSED).all()
    # shares by level, within binomial tolerance (4 sd)
    staff = pop.heads_with_posts(POLICE_STAFF)
    lv = levels_of(sim, staff) - 1  # 0 = central apparatus (no commissar among the staff)
    p = sim.mechs["police_purge"].p
    for k, key in enumerate(LEVELS):
        n = int((lv == k).sum())
        for rows, rate in ((dis, getattr(p, f"dismiss_{key}")),
                           (arr, getattr(p, f"arrest_{key}"))):
            got = int((levels_of(sim, rows["person"]) - 1 == k).sum())
            sd = np.sqrt(n * rate * (1 - rate))
            assert abs(got - n * rate) <= 4 * sd + 1, (key, got, n, rate)


def test_dismissed_officers_are_arrested_later(big: str) -> None:
    """later_arrest = 1 and later_arrest_delay = 0: every dismissed officer is arrested the
    day after his dismissal (cause POLICE_PURGE, by = the new chief)."""
    sim = _purge_sim(big, ("police_purge.later_arrest=1", "police_purge.later_arrest_delay=0",
                           "police_purge.window=50"))
    dis = log_of(sim, Event.DISMISSED)
    arr = log_of(sim, Event.ARRESTED, Cause.POLICE_PURGE)
    assert dis.size > 20
    arrested_on = dict(zip(arr["person"].tolist(), arr["day"].tolist()))
    for person, day in zip(dis["person"].tolist(), dis["day"].tolist()):
        if day + 1 < sim.n_days:
            assert arrested_on.get(person) == day + 1, person
    assert sim.mechs["police_purge"].summary()["arrested_after_dismissal"] == int(
        np.isin(arr["person"], dis["person"]).sum())


def test_a_dismissed_officer_handles_no_case_and_invariants_hold(big: str) -> None:
    """Every mechanism on, a heavy purge: the daily invariants hold (check=True), among them
    that a dismissed officer handles no accusation and stays DISMISSED only until arrested."""
    sim = run_sim(big, ["police_purge.dismiss_operational=0.6", "police_purge.later_arrest=0.3",
                        "police_purge.later_arrest_delay=30"], check=True)
    log = sim.log.rows
    dis = log["person"][log["event"] == Event.DISMISSED]
    assert dis.size > 50
    dropped_by = log["by"][(log["event"] == Event.DROPPED) & (log["by"] >= 0)]
    dismissed_day = dict(zip(dis.tolist(), log["day"][log["event"] == Event.DISMISSED].tolist()))
    for o, d in zip(dropped_by.tolist(),
                    log["day"][(log["event"] == Event.DROPPED) & (log["by"] >= 0)].tolist()):
        # vigilance (phase 7) comes before the police purge (phase 11): an officer may let
        # a case go in the morning of the day he is dismissed (purgesim/invariants.py, 5)
        assert o not in dismissed_day or d <= dismissed_day[o]


# ------------------------------------------------------------------------------ outputs


def test_outputs_by_level_and_year_add_up(big: str) -> None:
    """summary.json's police.by_level counts each level's events of the log; the table has
    one row per level and year."""
    sim = _purge_sim(big, ("police_purge.later_arrest=0.5",))
    s = summary(sim, cascade=False)
    by = s["police"]["by_level"]
    assert by == police_by_level(sim)
    assert list(by) == list(POLICE_LEVELS)
    log = sim.log.rows
    police = np.union1d(sim.pop.cohort_members(Cohort.STATE_SECURITY),
                        [sim.pop.names["Second Chief"]])  # the chief appointed in April
    assert by["commissar"]["size"] == 2
    for ev, key in ((Event.ARRESTED, "arrested"), (Event.SHOT, "shot"),
                    (Event.DISMISSED, "dismissed")):
        n = int(np.isin(log["person"][log["event"] == ev], police).sum())
        assert sum(y[key] for v in by.values() for y in v["years"].values()) == n
    for v in by.values():
        for y in v["years"].values():
            assert y["arrested"] == (y["arrested_chief_replacement"] + y["arrested_police_purge"]
                                     + y["arrested_other"])
    assert by["commissar"]["years"]["1937"]["replaced"] == 1  # the first chief, in April
    t = police_table(s)
    assert t.num_rows == len(POLICE_LEVELS) * 1
    assert t.column_names == ["level", "year", "size", *COUNTS]
    assert sum(t.column("dismissed").to_pylist()) == s["mechanisms"]["police_purge"]["dismissed"]
    assert police_table({}).num_rows == 0


# ------------------------------------------------------------------------------ scale


@pytest.mark.slow
def test_police_outputs_by_level_are_the_same_at_two_scales(big: str) -> None:
    """The toy with a large police and the purge on: arrested, shot and dismissed by level
    have the same means at scale 0.5 and 1 (invariance.compare: 4 standard errors + floor)."""
    seeds = range(1, 7)
    by_scale = {sc: run_summaries(big, sc, seeds) for sc in (0.5, 1.0)}
    comps = [c for c in compare(by_scale) if c.name.startswith("police.")]
    names = {c.name for c in comps}
    assert {f"police.{k}.dismissed" for k in LEVELS} <= names
    assert sum(c.mean_a for c in comps if c.name.endswith(".dismissed")) > 20
    bad = [c for c in comps if not c.ok]
    assert not bad, "police figures that depend on the scale:\n" + table(bad)
