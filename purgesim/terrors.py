"""The two terrors side by side on a common clock (start of the mass phase = 0, its end = 1).

The source holds that revolutions follow the same pattern; this puts the statement to a
measure: share of the population arrested and executed, elite attrition, the share of each
channel, and how the purgers were purged, for a USSR run and a France run.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np

ELITE = {"USSR": "central_committee_1934", "France": "convention"}
POLICE = {"USSR": "state_security", "France": "revolutionary_committees"}


def _load(run_dir: Path) -> tuple[dict[str, Any], Any]:
    """The summary and the daily arrests and death sentences (refused: `FolderError`)."""
    from .runs import RunFolder

    run = RunFolder(run_dir)
    return run.summary, run.table("daily", columns=["date", "arrests", "shot"])


def measures(run_dir: Path) -> dict[str, Any]:
    s, daily = _load(run_dir)
    country = s.get("country", "USSR")
    represented = s["people"]["represented"]
    mp = s["mass_phase"]
    a, b = dt.date.fromisoformat(mp["start"]), dt.date.fromisoformat(mp["end"])
    dates = np.array(daily["date"].to_pylist(), dtype="datetime64[D]")
    arrests = daily["arrests"].to_numpy()
    shot = daily["shot"].to_numpy()
    span = max((b - a).days, 1)
    clock = (dates - np.datetime64(a)).astype(np.int64) / span
    inside = (clock >= 0) & (clock <= 1)
    elite = s["cohorts"].get(ELITE.get(country, ""), {})
    police = s["cohorts"].get(POLICE.get(country, ""), {})
    ch = s["channels"]
    return {
        "scenario": s["scenario"], "country": country, "seed": s["seed"], "scale": s["scale"],
        "mass_phase": mp, "days": span,
        "population": represented,
        "arrested_share_mass_phase": float(arrests[inside].sum()) / represented,
        "executed_share_mass_phase": float(shot[inside].sum()) / represented,
        "arrested_share_run": float(arrests.sum()) / represented,
        "executed_share_run": float(shot.sum()) / represented,
        "elite_cohort": ELITE.get(country), "elite_arrested_share":
            elite["arrested"] / elite["size"] if elite.get("size") else None,
        "elite_shot_share": elite["shot"] / elite["size"] if elite.get("size") else None,
        "police_cohort": POLICE.get(country), "police_arrested_share":
            police["arrested"] / police["size"] if police.get("size") else None,
        "channels": {k: v for k, v in ch.items()},
        "clock": clock.tolist(), "arrests_per_million_per_day":
            (arrests / represented * 1e6).tolist(),
    }


def figure(ms: list[dict[str, Any]], out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5))
    for m in ms:
        c = np.array(m["clock"])
        y = np.array(m["arrests_per_million_per_day"])
        k = 7  # weekly mean
        ys = np.convolve(y, np.ones(k) / k, mode="same")
        ax.plot(c, ys, label=f"{m['scenario']} ({m['mass_phase']['start']} → "
                             f"{m['mass_phase']['end']})")
    ax.axvspan(0, 1, color="0.9", zorder=0)
    ax.set_xlim(-0.5, 1.5)
    ax.set_xlabel("common clock: start of the mass phase = 0, its end = 1")
    ax.set_ylabel("arrests per million people per day (7-day mean)")
    ax.set_title("Two terrors on a common clock")
    ax.legend()
    fig.tight_layout()
    path = out / "terrors.png"
    tmp = out / ".terrors.png.tmp.png"
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)
    return path
