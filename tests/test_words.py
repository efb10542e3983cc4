"""Words that must not mislead (issue 17): "named by" holds only the namings before the
arrest (Bukharin named after he was shot, Lenin named in 1937, are "named afterwards");
"same fate?" has a date tolerance; France speaks its own words ("guillotined", "prison");
"against the record" only where the record is drawn."""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import load_scenario, run_cli, write_scenario

from purgesim.charts import SAME_FATE_DAYS, RunView, date_gap, person_timeline, same_fate
from purgesim.scenario import ScenarioError
from purgesim.story import named_text, story
from purgesim.words import DEFAULTS, Key, event_word, merged


@pytest.fixture(scope="module")
def ussr_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ussr-1937 at scale 0.002, seed 1 (the baseline's case), written by the CLI."""
    cwd = tmp_path_factory.mktemp("ussr-words")
    res = run_cli("run", "ussr-1937", "--scale", "0.002", "--out", "run", "--quiet",
                  "--no-report", cwd=cwd)
    assert res.returncode == 0, res.stderr
    return cwd / "run"


@pytest.fixture(scope="module")
def france_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cwd = tmp_path_factory.mktemp("france-words")
    res = run_cli("run", "france-1793", "--scale", "0.002", "--out", "run", "--quiet",
                  "--no-report", cwd=cwd)
    assert res.returncode == 0, res.stderr
    return cwd / "run"


# ------------------------------------------------------------------------------ labels


def test_label_keys_are_the_defaults() -> None:
    assert set(typing.get_args(Key)) == set(DEFAULTS)
    assert merged(None) == DEFAULTS
    assert merged({"shot": "guillotined", "nonsense": "x", "camp": " "})["shot"] == "guillotined"
    assert merged({"camp": " "})["camp"] == "camp"
    assert event_word("investigation_closed", DEFAULTS) == "investigation closed"


def test_a_scenario_label_must_be_known(tmp_path: Path) -> None:
    ok = write_scenario(tmp_path, '[labels]\nshot = "hanged"\n', name="ok")
    assert load_scenario(ok).labels == {"shot": "hanged"}
    bad = write_scenario(tmp_path, '[labels]\nshoot = "hanged"\n', name="bad")
    with pytest.raises(ScenarioError, match="labels"):
        load_scenario(bad)


def test_france_has_its_words() -> None:
    fr = load_scenario("france-1793").labels
    assert fr["shot"] == "guillotined" and fr["camp"] == "imprisoned"
    assert "shoot" not in fr["limit_cat1"] and "camp" not in fr["limit_cat2"]
    assert load_scenario("ussr-1937").labels == {}


# ------------------------------------------------------------------------------ named by


def who(namings: list[dict[str, str]]) -> list[str]:
    """A story's namers as summary.json labels them (a named man without his id)."""
    return sorted({re.sub(r" \(#\d+\)$", "", n["by"]) for n in namings})


def test_bukharin_is_not_named_by_those_who_named_him_after_his_arrest(ussr_run: Path) -> None:
    s = story(ussr_run, "Bukharin")
    assert s["arrested"], "Bukharin is arrested in every run (the February plenum)"
    shot = [e["date"] for e in s["events"] if e["event"] == "shot"]
    assert all(n["date"] <= s["arrested"] for n in s["named_by"]), s["named_by"]
    assert all(n["date"] >= s["arrested"] for n in s["named_after"]), s["named_after"]
    if shot:
        assert not any(n["date"] > shot[0] for n in s["named_by"])
    # every naming is in one list or the other, in the order of the log
    ev = pq.read_table(ussr_run / "events.parquet").to_pydict()
    namings = [d.isoformat() for p, e, d in zip(ev["person"], ev["event"], ev["date"])
               if p == s["id"] and e == "named"]
    assert [n["date"] for n in s["named_by"] + s["named_after"]] == namings
    # summary.json says the same
    v = json.loads((ussr_run / "summary.json").read_text())["named"]["Bukharin"]
    assert v["named_by"] == who(s["named_by"])
    assert v["named_after"] == who(s["named_after"])
    assert v["arrested"] == s["arrested"]
    for text in named_text(s):
        assert text.startswith(("named before his arrest on", "named after his arrest"))


def test_bukharin_story_on_the_command_line(ussr_run: Path) -> None:
    res = run_cli("story", str(ussr_run), "Bukharin", cwd=ussr_run.parent)
    assert res.returncode == 0, res.stderr
    assert "named by:" not in res.stdout
    s = story(ussr_run, "Bukharin")
    if s["named_after"]:
        assert "named after his arrest (these cannot explain it):" in res.stdout
        assert s["named_after"][0]["date"] in res.stdout


def test_lenin_dead_before_the_run_is_named_afterwards(ussr_run: Path) -> None:
    s = story(ussr_run, "Lenin")
    assert s["dead_before_run"] and s["named_by"] == []
    v = json.loads((ussr_run / "summary.json").read_text())["named"]["Lenin"]
    assert v["named_by"] == [] and v["arrested"] is None
    assert v["named_after"] == who(s["named_after"])
    if s["named_after"]:
        assert named_text(s)[0].startswith("named after his death")


def test_named_table_separates_before_and_after(ussr_run: Path) -> None:
    html = RunView(ussr_run).table_named()
    assert "named before his arrest" in html and "named afterwards" in html
    assert "simulated − real date" in html


# ------------------------------------------------------------------------------ same fate


@pytest.mark.parametrize(("sim", "real", "gap"), [
    ("1938-03-13", "1938-03-15", -2),
    ("1936-03-15", "1938-03-15", -730),
    ("1937-05-01", "1937", 0),
    ("1939-02-01", "1938", 32),
    ("1938-07-31", "1938-08", -1),
    (None, "1938-03-15", None),
    ("1938-03-15", "", None),
])
def test_date_gap(sim: str | None, real: str, gap: int | None) -> None:
    assert date_gap(sim, real) == gap


def test_same_fate_has_a_date_tolerance() -> None:
    v = {"fate": "shot", "date": "1936-03-15", "real_fate": "shot", "real_date": "1938-03-15"}
    assert same_fate(v) == ("no", -730)  # a death two years early is not the same fate
    v["date"] = "1938-01-10"
    assert same_fate(v) == ("yes", -64)
    v["date"] = "1937-09-01"
    assert same_fate(v) == ("no", -195) and 195 > SAME_FATE_DAYS
    assert same_fate({**v, "date": None}) == ("yes", None)  # no date: the state alone
    assert same_fate({**v, "fate": "camp"})[0] == "no"
    assert same_fate({**v, "real_fate": "invented"}) == ("—", None)
    g = {"fate": "shot", "date": "1794-04-01", "real_fate": "guillotined",
         "real_date": "1794-04-05"}
    assert same_fate(g) == ("yes", -4)


# ------------------------------------------------------------------------------ France


def test_france_report_and_story_speak_french(france_run: Path) -> None:
    view = RunView(france_run)
    assert view.words["shot"] == "guillotined"
    text = json.dumps(view.sections(), ensure_ascii=False)
    for word in ("guillotined", "prison sentences", "cat. 1 (to the scaffold)",
                 "cat. 2 (detention)", "Mass arrests", "Law of Suspects limits by region"):
        assert word in text, word
    for word in ("camp sentences", "cat. 1 (shoot)", "cat. 2 (camp)", "Order 00447",
                 "against the record", "and shot", "Mass operations", "Imprisoneds",
                 "Red Army", "under Beria"):
        assert word not in text, word
    titles = {sec["id"]: sec["title"] for sec in view.sections()}
    assert titles["camps"] == "Detention and custody"
    # a guillotined man's story says so; the codes stay the same
    ev = pq.read_table(france_run / "events.parquet", columns=["person", "event"]).to_pydict()
    pid = next(p for p, e in zip(ev["person"], ev["event"]) if e == "shot")
    s = story(france_run, str(pid))
    assert s["final_state"] == "shot" and s["at_the_end"] == "guillotined"
    assert [e["what"] for e in s["events"] if e["event"] == "shot"] == ["guillotined"]
    fig = person_timeline(s)
    assert "guillotined" in [t["name"] for t in fig["data"]]
    res = run_cli("story", str(france_run), str(pid), cwd=france_run.parent)
    assert res.returncode == 0, res.stderr
    assert "guillotined" in res.stdout and " shot" not in res.stdout


def test_ussr_keeps_its_words(ussr_run: Path) -> None:
    view = RunView(ussr_run)
    assert view.words == DEFAULTS
    titles = [s["title"] for s in view.sections()]
    assert "Yearly totals against the record" in titles
    assert "Order 00447 limits by region" in titles
    assert "death sentences" in json.dumps(view.fig_sentences())


def test_toy_charts_do_not_claim_a_record(toy_run: Path) -> None:
    view = RunView(toy_run)
    assert not view.record
    text = json.dumps(view.sections(), ensure_ascii=False)
    assert "against the record" not in text
    assert "the record's yearly figures" not in text and "black ticks" not in text


def test_france_people_belong_to_french_cohorts(france_run: Path) -> None:
    """The people table (and the story header read from it) names France's cohorts by the
    scenario's `cohort_labels`, never the USSR's codes."""
    people = pq.read_table(france_run / "people.parquet", columns=["name", "cohorts"])
    cohorts = set(",".join(people.column("cohorts").to_pylist()).split(","))
    assert "convention" in cohorts
    assert not cohorts & {"congress_17", "central_committee_1934", "politburo_1934",
                          "marshals", "first_government_1917"}
    assert "convention" in story(france_run, "Danton")["cohorts"]
