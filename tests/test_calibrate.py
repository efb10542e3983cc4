"""Calibration (purgesim.calibrate): configuration errors, the distance, parameter recovery
on the toy scenario, and a calibration killed with SIGKILL that resumes without repeating or
losing a finished simulation."""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import cli_env, run_cli, write_scenario

from purgesim.calibrate import (
    CalibrationError,
    LogDistance,
    Obs,
    build_priors,
    local_cluster,
    make_config,
    param_key,
    record_targets,
    run_calibration,
    simulate,
    usable_cores,
)
from purgesim.compare import RunData
from purgesim.scenario import load

#: the parameters recovered on `toy`, their true values, and the quantities they drive
TRUE = {"quotas.national_limit_factor": 2.0, "trials.p_shot_mass_phase": 0.45}
PRIOR = {"quotas.national_limit_factor": [0.3, 5.0], "trials.p_shot_mass_phase": [0.05, 0.95]}
QUANTITIES = ["operations.polish.arrests", "yearly.1937.death_sentences",
              "yearly.1937.convictions", "yearly.1937.arrests"]


def _one_line_exit_2(res: subprocess.CompletedProcess[str]) -> str:
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------------------ configuration


@pytest.mark.parametrize("args, body, words", [
    (["--params", "quotas.nonsense"], "", "unknown parameter"),
    (["--params", "quotas.approval_prob"], "", "not a calibration parameter"),
    ([], '[calibration]\nparams = ["quotas.pace"]\n[calibration.prior]\n'
         '"quotas.pace" = [0.1, 0.1]', "empty range"),
    ([], '[calibration.prior]\n"quotas.pace" = [0.1, 0.9]', "outside the declared range"),
    ([], '[calibration.prior]\n"nope.pace" = [0.1, 0.2]', "unknown parameter"),
    ([], "[calibration]\nbogus = 1", "unknown"),
    (["--budget", "0"], "", "--budget"),
    (["--budget", "-5"], "", "--budget"),
])
@pytest.mark.slow
def test_bad_configuration_exits_2_with_one_line(tmp_path: Path, args: list[str], body: str,
                                                 words: str) -> None:
    scen = write_scenario(tmp_path, body)
    res = run_cli("calibrate", str(scen), "--out", str(tmp_path / "cal"), "--quiet", *args,
                  cwd=tmp_path)
    line = _one_line_exit_2(res)
    assert words in line, line
    assert not (tmp_path / "cal").exists()


@pytest.mark.slow
def test_unreachable_scheduler_exits_2(tmp_path: Path) -> None:
    addr = f"tcp://127.0.0.1:{_free_port()}"
    # a hang is caught by run_cli's own timeout (subprocess.TimeoutExpired), not by timing
    res = run_cli("calibrate", "toy", "--scheduler", addr, "--out", str(tmp_path / "cal"),
                  "--quiet", cwd=tmp_path)
    line = _one_line_exit_2(res)
    assert "unreachable" in line and addr in line
    assert not (tmp_path / "cal").exists()


def test_priors_from_declarations() -> None:
    sc = load("ussr-1937")
    priors = {p.name: p for p in build_priors(sc, None, {})}
    assert "quotas.pace" in priors and "quotas.approval_prob" not in priors  # free only
    p = priors["quotas.pace"]
    assert (p.lo, p.hi, p.log) == (0.0, 0.5, False)
    narrowed = build_priors(sc, ["routine.rate_per_year"],
                            {"routine.rate_per_year": [1e4, 1e6]})[0]
    assert narrowed.log  # two orders of magnitude: log-uniform
    assert narrowed.to_value(narrowed.to_space(123456.0)) == pytest.approx(123456.0)
    with pytest.raises(CalibrationError):
        build_priors(sc, ["routine.rate_per_year"], {"routine.rate_per_year": [5.0, 1.0]})
    # a subset of the free parameters (--params) with the scenario's priors for all of them:
    # those of the parameters left out are not used; a prior for a parameter that is not free
    # (or unknown) is still refused
    sub = build_priors(sc, ["routine.rate_per_year"], {"routine.rate_per_year": [1e5, 3e5],
                                                      "quotas.pace": [0.02, 0.08]})
    assert [p.name for p in sub] == ["routine.rate_per_year"]
    for bad in ("quotas.approval_prob", "quotas.nonsense"):
        with pytest.raises(CalibrationError, match=bad):
            build_priors(sc, ["routine.rate_per_year"], {bad: [0.1, 0.2]})


