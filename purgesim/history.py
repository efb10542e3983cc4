"""The historical record shipped with purgesim: one row per figure, each with its source.

Roles: `target` (what a calibrated scenario must reproduce), `input` (what scenarios are
built from), `event` (dates), `claim` (the source article's own figures, some wrong) and
`context` (contested or popular estimates).  Claims and context are never fitted.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

RECORD = Path(__file__).parent / "data" / "history-record.csv"
ROLES = ("target", "input", "event", "claim", "context")


@dataclass(frozen=True)
class Row:
    id: str
    country: str
    topic: str
    quantity: str
    period_start: str
    period_end: str
    value: float | None
    value_low: float | None
    value_high: float | None
    unit: str
    role: str
    reliability: str
    source: str
    notes: str

    @property
    def low(self) -> float | None:
        return self.value_low if self.value_low is not None else self.value

    @property
    def high(self) -> float | None:
        return self.value_high if self.value_high is not None else self.value


def _num(text: str) -> float | None:
    text = text.strip().replace(",", "")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


@lru_cache(maxsize=1)
def load() -> tuple[Row, ...]:
    with RECORD.open(newline="", encoding="utf-8") as f:
        rows = []
        for r in csv.DictReader(f):
            rows.append(Row(
                id=r["id"], country=r["country"], topic=r["topic"], quantity=r["quantity"],
                period_start=r["period_start"], period_end=r["period_end"],
                value=_num(r["value"]), value_low=_num(r["value_low"]),
                value_high=_num(r["value_high"]), unit=r["unit"], role=r["role"],
                reliability=r["reliability"], source=r["source"], notes=r["notes"],
            ))
    return tuple(rows)


def by_id() -> dict[str, Row]:
    return {r.id: r for r in load()}


def select(country: str | None = None, topic: str | None = None,
           role: str | None = None) -> list[Row]:
    out = []
    for r in load():
        if country and r.country.lower() != country.lower():
            continue
        if topic and topic.lower() not in r.topic.lower():
            continue
        if role and r.role != role:
            continue
        out.append(r)
    return out
