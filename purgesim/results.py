"""What a run produces: `summary.json`, daily series and the event log as Parquet.

Everything is computed from the recorder's arrays and the event log after the run; nothing
here changes the simulation.  Files are written into a temporary folder that is renamed to
the run folder only when complete, so a folder that exists is a finished run.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from . import __version__
from .codes import (
    BOTTOM_UP,
    COHORT_KEYS,
    NOT_ARREST_CAUSES,
    TOP_DOWN,
    Cause,
    Cohort,
    Event,
    Post,
    State,
)
from .kernels import njit
from .params import describe
from .police import police_by_level
from .tables import contained, distinct, member
from .words import merged

if TYPE_CHECKING:
    from .engine import Sim

SUMMARY_VERSION = 1


def parameters(sim: Sim) -> dict[str, Any]:
    sc = sim.sc
    out: dict[str, Any] = {
        "start": sc.start.isoformat(), "end": sc.end.isoformat(), "scale": sc.scale,
        "seed": sc.seed, "household_size": sc.household_size,
        "workplace_size": sc.workplace_size, "acquaintance_rings": sc.acquaintance_rings,
    }
    for key in sim.mechs:
        for row in describe(sc.mechanism_params(key), key):
            out[row["name"]] = row["value"]
    return out


def _years(sim: Sim) -> dict[str, slice]:
    sc = sim.sc
    out = {}
    for y in range(sc.start.year, sc.end.year + 1):
        a = max(sc.day_of(dt.date(y, 1, 1)), 0)
        b = min(sc.day_of(dt.date(y + 1, 1, 1)), sim.n_days)
        out[str(y)] = slice(a, b)
    return out


def _window(sim: Sim, start: str, end: str) -> slice:
    sc = sim.sc
    a = max(sc.day_of(dt.date.fromisoformat(start)), 0)
    b = min(max(sc.day_of(dt.date.fromisoformat(end)), 0), sim.n_days)
    return slice(a, b)


@njit(cache=True)
def _cascade_kernel(who: np.ndarray, parent: np.ndarray, cause: np.ndarray,
                    month: np.ndarray, w: np.ndarray, n_months: int,
                    chained: np.ndarray, confession: int) -> tuple[np.ndarray, np.ndarray, int]:
    """The arrests in log order.  `who`/`parent`: compact indices of the arrested person and
    of the person who caused the arrest (-1 if he was never arrested).  Returns the weight of
    the arrests caused by people arrested in each month, the weight arrested each month, and
    the deepest chain of confessions.  Sums run in log order, as the Python loop they replace
    did, so the figures are the same to the last bit."""
    n_people = 0
    for k in range(who.shape[0]):
        n_people = max(n_people, who[k] + 1)
    last_month = np.full(n_people, -1, dtype=np.int64)  # month of the latest arrest so far
    depth = np.zeros(n_people, dtype=np.int64)
    children = np.zeros(n_months)
    per_month = np.zeros(n_months)
    deepest = 0
    for k in range(who.shape[0]):
        p = who[k]
        b = parent[k]
        known = b >= 0 and last_month[b] >= 0
        if chained[cause[k]] and known:
            children[last_month[b]] += w[k]
        if cause[k] == confession and known:
            depth[p] = depth[b] + 1
            deepest = max(deepest, depth[p])
        else:
            depth[p] = 0
        last_month[p] = month[k]
    for k in range(who.shape[0]):
        per_month[month[k]] += w[k]
    return children, per_month, deepest


def cascade_stats(sim: Sim) -> dict[str, Any]:
    """Names per confession, effective reproduction number by month, deepest naming chain."""
    log = sim.log.rows
    arr = log[log["event"] == Event.ARRESTED]
    w = sim.pop.weight(arr["person"])
    labels = [sim.sc.date_of(d).strftime("%Y-%m") for d in range(sim.n_days)]
    month_names = sorted(set(labels))
    month_of_day = np.searchsorted(np.array(month_names), np.array(labels))
    # the distinct people arrested and each arrest's index among them, from one sort (a
    # search of 2 million ids among 2 million costs more than the sort itself)
    person = np.ascontiguousarray(arr["person"])
    order = np.argsort(person, kind="stable")
    first = np.ones(order.size, dtype=bool)
    np.not_equal(person[order[1:]], person[order[:-1]], out=first[1:])
    people = person[order[first]]
    who = np.empty(order.size, dtype=np.int64)
    who[order] = np.cumsum(first) - 1
    parent = np.searchsorted(people, np.ascontiguousarray(arr["by"]))
    if people.size:
        parent[parent == people.size] = 0
        parent[people[parent] != arr["by"]] = -1
    month = month_of_day[arr["day"]].astype(np.int64)
    has_arrests = np.bincount(month, minlength=len(month_names)) > 0
    chained = np.zeros(256, dtype=np.bool_)
    for c in (Cause.CONFESSION, Cause.DEFENDER, Cause.RELATIVE):
        chained[int(c)] = True
    children, per_month, deepest = _cascade_kernel(
        who.astype(np.int64), parent.astype(np.int64), arr["cause"].astype(np.int64),
        month, np.asarray(w, dtype=np.float64),
        len(month_names), chained, int(Cause.CONFESSION))
    conf = sim.mechs["confession"].summary()
    return {
        "mean_names_per_confession": round(conf["mean_names_per_confession"], 4),
        "confessions": round(conf["confessions"]),
        "reproduction_by_month": {m: round(float(children[i]) / float(per_month[i]), 4)
                                  for i, m in enumerate(month_names) if has_arrests[i]},
        "deepest_chain": int(deepest),
    }


class _Arrested:
    """Who was ever arrested, asked many times for small groups (cohorts, factions, the
    police): the log is read once, and the elite block's arrested ids kept sorted."""

    def __init__(self, sim: Sim) -> None:
        log = sim.log.rows
        self.all = log["person"][log["event"] == Event.ARRESTED]
        self.n_elite = sim.pop.n_elite
        self.elite = distinct(self.all[self.all < self.n_elite])

    def among(self, members: np.ndarray) -> np.ndarray:
        """For each member: was he ever arrested?"""
        if members.size and int(members.max()) < self.n_elite:
            return member(members, self.elite)
        return contained(members, self.all)


