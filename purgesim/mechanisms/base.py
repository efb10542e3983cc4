"""What every mechanism shares: its declaration (`Spec`: letter, place among the scenario's
tables, phases of the day, states), its parameters, its switch, and a handle on the
simulation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..codes import State

if TYPE_CHECKING:
    from ..engine import Sim


@dataclass(frozen=True)
class Phase:
    """A step of the day a mechanism runs: its `name` in the printed plan, the `method` of
    the mechanism called with the day, and its `order` in the day (smaller runs first; the
    registry refuses two phases with the same order)."""

    order: int
    name: str
    method: str = "step"


@dataclass(frozen=True)
class Spec:
    """What a mechanism module declares, next to its `Params` and `Mechanism`, so that the
    registry (`purgesim.mechanisms`) builds the scenario's tables and the day's plan from it.

    `letter`: its letter in the design brief ("-" if none).  `position`: where its parameter
    table stands among the mechanisms (scenario fields, ``purgesim params``, the order the
    mechanisms are built in); unique.  `phases`: the steps of the day it runs.  `states`:
    the states it reads or sets itself (the engine's accuse and arrest, which every
    mechanism may call, are not counted)."""

    letter: str
    position: int
    phases: tuple[Phase, ...]
    states: tuple[State, ...] = ()


class Mechanism:
    """Subclasses document their inputs (what they read), outputs (what they change) and the
    invariants they keep, LASER-style, in their docstring."""

    def __init__(self, sim: Sim, params: Any) -> None:
        self.sim = sim
        self.p = params

    @property
    def on(self) -> bool:
        return bool(self.p.enabled)

    def step(self, day: int) -> None:  # pragma: no cover - overridden
        pass

    def summary(self) -> dict[str, Any]:
        return {}


def empty() -> np.ndarray:
    return np.empty(0, dtype=np.int64)
