"""How the cost of a run grows: with the population at a fixed number of events, and with the
number of events at a fixed population.

Both series use purgesim's own ``Sim`` on a toy-based scenario built in code: one region of N
people at scale 1, no scripted events, no operations; the only source of arrests is routine
policing at a fixed number of arrests per day **in absolute simulated persons** (the routine
rate is a national figure at full scale, so at scale 1 it does not grow with N).  The arrested
go through the rest of the machine as usual: interrogation (they confess, but name nobody:
every naming probability 0), trial, sentence, camp.  Orders, quotas, denunciations,
association, the purge of the purgers and the halt are off, so nothing else creates events.

* **population series**: ``--arrests`` a day (default 50) for ``--days`` days (default 200),
  N = 1e5, 1e6, 1e7, 1e8: the same events, 1000 times the people;
* **events series**: N fixed (default 1e7), arrests a day = 10, 30, 100, 300, 1000, 3000.

Every point is timed ``--repeat`` times (default 3) and the fastest kept, wall time and CPU
time (``time.process_time``) both: the machine may be shared, and CPU time is less disturbed by
other work.  Build time (``Sim(scenario)``, a whole-population pass done once) is reported
apart from the run time.  A log-log least-squares slope summarises each series: about 0 for
time against N at fixed events, about 1 for time against events at fixed N.

    python benchmarks/bench_growth.py
    python benchmarks/bench_growth.py --sizes 1e5 1e6 --rates 10 100 --repeat 1   # quick

Writes ``benchmarks/results/growth.json``, ``growth.md`` and ``growth.png``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
sys.path.insert(0, str(ROOT))

OFF = ("orders", "quotas", "denunciation", "association", "purgers", "halt")


def scenario(n_people: int, arrests_per_day: float, days: int):
    from purgesim.scenario import Scenario, raw_scenario

    data = raw_scenario("toy")
    data.pop("base", None)
    start = dt.date(1937, 1, 1)
    data.update(
        name="growth", scale=1.0, seed=1, start=start,
        end=start + dt.timedelta(days=days - 1), events=[], operations=[],
        regions=[{"name": "Everywhere", "population": int(n_people), "element_share": 0.0}],
    )
    for key in OFF:
        data[key] = {"enabled": False}
    data["routine"] = {"rate_per_year": 365.0 * arrests_per_day,
                       "rate_after_halt": 365.0 * arrests_per_day, "element_share": 0.0}
    data["confession"] = {"p_family": 0.0, "p_work": 0.0, "p_acquaintance": 0.0,
                          "p_superior": 0.0}
    return Scenario.model_validate(data)


def measure(n_people: int, arrests_per_day: float, days: int) -> dict:
    from purgesim.codes import Event
    from purgesim.engine import Sim

    sc = scenario(n_people, arrests_per_day, days)
    t0 = time.perf_counter()
    sim = Sim(sc)
    build = time.perf_counter() - t0
    w0, c0 = time.perf_counter(), time.process_time()
    sim.run()
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    log = sim.log.rows
    return {
        "people": int(sim.pop.n),
        "arrests_per_day": arrests_per_day,
        "days": int(sim.n_days),
        "build_seconds": build,
        "run_seconds": wall,
        "run_cpu_seconds": cpu,
        "events": int(sim.log.n),
        "arrests": int((log["event"] == Event.ARRESTED).sum()),
        "phases": {t.name: t.seconds for t in sim.timing},
    }


def best(n_people: int, rate: float, days: int, repeat: int) -> dict:
    runs = [measure(n_people, rate, days) for _ in range(max(repeat, 1))]
    r = min(runs, key=lambda x: x["run_cpu_seconds"])
    r["repeats_run_seconds"] = [x["run_seconds"] for x in runs]
    r["repeats_run_cpu_seconds"] = [x["run_cpu_seconds"] for x in runs]
    assert len({x["events"] for x in runs}) == 1  # the same seed, the same run
    return r


def slope(x: list[float], y: list[float]) -> float:
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def linear_fit(rows: list[dict]) -> dict:
    """CPU seconds = a * days + b * events (least squares): a is the cost of a day's fixed
    work, b the cost of an event."""
    x = np.array([[r["days"], r["events"]] for r in rows], dtype=float)
    y = np.array([r["run_cpu_seconds"] for r in rows])
    (a, b), *_ = np.linalg.lstsq(x, y, rcond=None)
    pred = x @ np.array([a, b])
    r2 = 1.0 - ((y - pred) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    return {"us_per_day": float(a * 1e6), "us_per_event": float(b * 1e6), "r2": float(r2),
            "max_rel_error": float(np.max(np.abs(pred - y) / y))}


def table(rows: list[dict]) -> str:
    head = ("| people | arrests/day | events | build s | run s (wall) | run s (CPU) "
            "| us per event (CPU) | us per day (CPU) |")
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['people']:,} | {r['arrests_per_day']:g} | {r['events']:,} "
            f"| {r['build_seconds']:.3f} | {r['run_seconds']:.3f} | {r['run_cpu_seconds']:.3f} "
            f"| {r['run_cpu_seconds'] / max(r['events'], 1) * 1e6:.2f} "
            f"| {r['run_cpu_seconds'] / r['days'] * 1e6:.0f} |")
    return "\n".join(lines)


def plot(pop_rows: list[dict], ev_rows: list[dict], fit: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    n = [r["people"] for r in pop_rows]
    a.loglog(n, [r["run_cpu_seconds"] for r in pop_rows], "o-", label="run (CPU)")
    a.loglog(n, [r["run_seconds"] for r in pop_rows], "s--", label="run (wall)")
    a.loglog(n, [r["build_seconds"] for r in pop_rows], "^:", label="build (wall)")
    ref = pop_rows[0]["run_cpu_seconds"]
    a.loglog(n, [ref * x / n[0] for x in n], color="grey", lw=0.8, label="proportional to N")
    a.set_xlabel("people")
    a.set_ylabel("seconds")
    a.set_title(f"fixed events (~{pop_rows[0]['events']:,})")
    a.legend(fontsize=8)
    e = [r["events"] for r in ev_rows]
    b.loglog(e, [r["run_cpu_seconds"] for r in ev_rows], "o-", label="run (CPU)")
    b.loglog(e, [r["run_seconds"] for r in ev_rows], "s--", label="run (wall)")
    days = ev_rows[0]["days"]
    xs = np.geomspace(min(e), max(e), 50)
    b.loglog(xs, (fit["us_per_day"] * days + fit["us_per_event"] * xs) * 1e-6, color="grey",
             lw=0.8, label=f"{fit['us_per_day']:.0f} us/day + {fit['us_per_event']:.2f} us/event")
    b.set_xlabel("events")
    b.set_title(f"fixed population ({ev_rows[0]['people']:,})")
    b.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def machine() -> dict:
    import numba

    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    return {"date": dt.datetime.now().isoformat(timespec="seconds"), "cpus": os.cpu_count(),
            "cpu": cpu, "python": platform.python_version(), "numba": numba.__version__,
            "commit": commit, "load_before": " ".join(f"{x:.1f}" for x in os.getloadavg())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", nargs="+", type=float, default=[1e5, 1e6, 1e7, 1e8])
    ap.add_argument("--arrests", type=float, default=50.0,
                    help="arrests a day in the population series")
    ap.add_argument("--fixed-size", type=float, default=1e7,
                    help="population of the events series")
    ap.add_argument("--rates", nargs="+", type=float, default=[10, 30, 100, 300, 1000, 3000],
                    help="arrests a day in the events series")
    ap.add_argument("--days", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--replot", action="store_true",
                    help="redraw growth.png from growth.json without running")
    args = ap.parse_args()
    if args.replot:
        data = json.loads((args.out / "growth.json").read_text())
        plot(data["population_series"], data["events_series"], data["linear_fit_events"],
             args.out / "growth.png")
        return
    info = machine()
    measure(1000, 5, 10)  # warm-up: numba's cached kernels are loaded outside the timings
    pop_rows = []
    for n in args.sizes:
        r = best(int(n), args.arrests, args.days, args.repeat)
        pop_rows.append(r)
        print(f"N {r['people']:>12,}: {r['events']:,} events, build {r['build_seconds']:.3f} s, "
              f"run {r['run_seconds']:.3f} s wall, {r['run_cpu_seconds']:.3f} s CPU", flush=True)
    ev_rows = []
    for rate in args.rates:
        r = best(int(args.fixed_size), rate, args.days, args.repeat)
        ev_rows.append(r)
        print(f"{rate:g}/day at N {r['people']:,}: {r['events']:,} events, "
              f"run {r['run_seconds']:.3f} s wall, {r['run_cpu_seconds']:.3f} s CPU", flush=True)
    info["load_after"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    s_pop = slope([r["people"] for r in pop_rows], [r["run_cpu_seconds"] for r in pop_rows])
    s_ev = slope([r["events"] for r in ev_rows], [r["run_cpu_seconds"] for r in ev_rows])
    s_build = slope([r["people"] for r in pop_rows], [r["build_seconds"] for r in pop_rows])
    fit = linear_fit(ev_rows)
    s_ev_top = slope([r["events"] for r in ev_rows[-3:]],
                     [r["run_cpu_seconds"] for r in ev_rows[-3:]])
    md = "\n".join([
        "# How the cost grows",
        "",
        f"Measured {info['date']} (commit {info['commit']}), {info['cpus']} CPUs ({info['cpu']}), "
        f"Python {info['python']}, numba {info['numba']}; load average before "
        f"{info['load_before']}, after {info['load_after']} (shared machine). {args.days} days "
        f"per run, fastest (by CPU time) of {args.repeat} run(s) per point.",
        "",
        f"## Time against population, {args.arrests:g} routine arrests a day",
        "",
        table(pop_rows),
        "",
        f"Log-log slope of run CPU time against N: **{s_pop:.3f}** (0 = independent of N); "
        f"of build time against N: {s_build:.2f} (building is a whole-population pass).",
        "",
        f"## Time against events, {int(args.fixed_size):,} people",
        "",
        table(ev_rows),
        "",
        f"Least squares, CPU seconds = a x days + b x events: a = **{fit['us_per_day']:.0f} us "
        f"per day**, b = **{fit['us_per_event']:.2f} us per event**, R^2 = {fit['r2']:.4f}, "
        f"largest relative error {100 * fit['max_rel_error']:.0f}%: time is linear in the "
        f"events plus a small fixed cost per day. Log-log slope against events: {s_ev:.3f} "
        f"over the whole series, {s_ev_top:.3f} over the three largest rates (1 = "
        "proportional).",
        "",
        "![growth](growth.png)",
    ])
    print()
    print(md)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "growth.json").write_text(json.dumps(
        {"machine": info, "days": args.days, "repeat": args.repeat,
         "slope_time_vs_people": s_pop, "slope_build_vs_people": s_build,
         "slope_time_vs_events": s_ev, "slope_time_vs_events_top3": s_ev_top,
         "linear_fit_events": fit, "population_series": pop_rows,
         "events_series": ev_rows}, indent=1) + "\n")
    (args.out / "growth.md").write_text(md + "\n")
    plot(pop_rows, ev_rows, fit, args.out / "growth.png")


if __name__ == "__main__":
    main()
