"""Scale invariance: does a figure of the summary depend on the scale of a run?

`scale` is a computing knob: it changes the cost of a run and the width of its noise, never
what the model says.  This module runs a scenario at several scales and seeds, takes the
figures a user reads in summary.json (yearly totals, each cohort's arrested and shot, the
NKVD's arrested, shot and dismissed by level, each operation, channel shares, regional
totals, each region's arrests under each operation, the troikas' mean lag by operation, the
dates of endogenous events) and compares their means across scales: the
difference of two means against its standard error, with a floor for small counts.  Used
by tests/test_scale_invariance.py and benchmarks/bench_scale_invariance.py.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np


def figures(s: dict[str, Any]) -> dict[str, float]:
    """The figures of one summary.json to compare across scales (flat names)."""
    out: dict[str, float] = {}
    for y, v in s.get("yearly", {}).items():
        for k in ("arrests", "convictions", "death_sentences", "camp_sentences"):
            out[f"yearly.{y}.{k}"] = float(v[k])
    for c, v in s.get("cohorts", {}).items():
        if v.get("size"):
            out[f"cohorts.{c}.arrested"] = float(v["arrested"])
            out[f"cohorts.{c}.shot"] = float(v["shot"])
    for key, v in s.get("operations", {}).items():
        if isinstance(v, dict) and "arrests" in v:
            for k in ("arrests", "convictions", "shot"):
                out[f"operations.{key}.{k}"] = float(v[k])
    for key, v in s.get("operations", {}).items():  # each region's arrests under it (15)
        for r, lr in (v.get("limits_by_region") or {}).items() if isinstance(v, dict) else ():
            if "arrested" in lr:
                out[f"operations.{key}.{r}.arrested"] = float(lr["arrested"])
    for key, v in ((s.get("troika") or {}).get("operations") or {}).items():
        if v["lag"]["mean_days"] is not None:  # the troikas' lag from arrest (issue 15)
            out[f"troika.{key}.lag_mean_days"] = float(v["lag"]["mean_days"])
    for k, v in s.get("channels", {}).items():
        out[f"channels.{k}"] = float(v)
    for r, v in s.get("regions", {}).items():
        out[f"regions.{r}.arrests"] = float(v["arrests"])
    camps = s.get("camps") or {}
    for date, v in camps.get("stock", {}).items():
        for k in ("camp_population", "camp_political", "prison_political"):
            out[f"camps.stock.{date}.{k}"] = float(v[k])
    for y, v in camps.get("yearly", {}).items():
        out[f"camps.yearly.{y}.deaths"] = float(v["deaths"])
        for cause, n in v["releases_political"].items():
            out[f"camps.yearly.{y}.releases_political.{cause}"] = float(n)
    for rank, v in ((s.get("army") or {}).get("by_rank") or {}).items():
        for k in ("discharged", "arrested", "shot", "reinstated"):
            out[f"army.{rank}.{k}"] = float(v["total"][k])
    police = s.get("police", {})
    if "officers_arrested" in police:
        out["police.officers_arrested"] = float(police["officers_arrested"])
    for level, v in (police.get("by_level") or {}).items():  # the NKVD by level (issue 16)
        for k in ("arrested", "shot", "dismissed"):
            out[f"police.{level}.{k}"] = float(sum(y[k] for y in v["years"].values()))
    start = dt.date.fromisoformat(s["parameters"]["start"])
    for name, ev in (s.get("events") or {}).items():
        if isinstance(ev, dict) and ev.get("date"):
            day = (dt.date.fromisoformat(ev["date"]) - start).days
            out[f"events.{name}.day"] = float(day)
    return out


@dataclass
class Comparison:
    """One figure at two scales: means over seeds, the standard error of their difference,
    and whether the difference is within tolerance."""

    name: str
    scale_a: float
    scale_b: float
    mean_a: float
    mean_b: float
    se: float
    floor: float
    z: float
    n_a: int
    n_b: int

    @property
    def diff(self) -> float:
        return self.mean_b - self.mean_a

    @property
    def allowed(self) -> float:
        return self.z * self.se + self.floor

    @property
    def ok(self) -> bool:
        return abs(self.diff) <= self.allowed

    @property
    def ratio(self) -> float:
        return self.mean_b / self.mean_a if self.mean_a else math.inf if self.mean_b else 1.0


def floor_for(name: str, values: Iterable[float], quantum: float = 0.0) -> float:
    """The smallest difference worth calling a scale effect: for counts, 5% of the mean or 5
    people, whichever is larger; for shares 0.01; for dates 14 days.

    A region's arrests under one operation (`operations.OP.REGION.arrested`) can be a few
    dozen people, less than one simulated person at the smaller scale: such a count is 0 or
    `quantum` = 1/scale in a run, so with a few seeds two scales can differ by one
    simulated person with no scale effect (and a standard error of 0 when every seed gives
    the same).  Their floor is at least that quantum.  (Elite counts are never rounded:
    they keep the 5-person floor.)"""
    m = float(np.mean(list(values)))
    if name.startswith("operations.") and name.count(".") >= 3:
        return max(0.05 * abs(m), 5.0, quantum)
    if name.startswith("channels."):
        return 0.01
    if name.startswith("events."):
        return 14.0
    if name.startswith("troika."):  # a mean lag in days
        return 1.0
    return max(0.05 * abs(m), 5.0)


def compare(by_scale: dict[float, list[dict[str, Any]]], *, z: float = 4.0
            ) -> list[Comparison]:
    """Compare each figure's mean at every scale with its mean at the smallest scale.

    `by_scale`: scale -> summaries of runs at that scale (several seeds).  A figure missing
    in some runs (an endogenous event that did not happen) is compared on the share of runs
    that have it (a date only where every run has one)."""
    scales = sorted(by_scale)
    figs = {sc: [figures(s) for s in runs] for sc, runs in by_scale.items()}
    names = sorted(set().union(*[f.keys() for runs in figs.values() for f in runs]))
    out = []
    base = scales[0]
    for name in names:
        for sc in scales[1:]:
            a = [f[name] for f in figs[base] if name in f]
            b = [f[name] for f in figs[sc] if name in f]
            if name.startswith("events."):
                if len(a) < len(figs[base]) or len(b) < len(figs[sc]):
                    a = [float(name in f) for f in figs[base]]  # share of runs with the event
                    b = [float(name in f) for f in figs[sc]]
                    name_c = name.replace(".day", ".happened")
                    out.append(_one(name_c, base, sc, a, b, 0.34, z))
                    continue
            if not a or not b:
                continue
            out.append(_one(name, base, sc, a, b, floor_for(name, a + b, 1.0 / base), z))
    return out


def _one(name: str, sa: float, sb: float, a: list[float], b: list[float], floor: float,
         z: float) -> Comparison:
    va = float(np.var(a, ddof=1)) if len(a) > 1 else 0.0
    vb = float(np.var(b, ddof=1)) if len(b) > 1 else 0.0
    se = math.sqrt(va / len(a) + vb / len(b))
    return Comparison(name, sa, sb, float(np.mean(a)), float(np.mean(b)), se, floor, z,
                      len(a), len(b))


def run_summaries(scenario: str, scale: float, seeds: Iterable[int],
                  sets: list[str] | None = None) -> list[dict[str, Any]]:
    """Summaries (without cascade statistics) of one scenario at one scale over seeds."""
    from .results import summary
    from .runner import simulate

    out = []
    for seed in seeds:
        sim = simulate(scenario, sets=sets or [], scale=scale, seed=seed)
        out.append(summary(sim, cascade=False))
    return out


def table(comparisons: list[Comparison]) -> str:
    """A Markdown table of the comparisons (failures first)."""
    rows = ["| figure | scale | mean | scale | mean | ratio | difference / allowed | |",
            "|---|---:|---:|---:|---:|---:|---:|---|"]
    for c in sorted(comparisons, key=lambda c: (c.ok, c.name)):
        frac = abs(c.diff) / c.allowed if c.allowed else math.inf
        rows.append(f"| {c.name} | {c.scale_a:g} | {c.mean_a:,.4g} | {c.scale_b:g} | "
                    f"{c.mean_b:,.4g} | {c.ratio:.3f} | {frac:.2f} | "
                    f"{'ok' if c.ok else '**differs**'} |")
    return "\n".join(rows)
