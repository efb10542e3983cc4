"""The command line, run as `python -m purgesim ...` in a subprocess.

Bad input exits with code 2 and one line on stderr naming the field, the value and what is
allowed, without a traceback and without leaving an output folder behind.  The happy paths
write the documented outputs.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import run_cli, run_cli_many

from purgesim import __version__
from purgesim.engine import PLAN
from purgesim.mechanisms import MECHANISMS
from purgesim.scenario import load

# =============================================================================================
# bad input
# =============================================================================================


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else b""
            for p in sorted(folder.rglob("*"))}


def assert_user_error(res, *must_name: str) -> str:
    """Exit code 2, exactly one line on stderr naming each of `must_name` and what is
    allowed, no traceback, nothing on stdout."""
    assert res.returncode == 2, (res.returncode, res.stderr)
    assert "Traceback" not in res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    line = lines[0]
    assert line.startswith("error: ")
    for word in must_name:
        assert word in line, (word, line)
    assert "; allowed" in line, line  # what is allowed, not only "is not allowed"
    assert res.stdout.strip() == ""
    return line


BAD_RUNS = {
    # case: (arguments after `run`, words the message must contain)
    "unknown scenario": (["nosuch"], ["scenario", "nosuch", "toy", "ussr-1937"]),
    "unknown parameter": (["toy", "--set", "confession.nope=1"],
                          ["confession.nope", "1", "hazard"]),
    "unknown mechanism": (["toy", "--set", "nomech.x=1"], ["nomech.x", "confession"]),
    "wrong type": (["toy", "--set", "confession.hazard=abc"],
                   ["confession.hazard", "abc", "number"]),
    "out of range": (["toy", "--set", "confession.p_work=1.5"],
                     ["confession.p_work", "1.5", "0 <= p_work <= 1"]),
    "scale zero": (["toy", "--scale", "0"], ["scale", "0", "0 < scale <= 1"]),
    "scale above one": (["toy", "--scale", "1.5"], ["scale", "1.5", "0 < scale <= 1"]),
    "negative seed": (["toy", "--seed", "-1"], ["seed", "-1", "0 <= seed"]),
    "bad date in --set": (["toy", "--set", "start=1937-13-45"], ["start", "1937-13-45"]),
    "end before start in --set": (["toy", "--set", "end=1936-01-01"],
                                  ["end", "1936-01-01", "after"]),
    "--set without a value": (["toy", "--set", "confession.hazard"],
                              ["confession.hazard", "NAME=VALUE"]),
}


BAD_PERSONS = ["Nobody Atall", "99999999", "-5"]

BAD_FILES = {
    "malformed TOML": ('base = "toy"\n[confession\nhazard = 1\n', ["line 2", "[confession"]),
    "impossible date": ('base = "toy"\nstart = 1937-13-45\n', ["start", "1937-13-45", "date"]),
    "end before start": ('base = "toy"\nend = 1936-12-31\n', ["end", "1936-12-31",
                                                                "1937-01-01"]),
    "unknown top-level field": ('base = "toy"\nfoo = 3\n', ["foo", "3", "scale"]),
    "unknown parameter in a table": ('base = "toy"\n[vigilance]\nbogus = 0.5\n',
                                     ["vigilance.bogus", "0.5", "act_base"]),
    "value out of range in a table": ('base = "toy"\n[trials]\np_shot = 2\n',
                                      ["trials.p_shot", "2", "0 <= p_shot <= 1"]),
    "unknown base": ('base = "atlantis"\n', ["atlantis", "toy"]),
}


PARSER_ERRORS = {
    # typer's own checks of the command line: one line, no traceback
    "option of the wrong type": (["run", "toy", "--scale", "abc"], ["--scale", "abc"]),
    "unknown option": (["run", "toy", "--bogus"], ["--bogus"]),
    "missing argument": (["run"], ["scenario"]),
}


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory, toy_run: Path) -> dict[str, tuple]:
    """Every bad-input case run at once, each in an empty folder of its own:
    {case: (result, folder)}."""
    jobs, folders = {}, {}
    for case, (args, _) in BAD_RUNS.items():
        folders[case] = tmp_path_factory.mktemp("bad-run")
        jobs[case] = (["run", *args], folders[case], {})
    for case, (text, _) in BAD_FILES.items():
        folders[case] = tmp_path_factory.mktemp("bad-file")
        (folders[case] / "bad.toml").write_text(text)
        jobs[case] = (["run", "bad.toml", "--out", "out"], folders[case], {})
    for case, (args, _) in PARSER_ERRORS.items():
        folders[case] = tmp_path_factory.mktemp("bad-parse")
        jobs[case] = (args, folders[case], {})
    for who in BAD_PERSONS:
        args = ["story", str(toy_run), "--", who] if who.startswith("-") else \
            ["story", str(toy_run), who]
        jobs[f"story {who}"] = (args, toy_run.parent, {})
    folders["not a run"] = tmp_path_factory.mktemp("not-a-run")
    jobs["not a run"] = (["story", str(folders["not a run"]), "Old Comrade"],
                         folders["not a run"], {})
    results = run_cli_many(jobs)
    return {k: (results[k], folders.get(k)) for k in jobs}


@pytest.mark.parametrize("case", list(BAD_RUNS))
@pytest.mark.slow
def test_bad_command_line_exits_2_with_one_line(bad: dict, case: str) -> None:
    """Each bad `run` argument: exit 2, one line naming field, value and what is allowed, and
    no run folder (the default one is runs/...)."""
    res, folder = bad[case]
    assert_user_error(res, *BAD_RUNS[case][1])
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("case", list(BAD_FILES))
@pytest.mark.slow
def test_bad_scenario_file_exits_2_with_one_line(bad: dict, case: str) -> None:
    """Each bad scenario file: exit 2, one line, no traceback, no output folder."""
    res, folder = bad[case]
    assert_user_error(res, *BAD_FILES[case][1])
    assert sorted(p.name for p in folder.iterdir()) == ["bad.toml"]


def test_existing_run_is_not_overwritten_without_force(tmp_path: Path, toy_run: Path) -> None:
    """--out pointing to an existing run: exit 2, and the run is left exactly as it was."""
    shutil.copytree(toy_run, tmp_path / "old")
    before = _files(tmp_path)
    res = run_cli("run", "toy", "--seed", "3", "--out", "old", cwd=tmp_path)
    assert_user_error(res, "old", "--force")
    assert _files(tmp_path) == before


def test_force_overwrites_an_existing_run(tmp_path: Path, toy_run: Path) -> None:
    """With --force the old run is replaced by the new one, and nothing else is left."""
    shutil.copytree(toy_run, tmp_path / "old")
    res = run_cli("run", "toy", "--seed", "3", "--out", "old", "--force", "--quiet",
                  "--no-report", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert json.loads((tmp_path / "old" / "summary.json").read_text())["seed"] == 3
    assert [p.name for p in tmp_path.iterdir()] == ["old"]


@pytest.mark.parametrize("case", list(PARSER_ERRORS))
@pytest.mark.slow
def test_command_line_parser_errors_exit_2_without_traceback(bad: dict, case: str) -> None:
    """Errors caught by the command-line parser: exit 2, one line, no traceback."""
    res, folder = bad[case]
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert all(w in lines[0] for w in PARSER_ERRORS[case][1]), lines[0]
    assert list(folder.iterdir()) == []


# =============================================================================================
# run: the outputs
# =============================================================================================

COHORTS = ("central_committee_1934", "congress_17", "marshals", "army_commanders",
           "corps_division_commanders", "officers", "state_security", "first_government_1917")
YEARLY = ("arrests", "convictions", "death_sentences", "camp_sentences", "releases",
          "camp_deaths")


@pytest.fixture(scope="module")
def toy_summary(toy_run: Path) -> dict:
    return json.loads((toy_run / "summary.json").read_text())


def test_run_writes_every_output(toy_run: Path) -> None:
    """`run toy` writes summary.json and the five Parquet tables."""
    for name in ("summary.json", "daily.parquet", "operations.parquet", "regions.parquet",
                 "events.parquet", "people.parquet"):
        assert (toy_run / name).is_file(), name
        assert (toy_run / name).stat().st_size > 0
    assert not [p for p in toy_run.parent.iterdir() if p.name.startswith(".")]  # no temp dirs


def test_summary_has_the_documented_keys(toy_summary: dict) -> None:
    """scenario, seed, scale, version, parameters, yearly, cohorts, operations, channels,
    named and cascade, each with its documented fields."""
    s = toy_summary
    toy = load("toy")
    assert s["scenario"] == "toy" and s["seed"] == toy.seed and s["scale"] == toy.scale
    assert s["version"] == __version__
    params = s["parameters"]
    for key, mod in MECHANISMS.items():
        for field in mod.Params.model_fields:
            assert f"{key}.{field}" in params
    assert params["confession.p_work"] == toy.confession.p_work
    assert set(s["yearly"]) == {"1937"}
    for year in s["yearly"].values():
        assert set(YEARLY) <= set(year)
        assert all(isinstance(year[k], int) and year[k] >= 0 for k in YEARLY)
    assert set(COHORTS) <= set(s["cohorts"])
    for c in COHORTS:
        assert set(s["cohorts"][c]) == {"size", "arrested", "shot"}
        v = s["cohorts"][c]
        assert 0 <= v["shot"] <= v["arrested"] <= v["size"]
    assert s["cohorts"]["central_committee_1934"]["size"] == toy.cohorts.central_committee
    assert s["cohorts"]["state_security"]["size"] == toy.cohorts.state_security
    assert set(s["operations"]) == {op.key for op in toy.operations}
    for op in toy.operations:
        v = s["operations"][op.key]
        for k in ("limits_initial", "limits_final", "arrests", "convictions", "shot"):
            assert k in v
        assert v["limits_initial"] == {"cat1": round(op.cat1), "cat2": round(op.cat2)}
        assert v["limits_final"]["cat1"] >= v["limits_initial"]["cat1"]
    shares = {k: v for k, v in s["channels"].items() if k not in ("top_down", "bottom_up")}
    assert sum(shares.values()) == pytest.approx(1, abs=1e-3)
    assert set(s["named"]) == {n.name for n in toy.named}
    for v in s["named"].values():
        assert {"fate", "date", "named_by", "named_after"} <= set(v)
    c = s["cascade"]
    assert {"mean_names_per_confession", "reproduction_by_month", "deepest_chain"} <= set(c)
    assert all(m.startswith("1937-") for m in c["reproduction_by_month"])


def test_summary_agrees_with_the_event_log(toy_run: Path, toy_summary: dict) -> None:
    """At scale 1 every simulated person is one person: the yearly totals are counts of the
    events in events.parquet."""
    ev = pq.read_table(toy_run / "events.parquet").to_pydict()
    assert {"person", "day", "date", "event", "cause", "by", "operation"} <= set(ev)
    count = {e: ev["event"].count(e) for e in set(ev["event"])}
    year = toy_summary["yearly"]["1937"]
    assert year["arrests"] == count["arrested"]
    assert year["death_sentences"] == count["shot"]
    assert year["camp_sentences"] == count["camp"]
    assert year["camp_deaths"] == count.get("died", 0)
    assert year["convictions"] == count["shot"] + count["camp"] + count.get("exile", 0)
    people = pq.read_table(toy_run / "people.parquet").to_pydict()
    assert set(ev["person"]) <= set(people["person"])
    names = {n for n in people["name"] if n}
    assert names == set(toy_summary["named"])


def test_series_tables_cover_every_day(toy_run: Path) -> None:
    """daily.parquet has one row a day; operations and regions one row per day and key."""
    toy = load("toy")
    days = toy.n_days
    daily = pq.read_table(toy_run / "daily.parquet")
    assert daily.num_rows == days
    assert {"date", "arrests", "convictions", "custody", "camp_population"} <= \
        set(daily.column_names)
    ops = pq.read_table(toy_run / "operations.parquet")
    assert ops.num_rows == days * len(toy.operations)
    regions = pq.read_table(toy_run / "regions.parquet")
    assert regions.num_rows == days * len(toy.regions)
    assert sum(daily.column("arrests").to_pylist()) == \
        sum(regions.column("arrests").to_pylist())


def test_set_overrides_reach_the_run(tmp_path: Path) -> None:
    """`--set confession.enabled=false` is recorded in the parameters and no arrest is caused
    by a confession; the default run folder is runs/<scenario>-seed<seed>-scale<scale>."""
    res = run_cli("run", "toy", "--set", "confession.enabled=false", "--quiet", "--no-report",
                  cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    run = tmp_path / "runs" / "toy-seed1-scale1"
    s = json.loads((run / "summary.json").read_text())
    assert s["parameters"]["confession.enabled"] is False
    assert "confession" not in s["channels"]


# =============================================================================================
# the other commands
# =============================================================================================


@pytest.fixture(scope="module")
def commands(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The read-only commands, run at once."""
    cwd = tmp_path_factory.mktemp("commands")
    return run_cli_many({
        "scenarios": (["scenarios"], cwd, {}),
        "params": (["params", "toy"], cwd, {}),
        "params --json": (["params", "toy", "--json"], cwd, {}),
        "plan": (["plan"], cwd, {}),
        "version": (["version"], cwd, {}),
        "bare": ([], cwd, {}),
    })