def _attrition(sim: Sim, members: np.ndarray, ever: _Arrested) -> dict[str, int]:
    st = sim.pop.state[members]
    return {"size": int(members.size), "arrested": int(ever.among(members).sum()),
            "shot": int((st == State.SHOT).sum())}


def cohort_stats(sim: Sim, ever: _Arrested | None = None) -> dict[str, Any]:
    """Attrition of each cohort, under the scenario's labels (`cohort_labels`)."""
    ever = ever or _Arrested(sim)
    labels = sim.sc.cohort_labels
    out = {}
    for c, key in COHORT_KEYS.items():
        label = labels.get(key, key)
        if label:
            out[label] = _attrition(sim, sim.pop.cohort_members(c), ever)
    return out


def faction_stats(sim: Sim, ever: _Arrested | None = None) -> dict[str, Any]:
    ever = ever or _Arrested(sim)
    return {name: _attrition(sim, ids, ever) for name, ids in sim.pop.factions.items()}


def region_stats(sim: Sim) -> dict[str, Any]:
    """Each region's totals over the run and by calendar year (issue 15: `regions` with yearly
    totals per region; the daily series are regions.parquet)."""
    rec = sim.rec
    years = _years(sim)
    series = (("arrests", rec.arrests_region), ("convictions", rec.convictions_region),
              ("death_sentences", rec.shot_region))
    return {name: {**{k: round(float(a[:, r].sum())) for k, a in series},
                   "population": int(sim.sc.regions[r].population),
                   "yearly": {y: {k: round(float(a[sl, r].sum())) for k, a in series}
                              for y, sl in years.items()}}
            for r, name in enumerate(sim.pop.region_names)}


def _months(sim: Sim) -> tuple[list[str], np.ndarray]:
    """The calendar months of the run ('1937-08') and each day's month index."""
    labels = [sim.sc.date_of(d).strftime("%Y-%m") for d in range(sim.n_days)]
    names = sorted(set(labels))
    return names, np.searchsorted(np.array(names), np.array(labels))


