"""`purgesim run SCENARIO --seeds N`: an ensemble folder with each run, ensemble.json (medians
and 5-95% intervals over the seeds) and a report with bands; the run-folder rules hold for it;
`purgesim report ENSEMBLE_DIR` draws it again; the single run's summary shows the
calibration's intervals beside its yearly table.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from conftest import run_cli, run_cli_many

from purgesim.runfolder import open_run, read_marker, recover


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else b""
            for p in sorted(folder.rglob("*"))}


def _one_line_error(res, *words: str) -> str:
    """Exit 2, one line on stderr naming each of `words` and what is allowed, no stdout."""
    assert res.returncode == 2, (res.returncode, res.stderr)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("error: ") and "allowed" in lines[0], lines[0]
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert res.stdout.strip() == ""
    return lines[0]


def _report_data(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8")
    m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', text,
                  re.S)
    assert m is not None
    return json.loads(m.group(1))


@pytest.fixture(scope="module")
def ens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`run toy --seeds 3` (one worker), and `run toy --seed 2` alone beside it."""
    cwd = tmp_path_factory.mktemp("ens")
    res = run_cli_many({
        "ens": (["run", "toy", "--seeds", "3", "--workers", "1", "--out", "ens"], cwd, {}),
        "one": (["run", "toy", "--seed", "2", "--out", "one", "--quiet", "--no-report"],
                cwd, {}),
    }, workers=2)
    for r in res.values():
        assert r.returncode == 0, r.stderr
    (cwd / "stdout.txt").write_text(res["ens"].stdout)
    return cwd / "ens"


def test_seeds_write_runs_summary_and_report(ens: Path) -> None:
    m = read_marker(ens)
    assert m is not None and m["kind"] == "ensemble" and m["complete"] is True
    assert m["report"] is True
    for i in (1, 2, 3):  # each run is a run folder of its own, of its seed
        s = open_run(ens / f"seed{i}")
        assert s["seed"] == i and s["scenario"] == "toy"
    e = json.loads((ens / "ensemble.json").read_text())
    assert e["seeds"] == [1, 2, 3]
    assert [r["folder"] for r in e["runs"]] == ["seed1", "seed2", "seed3"]
    assert e["quantiles"] == [0.05, 0.5, 0.95]
    assert set(e["yearly"]["1937"]) >= {"arrests", "convictions", "death_sentences"}
    for key in ("cohorts", "channels", "operations", "halt", "figures"):
        assert e[key], key
    # nothing but the ensemble next to it: the temporary folder was renamed into place
    assert [p.name for p in ens.parent.iterdir() if p.name.startswith(".")] == []
    out = (ens.parent / "stdout.txt").read_text()
    assert "median (5–95%) over 3 seeds" in out and "report:" in out


def test_intervals_bracket_the_median(ens: Path) -> None:
    e = json.loads((ens / "ensemble.json").read_text())
    checked = 0
    for name, iv in e["figures"].items():
        if iv["median"] is None:
            continue
        assert iv["q05"] <= iv["median"] <= iv["q95"], name
        assert 1 <= iv["n"] <= 3
        checked += 1
    assert checked > 50
    for y in e["yearly"].values():
        for iv in y.values():
            assert iv["q05"] <= iv["median"] <= iv["q95"]
    # the figures are the runs' own: the median of three is the middle run's value
    runs = [json.loads((ens / f"seed{i}" / "summary.json").read_text()) for i in (1, 2, 3)]
    arrests = sorted(r["yearly"]["1937"]["arrests"] for r in runs)
    assert e["yearly"]["1937"]["arrests"]["median"] == arrests[1]
    assert arrests[0] <= e["yearly"]["1937"]["arrests"]["q05"]
    assert e["yearly"]["1937"]["arrests"]["q95"] <= arrests[2]
    halt = e["halt"]
    assert halt["of"] == 3
    if halt["runs"]:
        assert halt["q05"] <= halt["median"] <= halt["q95"]


def test_the_python_api_reads_the_ensemble_back(ens: Path) -> None:
    """One ensemble machinery: `ps.MultiSim.from_runs` of the folder gives the same
    intervals as ensemble.json."""
    import purgesim as ps

    ms = ps.MultiSim.from_runs(ens)
    assert ms.seeds == [1, 2, 3]
    s = ms.summary()
    e = json.loads((ens / "ensemble.json").read_text())
    for name, iv in e["figures"].items():
        if iv["median"] is not None:
            assert s.loc[name, "median"] == iv["median"], name
            assert s.loc[name, "q95"] == iv["q95"], name


def test_a_member_is_the_single_run_of_its_seed(ens: Path) -> None:
    single = json.loads((ens.parent / "one" / "summary.json").read_text())
    member = json.loads((ens / "seed2" / "summary.json").read_text())
    assert member == single


