"""A fresh run of `toy` and of `ussr-1937` at scale 0.002 equals the stored baseline
(summary.json, digests of the event log and the daily table): a pure refactor or speed-up
changes nothing.  A change meant to change results updates the baseline in the same commit
(`python tests/baseline.py --update`; see tests/baseline.py)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("purgesim_baseline", HERE / "baseline.py")
assert spec and spec.loader
baseline = importlib.util.module_from_spec(spec)
spec.loader.exec_module(baseline)


@pytest.mark.parametrize("name", list(baseline.CASES))
@pytest.mark.slow
def test_run_equals_the_stored_baseline(name: str) -> None:
    stored = json.loads((HERE / "baseline" / f"{name}.json").read_text())
    diff = baseline.differences(stored, baseline.snapshot(name))
    assert not diff, (f"{name} differs from tests/baseline/{name}.json (if the change is "
                      "meant, run `python tests/baseline.py --update`):\n" + "\n".join(diff[:20]))


def test_the_comparison_sees_a_change() -> None:
    stored = json.loads((HERE / "baseline" / "toy.json").read_text())
    changed = json.loads(json.dumps(stored))
    changed["events"]["sha256"] = "0" * 64
    changed["summary"]["yearly"]["1937"]["arrests"] += 1
    assert len(baseline.differences(stored, changed)) == 2
