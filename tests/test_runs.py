"""The one run-folder reader (`runs.RunFolder`) and the charts as functions over it; the
`charts.RunView` facade gives the very same figures and tables."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from purgesim import charts
from purgesim.charts import ChartError, RunView
from purgesim.runfolder import FolderError
from purgesim.runs import People, RunFolder


def test_reader_gives_typed_tables(toy_run: Path) -> None:
    run = RunFolder(toy_run)
    assert run.summary["scenario"] == "toy"
    assert run.dates[0] == run.daily["date"][0] and len(run.dates) == run.daily["arrests"].size
    ops, cols = run.operations
    assert all(cols["arrests"][op].size == len(run.dates) for op in ops)
    regions, rcols = run.regions
    assert regions and all(rcols["arrests"][r].size == len(run.dates) for r in regions)
    assert set(run.events) == {"person", "by", "day", "event", "cause"}
    assert isinstance(run.people, People) and len(run.people) > 0
    assert run.words["shot"] and isinstance(run.timing, dict)
    assert run.table("daily", columns=["date"]).column_names == ["date"]


def test_facade_equals_functions(toy_run: Path) -> None:
    run, view = RunFolder(toy_run), RunView(toy_run)
    assert view.s is view.summary and view.title == run.title
    assert charts.dumps(charts.sections(run)) == charts.dumps(view.sections())
    assert charts.totals(run) == view.totals()
    pid = next(iter(run.people))
    assert charts.dumps(charts.neighbourhood(run, pid)) == charts.dumps(view.neighbourhood(pid))
    assert view.label(pid) == charts.person_label(run, pid)
    assert np.array_equal(view.daily["arrests"], run.daily["arrests"])


def test_damaged_folder_is_one_line(toy_run: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(toy_run, bad)
    (bad / "events.parquet").unlink()
    with pytest.raises(FolderError, match=r"events\.parquet: missing") as e:
        RunFolder(bad)
    with pytest.raises(ChartError) as c:
        RunView(bad)
    assert str(e.value) == str(c.value) and "\n" not in str(e.value)
