"""What every mechanism shares: its parameters, its switch, and a handle on the simulation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ..engine import Sim


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