def test_targets_never_claims_or_context() -> None:
    from purgesim.history import by_id

    record = by_id()
    obs = record_targets()
    assert obs and all(record[o.id].role == "target" for o in obs)
    ids = {o.id for o in obs}
    assert "SU-447-SHOT-FINAL" not in ids  # context row
    assert not any(i.startswith("CLAIM") for i in ids)


def test_distance_is_rms_of_errors_in_tolerances() -> None:
    a = Obs("a", "a", 100.0, 100.0, 100.0, math.log(1.15), "±15%")
    b = Obs("b", "b", 50.0, 80.0, 60.0, math.log(2.0), "×/÷2", "file")
    d = LogDistance([a, b])
    assert d({"a": math.log(100.0), "b": math.log(70.0)}) == 0.0  # inside the range: 0
    x = {"a": math.log(115.0), "b": math.log(160.0)}  # one tolerance each
    assert d(x) == pytest.approx(1.0)
    assert d({"a": math.log(100.0)}) == pytest.approx(math.sqrt(10.0 ** 2 / 2))  # missing


def test_key_and_seed_are_deterministic() -> None:
    k1 = param_key({"a.b": 0.1, "c.d": 2.0}, 0.005)
    assert k1 == param_key({"c.d": 2.0, "a.b": 0.1}, 0.005)
    assert k1 != param_key({"a.b": 0.1 + 1e-15, "c.d": 2.0}, 0.005)


class _FakeClient:
    """What `usable_cores` asks of a Dask client: threads per worker, and each worker's
    (machine, CPUs)."""

    def __init__(self, workers: dict[str, tuple[int, str, int]], fail: bool = False) -> None:
        self.workers, self.fail = workers, fail

    def ncores(self) -> dict[str, int]:
        return {w: t for w, (t, _, _) in self.workers.items()}

    def run(self, fn) -> dict[str, tuple[str, int]]:
        if self.fail:
            raise OSError("worker gone")
        return {w: (host, cpus) for w, (_, host, cpus) in self.workers.items()}


@pytest.mark.parametrize("workers, expected", [
    ({"a": (1, "m", 2), "b": (1, "m", 2), "c": (1, "m", 2), "d": (1, "m", 2)}, 2),  # 4 on 2 CPUs
    ({"a": (1, "m", 2), "b": (1, "m", 2)}, 2),
    ({"a": (1, "m", 8)}, 1),                                                    # 1 worker
    ({"a": (1, "m", 2), "b": (1, "m", 2), "c": (1, "n", 4), "d": (3, "n", 4)}, 6),  # 2 machines
    ({"a": (4, "m", 2)}, 2),                                                    # threads > CPUs
])
def test_no_more_simulations_in_flight_than_cpus(workers, expected) -> None:
    assert usable_cores(_FakeClient(workers)) == expected


def test_usable_cores_falls_back_to_threads_when_workers_do_not_answer() -> None:
    client = _FakeClient({"a": (1, "m", 2), "b": (1, "m", 2), "c": (1, "m", 2)}, fail=True)
    assert usable_cores(client) == 3


def test_a_local_cluster_runs_no_more_simulations_at_once_than_this_machine_has_cpus() -> None:
    client = local_cluster(3)
    try:
        assert usable_cores(client) == min(3, len(os.sched_getaffinity(0)))
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()


# ------------------------------------------------------------------------------ recovery


