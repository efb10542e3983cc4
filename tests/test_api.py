"""The Python API (purgesim.api), used as a notebook would: run `toy`, read every DataFrame,
draw every figure, write and read back the run folder, run a small ensemble."""

from __future__ import annotations

import doctest
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pandas.testing as pdt
import plotly.graph_objects as go
import pytest

import purgesim as ps
from purgesim import api
from purgesim.scenario import load


@pytest.fixture(scope="module")
def sim() -> ps.Sim:
    return ps.Sim("toy", seed=1).run()


@pytest.fixture(scope="module")
def saved(sim: ps.Sim, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sim.save(tmp_path_factory.mktemp("api") / "toy-seed1")


def test_exports() -> None:
    for name in ("Sim", "MultiSim", "load_run", "scenarios", "params", "InputError", "Run",
                 "Results"):
        assert name in dir(ps) and callable(getattr(ps, name)), name
    assert issubclass(ps.InputError, ValueError)
    # `purgesim.params` stays the module of declared parameters for the code that uses it
    from purgesim.params import describe

    assert ps.params.describe is describe


def test_dataframes(sim: ps.Sim) -> None:
    r = sim.results
    assert list(r) == ["daily", "yearly", "cohorts", "operations", "regions", "events",
                       "people", "named"]

    d = r.daily
    assert isinstance(d.index, pd.DatetimeIndex) and d.index.name == "date"
    assert len(d) == sim.scenario.n_days and d.index.is_monotonic_increasing
    assert d.index[0] == pd.Timestamp(sim.scenario.start)
    assert (d.dtypes == np.int64).all(), d.dtypes[d.dtypes != np.int64]
    for col in ("arrests", "arrests_confession", "convictions", "shot", "custody",
                "camp_population"):
        assert col in d.columns
    # the channels add up to the arrests (each rounded on its own: within one per channel)
    channels = d[[c for c in d.columns if c.startswith("arrests_")]].sum(axis=1)
    assert (channels - d["arrests"]).abs().max() <= len(channels)

    y = r.yearly
    assert y.index.name == "year" and y.index.dtype == np.int64
    assert list(y.index) == [1937]
    assert (y.dtypes == np.int64).all()
    assert int(y.loc[1937, "arrests"]) == sim.summary["yearly"]["1937"]["arrests"]
    assert abs(int(d["arrests"].sum()) - int(y.loc[1937, "arrests"])) <= 1

    c = r.cohorts
    assert c.index.name == "cohort" and list(c.columns) == ["size", "arrested", "shot"]
    assert (c.dtypes == np.int64).all()
    assert (c["shot"] <= c["arrested"]).all() and (c["arrested"] <= c["size"]).all()

    for name, key in (("operations", "operation"), ("regions", "region")):
        t = r[name]
        assert isinstance(t.index, pd.MultiIndex) and t.index.names == ["date", key]
        assert isinstance(t.index.levels[0], pd.DatetimeIndex)
        extra = [] if name == "operations" else [  # issue 15: lags and limits by region
            "troika_sentences", "troika_lag_days", "limit_initial_cat1", "limit_initial_cat2",
            "limit_granted_cat1", "limit_granted_cat2", "limit_used_cat1", "limit_used_cat2"]
        assert list(t.columns) == ["arrests", "convictions", "shot", *extra]
        assert (t.dtypes == np.int64).all()
    assert set(r.operations.index.get_level_values("operation")) == {"elements", "polish"}
    assert set(r.regions.index.get_level_values("region")) == {"North", "South"}
    by_region = r.regions.groupby(level="region", observed=True)["arrests"].sum()
    for region, v in sim.summary["regions"].items():
        assert abs(int(by_region[region]) - v["arrests"]) <= sim.scenario.n_days

    e = r.events
    assert isinstance(e.index, pd.RangeIndex)
    assert e.dtypes.astype(str).to_dict() == {
        "person": "int64", "day": "int64", "date": "datetime64[ns]", "event": "category",
        "cause": "category", "by": "int64", "operation": "category"}
    assert (e["date"] == pd.Timestamp(sim.scenario.start)
            + pd.to_timedelta(e["day"], unit="D")).all()
    assert {"arrested", "named", "shot"} <= set(e["event"].cat.categories)

    p = r.people
    assert p.index.name == "person" and p.index.dtype == np.int64
    assert set(e["person"]) <= set(p.index)
    assert "Old Comrade" in set(p["name"])

    n = r.named
    assert n.index.name == "name" and str(n["date"].dtype) == "datetime64[ns]"
    assert set(n.index) == set(sim.summary["named"])

    with pytest.raises(KeyError):
        r["nothing"]


def test_plots(sim: ps.Sim) -> None:
    figs = sim.plot()
    assert list(figs) == list(api.FIGURES)
    for name, fig in figs.items():
        assert isinstance(fig, go.Figure), name
        assert fig.layout.title.text, name
    assert isinstance(sim.plot("daily"), go.Figure)
    assert len(sim.plot("daily").data) > 0
    assert list(sim.plot(["yearly", "cohorts"])) == ["yearly", "cohorts"]
    with pytest.raises(ps.InputError, match="plot 'nothing': unknown; allowed: arrests"):
        sim.plot("nothing")


def test_story_and_graph(sim: ps.Sim) -> None:
    s = sim.story("Old Comrade")
    assert s["final_state"] == "shot" and s["events"]
    assert isinstance(sim.plot_story("Old Comrade"), go.Figure)
    g = sim.plot_network("Old Comrade", radius=1)
    assert isinstance(g, go.Figure) and len(g.data) > 0
    found = sim.find_people("chief")
    assert found.index.dtype == np.int64
    assert sorted(label.split(" (#")[0] for label in found["label"]) == [
        "First Chief", "Second Chief"]
    with pytest.raises(ps.InputError, match="person 'Nobody': unknown; allowed"):
        sim.story("Nobody")


def test_load_run_equals_memory(sim: ps.Sim, saved: Path) -> None:
    run = ps.load_run(saved)
    assert json.dumps(run.summary) == json.dumps(sim.summary)
    for name in run.results:
        pdt.assert_frame_equal(run.results[name], sim.results[name], check_exact=True)
    assert list(run.plot()) == list(sim.plot())
    assert run.story("Old Comrade") == sim.story("Old Comrade")
    # the saved folder is then the one the charts read
    assert sim._run_dir() == saved


def test_save_never_overwrites(sim: ps.Sim, saved: Path, tmp_path: Path) -> None:
    with pytest.raises(ps.InputError, match="already exists.*force=True"):
        sim.save(saved)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(ps.InputError, match="not a purgesim folder"):
        sim.save(mine, force=True)
    assert (mine / "notes.txt").read_text() == "mine"
    out = sim.save(tmp_path / "again")
    assert sim.save(out, force=True) == out
    assert ps.load_run(out).summary == sim.summary


def test_bad_input() -> None:
    cases = [
        (dict(scenario="nope"), "scenario 'nope': unknown; allowed: france-1793, toy"),
        (dict(pars={"confession.p_wrk": 0.1}),
         "pars confession.p_wrk=0.1: unknown parameter 'p_wrk'; allowed for confession: "),
        (dict(pars={"confession.p_work": 2.0}),
         "field 'confession.p_work': value 2.0 is not allowed: .*allowed: a number, "
         "0 <= p_work <= 1"),
        (dict(pars={"confession.enabled": "maybe"}),
         "field 'confession.enabled': value 'maybe' is not allowed: .*allowed: true or false"),
        (dict(scale=0), "field 'scale': value 0.0 is not allowed"),
        (dict(pars={"confession.p_work": [1]}), "allowed: a number, True or False"),
    ]
    for kw, message in cases:
        with pytest.raises(ValueError, match=message) as e:
            ps.Sim(**kw)
        assert isinstance(e.value, ps.InputError)
        assert "\n" not in str(e.value)
    with pytest.raises(ps.InputError, match="unknown parameter"):
        ps.params("toy", {"nothing.at_all": 1})
    with pytest.raises(ps.InputError, match="seeds"):
        ps.MultiSim("toy", seeds=0)
    with pytest.raises(ps.InputError, match="unknown parameter"):
        ps.MultiSim("toy", seeds=2, pars=[{}, {"confession.p_wrk": 0.1}])
    with pytest.raises(ps.InputError, match="not a finished run"):
        ps.load_run("/nonexistent/run")
    with pytest.raises(RuntimeError, match="run"):
        _ = ps.Sim("toy").results


def test_pars_as_set() -> None:
    """`pars` and `--set` are one thing: the same scenario, nested or dotted names."""
    a = ps.Sim("toy", seed=3, pars={"confession": {"p_work": 0.02, "enabled": True},
                                    "association.enabled": False})
    b = load("toy", ["confession.p_work=0.02", "association.enabled=false"], seed=3)
    assert a.scenario == b
    assert ps.Sim(b).scenario == b
    assert ps.Sim(b, pars={"seed": 4}).scenario.seed == 4


def test_common_random_numbers(sim: ps.Sim) -> None:
    """The same seed gives the same run; switching a mechanism off changes the run only
    through the mechanism (the other draws are shared)."""
    again = ps.Sim("toy", seed=1).run()
    pdt.assert_frame_equal(again.results.daily, sim.results.daily, check_exact=True)
    off = ps.Sim("toy", seed=1, pars={"association.enabled": False}).run()
    assert off.results.daily["arrests_relative"].sum() == 0
    assert off.results.daily["arrests_defender"].sum() == 0
    assert sim.results.daily["arrests_relative"].sum() > 0


def test_scenarios_and_params() -> None:
    s = ps.scenarios()
    assert s.index.name == "name" and {"toy", "ussr-1937", "france-1793"} <= set(s.index)
    assert str(s["start"].dtype).startswith("datetime64") and s["days"].dtype == np.int64
    p = ps.params("ussr-1937")
    assert p.index.name == "name" and p.index.is_unique
    assert {"mechanism", "parameter", "value", "unit", "lo", "hi", "free", "meaning"} == \
        set(p.columns)
    assert p["free"].dtype == bool and p["free"].any()
    assert p["lo"].dtype == float
    assert (p["mechanism"] + "." + p["parameter"] == p.index).all()


def test_figures_flattening(sim: ps.Sim) -> None:
    f = api.figures(sim.summary)
    assert f["yearly.1937.arrests"] == sim.summary["yearly"]["1937"]["arrests"]
    assert "channels.confession" in f and "cohorts.marshals.shot" in f
    assert f["events.halt.day"] == 304.0  # the toy's scripted halt on 1 November
    assert not any(k.startswith(("parameters.", "named.", "seed")) for k in f)


@pytest.mark.slow
def test_multisim_parallel_bit_for_bit() -> None:
    """Three seeds in two processes: the same runs as one by one here, and intervals that
    bracket the median."""
    ms = ps.MultiSim("toy", seeds=3, workers=2).run()
    assert len(ms.summaries) == 3 and [s["seed"] for s in ms.summaries] == [1, 2, 3]
    one = ps.MultiSim("toy", seeds=3, workers=1).run()
    assert json.dumps(ms.summaries) == json.dumps(one.summaries)
    for a, b in zip(ms.daily, one.daily):
        pdt.assert_frame_equal(a, b, check_exact=True)
    s = ms.summary()
    assert list(s.columns) == ["median", "q05", "q95", "n"] and s.index.name == "figure"
    assert (s["n"] == 3).all()
    assert ((s["q05"] <= s["median"]) & (s["median"] <= s["q95"])).all()
    arrests = [x["yearly"]["1937"]["arrests"] for x in ms.summaries]
    assert s.loc["yearly.1937.arrests", "median"] == np.median(arrests)
    assert min(arrests) <= s.loc["yearly.1937.arrests", "q05"]
    assert s.loc["yearly.1937.arrests", "q95"] <= max(arrests)
    t = ms.table()
    assert t.index.names == ["set", "seed"] and len(t) == 3
    for kind in ("daily", "yearly"):
        fig = ms.plot(kind)
        assert isinstance(fig, go.Figure) and len(fig.data) > 0
    b = ms.bands("arrests")
    assert ((b[("baseline", "low")] <= b[("baseline", "median")] + 1e-9)
            & (b[("baseline", "median")] <= b[("baseline", "high")] + 1e-9)).all()


def test_multisim_parameter_sets() -> None:
    """Two parameter sets share their seeds (common random numbers); summary by set."""
    ms = ps.MultiSim("toy", seeds=[1, 2], pars=[{}, {"association.enabled": False}],
                     workers=1).run()
    assert ms.runs() == [("baseline", 1), ("baseline", 2),
                         ("association.enabled=False", 1), ("association.enabled=False", 2)]
    s = ms.summary()
    assert s.index.names == ["set", "figure"]
    base = s.loc[("baseline", "channels.relative"), "median"]
    off = s.loc[("association.enabled=False", "channels.relative"), "median"]
    assert base > 0 and off == 0
    assert ((s["q05"] <= s["median"]) & (s["median"] <= s["q95"])).all()
    assert list(ms.summary(0.025, 0.975).columns) == ["median", "q2.5", "q97.5", "n"]
    assert isinstance(ms.plot("daily", columns=["arrests"]), go.Figure)
    assert isinstance(ms.plot("yearly"), go.Figure)
    with pytest.raises(ps.InputError, match="plot kind"):
        ms.plot("nothing")


def test_doctests() -> None:
    """The examples in the API's docstrings run as written."""
    r = doctest.testmod(api, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert r.attempted >= 20 and r.failed == 0


def test_api_page_examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                           capsys: pytest.CaptureFixture[str]) -> None:
    """The examples of docs/api.md run as written, in order, in one namespace."""
    import re

    page = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, flags=re.S)
    assert len(blocks) >= 6
    monkeypatch.chdir(tmp_path)
    ns: dict[str, object] = {"__name__": "api_md"}
    for block in blocks:
        exec(compile(block, "docs/api.md", "exec"), ns)  # noqa: S102
    out = capsys.readouterr().out
    assert "value 2 is not allowed" in out and "yearly.1937.arrests" in out


