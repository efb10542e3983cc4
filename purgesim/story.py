"""A person's story: every event of one person, who named him, whom he named (Covasim's
`story(uid)`), read from a finished run folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class StoryError(Exception):
    pass


def _label(people: dict[int, dict[str, Any]], i: int) -> str:
    p = people.get(i)
    if p is None:
        return f"#{i}"
    if p["name"]:
        return f"{p['name']} (#{i})"
    return f"#{i} ({p['post'].replace('_', ' ')}, {p['region']})"


def _population_size(run_dir: Path) -> int | None:
    """How many people the run simulated (from summary.json), if known."""
    try:
        return int(json.loads((run_dir / "summary.json").read_text())["people"]["simulated"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def story(run_dir: Path, who: str) -> dict[str, Any]:
    from .runfolder import FolderError, open_run, read_table

    run_dir = Path(run_dir)
    try:
        open_run(run_dir)
        people_t = read_table(run_dir, "people.parquet", columns=[
            "person", "name", "post", "region", "cohorts", "final_state"]).to_pylist()
        ev = read_table(run_dir, "events.parquet", columns=[
            "person", "day", "date", "event", "cause", "by", "operation"]).to_pydict()
    except FolderError as e:
        raise StoryError(str(e)) from None
    people = {int(p["person"]): p for p in people_t}
    by_name = {p["name"].lower(): int(p["person"]) for p in people_t if p["name"]}
    if who.lower() in by_name:
        pid = by_name[who.lower()]
    else:
        try:
            pid = int(who.lstrip("#"))
        except ValueError:
            raise StoryError(f"person {who!r}: unknown; allowed: an id or one of the names: "
                             f"{', '.join(sorted(p['name'] for p in people_t if p['name']))}"
                             ) from None
        n = _population_size(run_dir)
        if pid < 0 or (n is not None and pid >= n):
            raise StoryError(f"person {who!r}: no such id; allowed: an id from 0 to "
                             f"{'N-1' if n is None else n - 1} or one of the names: "
                             f"{', '.join(sorted(p['name'] for p in people_t if p['name']))}")
    n = len(ev["person"])
    own, acts = [], []
    for k in range(n):
        row = {c: ev[c][k] for c in ev}
        if row["person"] == pid:
            own.append(row)
        elif row["by"] == pid:
            acts.append(row)

    def line(r: dict[str, Any], subject: int) -> dict[str, Any]:
        return {"date": r["date"].isoformat(), "event": r["event"], "cause": r["cause"],
                "operation": r["operation"], "person": _label(people, subject),
                "by": _label(people, r["by"]) if r["by"] >= 0 else ""}

    return {
        "person": _label(people, pid),
        "id": pid,
        "post": people.get(pid, {}).get("post", "unknown"),
        "cohorts": people.get(pid, {}).get("cohorts", ""),
        "final_state": people.get(pid, {}).get("final_state", "free"),
        "events": [line(r, r["person"]) for r in own],
        "named_by": sorted({_label(people, r["by"]) for r in own if r["event"] == "named"}),
        "named": sorted({_label(people, r["person"]) for r in acts if r["event"] == "named"}),
        "acts": [line(r, r["person"]) for r in acts],
    }
