"""Benchmark of the calibration (purgesim.calibrate).

1. A full calibration of a scenario (default `ussr-1937`, its [calibration] settings, at least
   2,000 simulations) on a local Dask cluster of 2 worker processes: wall time, simulations,
   generations, final threshold.
2. Scaling: the same fixed number of simulations (one generation of prior draws, all
   accepted) on a local Dask cluster with 1 worker, then 2 workers; the cluster is started
   and its workers warmed before the clock starts.

The machine's load (os.getloadavg) is recorded before and after each measurement, since
other work on the machine slows the runs.

    python benchmarks/bench_calibrate.py                      # both parts
    python benchmarks/bench_calibrate.py --skip-full          # scaling only
    python benchmarks/bench_calibrate.py --full-out runs/calibrate-ussr-1937 --budget 2000

Results are printed and written as JSON (--json, default benchmarks/bench_calibrate.json).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from purgesim.calibrate import (  # noqa: E402
    _warm,
    local_cluster,
    make_config,
    run_calibration,
)


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def full(scenario: str, budget: int, out: Path | None, workers: int) -> dict:
    tmp = None
    if out is None:
        tmp = Path(tempfile.mkdtemp(prefix="bench-cal-"))
        out = tmp / "cal"
    cfg = make_config(scenario, budget=budget,
                      command=f"python benchmarks/bench_calibrate.py --budget {budget}")
    before = load()
    t0 = time.perf_counter()
    r = run_calibration(cfg, out, workers=workers, quiet=False)
    seconds = time.perf_counter() - t0
    res = {"scenario": scenario, "workers": workers, "budget": budget,
           "simulations": r["simulations"], "simulations_run": r["simulations_run"],
           "generations": r["generations"], "final_epsilon": r["final_epsilon"],
           "population": cfg.population, "scale": cfg.scale,
           "wall_seconds": round(seconds, 1), "load_before": before, "load_after": load(),
           "out": str(out)}
    if tmp is not None:
        shutil.rmtree(tmp, ignore_errors=True)
    return res


def scaling(scenario: str, n: int, workers: int, scale: float | None = None) -> dict:
    client = local_cluster(workers)
    try:
        client.run(_warm)
        with tempfile.TemporaryDirectory(prefix="bench-scale-") as d:
            cfg = make_config(scenario, population=n, generations=1, budget=n, predictive=0,
                              scale=scale)
            before = load()
            t0 = time.perf_counter()
            r = run_calibration(cfg, Path(d) / "cal", client=client, quiet=True)
            seconds = time.perf_counter() - t0
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()
    return {"workers": workers, "simulations": r["simulations"], "scale": cfg.scale,
            "wall_seconds": round(seconds, 1),
            "seconds_per_simulation": round(seconds / max(r["simulations"], 1), 3),
            "load_before": before, "load_after": load()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenario", default="ussr-1937")
    ap.add_argument("--budget", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--full-out", type=Path, default=None,
                    help="keep the full calibration in this folder")
    ap.add_argument("--skip-full", action="store_true")
    ap.add_argument("--scaling-sims", type=int, default=60)
    ap.add_argument("--scaling-workers", type=int, nargs="+", default=[1, 2],
                    help="worker counts to compare (the first is the reference)")
    ap.add_argument("--scale", type=float, default=None,
                    help="scale of the scaling runs (default: the scenario's calibration)")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "bench_calibrate.json")
    a = ap.parse_args()
    results: dict = {"machine": {"cores": os.cpu_count()}}
    if not a.skip_full:
        results["full"] = full(a.scenario, a.budget, a.full_out, a.workers)
        print(json.dumps(results["full"], indent=1), flush=True)
    runs = []
    for w in a.scaling_workers:
        runs.append(scaling(a.scenario, a.scaling_sims, w, a.scale))
        print(json.dumps(runs[-1]), flush=True)
    ref = runs[0]
    results["scaling"] = {"runs": runs, "speedup": {
        f"{r['workers']} vs {ref['workers']} workers":
            round(ref["seconds_per_simulation"] / r["seconds_per_simulation"], 2)
        for r in runs[1:]}}
    print(f"speedup (seconds per simulation): {results['scaling']['speedup']}")
    a.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
