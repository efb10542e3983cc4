"""Sensitivity (purgesim.sensitivity): Morris elementary effects on the toy scenario find the
parameter that drives a quantity, and the command writes its table and heatmap."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli


@pytest.mark.slow
def test_morris_finds_the_drivers(tmp_path: Path) -> None:
    targets = tmp_path / "targets.json"
    targets.write_text(json.dumps({"operations.elements.arrests": 150,
                                   "yearly.1937.death_sentences": 400,
                                   "yearly.1937.convictions": 1000}))
    res = run_cli("sensitivity", "toy", "--params", "quotas.pace,trials.p_shot_mass_phase",
                  "--trajectories", "4", "--targets", str(targets), "--workers", "2",
                  "--out", str(tmp_path / "sens"), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "Morris sensitivity" in res.stdout and "quotas.pace" in res.stdout
    out = tmp_path / "sens"
    for f in ("design.csv", "morris.csv", "sensitivity.png", "sensitivity.json"):
        assert (out / f).is_file(), f
    r = json.loads((out / "sensitivity.json").read_text())
    assert r["runs"] == 4 * 3
    mu = {(p, t): r["mu_star"][i][j] for i, p in enumerate(r["params"])
          for j, t in enumerate(r["targets"])}
    # the quota pace drives the operation's arrests; the death share does not
    assert mu[("quotas.pace", "operations.elements.arrests")] > \
        5 * mu[("trials.p_shot_mass_phase", "operations.elements.arrests")]
    # the death share of ordinary cases matters for the death sentences
    assert mu[("trials.p_shot_mass_phase", "yearly.1937.death_sentences")] > 0.1


@pytest.mark.slow
def test_bad_sensitivity_input_exits_2(tmp_path: Path) -> None:
    for args in (["--params", "quotas.nope"], ["--trajectories", "1"]):
        res = run_cli("sensitivity", "toy", *args, "--out", str(tmp_path / "s"), cwd=tmp_path)
        assert res.returncode == 2, res.stderr
        assert len([ln for ln in res.stderr.splitlines() if ln.strip()]) == 1, res.stderr
