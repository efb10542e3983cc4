"""The charts and tables of a run, as Plotly figure JSON and small HTML tables.

One module builds every chart; the HTML report (`purgesim report`) inlines them and the
dashboard (`purgesim serve`) serves the very same JSON, so the two never disagree.  Figures
are plain dicts (``{"data": [...], "layout": {...}}``) built from the files of a run folder
(summary.json and the Parquet series); nothing here needs the simulation in memory.

Each figure and table is a function of a `runs.RunFolder` (``fig_arrests_by_channel(run)``,
``table_yearly(run)``, ``sections(run)``): the folder is read by the one reader, a chart only
draws.  `RunView` is a facade kept for existing callers: a `RunFolder` whose methods call
these functions and which refuses a damaged folder with `ChartError`.

The historical record (`purgesim.history`) is drawn on the same axes as the run wherever
it speaks to a quantity, but only for runs of a USSR-sized society (see `record_applies`):
the `toy` scenario is an invented country and is shown without the record.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import re
from collections import defaultdict, deque
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .history import Row, by_id
from .runs import People as People  # re-exported: the mapping moved to runs
from .runs import RunFolder
from .tables import distinct, first_occurrence
from .words import event_word

Figure = dict[str, Any]
Section = dict[str, Any]

#: arrest channels in the order they are stacked, with their colours
CHANNELS: list[tuple[str, str, str]] = [
    ("order", "orders from the top", "#7f0000"),
    ("quota", "quota operations", "#d62728"),
    ("chief_replacement", "replaced chief's clients", "#ff7f0e"),
    ("confession", "named in a confession", "#1f77b4"),
    ("denunciation", "denunciation", "#9467bd"),
    ("vigilance", "lack of vigilance", "#8c564b"),
    ("defender", "defended the accused", "#17becf"),
    ("relative", "relative of the convicted", "#bcbd22"),
    ("routine", "routine policing", "#7f7f7f"),
]

#: cohorts in the order of the attrition chart; the first one a person belongs to colours him
COHORTS: list[tuple[str, str, str]] = [
    ("politburo_1934", "Politburo 1934", "#67000d"),
    ("central_committee_1934", "Central Committee 1934", "#d62728"),
    ("first_government_1917", "first government 1917", "#e377c2"),
    ("congress_17", "17th Congress", "#ff7f0e"),
    ("marshals", "marshals", "#2ca02c"),
    ("army_commanders", "army commanders", "#2ca02c"),
    ("corps_division_commanders", "corps & division commanders", "#98df8a"),
    ("officers", "officers", "#bcbd22"),
    ("state_security", "state security", "#1f77b4"),
]
COHORT_COLOUR = {k: c for k, _, c in COHORTS}
EXTRA_COLOURS = ["#17becf", "#e377c2", "#8c564b", "#bcbd22", "#7f7f7f", "#393b79", "#637939"]


def cohort_keys(cohorts: dict[str, Any]) -> list[str]:
    """The cohorts of a summary: the USSR's in their order, then any others (other countries)."""
    known = [k for k, _, _ in COHORTS if k in cohorts]
    return known + [k for k in cohorts if k not in known]


def cohort_name(key: str) -> str:
    return next((n for k, n, _ in COHORTS if k == key), key.replace("_", " "))
OTHER_COLOURS = {"relative": "#9467bd", "elite": "#8c564b", "ordinary": "#aaaaaa"}

OP_COLOURS = ["#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
              "#17becf", "#bcbd22", "#7f7f7f"]

#: record rows answering an operation's cumulative figures: (operation, measure, row, date)
OP_RECORD: list[tuple[str, str, str, str]] = [
    ("order_00447", "arrests", "SU-447-370815-ARR", "1937-08-15"),
    ("order_00447", "arrests", "SU-447-370901-ARR", "1937-09-01"),
    ("order_00447", "arrests", "SU-361036-381101-ARR447", "1938-11-01"),
    ("order_00447", "convictions", "SU-447-370815-CONV", "1937-08-15"),
    ("order_00447", "convictions", "SU-447-CONV-FINAL", "1938-11-17"),
    ("order_00447", "shot", "SU-447-370901-SHOT", "1937-09-01"),
    ("order_00447", "shot", "SU-447-370907-SHOT", "1937-09-07"),
    ("order_00447", "shot", "SU-447-SHOT-FINAL", "1938-11-17"),
    ("polish", "arrests", "SU-NAT-POL-ARR", "1938-11-17"),
    ("polish", "convictions", "SU-NAT-POL-CONV", "1938-11-17"),
    ("polish", "shot", "SU-NAT-POL-SHOT", "1938-11-17"),
    ("german", "convictions", "SU-NAT-GER-CONV", "1938-11-17"),
    ("german", "shot", "SU-NAT-GER-SHOT", "1938-11-17"),
    ("harbin", "arrests", "SU-HARB-380207-ARR", "1938-02-07"),
    ("harbin", "convictions", "SU-NAT-HARB-CONV", "1938-11-17"),
    ("harbin", "shot", "SU-NAT-HARB-SHOT", "1938-11-17"),
    ("latvian", "convictions", "SU-NAT-LAT-CONV", "1938-11-17"),
    ("latvian", "shot", "SU-NAT-LAT-SHOT", "1938-11-17"),
    ("other_national", "arrests", "SU-NAT-OTHER", "1938-11-17"),
]

#: record rows for cohort attrition: (cohort, measure) -> row id.  CLAIM-MIL is the source
#: article's figure for the marshals (3 of 5), which the record confirms.
COHORT_RECORD: dict[tuple[str, str], str] = {
    ("central_committee_1934", "shot"): "SU-CC34-SHOT",
    ("congress_17", "arrested"): "SU-C17-ARR",
    ("congress_17", "shot"): "SU-C17-SHOT",
    ("politburo_1934", "shot"): "SU-PB34-SHOT",
    ("first_government_1917", "shot"): "SU-SNK1917-KILLED",
    ("state_security", "arrested"): "SU-NKVD-ARR-3638",
    ("marshals", "arrested"): "CLAIM-MIL",
}

YEARLY_MEASURES: list[tuple[str, str, str]] = [
    ("arrests", "arrests", "ARR"),
    ("convictions", "convictions", "CONV"),
    ("death_sentences", "death sentences", "DEATH"),
    ("camp_sentences", "camp sentences", "CAMP"),
    ("exile_sentences", "exile sentences", "EXILE"),
]

BASE_LAYOUT: dict[str, Any] = {
    "margin": {"l": 70, "r": 20, "t": 50, "b": 50},
    "legend": {"orientation": "h", "y": -0.18},
    "hovermode": "x unified",
    "font": {"family": "system-ui, -apple-system, 'Segoe UI', sans-serif", "size": 12},
    "paper_bgcolor": "white",
    "plot_bgcolor": "#fbfbfb",
    "height": 420,
}

