"""A run against the historical record: every target it can speak to, and the claims checked.

Each entry of `TARGETS` maps a record row (by id) to the simulated quantity that answers it and
to the tolerance within which the run is said to reproduce it.  Only rows with role `target`
appear here; `claim` and `context` rows are shown in the claims view but never fitted.

Overall score (documented in the README): the mean over fitted targets of
``|ln(sim / nearest point of the record's range)|`` (0 inside the range), and the share of
all targets within tolerance.  A score of 0.1 means the run misses by about 10% on average.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .history import Row, by_id
from .runfolder import FolderError
from .runs import RunFolder
from .tables import distinct, member


class CompareError(Exception):
    pass


class RunData:
    """A run to measure against the record: a finished run folder (read through
    `runs.RunFolder`, or one already open), a summary alone, or a `Sim` in memory."""

    def __init__(self, run_dir: Path | str | RunFolder | None = None,
                 summary: dict[str, Any] | None = None, sim: Any = None) -> None:
        #: the folder's reader (None for a summary alone or a Sim in memory)
        self.run: RunFolder | None = None
        self.dir: Path | None = None
        if isinstance(run_dir, RunFolder):
            self.run, self.dir = run_dir, run_dir.dir
        elif run_dir is not None:
            self.dir = Path(run_dir)
        self.sim = sim
        if summary is None and sim is not None:
            from .results import summary as make_summary

            summary = make_summary(sim, cascade=False)
        if summary is None and self.run is not None:
            summary = self.run.summary
        if summary is None:
            if self.dir is None:
                raise CompareError("no run folder")
            try:
                self.run = RunFolder(self.dir)
            except FolderError as e:
                raise CompareError(str(e)) from None
            summary = self.run.summary
        self.s = summary
        self._ops: dict[str, np.ndarray] | None = None

    def _table(self, name: str, columns: list[str] | None = None) -> Any:
        """A Parquet table of the folder (`name` as 'events.parquet') -> CompareError."""
        from .runfolder import read_table

        if self.run is None:  # a folder given with its summary: read as it is, not opened
            assert self.dir is not None
            try:
                return read_table(self.dir, name, columns)
            except FolderError as e:
                raise CompareError(str(e)) from None
        try:
            return self.run.table(name.removesuffix(".parquet"), columns)
        except self.run.error as e:  # FolderError, or the error of a RunFolder subclass
            raise CompareError(str(e)) from None

    def yearly(self, year: str, key: str) -> float | None:
        """The run's count for a whole calendar year; None for a year the run does not
        cover from 1 January to 31 December (a run ended early with --end)."""
        y = self.s["yearly"].get(year)
        period = self.s.get("period")
        if y is None or (period and not (period["start"] <= f"{year}-01-01"
                                         and f"{year}-12-31" <= period["end"])):
            return None
        return float(y[key])

    def years(self, years: list[str], key: str) -> float | None:
        vals = [self.yearly(y, key) for y in years]
        return None if any(v is None for v in vals) else float(sum(vals))  # type: ignore[arg-type]

    def run_years(self, years: list[str], key: str) -> float | None:
        """The run's counts in these calendar years, however much of them it covers: for a
        record row whose period is the scenario's own (France's Terror, 1 Mar 1793 to 31 Oct
        1794, recorded as "1793-1794"), not whole calendar years."""
        ys = self.s["yearly"]
        if any(y not in ys for y in years):
            return None
        return float(sum(ys[y][key] for y in years))

    def window(self, label: str, key: str) -> float | None:
        w = self.s.get("windows", {}).get(label)
        return None if w is None else float(w[key])

    def op(self, key: str, what: str) -> float | None:
        o = self.s["operations"].get(key)
        return None if o is None else float(o[what])

    def ops_sum(self, keys: list[str], what: str) -> float | None:
        vals = [self.op(k, what) for k in keys if k in self.s["operations"]]
        return float(sum(v for v in vals if v is not None)) if vals else None

    def op_until(self, key: str, what: str, until: str) -> float | None:
        """Cumulative `what` of an operation up to and including a date (operations.parquet);
        None if the run ended before that date (--end)."""
        period = self.s.get("period")
        if period and until > period["end"]:
            return None
        if self.sim is not None:
            sim = self.sim
            if key not in sim.op_keys:
                return None
            o = sim.op_keys.index(key)
            arr = {"arrests": sim.rec.arrests_op, "convictions": sim.rec.convictions_op,
                   "shot": sim.rec.shot_op}[what]
            d = sim.sc.day_of(dt.date.fromisoformat(until))
            return float(arr[: max(min(d + 1, sim.n_days), 0), o].sum())
        if self.dir is None:
            return None
        t = self._table("operations.parquet")
        mask = pc.and_(pc.equal(pc.cast(t["operation"], "string"), key),
                       pc.less_equal(t["date"], dt.date.fromisoformat(until)))
        sel = t.filter(mask)
        if sel.num_rows == 0:
            return None
        return float(pc.sum(sel[what]).as_py() or 0.0)

    def inflation(self, key: str, cat: str) -> float | None:
        o = self.s["operations"].get(key)
        if o is None or not o["limits_initial"][cat]:
            return None
        return o["limits_final"][cat] / o["limits_initial"][cat]

    def cohort(self, key: str, what: str) -> float | None:
        c = self.s["cohorts"].get(key)
        return None if c is None else float(c[what])

    def police_arrested(self, start: str, end: str) -> float | None:
        if self.sim is not None:
            from .codes import Cohort, Event

            sim = self.sim
            log = sim.log.rows
            a = sim.sc.day_of(dt.date.fromisoformat(start))
            b = sim.sc.day_of(dt.date.fromisoformat(end))
            sel = (log["event"] == Event.ARRESTED) & (log["day"] >= a) & (log["day"] <= b)
            police = sim.pop.cohort_members(Cohort.STATE_SECURITY)
            return float(member(distinct(log["person"][sel]), police).sum())
        if self.dir is None:
            return None
        ev = self._table("events.parquet", ["person", "date", "event"])
        people = self._table("people.parquet", ["person", "cohorts"])
        is_police = pc.fill_null(pc.match_substring(people["cohorts"], "state_security"), False)
        police = np.sort(people["person"].filter(is_police).to_numpy())
        a, b = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
        arrests = pc.and_(pc.equal(pc.cast(ev["event"], pa.string()), "arrested"),
                          pc.and_(pc.greater_equal(ev["date"], pa.scalar(a, pa.date32())),
                                  pc.less_equal(ev["date"], pa.scalar(b, pa.date32()))))
        got = distinct(ev["person"].filter(arrests).to_numpy())
        return float(member(got, police).sum())

    def region(self, name: str, key: str) -> float | None:
        r = self.s.get("regions", {}).get(name)
        return None if r is None else float(r[key])

    def region_share(self, name: str, key: str = "death_sentences") -> float | None:
        regions = self.s.get("regions", {})
        if name not in regions:
            return None
        total = sum(v[key] for v in regions.values())
        return 100.0 * regions[name][key] / total if total else None

    def region_between(self, name: str, start: str, end: str) -> float | None:
        """Death sentences in a region between two dates, both included (regions.parquet)."""
        a, b = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
        if self.sim is not None:
            sim = self.sim
            if name not in sim.pop.region_names:
                return None
            r = sim.pop.region_names.index(name)
            lo = max(sim.sc.day_of(a), 0)
            hi = min(sim.sc.day_of(b) + 1, sim.n_days)
            return float(sim.rec.shot_region[lo:hi, r].sum()) if hi > lo else None
        if self.dir is None:
            return None
        t = self._table("regions.parquet", ["region", "date", "shot"])
        mask = pc.and_(pc.equal(pc.cast(t["region"], "string"), name),
                       pc.and_(pc.greater_equal(t["date"], a), pc.less_equal(t["date"], b)))
        sel = t.filter(mask)
        return float(pc.sum(sel["shot"]).as_py() or 0.0) if sel.num_rows else None

    def total(self, key: str) -> float | None:
        regions = self.s.get("regions", {})
        return float(sum(v[key] for v in regions.values())) if regions else None

    def trial_deaths(self, label_start: str) -> float | None:
        for t in self.s.get("trials", []):
            if t["label"].startswith(label_start):
                return float(t["death_sentences"])
        return None


@dataclass(frozen=True)
class Target:
    id: str
    what: str  # what in the run answers the row
    get: Callable[[RunData], float | None]
    tol: tuple[str, float] = ("rel", 0.15)  # ("rel", r), ("factor", f), ("points", pp of size)
    fit: bool = True  # used by calibration
    size: float | None = None  # cohort size, for share tolerances


def _yr(y: str, key: str, tol: tuple[str, float] = ("rel", 0.15)) -> Target:
    rid = {"arrests": "ARR", "convictions": "CONV", "death_sentences": "DEATH",
           "camp_sentences": "CAMP", "exile_sentences": "EXILE"}[key]
    return Target(f"SU-Y{y}-{rid}", f"yearly.{y}.{key}",
                  lambda r, y=y, key=key: r.yearly(y, key), tol)


NATIONAL = ["polish", "german", "harbin", "latvian", "other_national"]
W1, W2 = "1936-10-01/1938-07-01", "1936-10-01/1938-11-01"

TARGETS: list[Target] = [
    *[_yr(y, k, ("factor", 2.0)) for y in ("1936", "1939", "1940")
      for k in ("convictions", "death_sentences")],
    _yr("1939", "arrests", ("factor", 2.0)),
    *[_yr(y, k) for y in ("1937", "1938") for k in ("arrests", "convictions",
                                                     "death_sentences")],
    *[Target(f"SU-Y{y}-CAMP", f"yearly.{y}.camp_sentences",
             lambda r, y=y: r.yearly(y, "camp_sentences"), ("rel", 0.25), fit=False)
      for y in ("1937", "1938")],
    Target("SU-1937-38-ARR-SUM", "arrests 1937+1938",
           lambda r: r.years(["1937", "1938"], "arrests"), fit=False),
    Target("SU-1937-38-CONV", "convictions 1937+1938",
           lambda r: r.years(["1937", "1938"], "convictions"), fit=False),
    Target("SU-1937-38-SHOT", "death sentences 1937+1938",
           lambda r: r.years(["1937", "1938"], "death_sentences"), fit=False),
    Target("SU-361036-380701-ARR", f"windows.{W1}.arrests", lambda r: r.window(W1, "arrests")),
    Target("SU-361036-381101-ARR", f"windows.{W2}.arrests", lambda r: r.window(W2, "arrests")),
    Target("SU-361036-381101-CONV", f"windows.{W2}.convictions",
           lambda r: r.window(W2, "convictions"), fit=False),
    Target("SU-361036-381101-VMN", f"windows.{W2}.death_sentences",
           lambda r: r.window(W2, "death_sentences"), fit=False),
    Target("SU-361036-381101-ARR447", "operations.order_00447.arrests (to the halt)",
           lambda r: r.op("order_00447", "arrests")),
    Target("SU-361036-381101-ARRNAT", "arrests of the national operations (to the halt)",
           lambda r: r.ops_sum(NATIONAL, "arrests")),
    Target("SU-447-370815-ARR", "order_00447 arrests to 15 Aug 1937",
           lambda r: r.op_until("order_00447", "arrests", "1937-08-15"), ("rel", 0.5), fit=False),
    Target("SU-447-370901-ARR", "order_00447 arrests to 1 Sep 1937",
           lambda r: r.op_until("order_00447", "arrests", "1937-09-01"), ("rel", 0.3), fit=False),
    Target("SU-447-370901-SHOT", "order_00447 shot to 1 Sep 1937",
           lambda r: r.op_until("order_00447", "shot", "1937-09-01"), ("rel", 0.5), fit=False),
    Target("SU-447-CONV-FINAL", "operations.order_00447.convictions",
           lambda r: r.op("order_00447", "convictions")),
    Target("SU-447-INFLATION-CAT1", "order_00447 final/initial cat.1 limit",
           lambda r: r.inflation("order_00447", "cat1"), ("rel", 0.3)),
    Target("SU-447-INFLATION-CAT2", "order_00447 final/initial cat.2 limit",
           lambda r: r.inflation("order_00447", "cat2"), ("rel", 0.3)),
    Target("SU-HARB-380207-ARR", "harbin arrests to 7 Feb 1938",
           lambda r: r.op_until("harbin", "arrests", "1938-02-07"), ("rel", 0.3), fit=False),
    Target("SU-NAT-POL-ARR", "operations.polish.arrests", lambda r: r.op("polish", "arrests"),
           ("rel", 0.2), fit=False),
    Target("SU-NAT-POL-CONV", "operations.polish.convictions",
           lambda r: r.op("polish", "convictions"), ("rel", 0.2)),
    Target("SU-NAT-POL-SHOT", "operations.polish.shot", lambda r: r.op("polish", "shot"),
           ("rel", 0.2)),
    *[Target(f"SU-NAT-{code}-{k.upper()}", f"operations.{key}.{what}",
             lambda r, key=key, what=what: r.op(key, what), ("rel", 0.25))
      for code, key in (("GER", "german"), ("HARB", "harbin"), ("LAT", "latvian"))
      for k, what in (("conv", "convictions"), ("shot", "shot"))],
    # not fitted: the record's own note doubts the arrest figure (219,333 arrests against
    # ~83,000 convictions left by SU-NAT-TOT-CONV); the total below is fitted instead
    Target("SU-NAT-OTHER", "operations.other_national.arrests",
           lambda r: r.op("other_national", "arrests"), ("rel", 0.25), fit=False),
    Target("SU-NAT-TOT-CONV", "convictions of the national operations",
           lambda r: r.ops_sum(NATIONAL, "convictions")),
    Target("SU-NAT-TOT-SHOT", "shot in the national operations",
           lambda r: r.ops_sum(NATIONAL, "shot"), fit=False),
    Target("SU-C17-ARR", "cohorts.congress_17.arrested",
           lambda r: r.cohort("congress_17", "arrested"), ("points", 10.0), size=1966),
    Target("SU-C17-SHOT", "cohorts.congress_17.shot (to the end of the run)",
           lambda r: r.cohort("congress_17", "shot"), ("points", 10.0), fit=False, size=1966),
    Target("SU-CC34-SHOT", "cohorts.central_committee_1934.shot",
           lambda r: r.cohort("central_committee_1934", "shot"), ("points", 10.0), size=139),
    Target("SU-PB34-SHOT", "cohorts.politburo_1934.shot",
           lambda r: r.cohort("politburo_1934", "shot"), ("points", 15.0), fit=False, size=15),
    Target("SU-SNK1917-KILLED", "cohorts.first_government_1917.shot",
           lambda r: r.cohort("first_government_1917", "shot"), ("points", 15.0), fit=False,
           size=15),
    Target("SU-NKVD-ARR-3638", "state-security officers arrested 1 Oct 1936 - 15 Aug 1938",
           lambda r: r.police_arrested("1936-10-01", "1938-08-15"), ("rel", 0.3)),
    Target("SU-TRIAL1-DEATH", "first Moscow trial: death sentences (scripted)",
           lambda r: r.trial_deaths("First Moscow trial"), ("rel", 0.0), fit=False),
    Target("SU-TRIAL2-DEATH", "second Moscow trial: death sentences (scripted)",
           lambda r: r.trial_deaths("Second Moscow trial"), ("rel", 0.0), fit=False),
    Target("SU-TRIAL3-DEATH", "third Moscow trial: death sentences (scripted)",
           lambda r: r.trial_deaths("Third Moscow trial"), ("rel", 0.0), fit=False),
    Target("SU-LISTS-POSP", "lists of elite sentences approved 1937-39",
           lambda r: float(r.s["lists"]["lists"]), ("rel", 0.5), fit=False),
    Target("SU-MEM-ARR", "arrests 1937+1938 (Memorial estimate, at least)",
           lambda r: r.years(["1937", "1938"], "arrests"), ("rel", 0.25), fit=False),
    Target("SU-MEM-EXEC", "death sentences 1937+1938 (Memorial estimate, at least)",
           lambda r: r.years(["1937", "1938"], "death_sentences"), ("rel", 0.25), fit=False),
    Target("SU-WERTH-EXEC", "death sentences Aug 1937 - Nov 1938 (approximated by the "
                            "1 Oct 1936 - 1 Nov 1938 window)",
           lambda r: r.window(W2, "death_sentences"), ("rel", 0.25), fit=False),
    # ---- France 1793-94 (scenario france-1793)
    Target("FR-DEATHSENT-TOT", "death sentences, all regions",
           lambda r: r.total("death_sentences") if "Paris" in r.s.get("regions", {}) else None),
    Target("FR-DEATHSENT-PARIS", "regions.Paris.death_sentences",
           lambda r: r.region("Paris", "death_sentences")),
    Target("FR-SHARE-WEST", "share of death sentences in the West (%)",
           lambda r: r.region_share("West"), ("points", 5.0), size=100),
    Target("FR-SHARE-SE", "share of death sentences in the Southeast (%)",
           lambda r: r.region_share("Southeast"), ("points", 5.0), size=100),
    Target("FR-SUSPECTS-ARR", "arrests, all regions",
           lambda r: r.total("arrests") if "Paris" in r.s.get("regions", {}) else None,
           ("rel", 0.0)),
    Target("FR-PARIS-PRE-PRAIRIAL", "Paris death sentences to 10 Jun 1794",
           lambda r: r.region_between("Paris", "1793-04-01", "1794-06-10"), ("rel", 0.25)),
    Target("FR-PARIS-GREAT-TERROR", "Paris death sentences 11 Jun - 27 Jul 1794",
           lambda r: r.region_between("Paris", "1794-06-11", "1794-07-27"), ("rel", 0.25)),
    *[Target(f"FR-PARIS-{m}", f"Paris death sentences {a} to {b}",
             lambda r, a=a, b=b: r.region_between("Paris", a, b), ("rel", 0.35), fit=False)
      for m, a, b in (("FLOREAL", "1794-04-20", "1794-05-19"),
                      ("PRAIRIAL", "1794-05-20", "1794-06-18"),
                      ("MESSIDOR", "1794-06-19", "1794-07-18"),
                      ("THERMIDOR1-9", "1794-07-19", "1794-07-27"))],
    Target("FR-PRISON-DEATHS", "deaths in detention (camp deaths)",
           lambda r: r.run_years(["1793", "1794"], "camp_deaths")
           if "Paris" in r.s.get("regions", {}) else None, ("rel", 0.5), fit=False),
    Target("SU-ELLMAN-DEATHS", "death sentences + camp deaths 1937+1938",
           lambda r: (r.years(["1937", "1938"], "death_sentences") or 0.0)
           + (r.years(["1937", "1938"], "camp_deaths") or 0.0), ("rel", 0.25), fit=False),
]


def _nearest(row: Row, sim: float) -> float:
    lo, hi = row.low, row.high
    assert lo is not None and hi is not None
    return min(max(sim, lo), hi)


def judge(t: Target, row: Row, sim: float) -> dict[str, Any]:
    ref = _nearest(row, sim)
    rel = (sim - ref) / ref if ref else float("nan")
    kind, x = t.tol
    lo, hi = row.low or 0.0, row.high or 0.0
    if kind == "rel":
        ok = lo * (1 - x) - 1e-9 <= sim <= hi * (1 + x) + 1e-9
        tol_text = f"±{x:.0%}"
    elif kind == "factor":
        ok = lo / x <= sim <= hi * x
        tol_text = f"×/÷{x:g}"
    else:
        size = t.size or 1.0
        ok = abs(sim - ref) / size * 100 <= x + 1e-9
        tol_text = f"±{x:g} points of {size:g}"
    logerr = abs(math.log(max(sim, 1e-9) / ref)) if ref > 0 else float("nan")
    return {"rel_error": rel, "within": bool(ok), "tolerance": tol_text, "log_error": logerr}


def compare(run: RunData) -> dict[str, Any]:
    record = by_id()
    rows = []
    missing = []  # targets of the run's country that the run cannot answer (e.g. ended early)
    country = run.s.get("country", "USSR")
    for t in TARGETS:
        row = record.get(t.id)
        if row is None or row.role != "target" or row.value is None:
            continue
        if row.country != country:
            continue
        sim = t.get(run)
        if sim is None:
            missing.append(t.id)
            continue
        j = judge(t, row, sim)
        rows.append({
            "id": t.id, "quantity": row.quantity, "period": f"{row.period_start} – "
            f"{row.period_end}", "record": row.value, "low": row.low, "high": row.high,
            "unit": row.unit, "reliability": row.reliability, "source": row.source,
            "simulated": sim, "what": t.what, "fit": t.fit, **j,
        })
    fitted = [r["log_error"] for r in rows if r["fit"] and not math.isnan(r["log_error"])]
    score = float(np.mean(fitted)) if fitted else float("nan")
    return {
        "scenario": run.s["scenario"], "seed": run.s["seed"], "scale": run.s["scale"],
        "targets": rows,
        "score": {"mean_abs_log_error_fitted": score,
                  "within_tolerance": sum(r["within"] for r in rows),
                  "targets": len(rows),
                  "fitted_within_tolerance": sum(r["within"] for r in rows if r["fit"]),
                  "fitted": sum(r["fit"] for r in rows)},
        "missing": missing,
        "kept_back": kept_back(run),
        "claims": claims(run),
    }


#: the record's camp and colony counts on a date (sums of rows), against the run's stock:
#: predictions kept back, never fitted nor scored (SU-ITL-400101 and SU-ITK-400101 are
#: marked `target` in the record but are not in TARGETS)
CAMP_COUNTS = {
    "1936-01-01": ["SU-ITL-360101", "SU-ITK-360101"],
    "1937-01-01": ["SU-GULAG-370101"],
    "1940-01-01": ["SU-ITL-400101", "SU-ITK-400101"],
}


def kept_back(run: RunData) -> list[dict[str, Any]]:
    """The camp and colony population on the record's dates against the run's (a prediction:
    the run starts from the 1936 count, SU-ITL-360101 + SU-ITK-360101, and is fitted to none
    of them)."""
    stock = (run.s.get("camps") or {}).get("stock", {})
    if run.s.get("country", "USSR") != "USSR" or not stock:
        return []
    record = by_id()
    out = []
    for date, ids in CAMP_COUNTS.items():
        if date not in stock or any(i not in record for i in ids):
            continue
        value = sum(float(record[i].value or 0.0) for i in ids)
        sim = float(stock[date]["camp_population"])
        out.append({"date": date, "rows": ids, "record": value, "simulated": sim,
                    "rel_error": (sim - value) / value if value else float("nan"),
                    "what": f"camps.stock.{date}.camp_population"})
    return out


def _fate(run: RunData, name: str) -> str:
    n = run.s.get("named", {}).get(name)
    return "not in this scenario" if n is None else f"{n['fate']} {n['date'] or ''}".strip()


def claims(run: RunData) -> list[dict[str, Any]]:
    """The source article's claims: what it says, what the record says, what the model says."""
    s = run.s
    c = s.get("cohorts", {})
    out = []

    def share(key: str, what: str) -> str:
        if key not in c or not c[key]["size"]:
            return "not in this scenario"
        v = c[key]
        return f"{v[what]} of {v['size']} ({100 * v[what] / v['size']:.0f}%)"

    yearly = s.get("yearly", {})
    worst = max(yearly, key=lambda y: yearly[y]["arrests"]) if yearly else "n/a"
    trials = s.get("trials", [])
    public = sum(t["defendants"] for t in trials if t.get("public"))
    model = {
        "CLAIM-CC70": "shot: " + share("central_committee_1934", "shot"),
        "CLAIM-1108": "arrested: " + share("congress_17", "arrested"),
        "CLAIM-59": "not modelled (the 1939 Congress is not simulated)",
        "CLAIM-MIL": "; ".join(f"{k.replace('_', ' ')} arrested {share(k, 'arrested')}"
                               for k in ("marshals", "army_commanders",
                                         "corps_division_commanders")),
        "CLAIM-OFF-THIRD": "officers arrested: " + share("officers", "arrested"),
        "CLAIM-SNK": "shot: " + share("first_government_1917", "shot"),
        "CLAIM-PUBLIC70": f"{public} defendants in public show trials",
        "CLAIM-400": f"{s.get('lists', {}).get('lists', 0)} lists with "
                     f"{s.get('lists', {}).get('names_on_lists', 0)} names",
        "CLAIM-1939": f"the year with most arrests is {worst}",
        "CLAIM-YAGODA": "Yagoda: " + _fate(run, "Yagoda"),
        "CLAIM-RADEK": "Radek: " + _fate(run, "Radek"),
    }
    for row in by_id().values():
        if row.role != "claim" or row.country != s.get("country", "USSR"):
            continue
        out.append({"id": row.id, "claim": row.quantity.replace("popular claim: ", ""),
                    "record": row.notes, "model": model.get(row.id, "not modelled")})
    return out