def _lag_figures(hist: np.ndarray) -> dict[str, Any]:
    """Mean, median and 90th percentile (days) of a weighted histogram of lags."""
    total = float(hist.sum())
    if total <= 0:
        return {"cases": 0, "mean_days": None, "median_days": None, "p90_days": None}
    days = np.arange(hist.size)
    cum = np.cumsum(hist) / total
    return {"cases": round(total), "mean_days": round(float((hist * days).sum()) / total, 2),
            "median_days": int(np.searchsorted(cum, 0.5 - 1e-12)),
            "p90_days": int(np.searchsorted(cum, 0.9 - 1e-12))}


def troika_stats(sim: Sim) -> dict[str, Any]:
    """The troikas' rhythm (issue 15): for each operation (and all together) the lag from
    arrest to the troika's sentence and the wait from the closing of the investigation to
    the sitting (weighted: full-scale cases; mean, median, 90th percentile in days); for each
    region its troikas, mean lag, and the months of peak arrests (all channels), peak troika
    sentences and peak convictions (all bodies).  Kept back: never fitted."""
    trials = sim.mechs["trials"]
    quotas = sim.mechs["quotas"]
    rec = sim.rec
    ops = {key: {"lag": _lag_figures(trials.lag_hist[o]),
                 "wait": _lag_figures(trials.wait_hist[o])}
           for o, key in enumerate(sim.op_keys)}
    ops["all"] = {"lag": _lag_figures(trials.lag_hist.sum(axis=0)),
                  "wait": _lag_figures(trials.wait_hist.sum(axis=0))}
    names, month = _months(sim)
    M = len(names)
    regions = {}
    for r, name in enumerate(sim.pop.region_names):
        arrests, troika, conv = (np.bincount(month, weights=a[:, r], minlength=M)
                                 for a in (rec.arrests_region, rec.troika_region,
                                           rec.convictions_region))
        n = float(rec.troika_region[:, r].sum())
        regions[name] = {
            "troikas": int(trials.n_troikas[r]),
            "officers": int(quotas.officers_serving()[r]) if quotas.officers.size else 0,
            "lag_mean_days": round(float(rec.troika_lag_region[:, r].sum()) / n, 2)
            if n > 0 else None,
            "peak_arrests_month": names[int(arrests.argmax())] if arrests.any() else None,
            "peak_troika_sentences_month": names[int(troika.argmax())] if troika.any()
            else None,
            "peak_convictions_month": names[int(conv.argmax())] if conv.any() else None,
            "largest_queue": round(float(trials.backlog_max[r])),
            "days_arrests_capped": int(quotas.capped_days[r]),
        }
    return {"session_interval_days": int(trials.p.troika_session_interval),
            "capacity_per_sitting": float(trials.p.troika_capacity),
            "sittings": int(trials.sittings),
            "sent_to_courts_at_halt": round(trials.to_courts),
            "operations": ops, "regions": regions}


def named_stats(sim: Sim) -> dict[str, Any]:
    """The named people: fate, date, and who named them, split at the arrest: `named_by` are
    the namings before his first arrest (or before the end of the run if never arrested), the
    ones that can explain it; `named_after` those on or after it, or after his death (a man
    dead before the run, or shot, is still named in others' confessions)."""
    log = sim.log.rows
    ids = np.array(sorted(set(sim.pop.names.values())), dtype=np.int64)
    log = log[member(log["person"], ids)]  # the named people's rows, read once
    out = {}
    real = {n.name: n for n in sim.sc.named}
    fate_events = [Event.ARRESTED, Event.SHOT, Event.CAMP, Event.EXILE, Event.RELEASED,
                   Event.DIED]
    ends = np.isin(log["event"], [Event.ARRESTED, Event.SHOT, Event.DIED])
    for name, i in sim.pop.names.items():
        own = log["person"] == i
        mine = log[own & np.isin(log["event"], fate_events)]
        first_end = np.flatnonzero(own & ends)
        cut = 0 if real[name].state == "died" else \
            (int(first_end[0]) if first_end.size else log.size)
        named = np.flatnonzero(own & (log["event"] == Event.NAMED))
        arrested = log["day"][own & (log["event"] == Event.ARRESTED)]
        state = State(int(sim.pop.state[i]))
        out[name] = {
            "fate": state.name.lower(),
            "date": sim.date(int(mine["day"][-1])) if mine.size else None,
            "arrested": sim.date(int(arrested[0])) if arrested.size else None,
            "named_by": sorted({sim.pop.label(int(b)) for b in log["by"][named[named < cut]]}),
            "named_after": sorted({sim.pop.label(int(b))
                                   for b in log["by"][named[named >= cut]]}),
            "real_fate": real[name].real_fate, "real_date": real[name].real_date,
        }
    return out


