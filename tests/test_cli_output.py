"""The command line's output in a pipe: tables as tab-separated rows, nothing wrapped.

Each command runs in a subprocess with stdout piped and an 80-column terminal width (as a
shell pipe gets), so a wrapping table would cut names such as ``orders.party_rate`` in two.
Integers print as integers, never as ``1.02464e+06``.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import run_cli, run_cli_many

NARROW = {"COLUMNS": "80"}
FLOAT_EXP = re.compile(r"\de[+-]\d")


def rows_of(stdout: str, title: str) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the table titled `title` in piped output."""
    lines = stdout.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("# ") and title in ln)
    header = lines[start + 1].split("\t")
    rows = []
    for ln in lines[start + 2:]:
        if ln.startswith("# ") or "\t" not in ln:
            break
        cells = ln.split("\t")
        assert len(cells) == len(header), ln
        rows.append(cells)
    return header, rows


@pytest.fixture(scope="module")
def piped(toy_run: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    other = tmp_path_factory.mktemp("other")
    jobs = {
        "params": (["params", "ussr-1937"], toy_run.parent, NARROW),
        "params --json": (["params", "ussr-1937", "--json"], toy_run.parent, NARROW),
        "history": (["history"], toy_run.parent, NARROW),
        "history --json": (["history", "--json"], toy_run.parent, NARROW),
        "compare": (["compare", str(toy_run)], toy_run.parent, NARROW),
        "compare --json": (["compare", str(toy_run), "--json"], toy_run.parent, NARROW),
        "run": (["run", "toy", "--seed", "2", "--out", "b", "--no-report"], other, NARROW),
        "scenarios": (["scenarios"], toy_run.parent, NARROW),
        "scenarios --json": (["scenarios", "--json"], toy_run.parent, NARROW),
        "plan --json": (["plan", "--json"], toy_run.parent, NARROW),
    }
    out = run_cli_many(jobs)
    for k, res in out.items():
        assert res.returncode == 0, (k, res.stderr)
    out["other"] = other / "b"
    return out


def test_params_piped_gives_each_name_whole_on_one_line(piped: dict) -> None:
    """`purgesim params ussr-1937 | grep p_work` finds it; every name is the first field."""
    names = [r["name"] for r in json.loads(piped["params --json"].stdout)]
    header, rows = rows_of(piped["params"].stdout, "parameters of")
    assert header[0] == "name"
    assert [r[0] for r in rows] == names
    for name in ("orders.party_rate", "confession.p_work", "routine.rate_per_year"):
        hits = [ln for ln in piped["params"].stdout.splitlines() if name in ln]
        assert len(hits) == 1 and hits[0].startswith(name + "\t"), (name, hits)
    assert "\ncalibration: " in piped["params"].stdout
    assert "parameters calibrated for ussr-1937 are used" in piped["params"].stdout
    values = dict((r[0], r[header.index("value")]) for r in rows)
    assert values["routine.rate_per_year"] == "224200"  # an integer, no separator, no e+05
    for r in rows:
        assert not FLOAT_EXP.search(r[header.index("range")]), r


def test_history_piped_gives_one_line_a_row(piped: dict) -> None:
    """`purgesim history | head` reads: one line a row of the record, ids whole."""
    record = json.loads(piped["history --json"].stdout)
    header, rows = rows_of(piped["history"].stdout, "historical record")
    assert [r[0] for r in rows] == [r["id"] for r in record]
    assert [r[1] for r in rows] == [r["quantity"] for r in record]
    col = header.index("value")
    for r, rec in zip(rows, record):
        assert not FLOAT_EXP.search(r[col]), r
        if rec["value"] is not None and float(rec["value"]).is_integer():
            assert r[col].split(" ")[0] == str(int(rec["value"])), (r[col], rec["value"])


def test_compare_piped_gives_integers_and_whole_names(piped: dict) -> None:
    c = json.loads(piped["compare --json"].stdout)
    header, rows = rows_of(piped["compare"].stdout, "against the record")
    assert [r[0] for r in rows] == [t["id"] for t in c["targets"]]
    assert [r[1] for r in rows] == [t["quantity"] for t in c["targets"]]
    for col in ("record", "simulated"):
        for r in rows:
            assert not FLOAT_EXP.search(r[header.index(col)]), r
    for r, t in zip(rows, c["targets"]):
        if float(t["record"]).is_integer():
            assert r[header.index("record")].split(" ")[0] == str(int(t["record"]))
    assert "(one seed)" in piped["compare"].stdout


def test_run_summary_piped_is_plain(piped: dict) -> None:
    out = piped["run"].stdout
    header, rows = rows_of(out, "yearly totals")
    assert header[:2] == ["year", "arrests"]
    s = json.loads((piped["other"] / "summary.json").read_text())
    assert [r[0] for r in rows] == list(s["yearly"])
    assert [int(r[1]) for r in rows] == [v["arrests"] for v in s["yearly"].values()]
    assert not FLOAT_EXP.search(out)
    assert "\x1b[" not in out  # no colour codes in a pipe
    assert "calibration: none; toy's parameters are set by hand" in out


def test_scenarios_and_plan_print_json(piped: dict) -> None:
    rows = json.loads(piped["scenarios --json"].stdout)
    assert {"toy", "ussr-1937", "france-1793"} <= {r["name"] for r in rows}
    _, table = rows_of("# scenarios\n" + piped["scenarios"].stdout, "scenarios")
    assert [r[0] for r in table] == [r["name"] for r in rows]
    plan = json.loads(piped["plan --json"].stdout)
    assert plan[-1]["phase"] == "recording" and plan[0]["order"] == 1


def test_compare_two_runs_side_by_side(piped: dict, toy_run: Path) -> None:
    """`compare RUN_A RUN_B`: totals, differences, channel shares, in text and JSON."""
    b = piped["other"]
    res = run_cli_many({
        "text": (["compare", str(toy_run), str(b)], toy_run.parent, NARROW),
        "json": (["compare", str(toy_run), str(b), "--json"], toy_run.parent, NARROW),
    })
    for k, r in res.items():
        assert r.returncode == 0, (k, r.stderr)
    p = json.loads(res["json"].stdout)
    sa = json.loads((toy_run / "summary.json").read_text())
    sb = json.loads((b / "summary.json").read_text())
    assert [r["seed"] for r in p["runs"]] == [sa["seed"], sb["seed"]]
    tot = {r["measure"]: r for r in p["totals"]}
    arrests = [sum(v["arrests"] for v in s["yearly"].values()) for s in (sa, sb)]
    assert [tot["arrests"]["a"], tot["arrests"]["b"]] == arrests
    assert tot["arrests"]["difference"] == arrests[1] - arrests[0]
    ch = {r["measure"]: r for r in p["channels"]}
    assert ch["named in a confession"]["a"] == pytest.approx(sa["channels"]["confession"])
    header, rows = rows_of(res["text"].stdout, "totals")
    assert header == ["measure", "A", "B", "B − A", "change"]
    line = next(r for r in rows if r[0] == "arrests")
    assert line[1:4] == [str(arrests[0]), str(arrests[1]),
                         f"{arrests[1] - arrests[0]:+d}"]
    _, rows = rows_of(res["text"].stdout, "share of arrests by channel")
    assert "named in a confession" in [r[0] for r in rows]


def test_compare_two_with_a_folder_that_is_not_a_run_exits_2(toy_run: Path,
                                                              tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    res = run_cli("compare", str(toy_run), str(tmp_path / "empty"), cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "empty" in lines[0], res.stderr
    assert res.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    shutil.rmtree(tmp_path / "empty")


@pytest.mark.parametrize("command", ["calibrate", "sensitivity"])
def test_help_keeps_the_extra_in_brackets(command: str, tmp_path: Path) -> None:
    """Rich markup would eat ``[fit]`` in a help text ('pip install purgesim' installs
    nothing that helps): the help names the extra as it must be typed."""
    r = run_cli(command, "--help", cwd=tmp_path, **NARROW)
    assert r.returncode == 0, r.stderr
    assert "purgesim[fit]" in r.stdout
