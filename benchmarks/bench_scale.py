"""How the cost of a full run grows with the scale: time, memory, events.

Runs a scenario (default ``ussr-1937``, seed 1) at each scale given on the command line, each in
a fresh Python process so that the peak resident memory (``ru_maxrss``) is that scale's own.
A warm-up run at a tiny scale comes first, so numba's compilation (cached on disk with
``cache=True``) is not counted in any measured run.

    python benchmarks/bench_scale.py                 # scales 0.001 0.01 0.1
    python benchmarks/bench_scale.py 0.001 0.01 0.1 1
    python benchmarks/bench_scale.py --scenario toy 0.5 1
    python benchmarks/bench_scale.py --repeat 3       # keep the fastest of 3 runs per scale

Writes ``benchmarks/results/scale.json`` and ``benchmarks/results/scale.md`` and prints the
table.  Measured per scale (all in the child process):

* people simulated (rows of the population, elite block included) and the elite block's size;
* build seconds (``Sim(scenario)``: the society, the mechanisms), run seconds (``Sim.run``),
  total wall seconds (loading the scenario + build + run; interpreter start-up and imports,
  reported separately as ``startup_seconds`` by the parent, are not included), and the CPU
  seconds of the same (``time.process_time``: the machine may be shared);
* peak RSS in MB, and the RSS already taken after the imports (the fixed cost);
* bytes per person: ``sum(Population.nbytes()) / n`` (the person arrays) and peak RSS / n;
* events logged (rows of the event log) and events per run second;
* seconds per phase of the day (``Sim.timing``).

With ``--cli`` it times instead the real command, ``python -m purgesim run SCENARIO --scale S
--seed N --quiet`` (outputs and report.html included), in a child process per scale and per
``--threads`` count (``NUMBA_NUM_THREADS``): wall time, user + system CPU time and peak RSS of
the child (``os.wait4``), the memory the run estimated it needs
(``purgesim.society.estimate_memory``), and, when several thread counts are given, whether the
runs are identical (``summary.json`` byte for byte, every Parquet table equal).  Writes
``results/cli.json`` and ``results/cli.md``.

    python benchmarks/bench_scale.py --cli 0.01 0.1 1 --threads 2 1
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
WARMUP_SCALE = 0.0001


def _rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (ru_maxrss is in KB on Linux)."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / 2**20


def child(scenario: str, scale: float, seed: int) -> dict:
    """Run one scale in this process and return the measurements."""
    t_import = time.perf_counter()
    from purgesim.engine import Sim
    from purgesim.scenario import load

    import_seconds = time.perf_counter() - t_import
    rss_base = _rss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    sc = load(scenario, scale=scale, seed=seed)
    t1 = time.perf_counter()
    sim = Sim(sc)
    t2, c2 = time.perf_counter(), time.process_time()
    sim.run()
    t3, c3 = time.perf_counter(), time.process_time()
    pop = sim.pop
    n = pop.n
    rss_peak = _rss_mb()
    array_bytes = sum(pop.nbytes().values())
    run_seconds = t3 - t2
    return {
        "scenario": scenario,
        "scale": scale,
        "seed": seed,
        "people": n,
        "elite_rows": int(pop.n_elite),
        "days": int(sim.n_days),
        "import_seconds": import_seconds,
        "load_seconds": t1 - t0,
        "build_seconds": t2 - t1,
        "population_seconds": sim.build_seconds,
        "run_seconds": run_seconds,
        "total_seconds": t3 - t0,
        "run_cpu_seconds": c3 - c2,
        "total_cpu_seconds": c3 - c0,
        "rss_after_imports_mb": rss_base,
        "peak_rss_mb": rss_peak,
        "population_bytes": array_bytes,
        "bytes_per_person_arrays": array_bytes / n,
        "bytes_per_person_rss": rss_peak * 2**20 / n,
        "events": int(sim.log.n),
        "events_per_second": sim.log.n / run_seconds if run_seconds > 0 else 0.0,
        "phases": {t.name: t.seconds for t in sim.timing},
    }


def run_child(scenario: str, scale: float, seed: int) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", "--scenario", scenario,
         "--seed", str(seed), str(scale)],
        check=True, capture_output=True, text=True, env=env,
    )
    wall = time.perf_counter() - t0
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_seconds"] = wall
    result["startup_seconds"] = wall - result["total_seconds"]
    return result


def machine() -> dict:
    def version(mod: str) -> str:
        try:
            return __import__(mod).__version__
        except Exception:  # pragma: no cover - informative only
            return "?"

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = ""
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f
                        if ln.startswith("model name")), "")
    except OSError:
        pass
    return {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "processor": cpu or platform.processor() or platform.machine(),
        "load_before": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": version("numpy"),
        "numba": version("numba"),
        "commit": commit,
    }


def table(results: list[dict]) -> str:
    head = ("| scale | people | build s | run s | total s | total CPU s | peak RSS MB "
            "| RSS after imports MB | B/person (arrays) | B/person (peak RSS) | events "
            "| events/s |")
    lines = [head, "|" + "---|" * 12]
    for r in results:
        lines.append(
            f"| {r['scale']:g} | {r['people']:,} | {r['build_seconds']:.2f} "
            f"| {r['run_seconds']:.2f} | {r['total_seconds']:.2f} "
            f"| {r.get('total_cpu_seconds', float('nan')):.2f} | {r['peak_rss_mb']:.0f} "
            f"| {r['rss_after_imports_mb']:.0f} | {r['bytes_per_person_arrays']:.2f} "
            f"| {r['bytes_per_person_rss']:.1f} "
            f"| {r['events']:,} | {r['events_per_second']:,.0f} |")
    phases = list(results[0]["phases"])
    lines += ["", "Seconds per phase of the day (whole run):", "",
              "| phase | " + " | ".join(f"scale {r['scale']:g}" for r in results) + " |",
              "|---|" + "---|" * len(results)]
    for ph in phases:
        lines.append(f"| {ph} | " + " | ".join(f"{r['phases'][ph]:.3f}" for r in results)
                     + " |")
    return "\n".join(lines)


def cli_run(scenario: str, scale: float, seed: int, threads: int, out: Path) -> dict:
    """One `purgesim run` in a child process: wall, CPU and peak RSS of the child."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env["NUMBA_NUM_THREADS"] = str(threads)
    cmd = [sys.executable, "-m", "purgesim", "run", scenario, "--scale", f"{scale:g}",
           "--seed", str(seed), "--out", str(out), "--force", "--quiet"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    timing = {}
    if (out / "timing.json").exists():
        timing = json.loads((out / "timing.json").read_text())
    return {"scale": scale, "threads": threads, "exit": proc.returncode, "stderr": err[-2000:],
            "wall_seconds": wall, "cpu_seconds": ru.ru_utime + ru.ru_stime,
            "peak_rss_mb": ru.ru_maxrss / 1024, "build_seconds": timing.get("build_seconds"),
            "run_seconds": timing.get("run_seconds"), "events": timing.get("events"),
            "command": " ".join(["NUMBA_NUM_THREADS=" + str(threads), "python", "-m",
                                 *cmd[2:-4], "--quiet"])}


def identical(a: Path, b: Path) -> dict:
    import pyarrow.parquet as pq

    out = {"summary.json": (a / "summary.json").read_bytes() == (b / "summary.json").read_bytes()}
    for f in sorted(x.name for x in a.glob("*.parquet")):
        out[f] = pq.read_table(a / f).equals(pq.read_table(b / f))
    return out


def cli_main(args: argparse.Namespace, info: dict) -> None:
    import shutil
    import tempfile

    sys.path.insert(0, str(ROOT))
    from purgesim.scenario import load
    from purgesim.society import estimate_memory

    tmp = Path(tempfile.mkdtemp(prefix="purgesim-cli-"))
    rows, checks = [], []
    try:
        cli_run(args.scenario, WARMUP_SCALE, args.seed, args.threads[0], tmp / "warmup")
        for s in args.scales:
            est = estimate_memory(load(args.scenario, scale=s, seed=args.seed))
            folders = []
            for t in args.threads:
                folder = tmp / f"s{s:g}-t{t}"
                r = cli_run(args.scenario, s, args.seed, t, folder)
                r["estimate_mb"] = est / 2**20
                r["load"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
                rows.append(r)
                folders.append(folder)
                print(f"scale {s:g}, {t} thread(s): exit {r['exit']}, wall "
                      f"{r['wall_seconds']:.1f} s, CPU {r['cpu_seconds']:.1f} s, peak RSS "
                      f"{r['peak_rss_mb']:.0f} MB (estimate {est / 2**20:.0f} MB), load "
                      f"{r['load']}", flush=True)
            if len(folders) > 1 and all(r["exit"] == 0 for r in rows[-len(folders):]):
                same = {f"{args.threads[0]} vs {t}": identical(folders[0], f)
                        for t, f in zip(args.threads[1:], folders[1:])}
                checks.append({"scale": s, "identical": same})
                print(f"scale {s:g}: {same}", flush=True)
            for f in folders:
                shutil.rmtree(f, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    info["load_after"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = ["| scale | threads | exit | wall s | CPU s (user+sys) | sim build s | sim run s "
             "| start-up, outputs and report s | peak RSS MB | estimate MB | events "
             "| load average |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        rest = (r["wall_seconds"] - r["build_seconds"] - r["run_seconds"]
                if r["build_seconds"] is not None else float("nan"))
        lines.append(
            f"| {r['scale']:g} | {r['threads']} | {r['exit']} | {r['wall_seconds']:.1f} "
            f"| {r['cpu_seconds']:.1f} | {r['build_seconds'] or float('nan'):.1f} "
            f"| {r['run_seconds'] or float('nan'):.1f} | {rest:.1f} | {r['peak_rss_mb']:.0f} "
            f"| {r['estimate_mb']:.0f} | {r['events'] or 0:,} | {r['load']} |")
    if checks:
        lines += ["", "Same seed, different thread counts:", ""]
        for c in checks:
            for pair, same in c["identical"].items():
                ok = all(same.values())
                lines.append(f"* scale {c['scale']:g}, NUMBA_NUM_THREADS {pair}: "
                             f"{'identical' if ok else 'DIFFERENT'} ("
                             + ", ".join(f"{k} {'=' if v else '!='}" for k, v in same.items())
                             + ")")
    md = "\n".join(lines)
    print()
    print(md)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "cli.json").write_text(
        json.dumps({"machine": info, "runs": rows, "thread_checks": checks}, indent=2) + "\n")
    (args.out / "cli.md").write_text(
        f"# `purgesim run {args.scenario}` by scale\n\nMeasured {info['date']} on "
        f"{info['processor']}, {info['cpus']} CPUs (commit {info['commit']}, seed {args.seed}; "
        f"load average {info['load_before']} before, {info['load_after']} after). Wall time, "
        "CPU time and peak RSS of the whole command, outputs and report.html included; 'sim' "
        "from the run's timing.json.\n\n" + md + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scales", nargs="*", type=float, default=[0.001, 0.01, 0.1])
    ap.add_argument("--scenario", default="ussr-1937")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs per scale, each in a fresh process; the fastest is kept "
                         "(the machine may be shared)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--cli", action="store_true",
                    help="time the real command (outputs and report included) instead")
    ap.add_argument("--threads", nargs="+", type=int, default=[2],
                    help="with --cli: NUMBA_NUM_THREADS values to run (and compare)")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.scenario, args.scales[0], args.seed)))
        return
    info = machine()
    if args.cli:
        cli_main(args, info)
        return
    print(f"{info['date']}  {info['processor']}, {info['cpus']} CPUs, Python {info['python']}, "
          f"numpy {info['numpy']}, numba {info['numba']}, commit {info['commit']}")
    warm = run_child(args.scenario, WARMUP_SCALE, args.seed)
    print(f"warm-up at scale {WARMUP_SCALE:g}: {warm['process_seconds']:.1f} s")
    results = []
    for s in args.scales:
        runs = [run_child(args.scenario, s, args.seed) for _ in range(max(args.repeat, 1))]
        r = min(runs, key=lambda x: x["total_seconds"])
        r["repeats_total_seconds"] = [x["total_seconds"] for x in runs]
        results.append(r)
        print(f"scale {s:g}: {r['people']:,} people, build {r['build_seconds']:.2f} s, "
              f"run {r['run_seconds']:.2f} s, peak RSS {r['peak_rss_mb']:.0f} MB, "
              f"{r['events']:,} events", flush=True)
    info["load_after"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    md = table(results)
    print()
    print(md)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scale.json").write_text(
        json.dumps({"machine": info, "warmup": warm, "results": results}, indent=2) + "\n")
    (args.out / "scale.md").write_text(
        f"# {args.scenario} by scale\n\nMeasured {info['date']} on {info['processor']}, "
        f"{info['cpus']} CPUs (commit {info['commit']}, scenario {args.scenario}, "
        f"seed {args.seed}, fastest of {args.repeat} run(s) per scale; load average "
        f"{info['load_before']} before, {info['load_after']} after).\n\n{md}\n")


if __name__ == "__main__":
    main()