def operations_stats(sim: Sim) -> dict[str, Any]:
    rec = sim.rec
    out = sim.mechs["quotas"].summary()
    for o, key in enumerate(sim.op_keys):
        out[key].update({
            "arrests": round(float(rec.arrests_op[:, o].sum())),
            "convictions": round(float(rec.convictions_op[:, o].sum())),
            "shot": round(float(rec.shot_op[:, o].sum())),
        })
    return out


def channel_shares(sim: Sim) -> dict[str, Any]:
    total = sim.rec.arrests.sum(axis=0)
    s = float(total.sum()) or 1.0
    shares = {c.name.lower(): round(float(total[int(c)]) / s, 5) for c in Cause
              if total[int(c)] > 0}
    top = sum(float(total[int(c)]) for c in TOP_DOWN) / s
    bottom = sum(float(total[int(c)]) for c in BOTTOM_UP) / s
    shares["top_down"] = round(top, 5)
    shares["bottom_up"] = round(bottom, 5)
    shares["routine"] = round(float(total[int(Cause.ROUTINE)]) / s, 5)
    return shares


def mass_phase(sim: Sim) -> dict[str, Any]:
    """From the start of the first mass operation to the halt (or the end of the run)."""
    starts = [o.start for o in sim.sc.operations]
    start = min(starts).isoformat() if starts else sim.sc.start.isoformat()
    halt = sim.endogenous.get("halt")
    return {"start": start, "end": halt["date"] if halt else sim.sc.end.isoformat(),
            "halted": halt is not None}


@njit(cache=True)
def state_counts(state: np.ndarray, n_states: int) -> np.ndarray:
    """People in each state (``np.bincount`` would first copy the uint8 states to 8-byte
    integers: 1.3 GB at scale 1)."""
    out = np.zeros(max(n_states, 256), dtype=np.int64)
    for s in state:
        out[s] += 1
    return out[:n_states]