def _toy_targets(tmp_path: Path) -> Path:
    """Quantities simulated from the known parameter values (mean of three seeds)."""
    vals: dict[str, list[float]] = {q: [] for q in QUANTITIES}
    for seed in (101, 102, 103):
        run = RunData(sim=simulate("toy", [], TRUE, 1.0, seed))
        for q in QUANTITIES:
            node = run.s
            for part in q.split("."):
                node = node[part]
            vals[q].append(float(node))
    path = tmp_path / "targets.json"
    path.write_text(json.dumps({q: sum(v) / len(v) for q, v in vals.items()}))
    return path


@pytest.mark.slow
def test_parameter_recovery_on_toy(tmp_path: Path) -> None:
    targets = _toy_targets(tmp_path)
    prior = "\n".join(f'"{k}" = {v}' for k, v in PRIOR.items())
    scen = write_scenario(tmp_path, f"[calibration.prior]\n{prior}")
    cfg = make_config(str(scen), params=list(TRUE), targets=str(targets), population=40,
                      generations=3, budget=1000, predictive=4, seed=3)
    client = local_cluster(2)
    try:
        r = run_calibration(cfg, tmp_path / "cal", client=client, quiet=True)
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()
    for name, true in TRUE.items():
        lo, hi = r["intervals_90"][name]
        p_lo, p_hi = PRIOR[name]
        assert lo <= true <= hi, (name, true, lo, hi)
        assert hi - lo < 0.8 * (p_hi - p_lo), (name, lo, hi)  # the data taught something
    assert r["epsilons"][-1] < r["epsilons"][1]
    out = tmp_path / "cal"
    for f in ("abc.db", "sims.sqlite", "posterior.csv", "predictive.csv", "calibrated.toml",
              "targets.png", "result.json"):
        assert (out / f).is_file(), f
    # the calibrated parameter file is a scenario: it loads, and carries its provenance
    sc = load(str(out / "calibrated.toml"))
    assert sc.quotas.national_limit_factor == pytest.approx(
        r["medians"]["quotas.national_limit_factor"], rel=1e-3)
    assert "command" in sc.calibration["result"]


# ------------------------------------------------------------------------------ kill and resume


