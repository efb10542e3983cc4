"""The HTML report: self-contained (opens offline), every required section, the record drawn
for a USSR run and not for the invented toy country, and the `report` command."""

from __future__ import annotations

import html
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from purgesim.charts import RunView, dumps, find_people, person_timeline
from purgesim.report import render, write_report

REQUIRED = ["parameters", "arrests", "sentences", "cumulative", "operations-daily",
            "operations", "yearly", "cohorts", "limits", "cascade-rates", "cascade", "named",
            "regions", "camps", "claims"]


class Refs(HTMLParser):
    """Every src/href of the page's tags (script bodies are not parsed as tags)."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []
        self.scripts_with_src = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for k, v in attrs:
            if k in ("src", "href", "data", "action", "poster") and v is not None:
                self.refs.append((tag, k, v))
            if tag == "script" and k == "src":
                self.scripts_with_src += 1


def sections_of(html: str) -> list[dict]:
    m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html,
                  re.S)
    assert m, "the report's data block is missing"
    return json.loads(m.group(1))


@pytest.fixture(scope="module")
def toy_report(toy_run: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("report") / "toy.html"
    assert write_report(toy_run, out) == out
    return out.read_text(encoding="utf-8")


def test_run_writes_the_report(toy_run: Path) -> None:
    """`purgesim run` (the README's main command) leaves report.html in the run folder."""
    assert (toy_run / "report.html").is_file()
    assert (toy_run / "report.html").stat().st_size > 1_000_000  # plotly.js is inlined


def test_self_contained(toy_report: str) -> None:
    p = Refs()
    p.feed(toy_report)
    external = [r for r in p.refs if re.match(r"^\s*(https?:)?//", r[2], re.I)]
    assert external == [], f"external references: {external}"
    assert p.scripts_with_src == 0, "every script must be inlined"
    assert "<link" not in toy_report.split("<script")[0], "styles must be inlined"
    assert "plotly.js v" in toy_report  # the library itself is in the file
    assert "@import" not in toy_report.split("<script")[0]


def test_every_section(toy_report: str) -> None:
    secs = sections_of(toy_report)
    ids = [s["id"] for s in secs]
    for want in REQUIRED:
        assert want in ids, f"section {want} missing"
    by = {s["id"]: s for s in secs}
    for sid in ("arrests", "sentences", "operations", "yearly", "cohorts", "limits",
                "cascade-rates", "cascade", "named"):
        fig = by[sid]["figure"]
        assert fig["data"], f"chart {sid} has no traces"
        assert any(any(v not in (None, 0, "") for v in (t.get("y") or []))
                   for t in fig["data"]), f"chart {sid} has no data"
    # the channels of arrests are drawn, and the parameters and claims are tables
    names = {t["name"] for t in by["arrests"]["figure"]["data"]}
    assert "named in a confession" in names
    assert "confession.p_work" in by["parameters"]["table"]
    assert "CLAIM-1939" in by["claims"]["table"]
    # the cascade is a graph of people coloured by cohort, at most 300 of them
    nodes = sum(len(t["x"]) for t in by["cascade"]["figure"]["data"][1:])
    assert 2 <= nodes <= 300


def test_toy_has_no_record(toy_report: str) -> None:
    """The toy is an invented country: the USSR's record is not drawn over it."""
    secs = sections_of(toy_report)
    names = [t.get("name", "") for s in secs if s.get("figure") for t in s["figure"]["data"]]
    assert not any(n.startswith("record") for n in names)
    assert "record is not drawn" in toy_report


def test_html_is_escaped(toy_run: Path, tmp_path: Path) -> None:
    """Names from the run reach the page escaped; JSON cannot close its script element."""
    assert "<\\/script" in dumps({"x": "</script><script>alert(1)</script>"})
    assert "</script><script>alert" not in dumps({"x": "</script><script>alert(1)</script>"})


@pytest.mark.slow
def test_ussr_record_on_the_same_axes(tmp_path: Path) -> None:
    """A small USSR run: the record's yearly figures, ranges and cohort figures are drawn."""
    from purgesim.engine import Sim
    from purgesim.results import write_run
    from purgesim.scenario import load

    sim = Sim(load("ussr-1937", scale=0.0005)).run()
    write_run(sim, tmp_path / "ussr", 1.0)
    view = RunView(tmp_path / "ussr")
    secs = {s["id"]: s for s in view.sections()}
    arrests = [t["name"] for t in secs["arrests"]["figure"]["data"]]
    assert any(n.startswith("record: arrests") for n in arrests)
    ops = secs["operations"]["figure"]["data"]
    ranged = [t for t in ops if t.get("error_y") and any(t["error_y"]["array"])]
    assert ranged, "the record's ranges are drawn as error bars"
    assert "936,750" in secs["yearly"]["table"]  # arrests 1937 (SU-Y1937-ARR)
    cohort_names = [t["name"] for t in secs["cohorts"]["figure"]["data"]]
    assert "shot (record)" in cohort_names and "arrested (record)" in cohort_names
    assert "SU-C17-ARR" in secs["cohorts"]["table"]
    assert "targets" in secs
    # the camps: the NKVD's counts beside the run, marked as kept back (never fitted)
    camps = secs["camps"]["figure"]["data"]
    counts = [t for t in camps if t["name"].startswith("NKVD count")]
    assert counts and "1940-01-01" in counts[0]["x"] and "not fitted" in counts[0]["name"]
    assert "SU-ITL-400101 + SU-ITK-400101" in secs["camps"]["table"]
    assert "108,654" in secs["camps"]["table"]  # Gulag deaths 1938 (SU-GULAG-DEATH-1938)
    # the regions month by month, per 1,000 inhabitants: one panel per region
    regions = secs["regions"]["figure"]
    assert {t["xaxis"] for t in regions["data"]} == {"x"} | {f"x{i}" for i in range(2, 15)}
    assert "Ukraine" in secs["regions"]["table"] and "1940: arrests" in secs["regions"]["table"]
    # the map: one square per region at its schematic place, coloured by its value
    tiles = secs["region_map"]["figure"]["data"]
    arrests = tiles[0]
    moscow = arrests["customdata"].index("Moscow")
    reg = view.summary["regions"]["Moscow"]
    assert arrests["marker"]["color"][moscow] == pytest.approx(
        1000 * reg["arrests"] / reg["population"], abs=1e-3)
    assert (arrests["x"][moscow], arrests["y"][moscow]) == (1, 1)
    assert len(tiles) >= 2 and "schematic" in secs["region_map"]["note"]
    # the army by rank: the calibrated scenario runs the army's own discharges
    army = {t["name"]: t for t in secs["army"]["figure"]["data"]}
    assert "regiment commanders" in army["arrested"]["x"]
    assert {"discharged", "reinstated"} <= set(army)
    assert "discharged by the army's own channels" in secs["army"]["note"]
    # the NKVD by level: a prediction, every level drawn
    police = {t["name"]: t for t in secs["police"]["figure"]["data"]}
    assert set(police) == {"dismissed", "arrested", "shot"}
    assert "central apparatus" in police["arrested"]["x"]
    assert "operational" in secs["police"]["table"]
    html = render(tmp_path / "ussr")
    assert "order_00447" in html


def test_people_and_story_helpers(toy_run: Path) -> None:
    from purgesim.story import story

    view = RunView(toy_run)
    found = find_people(view, "comrade")
    assert found and found[0]["label"].startswith("Old Comrade")
    s = story(toy_run, "Old Comrade")
    fig = person_timeline(s)
    assert fig["data"] and fig["layout"]["xaxis"]["range"]
    g = view.neighbourhood(int(s["id"]))
    assert any(s["id"] in (t.get("customdata") or []) for t in g["data"])


def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        *args: str) -> tuple[int, str, str]:
    """`purgesim ARGS` in this process (faster than a subprocess): exit code, out, err."""
    from purgesim.cli import main

    monkeypatch.setattr(sys, "argv", ["purgesim", *args])
    code = 0
    try:
        main()
    except SystemExit as e:
        code = int(e.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_report_command(toy_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(monkeypatch, capsys, "report", str(toy_run), "--out",
                         str(tmp_path / "r.html"))
    assert code == 0, err
    assert out.strip().endswith("r.html")
    assert (tmp_path / "r.html").stat().st_size > 1_000_000
    code, out, err = cli(monkeypatch, capsys, "report", str(tmp_path / "missing"))
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "not a finished run" in err
    code, out, err = cli(monkeypatch, capsys, "report", str(toy_run), "--out",
                         str(tmp_path / "r.txt"))
    assert code == 2 and ".html" in err


def test_run_no_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                       capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(monkeypatch, capsys, "run", "toy", "--out", str(tmp_path / "r"),
                         "--quiet", "--no-report")
    assert code == 0, err
    assert (tmp_path / "r" / "summary.json").is_file()
    assert not (tmp_path / "r" / "report.html").exists()


def test_the_report_states_the_calibration_from_the_one_source(toy_report: str,
                                                               toy_run: Path) -> None:
    from purgesim.calstatus import status

    s = json.loads((toy_run / "summary.json").read_text())
    assert f"Calibration: {html.escape(status(s['scenario'], s['parameters']))}" in toy_report
    assert "may be uncalibrated" not in toy_report


def test_regions_yearly_add_up(toy_run: Path) -> None:
    """summary.json `regions`: each region's yearly counts add up to its totals (issue 15)."""
    regs = json.loads((toy_run / "summary.json").read_text())["regions"]
    assert regs
    for v in regs.values():
        assert v["population"] > 0
        for k in ("arrests", "convictions", "death_sentences"):
            total = sum(y[k] for y in v["yearly"].values())
            assert abs(total - v[k]) <= len(v["yearly"]), (k, total, v[k])


def test_every_shipped_scenario_has_a_tile_for_each_region() -> None:
    """The schematic map places every region of every shipped scenario, one tile per square;
    a scenario of one's own falls back to its regions in order."""
    from purgesim.charts import region_tiles
    from purgesim.scenario import load

    for name in ("toy", "ussr-1937", "france-1793"):
        regions = [r.name for r in load(name).regions]
        pos, shipped = region_tiles(regions)
        assert shipped and set(pos) == set(regions), name
        assert len(set(pos.values())) == len(regions), f"{name}: two regions on one tile"
    pos, shipped = region_tiles(["A", "B", "C", "D", "E"])
    assert not shipped and pos["E"] == (0, 1)
