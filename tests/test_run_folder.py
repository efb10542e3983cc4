"""The run-folder format and every writing command against hostile file systems (issue 11).

Each writing command is given, at its output path, one of the situations a careless or
hostile user produces (an empty folder, a folder of someone else's files, a folder that only
looks like a run because it holds a summary.json, a file, a symbolic link to a folder
elsewhere, a dangling link, a FIFO, a path through a file, a name longer than the file system
allows, a folder purgesim wrote, with and without --force).  The property: the exit code is
0 or 2; on 2 the error is one line with no traceback and nothing at all changed; whatever the
outcome, no file outside the command's own output changed (a snapshot of the whole
surrounding tree - paths, sizes, modification times, content hashes - before and after).

The heavy commands (calibrate, sensitivity) are checked up to the moment work would start:
their computation is replaced by a stand-in that records it was reached.  Runs use the toy
scenario shortened with --set end=...; the CLI runs in this process (conftest.cli_main).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import tempfile
from pathlib import Path
from unittest import mock

import pytest
from conftest import cli_main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from purgesim import runfolder
from purgesim.runfolder import MARKER, FolderError

SETTINGS = dict(deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
SHORT = ["--set", "end=1937-01-31"]
ROOT = os.geteuid() == 0

SITUATIONS = ["absent", "emptydir", "foreign", "fakesummary", "ours", "ours-other-kind", "file",
              "symdir", "dangling", "fifo", "throughfile", "longname", "missing-parents"]


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under root (links not followed): kind, size, mtime, content hash."""
    out: dict[str, tuple] = {}
    for dp, dns, fns in os.walk(root):
        for n in dns + fns:
            p = Path(dp) / n
            st_ = p.lstat()
            rel = str(p.relative_to(root))
            if stat.S_ISREG(st_.st_mode):
                out[rel] = ("f", st_.st_size, st_.st_mtime_ns,
                            hashlib.sha256(p.read_bytes()).hexdigest())
            elif stat.S_ISLNK(st_.st_mode):
                out[rel] = ("l", os.readlink(p))
            elif stat.S_ISDIR(st_.st_mode):
                out[rel] = ("d",)
            else:
                out[rel] = ("other", stat.S_IFMT(st_.st_mode))
    return out


def outside(snap: dict[str, tuple], out: str) -> dict[str, tuple]:
    return {k: v for k, v in snap.items() if k != out and not k.startswith(out + "/")
            and not out.startswith(k + "/")}  # the output, and the folders made for it


def prepare(root: Path, situation: str, ours: Path | None, kind_file: bool) -> str:
    """Build `situation` at the output path under root; returns the path (relative)."""
    (root / "elsewhere").mkdir()
    (root / "elsewhere" / "precious.txt").write_text("keep me")
    (root / "sibling.txt").write_text("keep me too")
    name = "out.html" if kind_file else "out"
    o = root / name
    if situation == "emptydir":
        o.mkdir()
    elif situation == "foreign":
        o.mkdir()
        (o / "notes.txt").write_text("mine")
    elif situation == "fakesummary":
        (o / "src").mkdir(parents=True)
        (o / "summary.json").write_text("{}")
        (o / "src" / "a.py").write_text("x = 1\n")
    elif situation == "ours" and ours is not None:
        if ours.is_dir():
            shutil.copytree(ours, o)
        else:
            shutil.copy(ours, o)
    elif situation == "ours-other-kind":
        o.mkdir()
        runfolder.write_marker(o, "sensitivity" if not kind_file else "run")
        (o / "design.csv").write_text("a,b\n")
    elif situation == "file":
        o.write_text("mine")
    elif situation == "symdir":
        o.symlink_to(root / "elsewhere")
    elif situation == "dangling":
        o.symlink_to(root / "nowhere")
    elif situation == "fifo":
        os.mkfifo(o)
    elif situation == "throughfile":
        return "sibling.txt/" + name
    elif situation == "longname":
        return "n" * 300 + (".html" if kind_file else "")
    elif situation == "missing-parents":
        return "a/b/" + name
    return name


def check(root: Path, before: dict, out: str, code: int, err: str) -> None:
    after = snapshot(root)
    assert code in (0, 2), err
    assert "Traceback" not in err, err
    if code == 2:
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert len(lines) == 1, err
        assert after == before, "a refused command changed files"
    assert outside(after, out) == outside(before, out), "a file outside the output changed"


