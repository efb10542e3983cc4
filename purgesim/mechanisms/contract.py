"""What a mechanism may use of the simulation: the engine's side of the contract.

A mechanism is typed against `Engine`, not against `purgesim.engine.Sim`: this module imports
nothing from the engine, and `tests/test_contract.py` checks both sides (every name a
mechanism module uses on its simulation is declared here, and the engine has all of them).
Effects on what another mechanism keeps go through the engine's services, named as a
historian would say them (Starsim's ``request_death`` and connectors are the model); no
mechanism reaches another through the engine's table of mechanisms.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Engine(Protocol):
    """The simulation as the mechanisms see it."""

    # ---- what is simulated, and when
    sc: Any  # the scenario (purgesim.scenario.Scenario): dates, regions, events, operations
    pop: Any  # the society (purgesim.population.Population): the per-person arrays
    rec: Any  # the daily records (purgesim.recorder.Recorder)
    seed: int
    day: int
    n_days: int
    op_keys: list[str]

    # ---- the climate of the day: shared state that scenario events and the halt set
    halted: bool
    halt_day: int
    intensity: float  # pressure on interrogators (confessions, b)
    pressure: float  # vigilance pressure on police officers (d)
    leader: int  # never arrested (-1 after a coup)
    police_chief: int  # not arrested while he holds the post (f)
    protected: np.ndarray  # sorted ids of the leader's inner circle
    endogenous: dict[str, Any]  # events the model produced (the halt, a coup), with dates

    # ---- the police's and the courts' tables, and the event log
    queue: Any  # suspects waiting for the police (purgesim.tables.Table)
    interrogation: Any  # arrested, under interrogation
    awaiting: Any  # investigation closed, waiting for trial
    log: Any  # the event log
    scheduled: dict[int, list[tuple[int, int, int, int]]]  # day -> actions for phase 1
    prev_arrested: np.ndarray  # yesterday's arrests
    prev_convicted: np.ndarray  # yesterday's convictions
    today_convicted: list[np.ndarray]

    # ---- shared actions
    def at_large(self, ids: np.ndarray) -> np.ndarray: ...
    def accuse(self, ids: np.ndarray, cause: Any, by: np.ndarray | int = -1) -> np.ndarray: ...
    def arrest(self, ids: np.ndarray, cause: Any, by: np.ndarray | int = -1,
               op: np.ndarray | int = -1) -> np.ndarray: ...
    def arrest_in_turn(self, groups: list[np.ndarray], cause: int,
                       op: int = -1) -> list[int]: ...
    def record(self, ids: np.ndarray, event: Any, cause: int | np.ndarray = 0,
               by: int | np.ndarray = -1, op: int | np.ndarray = -1,
               day: int | None = None) -> None: ...
    def schedule(self, day: int, person: int, kind: int, cause: int = 0,
                 by: int = -1) -> None: ...
    def draws(self, ids: np.ndarray, stream: int, day: int | None = None) -> np.ndarray: ...
    def state_count(self, members: np.ndarray, group: np.ndarray, n_groups: int,
                    counted: np.ndarray) -> Any: ...
    def clear_suspicion(self, person: int) -> None: ...
    def date(self, day: int | None = None) -> str: ...
    def arrested_today(self) -> np.ndarray: ...

    # ---- services between mechanisms
    def sentence_now(self, ids: np.ndarray, outcome: str) -> None: ...
    def send_to_trial(self, cases: np.ndarray, day: int) -> None: ...
    def admit_to_camp(self, ids: np.ndarray, years: int) -> None: ...
    def take_from_camp_for_trial(self, ids: np.ndarray) -> None: ...
    def release_from_custody(self, ids: np.ndarray, cause: Any) -> None: ...
    def mass_operation_running(self, day: int) -> bool: ...
    def operation_running(self, o: int, day: int) -> bool: ...
    def troika_categories(self, ops: np.ndarray, regions: np.ndarray, weights: np.ndarray,
                          u: np.ndarray) -> np.ndarray: ...
    def raise_limits(self, operation: str, cat1: float, cat2: float) -> None: ...
    def change_tribunal_law(self, settings: dict[str, Any]) -> None: ...
    def order_halt(self, day: int) -> None: ...
    def replace_police_chief(self, new: int, day: int) -> None: ...
    def reserved_for_show_trial(self) -> dict[int, int]: ...
    def confessed_today(self) -> np.ndarray: ...
    def police_of_region(self, region: int) -> np.ndarray: ...
    def death_rate_of_mass_phase(self) -> float: ...


#: the names of the contract (read by tests/test_contract.py)
NAMES: frozenset[str] = frozenset(
    n for n in (*Engine.__annotations__, *vars(Engine)) if not n.startswith("_"))
