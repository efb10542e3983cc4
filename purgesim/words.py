"""The words a scenario's outputs are written in: the USSR's by default, a scenario's own where
its `[labels]` table says so (France: "guillotined", not "shot"; "prison", not "camp").

Only display text changes: the event, state and cause codes of the run folder and of
summary.json stay the same for every scenario, so that readers and tests need one vocabulary.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

#: every word a scenario may rename, with the USSR's word (what the outputs always said)
DEFAULTS: dict[str, str] = {
    # sentences and fates (events and final states of a person)
    "shot": "shot",
    "camp": "camp",
    "exile": "exile",
    "died": "died",
    "released": "released",
    # the same as measures and chart legends
    "death_sentences": "death sentences",
    "camp_sentences": "camp sentences",
    "limit_cat1": "cat. 1 (shoot)",
    "limit_cat2": "cat. 2 (camp)",
    # the mass arrests on regional limits (the USSR's operations, France's Law of Suspects)
    "mass_operations": "mass operations",
}

#: the keys allowed in a scenario's `[labels]` table
Key = Literal["shot", "camp", "exile", "died", "released", "death_sentences",
              "camp_sentences", "limit_cat1", "limit_cat2", "mass_operations"]


def merged(labels: Mapping[str, str] | None) -> dict[str, str]:
    """The defaults with a scenario's labels over them (unknown keys ignored, '' kept out)."""
    out = dict(DEFAULTS)
    for k, v in (labels or {}).items():
        if k in DEFAULTS and isinstance(v, str) and v.strip():
            out[k] = v
    return out


def event_word(event: str, labels: Mapping[str, str]) -> str:
    """An event or state code ('shot', 'investigation_closed') as display text."""
    return labels.get(event, event.replace("_", " ")) if event in DEFAULTS \
        else event.replace("_", " ")
