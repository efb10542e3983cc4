"""The camps' stock (issue 16): the model's political prisoners plus the prisoners it does not
simulate, conserved every day; the review's releases; runs ended early with --end; the 1940
targets; the camp stock at two scales."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import purgesim as ps
from purgesim.codes import Cause, Event
from purgesim.compare import TARGETS, RunData, compare
from purgesim.invariance import compare as compare_scales
from purgesim.invariance import run_summaries, table
from purgesim.results import camp_stock_table, summary
from purgesim.runner import simulate

ROOT = Path(__file__).resolve().parents[1]

#: toy with every part of the camps switched on: a stock at the start, ordinary admissions,
#: short terms that end within the year, and a review
TOY_CAMPS = ["camps.stock_at_start=5000", "camps.other_admissions=3000",
             "camps.other_term_years=2", "camps.short_term_share=0.5",
             "camps.short_term_years=1", "camps.review_share=0.4",
             "camps.review_start=1937-06-01", "camps.review_end=1937-12-31"]


def _accounts(sim) -> None:
    """Both compartments: stock = start + admissions - deaths - releases on every day."""
    rec, camps = sim.rec, sim.mechs["camps"]
    own = rec.camp_start + np.cumsum(rec.flow["camp"] - rec.flow["camp_deaths"]
                                     - rec.camp_released.sum(axis=1) - rec.camp_retried)
    np.testing.assert_allclose(own, rec.camp_population, rtol=1e-9, atol=1e-6)
    other = camps.other_start + np.cumsum(camps.other_in - camps.other_died
                                          - camps.other_released)
    np.testing.assert_allclose(other, camps.other_stock, rtol=1e-9, atol=1e-6)
    assert (camps.other_stock >= 0).all()


def test_the_toy_camp_stock_is_conserved_every_day_with_all_its_flows() -> None:
    sim = simulate("toy", sets=TOY_CAMPS, check=True)  # the daily invariants run too
    _accounts(sim)
    rec, camps = sim.rec, sim.mechs["camps"]
    assert rec.camp_released[:, int(Cause.REVIEW)].sum() > 0
    assert camps.other_died.sum() > 0 and camps.other_released.sum() > 0
    log = sim.log.rows
    reviewed = log[(log["event"] == Event.RELEASED) & (log["cause"] == Cause.REVIEW)]
    assert reviewed.size and (reviewed["day"] >= sim.sc.day_of(dt.date(1937, 6, 1))).all()
    s = summary(sim, cascade=False)
    first = s["camps"]["stock"]["1937-01-01"]
    assert first["camp_population"] == 5000  # the record's count, whoever holds it
    last = s["camps"]["stock"]["1938-01-01"]
    assert abs(last["camp_population"] - last["camp_political"] - last["camp_other"]) <= 1
    assert s["camps"]["yearly"]["1937"]["releases_political"]["review"] > 0
    t = camp_stock_table(sim)
    assert t.num_rows == sim.n_days
    np.testing.assert_allclose(t["camp_population"].to_numpy(),
                               t["camp_political"].to_numpy() + t["camp_other"].to_numpy())
    np.testing.assert_allclose(t["prison_political"].to_numpy(), rec.custody)


def test_without_a_stock_the_toy_camps_hold_only_the_model_prisoners() -> None:
    sim = simulate("toy")
    assert not sim.mechs["camps"].other_stock.any()
    daily = ps.Sim("toy").run().results.daily
    assert (daily["camp_population"] == daily["camp_political"]).all()


def test_a_small_ussr_run_keeps_its_camp_accounts_every_day() -> None:
    sim = simulate("ussr-1937", sets=["end=1938-02-28"], scale=0.0005, check=True)
    _accounts(sim)
    s = summary(sim, cascade=False)
    assert s["camps"]["stock"]["1936-01-01"]["camp_population"] == 839406 + 457088
    assert s["camps"]["stock"]["1938-01-01"]["camp_political"] > 0


@pytest.mark.slow
def test_the_ussr_run_through_1940_keeps_its_accounts_and_reviews() -> None:
    sim = simulate("ussr-1937", scale=0.001, check=True)
    _accounts(sim)
    assert sim.sc.end.isoformat() == "1940-12-31"
    s = summary(sim, cascade=False)
    assert "1941-01-01" in s["camps"]["stock"]
    assert s["camps"]["yearly"]["1939"]["releases_political"].get("review", 0) > 0
    assert s["named"]["Yezhov"]["fate"] == "shot"
    assert s["named"]["Yezhov"]["date"].startswith("1940-02")


# ------------------------------------------------------------------------------ --end


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "purgesim", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_run_end_ends_the_run_earlier(tmp_path: Path) -> None:
    out = tmp_path / "early"
    res = _cli("run", "toy", "--end", "1937-03-31", "--out", str(out), "--quiet",
               "--no-report", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    s = json.loads((out / "summary.json").read_text())
    assert s["period"] == {"start": "1937-01-01", "end": "1937-03-31"}
    assert s["parameters"]["end"] == "1937-03-31"
    assert "1937-04-01" in s["camps"]["stock"]


@pytest.mark.parametrize("value", ["1937-13-01", "soon", "1937-01-01", "1936-06-01",
                                   "1938-01-01"])
def test_a_bad_end_is_refused_in_one_line_and_nothing_is_written(tmp_path: Path,
                                                                 value: str) -> None:
    out = tmp_path / "bad"
    res = _cli("run", "toy", "--end", value, "--out", str(out), "--quiet", "--no-report",
               cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert "--end" in lines[0] and value in lines[0] and "allowed" in lines[0]
    assert "1937-12-31" in lines[0]  # the scenario's end, the latest date allowed
    assert not out.exists() and res.stdout == ""


def test_the_api_ends_a_run_earlier_and_names_a_bad_end() -> None:
    sim = ps.Sim("toy", end="1937-02-28").run()
    assert len(sim.results.daily) == 31 + 28
    with pytest.raises(ps.api.InputError, match="end: value '1938-02-28' is not allowed"):
        ps.Sim("toy", end="1938-02-28")


# ------------------------------------------------------------------------------ targets


def test_the_1940_targets_are_fitted_like_1939() -> None:
    by_id = {t.id: t for t in TARGETS}
    for kind in ("CONV", "DEATH"):
        t40, t39 = by_id[f"SU-Y1940-{kind}"], by_id[f"SU-Y1939-{kind}"]
        assert t40.fit and t40.tol == t39.tol == ("factor", 2.0)
    # the camp counts are predictions kept back, never targets
    assert not {"SU-ITL-400101", "SU-ITK-400101", "SU-GULAG-370101"} & set(by_id)


def test_a_run_ended_early_reports_the_targets_it_cannot_answer_as_missing() -> None:
    sim = simulate("ussr-1937", sets=["end=1937-08-20"], scale=0.0005)
    c = compare(RunData(sim=sim))
    # an operation's count up to a date the run did not reach is not answered
    assert "SU-447-370901-ARR" in c["missing"]
    assert "SU-447-370815-ARR" in {r["id"] for r in c["targets"]}
    assert {"SU-Y1937-CONV", "SU-Y1939-CONV"} <= set(c["missing"])
    sim = simulate("ussr-1937", sets=["end=1939-06-30"], scale=0.0005)
    c = compare(RunData(sim=sim))
    answered = {r["id"] for r in c["targets"]}
    assert {"SU-Y1939-CONV", "SU-Y1940-CONV", "SU-Y1940-DEATH"} <= set(c["missing"])
    assert "SU-Y1938-CONV" in answered and not answered & set(c["missing"])
    kept = {k["date"]: k for k in c["kept_back"]}
    assert "1937-01-01" in kept and "1940-01-01" not in kept


# ------------------------------------------------------------------------------ scale


@pytest.mark.slow
def test_the_camp_stock_is_the_same_at_two_scales() -> None:
    seeds = range(1, 4)
    by_scale = {s: run_summaries("ussr-1937", s, seeds) for s in (0.002, 0.005)}
    comps = [c for c in compare_scales(by_scale) if c.name.startswith("camps.")]
    assert len(comps) > 20
    bad = [c for c in comps if not c.ok]
    assert not bad, "camp figures that depend on the scale:\n" + table(bad)
