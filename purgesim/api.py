"""The Python API, for notebooks and scripts: ``import purgesim as ps``.

It follows the conventions of Starsim and Covasim so that a modeller can use it without
reading the command line's code::

    sim = ps.Sim("ussr-1937", scale=0.01, seed=1, pars={"confession.p_work": 0.02})
    sim.run()
    sim.results.daily          # pandas, a DatetimeIndex, integer counts of people
    sim.plot()                 # the report's Plotly figures
    sim.story("Bukharin")      # one person's events
    sim.save("runs/mine")      # a run folder, as `purgesim run` writes it
    run = ps.load_run("runs/mine")           # the same results, read back
    ms = ps.MultiSim("toy", seeds=10).run()  # an ensemble in parallel processes
    ms.summary()               # medians and 5-95% intervals

Nothing here simulates: `Sim` drives `purgesim.engine.Sim`, the tables come from
`purgesim.results`, the figures from `purgesim.charts.RunView` (the report's own code), the
run folders from `purgesim.runfolder`.  Bad input raises `InputError` (a ValueError) with
the one-line message of the scenario's validation.  See docs/api.md.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import multiprocessing
import os
import shutil
import tempfile
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .scenario import Scenario, ScenarioError, builtin_names

if TYPE_CHECKING:
    import plotly.graph_objects as go
    import pyarrow as pa

    from .charts import RunView
    from .engine import Sim as EngineSim

__all__ = ["InputError", "MultiSim", "Results", "Run", "Sim", "load_run", "params",
           "scenarios"]


class InputError(ValueError):
    """Bad input to the API (scenario, parameter, value, path, person): one line naming
    the field, the value and what is allowed, as the command line says it."""


# ------------------------------------------------------------------------------ scenarios


def _toml_value(name: str, v: Any) -> str:
    """A Python value as the TOML text `--set` takes (so that `pars` and `--set` share one
    validation)."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        return repr(v) if math.isfinite(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        return v.isoformat()
    if isinstance(v, str):
        return json.dumps(v)  # a TOML basic string
    raise InputError(f"pars {name!r}: value {v!r} is not allowed; allowed: a number, True or "
                     "False, a date or a string")


def _flat_pars(pars: Mapping[str, Any] | None) -> dict[str, Any]:
    """`{"confession.p_work": 0.02}` or `{"confession": {"p_work": 0.02}}`, flattened."""
    out: dict[str, Any] = {}
    if pars is None:
        return out
    if not isinstance(pars, Mapping):
        raise InputError(f"pars: value {pars!r} is not allowed; allowed: a dict of parameter "
                         "names and values, e.g. {'confession.p_work': 0.02}")
    for k, v in pars.items():
        if not isinstance(k, str):
            raise InputError(f"pars: name {k!r} is not allowed; allowed: a name such as "
                             "'confession.p_work' (see ps.params(scenario))")
        if isinstance(v, Mapping):
            for k2, v2 in v.items():
                out[f"{k}.{k2}"] = v2
        else:
            out[k] = v
    return out


def _sets(pars: Mapping[str, Any] | None) -> list[str]:
    return [f"{k}={_toml_value(k, v)}" for k, v in _flat_pars(pars).items()]


def _load(scenario: str | os.PathLike[str] | Scenario, pars: Mapping[str, Any] | None,
          scale: float | None, seed: int | None, end: str | None = None) -> Scenario:
    """The validated scenario, with the command line's messages (``--set`` read ``pars``);
    `end` (YYYY-MM-DD) ends the run earlier, as ``purgesim run --end``."""
    from .scenario import Scenario as Sc
    from .scenario import _describe_error, apply_sets, early_end, load

    sets = _sets(pars)
    for what, v in (("scale", scale), ("seed", seed)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float | np.number)):
            raise InputError(f"{what}: value {v!r} is not allowed; allowed: a number")
    try:
        if isinstance(scenario, Sc):
            from pydantic import ValidationError

            data = apply_sets(scenario.model_dump(), sets)
            if end is not None:
                data["end"] = early_end(data, str(end))
            if scale is not None:
                data["scale"] = float(scale)
            if seed is not None:
                data["seed"] = int(seed)
            try:
                return Sc.model_validate(data)
            except ValidationError as e:
                raise ScenarioError(f"scenario {scenario.name}: {_describe_error(e)}") from None
        if not isinstance(scenario, str | os.PathLike):
            raise InputError(f"scenario: value {scenario!r} is not allowed; allowed: "
                             f"{', '.join(builtin_names())} or a path to a .toml file")
        return load(os.fspath(scenario), sets, scale=None if scale is None else float(scale),
                    seed=None if seed is None else int(seed),
                    end=None if end is None else str(end))
    except ScenarioError as e:
        raise InputError(str(e).replace("--set ", "pars ").replace("--end", "end").replace(
            "'purgesim params SCENARIO'", "ps.params(scenario)")) from None