def test_scenarios_lists_the_builtin_scenarios(commands: dict) -> None:
    res = commands["scenarios"]
    assert res.returncode == 0, res.stderr
    assert "toy" in res.stdout and "ussr-1937" in res.stdout


def test_params_lists_every_parameter(commands: dict) -> None:
    """`params toy` names every parameter of every mechanism."""
    res = commands["params"]
    assert res.returncode == 0, res.stderr
    for key, mod in MECHANISMS.items():
        for field in mod.Params.model_fields:
            assert f"{key}.{field}" in res.stdout, f"{key}.{field}"


def test_params_json_parses_and_gives_the_values(commands: dict) -> None:
    """`params toy --json` is JSON: one row per parameter with its value and range."""
    res = commands["params --json"]
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    by_name = {r["name"]: r for r in rows}
    want = {f"{k}.{f}" for k, mod in MECHANISMS.items() for f in mod.Params.model_fields}
    assert set(by_name) == want
    toy = load("toy")
    assert by_name["confession.p_work"]["value"] == toy.confession.p_work
    assert by_name["routine.rate_per_year"]["value"] == toy.routine.rate_per_year
    assert by_name["confession.p_work"]["lo"] == 0 and by_name["confession.p_work"]["hi"] == 1
    for r in rows:
        assert {"value", "unit", "lo", "hi", "meaning", "free"} <= set(r)


