"""Atomic results and resumable jobs under SIGINT, SIGTERM and SIGKILL.

A run writes into a hidden temporary folder (`.OUT.tmp-*`) renamed to OUT when complete, so a
run stopped at any moment leaves nothing that looks like a finished run: no OUT, or (with
--force) the previous run untouched.  Ctrl-C and SIGTERM also remove the temporary folder;
SIGKILL cannot be caught, and may leave it (hidden, never taken for a run).  An experiment
killed with SIGKILL resumes: the (variant, seed) results it had finished are kept, not
recomputed, and the resumed experiment ends with the same results as an uninterrupted one.

The signals wait for the state they test, never for a fixed time (the machine may be busy):
for the command's stop handlers to be in place (SIGTERM caught, in /proc/PID/status), for the
numba cache files of a first run being compiled, and, for the writing phase, for the
temporary folder, freezing the process (SIGSTOP) the moment it appears so that the signal
lands while the run is being written.  Within a phase the moment is chosen on the process's
own CPU time, not on the clock.

(`--out` refusing an existing run without `--force` and replacing it with `--force` is
tested in test_cli.py.)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import cli_env

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(),
                                reason="needs /proc to read a process's CPU time")

#: the run under test: long enough to be stopped in the middle of its simulation
RUN = ["run", "ussr-1937", "--scale", "0.01", "--quiet"]
TICK = os.sysconf("SC_CLK_TCK")
RUN_FILES = {"summary.json", "timing.json", "daily.parquet", "operations.parquet",
             "regions.parquet", "events.parquet", "people.parquet"}


def start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "purgesim", *args], cwd=cwd, env=cli_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def catches(pid: int, sig: int) -> bool:
    """Whether process `pid` has a handler for `sig` (the SigCgt mask of /proc/PID/status)."""
    with open(f"/proc/{pid}/status") as f:
        mask = next(ln for ln in f if ln.startswith("SigCgt:")).split()[1]
    return bool(int(mask, 16) >> (sig - 1) & 1)


def wait_until(proc: subprocess.Popen[str], cond: Callable[[], bool], what: str,
               timeout: float = 240.0) -> bool:
    """Poll `cond` while `proc` runs (a generous deadline: the machine may be busy); True once
    it holds, False if the process ended first."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        try:
            if cond():
                return True
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            pass  # the process is ending (its /proc entry is going away)
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"not reached within {timeout} s: {what}")
        time.sleep(0.005)
    return False


def stoppable(proc: subprocess.Popen[str]) -> bool:
    """Wait until the command handles Ctrl-C and SIGTERM (purgesim.stop.install, which sets
    SIGTERM's handler last; before it, a Ctrl-C is Python's own KeyboardInterrupt in the
    middle of the imports)."""
    return wait_until(proc, lambda: catches(proc.pid, signal.SIGTERM), "stop handlers installed")


def temp_folders(cwd: Path, out: str) -> list[Path]:
    return [p for p in cwd.iterdir() if p.name.startswith(f".{out}.tmp-")]


def finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    _, err = proc.communicate(timeout=300)
    return proc.returncode, err


def stop_during_simulation(cwd: Path, sig: int, cpu: float = 1.5) -> tuple[int, str, bool]:
    """Run; once its stop handlers are installed, send `sig` after `cpu` more seconds of the
    process's CPU time (the scenario and the society take about one; the run about four);
    return (exit code, stderr, whether the signal came before writing)."""
    proc = start([*RUN, "--out", "out"], cwd)
    if stoppable(proc):
        at = cpu_seconds(proc.pid) + cpu
        wait_until(proc, lambda: cpu_seconds(proc.pid) >= at, f"{cpu} s of CPU time")
    before_writing = proc.poll() is None and not temp_folders(cwd, "out") and \
        not (cwd / "out").exists()
    if proc.poll() is None:
        os.kill(proc.pid, sig)
    code, err = finish(proc)
    return code, err, before_writing


