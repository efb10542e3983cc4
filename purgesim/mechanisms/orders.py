"""(a) Orders from the top.

The leader names targets and stages show trials at set dates.  Inputs: the scenario's events
(show and closed trials with their defendants and pre-approved verdicts, arrests ordered by
name, campaigns against former oppositionists, chief changes, extra limits, the halt) and the
actions other mechanisms scheduled for today.  Outputs: arrests with cause ORDER, sentences
of show-trial defendants, changes of the interrogation intensity and vigilance pressure.
Invariant: only people at large or under suspicion are arrested; a defendant already dead is
not tried again.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import rng
from ..codes import TRAIT_OPPOSITION, Cause, Event, Post, State
from ..params import MechanismParams, P
from ..population import pick_in_regions
from .base import Mechanism as Base
from .base import Phase, Spec
from .contract import Engine

S = rng.Streams("orders", "opposition_count", "opposition_pick", "elite_opposition",
                "party_officials")

ACCUSE, ARREST = 1, 2


#: what the registry reads (purgesim.mechanisms): letter, place, phases of the day, states
SPEC = Spec(letter="a", position=10,
            phases=(Phase(10, "scenario events", "scripted_events"), Phase(30, "top-down orders")),
            states=(State.ABROAD, State.ARRESTED, State.AWAITING_TRIAL, State.CAMP, State.DIED,
                    State.FREE, State.RELEASED, State.SHOT, State.SUSPECT))


class Params(MechanismParams):
    campaign_scale: float = P(1.0, 0.0, 20.0, unit="x",
                              meaning="multiplies the scripted rates of the campaigns "
                                      "against former oppositionists", free=True)
    elite_factor: float = P(3.0, 0.0, 100.0, unit="x",
                            meaning="former oppositionists in the elite are targeted this "
                                    "many times more than in the mass")
    party_rate: float = P(0.0005, 0.0, 0.05, unit="1/official/day",
                          meaning="while a campaign runs, daily probability that the leader "
                                  "orders the arrest of a party or state official", free=True)


class Mechanism(Base):
    def __init__(self, sim: Engine, params: Params) -> None:
        super().__init__(sim, params)
        sc = sim.sc
        self.opposition_rate = 0.0  # share of former oppositionists ordered arrested per day
        self.by_day: dict[int, list[Any]] = {}
        for e in sc.events:
            self.by_day.setdefault(sc.day_of(e.date), []).append(e)
        pop = sim.pop
        heads = np.arange(pop.n_heads, dtype=np.int64) * pop.hsize
        self.opp_heads = heads[(pop.traits[heads] & TRAIT_OPPOSITION) != 0]
        party = np.isin(pop.e_post, [Post.POLITBURO, Post.CENTRAL_COMMITTEE, Post.DELEGATE,
                                     Post.COMMISSAR])
        self.party_heads = heads[party]
        self._n_opp: np.ndarray | None = None  # made on the first day (orders.step)
        self._region_ids = np.empty(0, dtype=np.int64)
        self.show_trials: list[dict[str, Any]] = []
        # defendants kept for a show trial to come are not sentenced before it
        self.reserved: dict[int, int] = {}
        if self.on:
            for e in sc.events:
                if e.kind in ("show_trial", "closed_trial"):
                    for n in e.defendants:
                        self.reserved[pop.names[n]] = sc.day_of(e.date)

    # ------------------------------------------------------------------ scripted events
    def scripted_events(self, day: int) -> None:
        sim = self.sim
        for person, kind, cause, by in sim.scheduled.pop(day, []):
            ids = np.array([person], dtype=np.int64)
            if kind == ACCUSE:
                sim.accuse(ids, Cause(cause), by)
            elif kind == ARREST:
                sim.arrest(ids, Cause(cause), by)
        for e in self.by_day.get(day, []):
            getattr(self, f"_event_{e.kind}")(e, day)

    def _ids(self, names: list[str]) -> np.ndarray:
        return np.array([self.sim.pop.names[n] for n in names], dtype=np.int64)

    def _event_note(self, e: Any, day: int) -> None:
        pass

    def _event_intensity(self, e: Any, day: int) -> None:
        if not self.sim.halted:
            self.sim.intensity = e.level

    def _event_vigilance(self, e: Any, day: int) -> None:
        if not self.sim.halted:
            self.sim.pressure = e.level

    def _event_opposition_campaign(self, e: Any, day: int) -> None:
        self.opposition_rate = e.rate

    def _event_tribunal(self, e: Any, day: int) -> None:
        """A new law for the tribunals (e.g. 22 Prairial: death or acquittal, no defence)."""
        self.sim.change_tribunal_law(e.settings)

    def _event_limits(self, e: Any, day: int) -> None:
        self.sim.raise_limits(e.operation, e.cat1, e.cat2)

    def _event_halt(self, e: Any, day: int) -> None:
        self.sim.order_halt(day)

    def _event_chief_change(self, e: Any, day: int) -> None:
        self.sim.replace_police_chief(self.sim.pop.names[e.new], day)

    def _event_arrest(self, e: Any, day: int) -> None:
        if self.on:
            self._lift_protection(self._ids(e.defendants))
            self.sim.arrest(self._ids(e.defendants), Cause.ORDER)

    def _lift_protection(self, ids: np.ndarray) -> None:
        """A scripted order names its target: the leader's protection no longer holds."""
        self.sim.protected = np.setdiff1d(self.sim.protected, ids)

    def _event_show_trial(self, e: Any, day: int) -> None:
        self._trial(e, day, public=True)

    def _event_closed_trial(self, e: Any, day: int) -> None:
        self._trial(e, day, public=False)

    def _trial(self, e: Any, day: int, public: bool) -> None:
        """Try the named defendants (and some anonymous old Bolsheviks) on pre-approved
        verdicts.  Defendants still at large are arrested by order first."""
        if not self.on:
            return
        sim = self.sim
        pop = sim.pop
        named = self._ids(e.defendants)
        for i in named.tolist():
            self.reserved.pop(i, None)
        anon = np.empty(0, dtype=np.int64)
        if e.anonymous:
            if e.anonymous_from.startswith("faction:"):
                pool = pop.factions.get(e.anonymous_from[8:], np.empty(0, dtype=np.int64))
            else:
                pool = pop.heads_with_post(Post[e.anonymous_from.upper()])
            pool = pool[~np.isin(pool, list(pop.names.values()))]
            st = pop.state[pool]
            ok = np.isin(st, [State.FREE, State.SUSPECT, State.ARRESTED,
                              State.AWAITING_TRIAL, State.RELEASED])
            anon = pool[ok][: e.anonymous]
        defendants = np.concatenate([named, anon])
        alive = ~np.isin(pop.state[defendants], [State.SHOT, State.DIED, State.ABROAD])
        defendants = defendants[alive]
        in_camp = defendants[pop.state[defendants] == State.CAMP]
        if in_camp.size:  # retried from prison (Zinoviev, Kamenev)
            sim.take_from_camp_for_trial(in_camp)
        self._lift_protection(defendants)
        sim.arrest(defendants, Cause.ORDER)
        death_named = set(e.defendants) if "*" in e.death else set(e.death)
        death = np.isin(defendants, self._ids(sorted(death_named & set(e.defendants))))
        death |= np.isin(defendants, anon[: e.anonymous_death])
        sim.sentence_now(defendants[death], "shot")
        sim.sentence_now(defendants[~death], "camp")
        self.show_trials.append({
            "label": e.label, "date": e.date.isoformat(), "public": public,
            "defendants": int(defendants.size), "death_sentences": int(death.sum()),
        })

    # ------------------------------------------------------------------ daily orders
    def step(self, day: int) -> None:
        """The campaign against former oppositionists (mass and elite)."""
        sim = self.sim
        rate = self.opposition_rate * self.p.campaign_scale
        if not self.on or rate <= 0 or sim.halted:
            return
        pop = sim.pop
        picked = []
        if self._n_opp is None:  # former oppositionists expected in each region
            sizes = np.diff(pop.region_start)
            party = np.array([rg.party_share for rg in sim.sc.regions], dtype=np.float64)
            opp = np.array([rg.opposition_share for rg in sim.sc.regions], dtype=np.float64)
            self._n_opp = sizes * party * opp
            self._region_ids = np.arange(pop.n_regions, dtype=np.int64)
        # the day's counts of all regions at once (the same draws as region by region)
        counts = rng.poissons_keyed(rate * self._n_opp, sim.seed, day, self._region_ids,
                                    S.opposition_count)
        if counts.any():
            picked.append(pick_in_regions(sim.seed, day, S.opposition_pick, counts, pop,
                                          TRAIT_OPPOSITION, TRAIT_OPPOSITION, 5000))
        heads = self.opp_heads
        u = sim.draws(heads, S.elite_opposition)
        picked.append(heads[u < rate * self.p.elite_factor])
        if self.p.party_rate > 0:
            heads = self.party_heads
            u = sim.draws(heads, S.party_officials)
            picked.append(heads[u < self.p.party_rate * self.p.campaign_scale])
        ids = np.concatenate(picked) if picked else np.empty(0, dtype=np.int64)
        sim.arrest(ids, Cause.ORDER)

    def summary(self) -> dict[str, Any]:
        return {"trials": self.show_trials}


__all__ = ["Params", "Mechanism", "Event"]
