"""The confession cascade in purgesim and in Mesa, side by side: speed and the same statistics.

The rule (exactly that of ``tests/test_theory.py``): one region of N people whose
acquaintances are the union of K = 3 keyed random Hamiltonian cycles (``d = 2K = 6`` ties
each); one seed arrest; every newly arrested person confesses the next day and names each of
his acquaintances independently with probability ``p``; everyone named who is still free is
arrested (police act with probability 1, no capacity limit); nothing else happens.  Below
``p_c = 1/(d - 1)`` the cascade is a Galton-Watson process with mean size
``1 + d p / (1 - (d - 1) p)``; above it a giant cascade takes a share ``S`` of the region.

* **purgesim**: the real engine (``purgesim.engine.Sim``), every mechanism off but confession
  and the police, as in ``tests/test_theory.py``; the run stops when the cascade is over.
* **Mesa** (3.x, ``pip install mesa`` or ``pip install -e '.[bench]'``): one ``FixedAgent``
  per person on a ``mesa.discrete_space.Network`` cell; the agent names the agents in its
  cell's neighbourhood; draws from the model's seeded ``random``.  **The graph is purgesim's
  own**: for each seed, the acquaintance ties (kind 2) of every person of the region are read
  from the purgesim population built for that seed (``purgesim.population.ties_many``), so both
  implementations run on the identical graph and differ only in their random draws.  Exporting
  the edge list is timed apart (``export s``) and counted in neither implementation.  Two
  activation schemes are timed:

  - ``mesa`` (the idiom of Mesa's examples): every day ``model.agents.do("step")`` activates
    every agent, and an agent arrested yesterday confesses;
  - ``mesa-frontier`` (what a careful modeller would write): the model keeps the list of
    agents arrested yesterday and only they act; same model, same agents, same graph.

Timings per run: ``build`` (purgesim: ``Sim(scenario)``; Mesa: ``networkx`` graph from the
edge list + ``Network`` + agents) and ``run`` (from the seed arrest to the end of the cascade).
Statistics: for each N and p, the cascade sizes of the two implementations are compared with a
two-sample Kolmogorov-Smirnov test and a chi-square test on binned sizes (p-values), and their
means with the theory.

    python benchmarks/mesa_cascade.py                      # 1e4, 1e5, 1e6 (a few minutes)
    python benchmarks/mesa_cascade.py --sizes 1e4 --quick  # smoke test

Writes ``benchmarks/results/mesa.json`` and ``benchmarks/results/mesa.md``.
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

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
sys.path.insert(0, str(ROOT))

K = 3  # acquaintance rings
D = 2 * K  # degree of the acquaintance graph
P_C = 1.0 / (D - 1)
MAX_DAYS = 400
OFF = ("orders", "quotas", "routine", "denunciation", "association", "purgers", "halt", "camps")
FRONTIER_SEED = 1_000_003  # offset of the frontier runs' model seeds: independent draws
FREE, NEW, HELD = 0, 1, 2  # Mesa agent states: at large, arrested today, arrested earlier


# ------------------------------------------------------------------------------ purgesim


def scenario(p: float, seed: int, n_people: int):
    """The pure confession cascade of tests/test_theory.py, for a region of n_people."""
    from purgesim.scenario import Scenario

    start = dt.date(1937, 1, 1)
    data: dict = {
        "name": "cascade",
        "start": start,
        "end": start + dt.timedelta(days=MAX_DAYS - 1),
        "scale": 1.0,
        "seed": seed,
        "household_size": 4,
        "workplace_size": 2,
        "acquaintance_rings": K,
        "regions": [{"name": "Region", "population": int(n_people), "element_share": 0.0,
                     "party_share": 0.0}],
        "cohorts": {"politburo": 2, "central_committee": 3, "congress": 4, "commissars": 0,
                    "old_bolsheviks": 0, "foreign_communists": 0, "marshals": 1,
                    "army_commanders": 0, "corps_division_commanders": 1, "officers": 2,
                    "state_security": 400},
        "vigilance": {"act_base": 1.0, "capacity_per_officer": 100.0, "max_wait": 3650},
        "confession": {"hazard": 20.0, "max_days": 30, "p_family": 0.0, "p_work": 0.0,
                       "p_superior": 0.0, "p_acquaintance": p, "elite_factor": 1.0,
                       "quota_factor": 1.0},
        "trials": {"p_acquit": 0.0, "p_acquit_after_halt": 0.0, "p_exile": 0.0,
                   "board_delay": 0},
    }
    for key in OFF:
        data[key] = {"enabled": False}
    return Scenario.model_validate(data)


def root_of(seed: int, n_mass: int) -> int:
    """The seed arrest, as a mass-local index (the rule of tests/test_theory.py)."""
    return (seed * 7919) % n_mass


def purgesim_build(p: float, seed: int, n_people: int):
    from purgesim.engine import Sim

    sc = scenario(p, seed, n_people)
    t0, c0 = time.perf_counter(), time.process_time()
    sim = Sim(sc)
    return sim, time.perf_counter() - t0, time.process_time() - c0


def purgesim_run(sim) -> tuple[int, float, float, int]:
    """Seed arrest, run to the end of the cascade: (size, seconds, CPU seconds, days)."""
    from purgesim.codes import Cause, Event

    pop = sim.pop
    n_mass = pop.n - pop.n_elite
    root = pop.n_elite + root_of(sim.seed, n_mass)
    t0, c0 = time.perf_counter(), time.process_time()
    sim.arrest(np.array([root]), Cause.ORDER)
    days = 0
    for day in range(sim.n_days):
        sim.step(day)
        days = day + 1
        if sim.queue.n == 0 and sim.interrogation.n == 0:
            break
    else:
        raise RuntimeError(f"cascade seed={sim.seed} still running after {MAX_DAYS} days")
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    log = sim.log.rows
    arrested = log["person"][log["event"] == Event.ARRESTED]
    assert np.unique(arrested).size == arrested.size
    assert arrested.min() >= pop.n_elite  # the pure naming cascade stays in the mass
    return int(arrested.size), seconds, cpu, days


def acquaintance_edges(pop, chunk: int = 1 << 16) -> tuple[np.ndarray, np.ndarray, int]:
    """purgesim's acquaintance ties of the region as an edge list (u < v, mass-local ids).

    Returns (u, v, number of parallel ties collapsed): a tie drawn twice (the same pair
    adjacent in two rings) is one edge in a networkx Graph.
    """
    from purgesim.codes import Tie
    from purgesim.population import ties_many

    us, vs = [], []
    for lo in range(pop.n_elite, pop.n, chunk):
        ids = np.arange(lo, min(lo + chunk, pop.n), dtype=np.int64)
        owner, other, kind, _ = ties_many(ids, pop.geo, pop.region_start, pop.key_work,
                                          pop.key_acq, pop.e_superior, pop.e_unit,
                                          pop.unit_lo, pop.unit_hi, pop.sub_lo, pop.sub_ids)
        acq = kind == int(Tie.ACQUAINTANCE)
        a, b = ids[owner[acq]], other[acq]
        keep = a < b  # every tie is seen from both ends
        us.append(a[keep] - pop.n_elite)
        vs.append(b[keep] - pop.n_elite)
    u, v = np.concatenate(us), np.concatenate(vs)
    n_mass = pop.n - pop.n_elite
    key = np.unique(u * n_mass + v)
    return key // n_mass, key % n_mass, int(u.size - key.size)


# ------------------------------------------------------------------------------ Mesa


def mesa_classes():
    import mesa
    from mesa.discrete_space import FixedAgent, Network

    class Person(FixedAgent):
        """A person on his cell of the acquaintance network."""

        def __init__(self, model, cell) -> None:
            super().__init__(model)
            self.cell = cell
            self.state = FREE

        def step(self) -> None:  # the idiomatic activation: every agent, every day
            if self.state == NEW:
                self.confess()

        def confess(self) -> None:
            self.state = HELD
            model = self.model
            p = model.p
            rand = model.random.random
            for other in self.cell.neighborhood.agents:
                if rand() < p and other.state == FREE:
                    model.named.add(other)

    class Cascade(mesa.Model):
        def __init__(self, n: int, u: np.ndarray, v: np.ndarray, p: float, root: int,
                     seed: int, frontier: bool) -> None:
            import networkx as nx

            super().__init__(seed=seed)
            self.p = p
            self.frontier = frontier
            g = nx.Graph()
            g.add_nodes_from(range(n))
            g.add_edges_from(zip(u.tolist(), v.tolist()))
            self.grid = Network(g, capacity=1, random=self.random)
            self.people = [Person(self, self.grid._cells[i]) for i in range(n)]
            self.root = self.people[root]
            self.named: set = set()
            self.new: list = []
            self.size = 0

        def arrest_root(self) -> None:
            self.root.state = NEW
            self.new = [self.root]
            self.size = 1

        def step(self) -> None:
            self.named = set()
            if self.frontier:
                for a in self.new:
                    a.confess()
            else:
                self.agents.do("step")
            self.new = list(self.named)
            for a in self.new:
                a.state = NEW
            self.size += len(self.new)
            if not self.new:
                self.running = False

    return Cascade


def release_mesa_model(model) -> None:
    """Let a finished Mesa model be freed.  Mesa 3.3 keeps two class-level references: the
    agent id counters ``Agent._ids`` (a defaultdict keyed by model) and the ``functools.cache``
    of ``Cell.get_neighborhood`` and ``Cell._neighborhood``; each keeps every agent and cell of
    every model ever built alive, and a series of models grows without bound (13 GB after a
    few dozen models of 1e5 people).  Done after each run, outside the timings."""
    import gc

    from mesa import Agent
    from mesa.discrete_space import Cell

    Agent._ids.pop(model, None)
    Cell.get_neighborhood.cache_clear()
    Cell._neighborhood.cache_clear()
    gc.collect()


def mesa_run(Cascade, n: int, u: np.ndarray, v: np.ndarray, p: float, seed: int,
             frontier: bool, rng_seed: int | None = None) -> dict:
    """size, build and run seconds (wall and CPU), days.  The root is the seed's (as in purgesim);
    the model's random draws come from rng_seed (default: the seed)."""
    t0, c0 = time.perf_counter(), time.process_time()
    model = Cascade(n, u, v, p, root_of(seed, n), seed if rng_seed is None else rng_seed,
                    frontier)
    t1, c1 = time.perf_counter(), time.process_time()
    model.arrest_root()
    days = 0
    while model.running and days < MAX_DAYS:
        model.step()
        days += 1
    t2, c2 = time.perf_counter(), time.process_time()
    assert not model.running, "Mesa cascade still running"
    size = model.size
    release_mesa_model(model)
    del model
    return {"seed": seed, "size": size, "build": t1 - t0, "run": t2 - t1,
            "build_cpu": c1 - c0, "run_cpu": c2 - c1, "days": days}