def test_multisim_folders(tmp_path: Path) -> None:
    """`run(out=...)` writes each member as a run folder and `from_runs` reads the ensemble
    back, the same; a list of run folders of two parameter sets groups by parameters."""
    out = tmp_path / "ens"
    ms = ps.MultiSim("toy", seeds=[1, 2], pars=[{}, {"association.enabled": False}],
                     workers=1).run(out=out)
    assert sorted(p.name for p in out.iterdir()) == [
        "ensemble.json", "set1-seed1", "set1-seed2", "set2-seed1", "set2-seed2"]
    back = ps.MultiSim.from_runs(out)
    assert back.runs() == ms.runs()
    pdt.assert_frame_equal(back.summary(), ms.summary(), check_exact=True)
    pdt.assert_frame_equal(back.bands("arrests"), ms.bands("arrests"))
    listed = ps.MultiSim.from_runs(sorted(p for p in out.iterdir() if p.is_dir()))
    assert listed.labels == ["association.enabled=True", "association.enabled=False"]
    assert listed.table()["yearly.1937.arrests"].tolist() == \
        ms.table()["yearly.1937.arrests"].tolist()
    assert isinstance(listed.plot(), go.Figure)
    with pytest.raises(ps.InputError, match="already exists"):
        ps.MultiSim("toy", seeds=1, workers=1).run(out=out)
    with pytest.raises(ps.InputError, match="ensemble.json"):
        ps.MultiSim.from_runs(tmp_path)
    with pytest.raises(ps.InputError, match="same parameters and seed"):
        ps.MultiSim.from_runs([out / "set1-seed1", out / "set1-seed1"])