def test_story_by_name(toy_run: Path) -> None:
    """`story RUN "Old Comrade"` tells his events (text and JSON)."""
    res = run_cli("story", str(toy_run), "Old Comrade", cwd=toy_run.parent)
    assert res.returncode == 0, res.stderr
    assert "Old Comrade" in res.stdout
    res = run_cli("story", str(toy_run), "old comrade", "--json", cwd=toy_run.parent)
    assert res.returncode == 0, res.stderr
    s = json.loads(res.stdout)
    assert s["person"].startswith("Old Comrade")
    people = pq.read_table(toy_run / "people.parquet").to_pydict()
    assert s["id"] == people["person"][people["name"].index("Old Comrade")]
    ev = pq.read_table(toy_run / "events.parquet").to_pydict()
    mine = [e for p, e in zip(ev["person"], ev["event"]) if p == s["id"]]
    assert [e["event"] for e in s["events"]] == mine
    assert len(mine) > 0


def test_story_by_id_shows_who_named_him(toy_run: Path) -> None:
    """`story RUN <id>` for someone named in a confession lists his events and his
    accusers."""
    ev = pq.read_table(toy_run / "events.parquet").to_pydict()
    named = [(p, b) for p, e, b in zip(ev["person"], ev["event"], ev["by"]) if e == "named"]
    assert named
    pid, by = named[0]
    res = run_cli("story", str(toy_run), str(pid), "--json", cwd=toy_run.parent)
    assert res.returncode == 0, res.stderr
    s = json.loads(res.stdout)
    assert s["id"] == pid
    assert any(f"#{by}" in n["by"] for n in s["named_by"] + s["named_after"])
    assert all(n["date"] <= (s["arrested"] or "9999") for n in s["named_by"])
    assert len(s["events"]) == ev["person"].count(pid)
    text = run_cli("story", str(toy_run), str(pid), cwd=toy_run.parent)
    assert text.returncode == 0 and f"#{pid}" in text.stdout


@pytest.mark.parametrize("who", BAD_PERSONS)
@pytest.mark.slow
def test_story_of_an_unknown_person_exits_2(bad: dict, who: str) -> None:
    """An unknown name, or an id outside the run's population, is bad input."""
    res, _ = bad[f"story {who}"]
    assert_user_error(res, who)


@pytest.mark.slow
def test_story_of_a_folder_that_is_not_a_run_exits_2(bad: dict) -> None:
    res, folder = bad["not a run"]
    assert_user_error(res, str(folder))
    assert list(folder.iterdir()) == []


def test_plan_prints_the_phases_in_order(commands: dict) -> None:
    res = commands["plan"]
    assert res.returncode == 0, res.stderr
    out = res.stdout
    positions = [out.index(name) for name, _, _ in PLAN]
    assert positions == sorted(positions)
    assert "recording" in out


def test_version_and_bare_command(commands: dict) -> None:
    """`version` prints the version; with no command the help is shown, exit 0."""
    res = commands["version"]
    assert res.returncode == 0 and res.stdout.strip() == __version__
    res = commands["bare"]
    assert res.returncode == 0 and "Traceback" not in res.stderr
    assert "run" in res.stdout + res.stderr