# ------------------------------------------------------------------------------ statistics


def mean_size(p: float) -> float:
    return 1.0 + D * p / (1.0 - (D - 1) * p)


def size_variance(p: float) -> float:
    m = (D - 1) * p
    var_sub = m * (1 - p) / (1 - m) ** 3
    return D * p * var_sub + D * p * (1 - p) / (1 - m) ** 2


def giant_share(p: float) -> float:
    u = 0.0
    for _ in range(10_000):
        u = (1.0 - p + p * u) ** (D - 1)
    return 1.0 - (1.0 - p + p * u) ** D


def compare(a: np.ndarray, b: np.ndarray) -> dict:
    """Two-sample KS and chi-square on binned sizes (bins merged to >= 5 expected)."""
    from scipy import stats

    out: dict = {"n_purgesim": int(a.size), "n_mesa": int(b.size)}
    if a.size < 2 or b.size < 2:
        return out
    ks = stats.ks_2samp(a, b)
    out["ks_statistic"] = float(ks.statistic)
    out["ks_pvalue"] = float(ks.pvalue)
    edges = [1, 2, 3, 4, 5, 7, 10, 15, 20, 30, 50, 100, 1000, 10**5, 10**9]
    counts = np.array([np.histogram(x, bins=edges)[0] for x in (a, b)])
    # merge adjacent bins until each has an expected count of at least 5 in both rows
    merged: list[np.ndarray] = []
    cur = np.zeros(2)
    for col in counts.T:
        cur = cur + col
        exp = cur.sum() * np.array([a.size, b.size]) / (a.size + b.size)
        if exp.min() >= 5:
            merged.append(cur)
            cur = np.zeros(2)
    if cur.sum() and merged:
        merged[-1] = merged[-1] + cur
    table = np.array(merged).T if merged else np.zeros((2, 0))
    out["chi2_bins"] = int(table.shape[1])
    if table.shape[1] >= 2:
        chi = stats.chi2_contingency(table)
        out["chi2"] = float(chi.statistic)
        out["chi2_dof"] = int(chi.dof)
        out["chi2_pvalue"] = float(chi.pvalue)
    return out


