"""A person's story: every event of one person, who named him, whom he named (Covasim's
`story(uid)`), read from a finished run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .runfolder import FolderError
from .runs import RunFolder
from .words import event_word


class StoryError(Exception):
    pass


def _label(people: dict[int, dict[str, Any]], i: int) -> str:
    p = people.get(i)
    if p is None:
        return f"#{i}"
    if p["name"]:
        return f"{p['name']} (#{i})"
    return f"#{i} ({p['post'].replace('_', ' ')}, {p['region']})"


#: events that end a person's freedom or life: namings from then on cannot explain his arrest
ENDS = ("arrested", "shot", "died")


def story(run_dir: Path | RunFolder, who: str) -> dict[str, Any]:
    """The story of a person (a name or an id) of a run folder (a path, or one already open
    through `runs.RunFolder`: the dashboard's)."""
    refused = (FolderError, run_dir.error) if isinstance(run_dir, RunFolder) else FolderError
    try:
        run = run_dir if isinstance(run_dir, RunFolder) else RunFolder(run_dir)
        people_t = run.table("people", columns=[
            "person", "name", "post", "region", "cohorts", "final_state"]).to_pylist()
        ev = run.table("events", columns=[
            "person", "day", "date", "event", "cause", "by", "operation"]).to_pydict()
    except refused as e:
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
        n = int(run.summary["people"]["simulated"])  # validated: a positive number
        if pid < 0 or pid >= n:
            raise StoryError(f"person {who!r}: no such id; allowed: an id from 0 to "
                             f"{n - 1} or one of the names: "
                             f"{', '.join(sorted(p['name'] for p in people_t if p['name']))}")
    n = len(ev["person"])
    own, acts = [], []
    for k in range(n):
        row = {c: ev[c][k] for c in ev}
        if row["person"] == pid:
            own.append(row)
        elif row["by"] == pid:
            acts.append(row)

    words = run.words

    def line(r: dict[str, Any], subject: int) -> dict[str, Any]:
        return {"date": r["date"].isoformat(), "event": r["event"],
                "what": event_word(r["event"], words), "cause": r["cause"],
                "operation": r["operation"], "person": _label(people, subject),
                "by": _label(people, r["by"]) if r["by"] >= 0 else ""}

    final = people.get(pid, {}).get("final_state", "free")
    end = next((k for k, r in enumerate(own) if r["event"] in ENDS), len(own))
    dead_before = final == "died" and not any(r["event"] in ("shot", "died") for r in own)
    if dead_before:
        end = 0
    arrested = next((r["date"].isoformat() for r in own if r["event"] == "arrested"), None)

    def namings(rows: list[dict[str, Any]]) -> list[dict[str, str]]:
        return [{"by": _label(people, r["by"]), "date": r["date"].isoformat()}
                for r in rows if r["event"] == "named"]

    return {
        "person": _label(people, pid),
        "id": pid,
        "post": people.get(pid, {}).get("post", "unknown"),
        "cohorts": people.get(pid, {}).get("cohorts", ""),
        "final_state": final,
        "at_the_end": event_word(final, words),
        "arrested": arrested,
        "dead_before_run": dead_before,
        "events": [line(r, r["person"]) for r in own],
        # the namings that can explain his arrest, and those after it (or after his death)
        "named_by": namings(own[:end]),
        "named_after": namings(own[end:]),
        "named": sorted({_label(people, r["person"]) for r in acts if r["event"] == "named"}),
        "acts": [line(r, r["person"]) for r in acts],
        "labels": words,
    }


def named_text(s: dict[str, Any]) -> list[str]:
    """The story's namings as sentences with dates: before his arrest, and afterwards."""
    def join(rows: list[dict[str, str]]) -> str:
        return "; ".join(f"{r['by']} ({r['date']})" for r in rows)

    out = []
    if s["dead_before_run"]:
        if s["named_after"]:
            out.append("named after his death (before the run began): "
                       + join(s["named_after"]))
        return out
    when = f"his arrest on {s['arrested']}" if s["arrested"] else (
        "his death" if s["final_state"] in ("shot", "died") else "the end of the run")
    if s["named_by"]:
        out.append(f"named before {when}: " + join(s["named_by"]))
    if s["named_after"]:
        after = "after his arrest" if s["arrested"] else "after his death"
        out.append(f"named {after} (these cannot explain it): " + join(s["named_after"]))
    return out