def summary(sim: Sim, *, cascade: bool = True) -> dict[str, Any]:
    """The run's summary.json; `cascade=False` leaves out the naming-cascade statistics (the
    one costly part, not needed to compare a run with the record: calibration)."""
    rec = sim.rec
    yearly = {}
    for y, sl in _years(sim).items():
        f = rec.flow
        yearly[y] = {
            "arrests": round(float(rec.arrests[sl].sum())),
            "convictions": round(float(f["convictions"][sl].sum())),
            "death_sentences": round(float(f["shot"][sl].sum())),
            "camp_sentences": round(float(f["camp"][sl].sum())),
            "exile_sentences": round(float(f["exile"][sl].sum())),
            "releases": round(float(f["releases"][sl].sum())),
            "camp_deaths": round(float(f["camp_deaths"][sl].sum())),
        }
    windows = {}
    for w in sim.sc.windows:  # the periods the record counts over (the scenario's)
        if not (sim.sc.start <= w.start and w.end <= sim.sc.end + dt.timedelta(days=1)):
            continue  # the run does not cover this window
        sl = _window(sim, w.start.isoformat(), w.end.isoformat())
        windows[w.label] = {
            "arrests": round(float(rec.arrests[sl].sum())),
            "convictions": round(float(rec.flow["convictions"][sl].sum())),
            "death_sentences": round(float(rec.flow["shot"][sl].sum())),
        }
    pop = sim.pop
    police = pop.cohort_members(Cohort.STATE_SECURITY)
    ever = _Arrested(sim)
    return {
        "summary_version": SUMMARY_VERSION,
        "scenario": sim.sc.name,
        "country": sim.sc.country,
        "labels": merged(sim.sc.labels),
        "seed": int(sim.sc.seed),
        "scale": float(sim.sc.scale),
        "version": __version__,
        "people": {"simulated": pop.n, "elite_block": pop.n_elite,
                   "represented": round(float(pop.n_elite + (pop.n - pop.n_elite) / pop.scale)),
                   "bytes_per_person": round(sum(pop.nbytes().values()) / pop.n, 3)},
        "parameters": parameters(sim),
        "yearly": yearly,
        "windows": windows,
        "cohorts": cohort_stats(sim, ever),
        "factions": faction_stats(sim, ever),
        "regions": region_stats(sim),
        "operations": operations_stats(sim),
        "troika": troika_stats(sim),
        "channels": channel_shares(sim),
        "named": named_stats(sim),
        "cascade": cascade_stats(sim) if cascade else None,
        "events": dict(sim.endogenous),
        "mass_phase": mass_phase(sim),
        "trials": sim.mechs["orders"].summary()["trials"],
        "lists": sim.mechs["trials"].summary(),
        "army": sim.mechs["army"].summary(),
        "police": {"officers": int(police.size),
                   "officers_arrested": int(ever.among(police).sum()),
                   "chiefs": sim.mechs["purgers"].summary()["chiefs"],
                   **sim.mechs["vigilance"].summary(),
                   "by_level": police_by_level(sim)},
        "mechanisms": {k: {"enabled": bool(m.on),
                           **(_jsonable(m.summary()) if k != "army" else {})}
                       for k, m in sim.mechs.items() if k not in ("orders",)},
        "period": {"start": sim.sc.start.isoformat(), "end": sim.sc.end.isoformat()},
        "camps": camp_stats(sim),
        "final_states": {State(s).name.lower(): int(n) for s, n in
                         enumerate(state_counts(pop.state, len(State)))},
    }


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(d, default=float))


# ------------------------------------------------------------------------ tables


def daily_table(sim: Sim) -> pa.Table:
    rec = sim.rec
    dates = [sim.sc.date_of(d) for d in range(sim.n_days)]
    cols: dict[str, Any] = {"date": pa.array(dates, pa.date32())}
    for c in Cause:
        if c in NOT_ARREST_CAUSES:
            continue
        cols[f"arrests_{c.name.lower()}"] = rec.arrests[:, int(c)]
    cols["arrests"] = rec.arrests.sum(axis=1)
    for c in Cause:
        if c in NOT_ARREST_CAUSES:
            continue
        cols[f"suspects_{c.name.lower()}"] = rec.suspects[:, int(c)]
    for k, v in rec.flow.items():
        cols[k] = v
    cols["custody"] = rec.custody
    stock = _camp_stock(sim)
    for k in ("camp_population", "camp_political", "camp_other"):
        cols[k] = stock[k]
    cols["camp_deaths_other"] = stock["deaths_other"]
    cols["camp_releases_other"] = stock["releases_other"]
    return pa.table(cols)


def _camp_stock(sim: Sim) -> dict[str, np.ndarray]:
    """The camp and colony population as the NKVD counted it (both compartments, end of each
    day), its parts and flows, and the people in custody: the columns of `camp_stock_table`
    (the daily table carries some of them)."""
    rec = sim.rec
    camps = sim.mechs["camps"]
    return {
        "camp_population": rec.camp_population + camps.other_stock,
        "camp_political": rec.camp_population,
        "camp_other": camps.other_stock,
        "admissions_political": rec.flow["camp"],
        "admissions_other": camps.other_in,
        "deaths_political": rec.flow["camp_deaths"],
        "deaths_other": camps.other_died,
        "releases_political": rec.camp_released.sum(axis=1) + rec.camp_retried,
        "releases_other": camps.other_released,
        "prison_political": rec.custody,
    }