def _sims(db: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(db) as c:
        return c.execute("SELECT key, generation FROM sims").fetchall()


def _populations(db: Path) -> int:
    try:
        with sqlite3.connect(db) as c:
            return c.execute("SELECT COUNT(*) FROM populations WHERE t >= 0").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_sigkill_then_resume_loses_and_repeats_nothing(tmp_path: Path) -> None:
    targets = _toy_targets(tmp_path)
    prior = "\n".join(f'"{k}" = {v}' for k, v in PRIOR.items())
    scen = write_scenario(tmp_path, f"[calibration.prior]\n{prior}")
    out = tmp_path / "cal"
    args = ["calibrate", str(scen), "--targets", str(targets), "--params", ",".join(TRUE),
            "--population", "20", "--generations", "3", "--budget", "1000", "--predictive",
            "2", "--workers", "2", "--out", str(out), "--quiet"]
    proc = subprocess.Popen([sys.executable, "-m", "purgesim", *args], cwd=tmp_path,
                            env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    store = out / "sims.sqlite"
    killed_in = None
    deadline = time.time() + 240
    try:
        while time.time() < deadline and proc.poll() is None:
            time.sleep(0.1)
            if not store.is_file():
                continue
            try:
                rows = _sims(store)
            except sqlite3.Error:
                continue
            done = _populations(out / "abc.db")
            # mid-generation: generation >= 1 under way (some of its simulations finished),
            # not yet in pyabc's database
            current = [g for _, g in rows if g == done and g >= 1]
            if len(current) >= 6:
                os.killpg(proc.pid, signal.SIGKILL)  # the calibration and its workers
                killed_in = done
                break
    finally:
        if proc.poll() is None and killed_in is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert killed_in is not None, "the calibration ended before it could be killed: " + \
        proc.stderr.read().decode()[-2000:]
    before = _sims(store)
    before_keys = {k for k, _ in before}
    unfinished = {k for k, g in before if g == killed_in}
    assert len(unfinished) >= 6 and _populations(out / "abc.db") == killed_in

    res = run_cli("calibrate", str(scen), "--resume", "--out", str(out), "--workers", "2",
                  "--quiet", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    with sqlite3.connect(store) as c:
        ran = c.execute("SELECT key, COUNT(*) FROM evals WHERE source = 'ran' "
                        "GROUP BY key").fetchall()
        served = {k for (k,) in c.execute("SELECT key FROM evals WHERE source = 'store'")}
        final = {k for (k,) in c.execute("SELECT key FROM sims")}
    assert all(n == 1 for _, n in ran), "a simulation was run twice"
    assert before_keys <= final, "a finished simulation was lost"
    # the interrupted generation's finished simulations were looked up, not run again
    assert unfinished <= served, "the resumed calibration did not reuse the store"
    assert _populations(out / "abc.db") == 3
    # the resumed generation took its threshold from the last stored one, as an uninterrupted
    # calibration does: only the first generation accepts everything
    with sqlite3.connect(out / "abc.db") as c:
        eps = [e for (e,) in c.execute("SELECT epsilon FROM populations WHERE t >= 0 "
                                       "ORDER BY t")]
    assert math.isinf(eps[0]) and all(math.isfinite(e) for e in eps[1:]), eps
    assert eps[1:] == sorted(eps[1:], reverse=True), eps
    result = json.loads((out / "result.json").read_text())
    assert result["generations"] == 3 and (out / "calibrated.toml").is_file()


@pytest.mark.slow
def test_calibration_on_an_existing_scheduler(tmp_path: Path) -> None:
    targets = _toy_targets(tmp_path)
    client = local_cluster(1)
    try:
        addr = client.cluster.scheduler_address
        res = run_cli("calibrate", "toy", "--scheduler", addr, "--targets", str(targets),
                      "--params", ",".join(TRUE), "--population", "8", "--generations", "2",
                      "--predictive", "0", "--out", str(tmp_path / "cal"), "--quiet",
                      cwd=tmp_path)
        assert res.returncode == 0, res.stderr
        assert (tmp_path / "cal" / "calibrated.toml").is_file()
        assert sum(client.ncores().values()) == 1  # the cluster is left running
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()


_WORKER_PROBE = '''
import os
from purgesim.calibrate import local_cluster, _warm  # imported again in each spawned worker


def probe():
    import numba

    @numba.njit
    def new_kernel(x):
        return x + 1

    try:
        new_kernel(1)
        compiled = "ok"
    except RuntimeError as e:
        compiled = str(e)
    return os.environ.get("NUMBA_NUM_THREADS"), numba.config.NUMBA_NUM_THREADS, compiled


if __name__ == "__main__":
    client = local_cluster(1)
    try:
        client.run(_warm)
        print(list(client.run(probe).values())[0])
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()
'''


@pytest.mark.slow
def test_a_calibration_worker_compiles_mid_job_with_the_threads_it_was_given(tmp_path) -> None:
    """A worker of the local cluster reads NUMBA_NUM_THREADS=1 after numba was imported (the
    main module, imported again when the worker is spawned, imports purgesim): `_warm`
    brings numba's settings up to date before its threads start.  Before, a kernel missing
    from the cache compiled in the middle of a job failed ("Cannot set NUMBA_NUM_THREADS to
    a different value once the threads have been launched"), and each worker ran 2 threads."""
    script = tmp_path / "probe.py"
    script.write_text(_WORKER_PROBE)
    for _ in range(2):  # the second time every kernel of `_warm` loads from numba's cache
        r = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=cli_env(),
                           capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip().splitlines()[-1] == "('1', 1, 'ok')", r.stdout + r.stderr[-2000:]
