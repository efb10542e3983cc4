"""(b) Forced confession: interrogation until the prisoner signs, and the names he gives.

Each day under interrogation a prisoner confesses with probability
``1 - exp(-hazard * intensity)``; `intensity` is the pressure on interrogators, raised when
"physical methods" are sanctioned and lowered after the halt (scenario events).  After
`max_days` without a confession the investigation closes without one.  A confession names
accomplices among the prisoner's real ties: each family member, colleague, acquaintance and
the superior is named independently with probability ``p_<tie> * intensity`` (times
`elite_factor` for the elite, since the investigator needs an "organisation" with a leader).
Named people at large become suspects with cause CONFESSION, by = the confessor.

With every other mechanism off and arrests certain, this is a branching process on the tie
graph: each tie transmits with probability p, the threshold is bond percolation (tests).

Inputs: the interrogation table.  Outputs: CONFESSED, NAMED and INVESTIGATION_CLOSED events;
suspicions; cases moved to the trial queue.  Invariant: only prisoners under interrogation
confess; every name comes from a real tie.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from .. import rng
from ..codes import Cause, Event, State
from ..kernels import njit
from ..params import MechanismParams, P
from ..population import sample_named, sample_ties
from .base import Mechanism as Base
from .base import Phase, Spec
from .contract import Engine

S = rng.Streams("confession", "confess", "name")

#: what becomes of a prisoner under interrogation today (`_interrogation_day`)
GOES_ON, CONFESSES, CLOSED = 0, 1, 2
_NO_DRAWS = np.zeros(0)


@njit(cache=True)
def _interrogation_day(rows: np.ndarray, u: np.ndarray, h: float, day: int,
                       max_days: int) -> np.ndarray:
    """Each prisoner's day, in one pass instead of the NumPy calls it replaces: from the day
    after his arrest he CONFESSES if his draw `u` is below `h` (no draws: nobody confesses),
    and his investigation is CLOSED after `max_days` without a confession.  `rows` is the
    interrogation table (engine.CASE_DTYPE)."""
    n = rows.shape[0]
    fate = np.zeros(n, dtype=np.int8)
    draws = u.shape[0] > 0
    for k in range(n):
        d = np.int64(rows[k].day)
        if d >= day:
            continue
        if draws and u[k] < h:
            fate[k] = CONFESSES
        elif day - d >= max_days:
            fate[k] = CLOSED
    return fate


#: what the registry reads (purgesim.mechanisms): letter, place, phases of the day, states
SPEC = Spec(letter="b", position=60,
            phases=(Phase(80, "interrogation and naming"),),
            states=(State.AWAITING_TRIAL,))


class Params(MechanismParams):
    hazard: float = P(0.35, 0.0, 20.0, unit="1/day",
                      meaning="daily confession hazard at intensity 1", free=True)
    max_days: int = P(30, 1, 3650, unit="days",
                      meaning="an investigation without confession closes after this time")
    p_family: float = P(0.02, 0.0, 1.0, unit="per tie",
                        meaning="probability of naming each family member")
    p_work: float = P(0.03, 0.0, 1.0, unit="per tie",
                      meaning="probability of naming each colleague", free=True)
    p_acquaintance: float = P(0.03, 0.0, 1.0, unit="per tie",
                              meaning="probability of naming each acquaintance", free=True)
    p_superior: float = P(0.08, 0.0, 1.0, unit="per tie",
                          meaning="probability of naming one's superior")
    elite_factor: float = P(1.0, 0.0, 50.0, unit="x",
                            meaning="naming multiplier for confessions of elite prisoners",
                            free=True)
    naming: Literal["per_tie", "overdispersed"] = P(
        "per_tie", unit="", meaning="how a confession's names are drawn: 'per_tie', each tie "
        "independently with p_<tie>; 'overdispersed', first how many (negative binomial of "
        "mean names_mean and dispersion names_dispersion) then whom, among the ties, in "
        "proportion to p_<tie>")
    names_mean: float = P(2.0, 0.0, 100.0, unit="names/confession",
                          meaning="mean names per confession at intensity 1 ('overdispersed' "
                                  "naming; times the quota and elite factors)")
    names_dispersion: float = P(0.93, 0.01, 1000.0, unit="size",
                                meaning="negative binomial dispersion of the names per "
                                        "confession ('overdispersed' naming): variance = mean "
                                        "+ mean^2 / size; small = a few confessions name many. "
                                        "ASSUMPTION: 0.93, the shape of the Giaveno trial of "
                                        "1335 (moments fit; Estevez et al., PNAS Nexus 2024)")
    quota_factor: float = P(0.1, 0.0, 10.0, unit="x",
                            meaning="naming multiplier for prisoners of mass operations, whose "
                                    "cases took the troikas' simplified procedure", free=True)


class Mechanism(Base):
    def __init__(self, sim: Engine, params: Params) -> None:
        super().__init__(sim, params)
        self.confessions = 0.0
        self.names_given = 0.0
        self.today_confessors = np.empty(0, dtype=np.int64)

    def p_kind(self) -> np.ndarray:
        k = self.sim.intensity
        return np.array([self.p.p_family, self.p.p_work, self.p.p_acquaintance,
                         self.p.p_superior], dtype=np.float64) * k

    def step(self, day: int) -> None:
        sim = self.sim
        pop = sim.pop
        self.today_confessors = np.empty(0, dtype=np.int64)
        t = sim.interrogation
        if t.n == 0:
            return
        rows = t.rows
        if self.on:
            h = 1.0 - np.exp(-self.p.hazard * sim.intensity)
            u = sim.draws(rows["person"], S.confess)
        else:
            h, u = 0.0, _NO_DRAWS
        fate = _interrogation_day(rows, u, float(h), day, self.p.max_days)
        done = fate != GOES_ON
        if not done.any():
            return
        moving = rows[done]  # (a copy)
        moving["confessed"] = fate[done] == CONFESSES
        t.keep(~done)
        confessed = moving["confessed"] == 1
        confessors = moving["person"][confessed]
        factor = np.where(moving["op"][confessed] >= 0, self.p.quota_factor, 1.0)
        sim.record(moving["person"][moving["confessed"] == 0], Event.INVESTIGATION_CLOSED)
        pop.state[moving["person"]] = State.AWAITING_TRIAL
        sim.send_to_trial(moving, day)
        if confessors.size == 0:
            return
        sim.record(confessors, Event.CONFESSED)
        self.today_confessors = confessors
        if self.p.naming == "overdispersed":
            # how many names first (negative binomial), then whom among his ties
            named, by, _, _ = sample_named(
                confessors, factor, self.p.names_mean * sim.intensity,
                self.p.names_dispersion, self.p_kind(), self.p.elite_factor, sim.seed, day,
                S.name, pop.geo, pop.region_start, pop.key_work, pop.key_acq, pop.e_superior,
                pop.e_unit, pop.unit_lo, pop.unit_hi, pop.sub_lo,
                pop.sub_ids)
        else:
            # each tie named independently, drawn per (confessor, tie); only the ties drawn
            # are looked up (population.sample_ties)
            named, by, _ = sample_ties(
                confessors, factor, self.p_kind(), self.p.elite_factor, sim.seed, day, S.name,
                pop.geo, pop.region_start, pop.key_work, pop.key_acq, pop.e_superior,
                pop.e_unit, pop.unit_lo, pop.unit_hi, pop.sub_lo,
                pop.sub_ids)
        self.confessions += float(pop.weight(confessors).sum())
        names_w = float(pop.weight(by).sum())
        self.names_given += names_w
        sim.rec.confessions(confessors, names_w)
        sim.record(named, Event.NAMED, int(Cause.CONFESSION), by)
        sim.accuse(named, Cause.CONFESSION, by)

    def summary(self) -> dict[str, Any]:
        mean = self.names_given / self.confessions if self.confessions else 0.0
        return {"confessions": self.confessions, "names": self.names_given,
                "mean_names_per_confession": mean}