def camp_stock_table(sim: Sim) -> pa.Table:
    """The daily stock of the camps and prisons (end of each day), for the report: the camp and
    colony population (`camp_population` = `camp_political` + `camp_other`), its admissions,
    deaths and releases by compartment, and the people in custody (`prison_political`: the
    model's political detainees only; ordinary prisoners are not modelled)."""
    dates = [sim.sc.date_of(d) for d in range(sim.n_days)]
    return pa.table({"date": pa.array(dates, pa.date32()), **_camp_stock(sim)})


def camp_stats(sim: Sim) -> dict[str, Any]:
    """summary.json's `camps`: the camp and colony population and the people in custody on the
    first day, on 1 January of each year and at the end; admissions, deaths and releases by
    year (releases of the model's prisoners by cause).  Kept-back predictions: never fitted."""
    rec = sim.rec
    camps = sim.mechs["camps"]
    sc = sim.sc

    def stock(d: int) -> dict[str, float]:  # end of day d (d = -1: the start of the run)
        if d < 0:
            pol, oth, cus = rec.camp_start, camps.other_start, 0.0
        else:
            pol, oth, cus = (float(rec.camp_population[d]), float(camps.other_stock[d]),
                             float(rec.custody[d]))
        return {"camp_population": round(pol + oth), "camp_political": round(pol),
                "camp_other": round(oth), "prison_political": round(cus)}

    stocks = {sc.start.isoformat(): stock(-1)}
    for y in range(sc.start.year + 1, sc.end.year + 2):
        d = sc.day_of(dt.date(y, 1, 1)) - 1  # the end of 31 December of the year before
        if 0 <= d < sim.n_days:
            stocks[dt.date(y, 1, 1).isoformat()] = stock(d)
    end = (sc.end + dt.timedelta(days=1)).isoformat()
    stocks.setdefault(end, stock(sim.n_days - 1))
    names = {int(c): c.name.lower() for c in Cause}
    yearly = {}
    for y, sl in _years(sim).items():
        rel = rec.camp_released[sl].sum(axis=0)
        by_cause = {names[c]: round(float(v)) for c, v in enumerate(rel) if v > 0}
        retried = float(rec.camp_retried[sl].sum())
        if retried > 0:
            by_cause["taken_for_trial"] = round(retried)
        yearly[y] = {
            "admissions_political": round(float(rec.flow["camp"][sl].sum())),
            "admissions_other": round(float(camps.other_in[sl].sum())),
            "deaths_political": round(float(rec.flow["camp_deaths"][sl].sum())),
            "deaths_other": round(float(camps.other_died[sl].sum())),
            "deaths": round(float(rec.flow["camp_deaths"][sl].sum()
                                  + camps.other_died[sl].sum())),
            "releases_political": by_cause,
            "releases_other": round(float(camps.other_released[sl].sum())),
        }
    return {"note": "camp_population = camp_political (the model's prisoners, weighted) + "
                    "camp_other (the stock at the start and the ordinary admissions, not "
                    "simulated); prison_political = the model's political detainees in "
                    "custody only. Dates are 00:00 of the day (stocks at the end of the day "
                    "before).",
            "stock": stocks, "yearly": yearly}


def long_table(sim: Sim, names: list[str], key: str, **series: np.ndarray) -> pa.Table:
    D = sim.n_days
    n = len(names)
    dates = [sim.sc.date_of(d) for d in range(D)]
    cols: dict[str, Any] = {
        "date": pa.array(np.repeat(np.array(dates, dtype="datetime64[D]"), n)),
        key: pa.array(np.tile(np.array(names, dtype=object), D)).dictionary_encode(),
    }
    for k, v in series.items():
        cols[k] = v[:, :n].reshape(-1)
    return pa.table(cols)


