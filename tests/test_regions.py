"""The regions of 1937 (issue 15, item 1, at the level of the union republics): the regional
inputs add up to the national figures, every region has a row in the package's mapping and
tile tables, and bad regional input is refused in one line."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from conftest import run_cli

from purgesim.engine import Sim
from purgesim.history import by_id
from purgesim.scenario import load

DATA = Path(__file__).resolve().parents[1] / "purgesim" / "data"
REPUBLICS = ("UKR", "BSSR", "GEO", "ARM", "AZE", "KAZ", "UZB", "TKM", "TJK", "KGZ", "RSFSR")


def _value(rid: str) -> float:
    return float(by_id()[rid].value)


def test_the_order_s_limits_by_republic_add_up_to_the_national_limits() -> None:
    """The record's republic rows (and the camps' 10,000 of category 1) sum to the order's
    national limits, and the scenario gives each republic the record's value."""
    assert sum(_value(f"SU-447-Q1-{c}") for c in REPUBLICS) + _value("SU-447-Q1-CAMPS") \
        == _value("SU-447-Q1-INIT")
    assert sum(_value(f"SU-447-Q2-{c}") for c in REPUBLICS) == _value("SU-447-Q2-INIT")
    op = next(o for o in load("ussr-1937").operations if o.key == "order_00447")
    for name, lim in op.limits_by_region.items():
        for cat, key in (("cat1", "Q1"), ("cat2", "Q2")):
            given = getattr(lim, cat)
            if given is None:
                continue
            rows = [r.strip() for r in lim.source.split(",")]
            row = next(r for r in rows if f"-{key}-" in r or "QTOT" in r)
            expected = _value(row) if f"-{key}-" in row else \
                _value(row) - _value(row.replace("QTOT", "Q1"))
            assert given == expected, (name, cat, row)


def test_the_simulation_s_initial_limits_add_up_and_keep_what_the_order_gives() -> None:
    """At any scale the regions' initial limits sum to the national ones; a region the order
    gives a limit has exactly it; the rest is shared by the other regions."""
    sc = load("ussr-1937", scale=0.0005)
    op = next(o for o in sc.operations if o.key == "order_00447")
    sim = Sim(sc)
    q = sim.mechs["quotas"]
    o = [x.key for x in sc.operations].index("order_00447")
    names = sim.pop.region_names
    assert q.limit[o, :, 0].sum() == pytest.approx(op.cat1)
    assert q.limit[o, :, 1].sum() == pytest.approx(op.cat2)
    for name, lim in op.limits_by_region.items():
        r = names.index(name)
        if lim.cat1 is not None:
            assert q.limit[o, r, 0] == pytest.approx(lim.cat1)
        if lim.cat2 is not None:
            assert q.limit[o, r, 1] == pytest.approx(lim.cat2)
    assert q.limit[o, names.index("Leningrad"), 1] > 0  # category 2 not given: shared
    assert q.limit[o, names.index("Far East"), 0] > 0


def test_populations_add_up_to_the_census() -> None:
    """The regions sum to the 1937 census; the republics split out of the old macro-regions
    keep their macro-region's total and follow the 1939 census's shares."""
    sc = load("ussr-1937")
    pop = {r.name: r.population for r in sc.regions}
    assert sum(pop.values()) == _value("SU-POP-1937")
    tc = ("Georgia", "GEO"), ("Armenia", "ARM"), ("Azerbaijan", "AZE")
    ca = (("Kazakhstan", "KAZ"), ("Uzbekistan", "UZB"), ("Turkmenistan", "TKM"),
          ("Tajikistan", "TJK"), ("Kirghizia", "KGZ"))
    for group, total in ((tc, 7_590_000), (ca, 15_830_000)):
        assert sum(pop[n] for n, _ in group) == total
        census = sum(_value(f"SU-POP39-{c}") for _, c in group)
        for n, c in group:  # within the rounding to thousands
            assert abs(pop[n] - total * _value(f"SU-POP39-{c}") / census) <= 1000, n


def test_every_region_is_mapped_to_the_units_of_1937() -> None:
    with (DATA / "region-mapping.csv").open(newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["scenario"] == "ussr-1937"]
    assert sorted(r["region"] for r in rows) == sorted(r.name for r in load("ussr-1937").regions)
    assert all(r["units_of_1937"] and r["source"] for r in rows)


BAD = {
    "unknown region": ('Atlantis = { cat1 = 5000 }', ["limits_by_region", "Atlantis",
                                                      "Ukraine"]),
    "negative limit": ('Ukraine = { cat1 = -5 }', ["limits_by_region.Ukraine.cat1", "-5",
                                                   ">= 0"]),
    "more than the nation": ('Ukraine = { cat1 = 80000 }', ["limits_by_region", "80,000",
                                                            "75,950"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_regional_input_exits_2_with_one_line(tmp_path: Path, case: str) -> None:
    line, words = BAD[case]
    (tmp_path / "bad.toml").write_text(
        'base = "ussr-1937"\n[[operations]]\nkey = "order_00447"\nname = "Kulak operation"\n'
        'target = "element"\nstart = 1937-08-05\ncat1 = 75950\ncat2 = 193000\n'
        f"[operations.limits_by_region]\n{line}\n")
    res = run_cli("run", "bad.toml", "--out", "out", "--quiet", "--no-report", cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    assert all(w in lines[0] for w in words), lines[0]
    assert "allowed" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


def test_limits_given_to_every_region_must_add_up_to_the_national_one() -> None:
    """If every region of an operation has its own limit of a category, nothing is left to
    share, so they must sum to the national limit (else part of it would vanish)."""
    toy = load("toy")
    names = [r.name for r in toy.regions]
    op = toy.operations[0]
    ok = {n: {"cat1": op.cat1 / len(names)} for n in names}
    bad = {n: {"cat1": op.cat1 / len(names) / 2} for n in names}
    for given, fails in ((ok, False), (bad, True)):
        data = toy.model_dump(mode="json")
        data["operations"][0]["limits_by_region"] = given
        if fails:
            with pytest.raises(ValueError, match="summing to"):
                type(toy).model_validate(data)
        else:
            assert type(toy).model_validate(data).operations[0].limits_by_region


def test_a_region_without_population_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text('base = "ussr-1937"\n[[regions]]\nname = "Nowhere"\n')
    res = run_cli("run", "bad.toml", "--out", "out", "--quiet", "--no-report", cwd=tmp_path)
    assert res.returncode == 2
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "regions.0.population" in lines[0] and "allowed" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]
