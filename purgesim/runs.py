"""A finished run folder, read once: the one reader every consumer of run folders uses.

`RunFolder` validates a folder through `runfolder.open_run` (so a damaged folder is refused
with the same one line everywhere) and then gives each file of the run as a typed table,
read lazily and only once: the summary (a dict), the daily series (arrays with their dates),
the operations and regions (long tables split by name), the event log (columns), the people
(a mapping id -> row) and the scenario's words.  The charts (`purgesim.charts`), the
comparison with the record (`purgesim.compare`), a person's story (`purgesim.story`), the
terrors side by side (`purgesim.terrors`), the dashboard and the Python API read run folders
through it, so that a change of format is made in one place.

See docs/run-folder.md for the files themselves.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from .runfolder import FolderError, open_run, read_table
from .words import merged

#: one long table split by name: (names in order, measure -> name -> daily values)
Long = tuple[list[str], dict[str, dict[str, np.ndarray]]]


class RunFolder:
    """A finished run folder, opened once and read lazily, a file at a time.

    Every refusal is one line naming the file (`runfolder.FolderError`); a subclass may
    raise its own error class instead (`error`), as `charts.RunView` raises `ChartError`."""

    #: the exception a damaged folder or file is refused with (a one-line message)
    error: type[Exception] = FolderError

    def __init__(self, folder: Path | str) -> None:
        self.dir = Path(folder)
        try:
            #: summary.json, validated (the shape every reader relies on)
            self.summary: dict[str, Any] = open_run(self.dir)
        except FolderError as e:
            raise self.error(str(e)) from None
        labels = self.summary.get("labels")
        #: the run's words (France: "guillotined", "prison"); the USSR's by default
        self.words: dict[str, str] = merged(labels if isinstance(labels, dict) else None)

    # ------------------------------------------------------------------ raw tables
    def table(self, name: str, columns: list[str] | None = None,
              require: list[str] | None = None) -> Any:
        """A Parquet table of the run by its short name ('daily', 'events'), validated
        (`runfolder.read_table`: `columns` only, if given; `require`d columns checked)."""
        try:
            return read_table(self.dir, f"{name}.parquet", columns, require)
        except FolderError as e:
            raise self.error(str(e)) from None

    # ------------------------------------------------------------------ typed tables
    @cached_property
    def timing(self) -> dict[str, Any]:
        """timing.json (seconds by phase), or {} when the run has none or it is unreadable:
        timing is never a reason to refuse a run."""
        try:
            t = json.loads((self.dir / "timing.json").read_bytes())
        except (OSError, ValueError, RecursionError):
            return {}
        return t if isinstance(t, dict) else {}

    @cached_property
    def daily(self) -> dict[str, np.ndarray]:
        """daily.parquet by column; 'date' as ISO strings."""
        t = self.table("daily", require=["date", "arrests"])
        out = {c: t[c].to_numpy() for c in t.column_names if c != "date"}
        out["date"] = np.array([d.isoformat() for d in t["date"].to_pylist()])
        return out

    @cached_property
    def dates(self) -> list[str]:
        """The run's days as ISO strings."""
        return self.daily["date"].tolist()

    def _long(self, name: str, key: str) -> Long:
        """A long table (a row per day and name) as measure -> name -> daily values."""
        t = self.table(name, require=["date", key])
        keys = [str(k) for k in t[key].to_pylist()]
        names = list(dict.fromkeys(keys))
        n = len(names)
        out: dict[str, dict[str, np.ndarray]] = {}
        for col in t.column_names:
            if col in ("date", key):
                continue
            v = t[col].to_numpy().astype(float)
            if n and v.size % n == 0:
                v = v.reshape(-1, n)
                out[col] = {k: v[:, i] for i, k in enumerate(names)}
        return names, out

    @cached_property
    def operations(self) -> Long:
        """operations.parquet: (operations, measure -> operation -> daily values)."""
        return self._long("operations", "operation")

    @cached_property
    def regions(self) -> Long:
        """regions.parquet: (regions, measure -> region -> daily values)."""
        return self._long("regions", "region")

    @cached_property
    def events(self) -> dict[str, np.ndarray]:
        """The event log's columns person, by, day, event, cause."""
        t = self.table("events", require=["person", "by", "day", "event", "cause"])
        return {
            "person": t["person"].to_numpy(),
            "by": t["by"].to_numpy(),
            "day": t["day"].to_numpy(),
            "event": np.asarray(t["event"].to_numpy(zero_copy_only=False), dtype=object),
            "cause": np.asarray(t["cause"].to_numpy(zero_copy_only=False), dtype=object),
        }

    @cached_property
    def people(self) -> People:
        """people.parquet as a mapping id -> row."""
        return People(self.table("people", require=["person"]))

    @property
    def title(self) -> str:
        """'scenario — seed S, scale X', as the report and the dashboard head a run."""
        s = self.summary
        return f"{s['scenario']} — seed {s['seed']}, scale {s['scale']:g}"


class People(Mapping[int, dict[str, Any]]):
    """people.parquet as a mapping id -> row, read a row at a time when asked (a run at
    scale 1 lists millions of people; a report asks about a few hundred)."""

    def __init__(self, table: Any) -> None:
        self._t = table
        ids = table["person"].to_numpy()
        self._order = None
        if ids.size > 1 and not bool((ids[1:] > ids[:-1]).all()):  # written sorted; be safe
            self._order = np.argsort(ids, kind="stable")
            ids = ids[self._order]
        self._ids = ids

    def _row(self, pid: int) -> int:
        k = int(np.searchsorted(self._ids, pid))
        if k < self._ids.size and int(self._ids[k]) == pid:
            return k if self._order is None else int(self._order[k])
        return -1

    def __getitem__(self, pid: int) -> dict[str, Any]:
        k = self._row(int(pid))
        if k < 0:
            raise KeyError(pid)
        return self._t.slice(k, 1).to_pylist()[0]

    def __contains__(self, pid: object) -> bool:
        return isinstance(pid, int | np.integer) and self._row(int(pid)) >= 0

    def __iter__(self) -> Iterator[int]:
        return iter(self._ids.tolist())

    def __len__(self) -> int:
        return int(self._ids.size)

    def named(self) -> list[tuple[str, int]]:
        """(name, id) of the named people."""
        if "name" not in self._t.column_names:
            return []
        names = self._t["name"].to_pylist()
        ids = self._t["person"].to_numpy()
        return [(n, int(i)) for n, i in zip(names, ids.tolist()) if n]