def regions_table(sim: Sim) -> pa.Table:
    """regions.parquet: one row per day and region.  Flows of the day (full scale): arrests,
    convictions, shot (all channels and bodies), troika_sentences and troika_lag_days (the sum
    of their lags from arrest: a month's mean lag is sum(troika_lag_days) /
    sum(troika_sentences) over its days).  Stocks at the end of the day, summed over the
    mass operations (per operation they are in summary.json `operations.*.limits_by_region`):
    limit_initial_cat1/2 (the operations' initial limits), limit_granted_cat1/2 (initial plus
    every increase so far) and limit_used_cat1/2 (troika sentences so far by category); a
    month's figure is its last day's."""
    rec = sim.rec
    R = sim.pop.n_regions
    quotas = sim.mechs["quotas"]
    D = sim.n_days
    initial = (quotas.initial_region.sum(axis=0) if quotas.initial_region.size
               else np.zeros((R, 2)))
    return long_table(
        sim, sim.pop.region_names, "region", arrests=rec.arrests_region,
        convictions=rec.convictions_region, shot=rec.shot_region,
        troika_sentences=rec.troika_region, troika_lag_days=rec.troika_lag_region,
        limit_initial_cat1=np.broadcast_to(initial[:, 0], (D, R)),
        limit_initial_cat2=np.broadcast_to(initial[:, 1], (D, R)),
        limit_granted_cat1=rec.limit_granted_region[:, :, 0],
        limit_granted_cat2=rec.limit_granted_region[:, :, 1],
        limit_used_cat1=rec.limit_used_region[:, :, 0],
        limit_used_cat2=rec.limit_used_region[:, :, 1])


def _labels(codes: np.ndarray, names: list[str]) -> pa.StringArray:
    """``pa.array(np.array(names, dtype=object)[codes])`` without a Python object per row:
    Arrow takes the rows' labels from the few names."""
    return pa.array(names, type=pa.string()).take(pa.array(np.asarray(codes)))


def _encoded(codes: np.ndarray, names: list[str]) -> pa.DictionaryArray:
    """``_labels(codes, names).dictionary_encode()`` built from the codes: the dictionary
    lists the labels in order of first appearance, as `dictionary_encode` does (the same
    table), without a string per row."""
    codes = np.asarray(codes)
    present = np.flatnonzero(np.bincount(codes, minlength=len(names)))
    first = [int(np.argmax(codes == c)) for c in present.tolist()]
    order = present[np.argsort(first, kind="stable")]
    # labels that several codes share (none today) would be one dictionary entry
    labels = [names[c] for c in order.tolist()]
    if len(set(labels)) < len(labels):
        return _labels(codes, names).dictionary_encode()
    index = np.full(len(names), -1, dtype=np.int32)
    index[order] = np.arange(order.size, dtype=np.int32)
    return pa.DictionaryArray.from_arrays(pa.array(index[codes]),
                                          pa.array(labels, type=pa.string()))


def _dates(day: np.ndarray, start: dt.date) -> pa.Array:
    """The calendar date of each day of the run, as Arrow's date32 (days since 1970-01-01)
    computed in int32: the same column as NumPy's datetime64 arithmetic, 50 times faster."""
    epoch = (start - dt.date(1970, 1, 1)).days
    return pa.array(np.asarray(day, dtype=np.int32) + np.int32(epoch)).view(pa.date32())


def events_table(sim: Sim) -> pa.Table:
    log = sim.log.rows
    ev_names = [""] + [e.name.lower() for e in Event]
    cause_names = [c.name.lower() for c in Cause]
    ops = sim.op_keys + [""]
    op = log["op"].astype(np.int64)
    op[op < 0] += len(ops)  # -1: no operation, the last name (as NumPy's indexing did)
    return pa.table({
        "person": log["person"],
        "day": log["day"],
        "date": _dates(log["day"], sim.sc.start),
        "event": _encoded(log["event"], ev_names),
        "cause": _encoded(log["cause"], cause_names),
        "by": log["by"],
        "operation": _encoded(op, ops),
    })