SMOOTH_DAYS = 7
TOP_LEGEND = {"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0.5}


class ChartError(Exception):
    pass


def _layout(title: str, **kw: Any) -> dict[str, Any]:
    out = json.loads(json.dumps(BASE_LAYOUT))
    out["title"] = {"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 15}}
    for k, v in kw.items():
        out[k] = v
    return out


def _num(x: float | int | None, digits: int = 0) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    if digits:
        return f"{x:,.{digits}f}"
    return f"{round(x):,}"


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _table(head: list[str], rows: list[list[Any]], cls: str = "") -> str:
    """A small HTML table; cells are escaped unless given as ('html', markup)."""
    def cell(v: Any) -> str:
        if isinstance(v, tuple) and len(v) == 2 and v[0] == "html":
            return str(v[1])
        return _e(v)

    out = [f'<table class="{_e(cls)}"><thead><tr>']
    out += [f"<th>{_e(h)}</th>" for h in head]
    out.append("</tr></thead><tbody>")
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in r) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _smooth(y: np.ndarray, k: int = SMOOTH_DAYS) -> np.ndarray:
    """Trailing k-day mean (the first days average what there is)."""
    y = np.asarray(y, dtype=float)
    c = np.cumsum(np.concatenate([[0.0], y]))
    n = np.arange(1, y.size + 1)
    lo = np.maximum(n - k, 0)
    return (c[n] - c[lo]) / (n - lo)


def _round(a: np.ndarray, digits: int = 2) -> list[float]:
    return np.round(np.asarray(a, dtype=float), digits).tolist()


def _parse_date(text: str | None) -> str | None:
    """The first date in a free text ('1938-03-15', '1939-05', '1924 ...') as YYYY-MM-DD."""
    if not text:
        return None
    m = re.search(r"\b(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?\b", text)
    if m is None:
        return None
    y = m.group(1)
    mo = m.group(2) or "07"
    d = m.group(3) or ("15" if m.group(2) else "01")
    try:
        return dt.date(int(y), int(mo), int(d)).isoformat()
    except ValueError:
        return None


def fate_class(text: str) -> str:
    """A fate written in words ('shot', 'camp (10 years), killed there') as a model state."""
    t = (text or "").lower()
    if not t or t == "invented":
        return ""
    first = t.split(";")[0].split(",")[0]
    for key, cls in (("survived", "free"), ("shot", "shot"), ("executed", "shot"),
                     ("guillotined", "shot"),
                     ("camp", "camp"), ("prison", "camp"), ("abroad", "abroad"),
                     ("exile", "exile"), ("murdered", "died"), ("died", "died"),
                     ("killed", "died"), ("suicide", "died"), ("arrested", "shot")):
        if key in first:
            return cls
    return ""


#: "same fate?": the same state and, when both dates are known, this close (days)
SAME_FATE_DAYS = 183


def date_gap(sim_date: str | None, real: str | None) -> int | None:
    """Days from the real date to the simulated one (negative: simulated earlier); a real
    date known only to the month or the year counts from the nearest day of that month or
    year.  None when either date is unknown."""
    if not sim_date or not real:
        return None
    m = re.search(r"\b(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?\b", real)
    if m is None:
        return None
    try:
        s = dt.date.fromisoformat(sim_date[:10])
        y = int(m.group(1))
        if m.group(3):
            lo = hi = dt.date(y, int(m.group(2)), int(m.group(3)))
        elif m.group(2):
            mo = int(m.group(2))
            lo = dt.date(y, mo, 1)
            hi = dt.date(y + (mo == 12), mo % 12 + 1, 1) - dt.timedelta(days=1)
        else:
            lo, hi = dt.date(y, 1, 1), dt.date(y, 12, 31)
    except ValueError:
        return None
    if s < lo:
        return (s - lo).days
    return (s - hi).days if s > hi else 0


def same_fate(v: dict[str, Any]) -> tuple[str, int | None]:
    """("yes" / "no" / "—", days apart) for a named person of summary.json: the same state
    and, when both dates are known, within SAME_FATE_DAYS of each other."""
    real_c = fate_class(v.get("real_fate", ""))
    if not real_c:
        return "—", None
    gap = date_gap(v.get("date"), v.get("real_date"))
    ok = v["fate"] == real_c and (gap is None or abs(gap) <= SAME_FATE_DAYS)
    return ("yes" if ok else "no"), gap


def halt_date(summary: dict[str, Any]) -> str | None:
    """The date of the halt, if there was one (an entry of summary['events'])."""
    h = summary.get("events", {}).get("halt")
    if isinstance(h, dict):
        h = h.get("date")
    return str(h) if h else None


def record_applies(summary: dict[str, Any]) -> bool:
    """The record drawn here is the USSR's: only for a USSR scenario of a USSR-sized society
    (the toy answers to the USSR's record in name only; France has a record of its own)."""
    if str(summary.get("country", "USSR")).upper() != "USSR":
        return False
    if str(summary.get("scenario", "")).lower().startswith("ussr"):
        return True
    return float(summary.get("people", {}).get("represented", 0)) >= 1e8


# ------------------------------------------------------------------------------ record, words


@lru_cache(maxsize=1)
def _ussr_record() -> dict[str, Row]:
    """The record's rows by id, read once (every figure asks for it)."""
    return by_id()


def record_of(run: RunFolder) -> dict[str, Row]:
    """The record drawn with this run: the USSR's for a USSR run (`record_applies`), else
    nothing.  Shared between runs: read it, do not change it."""
    return _ussr_record() if record_applies(run.summary) else {}


def group_of(run: RunFolder, pid: int) -> str:
    """The group that colours a person in graphs: his first cohort, else his post."""
    p = run.people.get(int(pid))
    if p is None:
        return "ordinary"
    cohorts = [x for x in (p.get("cohorts") or "").split(",") if x]
    for key, _, _ in COHORTS:
        if key in cohorts:
            return key
    if cohorts:
        return cohorts[0]
    post = p.get("post") or "none"
    if post == "relative":
        return "relative"
    return "ordinary" if post == "none" else "elite"


def person_label(run: RunFolder, pid: int) -> str:
    """A person as graphs name him: his name, else his post and region, with his id."""
    p = run.people.get(int(pid))
    if p is None:
        return f"#{pid}"
    if p.get("name"):
        return f"{p['name']} (#{pid})"
    post = str(p.get("post") or "none")
    post = "ordinary person" if post == "none" else post.replace("_", " ")
    return f"#{pid} ({post}, {p.get('region', '')})"


def _rec(run: RunFolder, rid: str) -> Row | None:
    """A row of the record drawn with this run (None: not in it, or no record drawn)."""
    return record_of(run).get(rid)


def word_of(run: RunFolder, key: str) -> str:
    """A measure, event or state in the run's words ('shot' -> 'guillotined')."""
    w = {"death sentences": "death_sentences", "camp sentences": "camp_sentences"}
    if key in w:
        return run.words[w[key]]
    return event_word(key, run.words)


# ------------------------------------------------------------------------------ helpers


def _year_bounds(run: RunFolder, year: str) -> tuple[str, str] | None:
    d = run.dates
    a, b = max(f"{year}-01-01", d[0]), min(f"{year}-12-31", d[-1])
    return (a, b) if a <= b else None


def _record_steps(run: RunFolder, key: str, scale_by_days: bool = True) -> dict[str, Any] | None:
    """The record's yearly figure of `key` (ARR, CONV, DEATH) as a per-day step line."""
    xs: list[Any] = []
    ys: list[Any] = []
    texts: list[Any] = []
    for year in sorted({d[:4] for d in run.dates}):
        row = _rec(run, f"SU-Y{year}-{key}")
        bounds = _year_bounds(run, year)
        if row is None or row.value is None or bounds is None:
            continue
        days = 366 if int(year) % 4 == 0 else 365
        v = row.value / days if scale_by_days else row.value
        xs += [bounds[0], bounds[1], None]
        ys += [round(v, 1), round(v, 1), None]
        t = f"record {year}: {row.value:,.0f} in the year ({v:,.0f} a day; {row.id})"
        texts += [t, t, None]
    if not xs:
        return None
    return {"x": xs, "y": ys, "text": texts, "hoverinfo": "text"}


# ------------------------------------------------------------------------------ charts


def fig_arrests_by_channel(run: RunFolder) -> Figure:
    d = run.daily
    data = []
    for key, name, colour in CHANNELS:
        col = f"arrests_{key}"
        if col not in d or not np.any(d[col]):
            continue
        data.append({"type": "scatter", "mode": "lines", "stackgroup": "arrests",
                     "name": name, "x": run.dates, "y": _round(_smooth(d[col]), 1),
                     "line": {"width": 0.5, "color": colour},
                     "hovertemplate": "%{y:,.0f}"})
    steps = _record_steps(run, "ARR")
    if steps:
        data.append({"type": "scatter", "mode": "lines", "name": "record: arrests a day "
                     "(yearly NKVD figure ÷ days)", **steps,
                     "line": {"color": "black", "width": 2, "dash": "dash"}})
    return {"data": data, "layout": _layout(
        f"Arrests a day by channel ({SMOOTH_DAYS}-day mean)",
        yaxis={"title": {"text": "arrests a day"}, "rangemode": "tozero"})}


def fig_sentences(run: RunFolder) -> Figure:
    d = run.daily
    series = [("convictions", "convictions", "#1f77b4", "CONV"),
              ("shot", "death sentences", "#d62728", "DEATH"),
              ("camp", "camp sentences", "#2ca02c", "CAMP")]
    data = []
    for col, name, colour, key in series:
        if col not in d:
            continue
        name = word_of(run, name)
        data.append({"type": "scatter", "mode": "lines", "name": name, "x": run.dates,
                     "y": _round(_smooth(d[col]), 1), "line": {"color": colour, "width": 1.5},
                     "hovertemplate": "%{y:,.0f}"})
        steps = _record_steps(run, key)
        if steps:
            data.append({"type": "scatter", "mode": "lines", "name": f"record: {name}",
                         **steps, "line": {"color": colour, "width": 2, "dash": "dash"}})
    dashed = "; dashed: the record's yearly figures ÷ days" if record_of(run) else ""
    return {"data": data, "layout": _layout(
        f"Convictions and {word_of(run, 'death sentences')} a day ({SMOOTH_DAYS}-day mean"
        f"{dashed})",
        yaxis={"title": {"text": "a day"}, "rangemode": "tozero"})}


def fig_cumulative(run: RunFolder) -> Figure:
    """Cumulative arrests, convictions, death sentences; the record's cumulated years."""
    d = run.daily
    series = [("arrests", "arrests", "#555555", "ARR"),
              ("convictions", "convictions", "#1f77b4", "CONV"),
              ("shot", "death sentences", "#d62728", "DEATH")]
    data = []
    start = run.dates[0]
    for col, name, colour, key in series:
        name = word_of(run, name)
        data.append({"type": "scatter", "mode": "lines", "name": name, "x": run.dates,
                     "y": _round(np.cumsum(d[col]), 0), "line": {"color": colour},
                     "hovertemplate": "%{y:,.0f}"})
        if not record_of(run) or not start.endswith("-01-01"):
            continue
        xs, ys, texts, total = [], [], [], 0.0
        for year in sorted({x[:4] for x in run.dates}):
            row = _rec(run, f"SU-Y{year}-{key}")
            if row is None or row.value is None or f"{year}-12-31" > run.dates[-1]:
                break
            total += row.value
            xs.append(f"{year}-12-31")
            ys.append(total)
            texts.append(f"record to the end of {year}: {total:,.0f}")
        if xs:
            data.append({"type": "scatter", "mode": "markers", "name": f"record: {name}",
                         "x": xs, "y": ys, "text": texts, "hoverinfo": "text",
                         "marker": {"symbol": "diamond", "size": 11, "color": colour,
                                    "line": {"color": "black", "width": 1}}})
    diamonds = " (diamonds: the record's yearly figures added up)" if record_of(run) else ""
    return {"data": data, "layout": _layout(
        f"Cumulative arrests, convictions and {word_of(run, 'death sentences')}{diamonds}",
        yaxis={"title": {"text": "people"}})}


def fig_operations(run: RunFolder) -> Figure:
    """Cumulative arrests, convictions, shot per operation (three panels), with the record."""
    names, cols = run.operations
    markers = " (markers: the record, with its range)" if record_of(run) else ""
    layout = _layout(f"{run.words['mass_operations'].capitalize()}: cumulative arrests, "
                     f"convictions and {word_of(run, 'shot')}{markers}", height=720,
                     hovermode="closest")
    layout["xaxis"] = {"anchor": "y3", "domain": [0, 1]}
    panels = [("arrests", "y", [0.7, 1.0]), ("convictions", "y2", [0.36, 0.64]),
              ("shot", "y3", [0.0, 0.3])]
    data = []
    for measure, yax, dom in panels:
        axis = "yaxis" if yax == "y" else f"yaxis{yax[1:]}"
        shown = word_of(run, measure)
        layout[axis] = {"domain": dom, "title": {"text": shown}, "rangemode": "tozero"}
        for i, op in enumerate(names):
            colour = OP_COLOURS[i % len(OP_COLOURS)]
            v = cols.get(measure, {}).get(op)
            if v is None:
                continue
            data.append({"type": "scatter", "mode": "lines", "name": op, "x": run.dates,
                         "y": _round(np.cumsum(v), 0), "xaxis": "x", "yaxis": yax,
                         "legendgroup": op, "showlegend": measure == "arrests",
                         "line": {"color": colour},
                         "hovertemplate": f"{op} {shown}: %{{y:,.0f}}<extra></extra>"})
            pts = [(rid, date) for o, m, rid, date in OP_RECORD if o == op and m == measure]
            xs, ys, lo, hi, texts = [], [], [], [], []
            for rid, date in pts:
                row = _rec(run, rid)
                if row is None or row.value is None:
                    continue
                xs.append(date)
                ys.append(row.value)
                lo.append(row.value - (row.low or row.value))
                hi.append((row.high or row.value) - row.value)
                rng = "" if row.low == row.high else \
                    f" (range {row.low:,.0f}–{row.high:,.0f})"
                texts.append(f"record {rid}: {row.value:,.0f}{rng} to {date} — "
                             f"{row.quantity}")
            if xs:
                data.append({"type": "scatter", "mode": "markers", "x": xs, "y": ys,
                             "name": f"record: {op}", "legendgroup": op,
                             "showlegend": False, "xaxis": "x", "yaxis": yax,
                             "text": texts, "hoverinfo": "text",
                             "error_y": {"type": "data", "symmetric": False, "array": hi,
                                         "arrayminus": lo, "color": colour},
                             "marker": {"symbol": "diamond", "size": 11, "color": colour,
                                        "line": {"color": "black", "width": 1}}})
    layout["legend"] = {"orientation": "h", "y": -0.08}
    return {"data": data, "layout": layout}


def fig_operations_daily(run: RunFolder) -> Figure:
    names, cols = run.operations
    data = []
    for i, op in enumerate(names):
        v = cols.get("arrests", {}).get(op)
        if v is None or not np.any(v):
            continue
        data.append({"type": "scatter", "mode": "lines", "stackgroup": "ops", "name": op,
                     "x": run.dates, "y": _round(_smooth(v), 1),
                     "line": {"width": 0.5, "color": OP_COLOURS[i % len(OP_COLOURS)]},
                     "hovertemplate": "%{y:,.0f}"})
    return {"data": data, "layout": _layout(
        f"Arrests a day by operation ({SMOOTH_DAYS}-day mean)",
        yaxis={"title": {"text": "arrests a day"}, "rangemode": "tozero"})}


def yearly_record_ticks(lookup: Callable[[str], Row | None], key: str, name: str, rid: str,
                        years: list[str]) -> dict[str, Any] | None:
    """The record's yearly figures (rows SU-Y<year>-<rid>) as black ticks over the bars of a
    yearly chart (a run's and an ensemble's); None when the record has none of them."""
    xs, ys = [], []
    for yr in years:
        row = lookup(f"SU-Y{yr}-{rid}")
        if row is not None and row.value is not None:
            xs.append(yr)
            ys.append(row.value)
    if not xs:
        return None
    return {"type": "scatter", "mode": "markers", "name": f"record: {name}",
            "x": xs, "y": ys, "offsetgroup": key, "showlegend": False,
            "marker": {"symbol": "line-ew", "size": 22, "color": "black",
                       "line": {"width": 3, "color": "black"}},
            "hovertemplate": f"record {name} %{{x}}: %{{y:,}}<extra></extra>"}


def fig_yearly(run: RunFolder) -> Figure:
    y = run.summary["yearly"]
    years = list(y)
    data = []
    colours = ["#555555", "#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
    for (key, name, rid), colour in zip(YEARLY_MEASURES, colours):
        name = word_of(run, name)
        data.append({"type": "bar", "name": name, "x": years,
                     "y": [y[yr][key] for yr in years], "marker": {"color": colour},
                     "offsetgroup": key, "hovertemplate": f"{name} %{{x}}: %{{y:,}}"
                                                          "<extra>simulated</extra>"})
        ticks_trace = yearly_record_ticks(lambda rid_: _rec(run, rid_), key, name, rid, years)
        if ticks_trace is not None:
            data.append(ticks_trace)
    ticks = " (bars: simulated; black ticks: the record)" if record_of(run) else ""
    return {"data": data, "layout": _layout(
        f"Yearly totals{ticks}", barmode="group",
        scattermode="group", hovermode="closest", xaxis={"type": "category"},
        yaxis={"title": {"text": "people"}})}


def fig_cohorts(run: RunFolder) -> Figure:
    c = run.summary["cohorts"]
    keys = [k for k in cohort_keys(c) if c[k]["size"]]
    names = [cohort_name(k) for k in keys]
    data = []
    for measure, colour in (("arrested", "#ff7f0e"), ("shot", "#d62728")):
        shown = word_of(run, measure)
        data.append({"type": "bar", "name": f"{shown} (simulated)", "x": names,
                     "y": [round(100 * c[k][measure] / c[k]["size"], 1) for k in keys],
                     "text": [f"{c[k][measure]:,} of {c[k]['size']:,}" for k in keys],
                     "textposition": "none", "offsetgroup": measure,
                     "marker": {"color": colour},
                     "hovertemplate": f"%{{x}} {shown}: %{{y}}% (%{{text}})"
                                      "<extra>simulated</extra>"})
        xs, ys, texts = [], [], []
        for k, n in zip(keys, names):
            rid = COHORT_RECORD.get((k, measure))
            row = _rec(run, rid) if rid else None
            if row is None or row.value is None:
                continue
            xs.append(n)
            ys.append(round(100 * row.value / c[k]["size"], 1))
            texts.append(f"{row.value:,.0f} of {c[k]['size']:,} ({rid})")
        if xs:
            data.append({"type": "scatter", "mode": "markers", "x": xs, "y": ys,
                         "name": f"{measure} (record)", "offsetgroup": measure,
                         "text": texts,
                         "marker": {"symbol": "diamond", "size": 12, "color": colour,
                                    "line": {"color": "black", "width": 1.5}},
                         "hovertemplate": f"%{{x}} {measure}: %{{y}}% (%{{text}})"
                                          "<extra>record</extra>"})
    diamonds = " (diamonds: the record where known)" if record_of(run) else ""
    return {"data": data, "layout": _layout(
        f"Cohort attrition: share arrested and {word_of(run, 'shot')}{diamonds}",
        barmode="group", scattermode="group", hovermode="closest",
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0.5},
        xaxis={"automargin": True},
        yaxis={"title": {"text": "% of the cohort"}, "range": [0, 105]})}


#: the NKVD's own counts of the camp and colony population (record rows, added up): kept-back
#: predictions drawn beside the run, never fitted
CAMP_COUNTS: list[tuple[str, tuple[str, ...]]] = [
    ("1936-01-01", ("SU-ITL-360101", "SU-ITK-360101")),
    ("1937-01-01", ("SU-GULAG-370101",)),
    ("1940-01-01", ("SU-ITL-400101", "SU-ITK-400101")),
]


def camp_counts(run: RunFolder) -> list[tuple[str, float, str]]:
    """(date, count, row ids) of the record's camp counts inside the run's period."""
    out = []
    if not record_of(run) or not run.dates:
        return out
    for date, rids in CAMP_COUNTS:
        rows = [_rec(run, r) for r in rids]
        if any(r is None or r.value is None for r in rows) or \
                not run.dates[0] <= date <= run.dates[-1]:
            continue
        out.append((date, float(sum(r.value for r in rows if r is not None and r.value)),
                    " + ".join(rids)))
    return out


def fig_camps(run: RunFolder) -> Figure:
    """The camp and colony population and the people in custody, day by day, with the
    NKVD's counts where the record has them (kept back: the model is not fitted to them)."""
    d = run.daily
    camp = word_of(run, "camp")
    series = [("camp_population", f"{camp}: all prisoners", "#2ca02c", 2.5, "solid"),
              ("camp_political", f"{camp}: the model's political prisoners", "#2ca02c", 1.5,
               "dot"),
              ("camp_other", f"{camp}: prisoners not simulated (aggregate)", "#8c564b", 1.5,
               "dash"),
              ("custody", "in custody (arrested, awaiting trial)", "#9467bd", 1.5, "solid")]
    data = []
    for col, name, colour, width, dash in series:
        if col not in d or (col == "camp_other" and not np.any(d[col])):
            continue
        data.append({"type": "scatter", "mode": "lines", "name": name, "x": run.dates,
                     "y": _round(d[col], 0), "line": {"color": colour, "width": width,
                                                       "dash": dash},
                     "hovertemplate": "%{y:,.0f}"})
    counts = camp_counts(run)
    if counts:
        data.append({"type": "scatter", "mode": "markers",
                     "name": "NKVD count (kept back, not fitted)",
                     "x": [c[0] for c in counts], "y": [c[1] for c in counts],
                     "text": [f"{c[1]:,.0f} on {c[0]} ({c[2]})" for c in counts],
                     "hoverinfo": "text",
                     "marker": {"symbol": "diamond", "size": 12, "color": "#2ca02c",
                                "line": {"color": "black", "width": 1.5}}})
    diamonds = " (diamonds: the NKVD's counts, not fitted)" if counts else ""
    return {"data": data, "layout": _layout(
        f"{camp.capitalize()} population and people in custody{diamonds}",
        yaxis={"title": {"text": "people"}, "rangemode": "tozero"})}


def table_camps(run: RunFolder) -> str:
    """The stocks on 1 January and the yearly flows of summary.json's `camps`, with the
    record's counts and Gulag deaths beside them (kept back: never fitted)."""
    c = run.summary.get("camps")
    if not c:
        return "<p>This run has no camp accounts (written by an older purgesim).</p>"
    counts = {date: (v, rids) for date, v, rids in camp_counts(run)}
    rows = []
    for date, st in c.get("stock", {}).items():
        rec = counts.get(date)
        rows.append([date, _num(st.get("camp_population")), _num(st.get("camp_political")),
                     _num(st.get("camp_other")), _num(st.get("prison_political")),
                     f"{rec[0]:,.0f} ({rec[1]})" if rec else ""])
    stock = _table(["on", "camp population", "of them political (model)",
                    "not simulated (aggregate)", "in custody", "NKVD count"], rows, "camps")
    rows = []
    for y, v in c.get("yearly", {}).items():
        row = _rec(run, f"SU-GULAG-DEATH-{y}") if record_of(run) else None
        rel = v.get("releases_political", {})
        rows.append([y, _num(v.get("admissions_political")), _num(v.get("admissions_other")),
                     _num(v.get("deaths")),
                     f"{row.value:,.0f}" if row is not None and row.value is not None else "",
                     ", ".join(f"{k.replace('_', ' ')} {n:,}" for k, n in rel.items()),
                     _num(v.get("releases_other"))])
    flows = _table(["year", "admitted (political, model)", "admitted (not simulated)",
                    "deaths", "Gulag deaths (record)", "political released, by cause",
                    "others released"], rows, "camps")
    return stock + flows


# ------------------------------------------------------------------------ institutions
#: (measure, colour) drawn for the army by rank group and the police by level
ARMY_MEASURES = [("discharged", "#8c564b"), ("arrested", "#ff7f0e"), ("shot", "#d62728"),
                 ("reinstated", "#2ca02c")]
POLICE_MEASURES = [("dismissed", "#8c564b"), ("arrested", "#ff7f0e"), ("shot", "#d62728")]


def institution_groups(run: RunFolder, which: str) -> dict[str, dict[str, Any]]:
    """The army by rank group (`summary.army.by_rank`) or the police by level
    (`summary.police.by_level`): {group: {"size", "years": {year: {measure: n}}}}; empty
    for a run without them (an older run, or a scenario without the institution)."""
    s = run.summary
    if which == "army":
        return dict((s.get("army") or {}).get("by_rank") or {})
    return dict((s.get("police") or {}).get("by_level") or {})


def _totals(group: dict[str, Any]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for counts in group.get("years", {}).values():
        for k, v in counts.items():
            out[k] += int(v)
    return out


def fig_institution(run: RunFolder, which: str) -> Figure:
    """Share of each rank group (army) or level (police) discharged or dismissed, arrested,
    shot and reinstated over the run: a prediction, never fitted."""
    groups = institution_groups(run, which)
    measures = ARMY_MEASURES if which == "army" else POLICE_MEASURES
    keys = [k for k, g in groups.items() if g.get("size")]
    names = [k.replace("_", " ") for k in keys]
    data = []
    for measure, colour in measures:
        tot = [_totals(groups[k]).get(measure, 0) for k in keys]
        shown = word_of(run, measure)
        data.append({"type": "bar", "name": shown, "x": names,
                     "y": [round(100 * t / groups[k]["size"], 1) for t, k in zip(tot, keys)],
                     "text": [f"{t:,} of {groups[k]['size']:,}" for t, k in zip(tot, keys)],
                     "textposition": "none", "marker": {"color": colour},
                     "hovertemplate": f"%{{x}} {shown}: %{{y}}% (%{{text}})<extra></extra>"})
    what = "rank group" if which == "army" else "level"
    return {"data": data, "layout": _layout(
        f"Share of each {what} by the end of the run (a prediction: never fitted)",
        barmode="group", xaxis={"automargin": True},
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0.5},
        yaxis={"title": {"text": f"% of the {what}"}, "rangemode": "tozero"})}


def army_purge_ran(run: RunFolder) -> bool:
    """The army's own discharges (mechanism j) were on and their period fell in the run."""
    s = run.summary
    on = (s.get("mechanisms", {}).get("army") or {}).get("enabled")
    return bool(on and (s.get("army") or {}).get("start"))


def army_note(run: RunFolder) -> str:
    """What the army's section shows: with the army's own discharges (mechanism j) or, when
    they are off (the calibrated ussr-1937), only the arrests of the other channels."""
    shot = word_of(run, "shot")
    kept = (" Kept back: the model is never fitted to army attrition, so these are "
            "predictions under its assumptions.")
    if army_purge_ran(run):
        return ("Officers discharged by the army's own channels after the Tukhachevsky "
                f"affair, arrested (by any channel), {shot}, and reinstated after appeal, as "
                "shares of each rank group." + kept)
    return ("Officers arrested and " + shot + " by rank group, through the channels of the "
            "whole society (orders, confessions, denunciations, the purge of the police). "
            "The army's own discharges and reinstatements are off in this run "
            "(army.enabled = false; --set army.enabled=true runs them)." + kept)


def table_institution(run: RunFolder, which: str) -> str:
    """Each rank group or level by year: size, then the measures of `fig_institution`."""
    groups = institution_groups(run, which)
    if not groups:
        return "<p>This run has no figures for this institution.</p>"
    measures = [m for m, _ in (ARMY_MEASURES if which == "army" else POLICE_MEASURES)]
    years = sorted({y for g in groups.values() for y in g.get("years", {})})
    rows = []
    for k, g in groups.items():
        if not g.get("size"):
            continue
        for y in years:
            c = g.get("years", {}).get(y, {})
            rows.append([k.replace("_", " "), _num(g["size"]), y,
                         *[_num(c.get(m, 0)) for m in measures]])
        tot = _totals(g)
        rows.append([k.replace("_", " "), _num(g["size"]), "all",
                     *[_num(tot.get(m, 0)) for m in measures]])
    head = ["rank group" if which == "army" else "level", "size", "year",
            *[word_of(run, m) for m in measures]]
    return _table(head, rows, which)


# ------------------------------------------------------------------------------ regions
def _monthly(dates: list[str], v: np.ndarray) -> tuple[list[str], list[float]]:
    """Daily values summed by calendar month: (first day of each month, sums)."""
    months: dict[str, float] = {}
    for d, x in zip(dates, v.tolist()):
        months[d[:7] + "-01"] = months.get(d[:7] + "-01", 0.0) + x
    return list(months), [round(x) for x in months.values()]


def fig_regions(run: RunFolder) -> Figure:
    """Small multiples: each region's monthly arrests (and death sentences), per 1,000
    inhabitants so that regions of any size share one axis. Never fitted: the regional
    monthly series are kept back (issue 15)."""
    names, m = run.regions
    pops = {k: (v or {}).get("population") for k, v in run.summary.get("regions", {}).items()}
    if not names or "arrests" not in m:
        return {"data": [], "layout": _layout("No regional series in this run")}
    cols = 4 if len(names) > 6 else max(len(names), 1)
    rows = math.ceil(len(names) / cols)
    data = []
    shot = word_of(run, "death sentences")
    for i, name in enumerate(names):
        ax = "" if i == 0 else str(i + 1)
        pop = pops.get(name) or 0
        per = 1000.0 / pop if pop else 1.0
        for measure, label, colour in (("arrests", "arrests", "#555555"),
                                       ("shot", shot, "#d62728")):
            if measure not in m:
                continue
            xs, ys = _monthly(run.dates, m[measure][name])
            data.append({"type": "scatter", "mode": "lines", "x": xs,
                         "y": [round(y * per, 3) for y in ys], "name": label,
                         "legendgroup": label, "showlegend": i == 0,
                         "line": {"color": colour, "width": 1.5},
                         "xaxis": "x" + ax, "yaxis": "y" + ax,
                         "hovertemplate": f"{name}: %{{y:.2f}} per 1,000 (%{{x|%b %Y}})"
                                          "<extra></extra>"})
    layout = _layout(
        f"Monthly arrests and {shot} per 1,000 inhabitants, by region (kept back: not "
        "fitted)", height=max(230 * rows + 80, 320), hovermode="closest",
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0.5},
        annotations=[])
    gx, gy = 0.05, 0.12 / rows * 2
    for i, name in enumerate(names):
        ax = "" if i == 0 else str(i + 1)
        col, row = i % cols, i // cols
        x0, x1 = col / cols + gx / 2, (col + 1) / cols - gx / 2
        y0, y1 = 1 - (row + 1) / rows + gy / 2, 1 - row / rows - gy / 2
        layout["xaxis" + ax] = {"domain": [x0, x1], "anchor": "y" + ax, "type": "date",
                                "tickformat": "%Y", "dtick": "M12",
                                **({"matches": "x"} if ax else {})}
        layout["yaxis" + ax] = {"domain": [y0, y1], "anchor": "x" + ax, "rangemode": "tozero",
                                **({"matches": "y"} if ax else {})}
        layout["annotations"].append({"text": name, "showarrow": False, "xref": "paper",
                                      "yref": "paper", "x": x0, "y": y1, "xanchor": "left",
                                      "yanchor": "bottom", "font": {"size": 11}})
    return {"data": data, "layout": layout}


