"""The record's counting periods come from the scenario (issue 14: no USSR dates in
results.py): totalled when the run covers them, refused when malformed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from purgesim.engine import Sim
from purgesim.results import summary
from purgesim.scenario import load

REPO = Path(__file__).resolve().parents[1]


def _scenario(tmp_path: Path, windows: str) -> Path:
    p = tmp_path / "w.toml"
    p.write_text(f'base = "toy"\nname = "toy-windows"\n{windows}\n')
    return p


def test_a_window_the_run_covers_is_totalled_and_one_it_does_not_is_left_out(
        tmp_path: Path) -> None:
    p = _scenario(tmp_path, "[[windows]]\nstart = 1937-03-01\nend = 1937-07-01\n"
                            "[[windows]]\nstart = 1936-10-01\nend = 1937-07-01\n")
    sim = Sim(load(str(p))).run()
    s = summary(sim, cascade=False)
    assert list(s["windows"]) == ["1937-03-01/1937-07-01"]
    a, b = sim.sc.day_of(sim.sc.windows[0].start), sim.sc.day_of(sim.sc.windows[0].end)
    assert s["windows"]["1937-03-01/1937-07-01"]["arrests"] == \
        round(float(sim.rec.arrests[a:b].sum()))
    assert load("toy").windows == []


def test_the_ussr_scenario_keeps_the_nkvd_periods() -> None:
    labels = [w.label for w in load("ussr-1937").windows]
    assert labels == ["1936-10-01/1938-07-01", "1936-10-01/1938-11-01"]


def test_a_window_ending_before_it_starts_is_refused_in_one_line(tmp_path: Path) -> None:
    p = _scenario(tmp_path, "[[windows]]\nstart = 1937-03-01\nend = 1937-02-01\n")
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "purgesim", "run", str(p), "--out", str(out)],
                       cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "windows" in lines[0] and "1937-02-01" in lines[0]
    assert "Traceback" not in r.stderr and not out.exists()
