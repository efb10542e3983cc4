"""Ensembles on the command line: `purgesim run SCENARIO --seeds N` and its report.

One seed is one draw of a stochastic model, not its answer.  An ensemble runs the scenario
with N seeds (in parallel processes, through `purgesim.api.MultiSim`, the Python API's own
ensemble code) and writes one folder::

    OUT/seed1/ ... OUT/seedN/   each run's own run folder (as `purgesim run --seed K`)
    OUT/ensemble.json           the runs, and the median and 5-95% interval over the seeds
                                of every yearly figure and the main scalar figures
    OUT/report.html             bands for the daily series, intervals in the tables
    OUT/purgesim-run.json       the marker, kind "ensemble", written last

The folder follows the run-folder rules (`purgesim.runfolder`): written under a temporary
name and renamed when complete; an existing folder is replaced only with ``--force`` and
only if it is an ensemble folder purgesim wrote.  Nothing here depends on the number of
worker processes, so ensemble.json is the same bit for bit whatever ``--workers``.

It also reads the calibration's posterior-predictive intervals
(``purgesim/calibration/SCENARIO-predictive.csv``) that the single-run summary prints beside
its yearly table.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import json
import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .runfolder import FolderError

if TYPE_CHECKING:
    import pandas as pd

    from .api import MultiSim
    from .scenario import Scenario

KIND = "ensemble"
ENSEMBLE = "ensemble.json"
LOW, HIGH = 0.05, 0.95
#: the daily series drawn as bands in the report: (figure id, title, [(column, name, colour)])
BANDS: list[tuple[str, str, list[tuple[str, str, str]]]] = [
    ("arrests", "Arrests a day", [("arrests", "arrests", "#444444")]),
    ("sentences", "Convictions and {death_sentences} a day",
     [("convictions", "convictions", "#1f77b4"), ("shot", "{death_sentences}", "#d62728")]),
    ("camp", "{Camp_sentences} and releases a day",
     [("camp", "{camp_sentences}", "#2ca02c"), ("releases", "releases", "#9467bd")]),
]
#: the yearly measures shown in tables (summary key, words)
YEARLY = [("arrests", "arrests"), ("convictions", "convictions"),
          ("death_sentences", "death sentences"), ("camp_sentences", "camp"),
          ("releases", "releases"), ("camp_deaths", "camp deaths")]


def words_of(summary: Mapping[str, Any]) -> dict[str, str]:
    """The run's words (France: "guillotined", "prison"; the USSR's by default)."""
    from .words import merged

    labels = summary.get("labels")
    return merged(labels if isinstance(labels, dict) else None)


def yearly_words(words: Mapping[str, str]) -> list[tuple[str, str]]:
    """`YEARLY` in the run's words."""
    own = {"death_sentences": words["death_sentences"], "camp_sentences": words["camp"]}
    return [(k, own.get(k, w)) for k, w in YEARLY]


class EnsembleError(FolderError):
    """A folder that is not a complete ensemble: one line, exit 2."""


# ------------------------------------------------------------------------------ intervals


def _num(v: Any) -> float | None:
    """A float for JSON, or None for a figure no run has (NaN)."""
    if v is None:
        return None
    f = float(v)
    return None if math.isnan(f) else f


def _interval(table: pd.DataFrame, key: str) -> dict[str, Any] | None:
    """median, q05, q95 and n (the runs that have the figure) of one figure."""
    if key not in table.index:
        return None
    row = table.loc[key]
    return {"median": _num(row["median"]), "q05": _num(row["q05"]), "q95": _num(row["q95"]),
            "n": int(row["n"])}


def _day_date(start: dt.date, day: float | None) -> str | None:
    return None if day is None else (start + dt.timedelta(days=math.floor(day + 0.5))).isoformat()


