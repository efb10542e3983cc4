"""Two finished runs side by side (`purgesim compare RUN_A RUN_B`): totals, differences,
channel shares, cohorts and each run's count of record targets within tolerance.

The totals and channels are the ones the dashboard's comparison shows
(`charts.RunView.totals`, `charts.CHANNELS`), so the command line and the browser agree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _row(measure: str, a: Any, b: Any) -> dict[str, Any]:
    """One measure of both runs with B − A and the change relative to A (None if A is 0)."""
    diff = rel = None
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        diff = b - a
        rel = diff / a if a else None
    return {"measure": measure, "a": a, "b": b, "difference": diff, "relative": rel}


def side_by_side(run_a: Path, run_b: Path) -> dict[str, Any]:
    """Both runs' totals, channel shares and cohort attrition, with their differences.

    Raises charts.ChartError or compare.CompareError for a folder that is not a run."""
    from .charts import CHANNELS, RunView, cohort_keys, cohort_name
    from .compare import RunData
    from .compare import compare as against_record

    views = [RunView(run_a), RunView(run_b)]
    ta, tb = (v.totals() for v in views)
    totals = [_row("people represented", views[0].s["people"]["represented"],
                   views[1].s["people"]["represented"])]
    totals += [_row(k.replace("_", " "), ta[k], tb.get(k)) for k in ta]
    ca, cb = (v.s.get("channels", {}) for v in views)
    channels = [_row(label, ca.get(k, 0.0), cb.get(k, 0.0)) for k, label, _ in CHANNELS]
    coa, cob = (v.s.get("cohorts", {}) for v in views)
    cohorts = []
    for k in cohort_keys(coa):
        if k in cob:
            for what in ("arrested", "shot"):
                cohorts.append(_row(f"{cohort_name(k)} {what}", coa[k][what], cob[k][what]))
    record = []
    for v in views:  # the folders already open: not read again
        sc = against_record(RunData(v))["score"]
        record.append({"within_tolerance": sc["within_tolerance"], "targets": sc["targets"]})
    return {
        "runs": [{"dir": str(d), "scenario": v.s["scenario"], "seed": v.s["seed"],
                  "scale": v.s["scale"]} for d, v in zip((run_a, run_b), views)],
        "totals": totals, "channels": channels, "cohorts": cohorts, "record": record,
    }
