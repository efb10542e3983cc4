"""The speed figures of issue 13, each set against its floor, measured in one run.

1. **The whole USSR**: ``python -m purgesim run ussr-1937 --scale 1`` (outputs and report
   included) in a child process: wall, user + system CPU (``os.wait4``), peak RSS, and the
   simulation's own build and run seconds (``timing.json``).  With ``--reference DIR`` (a run
   folder of the same command at an earlier commit) the outputs are compared: summary.json
   byte for byte and every Parquet table (``pyarrow.Table.equals``).
2. **A calibration simulation** at scale 0.01 as `purgesim calibrate` runs it (what its
   model, ``calibrate.SimModel``, does: the simulation and the statistics compared with the
   record; no files written) at the calibrated values, after a warm-up, CPU seconds each
   (``time.process_time``) over several seeds.
3. **The first run on a fresh machine**: the same command at the default scale with an empty
   numba cache (``NUMBA_CACHE_DIR`` in a temporary folder), then again with the cache filled;
   the difference is the compilation.
4. **Floors**, in the same run: one pass over the person arrays at full scale (``state`` and
   ``traits``, 2 bytes x 162,658,896 people, summed by a numba loop: the memory-bandwidth
   cost of touching every person once), and writing the run's event log as Parquet with
   pyarrow alone (the table read from the scale-1 run folder, written to a temporary file).

The load average is recorded before and after each measurement (the machine may be shared).

    python benchmarks/bench_speed.py                            # everything
    python benchmarks/bench_speed.py --reference runs/old-scale1  # and prove identity
    python benchmarks/bench_speed.py --skip-full                # 2, 3 and the first floor

    python benchmarks/bench_speed.py --only-calibration --other-tree ../old-checkout
    python benchmarks/bench_speed.py --only-calibration --other-tree ../old-checkout --at-once

Writes ``benchmarks/results/speed.json`` and ``benchmarks/results/speed.md``
(``speed-calibration.*`` with ``--only-calibration``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def child(cmd: list[str], env: dict[str, str] | None = None) -> dict:
    """Run a command; wall, CPU (user + system) and peak RSS of the child."""
    before = load()
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    err = p.stderr.read() if p.stderr else ""
    return {"exit": os.waitstatus_to_exitcode(status), "wall_seconds": round(wall, 2),
            "cpu_seconds": round(ru.ru_utime + ru.ru_stime, 2),
            "user_seconds": round(ru.ru_utime, 2), "system_seconds": round(ru.ru_stime, 2),
            "peak_rss_mib": round(ru.ru_maxrss / 1024), "load_before": before,
            "load_after": load(), "stderr": err[-1500:], "command": " ".join(cmd[1:])}


def identical(a: Path, b: Path) -> dict[str, bool]:
    import pyarrow.parquet as pq

    out = {"summary.json": (a / "summary.json").read_bytes() == (b / "summary.json").read_bytes()}
    for f in sorted(x.name for x in a.glob("*.parquet")):
        out[f] = (b / f).is_file() and pq.read_table(a / f).equals(pq.read_table(b / f))
    return out


def full_run(out: Path, reference: Path | None) -> dict:
    cmd = [sys.executable, "-m", "purgesim", "run", "ussr-1937", "--scale", "1", "--seed", "1",
           "--out", str(out), "--force", "--quiet"]
    r = child(cmd)
    timing = json.loads((out / "timing.json").read_text()) if r["exit"] == 0 else {}
    r.update(build_seconds=timing.get("build_seconds"), run_seconds=timing.get("run_seconds"),
             events=timing.get("events"))
    if reference is not None and r["exit"] == 0:
        r["identical_to"] = str(reference)
        r["identical"] = identical(reference, out)
    return r


def calibration_sims(scale: float, seeds: list[int], tree: Path = ROOT) -> dict:
    """CPU seconds of one simulation as the calibration makes it (after a warm-up)."""
    before = load()
    return _finish(_start(scale, seeds, tree), scale, seeds, tree, before)


def calibration_sims_at_once(scale: float, seeds: list[int], trees: list[Path],
                             shift: int = 0) -> list[dict]:
    """`calibration_sims` of several trees at the same time, one process each (numba's
    threads at 1, as in a calibration worker): the machine's drift over minutes (10 - 25 %
    on this machine, docs/performance.md) falls on all of them alike, which alternating
    rounds of a few seconds do not achieve.  Their absolute times are longer than a tree's
    alone (the processes share the caches); their ratios are the measurement.

    Tree i runs pinned to CPU (i + shift) mod the CPUs, where the system allows it: the same
    code differed by up to 13 % between the two CPUs of this machine, so a measurement runs
    once with each `shift` and takes the geometric mean of the ratios."""
    before = load()
    n = os.cpu_count() or 1
    procs = [_start(scale, seeds, t, threads=1, cpu=(i + shift) % n)
             for i, t in enumerate(trees)]
    return [_finish(p, scale, seeds, t, before) | {"cpu": (i + shift) % n}
            for i, (p, t) in enumerate(zip(procs, trees))]


def _start(scale: float, seeds: list[int], tree: Path,
           threads: int | None = None, cpu: int | None = None) -> subprocess.Popen:
    pin = (f"os.sched_setaffinity(0, {{{cpu}}})\n"
           if cpu is not None and hasattr(os, "sched_setaffinity") else "")
    code = f"""