def people_table(sim: Sim) -> pa.Table:
    """Who is who, for the people who appear in the event log (event-proportional)."""
    log = sim.log.rows
    ids = distinct(np.concatenate([log["person"], log["by"][log["by"] >= 0],
                                   np.array(list(sim.pop.names.values()), dtype=np.int64)]))
    pop = sim.pop
    elite = ids < pop.n_elite
    head = elite & (ids % pop.hsize == 0)
    post = np.full(ids.size, int(Post.NONE), dtype=np.int64)
    post[elite & ~head] = int(Post.RELATIVE)
    post[head] = pop.e_post[ids[head] // pop.hsize]
    post_names = np.array([Post(p).name.lower() for p in range(max(Post) + 1)], dtype=object)
    # the cohorts' label of each distinct mask (0 for everyone but the elite's heads)
    uniq, which_head = np.unique(pop.e_cohorts[ids[head] // pop.hsize].astype(np.int64),
                                 return_inverse=True)
    uniq = np.concatenate([[0], uniq])
    which = np.zeros(ids.size, dtype=np.int64)
    which[head] = which_head.reshape(-1) + 1
    # under the scenario's labels, as the cohort attrition of summary.json (France's
    # "convention", not the USSR's "congress_17"); a cohort a scenario leaves unnamed is left out
    labels = sim.sc.cohort_labels
    cohort_labels = np.array([",".join(labels.get(v, v) for c, v in COHORT_KEYS.items()
                                       if int(m) & (1 << int(c)) and labels.get(v, v))
                              for m in uniq], dtype=object)
    name_of = np.zeros(ids.size, dtype=np.int64)  # 0: no name
    known = [""]
    for name, i in pop.names.items():
        k = np.searchsorted(ids, i)
        if k < ids.size and ids[k] == i:
            known.append(name)
            name_of[k] = len(known) - 1
    state_names = [State(v).name.lower() for v in range(max(State) + 1)]
    return pa.table({
        "person": ids, "name": _labels(name_of, known),
        "post": _labels(post, post_names.tolist()),
        "region": _labels(pop.regions_of(ids), list(pop.region_names)),
        "cohorts": _labels(which, cohort_labels.tolist()),
        "final_state": _labels(pop.state[ids], state_names),
    })


def timing(sim: Sim, seconds: float) -> dict[str, Any]:
    return {
        "build_seconds": round(sim.build_seconds, 4),
        "run_seconds": round(seconds, 4),
        "phases": [{"phase": t.name, "seconds": round(t.seconds, 4), "calls": t.calls}
                   for t in sim.timing],
        "events": int(sim.log.n),
    }


# ------------------------------------------------------------------------ writing


def write_run(sim: Sim, out: Path, seconds: float, force: bool = False,
              check: Callable[[], None] | None = None,
              report: Callable[[Path, str], None] | None = None) -> dict[str, Any]:
    """Write all outputs into a temporary sibling folder, then rename it into place
    (`runfolder.replace_folder`: with `force` an existing folder is replaced only if it is a
    purgesim run folder).

    `report(tmp, name)`, if given, writes the report into the folder before it is marked
    complete (a kill during the report phase leaves no finished-looking run); the marker
    ``purgesim-run.json`` is written last and says whether the folder has its report.
    `check` is called just before the folder is put in place: it may raise to stop (the
    command line re-raises a stop signal a library swallowed while the files were written)."""
    from .runfolder import staged, write_marker

    out = Path(out)
    with staged(out, force, check) as tmp:
        s = summary(sim)
        (tmp / "summary.json").write_text(json.dumps(s, indent=2, sort_keys=False) + "\n")
        (tmp / "timing.json").write_text(json.dumps(timing(sim, seconds), indent=2) + "\n")
        pq.write_table(daily_table(sim), tmp / "daily.parquet")
        rec = sim.rec
        pq.write_table(long_table(sim, sim.op_keys, "operation", arrests=rec.arrests_op,
                                  convictions=rec.convictions_op, shot=rec.shot_op),
                       tmp / "operations.parquet")
        pq.write_table(regions_table(sim), tmp / "regions.parquet")
        pq.write_table(events_table(sim), tmp / "events.parquet")
        pq.write_table(people_table(sim), tmp / "people.parquet")
        has_report = False
        if report is not None:
            report(tmp, out.name)
            has_report = (tmp / "report.html").is_file()
        write_marker(tmp, "run", report=has_report)
    return s