TILES = Path(__file__).resolve().parent / "data" / "region-tiles.csv"


@lru_cache(maxsize=1)
def _tiles() -> dict[str, dict[str, tuple[int, int]]]:
    """Tile positions by scenario: {scenario: {region: (column, row)}} (data/region-tiles.csv)."""
    import csv

    out: dict[str, dict[str, tuple[int, int]]] = {}
    with TILES.open(newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            out.setdefault(r["scenario"], {})[r["region"]] = (int(r["column"]), int(r["row"]))
    return out


def region_tiles(names: list[str]) -> tuple[dict[str, tuple[int, int]], bool]:
    """Where each region is drawn on the tile map, and whether the positions are the shipped
    schematic ones (a scenario whose regions are all in data/region-tiles.csv) or, for any
    other scenario, the regions in order, four to a row."""
    for tiles in _tiles().values():
        if names and set(names) <= set(tiles):
            return {n: tiles[n] for n in names}, True
    return {n: (i % 4, i // 4) for i, n in enumerate(names)}, False


def map_measures(run: RunFolder) -> list[tuple[str, str, dict[str, float]]]:
    """What the map colours, per region over the whole run: (title, unit, {region: value}).

    Arrests and death sentences per 1,000 inhabitants, and, where the run has a mass
    operation with limits by region, the share of its final limit the region arrested."""
    regs = run.summary.get("regions", {})
    out: list[tuple[str, str, dict[str, float]]] = []
    for key, title in (("arrests", "arrests"), ("death_sentences", word_of(run, "shot"))):
        vals = {n: 1000.0 * float(v.get(key, 0)) / v["population"]
                for n, v in regs.items() if v.get("population")}
        if vals:
            out.append((f"{title} per 1,000", "per 1,000", vals))
    key = limits_operation(run)
    if key is not None:
        op = run.summary["operations"][key]
        lim = op.get("limits_by_region", {})
        used = {n: float(v["arrested"]) / max(v["final_cat1"] + v["final_cat2"], 1)
                for n, v in lim.items() if "arrested" in v}
        if used:
            out.append((f"{op.get('order') or key}: share of final limit arrested",
                        "share", used))
    return out


def fig_region_map(run: RunFolder) -> Figure:
    """A schematic tile map of the regions (no licence-clean boundaries of 1937 exist to
    ship): one panel per measure, each region a square coloured by its value over the whole
    run. Kept back: never fitted."""
    names = list(run.summary.get("regions", {}))
    measures = map_measures(run)
    if not names or not measures:
        return {"data": [], "layout": _layout("No regional figures in this run")}
    pos, shipped = region_tiles(names)
    ncol = max(c for c, _ in pos.values()) + 1
    nrow = max(r for _, r in pos.values()) + 1
    k = len(measures)
    data, annotations = [], []
    layout = _layout("The regions on a schematic map: the whole run (kept back: not fitted)"
                     + ("" if shipped else "; tiles in the scenario's order"),
                     height=max(110 * nrow + 150, 320), hovermode="closest",
                     showlegend=False, annotations=annotations)
    scales = ([[0, "#f0f0f0"], [1, "#252525"]], [[0, "#fee0d2"], [1, "#a50f15"]],
              [[0, "#deebf7"], [1, "#08519c"]])
    for i, (title, unit, vals) in enumerate(measures):
        ax = "" if i == 0 else str(i + 1)
        x0, x1 = i / k + 0.01, (i + 1) / k - 0.03
        shown = [n for n in names if n in vals]
        fmt = ".2f" if unit == "share" else ".1f"
        data.append({
            "type": "scatter", "mode": "markers+text", "xaxis": "x" + ax, "yaxis": "y" + ax,
            "x": [pos[n][0] for n in shown], "y": [pos[n][1] for n in shown],
            "text": [f"{n.replace(' and ', '<br>and ')}: {vals[n]:{fmt}}" for n in shown],
            "textposition": "bottom center", "textfont": {"size": 9}, "customdata": shown,
            "marker": {"symbol": "square", "size": min(400 // max(ncol * k, 1), 60),
                       "color": [round(vals[n], 4) for n in shown],
                       "colorscale": scales[i % len(scales)], "cmin": 0,
                       "cmax": max(max(vals[n] for n in shown), 1e-9),
                       "line": {"color": "#ffffff", "width": 1},
                       "colorbar": {"x": x1 + 0.005, "len": 0.8, "thickness": 8,
                                    "title": {"text": unit, "side": "right"}}},
            "hovertemplate": f"%{{customdata}}: %{{marker.color:{fmt}}} {unit}<extra></extra>"})
        layout["xaxis" + ax] = {"domain": [x0, x1], "anchor": "y" + ax, "visible": False,
                                "range": [-0.6, ncol - 0.4]}
        layout["yaxis" + ax] = {"domain": [0.0, 0.88], "anchor": "x" + ax, "visible": False,
                                "range": [nrow - 0.2, -0.6]}
        annotations.append({"text": title, "showarrow": False, "xref": "paper",
                            "yref": "paper", "x": x0, "y": 0.92, "xanchor": "left",
                            "yanchor": "bottom", "font": {"size": 11}})
    return {"data": data, "layout": layout}


def table_regions(run: RunFolder) -> str:
    """Each region's population and, by year, arrests and death sentences per 1,000."""
    regs = run.summary.get("regions", {})
    if not regs:
        return "<p>This run has no regional figures.</p>"
    years = sorted({y for v in regs.values() for y in (v.get("yearly") or {})})
    rows = []
    for name, v in regs.items():
        pop = v.get("population") or 0
        cells = [name, _num(pop) if pop else ""]
        for y in years:
            c = (v.get("yearly") or {}).get(y, {})
            cells.append(f"{1000 * c.get('arrests', 0) / pop:.2f} / "
                         f"{1000 * c.get('death_sentences', 0) / pop:.2f}" if pop else "")
        rows.append(cells)
    return _table(["region", "population", *[f"{y}: arrests / {word_of(run, 'shot')} per "
                                              "1,000" for y in years]], rows, "regions")


def limits_operation(run: RunFolder) -> str | None:
    ops = run.summary.get("operations", {})
    if "order_00447" in ops:
        return "order_00447"
    return next(iter(ops), None)


def fig_limits(run: RunFolder) -> Figure:
    key = limits_operation(run)
    if key is None:
        return {"data": [], "layout": _layout("No mass operation in this scenario")}
    op = run.summary["operations"][key]
    regions = list(op.get("limits_by_region", {}))
    lim = op.get("limits_by_region", {})
    data = []
    c1, c2 = run.words["limit_cat1"], run.words["limit_cat2"]
    for col, name, colour in (
            ("initial_cat1", f"{c1}, initial", "#f4a582"),
            ("final_cat1", f"{c1}, final", "#b2182b"),
            ("initial_cat2", f"{c2}, initial", "#92c5de"),
            ("final_cat2", f"{c2}, final", "#2166ac")):
        data.append({"type": "bar", "name": name, "x": regions,
                     "y": [lim[r][col] for r in regions], "marker": {"color": colour},
                     "hovertemplate": f"%{{x}} {name}: %{{y:,}}<extra></extra>"})
    title = f"{op.get('order') or op.get('name') or key}: limits by region, initial and final"
    return {"data": data, "layout": _layout(
        title, barmode="group", hovermode="closest", xaxis={"automargin": True},
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0.5},
        yaxis={"title": {"text": "people"}})}


def fig_cascade_rates(run: RunFolder) -> Figure:
    """Names per confession by month (top) and the effective reproduction number (bottom)."""
    d = run.daily
    months: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for date, conf, names in zip(run.dates, d.get("confessions", []), d.get("names", [])):
        m = months[date[:7]]
        m[0] += float(conf)
        m[1] += float(names)
    mx = [f"{m}-15" for m in sorted(months)]
    npc = [round(months[m][1] / months[m][0], 3) if months[m][0] else None
           for m in sorted(months)]
    r = run.summary.get("cascade", {}).get("reproduction_by_month", {})
    rx = [f"{m}-15" for m in r]
    mean = run.summary.get("cascade", {}).get("mean_names_per_confession")
    data = [
        {"type": "scatter", "mode": "lines+markers", "name": "names per confession",
         "x": mx, "y": npc, "yaxis": "y", "line": {"color": "#1f77b4"},
         "hovertemplate": "%{y:.3f} names per confession"},
        {"type": "scatter", "mode": "lines+markers",
         "name": "effective reproduction number", "x": rx, "y": list(r.values()),
         "yaxis": "y2", "line": {"color": "#d62728"},
         "hovertemplate": "R = %{y:.3f}"},
    ]
    layout = _layout("Names per confession (top; dotted: the run's mean) and the effective "
                     "reproduction number R (bottom)", height=520)
    layout["yaxis"] = {"domain": [0.56, 1], "title": {"text": "names / confession"},
                       "rangemode": "tozero"}
    layout["yaxis2"] = {"domain": [0, 0.44], "title": {"text": "R"}, "rangemode": "tozero"}
    layout["xaxis"] = {"anchor": "y2"}
    layout["shapes"] = [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y2",
                         "y0": 1, "y1": 1, "line": {"dash": "dot", "color": "black"}}]
    if mean is not None:
        layout["shapes"].append({"type": "line", "xref": "paper", "x0": 0, "x1": 1,
                                 "yref": "y", "y0": mean, "y1": mean,
                                 "line": {"dash": "dot", "color": "#1f77b4"}})
    return {"data": data, "layout": layout}


# ------------------------------------------------------------------------------ naming graphs


def _confession_edges(run: RunFolder) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each person's first arrest by someone's confession, in the log's order: (person, the
    confessor who named him, the day)."""
    ev = run.events
    sel = np.flatnonzero((ev["event"] == "arrested") & (ev["cause"] == "confession"))
    person, by, when = ev["person"][sel], ev["by"][sel], ev["day"][sel]
    named = (by >= 0) & (person != by)
    person, by, when = person[named], by[named], when[named]
    keep = first_occurrence(person)
    return person[keep], by[keep], when[keep]


def confession_tree(run: RunFolder) -> tuple[dict[int, list[int]], dict[int, int], dict[int, int]]:
    """children (confessor -> arrested by his naming), parent, and arrest day (first)."""
    person, by, when = _confession_edges(run)
    person_l, by_l = person.tolist(), by.tolist()
    parent = dict(zip(person_l, by_l))
    day = dict(zip(person_l, when.tolist()))
    children: dict[int, list[int]] = defaultdict(list)
    for p, b in zip(person_l, by_l):
        children[b].append(p)
    return children, parent, day


def largest_cascade(run: RunFolder, cap: int = 300) -> dict[str, Any]:
    """The largest tree of arrests by confession grown from one root (a confessor nobody
    named; the first such root of the largest size, in order of first naming), and its first
    `cap` people breadth first.  Tree sizes come from each person's oldest ancestor, found
    by pointer jumping over arrays rather than a walk per root (600,000 arrests at scale 1)."""
    person, by, when = _confession_edges(run)
    day = dict(zip(person.tolist(), when.tolist()))
    if person.size == 0:
        return {"root": None, "size": 0, "nodes": [], "edges": [], "depth": 0}
    ids = distinct(np.concatenate([person, by]))
    child, par_of = np.searchsorted(ids, person), np.searchsorted(ids, by)
    parent = np.full(ids.size, -1, dtype=np.int64)
    parent[child] = par_of
    # the oldest ancestor of each person; a person on a loop of namings (re-arrests) has
    # none and belongs to no tree, as a walk from the roots would never reach him
    anc = np.where(parent >= 0, parent, np.arange(ids.size))
    for _ in range(64):
        nxt = anc[anc]
        if np.array_equal(nxt, anc):
            break
        anc = nxt
    rooted = parent[anc] < 0
    size = np.bincount(anc[rooted], minlength=ids.size)
    # the roots in order of their first naming: confessors nobody named
    confessors = par_of[first_occurrence(par_of)]
    roots = confessors[parent[confessors] < 0]
    if roots.size == 0:
        return {"root": None, "size": 0, "nodes": [], "edges": [], "depth": 0}
    best = int(roots[np.argmax(size[roots])])
    best_root = int(ids[best])
    # children of each person in order of naming (edges sorted by confessor, stably)
    order = np.argsort(par_of, kind="stable")
    kid_start = np.searchsorted(par_of[order], np.arange(ids.size + 1))
    kids_in_order = child[order]
    nodes, edges, depth = [best_root], [], {best_root: 0}
    q = deque([best])
    while q and len(nodes) < cap:
        x = q.popleft()
        xid = int(ids[x])
        for c in kids_in_order[kid_start[x]:kid_start[x + 1]].tolist():
            cid = int(ids[c])
            if cid in depth or len(nodes) >= cap:
                continue
            depth[cid] = depth[xid] + 1
            nodes.append(cid)
            edges.append((xid, cid))
            q.append(c)
    return {"root": best_root, "size": int(size[best]), "nodes": nodes, "edges": edges,
            "depth": max(depth.values()), "depths": depth, "day": day}


def _graph_figure(run: RunFolder, nodes: list[int], edges: list[tuple[int, int]],
                  pos: dict[int, tuple[float, float]], title: str,
                  highlight: int | None = None, extra: dict[int, str] | None = None,
                  height: int = 560) -> Figure:
    ex: list[float | None] = []
    ey: list[float | None] = []
    for a, b in edges:
        if a in pos and b in pos:
            ex += [pos[a][0], pos[b][0], None]
            ey += [pos[a][1], pos[b][1], None]
    data: list[dict[str, Any]] = [{"type": "scatter", "mode": "lines", "x": ex, "y": ey,
                                   "line": {"color": "#bbbbbb", "width": 1},
                                   "hoverinfo": "skip", "showlegend": False}]
    groups: dict[str, list[int]] = defaultdict(list)
    for n in nodes:
        groups[group_of(run, n)].append(n)
    names = {k: v for k, v, _ in COHORTS} | {"relative": "relatives",
                                              "elite": "other elite",
                                              "ordinary": "ordinary people"}
    order = [k for k, _, _ in COHORTS] + ["elite", "relative", "ordinary"]
    others = sorted(g for g in groups if g not in order)
    for g in order[:len(COHORTS)] + others + order[len(COHORTS):]:
        if g not in groups:
            continue
        ids = groups[g]
        colour = COHORT_COLOUR.get(g) or OTHER_COLOURS.get(g) or \
            EXTRA_COLOURS[others.index(g) % len(EXTRA_COLOURS)]
        texts = []
        for n in ids:
            p = run.people.get(n, {})
            t = f"{person_label(run, n)}<br>{p.get('cohorts') or p.get('post', '')}" \
                f"<br>at the end: {word_of(run, p.get('final_state') or '?')}"
            if extra and n in extra:
                t += f"<br>{extra[n]}"
            texts.append(t)
        data.append({"type": "scatter", "mode": "markers", "name": names.get(g, g),
                     "x": [pos[n][0] for n in ids], "y": [pos[n][1] for n in ids],
                     "text": texts, "hoverinfo": "text", "customdata": ids,
                     "marker": {"size": [16 if n == highlight else 9 for n in ids],
                                "color": colour,
                                "line": {"color": ["black" if n == highlight else "white"
                                                   for n in ids], "width": 1}}})
    axis = {"visible": False, "showgrid": False, "zeroline": False}
    legend = {"orientation": "h", "y": -0.05, "itemsizing": "constant"}
    return {"data": data, "layout": _layout(title, xaxis=axis, yaxis=axis, legend=legend,
                                            hovermode="closest", height=height)}


def fig_cascade(run: RunFolder, cap: int = 300) -> Figure:
    c = largest_cascade(run, cap)
    if c["root"] is None:
        return {"data": [], "layout": _layout("No arrest was caused by a confession")}
    nodes, edges, depth = c["nodes"], c["edges"], c["depths"]
    kids: dict[int, list[int]] = defaultdict(list)
    for a, b in edges:
        kids[a].append(b)
    # tree layout: leaves at successive x, a parent above the mean of its children
    pos: dict[int, tuple[float, float]] = {}
    next_x = [0.0]

    def place(root: int) -> None:
        stack: list[tuple[int, bool]] = [(root, False)]
        while stack:
            n, done = stack.pop()
            if done:
                ch = kids.get(n, [])
                x = float(np.mean([pos[k][0] for k in ch])) if ch else next_x[0]
                if not ch:
                    next_x[0] += 1.0
                pos[n] = (x, -float(depth[n]))
                continue
            stack.append((n, True))
            for k in reversed(kids.get(n, [])):
                stack.append((k, False))

    place(c["root"])
    extra = {n: f"arrested {run.dates[c['day'][n]]} named by {person_label(run, p)}"
             for p, n in edges if n in c["day"] and c["day"][n] < len(run.dates)}
    shown = f"{len(nodes)} of {c['size']}" if len(nodes) < c["size"] else f"{c['size']}"
    title = (f"The largest naming cascade: {shown} people arrested by confession, "
             f"{c['depth']} generations deep<br><sup>root: {person_label(run, c['root'])}; "
             "edges: who named whom</sup>")
    return _graph_figure(run, nodes, edges, pos, title, highlight=c["root"], extra=extra)


def neighbourhood(run: RunFolder, pid: int, radius: int = 2, cap: int = 150) -> Figure:
    """The naming graph around a person: who named him, whom he named, and so on."""
    ev = run.events
    sel = np.flatnonzero(ev["event"] == "named")
    nbr: dict[int, set[int]] = defaultdict(set)
    edges_all: set[tuple[int, int]] = set()
    for k in sel.tolist():
        a, b = int(ev["by"][k]), int(ev["person"][k])
        if a < 0:
            continue
        edges_all.add((a, b))
        nbr[a].add(b)
        nbr[b].add(a)
    ring = {pid: 0}
    parent: dict[int, int] = {}
    q = deque([pid])
    while q and len(ring) < cap:
        x = q.popleft()
        if ring[x] >= radius:
            continue
        for y in sorted(nbr.get(x, ())):
            if y not in ring and len(ring) < cap:
                ring[y] = ring[x] + 1
                parent[y] = x
                q.append(y)
    nodes = list(ring)
    edges = [(a, b) for a, b in edges_all if a in ring and b in ring]
    # radial tree: each person's sector of the circle is split among those he reached
    kids: dict[int, list[int]] = defaultdict(list)
    for c, p in parent.items():
        kids[p].append(c)
    pos: dict[int, tuple[float, float]] = {pid: (0.0, 0.0)}
    sectors = {pid: (0.0, 2 * math.pi)}
    for n in nodes:  # BFS order: a parent before his children
        lo, hi = sectors[n]
        ch = kids.get(n, [])
        for i, c in enumerate(ch):
            a0 = lo + (hi - lo) * i / len(ch)
            a1 = lo + (hi - lo) * (i + 1) / len(ch)
            sectors[c] = (a0, a1)
            a = (a0 + a1) / 2
            r = ring[c]
            pos[c] = (round(r * math.cos(a), 4), round(r * math.sin(a), 4))
    extra = {}
    for a, b in edges:
        if a == pid:
            extra[b] = "named by him"
        elif b == pid:
            extra[a] = "named him"
    title = (f"Naming graph around {person_label(run, pid)}: {len(nodes) - 1} people within "
             f"{radius} steps (edges: one named the other)")
    return _graph_figure(run, nodes, edges, pos, title, highlight=pid, extra=extra,
                              height=480)


# ------------------------------------------------------------------------------ named people


def fig_named(run: RunFolder) -> Figure:
    named = run.summary.get("named", {})
    names = list(named)
    data = []
    sim_x, sim_y, sim_t = [], [], []
    real_x, real_y, real_t = [], [], []
    for n in names:
        v = named[n]
        if v.get("date"):
            sim_x.append(v["date"])
            sim_y.append(n)
            sim_t.append(f"{n}: {word_of(run, v['fate'])} {v['date']} (simulated)")
        rd = _parse_date(v.get("real_date")) if v.get("real_fate") != "invented" else None
        if rd:
            real_x.append(rd)
            real_y.append(n)
            real_t.append(f"{n}: {v['real_fate']} {v['real_date']} (real)")
    data.append({"type": "scatter", "mode": "markers", "name": "simulated fate",
                 "x": sim_x, "y": sim_y, "text": sim_t, "hoverinfo": "text",
                 "marker": {"symbol": "circle", "size": 11, "color": "#d62728"}})
    if real_x:
        data.append({"type": "scatter", "mode": "markers", "name": "real fate",
                     "x": real_x, "y": real_y, "text": real_t, "hoverinfo": "text",
                     "marker": {"symbol": "diamond-open", "size": 12, "color": "black",
                                "line": {"width": 2}}})
    d0, d1 = run.dates[0], run.dates[-1]
    lo = f"{int(d0[:4]) - 1}{d0[4:]}"
    hi = f"{int(d1[:4]) + 1}{d1[4:]}"
    return {"data": data, "layout": _layout(
        "Named people: date of the last change of state, simulated (dots) and real "
        "(diamonds; dates outside the run's period are off the axis)",
        hovermode="closest", height=max(300, 60 + 24 * len(names)),
        xaxis={"range": [lo, hi], "type": "date"},
        yaxis={"type": "category", "categoryorder": "array",
               "categoryarray": list(reversed(names)), "automargin": True})}


# ------------------------------------------------------------------------------ tables


def table_parameters(run: RunFolder) -> str:
    from .mechanisms import MECHANISMS
    from .params import describe
    from .scenario import ScenarioError, builtin_names, load

    p = run.summary.get("parameters", {})
    defaults: dict[str, Any] = {}
    if run.summary.get("scenario") in builtin_names():
        try:
            sc = load(run.summary["scenario"])
            for key in MECHANISMS:
                for r in describe(sc.mechanism_params(key), key):
                    defaults[r["name"]] = r["value"]
        except ScenarioError:
            pass
    meta = {}
    for key, mod in MECHANISMS.items():
        for r in describe(mod.Params(), key):
            meta[r["name"]] = r
    rows: list[list[Any]] = []
    for name, value in p.items():
        m = meta.get(name, {})
        rng = "" if m.get("lo") is None else f"{m['lo']:g} – {m['hi']:g}"
        changed = name in defaults and defaults[name] != value
        shown: Any = ("html", f"<b>{_e(value)}</b> (scenario: {_e(defaults[name])})") \
            if changed else value
        rows.append([name, shown, m.get("unit", ""), rng, m.get("meaning", "")])
    return _table(["parameter", "value", "unit", "range", "meaning"], rows, "params")


def table_yearly(run: RunFolder) -> str:
    y = run.summary["yearly"]
    head = ["year"]
    for _, name, _ in YEARLY_MEASURES[:4]:
        head += [f"{word_of(run, name)}: simulated", "record", "sim ÷ record"]
    rows = []
    for yr, v in y.items():
        r: list[Any] = [yr]
        for key, _, rid in YEARLY_MEASURES[:4]:
            row = _rec(run, f"SU-Y{yr}-{rid}")
            rv = row.value if row is not None else None
            r += [_num(v[key]), _num(rv),
                  f"{v[key] / rv:.2f}" if rv else "—"]
        rows.append(r)
    return _table(head, rows, "yearly")


def table_cohorts(run: RunFolder) -> str:
    c = run.summary["cohorts"]
    rows = []
    for k in cohort_keys(c):
        name = cohort_name(k)
        v = c[k]
        rec = []
        for measure in ("arrested", "shot"):
            rid = COHORT_RECORD.get((k, measure))
            row = _rec(run, rid) if rid else None
            if row is not None and row.value is not None:
                rec.append(f"{measure} {row.value:,.0f} ({rid})")
        rows.append([name, _num(v["size"]), _num(v["arrested"]), _num(v["shot"]),
                     "; ".join(rec) or ("not in the record" if record_of(run) else "—")])
    return _table(["cohort", "size", "arrested", word_of(run, "shot"), "record"], rows,
                  "cohorts")


def table_limits(run: RunFolder) -> str:
    rows = []
    for key, op in run.summary.get("operations", {}).items():
        li, lf = op["limits_initial"], op["limits_final"]
        rows.append([key, op.get("order") or op.get("name", ""),
                     f"{li['cat1']:,} → {lf['cat1']:,}", f"{li['cat2']:,} → {lf['cat2']:,}",
                     f"{op.get('granted', 0)} of {op.get('petitions', 0)}",
                     _num(op.get("arrests")), _num(op.get("convictions")),
                     _num(op.get("shot"))])
    out = _table(["operation", "order", f"{run.words['limit_cat1']} initial → final",
                  f"{run.words['limit_cat2']} initial → final", "petitions granted",
                  "arrests", "convictions", word_of(run, "shot")], rows, "limits")
    notes = []
    for rid in ("SU-447-Q1-INIT", "SU-447-Q2-INIT", "SU-447-INFLATION-CAT1",
                "SU-447-INFLATION-CAT2"):
        row = _rec(run, rid)
        if row is not None and row.value is not None:
            notes.append(f"{row.quantity}: {row.value:,g} ({rid})")
    if notes:
        out += "<p class=note>The record: " + _e("; ".join(notes)) + ".</p>"
    return out


def table_named(run: RunFolder) -> str:
    """Simulated and real fates; "same fate?" with a date tolerance; who named him before
    his arrest (what can explain it) and afterwards (or after his death)."""
    def some(names: list[str]) -> str:
        return "; ".join(names[:4]) + (f" … ({len(names)} in all)" if len(names) > 4 else "")

    rows = []
    for n, v in run.summary.get("named", {}).items():
        agree, gap = same_fate(v)
        arrested = v.get("arrested")
        before = some(v.get("named_by", []))
        rows.append([n, f"{word_of(run, v['fate'])} {v.get('date') or ''}".strip(),
                     f"{v.get('real_fate', '')} {v.get('real_date', '')}".strip(), agree,
                     "—" if gap is None else f"{gap:+,} days",
                     (f"(arrested {arrested}) " if arrested and before else "") + before,
                     some(v.get("named_after", []))])
    return _table(["name", "simulated fate", "real fate", "same fate?",
                   "simulated − real date", "named before his arrest",
                   "named afterwards (or after his death)"], rows, "named")


def table_claims(run: RunFolder) -> str:
    from .compare import RunData, claims

    rows = [[c["id"], c["claim"], c["record"], c["model"]]
            for c in claims(RunData(summary=run.summary))]
    return _table(["claim", "the source says", "the record says", "the model says"], rows,
                  "claims")


def table_targets(run: RunFolder) -> str:
    from .compare import RunData, compare

    c = compare(RunData(run))
    rows = []
    for t in c["targets"]:
        rng = "" if t["low"] == t["high"] else f" ({t['low']:,.0f}–{t['high']:,.0f})"
        rows.append([t["id"], t["quantity"], t["period"], f"{t['record']:,.0f}{rng}",
                     _num(t["simulated"], 2 if t["simulated"] < 100 else 0),
                     t["tolerance"], "yes" if t["within"] else "no",
                     "fitted" if t["fit"] else ""])
    sc = c["score"]
    head = (f"<p>Score: mean |ln(simulated / record)| over fitted targets "
            f"{sc['mean_abs_log_error_fitted']:.3f}; {sc['within_tolerance']} of "
            f"{sc['targets']} targets within tolerance ({sc['fitted_within_tolerance']} of "
            f"{sc['fitted']} fitted).</p>")
    return head + _table(["row", "quantity", "period", "record", "simulated", "tolerance",
                          "within", ""], rows, "targets")


def totals(run: RunFolder) -> dict[str, Any]:
    """Headline numbers (for the dashboard and the comparison)."""
    y = run.summary["yearly"]
    tot = {k: sum(v[k] for v in y.values()) for k, _, _ in YEARLY_MEASURES}
    ch = run.summary.get("channels", {})
    return {
        **tot,
        "top_down_share": ch.get("top_down"), "bottom_up_share": ch.get("bottom_up"),
        "mean_names_per_confession": run.summary.get("cascade", {}).get(
            "mean_names_per_confession"),
        "deepest_chain": run.summary.get("cascade", {}).get("deepest_chain"),
        "halt": halt_date(run.summary),
    }


# ------------------------------------------------------------------------------ all sections


def sections(run: RunFolder) -> list[Section]:
    """Every section of the report, in order: id, title, note, figure and/or table."""
    rec_note = ("" if record_of(run) else
                "The historical record is the USSR's; this scenario is not, so the record "
                "is not drawn. ")
    # "against the record" only where the record has rows for this scenario's country
    against = " against the record" if record_of(run) else ""
    w = run.words
    key = limits_operation(run)
    op = run.summary.get("operations", {}).get(key or "", {})
    limits_title = ("Order 00447 limits by region" if key == "order_00447" else
                    f"{op.get('name') or key or 'Operation'} limits by region")
    out: list[Section] = [
        {"id": "parameters", "title": "Parameters",
         "note": "Every value the run used (bold: changed from the scenario's own value).",
         "table": table_parameters(run), "collapsed": True},
        {"id": "arrests", "title": "Arrests by channel",
         "note": rec_note + "Who started each arrest: orders and quotas from the top, "
                 "confessions, denunciations, vigilance, association from below.",
         "figure": fig_arrests_by_channel(run)},
        {"id": "sentences", "title": "Convictions and death sentences",
         "figure": fig_sentences(run)},
        {"id": "cumulative", "title": f"Cumulative totals{against}",
         "figure": fig_cumulative(run)},
        {"id": "operations-daily", "title": "Arrests by operation",
         "figure": fig_operations_daily(run)},
        {"id": "operations", "title": f"{w['mass_operations'].capitalize()}{against}",
         "figure": fig_operations(run)},
        {"id": "yearly", "title": f"Yearly totals{against}",
         "figure": fig_yearly(run), "table": table_yearly(run)},
        {"id": "cohorts", "title": "Cohort attrition",
         "note": f"Shares of each elite cohort arrested and {word_of(run, 'shot')} by the "
                 "end of the run.",
         "figure": fig_cohorts(run), "table": table_cohorts(run)},
        {"id": "limits", "title": limits_title,
         "note": "The limits of the operation in each region when it began and at the "
                 "end, after the regions' petitions for more.",
         "figure": fig_limits(run), "table": table_limits(run)},
        {"id": "cascade-rates", "title": "Names per confession and the reproduction number",
         "note": "R of a month: arrests caused by the naming, defending or kinship of those "
                 "arrested in that month, per arrest of the month (1 = self-sustaining).",
         "figure": fig_cascade_rates(run)},
        {"id": "cascade", "title": "The largest naming cascade",
         "note": "Each dot is a person arrested because someone named him in a "
                 "confession; an edge goes from the confessor down to the one he named. "
                 "Coloured by cohort; at most 300 people are drawn.",
         "figure": fig_cascade(run)},
        {"id": "named", "title": "The named people: simulated and real fates",
         "note": f"Same fate: the same state at the end and, when both dates are known, "
                 f"within {SAME_FATE_DAYS} days (6 months) of each other (a real date "
                 "known only to the month or year counts from its nearest day); the "
                 "difference is the simulated date minus the real one. Named before his "
                 "arrest: the namings that can explain it (or, never arrested, those of the "
                 "whole run); named afterwards: on or after his arrest, or after his death.",
         "figure": fig_named(run), "table": table_named(run)},
        *([{"id": "army", "title": "The Red Army by rank" if record_of(run) else
            "The army by rank",
            "note": army_note(run),
            "figure": fig_institution(run, "army"), "table": table_institution(run, "army"),
            }] if institution_groups(run, "army") and (army_purge_ran(run) or record_of(run))
          else []),
        *([{"id": "police", "title": "The NKVD by level" if record_of(run) else
            "The political police by level",
            "note": (f"State-security officers dismissed, arrested and {word_of(run, 'shot')}, "
                     "by level: the purge of the old chief's men under Yezhov (1936-38) and "
                     "under Beria (1938-39). Kept back: never fitted (only the officers "
                     "arrested to August 1938, SU-NKVD-ARR-3638, is a target).")
            if record_of(run) else
            (f"The political police dismissed, arrested and {word_of(run, 'shot')}, by "
             "level, when its chiefs are replaced. Kept back: never fitted."),
            "figure": fig_institution(run, "police"),
            "table": table_institution(run, "police")}]
          if institution_groups(run, "police") else []),
        {"id": "region_map", "title": "Regions on a map",
         "note": "Each region's arrests and death sentences per 1,000 inhabitants over the "
                 "whole run and, for a mass operation, the share of its final limit the "
                 "region arrested, on a schematic tile map (one square per region; no "
                 "boundary file of 1937 with a licence to ship it was found). Kept back: "
                 "the model is never fitted to regional figures.",
         "figure": fig_region_map(run)},
        {"id": "regions", "title": "Regions, month by month",
         "note": "Each region's monthly arrests and death sentences per 1,000 inhabitants "
                 "(the scenario's regions; populations from the scenario). The regional "
                 "monthly series are kept back: the model is never fitted to them.",
         "figure": fig_regions(run), "table": table_regions(run)},
        {"id": "camps", "title": "Camps and custody" if word_of(run, "camp") == "camp" else
         "Detention and custody",
         "note": "The camp and colony population as the NKVD counted it: the model's own "
                 "prisoners (weighted) plus an aggregate of those it does not simulate (the "
                 "stock at the start, the ordinary admissions). The NKVD's counts are kept "
                 "back: the model is never fitted to them, so the gap is a result.",
         "figure": fig_camps(run), "table": table_camps(run)},
        {"id": "claims", "title": "The source article's claims",
         "note": "What the article says, what the historical record says, what this run "
                 "says.", "table": table_claims(run)},
    ]
    if record_of(run):
        out.append({"id": "targets", "title": "Every target of the record",
                    "table": table_targets(run), "collapsed": True})
    return out


class RunView(RunFolder):
    """A finished run folder with every chart of the report as a method: a facade over the
    figure and table functions of this module, kept so that existing callers (the report,
    the dashboard, the API, `pair`) work unchanged.  New code calls the functions on a
    `runs.RunFolder`.  A damaged folder or file is refused with `ChartError`."""

    error = ChartError

    def __init__(self, run_dir: Path | str) -> None:
        super().__init__(run_dir)
        #: the record drawn with this run (its own copy: the functions share one, read-only)
        self.record: dict[str, Row] = dict(record_of(self))

    @property
    def s(self) -> dict[str, Any]:
        """summary.json (the reader's `summary`)."""
        return self.summary

    # the private helpers too: the ensemble report draws the record with `_record_steps`
    def _table(self, name: str, require: list[str] | None = None) -> Any:
        return self.table(name.removesuffix(".parquet"), require=require)

    def _read(self, name: str) -> dict[str, Any]:
        return self.table(name).to_pydict()

    def _year_bounds(self, year: str) -> tuple[str, str] | None:
        return _year_bounds(self, year)

    def _record_steps(self, key: str, scale_by_days: bool = True) -> dict[str, Any] | None:
        return _record_steps(self, key, scale_by_days)

    def _graph_figure(self, nodes: list[int], edges: list[tuple[int, int]],
                      pos: dict[int, tuple[float, float]], title: str,
                      highlight: int | None = None, extra: dict[int, str] | None = None,
                      height: int = 560) -> Figure:
        return _graph_figure(self, nodes, edges, pos, title, highlight, extra, height)

    def group_of(self, pid: int) -> str:
        return group_of(self, pid)

    def label(self, pid: int) -> str:
        return person_label(self, pid)

    def rec(self, rid: str) -> Row | None:
        return _rec(self, rid)

    def word(self, key: str) -> str:
        return word_of(self, key)

    def fig_arrests_by_channel(self) -> Figure:
        return fig_arrests_by_channel(self)

    def fig_sentences(self) -> Figure:
        return fig_sentences(self)

    def fig_cumulative(self) -> Figure:
        return fig_cumulative(self)

    def fig_operations(self) -> Figure:
        return fig_operations(self)

    def fig_operations_daily(self) -> Figure:
        return fig_operations_daily(self)

    def fig_yearly(self) -> Figure:
        return fig_yearly(self)

    def fig_cohorts(self) -> Figure:
        return fig_cohorts(self)

    def limits_operation(self) -> str | None:
        return limits_operation(self)

    def fig_limits(self) -> Figure:
        return fig_limits(self)

    def fig_cascade_rates(self) -> Figure:
        return fig_cascade_rates(self)

    def confession_tree(self) -> tuple[dict[int, list[int]], dict[int, int], dict[int, int]]:
        return confession_tree(self)

    def largest_cascade(self, cap: int = 300) -> dict[str, Any]:
        return largest_cascade(self, cap)

    def fig_cascade(self, cap: int = 300) -> Figure:
        return fig_cascade(self, cap)

    def neighbourhood(self, pid: int, radius: int = 2, cap: int = 150) -> Figure:
        return neighbourhood(self, pid, radius, cap)

    def fig_named(self) -> Figure:
        return fig_named(self)

    def table_parameters(self) -> str:
        return table_parameters(self)

    def table_yearly(self) -> str:
        return table_yearly(self)

    def table_cohorts(self) -> str:
        return table_cohorts(self)

    def table_limits(self) -> str:
        return table_limits(self)

    def table_named(self) -> str:
        return table_named(self)

    def table_claims(self) -> str:
        return table_claims(self)

    def table_targets(self) -> str:
        return table_targets(self)

    def totals(self) -> dict[str, Any]:
        return totals(self)

    def sections(self) -> list[Section]:
        return sections(self)


# ------------------------------------------------------------------------------ two runs


def compare_sections(a: RunFolder, b: RunFolder, label_a: str = "A",
                     label_b: str = "B") -> list[Section]:
    """Two runs on the same axes: daily arrests, yearly totals, channels, cohorts, totals."""
    ta, tb = totals(a), totals(b)
    rows = []
    for k, v in ta.items():
        w = tb.get(k)
        if isinstance(v, (int, float)) and isinstance(w, (int, float)):
            diff = w - v
            rel = f" ({100 * diff / v:+.0f}%)" if v else ""
            digits = 3 if abs(v) < 10 and abs(w) < 10 else 0
            rows.append([k.replace("_", " "), _num(v, digits), _num(w, digits),
                         f"{diff:+,.{digits}f}{rel}"])
        else:
            rows.append([k.replace("_", " "), v or "—", w or "—", ""])
    totals_table = _table(["", label_a, label_b, f"{label_b} − {label_a}"], rows, "compare")
    data = []
    for v, lab, dash in ((a, label_a, "solid"), (b, label_b, "dot")):
        data.append({"type": "scatter", "mode": "lines", "name": f"{lab}: arrests",
                     "x": v.dates, "y": _round(_smooth(v.daily["arrests"]), 1),
                     "line": {"dash": dash, "width": 2, "color": "#444444"},
                     "hovertemplate": "%{y:,.0f}"})
        data.append({"type": "scatter", "mode": "lines",
                     "name": f"{lab}: {word_of(v, 'death sentences')}",
                     "x": v.dates, "y": _round(_smooth(v.daily["shot"]), 1),
                     "line": {"dash": dash, "width": 2, "color": "#d62728"},
                     "hovertemplate": "%{y:,.0f}"})
    daily = {"data": data, "layout": _layout(
        f"Arrests and {word_of(a, 'death sentences')} a day, {label_a} and {label_b} "
        f"({SMOOTH_DAYS}-day mean)",
        yaxis={"title": {"text": "a day"}, "rangemode": "tozero"})}
    ch = []
    for v, lab in ((a, label_a), (b, label_b)):
        c = v.summary.get("channels", {})
        keys = [k for k, _, _ in CHANNELS]
        ch.append({"type": "bar", "name": lab, "x": [n for _, n, _ in CHANNELS],
                   "y": [round(100 * c.get(k, 0.0), 2) for k in keys],
                   "hovertemplate": "%{x}: %{y}%"})
    channels = {"data": ch, "layout": _layout("Share of arrests by channel", barmode="group",
                                              hovermode="closest",
                                              legend=TOP_LEGEND, xaxis={"automargin": True},
                                              yaxis={"title": {"text": "% of arrests"}})}
    co = []
    for v, lab in ((a, label_a), (b, label_b)):
        c = v.summary["cohorts"]
        keys = [k for k in cohort_keys(c) if c[k]["size"]]
        co.append({"type": "bar", "name": f"{lab}: {word_of(v, 'shot')}",
                   "x": [cohort_name(k) for k in keys],
                   "y": [round(100 * c[k]["shot"] / c[k]["size"], 1) for k in keys],
                   "hovertemplate": "%{x}: %{y}%"})
    cohorts = {"data": co, "layout": _layout(f"Share of each cohort {word_of(a, 'shot')}",
                                             barmode="group",
                                             hovermode="closest",
                                              legend=TOP_LEGEND, xaxis={"automargin": True},
                                             yaxis={"title": {"text": "%"}, "range": [0, 105]})}
    return [
        {"id": "cmp-totals", "title": "Totals", "table": totals_table},
        {"id": "cmp-daily", "title": "Daily series", "figure": daily},
        {"id": "cmp-channels", "title": "Channels", "figure": channels},
        {"id": "cmp-cohorts", "title": "Cohorts", "figure": cohorts},
    ]


def person_timeline(story: dict[str, Any]) -> Figure:
    """A person's story as a timeline: his own events (top) and what he did to others."""
    lanes = {"suspected": 0, "denounced": 0, "named": 0, "arrested": 1, "confessed": 1,
             "investigation_closed": 1, "dropped": 1, "shot": 2, "camp": 2, "exile": 2,
             "released": 2, "died": 2, "promoted": 2, "chief_replaced": 2}
    lane_names = ["accused", "in custody", "fate"]
    colours = {"suspected": "#ff7f0e", "named": "#1f77b4", "denounced": "#9467bd",
               "arrested": "#d62728", "confessed": "#8c564b", "shot": "black",
               "camp": "#2ca02c", "released": "#17becf", "died": "#7f7f7f"}
    by_event: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in story.get("events", []):
        by_event[e["event"]].append(e)
    data = []
    for ev, rows in by_event.items():
        data.append({"type": "scatter", "mode": "markers+text",
                     "name": rows[0].get("what") or ev.replace("_", " "),
                     "x": [r["date"] for r in rows],
                     "y": [lane_names[lanes.get(ev, 2)] for r in rows],
                     "text": [r.get("what") or ev.replace("_", " ") for r in rows],
                     "textposition": "top center",
                     "hovertext": [f"{r['date']} {r.get('what') or r['event']} ({r['cause']})"
                                   + (f" by {r['by']}" if r["by"] else "") for r in rows],
                     "hoverinfo": "text",
                     "marker": {"size": 12, "color": colours.get(ev, "#444444")}})
    acts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in story.get("acts", []):
        acts[e["event"]].append(e)
    for ev, rows in acts.items():
        data.append({"type": "scatter", "mode": "markers",
                     "name": f"others {rows[0].get('what') or ev.replace('_', ' ')} "
                             "through him",
                     "x": [r["date"] for r in rows], "y": ["his acts"] * len(rows),
                     "hovertext": [f"{r['date']}: {r.get('what') or r['event']} {r['person']}"
                                   for r in rows],
                     "hoverinfo": "text",
                     "marker": {"size": 9, "symbol": "triangle-up",
                                "color": colours.get(ev, "#444444")}})
    dates = sorted(r["date"] for r in story.get("events", []) + story.get("acts", []))
    xaxis: dict[str, Any] = {"type": "date"}
    if dates:  # at least two months around what happened, so the axis reads in days
        lo = dt.date.fromisoformat(dates[0]) - dt.timedelta(days=30)
        hi = dt.date.fromisoformat(dates[-1]) + dt.timedelta(days=30)
        xaxis["range"] = [lo.isoformat(), hi.isoformat()]
    return {"data": data, "layout": _layout(
        f"The story of {story.get('person', '')}", hovermode="closest", height=340,
        yaxis={"type": "category", "categoryorder": "array",
               "categoryarray": ["his acts", "fate", "in custody", "accused"]},
        xaxis=xaxis)}


def find_people(view: RunFolder, query: str, limit: int = 20) -> list[dict[str, Any]]:
    """People of the run matching a name (case-insensitive, part of it) or an id."""
    q = query.strip().lstrip("#").lower()
    out = []
    if q.isascii() and q.isdigit():  # not "²" or "①": digits to str.isdigit, not to int()
        pid = int(q)
        if pid in view.people:
            out.append(pid)
    if not out:
        named = view.people.named()
        out = [i for n, i in sorted(named) if q in n.lower()][:limit]
    return [{"id": i, "label": person_label(view, i),
             "final_state": view.people[i].get("final_state", ""),
             "fate": word_of(view, view.people[i].get("final_state") or ""),
             "cohorts": view.people[i].get("cohorts", "")} for i in out[:limit]]


def dumps(obj: Any) -> str:
    """JSON for figures: no NaN (invalid JSON), compact, safe to inline in a <script>."""
    def clean(x: Any) -> Any:
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [clean(v) for v in x]
        if isinstance(x, np.generic):
            return clean(x.item())
        return x

    text = json.dumps(clean(obj), separators=(",", ":"), ensure_ascii=False)
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")