def stop_during_writing(cwd: Path, sig: int, extra: tuple[str, ...] = ()) -> tuple[int, str, bool]:
    """Run, freeze the process as soon as its temporary run folder appears, send `sig` and let
    it go on; return (exit code, stderr, whether the signal came while writing)."""
    proc = start([*RUN, "--out", "out", *extra], cwd)
    hit = False
    while proc.poll() is None:
        tmp = temp_folders(cwd, "out")
        if tmp:
            os.kill(proc.pid, signal.SIGSTOP)
            # frozen: still writing if the folder is there and its last file is not yet
            hit = tmp[0].is_dir() and not (tmp[0] / "people.parquet").exists()
            os.kill(proc.pid, sig)
            os.kill(proc.pid, signal.SIGCONT)
            break
        time.sleep(0.001)
    code, err = finish(proc)
    return code, err, hit


def assert_no_finished_run(cwd: Path, out: str = "out") -> None:
    """Nothing that looks like a finished run: no OUT (hidden temporary folders do not
    count: their names start with a dot and they hold no complete run)."""
    assert not (cwd / out).exists(), sorted(p.name for p in (cwd / out).iterdir())
    visible = [p.name for p in cwd.iterdir() if not p.name.startswith(".")]
    assert visible == [], visible


def assert_stopped_cleanly(code: int, err: str, sig: int) -> None:
    assert "Traceback" not in err, err
    assert code == {signal.SIGINT: 130, signal.SIGTERM: 128 + signal.SIGTERM}[sig], (code, err)


# =============================================================================================
# a run stopped while it simulates, or while it writes its folder
# =============================================================================================

SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM, "SIGKILL": signal.SIGKILL}


@pytest.fixture(scope="module")
def stopped(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], tuple]:
    """Every (moment, signal) case at once, each in a folder of its own:
    {(moment, signal): (exit code, stderr, signal landed as intended, folder)}."""
    cases = {}
    for name in SIGNALS:
        for moment in ("simulation", "writing", "writing with --force"):
            cases[(moment, name)] = tmp_path_factory.mktemp(f"{name}-{moment[:7]}")
    for (moment, _), cwd in cases.items():
        if moment.endswith("--force"):  # a previous run, to be kept if the new one stops
            (cwd / "out").mkdir()
            (cwd / "out" / "summary.json").write_text('{"previous": true}\n')
            # --force replaces only a folder carrying purgesim's marker (docs/run-folder.md)
            (cwd / "out" / "purgesim-run.json").write_text(
                '{"format": "purgesim-run", "version": 1, "kind": "run", "complete": true}\n')

    def one(key: tuple[str, str]) -> tuple:
        moment, name = key
        cwd = cases[key]
        if moment == "simulation":
            return (*stop_during_simulation(cwd, SIGNALS[name]), cwd)
        extra = ("--force",) if moment.endswith("--force") else ()
        return (*stop_during_writing(cwd, SIGNALS[name], extra), cwd)

    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(zip(cases, pool.map(one, cases)))


@pytest.mark.parametrize("name", list(SIGNALS))
@pytest.mark.slow
def test_run_stopped_during_simulation_leaves_nothing(stopped: dict, name: str) -> None:
    """Stopped in the middle of the simulation: no run folder and no temporary folder; Ctrl-C
    exits 130 and SIGTERM 143, without a traceback."""
    code, err, landed, cwd = stopped[("simulation", name)]
    assert landed, "the run ended its simulation before the signal: use a longer run"
    assert_no_finished_run(cwd)
    assert temp_folders(cwd, "out") == []
    if name != "SIGKILL":
        assert_stopped_cleanly(code, err, SIGNALS[name])
    else:
        assert code == -signal.SIGKILL