def intervals(ms: MultiSim) -> dict[str, Any]:
    """The ensemble's summary: median and 5-95% over the seeds of the yearly figures, cohort
    attrition, channel shares, operations, the cascade and the halt date (if any run halted),
    and of every scalar figure (``figures``, flat names as `api.figures`).  Depends only on
    the runs, in their order: never on timing or workers."""
    t = ms.summary(LOW, HIGH)
    first = ms.summaries[0]
    start = dt.date.fromisoformat(first["parameters"]["start"])
    out: dict[str, Any] = {"quantiles": [LOW, 0.5, HIGH]}
    out["yearly"] = {y: {k: _interval(t, f"yearly.{y}.{k}") for k in v}
                     for y, v in first["yearly"].items()}
    out["cohorts"] = {c: {"size": _interval(t, f"cohorts.{c}.size"),
                          "arrested": _interval(t, f"cohorts.{c}.arrested"),
                          "shot": _interval(t, f"cohorts.{c}.shot")}
                      for c in first["cohorts"]}
    channels = sorted({k for s in ms.summaries for k in s["channels"]},
                      key=lambda k: list(first["channels"]).index(k)
                      if k in first["channels"] else len(first["channels"]))
    out["channels"] = {k: _interval(t, f"channels.{k}") for k in channels}
    out["operations"] = {op: {m: _interval(t, f"operations.{op}.{m}")
                              for m in ("arrests", "convictions", "shot")}
                         for op in first["operations"]}
    out["cascade"] = {k: _interval(t, f"cascade.{k}") for k in first.get("cascade", {})
                      if f"cascade.{k}" in t.index}
    halt = _interval(t, "events.halt.day")
    if halt is None or halt["n"] == 0:
        out["halt"] = {"runs": 0, "of": len(ms.summaries)}
    else:
        out["halt"] = {"runs": halt["n"], "of": len(ms.summaries),
                       "median": _day_date(start, halt["median"]),
                       "q05": _day_date(start, halt["q05"]),
                       "q95": _day_date(start, halt["q95"])}
    out["figures"] = {k: _interval(t, k) for k in t.index}
    return out


# ------------------------------------------------------------------------------ writing


def seeds_of(seed: int | None, n: int) -> list[int]:
    """The seeds of `--seeds n`: 1..n, or from `--seed S` on, S..S+n-1."""
    first = 1 if seed is None else seed
    return list(range(first, first + n))


def default_out(scenario: str, seeds: list[int], scale: float) -> Path:
    return Path("runs") / f"{Path(scenario).stem}-seeds{seeds[0]}-{seeds[-1]}-scale{scale:g}"


