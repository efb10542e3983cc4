"""The tutorials (docs/tutorials/*.py, notebooks written as percent scripts) run without
error, each in its own Python process as a reader would run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TUTORIALS = sorted((REPO / "docs" / "tutorials").glob("[0-9]*.py"))


def test_the_four_tutorials_are_there() -> None:
    names = [p.stem for p in TUTORIALS]
    assert names == ["01_first_run", "02_counterfactual", "03_story", "04_fitting"]
    for p in TUTORIALS:
        text = p.read_text(encoding="utf-8")
        assert text.startswith("# %% [markdown]\n# # "), p.name  # a title cell first
        assert text.count("\n# %%") >= 5, p.name


@pytest.mark.slow
@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs(path: Path) -> None:
    """Each tutorial takes 10-25 s (it runs ussr-1937 at scale 0.001-0.002)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + [p for p in env.get(
        "PYTHONPATH", "").split(os.pathsep) if p])
    r = subprocess.run([sys.executable, str(path)], cwd=REPO, env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, f"{path.name} failed:\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}"
    assert "Traceback" not in r.stderr
