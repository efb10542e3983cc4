"""The NKVD by level and year: what happened to the police's own (issue 16, item 2).

The state-security officers are unweighted elite post-holders, each at one level
(`codes.POLICE_LEVELS`): the people's commissar (whoever held the chief's office in the
run), the central apparatus, the
regional leadership (chiefs, deputies, heads of departments) and the operational staff.
`police_by_level` counts, from the event log, each level's arrests, executions, dismissals
and reinstatements by calendar year, and the arrests by cause (the purge of the old chief's
clients, CHIEF_REPLACEMENT, under Yezhov and again under Beria; the purge of the apparatus,
POLICE_PURGE; and every other channel); summary.json keeps it under ``police.by_level``.
`police_table` turns that part of a summary into one flat table (a row per level and year),
for a report, a notebook (``pandas.DataFrame(police_table(s).to_pylist())`` or
``.to_pandas()``) or an ensemble.

These are kept-back predictions: never fitted, never compared with record rows of role
`target` (docs/model.md, section 7).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from .codes import POLICE_LEVELS, Cause, Event, Post

if TYPE_CHECKING:
    from .engine import Sim

#: the columns counted per level and year, in the order of the table
COUNTS = ("arrested", "shot", "dismissed", "reinstated", "replaced",
          "arrested_chief_replacement", "arrested_police_purge", "arrested_other")


def levels_of(sim: Sim, ids: np.ndarray) -> np.ndarray:
    """The level index (order of POLICE_LEVELS) of each person; -1 if not a police officer
    (mass people, relatives, other posts)."""
    pop = sim.pop
    ids = np.asarray(ids, dtype=np.int64)
    out = np.full(ids.size, -1, dtype=np.int64)
    head = (ids < pop.n_elite) & (ids % pop.hsize == 0)
    post = pop.e_post[ids[head] // pop.hsize]
    lv = np.full(post.size, -1, dtype=np.int64)
    for k, posts in enumerate(POLICE_LEVELS.values()):
        lv[np.isin(post, [int(p) for p in posts])] = k
    out[head] = lv
    out[np.isin(ids, chiefs(sim))] = 0  # whoever held the chief's office: the commissar level
    return out


def chiefs(sim: Sim) -> np.ndarray:
    """Everyone who held the chief's office in the run: the first chief (post POLICE_CHIEF)
    and each new chief who took office (`by` of the CHIEF_REPLACED events), sorted."""
    log = sim.log.rows
    new = log["by"][log["event"] == Event.CHIEF_REPLACED]
    return np.union1d(sim.pop.heads_with_post(Post.POLICE_CHIEF), new[new >= 0])


def police_by_level(sim: Sim) -> dict[str, Any]:
    """Each level's size and, by year, its arrests (events; by cause), executions,
    dismissals, reinstatements and, for the commissar, replacements.  The commissar level is
    everyone who held the chief's office in the run (Yagoda, Yezhov, Beria in `ussr-1937`),
    whatever his post in the elite block (Yezhov and Beria sit in the Central Committee)."""
    pop = sim.pop
    sc = sim.sc
    keys = list(POLICE_LEVELS)
    sizes = np.zeros(len(keys), dtype=np.int64)
    for k, posts in enumerate(POLICE_LEVELS.values()):
        sizes[k] = int(np.isin(pop.e_post, [int(p) for p in posts]).sum())
    sizes[0] = chiefs(sim).size  # the commissar "level": the people who held the office
    years = list(range(sc.start.year, sc.end.year + 1))
    bounds = np.array([max(sc.day_of(dt.date(y, 1, 1)), 0) for y in years[1:]], dtype=np.int64)
    log = sim.log.rows
    wanted = np.isin(log["event"], [int(Event.ARRESTED), int(Event.SHOT), int(Event.DISMISSED),
                                    int(Event.REINSTATED), int(Event.CHIEF_REPLACED)])
    rows = log[wanted]
    lv = levels_of(sim, rows["person"])
    rows, lv = rows[lv >= 0], lv[lv >= 0]
    yi = np.searchsorted(bounds, rows["day"], side="right")
    table = np.zeros((len(keys), len(years), len(COUNTS)), dtype=np.int64)
    ev, cause = rows["event"], rows["cause"]
    arrested = ev == Event.ARRESTED
    columns = (arrested, ev == Event.SHOT, ev == Event.DISMISSED, ev == Event.REINSTATED,
               ev == Event.CHIEF_REPLACED,
               arrested & (cause == Cause.CHIEF_REPLACEMENT),
               arrested & (cause == Cause.POLICE_PURGE),
               arrested & (cause != Cause.CHIEF_REPLACEMENT) & (cause != Cause.POLICE_PURGE))
    for c, sel in enumerate(columns):
        np.add.at(table[:, :, c], (lv[sel], yi[sel]), 1)
    return {key: {"size": int(sizes[k]),
                  "years": {str(y): {name: int(table[k, j, c]) for c, name in enumerate(COUNTS)}
                            for j, y in enumerate(years)}}
            for k, key in enumerate(keys)}


def police_table(summary: dict[str, Any]) -> pa.Table:
    """One row per level and year of a run's summary (``summary["police"]["by_level"]``):
    level, year, size and the counts of `COUNTS`.  An empty table for a summary without it
    (written before issue 16)."""
    by_level = (summary.get("police") or {}).get("by_level") or {}
    cols: dict[str, list[Any]] = {"level": [], "year": [], "size": []}
    cols.update({c: [] for c in COUNTS})
    for level, v in by_level.items():
        for year, counts in v["years"].items():
            cols["level"].append(level)
            cols["year"].append(int(year))
            cols["size"].append(int(v["size"]))
            for c in COUNTS:
                cols[c].append(int(counts.get(c, 0)))
    schema = pa.schema([("level", pa.string()), ("year", pa.int32()), ("size", pa.int64())]
                       + [(c, pa.int64()) for c in COUNTS])
    return pa.table(cols, schema=schema)