def write_ensemble(scenario: Scenario, seeds: list[int], out: Path, *, force: bool = False,
                   workers: int = 1, report: bool = True, overrides: list[str] | None = None,
                   check: Callable[[], None] | None = None,
                   warn: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run `scenario` with every seed and write the ensemble folder `out` (see the module's
    docstring); returns ensemble.json's content.  `out` must have passed
    ``check_output(out, force, "ensemble")``.  `overrides` (the ``--set`` items already in
    `scenario`) are recorded, since the runs' parameter set is the scenario as given.
    `check` is called before the folder is put in place (the command line's stop signal).
    A report that cannot be made is left out and `warn` told why (the runs are still worth
    keeping), as for a single run."""
    from .api import InputError, MultiSim
    from .runfolder import atomic_write, staged, write_marker

    out = Path(out)
    with staged(out, force, check) as tmp:
        try:
            ms = MultiSim(scenario, seeds=seeds, workers=workers).run(out=tmp)
        except InputError as e:
            raise FolderError(str(e)) from None
        data = _index(tmp) | {"overrides": list(overrides or [])} | intervals(ms)
        atomic_write(tmp / ENSEMBLE, json.dumps(data, indent=1) + "\n")
        has_report = False
        if report:
            from .charts import ChartError
            from .report import ReportError

            try:
                write_report(tmp, name=out.name, ms=ms)
                has_report = True
            except (ChartError, ReportError, EnsembleError) as e:
                if warn is not None:
                    warn(f"report not written: {e}")
        write_marker(tmp, KIND, runs=len(seeds), report=has_report)
    return data


def _index(folder: Path) -> dict[str, Any]:
    """ensemble.json as `MultiSim.run(out=...)` wrote it (the runs; `from_runs` reads it)."""
    return json.loads((folder / ENSEMBLE).read_text(encoding="utf-8"))


def open_ensemble(folder: Path | str) -> dict[str, Any]:
    """A complete ensemble folder's ensemble.json, or one line saying why not."""
    from .runfolder import MAX_SUMMARY_BYTES, read_marker

    folder = Path(folder)
    m = read_marker(folder)
    if m is None or m["kind"] != KIND or m.get("complete") is not True:
        raise EnsembleError(f"ensemble folder {str(folder)!r}: no complete ensemble marker; "
                            "allowed: a folder written by 'purgesim run SCENARIO --seeds N'")
    f = folder / ENSEMBLE
    try:
        if f.stat().st_size > MAX_SUMMARY_BYTES:
            raise ValueError("too large")
        data = json.loads(f.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("yearly"), dict):
            raise ValueError("not an ensemble summary")
    except (OSError, ValueError, RecursionError) as e:
        raise EnsembleError(f"ensemble folder {str(folder)!r}: {ENSEMBLE}: unreadable "
                            f"({str(e)[:80]}); allowed: a complete folder written by "
                            "'purgesim run SCENARIO --seeds N' (run it again)") from None
    return data


# ------------------------------------------------------------------------------ text


def iv_text(iv: Mapping[str, Any] | None, fmt: Callable[[float], str]) -> str:
    """'median (q05–q95)'; an empty string for a figure no run has."""
    if not iv or iv.get("median") is None:
        return ""
    return f"{fmt(iv['median'])} ({fmt(iv['q05'])}–{fmt(iv['q95'])})"


def halt_text(halt: Mapping[str, Any]) -> str:
    if not halt.get("runs"):
        return f"no halt in any of the {halt.get('of', 0)} runs"
    return (f"halt in {halt['runs']} of {halt['of']} runs: median {halt['median']} "
            f"({halt['q05']} to {halt['q95']})")


# ------------------------------------------------------------------------------ calibration


def predictive(scenario: str, parameters: Mapping[str, Any]) -> dict[str, tuple[float, ...]]:
    """The calibration's posterior-predictive 5/50/95% of the yearly figures, by name
    (``"yearly.1937.arrests"``), from ``purgesim/calibration/SCENARIO-predictive.csv``;
    empty unless `parameters` hold every calibrated value of that scenario unchanged (the
    intervals say nothing about a run with other values)."""
    from .calstatus import CALIBRATION_DIR, calibrations

    cal = next((c for c in calibrations() if c.scenario == scenario), None)
    path = CALIBRATION_DIR / f"{scenario}-predictive.csv"
    if cal is None or not path.is_file():
        return {}
    for name, v in cal.values.items():
        w = parameters.get(name)
        if not isinstance(w, int | float) or isinstance(w, bool) or \
                not math.isclose(float(w), float(v), rel_tol=1e-9, abs_tol=0.0):
            return {}
    out: dict[str, tuple[float, ...]] = {}
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            what = row.get("what") or ""
            if what.startswith("yearly."):
                try:
                    out[what] = (float(row["p5"]), float(row["p50"]), float(row["p95"]))
                except (KeyError, TypeError, ValueError):
                    continue
    return out


# ------------------------------------------------------------------------------ report


def _fmt_count(v: float) -> str:
    return f"{round(v):,}"


def _fmt_share(v: float) -> str:
    return f"{100 * v:.1f}%"


def _band_figure(ms: MultiSim, title: str, series: list[tuple[str, str, str]],
                 record: dict[str, Any] | None) -> dict[str, Any]:
    """A Plotly figure (dict) of daily series over the seeds: each series' 5-95% band
    (its 7-day trailing mean) and median."""
    from .api import _rgba
    from .charts import SMOOTH_DAYS, _layout, _round

    data: list[dict[str, Any]] = []
    for col, name, colour in series:
        if col not in ms.daily[0].columns:
            continue
        b = ms.bands(col, LOW, HIGH, smooth=SMOOTH_DAYS)
        lab = ms.labels[0]
        x = [d.strftime("%Y-%m-%d") for d in b.index]
        data.append({"type": "scatter", "mode": "lines", "x": x,
                     "y": _round(b[(lab, "high")].to_numpy(), 1), "line": {"width": 0},
                     "showlegend": False, "hoverinfo": "skip", "legendgroup": col})
        data.append({"type": "scatter", "mode": "lines", "x": x,
                     "y": _round(b[(lab, "low")].to_numpy(), 1), "line": {"width": 0},
                     "fill": "tonexty", "fillcolor": _rgba(colour, 0.22),
                     "name": f"{name}: 5–95% over seeds", "legendgroup": col,
                     "hoverinfo": "skip"})
        data.append({"type": "scatter", "mode": "lines", "x": x,
                     "y": _round(b[(lab, "median")].to_numpy(), 1),
                     "line": {"color": colour, "width": 1.8}, "name": f"{name}: median",
                     "legendgroup": col, "hovertemplate": "%{y:,.0f}"})
        if record and col in record:
            data.append({"type": "scatter", "mode": "lines", **record[col],
                         "name": f"record: {name} (yearly figure ÷ days)",
                         "line": {"color": colour, "width": 2, "dash": "dash"}})
    return {"data": data, "layout": _layout(
        f"{title} over {len(ms.summaries)} seeds (median and 5–95% band of the "
        f"{SMOOTH_DAYS}-day mean)", yaxis={"title": {"text": "a day"}, "rangemode": "tozero"})}


def _yearly_figure(e: Mapping[str, Any], record: Mapping[str, Any],
                   words: Mapping[str, str]) -> dict[str, Any]:
    from .charts import YEARLY_MEASURES, _layout, yearly_record_ticks

    years = list(e["yearly"])
    colours = ["#555555", "#1f77b4", "#d62728", "#2ca02c"]
    data = []
    for (key, name, rid), colour in zip(YEARLY_MEASURES[:4], colours):
        name = words.get(key, name)  # death and camp sentences in the run's words
        ivs = [e["yearly"][y].get(key) or {} for y in years]
        if not all(iv.get("median") is not None for iv in ivs):
            continue
        med = [iv["median"] for iv in ivs]
        data.append({"type": "bar", "name": name, "x": years, "y": med,
                     "marker": {"color": colour}, "offsetgroup": key,
                     "error_y": {"type": "data", "symmetric": False,
                                 "array": [iv["q95"] - m for iv, m in zip(ivs, med)],
                                 "arrayminus": [m - iv["q05"] for iv, m in zip(ivs, med)]},
                     "hovertemplate": f"{name} %{{x}}: median %{{y:,.0f}}<extra></extra>"})
        ticks_trace = yearly_record_ticks(record.get, key, name, rid, years)
        if ticks_trace is not None:
            data.append(ticks_trace)
    return {"data": data, "layout": _layout(
        "Yearly totals (bars: median over seeds, whiskers: 5–95%; black ticks: the record)",
        barmode="group", scattermode="group", hovermode="closest",
        xaxis={"type": "category"}, yaxis={"title": {"text": "people"}})}


def sections(folder: Path, e: Mapping[str, Any], ms: MultiSim) -> list[dict[str, Any]]:
    """The ensemble report's sections (rendered by static/sections.js, as a run's)."""
    from .charts import CHANNELS, YEARLY_MEASURES, RunView, _table, cohort_keys, cohort_name

    view = RunView(ms.folders[0]) if ms.folders else None
    record = view.record if view is not None else {}
    steps: dict[str, Any] | None = None
    if view is not None and record:
        steps = {}
        for col, key in (("arrests", "ARR"), ("convictions", "CONV"), ("shot", "DEATH"),
                         ("camp", "CAMP")):
            st = view._record_steps(key)
            if st:
                steps[col] = st
    n = len(ms.summaries)
    out: list[dict[str, Any]] = []
    words = view.words if view is not None else words_of(ms.summaries[0])
    own = {"death_sentences": words["death_sentences"],
           "camp_sentences": words["camp_sentences"],
           "Camp_sentences": words["camp_sentences"].capitalize()}
    yearly = yearly_words(words)
    for fid, template, templates in BANDS:
        title = template.format(**own)
        series = [(c, w.format(**own), colour) for c, w, colour in templates]
        out.append({"id": f"bands-{fid}", "title": title,
                    "note": ("Each seed is one draw of the model; the band holds 90% of the "
                             "seeds on each day, the line is their median." if fid == "arrests"
                             else ""),
                    "figure": _band_figure(ms, title, series, steps)})
    head = ["year"] + [f"{w}: median (5–95%)" for _, w in yearly]
    if record:
        head += ["record: arrests", "record: convictions", "record: death sentences"]
    rows: list[list[Any]] = []
    for y, v in e["yearly"].items():
        r: list[Any] = [y] + [iv_text(v.get(k), _fmt_count) for k, _ in yearly]
        if record:
            for _key, _, rid in YEARLY_MEASURES[:3]:
                row = record.get(f"SU-Y{y}-{rid}")
                r.append(_fmt_count(row.value) if row is not None and row.value is not None
                         else "—")
        rows.append(r)
    out.append({"id": "yearly", "title": "Yearly totals over the seeds",
                "note": f"Median and 5–95% interval over {n} seeds of each yearly total "
                        "(full-population figures).",
                "figure": _yearly_figure(e, record, words), "table": _table(head, rows, "yearly")})
    c = e["cohorts"]
    crow = []
    for k in cohort_keys(c):
        size = (c[k].get("size") or {}).get("median")
        crow.append([cohort_name(k), "" if size is None else _fmt_count(size),
                     iv_text(c[k].get("arrested"), _fmt_count),
                     iv_text(c[k].get("shot"), _fmt_count)])
    out.append({"id": "cohorts", "title": "Cohort attrition over the seeds",
                "table": _table(["cohort", "size", "arrested: median (5–95%)",
                                 f"{words['shot']}: median (5–95%)"], crow, "cohorts")})
    names = {k: w for k, w, _ in CHANNELS} | {"top_down": "top-down (all)",
                                              "bottom_up": "bottom-up (all)"}
    chrows = [[names.get(k, k.replace("_", " ")), iv_text(iv, _fmt_share)]
              for k, iv in e["channels"].items()]
    out.append({"id": "channels", "title": "Arrests by channel over the seeds",
                "note": "Share of all arrests started by each channel.",
                "table": _table(["channel", "share: median (5–95%)"], chrows, "channels")})
    if e["operations"]:
        orows = [[op] + [iv_text(v.get(m), _fmt_count) for m in ("arrests", "convictions",
                                                                 "shot")]
                 for op, v in e["operations"].items()]
        out.append({"id": "operations",
                    "title": f"{words['mass_operations'].capitalize()} over the seeds",
                    "table": _table(["operation", "arrests: median (5–95%)",
                                     "convictions", words["shot"]], orows, "limits")})
    runs = []
    for s, f in zip(ms.summaries, ms.folders):
        halt = (s.get("events", {}).get("halt") or {})
        link = f.name + "/"
        if (f / "report.html").is_file():
            link = ("html", f'<a href="{html.escape(f.name)}/report.html">'
                            f'{html.escape(f.name)}/</a>')
        runs.append([s["seed"], link,
                     _fmt_count(sum(v["arrests"] for v in s["yearly"].values())),
                     _fmt_count(sum(v["death_sentences"] for v in s["yearly"].values())),
                     halt.get("date", "—") if isinstance(halt, dict) else "—"])
    out.append({"id": "runs", "title": "The runs", "collapsed": True,
                "note": "Each seed's run folder (its own report: purgesim report FOLDER).",
                "table": _table(["seed", "folder", "arrests", words["death_sentences"],
                                 "halt"],
                                runs, "runs")})
    return out


def render(folder: Path | str, name: str | None = None, ms: MultiSim | None = None) -> str:
    """The ensemble's report as one self-contained HTML page (as a run's: Plotly inlined)."""
    from . import __version__
    from .api import InputError, MultiSim
    from .report import page

    folder = Path(folder)
    e = json.loads((folder / ENSEMBLE).read_text(encoding="utf-8"))
    if ms is None:
        try:
            ms = MultiSim.from_runs(folder)
        except InputError as err:
            raise EnsembleError(str(err)) from None
    secs = sections(folder, e, ms)
    s0 = ms.summaries[0]
    esc = html.escape
    seeds = [int(s["seed"]) for s in ms.summaries]
    people = s0.get("people", {})
    facts = [f"scenario <b>{esc(str(s0['scenario']))}</b>",
             f"{len(seeds)} seeds ({seeds[0]} to {seeds[-1]})" if seeds == list(
                 range(seeds[0], seeds[0] + len(seeds))) else f"seeds {esc(str(seeds))}",
             f"scale {s0['scale']:g}",
             f"{people.get('simulated', 0):,} people simulated for "
             f"{people.get('represented', 0):,}",
             esc(halt_text(e.get("halt", {})))]
    title = f"{s0['scenario']}, {len(seeds)} seeds"
    toc = "".join(f'<a href="#sec-{esc(x["id"])}">{esc(x["title"])}</a>' for x in secs)
    generated = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    shown = esc(name or folder.name)
    intro = (f"""The same scenario run with {len(seeds)} seeds: every figure is the median over
the seeds with the interval holding 90% of them (5% to 95%). The spread is the model's own
randomness at these parameters, not uncertainty about the parameters. Full-population
figures. Generated by purgesim {esc(__version__)} on {esc(generated)} from
<code>{shown}</code>; each run has its own folder here.""")
    return page(f"purgesim ensemble report: {esc(title)}", facts, intro, toc, secs,
                kind="ensemble")


def write_report(folder: Path | str, out: Path | str | None = None, name: str | None = None,
                 ms: MultiSim | None = None) -> Path:
    """Write the ensemble's report (default: FOLDER/report.html) atomically."""
    from .runfolder import atomic_write

    folder = Path(folder)
    path = Path(out) if out is not None else folder / "report.html"
    text = render(folder, name, ms)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text.encode("utf-8"))
    return path


def workers_default(n: int) -> int:
    """Two processes where there are two cores (the main job's budget), one otherwise."""
    return max(1, min(2, os.cpu_count() or 1, n))
