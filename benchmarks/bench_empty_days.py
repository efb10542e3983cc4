"""A day on which nothing happens costs close to nothing, whatever the population's size.

The engine promises that work is proportional to events: no phase of a day visits the whole
population.  This benchmark checks that promise on days with no events: a toy-like scenario
with no scripted events and no operations, one region of N people at scale 1, for N = 1e5,
1e6, 1e7 (by default), in two configurations:

* ``off``: every mechanism switched off (the engine's own overhead);
* ``idle``: every mechanism switched on with the toy's parameters, but the two spontaneous
  sources of arrests (routine policing, denunciations) at rate 0, so each mechanism runs its
  daily step and finds nothing to do.

  It times every ``Sim.step`` and reports
the median and mean cost of a day, the share of each phase, and the cost relative to the
smallest population.  The per-day cost should stay flat while N grows 100-fold; building the
population (a whole-population pass, done once) grows with N and is reported for contrast.

    python benchmarks/bench_empty_days.py
    python benchmarks/bench_empty_days.py 1e5 1e6 1e7 1e8 --days 365

Writes ``benchmarks/results/empty_days.json`` and ``benchmarks/results/empty_days.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
MECHANISMS = ("orders", "quotas", "routine", "denunciation", "vigilance", "confession",
              "purgers", "association", "trials", "camps", "halt")


def scenario(n_people: int, days: int, mode: str):
    from purgesim.scenario import Scenario, raw_scenario

    data = raw_scenario("toy")
    data.pop("base", None)
    start = dt.date(1937, 1, 1)
    data.update(
        name="empty-days", scale=1.0, seed=1, start=start,
        end=start + dt.timedelta(days=days - 1), events=[], operations=[],
        regions=[{"name": "Everywhere", "population": int(n_people)}],
    )
    if mode == "off":
        for key in MECHANISMS:
            data[key] = {"enabled": False}
    else:
        data["routine"] = {"rate_per_year": 0.0, "rate_after_halt": 0.0}
        data["denunciation"] = {"rate": 0.0, "elite_rate": 0.0}
    return Scenario.model_validate(data)


def measure(n_people: int, days: int, mode: str) -> dict:
    from purgesim.engine import Sim

    sc = scenario(n_people, days, mode)
    t0 = time.perf_counter()
    sim = Sim(sc)
    build = time.perf_counter() - t0
    per_day = np.empty(sim.n_days)
    per_day_cpu = np.empty(sim.n_days)
    for day in range(sim.n_days):
        t, c = time.perf_counter(), time.thread_time()
        sim.step(day)
        per_day[day] = time.perf_counter() - t
        per_day_cpu[day] = time.thread_time() - c
    assert sim.log.n == 0, "something happened on an 'empty' day"
    phases = {t.name: t.seconds / max(t.calls, 1) * 1e6 for t in sim.timing}
    return {
        "mode": mode,
        "people": int(sim.pop.n),
        "days": int(sim.n_days),
        "build_seconds": build,
        "day_median_us": float(np.median(per_day) * 1e6),
        "day_mean_us": float(per_day.mean() * 1e6),
        "day_p99_us": float(np.percentile(per_day, 99) * 1e6),
        "day_cpu_median_us": float(np.median(per_day_cpu) * 1e6),
        "day_cpu_mean_us": float(per_day_cpu.mean() * 1e6),
        "phase_mean_us": phases,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("sizes", nargs="*", type=float, default=[1e5, 1e6, 1e7])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--modes", nargs="+", choices=["off", "idle"], default=["off", "idle"])
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    sys.path.insert(0, str(HERE.parent))
    load_before = " ".join(f"{x:.1f}" for x in os.getloadavg())
    for mode in args.modes:  # warm-up: load numba's cached code outside the measured runs
        measure(1000, 10, mode)
    results = []
    for mode in args.modes:
        for size in args.sizes:
            r = measure(int(size), args.days, mode)
            results.append(r)
            print(f"{mode:5s} {r['people']:>12,} people: build {r['build_seconds']:.3f} s, "
                  f"day median {r['day_median_us']:.1f} us, mean {r['day_mean_us']:.1f} us",
                  flush=True)
    lines = ["| mechanisms | people | build s | day median us | day mean us | day p99 us "
             "| day CPU median us | day CPU mean us | median vs smallest |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        base = next(x for x in results if x["mode"] == r["mode"])["day_median_us"]
        lines.append(f"| {r['mode']} | {r['people']:,} | {r['build_seconds']:.3f} "
                     f"| {r['day_median_us']:.1f} | {r['day_mean_us']:.1f} "
                     f"| {r['day_p99_us']:.1f} | {r['day_cpu_median_us']:.1f} "
                     f"| {r['day_cpu_mean_us']:.1f} | {r['day_median_us'] / base:.2f}x |")
    lines += ["", "Mean microseconds per phase per day:", "",
              "| phase | " + " | ".join(f"{r['mode']} {r['people']:,}" for r in results) + " |",
              "|---|" + "---|" * len(results)]
    for ph in results[0]["phase_mean_us"]:
        lines.append(f"| {ph} | " + " | ".join(f"{r['phase_mean_us'][ph]:.1f}" for r in results)
                     + " |")
    md = "\n".join(lines)
    print()
    print(md)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "empty_days.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "empty_days.md").write_text(
        f"# Cost of a day with no events\n\nMeasured {dt.datetime.now():%Y-%m-%d %H:%M}, "
        f"{args.days} days per population; `off`: every mechanism off, `idle`: every mechanism "
        f"on with nothing to do. Load average {load_before} before, "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} after (shared machine); CPU = the "
        f"thread's CPU time (`time.thread_time`), less disturbed by other work than wall "
        f"time.\n\n{md}\n")


if __name__ == "__main__":
    main()