def test_report_draws_bands_and_prints_intervals(ens: Path) -> None:
    text = (ens / "report.html").read_text(encoding="utf-8")
    assert 'name="generator" content="purgesim report"' in text
    assert "<script src=" not in text  # self-contained, as a run's report
    sections = _report_data(ens / "report.html")
    ids = [s["id"] for s in sections]
    assert {"bands-arrests", "bands-sentences", "yearly", "cohorts", "channels"} <= set(ids)
    bands = next(s for s in sections if s["id"] == "bands-arrests")["figure"]["data"]
    fills = [t for t in bands if t.get("fill") == "tonexty"]
    medians = [t for t in bands if t.get("name", "").endswith("median")]
    assert fills and medians
    assert "5–95% over seeds" in fills[0]["name"]
    yearly = next(s for s in sections if s["id"] == "yearly")
    assert "median (5–95%)" in yearly["table"]
    assert any("error_y" in t for t in yearly["figure"]["data"])


def test_report_of_an_ensemble_folder(ens: Path, tmp_path: Path) -> None:
    before = _report_data(ens / "report.html")
    (ens / "report.html").unlink()
    res = run_cli("report", str(ens), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == str(ens / "report.html")
    assert _report_data(ens / "report.html") == before  # read back: the same report
    res = run_cli("report", str(ens), cwd=tmp_path)  # over its own report: no --force needed
    assert res.returncode == 0, res.stderr
    res = run_cli("report", str(ens), "--out", "copy.html", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert _report_data(tmp_path / "copy.html") == before
    # a member is a run: its own report is a run's report
    res = run_cli("report", str(ens / "seed1"), "--out", "seed1.html", cwd=tmp_path)
    assert res.returncode == 0, res.stderr


def test_seed_start_and_one_seed(tmp_path: Path) -> None:
    res = run_cli_many({
        "two": (["run", "toy", "--seed", "5", "--seeds", "2", "--workers", "1", "--out", "two",
                 "--quiet", "--no-report"], tmp_path, {}),
        "one": (["run", "toy", "--seeds", "1", "--out", "one", "--quiet", "--no-report"],
                tmp_path, {}),
    }, workers=2)
    for r in res.values():
        assert r.returncode == 0, r.stderr
    e = json.loads((tmp_path / "two" / "ensemble.json").read_text())
    assert e["seeds"] == [5, 6]
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == [
        "ensemble.json", "purgesim-run.json", "seed5", "seed6"]  # --no-report
    assert read_marker(tmp_path / "two")["report"] is False  # type: ignore[index]
    # --seeds 1 is a single run, as without --seeds
    assert open_run(tmp_path / "one")["seed"] == 1
    assert read_marker(tmp_path / "one")["kind"] == "run"  # type: ignore[index]


@pytest.mark.slow
def test_workers_do_not_change_the_ensemble(ens: Path, tmp_path: Path) -> None:
    res = run_cli("run", "toy", "--seeds", "3", "--workers", "2", "--out", "w2", "--quiet",
                  cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    w2 = tmp_path / "w2"
    assert (w2 / "ensemble.json").read_bytes() == (ens / "ensemble.json").read_bytes()
    for i in (1, 2, 3):
        for f in ("summary.json", "daily.parquet", "events.parquet"):
            assert (w2 / f"seed{i}" / f).read_bytes() == (ens / f"seed{i}" / f).read_bytes()
    assert _report_data(w2 / "report.html") == _report_data(ens / "report.html")


# ------------------------------------------------------------------------------ folder rules


@pytest.mark.parametrize("args,words", [
    (["--seeds", "0"], ["--seeds 0", ">= 1"]),
    (["--seeds", "-2"], ["--seeds -2", ">= 1"]),
    (["--seeds", "3", "--workers", "0"], ["--workers 0", ">= 1"]),
    (["--seeds", "3", "--seed", str(2**63 - 2)], ["--seeds 3", str(2**63), "S + N - 1"]),
    (["--seeds", "3", "--profile"], ["--profile", "--seeds 3"]),
    (["--seeds", "3", "--check"], ["--check", "--seeds 3"]),
    (["--seeds", "3", "--set", "confession.p_work=2"], ["confession.p_work", "2"]),
])
def test_bad_seeds_exit_2_and_write_nothing(tmp_path: Path, args: list[str],
                                            words: list[str]) -> None:
    res = run_cli("run", "toy", *args, "--out", "out", cwd=tmp_path)
    _one_line_error(res, *words)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_folder_rules(tmp_path: Path) -> None:
    args = ["run", "toy", "--seeds", "2", "--workers", "1", "--quiet", "--no-report"]
    res = run_cli(*args, "--out", "ens", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    ens = tmp_path / "ens"
    before = _files(ens)
    # an existing folder needs --force
    res = run_cli(*args, "--out", "ens", cwd=tmp_path)
    _one_line_error(res, "--out", "ens", "--force")
    assert _files(ens) == before
    # a single run does not replace an ensemble, even with --force
    res = run_cli("run", "toy", "--out", "ens", "--force", "--quiet", cwd=tmp_path)
    _one_line_error(res, "ensemble", "run")
    assert _files(ens) == before
    # --force over a folder that is not ours, or ours of another kind: refused, untouched
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes")
    (mine / "ensemble.json").write_text("{}")
    res = run_cli(*args, "--out", "mine", "--force", cwd=tmp_path)
    _one_line_error(res, "mine", "not a purgesim folder")
    assert (mine / "notes.txt").read_text() == "my notes"
    res = run_cli("run", "toy", "--out", "single", "--quiet", "--no-report", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    single = _files(tmp_path / "single")
    res = run_cli(*args, "--out", "single", "--force", cwd=tmp_path)
    _one_line_error(res, "single", "run folder", "ensemble")
    assert _files(tmp_path / "single") == single
    # --force replaces an ensemble folder of ours
    res = run_cli(*args[:3], "3", *args[4:], "--out", "ens", "--force", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert json.loads((ens / "ensemble.json").read_text())["seeds"] == [1, 2, 3]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ens", "mine", "single"]


def test_report_refuses_what_is_not_an_ensemble(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "purgesim-run.json").write_text(json.dumps({
        "format": "purgesim-run", "version": 1, "kind": "ensemble", "complete": True}))
    res = run_cli("report", str(bad), cwd=tmp_path)
    _one_line_error(res, "ensemble.json")
    assert sorted(p.name for p in bad.iterdir()) == ["purgesim-run.json"]


def test_report_of_an_ensemble_with_a_damaged_run(ens: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(ens, copy)
    (copy / "seed2" / "daily.parquet").unlink()
    before = (copy / "report.html").read_bytes()
    res = run_cli("report", str(copy), cwd=tmp_path)
    _one_line_error(res, "seed2", "daily.parquet")
    assert (copy / "report.html").read_bytes() == before


def test_leftover_temporary_ensemble_is_recovered(tmp_path: Path) -> None:
    """A killed `run --seeds` leaves `.NAME.tmp-PID-...` holding runs: the next writer to
    NAME deletes it if it holds nothing but what an ensemble writes, else leaves it."""
    dead = 2 ** 22 + 12345  # above the usual pid_max: no such process
    left = tmp_path / f".ens.tmp-{dead}-abcd"
    (left / "seed1").mkdir(parents=True)
    (left / "seed1" / "summary.json").write_text("{}")
    (left / "ensemble.json").write_text("{}")
    other = tmp_path / f".ens.tmp-{dead}-ef01"
    (other / "seed1").mkdir(parents=True)
    (other / "seed1" / "thesis.tex").write_text("not ours")
    recover(tmp_path / "ens")
    assert not left.exists()
    assert (other / "seed1" / "thesis.tex").exists()


# ------------------------------------------------------------------------------ one run


@pytest.mark.slow
def test_single_run_prints_the_calibration_intervals(tmp_path: Path) -> None:
    res = run_cli_many({
        "cal": (["run", "ussr-1937", "--scale", "0.001", "--out", "cal", "--no-report"],
                tmp_path, {}),
        "changed": (["run", "ussr-1937", "--scale", "0.001", "--out", "changed",
                     "--no-report", "--set", "quotas.pace=0.05"], tmp_path, {}),
        "toy": (["run", "toy", "--out", "toy", "--no-report"], tmp_path, {}),
    }, workers=2)
    for r in res.values():
        assert r.returncode == 0, r.stderr
    label = "(calibration, 5–95% over the posterior and seeds)"
    out = res["cal"].stdout
    assert label in out
    rows = {ln.split("\t")[0]: ln.split("\t") for ln in out.splitlines()[
        out.splitlines().index(next(ln for ln in out.splitlines() if label in ln)) + 2:][:4]}
    # the 5-95% of SU-Y1937-ARR in purgesim/calibration/ussr-1937-predictive.csv, as printed
    with open(Path(__file__).parent.parent / "purgesim" / "calibration" /
              "ussr-1937-predictive.csv", newline="") as f:
        pred = {r["id"]: r for r in csv.DictReader(f)}
    p5, p95 = (round(float(pred["SU-Y1937-ARR"][k])) for k in ("p5", "p95"))
    assert rows["1937"][2] == f"{p5}–{p95}"
    # not for values the calibration did not fit, nor for an uncalibrated scenario
    assert label not in res["changed"].stdout
    assert label not in res["toy"].stdout
