"""(f) The purgers become victims.

Police officers are people with ties like anyone else, so confessions name them (mechanism b)
and vigilance cases accuse them (d).  On top of that:

* **transformation**: a prisoner names his investigator too, with probability
  `transformation` per confession (the officer is drawn from the prisoner's region; the count
  is binomial over the real confessors the simulated ones stand for: it does not grow with
  the scale);
* **chief replacement**: when the police chief is replaced (Yagoda by Yezhov, Yezhov by Beria)
  his clients, the regional chiefs and the officers, come under suspicion over the following
  `client_window` days with probabilities `p_client_senior` and `p_client`; the outgoing
  chief himself is arrested after `old_chief_delay` days with probability `p_old_chief`.

Outputs: CHIEF_REPLACED events; suspicions and arrests with cause CHIEF_REPLACEMENT or
CONFESSION; the police chief's identity.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import rng
from ..codes import POLICE_STAFF, Cause, Event, Post, State
from ..params import MechanismParams, P
from .base import Mechanism as Base
from .base import Phase, Spec
from .contract import Engine
from .orders import ACCUSE, ARREST

S = rng.Streams("purgers", "client", "client_when", "old_chief", "transformation_count",
                "transformation_officer", "transformation_by")


#: what the registry reads (purgesim.mechanisms): letter, place, phases of the day, states
SPEC = Spec(letter="f", position=70,
            phases=(Phase(90, "purge of the purgers"),),
            states=(State.FREE, State.RELEASED, State.SUSPECT))


class Params(MechanismParams):
    transformation: float = P(0.01, 0.0, 1.0, unit="per confession",
                              meaning="probability that a confession also names the "
                                      "investigating officer", free=True)
    p_client_senior: float = P(0.3, 0.0, 1.0, unit="share",
                               meaning="regional chiefs put under suspicion when the chief is "
                                       "replaced")
    p_client: float = P(0.03, 0.0, 1.0, unit="share",
                        meaning="officers put under suspicion when the chief is replaced",
                        free=True)
    client_window: int = P(180, 1, 3650, unit="days",
                           meaning="period over which the new chief purges the old one's clients")
    p_old_chief: float = P(0.9, 0.0, 1.0, unit="share",
                           meaning="probability that the replaced chief is arrested")
    old_chief_delay: int = P(150, 0, 3650, unit="days",
                             meaning="days from replacement to the old chief's arrest")


class Mechanism(Base):
    def __init__(self, sim: Engine, params: Params) -> None:
        super().__init__(sim, params)
        pop = sim.pop
        chiefs = pop.heads_with_post(Post.POLICE_CHIEF)
        sim.police_chief = int(chiefs[0]) if chiefs.size else -1
        self.regional = pop.heads_with_post(Post.POLICE_REGIONAL_CHIEF)
        # the officers of every level below the regional chiefs (central apparatus, regional
        # deputies and heads of departments, operational staff) are clients alike
        self.officers = pop.heads_with_posts(tuple(p for p in POLICE_STAFF
                                                   if p != Post.POLICE_REGIONAL_CHIEF))
        self.chiefs: list[dict[str, Any]] = []
        if sim.police_chief >= 0:
            self.chiefs.append({"person": pop.label(sim.police_chief), "from": sim.date(0)})
        self.named_officers = 0

    def change_chief(self, new: int, day: int) -> None:
        """The scripted appointment of a new chief; skipped if he is no longer at large."""
        sim = self.sim
        if sim.pop.state[new] not in (State.FREE, State.RELEASED, State.SUSPECT):
            self.chiefs.append({"person": sim.pop.label(new), "from": None,
                                "skipped": f"{sim.date(day)}: not at large "
                                           f"({State(int(sim.pop.state[new])).name.lower()})"})
            return
        if sim.pop.state[new] == State.SUSPECT:  # the appointment clears him
            sim.clear_suspicion(new)
        old = sim.police_chief
        sim.police_chief = new
        if self.chiefs:
            self.chiefs[-1]["to"] = sim.date(day)
        self.chiefs.append({"person": sim.pop.label(new), "from": sim.date(day)})
        if old < 0:
            return
        sim.record(np.array([old], dtype=np.int64), Event.CHIEF_REPLACED, 0, new)
        if not self.on:
            return
        for group, p in ((self.regional, self.p.p_client_senior), (self.officers, self.p.p_client)):
            u = sim.draws(group, S.client)
            v = sim.draws(group, S.client_when)
            for person, when in zip(group[u < p].tolist(), (v[u < p] * self.p.client_window)):
                sim.schedule(day + 1 + int(when), person, ACCUSE, int(Cause.CHIEF_REPLACEMENT), old)
        if rng.uniform(sim.seed, day, old, S.old_chief) < self.p.p_old_chief:
            sim.schedule(day + self.p.old_chief_delay, old, ARREST,
                         int(Cause.CHIEF_REPLACEMENT), new)

    def step(self, day: int) -> None:
        """Transformation: today's confessors name their investigators.

        Each real confessor names his investigator with probability `transformation`.  A
        simulated confessor of the mass population stands for 1/scale real ones while the
        officers are not scaled, so the count of officers named in a region is binomial over
        the confessors' total weight there (the real confessors): the same expected number at
        every scale, and one Bernoulli draw per confessor at scale 1.  Each named officer is an
        officer of the region; the confessor who named him is drawn among the region's
        confessors in proportion to their weight."""
        if not self.on or self.p.transformation <= 0:
            return
        sim = self.sim
        confessors = sim.confessed_today()
        if confessors.size == 0:
            return
        pop = sim.pop
        regions = pop.regions_of(confessors)
        weights = pop.weight(confessors)
        total = np.bincount(regions, weights=weights, minlength=pop.n_regions)
        named, by = [], []
        for r in np.flatnonzero(total > 0).tolist():
            police = sim.police_of_region(r)
            if police.size == 0:
                continue
            k = rng.binomial_keyed(float(total[r]), self.p.transformation, sim.seed, day, r,
                                   S.transformation_count)
            if k == 0:
                continue
            mine = regions == r
            cum = np.cumsum(weights[mine])
            v = rng.uniforms_k(sim.seed, day, r, S.transformation_officer, k)
            u = rng.uniforms_k(sim.seed, day, r, S.transformation_by, k)
            named.append(police[(v * police.size).astype(np.int64)])
            pick = np.minimum(np.searchsorted(cum, u * cum[-1], side="right"), cum.size - 1)
            by.append(confessors[mine][pick])
        if named:
            n = np.concatenate(named)
            b = np.concatenate(by)
            sim.record(n, Event.NAMED, int(Cause.CONFESSION), b)
            self.named_officers += int(sim.accuse(n, Cause.CONFESSION, b).size)

    def summary(self) -> dict[str, Any]:
        return {"chiefs": self.chiefs, "officers_named_by_prisoners": self.named_officers}