@pytest.fixture(scope="module")
def short_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished toy run (one month) with its report, written by this version."""
    out = tmp_path_factory.mktemp("short") / "run"
    code, err = cli_main("run", "toy", *SHORT, "--out", str(out), "--quiet")
    assert code == 0, err
    return out


def in_tmp(fn):  # noqa: ANN001, ANN201 - a fresh folder per Hypothesis example
    def wrapper(*a, **kw):  # noqa: ANN002, ANN003, ANN202
        root = Path(tempfile.mkdtemp(prefix="rf-"))
        try:
            return fn(root, *a, **kw)
        finally:
            for p in root.rglob("*"):
                if p.is_dir() and not p.is_symlink():
                    os.chmod(p, 0o755)
            shutil.rmtree(root, ignore_errors=True)
    return wrapper


# ------------------------------------------------------------------------------ run


@settings(max_examples=20, **SETTINGS)
@given(situation=st.sampled_from(SITUATIONS), force=st.booleans())
def test_run_never_touches_what_is_not_its_own(short_run: Path, situation: str,
                                               force: bool) -> None:
    @in_tmp
    def body(root: Path) -> None:
        out = prepare(root, situation, short_run, False)
        before = snapshot(root)
        code, err = cli_main("run", "toy", *SHORT, "--out", str(root / out), "--quiet",
                             "--no-report", *(["--force"] if force else []))
        check(root, before, out, code, err)
        if situation in ("absent", "emptydir", "missing-parents") or \
                (situation == "ours" and force):
            assert code == 0, err
            m = json.loads((root / out / MARKER).read_text())
            assert m["kind"] == "run" and m["complete"] is True and m["report"] is False
        else:
            assert code == 2, (situation, err)
        assert not [p for p in root.rglob(".*tmp-*")], "temporary folder left behind"
    body()


# ------------------------------------------------------------------------------ report


@settings(max_examples=15, **SETTINGS)
@given(situation=st.sampled_from(SITUATIONS), force=st.booleans())
def test_report_never_overwrites_what_is_not_its_own(short_run: Path, situation: str,
                                                     force: bool) -> None:
    @in_tmp
    def body(root: Path) -> None:
        out = prepare(root, situation, short_run / "report.html", True)
        before = snapshot(root)
        code, err = cli_main("report", str(short_run), "--out", str(root / out),
                             *(["--force"] if force else []))
        check(root, before, out, code, err)
        if situation in ("absent", "missing-parents") or (situation == "ours" and force):
            assert code == 0, err
        elif situation != "ours-other-kind":
            assert code == 2, (situation, err)
    body()


def test_report_of_a_damaged_run_names_the_file(short_run: Path, tmp_path: Path) -> None:
    cases = {
        "events.parquet": lambda r: (r / "events.parquet").write_bytes(
            (r / "events.parquet").read_bytes()[:200]),
        "people.parquet": lambda r: (r / "people.parquet").unlink(),
        "summary.json": lambda r: (r / "summary.json").write_text("[1, 2]"),
        MARKER: lambda r: (r / MARKER).write_text('{"format": "purgesim-run", "version": 99,'
                                                  ' "kind": "run", "complete": true}'),
    }
    for name, damage in cases.items():
        r = tmp_path / name.replace(".", "-")
        shutil.copytree(short_run, r)
        (r / "report.html").unlink()
        damage(r)
        for args in (["report", str(r), "--out", str(tmp_path / "x.html")],
                     ["story", str(r), "Leader"], ["compare", str(r)]):
            if name == "events.parquet" and args[0] == "compare":
                continue  # compare reads the events only for a USSR-wide target
            code, err = cli_main(*args)
            lines = [ln for ln in err.splitlines() if ln.strip()]
            assert code == 2 and len(lines) == 1 and "Traceback" not in err, (args, err)
            assert name in err, (args, err)
        assert not (tmp_path / "x.html").exists()


# ------------------------------------------------------------------------------ experiment


@settings(max_examples=15, **SETTINGS)
@given(situation=st.sampled_from(SITUATIONS), force=st.booleans(),
       findings=st.sampled_from(["absent", "foreign", "ours", "folder", "fifo"]))
def test_experiment_never_touches_what_is_not_its_own(situation: str, force: bool,
                                                      findings: str) -> None:
    @in_tmp
    def body(root: Path) -> None:
        out = prepare(root, situation, None, False)
        f = root / "findings.md"
        if findings == "foreign":
            f.write_text("my own notes\n")
        elif findings == "ours":
            f.write_text("# Findings\n\nRegenerated by `purgesim experiment`\n")
        elif findings == "folder":
            f.mkdir()
        elif findings == "fifo":
            os.mkfifo(f)
        before = snapshot(root)
        with mock.patch("purgesim.experiment.run_one", side_effect=fake_result):
            code, err = cli_main("experiment", "toy", "--seeds", "1", "--scale", "1",
                                 "--variant", "baseline", "--out", str(root / out),
                                 "--findings", str(f), *(["--force"] if force else []))
        after = snapshot(root)
        assert code in (0, 2) and "Traceback" not in err, err
        if code == 2:
            assert len([ln for ln in err.splitlines() if ln.strip()]) == 1, err
            assert after == before
        else:
            changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
            assert all(k == out or k.startswith(out + "/") or k == "findings.md" or
                       out.startswith(k + "/") for k in changed), changed
            assert findings in ("absent", "ours"), findings
    body()


def fake_result(base: dict, variant: object, seed: int, scale: float) -> dict:
    return {"variant": "baseline", "seed": seed, "scale": scale, "arrests": 10.0,
            "death_sentences": 1.0, "top_down": 5.0, "bottom_up": 4.0, "routine": 1.0,
            "by_cause": {"routine": 1.0}, "police_arrested_by_cause": {}, "halt": None,
            "monthly_arrests": {}, "yearly": {"1937": {"arrests": 10}}}


def test_experiment_without_baseline_or_invalid_scenario_leaves_nothing(tmp_path: Path
                                                                        ) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('base = "toy"\n[confession]\np_work = 7\n')
    for args in (["toy", "--variant", "no_halt"], [str(bad)]):
        code, err = cli_main("experiment", *args, "--seeds", "1", "--scale", "1", "--out",
                             str(tmp_path / "e"))
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert not (tmp_path / "e").exists()


# ------------------------------------------------------------------------------ heavy commands


class Reached(Exception):
    pass


@settings(max_examples=15, **SETTINGS)
@given(situation=st.sampled_from(SITUATIONS), force=st.booleans(),
       command=st.sampled_from(["sensitivity", "calibrate"]),
       targets=st.sampled_from([None, "fifo", "/dev/zero", "folder", "huge", "ok"]))
def test_heavy_commands_check_every_path_before_working(situation: str, force: bool,
                                                        command: str,
                                                        targets: str | None) -> None:
    @in_tmp
    def body(root: Path) -> None:
        out = prepare(root, situation, None, False)
        args = [command, "toy", "--out", str(root / out), "--quiet"]
        if targets is not None:
            t = root / "t.json"
            if targets == "fifo":
                os.mkfifo(t)
            elif targets == "folder":
                t.mkdir()
            elif targets == "huge":
                with open(t, "wb") as f:
                    f.truncate(runfolder.MAX_INPUT_BYTES + 1)
            elif targets == "ok":
                t.write_text('{"yearly.1937.arrests": 1000}')
            args += ["--targets", str(t) if targets != "/dev/zero" else targets]
        if force:
            args.append("--force")
        before = snapshot(root)
        patches = [mock.patch("purgesim.calibrate.local_cluster", side_effect=Reached),
                   mock.patch("purgesim.sensitivity.local_cluster", side_effect=Reached)]
        with patches[0], patches[1]:
            try:
                code, err = cli_main(*args)
            except Reached:
                code, err = 0, ""
        check(root, before, out, code, err)
    body()


def test_calibrate_resume_refuses_another_configuration(tmp_path: Path) -> None:
    from purgesim.calibrate import make_config

    out = tmp_path / "cal"
    out.mkdir()
    cfg = make_config("toy", budget=10, population=4)
    (out / "config.json").write_text(json.dumps(cfg.to_json()))
    before = snapshot(tmp_path)
    for extra in (["--scale", "0.5"], ["--population", "3"], ["--params", "trials.p_held"]):
        code, err = cli_main("calibrate", "toy", "--resume", "--out", str(out), *extra)
        assert code == 2 and "differs" in err and len(err.strip().splitlines()) == 1, err
    code, err = cli_main("calibrate", "france-1793", "--resume", "--out", str(out))
    assert code == 2 and "scenario" in err, err
    assert snapshot(tmp_path) == before
    assert cfg.population == 4 and make_config("toy", budget=3).population == 3


def test_calibrate_with_defaults_does_not_raise(tmp_path: Path) -> None:
    """`calibrate toy` and `calibrate france-1793` used to raise TypeError building the
    priors (a free parameter whose default is unset)."""
    from purgesim.calibrate import make_config

    for name in ("toy", "france-1793"):
        cfg = make_config(name)
        assert cfg.priors and cfg.budget >= cfg.population


# ------------------------------------------------------------------------------ interruptions


def test_a_kill_during_the_report_phase_leaves_no_finished_looking_run(tmp_path: Path
                                                                       ) -> None:
    out = tmp_path / "run"
    with mock.patch("purgesim.report.write_report", side_effect=KeyboardInterrupt):
        code, err = cli_main("run", "toy", *SHORT, "--out", str(out), "--quiet")
    assert code != 0
    assert not out.exists() and not list(tmp_path.iterdir())


def test_an_interrupted_force_gives_the_old_run_back(short_run: Path, tmp_path: Path) -> None:
    """Stopped between the two renames of --force: the old run is renamed back at once; a
    process killed there (nothing can run) leaves it under .out.old-PID-...: the next command
    writing to that path restores it first."""
    out = tmp_path / "out"
    shutil.copytree(short_run, out)
    before = snapshot(out)

    def stop() -> None:
        raise KeyboardInterrupt

    real = runfolder.replace_folder
    with mock.patch("purgesim.runfolder.replace_folder",
                    lambda tmp, o, force: real(tmp, o, force, between=stop)):
        code, err = cli_main("run", "toy", *SHORT, "--out", str(out), "--quiet",
                             "--no-report", "--force", "--seed", "5")
    assert code != 0 and snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]

    # a kill between the renames: the state it leaves (the dead process's pid)
    dead = 2**22 + 12345
    hidden = tmp_path / f".out.old-{dead}-abcd1234"
    os.rename(out, hidden)
    code, err = cli_main("run", "toy", *SHORT, "--out", str(out), "--quiet", "--no-report")
    assert code == 2 and "--force" in err  # restored, then refused: it exists
    assert snapshot(out) == before and not hidden.exists()
    # a kill after the renames: the old one is deleted by the next writer
    shutil.copytree(short_run, hidden)
    code, err = cli_main("run", "toy", *SHORT, "--out", str(out), "--quiet", "--no-report",
                         "--force", "--seed", "6")
    assert code == 0, err
    assert not hidden.exists()
    assert json.loads((out / "summary.json").read_text())["seed"] == 6


def test_recover_leaves_folders_that_are_not_ours(tmp_path: Path) -> None:
    out = tmp_path / "out"
    foreign_old = tmp_path / ".out.old-4194303-0000"
    foreign_old.mkdir()
    (foreign_old / "mine.txt").write_text("x")
    foreign_tmp = tmp_path / ".out.tmp-4194303-0000"
    foreign_tmp.mkdir()
    (foreign_tmp / "mine.txt").write_text("x")
    before = snapshot(tmp_path)
    assert runfolder.recover(out) == []
    assert snapshot(tmp_path) == before


def test_read_only_parent_is_refused_before_work(tmp_path: Path) -> None:
    """A parent the user cannot write to (simulated: the tests may run as root)."""
    real = os.access

    def access(p: object, mode: int, *a: object, **k: object) -> bool:
        if Path(str(p)) == tmp_path / "ro" and mode & os.W_OK:
            return False
        return real(p, mode, *a, **k)  # type: ignore[arg-type]

    (tmp_path / "ro").mkdir()
    with mock.patch("os.access", access), \
            mock.patch("purgesim.engine.Sim.run", side_effect=AssertionError("ran")):
        code, err = cli_main("run", "toy", "--out", str(tmp_path / "ro" / "x"))
    assert code == 2 and "not writable" in err, err
    with pytest.raises(FolderError):
        with mock.patch("os.access", access):
            runfolder.check_output_file(tmp_path / "ro" / "r.html", False, "--out")


@pytest.mark.skipif(ROOT, reason="root writes into read-only folders")
def test_really_read_only_parent(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        code, err = cli_main("run", "toy", "--out", str(ro / "x"))
        assert code == 2 and "not writable" in err
    finally:
        ro.chmod(0o755)


def test_atomic_write_leaves_old_content_on_failure(tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_text("old")
    with mock.patch("os.replace", side_effect=OSError("disk full")), \
            pytest.raises(OSError):
        runfolder.atomic_write(f, "new")
    assert f.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_a_staged_folder_is_put_in_place_only_when_its_body_and_check_succeed(
        tmp_path: Path) -> None:
    from purgesim.runfolder import staged, write_marker

    out = tmp_path / "run"
    (tmp_path / "keep.txt").write_text("not ours")
    for failing in ("body", "check"):
        def check(failing: str = failing) -> None:
            if failing == "check":
                raise KeyboardInterrupt
        with pytest.raises((RuntimeError, KeyboardInterrupt)):
            with staged(out, False, check) as tmp:
                (tmp / "summary.json").write_text("{}")
                write_marker(tmp, "run")
                if failing == "body":
                    raise RuntimeError("stopped while writing")
        assert not out.exists()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]  # nothing left
    with staged(out, False) as tmp:
        (tmp / "summary.json").write_text("{}")
        write_marker(tmp, "run")
    assert (out / "summary.json").is_file() and not tmp.exists()


def test_staging_never_removes_a_folder_it_did_not_make(tmp_path: Path) -> None:
    """Hostile: the temporary name `staged` picks is already taken by someone's folder; the
    command fails and that folder, with its file, is left as it was."""
    from purgesim import runfolder

    theirs = tmp_path / ".run.tmp-taken"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("not ours")
    with mock.patch.object(runfolder, "temp_name", return_value=theirs):
        with pytest.raises(FileExistsError):
            with runfolder.staged(tmp_path / "run", force=False):
                pass
    assert (theirs / "notes.txt").read_text() == "not ours"
    assert not (tmp_path / "run").exists()
    runfolder.remove_unfinished()  # what the command line does on its way out
    assert (theirs / "notes.txt").read_text() == "not ours"
    # the same name, refused with another error (a parent we may not search, say)
    made = Path.mkdir

    def refused(self: Path, *a, **k) -> None:
        if self == theirs:
            raise PermissionError("denied")
        made(self, *a, **k)

    with mock.patch.object(runfolder, "temp_name", return_value=theirs), \
            mock.patch.object(Path, "mkdir", refused):
        with pytest.raises(PermissionError):
            with runfolder.staged(tmp_path / "run", force=False):
                pass
    runfolder.remove_unfinished()
    assert (theirs / "notes.txt").read_text() == "not ours" and not runfolder._UNFINISHED


def test_a_stop_right_after_the_staging_folder_is_made_leaves_nothing(tmp_path: Path) -> None:
    """Hostile: Ctrl-C lands the moment the temporary folder exists, before any file is
    written (CI once saw such an empty folder left behind)."""
    from purgesim import runfolder

    made = Path.mkdir

    def mkdir_then_stop(self: Path, *a, **k) -> None:
        made(self, *a, **k)
        if ".tmp-" in self.name:
            raise KeyboardInterrupt

    with mock.patch.object(Path, "mkdir", mkdir_then_stop):
        with pytest.raises(KeyboardInterrupt):
            with runfolder.staged(tmp_path / "run", force=False):
                pass
    assert list(tmp_path.iterdir()) == [] and not runfolder._UNFINISHED


def test_a_stop_before_the_staged_body_runs_is_cleaned_up_on_the_way_out(
        tmp_path: Path) -> None:
    """Hostile: the stop lands after `staged` has made its folder but before the body runs
    (in contextlib's __enter__, where `staged` cannot clean up): the command line's way out
    (`remove_unfinished`, cli.main) removes it, and only it."""
    from purgesim import runfolder

    (tmp_path / "keep.txt").write_text("not ours")
    cm = runfolder.staged(tmp_path / "run", force=False)
    tmp = cm.__enter__()  # entered, and then the with-body never runs (no __exit__)
    assert tmp.is_dir()
    runfolder.remove_unfinished()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]
    assert not runfolder._UNFINISHED
    with runfolder.staged(tmp_path / "run", force=False) as tmp:
        (tmp / "summary.json").write_text("{}")
    assert not runfolder._UNFINISHED and (tmp_path / "run" / "summary.json").is_file()
    runfolder.remove_unfinished()  # a finished folder is never touched
    assert (tmp_path / "run" / "summary.json").is_file()


def test_the_command_line_removes_a_half_made_folder_when_stopped(tmp_path: Path) -> None:
    """cli.main on its way out of a stopped command removes a staging folder the stop left
    (exit 130, nothing left next to --out)."""
    import signal

    from purgesim import cli, runfolder, stop

    held = []  # as the stopped frame's traceback holds it: not closed by the collector

    def stopped_command() -> None:
        held.append(runfolder.staged(tmp_path / "run", force=False))
        held[0].__enter__()
        stop.RECEIVED.append(signal.SIGINT)
        raise KeyboardInterrupt

    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with mock.patch.object(cli, "_main", stopped_command):
            with pytest.raises(SystemExit) as e:
                cli.main()
        assert e.value.code == 130
    finally:
        stop.RECEIVED.clear()
        for s, h in handlers.items():
            signal.signal(s, h)
    assert list(tmp_path.iterdir()) == []
    held.clear()