def scenarios() -> pd.DataFrame:
    """The built-in scenarios, one row each (as `purgesim scenarios`).

    >>> import purgesim as ps
    >>> table = ps.scenarios()
    >>> "toy" in table.index
    True
    >>> list(table.columns)
    ['description', 'country', 'start', 'end', 'days', 'scale', 'seed', 'regions']
    """
    from .scenario import load

    rows = []
    for name in builtin_names():
        sc = load(name)
        rows.append({"name": name, "description": sc.description, "country": sc.country,
                     "start": pd.Timestamp(sc.start), "end": pd.Timestamp(sc.end),
                     "days": sc.n_days, "scale": float(sc.scale), "seed": int(sc.seed),
                     "regions": len(sc.regions)})
    return pd.DataFrame(rows).set_index("name")


def params(scenario: str | os.PathLike[str] | Scenario = "toy",
           pars: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Every behavioural parameter of a scenario: value, unit, range, meaning (as
    `purgesim params`); `pars` shows the values a `Sim` with those `pars` would use.

    >>> import purgesim as ps
    >>> p = ps.params("toy", pars={"confession.p_work": 0.02})
    >>> float(p.loc["confession.p_work", "value"])
    0.02
    >>> p.loc["confession.p_work", ["lo", "hi"]].tolist()
    [0.0, 1.0]
    >>> bool(p.loc["confession.enabled", "value"])
    True
    """
    from .mechanisms import MECHANISMS
    from .params import describe

    sc = _load(scenario, pars, None, None)
    rows = []
    for key in MECHANISMS:
        for r in describe(sc.mechanism_params(key), key):
            rows.append({"name": r["name"], "mechanism": key,
                         "parameter": r["name"].split(".", 1)[1], "value": r["value"],
                         "unit": r["unit"],
                         "lo": np.nan if r["lo"] is None else float(r["lo"]),
                         "hi": np.nan if r["hi"] is None else float(r["hi"]),
                         "free": bool(r["free"]), "meaning": r["meaning"]})
    df = pd.DataFrame(rows).set_index("name")
    df["value"] = df["value"].astype(object)
    return df


# ------------------------------------------------------------------------------ results

#: the run's tables and the files they come from
TABLES = ("daily", "operations", "regions", "events", "people")
#: the DataFrames of `Results`, in the order they are listed
RESULTS = ("daily", "yearly", "cohorts", "operations", "regions", "events", "people", "named")


def _to_datetime(s: Any) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(s)).astype("datetime64[ns]")


def _counts(df: pd.DataFrame, cols: Sequence[str]) -> None:
    """Counts of real people, kept by the recorder as weighted floats: rounded to int64."""
    for c in cols:
        df[c] = np.rint(df[c].to_numpy(dtype=float)).astype(np.int64)


def _category(s: pd.Series) -> pd.Series:
    """A dictionary column as a categorical with sorted categories (the same whether read
    from memory or from Parquet)."""
    s = s.astype(str).astype("category")
    return s.cat.reorder_categories(sorted(s.cat.categories))


def _frame(name: str, t: pa.Table) -> pd.DataFrame:
    """A run's table (pyarrow) as the API's DataFrame."""
    df = t.to_pandas()
    if name == "daily":
        df.index = _to_datetime(df.pop("date")).rename("date")
        _counts(df, list(df.columns))
        return df
    if name in ("operations", "regions"):
        key = "operation" if name == "operations" else "region"
        dates = _to_datetime(df.pop("date"))
        keys = _category(df.pop(key))
        _counts(df, list(df.columns))
        df.index = pd.MultiIndex.from_arrays([dates, keys], names=["date", key])
        return df
    if name == "events":
        df["date"] = _to_datetime(df["date"])
        for c in ("person", "day", "by"):
            df[c] = df[c].astype(np.int64)
        for c in ("event", "cause", "operation"):
            df[c] = _category(df[c])
        return df
    if name == "people":
        df = df.set_index(df["person"].astype(np.int64).rename("person")).drop(columns="person")
        for c in df.columns:
            df[c] = df[c].astype(str)
        return df
    raise KeyError(name)


class Results:
    """A run's results as pandas DataFrames, built on first use.

    - ``daily``: one row a day (DatetimeIndex ``date``), every column an int64 count of
      people (arrests by channel, suspects by channel, sentences, releases, deaths, people
      in custody and in camps); full-population figures (a simulated person of the mass
      stands for 1/scale people), each day rounded on its own;
    - ``yearly``: one row a year, the summary's yearly totals (int64);
    - ``cohorts``: elite cohorts: size, arrested, shot (int64);
    - ``operations``, ``regions``: daily arrests, convictions and death sentences by mass
      operation and by region (MultiIndex ``date`` x ``operation``/``region``);
    - ``events``: the event log, one row per event (person, day, date, event, cause, by,
      operation);
    - ``people``: who is who among the people of the event log (index ``person``);
    - ``named``: the named people's simulated and real fates.
    """

    def __init__(self, summary: dict[str, Any], table: Callable[[str], pa.Table]) -> None:
        self._summary = summary
        self._table = table

    @cached_property
    def daily(self) -> pd.DataFrame:
        return _frame("daily", self._table("daily"))

    @cached_property
    def operations(self) -> pd.DataFrame:
        return _frame("operations", self._table("operations"))

    @cached_property
    def regions(self) -> pd.DataFrame:
        return _frame("regions", self._table("regions"))

    @cached_property
    def events(self) -> pd.DataFrame:
        return _frame("events", self._table("events"))

    @cached_property
    def people(self) -> pd.DataFrame:
        return _frame("people", self._table("people"))

    @cached_property
    def yearly(self) -> pd.DataFrame:
        y = self._summary["yearly"]
        df = pd.DataFrame.from_dict(y, orient="index")
        df.index = pd.Index([int(k) for k in y], dtype=np.int64, name="year")
        _counts(df, list(df.columns))
        return df

    @cached_property
    def cohorts(self) -> pd.DataFrame:
        c = self._summary["cohorts"]
        df = pd.DataFrame.from_dict(c, orient="index", columns=["size", "arrested", "shot"])
        df.index = pd.Index(list(c), dtype=str, name="cohort")
        _counts(df, list(df.columns))
        return df

    @cached_property
    def named(self) -> pd.DataFrame:
        n = self._summary["named"]
        df = pd.DataFrame({
            "fate": pd.Series([v["fate"] for v in n.values()], dtype=str),
            "date": _to_datetime([v["date"] for v in n.values()]),
            "named_by": pd.Series([list(v["named_by"]) for v in n.values()], dtype=object),
            "named_after": pd.Series([list(v.get("named_after", [])) for v in n.values()],
                                     dtype=object),
            "real_fate": pd.Series([v["real_fate"] for v in n.values()], dtype=str),
            "real_date": pd.Series([v["real_date"] for v in n.values()], dtype=str),
        })
        df.index = pd.Index(list(n), dtype=str, name="name")
        return df

    # dict-like access, as Starsim's results
    def keys(self) -> list[str]:
        return list(RESULTS)

    def __getitem__(self, key: str) -> pd.DataFrame:
        if key not in RESULTS:
            raise KeyError(f"{key!r}; allowed: {', '.join(RESULTS)}")
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(RESULTS)

    def __repr__(self) -> str:
        return f"Results({', '.join(RESULTS)})"


# ------------------------------------------------------------------------------ figures

#: the report's figures by name (`RunView` methods), in the report's order
FIGURES: dict[str, str] = {
    "arrests": "fig_arrests_by_channel",
    "sentences": "fig_sentences",
    "cumulative": "fig_cumulative",
    "operations_daily": "fig_operations_daily",
    "operations": "fig_operations",
    "yearly": "fig_yearly",
    "cohorts": "fig_cohorts",
    "limits": "fig_limits",
    "cascade_rates": "fig_cascade_rates",
    "cascade": "fig_cascade",
    "named": "fig_named",
}
ALIASES = {"daily": "arrests", "channels": "arrests", "cascade-rates": "cascade_rates",
           "operations-daily": "operations_daily"}


def _figure(fig: dict[str, Any]) -> go.Figure:
    import plotly.graph_objects as go

    return go.Figure(fig)


class _RunBase:
    """What a finished run offers, in memory (`Sim`) or read from a folder (`Run`)."""

    def _summary_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def _run_dir(self) -> Path:
        raise NotImplementedError

    @property
    def summary(self) -> dict[str, Any]:
        """The run's summary.json as a dict (see docs/run-folder.md)."""
        return self._summary_dict()

    def _open(self) -> RunView:
        """The run's folder opened once through the reader (`runs.RunFolder`), as the
        report's `RunView` so that its charts come with it."""
        from .charts import ChartError, RunView

        try:
            return RunView(self._run_dir())
        except ChartError as e:
            raise InputError(str(e)) from None

    @cached_property
    def _view(self) -> RunView:
        return self._open()

    def plot(self, which: str | Sequence[str] | None = None
             ) -> go.Figure | dict[str, go.Figure]:
        """The report's figures as Plotly figures: all of them in a dict (by name, in the
        report's order), or one by name (``"daily"``, ``"yearly"``, ``"cohorts"``, ...; see
        `FIGURES`), or a dict of the names given."""
        if isinstance(which, str):
            name = ALIASES.get(which, which)
            if name not in FIGURES:
                raise InputError(f"plot {which!r}: unknown; allowed: "
                                 f"{', '.join(list(FIGURES) + list(ALIASES))}")
            return _figure(getattr(self._view, FIGURES[name])())
        names = list(FIGURES) if which is None else list(which)
        return {n: self.plot(n) for n in names}  # type: ignore[misc]

    def story(self, who: str | int) -> dict[str, Any]:
        """One person's story (a name such as ``"Bukharin"`` or an id): his own events, who
        named him, whom he named and what else he did to others (as `purgesim story`)."""
        from .story import StoryError, story

        try:
            return story(self._view, str(who))
        except StoryError as e:
            raise InputError(str(e)) from None

    def plot_story(self, who: str | int) -> go.Figure:
        """A person's story as a timeline (the dashboard's figure)."""
        from .charts import person_timeline

        return _figure(person_timeline(self.story(who)))

    def plot_network(self, who: str | int, radius: int = 2, cap: int = 150) -> go.Figure:
        """The naming graph around a person: who named him, whom he named, up to `radius`
        steps away (at most `cap` people)."""
        pid = int(self.story(who)["id"])
        return _figure(self._view.neighbourhood(pid, radius=radius, cap=cap))

    def find_people(self, query: str, limit: int = 20) -> pd.DataFrame:
        """People of the run whose name contains `query` (or whose id it is)."""
        from .charts import find_people

        rows = find_people(self._view, query, limit)
        df = pd.DataFrame(rows, columns=["id", "label", "final_state", "cohorts"])
        return df.astype({"id": np.int64}).set_index("id")


# ------------------------------------------------------------------------------ one run


def _engine_table(sim: EngineSim, name: str) -> pa.Table:
    """One table of a run in memory, as `results.write_run` writes it."""
    from . import results

    rec = sim.rec
    if name == "daily":
        return results.daily_table(sim)
    if name == "operations":
        return results.long_table(sim, sim.op_keys, "operation", arrests=rec.arrests_op,
                                  convictions=rec.convictions_op, shot=rec.shot_op)
    if name == "regions":
        return results.regions_table(sim)
    if name == "events":
        return results.events_table(sim)
    if name == "people":
        return results.people_table(sim)
    raise KeyError(name)


class Sim(_RunBase):
    """A run of one scenario at one scale and seed, from Python.

    `scenario` is a built-in name (``ps.scenarios()``) or a path to a .toml file; `pars`
    takes the names of ``--set`` (``ps.params(scenario)``); `end` (YYYY-MM-DD) ends the run
    earlier, as ``purgesim run --end``.  The same scenario, scale,
    seed and pars give the same results bit for bit; two runs that differ only in `pars`
    share their random numbers (common random numbers), so their difference is the effect
    of the change.

    >>> import purgesim as ps
    >>> sim = ps.Sim("toy", seed=1, pars={"confession.p_work": 0.02})
    >>> sim.run() is sim
    True
    >>> daily = sim.results.daily
    >>> type(daily.index).__name__, daily.index.name, str(daily["arrests"].dtype)
    ('DatetimeIndex', 'date', 'int64')
    >>> int(daily["arrests"].sum()) > 0
    True
    >>> sim.summary["scenario"], sim.summary["parameters"]["confession.p_work"]
    ('toy', 0.02)
    >>> sorted(sim.plot())[:3]
    ['arrests', 'cascade', 'cascade_rates']
    >>> type(sim.plot("daily")).__name__
    'Figure'
    >>> sim.story("Old Comrade")["final_state"]
    'shot'
    >>> ps.Sim("toy", pars={"confession.p_work": 2})
    Traceback (most recent call last):
    ...
    purgesim.api.InputError: scenario toy: field 'confession.p_work': value 2 is not allowed: \
Input should be less than or equal to 1; allowed: a number, 0 <= p_work <= 1
    """

    def __init__(self, scenario: str | os.PathLike[str] | Scenario = "toy", *,
                 scale: float | None = None, seed: int | None = None,
                 pars: Mapping[str, Any] | None = None, label: str | None = None,
                 end: str | None = None) -> None:
        self.scenario: Scenario = _load(scenario, pars, scale, seed, end)
        self.pars: dict[str, Any] = _flat_pars(pars)
        self.label = label or self.scenario.name
        self.seconds: float | None = None
        self.engine: EngineSim | None = None
        self.path: Path | None = None  # the folder it was saved to
        self._tmp: Path | None = None

    def __repr__(self) -> str:
        sc = self.scenario
        pars = f", pars={self.pars!r}" if self.pars else ""
        state = "run" if self.engine is not None else "not run"
        return f"Sim({sc.name!r}, scale={sc.scale:g}, seed={sc.seed}{pars}; {state})"

    def run(self, *, check: bool = False) -> Sim:
        """Build the society and run every day; returns the Sim (``sim.run().results``).
        `check=True` verifies the model's invariants every day (slower)."""
        from .runner import simulate

        engine = simulate(self.scenario, check=check)
        self.seconds = engine.run_seconds
        self.engine = engine
        for k in ("results", "_summary", "_view"):
            self.__dict__.pop(k, None)
        self._tmp = None  # a folder of the previous run is no longer this run's
        return self

    def _engine(self) -> EngineSim:
        if self.engine is None:
            raise RuntimeError("this Sim has not run yet: call sim.run() first")
        return self.engine

    @cached_property
    def _summary(self) -> dict[str, Any]:
        from .results import summary

        # through JSON, as summary.json holds it: the same dict as `load_run` gives
        return json.loads(json.dumps(summary(self._engine())))

    def _summary_dict(self) -> dict[str, Any]:
        return self._summary

    @cached_property
    def results(self) -> Results:
        """The results as DataFrames (see `Results`)."""
        engine = self._engine()
        return Results(self._summary, lambda name: _engine_table(engine, name))

    def save(self, path: str | os.PathLike[str], *, force: bool = False,
             report: bool = False) -> Path:
        """Write the run folder `purgesim run` writes (summary.json, Parquet tables, the
        marker; with `report=True` its report.html too).  An existing folder is refused
        unless `force` is given and it is a purgesim run folder, as on the command line."""
        from .runfolder import FolderError, check_output
        from .runner import write

        engine = self._engine()
        out = Path(path)
        try:
            check_output(out, force, "run", option="path",
                         again="force=True to replace a purgesim run folder")
            fn = None
            if report:
                from .report import write_report

                def fn(folder: Path, name: str) -> None:
                    write_report(folder, name=name)
            write(engine, out, force=force, seconds=self.seconds or 0.0, report=fn)
        except FolderError as e:
            raise InputError(str(e).replace("--force", "force=True")) from None
        self.path = out
        return out

    def _run_dir(self) -> Path:
        """A folder holding this run's files, for the report's chart code: the folder it was
        saved to, else a private temporary one (deleted with the Sim)."""
        if self.path is not None and self.path.is_dir():
            return self.path
        if self._tmp is None:
            from .results import write_run

            base = Path(tempfile.mkdtemp(prefix="purgesim-"))
            weakref.finalize(self, shutil.rmtree, base, True)
            write_run(self._engine(), base / "run", self.seconds or 0.0)
            self._tmp = base / "run"
        return self._tmp


class Run(_RunBase):
    """A finished run read from its folder (`load_run`): the same `results`, `summary`,
    `plot()` and `story()` as the `Sim` that wrote it."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._view = self._open()  # validated here: a damaged folder is refused at once
        self._s = self._view.summary

    def __repr__(self) -> str:
        s = self._s
        return f"Run({str(self.path)!r}: {s['scenario']}, scale={s['scale']:g}, seed={s['seed']})"

    def _summary_dict(self) -> dict[str, Any]:
        return self._s

    def _run_dir(self) -> Path:
        return self.path

    def _read(self, name: str) -> pa.Table:
        from .charts import ChartError

        try:
            return self._view.table(name)
        except ChartError as e:
            raise InputError(str(e)) from None

    @cached_property
    def results(self) -> Results:
        """The results as DataFrames (see `Results`)."""
        return Results(self._s, self._read)


def load_run(path: str | os.PathLike[str]) -> Run:
    """A run folder written by `Sim.save` or `purgesim run`, with the same results.

    >>> import tempfile, pathlib
    >>> import purgesim as ps
    >>> sim = ps.Sim("toy", seed=2).run()
    >>> folder = sim.save(pathlib.Path(tempfile.mkdtemp()) / "toy-seed2")
    >>> run = ps.load_run(folder)
    >>> run.results.daily.equals(sim.results.daily)
    True
    >>> run.summary == sim.summary
    True
    >>> ps.load_run(folder / "nothing")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    purgesim.api.InputError: run folder '.../nothing': not a finished run (does not exist); \
allowed: a folder written by 'purgesim run'
    """
    return Run(path)


# ------------------------------------------------------------------------------ ensembles

#: parts of the summary that are not scalar figures of the run (inputs, labels, lists)
_NOT_FIGURES = {"summary_version", "scenario", "country", "seed", "scale", "version",
                "parameters", "named", "mechanisms", "trials", "mass_phase",
                "limits_by_region", "reproduction_by_month", "bytes_per_person",
                "limits_initial", "elite_block", "simulated"}


def figures(summary: Mapping[str, Any]) -> dict[str, float]:
    """The scalar figures of a summary, flat (``"yearly.1937.arrests"``, ``"channels.
    confession"``, ``"cohorts.marshals.shot"``, ...); the date of an endogenous event (the
    halt, a coup) as ``"events.halt.day"``, days from the start of the run."""
    out: dict[str, float] = {}

    def walk(prefix: str, v: Any) -> None:
        if isinstance(v, Mapping):
            for k, w in v.items():
                if k not in _NOT_FIGURES:
                    walk(f"{prefix}.{k}" if prefix else str(k), w)
        elif isinstance(v, int | float) and not isinstance(v, bool):
            out[prefix] = float(v)

    walk("", summary)
    start = dt.date.fromisoformat(summary["parameters"]["start"])
    for k, ev in (summary.get("events") or {}).items():
        try:
            out[f"events.{k}.day"] = float((dt.date.fromisoformat(ev["date"]) - start).days)
        except (TypeError, KeyError, ValueError):
            pass
    return out


def _run_one(scenario: str | Scenario, pars: dict[str, Any], scale: float | None,
             seed: int, out: Path | None) -> tuple[dict[str, Any], pd.DataFrame]:
    """One member of an ensemble (in a worker process): its summary and daily series, and
    its run folder if `out` is given."""
    sim = Sim(scenario, scale=scale, seed=seed, pars=pars).run()
    if out is not None:
        sim.save(out)
    return sim.summary, sim.results.daily


#: the file of an ensemble folder naming its runs
ENSEMBLE = "ensemble.json"


def _label(pars: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in pars.items()) or "baseline"


class MultiSim:
    """An ensemble: every parameter set in `pars` run with every seed in `seeds`, in
    parallel processes, to see the spread of the model's answers.

    `seeds` is a number of seeds (1, 2, ..., n) or a list of seeds; `pars` one dict of
    parameters (as in `Sim`) or a list of them (each set is run with the same seeds: common
    random numbers).  `workers` processes run at once (default: one per core, at most one
    per run; 1 runs in this process).  A run depends only on its scenario, pars, scale and
    seed, never on the workers.  In a script (not a notebook), processes start by importing
    the script again: put the ensemble under ``if __name__ == "__main__":``.

    >>> import purgesim as ps
    >>> ms = ps.MultiSim("toy", seeds=2, workers=1).run()
    >>> s = ms.summary()
    >>> list(s.columns)
    ['median', 'q05', 'q95', 'n']
    >>> row = s.loc["yearly.1937.arrests"]
    >>> bool(row["q05"] <= row["median"] <= row["q95"]), int(row["n"])
    (True, 2)
    >>> type(ms.plot()).__name__
    'Figure'
    """

    def __init__(self, scenario: str | os.PathLike[str] | Scenario = "toy", *,
                 seeds: int | Sequence[int] = 5,
                 pars: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
                 scale: float | None = None, workers: int | None = None,
                 labels: Sequence[str] | None = None) -> None:
        if isinstance(seeds, bool) or not isinstance(seeds, int | Sequence) or \
                isinstance(seeds, str):
            raise InputError(f"seeds: value {seeds!r} is not allowed; allowed: a number of "
                             "seeds or a list of seeds")
        if isinstance(seeds, int):
            if seeds < 1:
                raise InputError(f"seeds: value {seeds} is not allowed; allowed: seeds >= 1")
            seeds = list(range(1, seeds + 1))
        self.seeds: list[int] = [int(s) for s in seeds]
        if not self.seeds:
            raise InputError("seeds: an empty list is not allowed; allowed: at least one seed")
        if len(set(self.seeds)) != len(self.seeds):
            raise InputError(f"seeds: {self.seeds} repeats a seed; allowed: distinct seeds")
        sets = [pars] if pars is None or isinstance(pars, Mapping) else list(pars)
        if not sets:
            raise InputError("pars: an empty list is not allowed; allowed: a dict or a list "
                             "of dicts")
        self.pars: list[dict[str, Any]] = [_flat_pars(p) for p in sets]
        if labels is None:
            labels = [_label(p) for p in self.pars]
        self.labels: list[str] = [str(x) for x in labels]
        if len(self.labels) != len(self.pars) or len(set(self.labels)) != len(self.labels):
            raise InputError(f"labels: {list(self.labels)!r} is not allowed; allowed: one "
                             f"distinct label per parameter set ({len(self.pars)})")
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                    or workers < 1):
            raise InputError(f"workers: value {workers!r} is not allowed; allowed: a whole "
                             "number >= 1")
        # refuse bad input now, not in a worker after the first runs
        self.scenarios = [_load(scenario, p, scale, None) for p in self.pars]
        self.name = self.scenarios[0].name
        self._scenario = scenario if isinstance(scenario, Scenario) else os.fspath(scenario)
        self.scale = scale
        self.workers = workers
        self._members = [(lab, s) for lab in self.labels for s in self.seeds]
        self.summaries: list[dict[str, Any]] = []
        self.daily: list[pd.DataFrame] = []
        self.folders: list[Path] = []
        self.seconds: float | None = None

    def runs(self) -> list[tuple[str, int]]:
        """The (label, seed) of each run, in order."""
        return list(self._members)

    def __repr__(self) -> str:
        state = f"{len(self.summaries)} runs done" if self.summaries else "not run"
        return (f"MultiSim({self.name!r}, {len(self.labels)} parameter set(s) x "
                f"{len(self.seeds)} seeds; {state})")

    def _member_folder(self, out: Path, label: str, seed: int) -> Path:
        if len(self.labels) == 1:
            return out / f"seed{seed}"
        return out / f"set{self.labels.index(label) + 1}-seed{seed}"

    def run(self, out: str | os.PathLike[str] | None = None) -> MultiSim:
        """Run every member; returns the MultiSim.  With `out`, a new folder, every member
        is also written there as a run folder (``seed1``, ... or ``set1-seed1``, ... for
        several parameter sets) with ``ensemble.json`` naming them (`from_runs` reads it
        back); nothing already there is replaced."""
        from .runfolder import FolderError, atomic_write, check_output

        folders: list[Path | None] = [None] * len(self._members)
        if out is not None:
            base = Path(out)
            try:
                check_output(base, False, "run", option="out",
                             again="an empty folder (an ensemble replaces nothing)")
                folders = [self._member_folder(base, lab, s) for lab, s in self._members]
            except FolderError as e:
                raise InputError(str(e)) from None
            base.mkdir(parents=True, exist_ok=True)
        jobs = [(self._scenario, p, self.scale, s, f) for (p, s), f in zip(
            [(p, s) for p in self.pars for s in self.seeds], folders)]
        workers = min(self.workers or os.cpu_count() or 1, len(jobs))
        t0 = time.perf_counter()
        if workers == 1:
            results = [_run_one(*j) for j in jobs]
        else:
            # spawn (never fork): numba's threads and a notebook's state stay out of workers
            ctx = multiprocessing.get_context("spawn")
            pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
            try:
                results = list(pool.map(_run_one, *zip(*jobs)))
            except BaseException:  # Ctrl-C or a failed run: do not wait for the others
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            pool.shutdown()
        self.seconds = time.perf_counter() - t0
        self.summaries = [s for s, _ in results]
        self.daily = [d for _, d in results]
        if out is not None:
            self.folders = [f for f in folders if f is not None]
            atomic_write(Path(out) / ENSEMBLE, json.dumps({
                "format": "purgesim-ensemble", "version": 1, "scenario": self.name,
                "sets": [{"label": lab, "pars": p} for lab, p in zip(self.labels, self.pars)],
                "seeds": self.seeds,
                "runs": [{"set": lab, "seed": s, "folder": f.name}
                         for (lab, s), f in zip(self._members, self.folders)],
            }, indent=1, default=str) + "\n")
        return self

    @classmethod
    def from_runs(cls, runs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
                  ) -> MultiSim:
        """An ensemble of finished run folders: a folder written by ``run(out=...)``, or a
        list of run folders (e.g. of ``purgesim run --seed N``).  Runs whose parameters
        differ only in their seed form one parameter set."""
        if isinstance(runs, str | os.PathLike):
            base = Path(runs)
            try:
                meta = json.loads((base / ENSEMBLE).read_text(encoding="utf-8"))
                members = [(str(r["set"]), int(r["seed"]), str(r["folder"]))
                           for r in meta["runs"]]
                for _, _, name in members:  # a run's own folder inside the ensemble's
                    if Path(name).name != name or name in ("", ".", ".."):
                        raise ValueError(name)
            except (OSError, ValueError, KeyError, TypeError) as e:
                raise InputError(f"ensemble folder {str(base)!r}: no readable {ENSEMBLE} "
                                 f"({type(e).__name__}); allowed: a folder written by "
                                 "MultiSim.run(out=...), or a list of run folders") from None
            loaded = [(lab, Run(base / f)) for lab, _, f in members]
        else:
            loaded_runs = [Run(p) for p in runs]
            if not loaded_runs:
                raise InputError("runs: an empty list is not allowed; allowed: run folders")
            keys = [json.dumps({k: v for k, v in r.summary["parameters"].items()
                                if k != "seed"} | {"scenario": r.summary["scenario"]},
                               sort_keys=True, default=str) for r in loaded_runs]
            distinct = list(dict.fromkeys(keys))
            params = [json.loads(k) for k in distinct]
            varying = sorted({k for p in params for k in p if any(
                q.get(k) != p.get(k) for q in params)})
            labels = [", ".join(f"{k}={p.get(k)}" for k in varying) or "baseline"
                      for p in params]
            loaded = [(labels[distinct.index(k)], r) for k, r in zip(keys, loaded_runs)]
        if not loaded:
            raise InputError("runs: no run; allowed: at least one run folder")
        ms = cls.__new__(cls)
        ms.labels = list(dict.fromkeys(lab for lab, _ in loaded))
        ms._members = [(lab, int(r.summary["seed"])) for lab, r in loaded]
        if len(set(ms._members)) != len(ms._members):
            raise InputError("runs: two runs of the same parameters and seed; allowed: "
                             "one run per parameter set and seed")
        ms.seeds = list(dict.fromkeys(s for _, s in ms._members))
        ms.pars = [{} for _ in ms.labels]
        ms.name = str(loaded[0][1].summary["scenario"])
        ms.scenarios = []
        ms.scale = float(loaded[0][1].summary["scale"])
        ms.workers = 1
        ms.summaries = [r.summary for _, r in loaded]
        ms.daily = [r.results.daily for _, r in loaded]
        ms.folders = [r.path for _, r in loaded]
        ms.seconds = None
        return ms

    def _done(self) -> None:
        if not self.summaries:
            raise RuntimeError("this MultiSim has not run yet: call ms.run() first")

    def table(self) -> pd.DataFrame:
        """Every scalar figure of every run: one row per run (index ``set``, ``seed``), one
        column per figure (see `figures`)."""
        self._done()
        rows = [figures(s) for s in self.summaries]
        idx = pd.MultiIndex.from_tuples(self.runs(), names=["set", "seed"])
        t = pd.DataFrame(rows, index=idx)
        # a channel that arrested nobody is left out of a summary: its share is 0.  Other
        # figures missing from a run (an event that did not happen) stay NaN.
        shares = [c for c in t.columns if c.startswith("channels.")]
        t[shares] = t[shares].fillna(0.0)
        return t

    def summary(self, low: float = 0.05, high: float = 0.95) -> pd.DataFrame:
        """Median and the `low`-`high` quantile interval (default 5-95%) of every scalar
        figure over the seeds: index ``figure`` (one parameter set) or ``set``, ``figure``;
        columns median, q05, q95 (named after the quantiles) and n, the runs that have the
        figure (fewer than the seeds for an event that did not happen in every run)."""
        t = self.table()
        lo, hi = _quantile_name(low), _quantile_name(high)
        parts = []
        for lab in self.labels:
            x = t.xs(lab, level="set")
            parts.append(pd.DataFrame({
                "median": x.median(), lo: x.quantile(low), hi: x.quantile(high),
                "n": x.count().astype(np.int64)}).rename_axis("figure"))
        if len(parts) == 1:
            return parts[0]
        return pd.concat(parts, keys=self.labels, names=["set", "figure"])

    def bands(self, column: str = "arrests", low: float = 0.05, high: float = 0.95,
              smooth: int = 7) -> pd.DataFrame:
        """A daily series over the seeds: median and quantiles of its `smooth`-day trailing
        mean, one column each per parameter set (MultiIndex columns ``set``, ``stat``)."""
        self._done()
        if column not in self.daily[0].columns:
            raise InputError(f"column {column!r}: unknown; allowed: "
                             f"{', '.join(self.daily[0].columns)}")
        out = {}
        for lab in self.labels:
            m = pd.concat([d[column] for (x, _), d in zip(self._members, self.daily)
                           if x == lab], axis=1)
            m = m.astype(float).rolling(smooth, min_periods=1).mean()
            out[(lab, "median")] = m.median(axis=1)
            out[(lab, "low")] = m.quantile(low, axis=1)
            out[(lab, "high")] = m.quantile(high, axis=1)
        df = pd.DataFrame(out)
        df.columns.names = ["set", "stat"]
        return df

    def plot(self, kind: str = "daily", columns: Sequence[str] | None = None,
             low: float = 0.05, high: float = 0.95) -> go.Figure:
        """Bands of the ensemble: ``"daily"`` draws the median of each daily series in
        `columns` (default arrests and death sentences, 7-day means) in its `low`-`high`
        band; ``"yearly"`` draws the yearly totals (default arrests, convictions, death
        sentences) as medians with interval bars.  One colour per parameter set."""
        import plotly.graph_objects as go

        from .charts import OP_COLOURS

        self._done()
        fig = go.Figure()
        pct = f"{round(100 * low)}-{round(100 * high)}%"
        if kind == "daily":
            cols = list(columns or ["arrests", "shot"])
            dashes = ["solid", "dot", "dash", "dashdot"]
            for ci, col in enumerate(cols):
                b = self.bands(col, low, high)
                x = b.index
                for si, lab in enumerate(self.labels):
                    colour = OP_COLOURS[si % len(OP_COLOURS)]
                    name = f"{lab}: {col}" if len(self.labels) > 1 else col
                    fig.add_trace(go.Scatter(x=x, y=b[(lab, "high")], mode="lines",
                                             line={"width": 0}, showlegend=False,
                                             hoverinfo="skip", legendgroup=name))
                    fig.add_trace(go.Scatter(x=x, y=b[(lab, "low")], mode="lines",
                                             line={"width": 0}, fill="tonexty",
                                             fillcolor=_rgba(colour, 0.2),
                                             name=f"{name} ({pct})", legendgroup=name,
                                             hoverinfo="skip"))
                    fig.add_trace(go.Scatter(x=x, y=b[(lab, "median")], mode="lines",
                                             line={"color": colour,
                                                   "dash": dashes[ci % len(dashes)]},
                                             name=f"{name} (median)", legendgroup=name))
            fig.update_layout(title=f"{self.name}: {len(self.summaries)} runs, "
                                    f"median and {pct} band (7-day means, a day)",
                              yaxis={"title": "a day", "rangemode": "tozero"},
                              hovermode="x unified")
            return fig
        if kind == "yearly":
            measures = list(columns or ["arrests", "convictions", "death_sentences"])
            s = self.summary(low, high)
            lo, hi = s.columns[1], s.columns[2]
            years = list(self.summaries[0]["yearly"])
            for lab in self.labels:
                part = s if len(self.labels) == 1 else s.xs(lab, level="set")
                for m in measures:
                    keys = [f"yearly.{y}.{m}" for y in years]
                    if not all(k in part.index for k in keys):
                        raise InputError(f"measure {m!r}: unknown; allowed: "
                                         f"{', '.join(self.summaries[0]['yearly'][years[0]])}")
                    med = part.loc[keys, "median"].to_numpy()
                    fig.add_trace(go.Bar(
                        x=years, y=med,
                        name=f"{lab}: {m}" if len(self.labels) > 1 else m,
                        error_y={"type": "data", "symmetric": False,
                                 "array": part.loc[keys, hi].to_numpy() - med,
                                 "arrayminus": med - part.loc[keys, lo].to_numpy()}))
            fig.update_layout(title=f"{self.name}: yearly totals over "
                                    f"{len(self.summaries)} runs (median, {pct} bars)",
                              barmode="group", yaxis={"title": "people"})
            return fig
        raise InputError(f"plot kind {kind!r}: unknown; allowed: daily, yearly")


def _quantile_name(q: float) -> str:
    """q05, q95; q2.5 for a quantile that is not a whole percent."""
    if not 0 <= q <= 1:
        raise InputError(f"quantile {q!r}: not allowed; allowed: a number from 0 to 1")
    pct = round(100 * q, 6)
    return f"q{pct:02.0f}" if float(pct).is_integer() else f"q{pct:g}"


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"