# ------------------------------------------------------------------------------ driver


def run_size(n: int, f: float, runs_ps: int, runs_mesa: int, frontier_runs: int,
             Cascade, seed0: int) -> dict:
    """purgesim for runs_ps seeds; Mesa (idiomatic) for the first runs_mesa, Mesa frontier
    for the first frontier_runs, on the same graphs."""
    p = f * P_C
    rec: dict = {"n_target": n, "f": f, "p": p, "purgesim": [], "mesa": [],
                 "mesa_frontier": [], "export_seconds": [], "parallel_ties": []}
    t_size = time.perf_counter()
    for k in range(max(runs_ps, runs_mesa, frontier_runs)):
        seed = seed0 + k
        sim, build, build_cpu = purgesim_build(p, seed, n)
        pop = sim.pop
        n_mass = pop.n - pop.n_elite
        rec["n"] = n_mass
        if k < max(runs_mesa, frontier_runs):
            t0 = time.perf_counter()
            u, v, par = acquaintance_edges(pop)
            rec["export_seconds"].append(time.perf_counter() - t0)
            rec["parallel_ties"].append(par)
        if k < runs_ps:
            size, secs, cpu, days = purgesim_run(sim)
            rec["purgesim"].append({"seed": seed, "size": size, "build": build, "run": secs,
                                    "build_cpu": build_cpu, "run_cpu": cpu, "days": days})
        del sim, pop
        if k < runs_mesa:
            rec["mesa"].append(mesa_run(Cascade, n_mass, u, v, p, seed, frontier=False))
        if k < frontier_runs:  # same graph, the model's own draws from another seed
            rec["mesa_frontier"].append(mesa_run(Cascade, n_mass, u, v, p, seed, frontier=True,
                                                 rng_seed=seed + FRONTIER_SEED))
    rec["wall_seconds"] = time.perf_counter() - t_size
    rec["peak_rss_mb_so_far"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return rec


def summarise(rec: dict) -> dict:
    p, n = rec["p"], rec["n"]
    out: dict = {"n": n, "f": rec["f"], "p": p}
    for impl in ("purgesim", "mesa", "mesa_frontier"):
        rows = rec[impl]
        if not rows:
            continue
        s = np.array([r["size"] for r in rows], dtype=float)
        build = np.array([r["build"] for r in rows])
        run = np.array([r["run"] for r in rows])
        cpu = np.array([r["build_cpu"] + r["run_cpu"] for r in rows])
        out[impl] = {
            "runs": len(rows),
            "mean_size": float(s.mean()),
            "se_mean": float(s.std(ddof=1) / np.sqrt(s.size)) if s.size > 1 else None,
            "p_size_1": float((s == 1).mean()),
            "giant_runs": int((s > 0.01 * n).sum()),
            "giant_share_mean": float((s[s > 0.01 * n] / n).mean()) if (s > 0.01 * n).any()
            else None,
            "build_mean_s": float(build.mean()),
            "run_mean_s": float(run.mean()),
            "total_mean_s": float((build + run).mean()),
            "total_cpu_mean_s": float(cpu.mean()),
        }
    if rec["f"] < 1:
        out["theory_mean"] = mean_size(p)
        out["theory_se_per_run"] = float(np.sqrt(size_variance(p)))
        out["theory_p_size_1"] = (1 - p) ** D
    else:
        out["theory_giant_share"] = giant_share(p)
    ps = np.array([r["size"] for r in rec["purgesim"]])
    for impl in ("mesa", "mesa_frontier"):
        if rec[impl] and "purgesim" in out:
            out[f"ratio_{impl}"] = out[impl]["total_mean_s"] / out["purgesim"]["total_mean_s"]
            out[f"ratio_{impl}_run"] = out[impl]["run_mean_s"] / out["purgesim"]["run_mean_s"]
            out[f"ratio_{impl}_cpu"] = (out[impl]["total_cpu_mean_s"]
                                        / out["purgesim"]["total_cpu_mean_s"])
    mesa_all = np.array([r["size"] for r in rec["mesa"] + rec["mesa_frontier"]])
    if mesa_all.size:
        big = mesa_all > 0.01 * n
        out["mesa_pooled"] = {
            "runs": int(mesa_all.size), "mean_size": float(mesa_all.mean()),
            "se_mean": float(mesa_all.std(ddof=1) / np.sqrt(mesa_all.size))
            if mesa_all.size > 1 else None,
            "p_size_1": float((mesa_all == 1).mean()), "giant_runs": int(big.sum()),
            "giant_share_mean": float((mesa_all[big] / n).mean()) if big.any() else None}
    out["test"] = compare(ps, mesa_all)
    if rec["f"] >= 1 and mesa_all.size and ps.size:
        from scipy import stats

        big = [int((x > 0.01 * n).sum()) for x in (ps, mesa_all)]
        tab = [[big[0], ps.size - big[0]], [big[1], mesa_all.size - big[1]]]
        out["test"]["fisher_giant_pvalue"] = float(stats.fisher_exact(tab).pvalue)
    out["export_mean_s"] = float(np.mean(rec["export_seconds"])) if rec["export_seconds"] \
        else None
    out["parallel_ties_mean"] = float(np.mean(rec["parallel_ties"])) if rec["parallel_ties"] \
        else None
    out["wall_seconds"] = rec["wall_seconds"]
    out["peak_rss_mb_so_far"] = rec["peak_rss_mb_so_far"]
    return out


def fmt(x, spec: str = ".3g") -> str:
    return "-" if x is None else format(x, spec)


def markdown(summaries: list[dict], info: dict) -> str:
    lines = [
        "# The confession cascade: purgesim and Mesa",
        "",
        f"Measured {info['date']} (commit {info['commit']}), {info['cpus']} CPUs "
        f"({info['cpu']}), Python {info['python']}, numba {info['numba']}, Mesa {info['mesa']}, "
        f"networkx {info['networkx']}; load average before {info['load_before']}, after "
        f"{info['load_after']} (the machine is shared). Rule of tests/test_theory.py, "
        f"K = {K} rings (d = {D}), p_c = 1/(d-1) = {P_C:.3f}; both implementations on "
        "purgesim's own acquaintance graph for each seed.",
        "",
        "## Speed (mean seconds per run)",
        "",
        "| N | p/p_c | impl | runs | build s | run s | total s | total CPU s "
        "| ratio to purgesim (total) | ratio (CPU) | ratio (run only) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summaries:
        for impl in ("purgesim", "mesa", "mesa_frontier"):
            if impl not in s:
                continue
            r = s[impl]
            ratio = "1" if impl == "purgesim" else fmt(s.get(f"ratio_{impl}"), ".3g")
            ratio_run = "1" if impl == "purgesim" else fmt(s.get(f"ratio_{impl}_run"), ".3g")
            ratio_cpu = "1" if impl == "purgesim" else fmt(s.get(f"ratio_{impl}_cpu"), ".3g")
            lines.append(f"| {s['n']:,} | {s['f']:g} | {impl.replace('_', '-')} | {r['runs']} "
                         f"| {r['build_mean_s']:.4f} | {r['run_mean_s']:.4f} "
                         f"| {r['total_mean_s']:.4f} | {r['total_cpu_mean_s']:.4f} | {ratio} "
                         f"| {ratio_cpu} | {ratio_run} |")
    lines += [
        "",
        "## Cascade sizes",
        "",
        "| N | p/p_c | purgesim runs | purgesim mean (SE) | Mesa runs | Mesa mean (SE) | theory "
        "| P(size=1) (giant share above p_c) purgesim / Mesa / theory "
        "| giant runs purgesim / Mesa | KS p | chi2 p (bins) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summaries:
        a = s["purgesim"]
        mp = s.get("mesa_pooled", {})
        m = {"runs": mp.get("runs", 0), "mean": mp.get("mean_size"), "se": mp.get("se_mean"),
             "p1": mp.get("p_size_1"), "giant": mp.get("giant_runs", "-"),
             "share": mp.get("giant_share_mean")}
        t = s["test"]
        if s["f"] < 1:
            theory = f"{s['theory_mean']:.2f}"
            p1 = (f"{a['p_size_1']:.3f} / {fmt(m.get('p1'), '.3f')} / "
                  f"{s['theory_p_size_1']:.3f}")
        else:
            theory = f"S = {s['theory_giant_share']:.3f}"
            p1 = (f"giant share {fmt(a['giant_share_mean'], '.3f')} / "
                  f"{fmt(m.get('share'), '.3f')} / {s['theory_giant_share']:.3f}; "
                  f"Fisher p (giant or not) {fmt(t.get('fisher_giant_pvalue'), '.2f')}")
        se_m = fmt(m['se'], '.2f')
        lines.append(
            f"| {s['n']:,} | {s['f']:g} | {a['runs']} | {a['mean_size']:.2f} "
            f"({fmt(a['se_mean'], '.2f')}) | {m.get('runs', 0)} | {fmt(m.get('mean'), '.2f')} "
            f"({se_m}) | {theory} | {p1} | {a['giant_runs']} / {m.get('giant', '-')} "
            f"| {fmt(t.get('ks_pvalue'), '.3f')} | {fmt(t.get('chi2_pvalue'), '.3f')} "
            f"({t.get('chi2_bins', '-')}) |")
    return "\n".join(lines)


def machine() -> dict:
    import mesa
    import networkx
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
            "mesa": mesa.__version__, "networkx": networkx.__version__, "commit": commit,
            "load_before": " ".join(f"{x:.1f}" for x in os.getloadavg())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", nargs="+", type=float, default=[1e4, 1e5, 1e6])
    ap.add_argument("--sub", type=float, default=0.8, help="subcritical p / p_c")
    ap.add_argument("--super", type=float, default=1.5, help="supercritical p / p_c")
    ap.add_argument("--runs", type=str, default="1e4:2000:300:100,1e5:1000:16:8,1e6:100:2:1",
                    help="per size, subcritical runs 'N:purgesim:mesa:mesa-frontier,...'")
    ap.add_argument("--super-runs", type=str, default="1e4:20:5:5,1e5:10:2:2,1e6:3:1:1",
                    help="per size, supercritical runs, same format")
    ap.add_argument("--quick", action="store_true", help="few runs (smoke test)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    import networkx  # noqa: F401  (fail early when Mesa is missing)

    Cascade = mesa_classes()

    def parse(spec: str) -> dict[int, tuple[int, int, int]]:
        out = {}
        for part in spec.split(","):
            n, a, b, c = part.split(":")
            out[int(float(n))] = (int(a), int(b), int(c))
        return out

    sub, sup = parse(args.runs), parse(args.super_runs)
    if args.quick:
        sub = {n: (40, 10, 10) for n in sub}
        sup = {n: (3, 1, 1) for n in sup}
    info = machine()
    # warm up numba's cached kernels and Mesa's imports outside the measured runs
    sim, _, _ = purgesim_build(0.1, 999, 1000)
    purgesim_run(sim)
    u, v, _ = acquaintance_edges(sim.pop)
    mesa_run(Cascade, sim.pop.n - sim.pop.n_elite, u, v, 0.1, 999, frontier=False)
    raw, summaries = [], []
    for f, table in ((args.sub, sub), (args.super, sup)):
        for size in args.sizes:
            n = int(size)
            runs = table.get(n, (10, 2, 2))
            rec = run_size(n, f, *runs, Cascade, seed0=100_000 * int(round(100 * f)))
            raw.append(rec)
            s = summarise(rec)
            summaries.append(s)
            print(f"N={s['n']:,} p={f:g} p_c: purgesim {s['purgesim']['total_mean_s']:.4f} s "
                  f"x{s['purgesim']['runs']}, mesa "
                  f"{fmt(s.get('mesa', {}).get('total_mean_s'), '.3f')} s, frontier "
                  f"{fmt(s.get('mesa_frontier', {}).get('total_mean_s'), '.3f')} s; "
                  f"means {s['purgesim']['mean_size']:.2f} / "
                  f"{fmt(s.get('mesa', {}).get('mean_size'), '.2f')}; "
                  f"KS p {fmt(s['test'].get('ks_pvalue'), '.3f')}, chi2 p "
                  f"{fmt(s['test'].get('chi2_pvalue'), '.3f')}; wall {s['wall_seconds']:.0f} s",
                  flush=True)
    info["load_after"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    # below the threshold the size distribution does not depend on N (no giant component):
    # pool the sizes of every N for a stronger test
    below = [r for r in raw if r["f"] < 1]
    pooled = compare(
        np.array([x["size"] for r in below for x in r["purgesim"]]),
        np.array([x["size"] for r in below for x in r["mesa"] + r["mesa_frontier"]]))
    md = markdown(summaries, info)
    md += ("\n\nPooled over every N below the threshold (p = "
           f"{args.sub:g} p_c): {pooled['n_purgesim']} purgesim runs, {pooled['n_mesa']} Mesa "
           f"runs; KS statistic {fmt(pooled.get('ks_statistic'), '.4f')}, p = "
           f"{fmt(pooled.get('ks_pvalue'), '.3f')}; chi-square {fmt(pooled.get('chi2'), '.2f')} "
           f"on {pooled.get('chi2_dof', '-')} degrees of freedom, p = "
           f"{fmt(pooled.get('chi2_pvalue'), '.3f')}.")
    print()
    print(md)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "mesa.json").write_text(json.dumps(
        {"machine": info, "summaries": summaries, "pooled_below_threshold": pooled,
         "runs": [{k: v for k, v in r.items()} for r in raw]}, indent=1) + "\n")
    (args.out / "mesa.md").write_text(md + "\n")


if __name__ == "__main__":
    main()