@pytest.mark.parametrize("name", list(SIGNALS))
@pytest.mark.slow
def test_run_stopped_while_writing_leaves_no_run(stopped: dict, name: str) -> None:
    """Stopped while its files are being written: no run folder; Ctrl-C and SIGTERM also
    remove the temporary folder, SIGKILL may leave it, hidden and incomplete."""
    code, err, landed, cwd = stopped[("writing", name)]
    assert landed, "the signal did not land while the run was being written"
    assert_no_finished_run(cwd)
    left = temp_folders(cwd, "out")
    if name != "SIGKILL":
        assert_stopped_cleanly(code, err, SIGNALS[name])
        assert left == []
    else:
        assert code == -signal.SIGKILL
        assert all(not RUN_FILES <= {p.name for p in t.iterdir()} for t in left)


@pytest.mark.parametrize("name", list(SIGNALS))
@pytest.mark.slow
def test_forced_run_stopped_while_writing_keeps_the_previous_run(stopped: dict,
                                                                 name: str) -> None:
    """`--force` over an existing run, stopped while writing: the previous run is still there,
    untouched, and nothing else is visible."""
    code, err, landed, cwd = stopped[("writing with --force", name)]
    assert landed, "the signal did not land while the run was being written"
    assert (cwd / "out" / "summary.json").read_text() == '{"previous": true}\n'
    assert sorted(p.name for p in (cwd / "out").iterdir()) == ["purgesim-run.json",
                                                               "summary.json"]
    assert [p.name for p in cwd.iterdir() if not p.name.startswith(".")] == ["out"]
    if name != "SIGKILL":
        assert_stopped_cleanly(code, err, SIGNALS[name])
        assert temp_folders(cwd, "out") == []


# =============================================================================================
# an experiment killed and resumed
# =============================================================================================

EXPERIMENT = ["experiment", "toy", "--seeds", "3", "--scale", "1", "--variant", "baseline",
              "--variant", "no_halt"]
RESULTS = sorted(f"{v}-seed{s}.json" for v in ("baseline", "no_halt") for s in (1, 2, 3))


def _results(folder: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted(folder.glob("*-seed*.json"))}


def _findings(stdout: str) -> list[str]:
    # the first paragraph names the command and today's date; the rest are the results
    return [ln for ln in stdout.splitlines() if not ln.startswith("Regenerated by")]


@pytest.mark.slow
def test_experiment_killed_resumes_without_losing_or_repeating_a_run(tmp_path: Path) -> None:
    """SIGKILL after two of six (variant, seed) runs are saved; the same command refuses to
    reuse the folder without --resume; with --resume it keeps
    those files (same inode and modification time: not recomputed, not rewritten), runs the
    others, and ends with the results and findings of an uninterrupted experiment."""
    whole = start([*EXPERIMENT, "--out", "whole"], tmp_path)  # the reference, meanwhile
    proc = start([*EXPERIMENT, "--out", "cut"], tmp_path)
    cut = tmp_path / "cut"
    deadline = time.monotonic() + 240
    while proc.poll() is None and time.monotonic() < deadline:
        if cut.is_dir() and len(list(cut.glob("*-seed*.json"))) >= 2:
            os.killpg(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.005)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the experiment ended before it was killed"
    kept = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes())
            for p in cut.glob("*-seed*.json")}  # the results (not the folder's marker)
    assert 2 <= len(kept) < len(RESULTS), sorted(kept)

    refused = start([*EXPERIMENT, "--out", "cut"], tmp_path)  # without --resume
    _, err_refused = refused.communicate(timeout=120)
    assert refused.returncode == 2 and "--resume" in err_refused
    again = start([*EXPERIMENT, "--out", "cut", "--resume"], tmp_path)
    out_again, err_again = again.communicate(timeout=300)
    assert again.returncode == 0, err_again
    out_whole, err_whole = whole.communicate(timeout=300)
    assert whole.returncode == 0, err_whole

    for name, (ino, mtime, data) in kept.items():
        st = (cut / name).stat()
        assert (st.st_ino, st.st_mtime_ns) == (ino, mtime), f"{name} was written again"
        assert (cut / name).read_bytes() == data
    resumed, reference = _results(cut), _results(tmp_path / "whole")
    assert sorted(resumed) == sorted(reference) == RESULTS
    assert resumed == reference
    assert _findings(out_again) == _findings(out_whole)