import json, os, time
{pin}from purgesim.calibrate import make_config, read_quantity, simulate
from purgesim.compare import RunData
cfg = make_config("ussr-1937", scale={scale!r})
out = []
for k, seed in enumerate([99] + {seeds!r}):  # the first: warm-up (kernels loaded)
    t = time.process_time()
    sim = simulate(cfg.scenario, cfg.sets, {{}}, cfg.scale, seed)
    run = RunData(sim=sim)
    stats = [read_quantity(run, o.id) for o in cfg.obs]
    if k:
        out.append(time.process_time() - t)
print(json.dumps(out))
"""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    if threads is not None:
        env["NUMBA_NUM_THREADS"] = str(threads)
    return subprocess.Popen([sys.executable, "-c", code], cwd=tree, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def _finish(p: subprocess.Popen, scale: float, seeds: list[int], tree: Path,
            before: str) -> dict:
    stdout, stderr = p.communicate()
    if p.returncode:
        return {"error": stderr[-1500:]}
    cpu = json.loads(stdout.strip().splitlines()[-1])
    return {"tree": str(tree), "scale": scale, "seeds": seeds,
            "cpu_seconds": [round(x, 3) for x in cpu],
            "mean_cpu_seconds": round(sum(cpu) / len(cpu), 3), "min_cpu_seconds":
            round(min(cpu), 3), "load_before": before, "load_after": load(),
            "projected_2000_on_2_workers_minutes": round(2000 * sum(cpu) / len(cpu) / 2 / 60,
                                                         1)}


def first_run() -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-first-") as d:
        env = {**os.environ, "NUMBA_CACHE_DIR": str(Path(d) / "numba")}
        cmd = [sys.executable, "-m", "purgesim", "run", "ussr-1937", "--seed", "1",
               "--no-report", "--force", "--out", str(Path(d) / "run")]
        cold = child(cmd, env)
        warm = child(cmd, env)
    return {"cold": cold, "warm": warm,
            "compile_seconds_wall": round(cold["wall_seconds"] - warm["wall_seconds"], 2),
            "compile_seconds_cpu": round(cold["cpu_seconds"] - warm["cpu_seconds"], 2)}


def pass_floor() -> dict:
    """One pass over 2 bytes per person at full scale (the USSR's 162,658,896 people)."""
    code = """
import time, numpy as np
from numba import njit
@njit(cache=False)
def touch(a, b):
    s = 0
    for i in range(a.shape[0]):
        s += a[i] + b[i]
    return s
n = 162_658_896
state = np.full(n, 1, np.uint8); traits = np.full(n, 2, np.uint8)  # written: real pages
touch(state[:10], traits[:10])
best = 1e9
for _ in range(3):
    t = time.perf_counter(); touch(state, traits); best = min(best, time.perf_counter() - t)
print(best)
"""
    before = load()
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    sec = float(p.stdout.strip().splitlines()[-1]) if p.returncode == 0 else float("nan")
    return {"people": 162_658_896, "bytes": 2 * 162_658_896, "seconds": round(sec, 4),
            "gb_per_second": round(2 * 162_658_896 / sec / 1e9, 2) if sec == sec else None,
            "load_before": before, "load_after": load()}


def parquet_floor(run: Path) -> dict:
    """Writing the run's event log as Parquet with pyarrow alone (best of 3)."""
    import pyarrow.parquet as pq

    table = pq.read_table(run / "events.parquet")
    before = load()
    best = 1e9
    with tempfile.TemporaryDirectory(prefix="bench-pq-") as d:
        for _ in range(3):
            t = time.perf_counter()
            pq.write_table(table, Path(d) / "events.parquet")
            best = min(best, time.perf_counter() - t)
    return {"rows": table.num_rows, "seconds": round(best, 3), "load_before": before,
            "load_after": load()}


def markdown(res: dict) -> str:
    m = res["machine"]
    lines = [f"Measured {res['date']} on {m['cpu']}, {m['cores']} CPUs (commit {res['commit']}; "
             f"Python {m['python']}). Load averages (1, 5, 15 min) before and after each "
             "measurement are given with it.", ""]
    f = res.get("full")
    if f:
        lines += ["| measurement | wall s | CPU s (user + sys) | peak RSS MiB | sim build s | "
                  "sim run s | events | load before / after |", "|---|---|---|---|---|---|---|---|",
                  f"| `{f['command']}` | {f['wall_seconds']} | {f['cpu_seconds']} "
                  f"({f['user_seconds']} + {f['system_seconds']}) | {f['peak_rss_mib']} | "
                  f"{f['build_seconds']} | {f['run_seconds']} | {f['events']:,} | "
                  f"{f['load_before']} / {f['load_after']} |", ""]
        if "identical" in f:
            same = ", ".join(f"{k} {'=' if v else 'DIFFERENT'}" for k, v in f["identical"].items())
            lines += [f"Outputs against `{f['identical_to']}`: {same}.", ""]
    for o, t in zip(res.get("calibration_other", []), res.get("calibration_rounds", [])):
        if "error" in o or "error" in t:
            continue
        lines += [f"Alternately: `{o['tree']}` {o['mean_cpu_seconds']} s, this tree "
                  f"{t['mean_cpu_seconds']} s per calibration simulation (load "
                  f"{o['load_before']} / {t['load_after']}).", ""]
    ratios = []
    for o, t in res.get("calibration_at_once", []):
        if "error" in o or "error" in t:
            continue
        ratios.append(t["mean_cpu_seconds"] / o["mean_cpu_seconds"])
        lines += [f"At the same time (one process each, `NUMBA_NUM_THREADS=1`): `{o['tree']}` "
                  f"{o['mean_cpu_seconds']} s on CPU {o.get('cpu', '?')}, this tree "
                  f"{t['mean_cpu_seconds']} s on CPU {t.get('cpu', '?')} per calibration "
                  f"simulation: **{ratios[-1]:.2f} x** (load {o['load_before']} / "
                  f"{t['load_after']}).", ""]
    if len(ratios) > 1:
        g = 1.0
        for r in ratios:
            g *= r
        lines += [f"Geometric mean of the {len(ratios)} ratios (each tree on each CPU): "
                  f"**{g ** (1 / len(ratios)):.2f} x**.", ""]
    c = res.get("calibration")
    if c and "error" not in c:
        lines += [f"Calibration simulation at scale {c['scale']} (as `calibrate` runs it, "
                  f"no files): CPU s per simulation over seeds {c['seeds']}: "
                  f"{c['cpu_seconds']} (mean {c['mean_cpu_seconds']}, min "
                  f"{c['min_cpu_seconds']}); 2,000 of them on 2 workers: about "
                  f"{c['projected_2000_on_2_workers_minutes']} min. Load {c['load_before']} / "
                  f"{c['load_after']}.", ""]
    fr = res.get("first_run")
    if fr:
        lines += [f"First run with an empty numba cache: {fr['cold']['wall_seconds']} s wall "
                  f"({fr['cold']['cpu_seconds']} s CPU); again with the cache filled: "
                  f"{fr['warm']['wall_seconds']} s ({fr['warm']['cpu_seconds']} s CPU): "
                  f"compilation about {fr['compile_seconds_wall']} s wall "
                  f"({fr['compile_seconds_cpu']} s CPU). Load {fr['cold']['load_before']} / "
                  f"{fr['warm']['load_after']}.", ""]
    p = res.get("pass_floor")
    if p:
        lines += [f"Floor, one pass over the person arrays at full scale ({p['bytes']:,} bytes): "
                  f"{p['seconds']} s ({p['gb_per_second']} GB/s). Load {p['load_before']} / "
                  f"{p['load_after']}.", ""]
    q = res.get("parquet_floor")
    if q:
        lines += [f"Floor, the event log ({q['rows']:,} rows) written as Parquet by pyarrow "
                  f"alone: {q['seconds']} s. Load {q['load_before']} / {q['load_after']}.", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reference", type=Path, default=None,
                    help="a scale-1 run folder of an earlier commit to compare outputs with")
    ap.add_argument("--skip-full", action="store_true", help="skip the scale-1 run")
    ap.add_argument("--seeds", type=int, default=5, help="calibration simulations to time")
    ap.add_argument("--keep", type=Path, default=None, help="keep the scale-1 run folder here")
    ap.add_argument("--other-tree", type=Path, default=None,
                    help="a checkout of an earlier commit: its calibration simulation is timed "
                         "too, alternately with this tree's")
    ap.add_argument("--only-calibration", action="store_true",
                    help="time the calibration simulations only")
    ap.add_argument("--at-once", action="store_true",
                    help="with --other-tree: time the two trees' calibration simulations at "
                         "the same time, one process each, twice with each tree pinned to each CPU "
                         "(robust to the machine's drift and to its CPUs' differences), "
                         "instead of alternately")
    a = ap.parse_args()
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    res: dict = {"date": dt.datetime.now().isoformat(timespec="seconds"), "commit": commit(),
                 "machine": {"cores": os.cpu_count(), "cpu": cpu,
                             "python": platform.python_version()}}
    tmp = Path(tempfile.mkdtemp(prefix="bench-speed-"))
    try:
        if a.only_calibration:
            a.skip_full = True
        if not a.skip_full:
            out = a.keep or tmp / "full"
            res["full"] = full_run(out, a.reference)
            print(json.dumps(res["full"], indent=1), flush=True)
            if res["full"]["exit"] == 0:
                res["parquet_floor"] = parquet_floor(out)
                print(json.dumps(res["parquet_floor"]), flush=True)
        if not a.only_calibration:
            res["pass_floor"] = pass_floor()
            print(json.dumps(res["pass_floor"]), flush=True)
        seeds = list(range(1, a.seeds + 1))
        if a.other_tree is not None and a.at_once:
            pairs = [calibration_sims_at_once(0.01, seeds, [a.other_tree, ROOT], shift)
                     for shift in range(2)]
            res["calibration_at_once"] = pairs
            print(json.dumps(pairs), flush=True)
        elif a.other_tree is not None:  # alternately, so that both see the same load
            runs: dict[str, list[dict]] = {"this": [], "other": []}
            for _ in range(2):
                runs["other"].append(calibration_sims(0.01, seeds, a.other_tree))
                runs["this"].append(calibration_sims(0.01, seeds))
            res["calibration_other"] = runs["other"]
            res["calibration_rounds"] = runs["this"]
            print(json.dumps(runs), flush=True)
        res["calibration"] = calibration_sims(0.01, seeds)
        print(json.dumps(res["calibration"]), flush=True)
        if not a.only_calibration:
            res["first_run"] = first_run()
            print(json.dumps({k: v for k, v in res["first_run"].items()
                              if k.startswith("compile")}), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    RESULTS.mkdir(exist_ok=True)
    name = "speed-calibration" if a.only_calibration else "speed"
    (RESULTS / f"{name}.json").write_text(json.dumps(res, indent=1) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown(res) + "\n")
    print(markdown(res))


if __name__ == "__main__":
    main()