# =============================================================================================
# a first run, while numba compiles the kernels
# =============================================================================================


def cache_files(folder: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(folder))


#: when to stop a first run: after its n-th numba cache file is written (a kernel compiled;
#: a first run of RUN writes about 45), plus this much CPU time (into the next compilation)
COMPILING = [(1, 0.0), (2, 0.1), (6, 0.2), (12, 0.05)]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.slow
def test_stop_while_numba_compiles_is_not_lost(tmp_path: Path, sig: int) -> None:
    """With an empty numba cache (a user's first run) the kernels compile during the first
    seconds; a Ctrl-C or SIGTERM then lands inside llvmlite, which swallows or mangles the
    exception, or inside code numba runs with exec() (see test_ctrl_c_inside_exec_exits_130).
    The command must still stop: exit 130/143, "aborted" or nothing, no traceback, no run
    folder.  Each case waits for its stop handlers, then for its n-th cache file."""
    env = cli_env()  # each case gets its own empty NUMBA_CACHE_DIR below

    def one(when: tuple[int, float]) -> tuple[tuple[int, float], int, str, bool, bool]:
        n, cpu = when
        cwd = tmp_path / f"after-{n}"
        cwd.mkdir()
        nb = cwd / "nb"
        proc = subprocess.Popen([sys.executable, "-m", "purgesim", *RUN, "--out", "out"],
                                cwd=cwd, env={**env, "NUMBA_CACHE_DIR": str(nb)},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        landed = stoppable(proc) and wait_until(proc, lambda: cache_files(nb) >= n,
                                                f"{n} numba cache files")
        if landed and cpu:
            at = cpu_seconds(proc.pid) + cpu
            landed = wait_until(proc, lambda: cpu_seconds(proc.pid) >= at, "CPU time")
        if landed:
            os.kill(proc.pid, sig)
        code, err = finish(proc)
        return when, code, err, landed, (cwd / "out").exists()

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(one, COMPILING))
    for when, code, err, landed, out in results:
        assert landed, f"the run ended before {when}"
        assert not out, when
        assert_stopped_cleanly(code, err, sig)


def test_ctrl_c_inside_exec_exits_130(tmp_path: Path) -> None:
    """A Ctrl-C raised inside code run by exec() of a string, as numba runs ~250 while it
    compiles a first run's kernels: the command exits 130, not -2.  (CPython 3.11 remembers a
    KeyboardInterrupt that escaped such code even once caught, and at exit kills itself with
    SIGINT instead of exiting with the code given to sys.exit; stop.exit_code clears it.)"""
    (tmp_path / "stopped_in_exec.py").write_text(textwrap.dedent("""\
        import os
        import signal

        from purgesim import cli


        def _main():
            exec("os.kill(os.getpid(), signal.SIGINT)", {"os": os, "signal": signal})
            raise AssertionError("the Ctrl-C was lost")


        cli._main = _main
        cli.main()
        """))
    res = subprocess.run([sys.executable, "-m", "stopped_in_exec"], cwd=tmp_path,
                         env=cli_env(), capture_output=True, text=True, timeout=120)
    assert_stopped_cleanly(res.returncode, res.stderr, signal.SIGINT)
    assert res.stderr.strip() == "aborted", res.stderr


def test_every_simulation_checks_for_a_stop_signal_each_day() -> None:
    """A stop signal received (and perhaps swallowed by a library) stops any simulation in the
    process at the next day: `run`, `experiment` and `sensitivity` alike (purgesim.stop)."""
    from purgesim import stop
    from purgesim.engine import Sim
    from purgesim.scenario import load

    sim = Sim(load("toy"))
    sim.step(0)
    stop.RECEIVED.append(signal.SIGTERM)
    try:
        with pytest.raises(SystemExit) as e:
            sim.run()
        assert e.value.code == 128 + signal.SIGTERM
        assert sim.day == 0  # stopped before simulating another day
    finally:
        stop.RECEIVED.clear()
    assert Sim(load("toy")).run().day == Sim(load("toy")).n_days - 1
