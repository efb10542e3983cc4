"""Daily records: flows by channel, operation and region, and the stocks at the end of a day.

Every count is weighted by how many real people a simulated person stands for (1 in the
elite block, 1/scale in the mass block), so the series are full-population figures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .codes import Cause
from .kernels import njit

if TYPE_CHECKING:
    from .engine import Sim

N_CAUSES = len(Cause)
FLOWS = ("convictions", "shot", "camp", "exile", "acquitted", "releases", "camp_deaths",
         "confessions", "names")


@njit(cache=True)
def _add_arrests(by_cause: np.ndarray, by_op: np.ndarray, by_region: np.ndarray,
                 causes: np.ndarray, ops: np.ndarray, regions: np.ndarray,
                 w: np.ndarray) -> None:
    """The day's arrests added by cause, operation and region, one by one in order (as
    ``np.add.at`` did, so the sums are the same to the last bit), in one call."""
    for k in range(w.shape[0]):
        by_cause[causes[k]] += w[k]
    for k in range(w.shape[0]):
        if ops[k] >= 0:
            by_op[ops[k]] += w[k]
    for k in range(w.shape[0]):
        by_region[regions[k]] += w[k]


@njit(cache=True)
def _add_sentences(by_region: np.ndarray, by_op: np.ndarray, regions: np.ndarray,
                   ops: np.ndarray, w: np.ndarray) -> None:
    """The day's sentences added by region and, for cases of an operation, by operation,
    one by one in order (as the ``np.add.at`` calls it replaces did: the same sums to the
    last bit), in one call."""
    for k in range(w.shape[0]):
        by_region[regions[k]] += w[k]
    for k in range(w.shape[0]):
        if ops[k] >= 0:
            by_op[ops[k]] += w[k]


class Recorder:
    def __init__(self, sim: Sim) -> None:
        self.sim = sim
        D = sim.n_days
        R = sim.pop.n_regions
        O = max(len(sim.op_keys), 1)
        self.arrests = np.zeros((D, N_CAUSES))
        self.suspects = np.zeros((D, N_CAUSES))
        self.arrests_op = np.zeros((D, O))
        self.convictions_op = np.zeros((D, O))
        self.shot_op = np.zeros((D, O))
        self.arrests_region = np.zeros((D, R))
        self.convictions_region = np.zeros((D, R))
        self.shot_region = np.zeros((D, R))
        #: the troikas' sentences by day and region, and the sum of their lags from arrest
        #: (days, weighted): a month's mean lag is the ratio of the two sums over the month
        self.troika_region = np.zeros((D, R))
        self.troika_lag_region = np.zeros((D, R))
        #: the mass operations' limits by region at the end of each day, summed over the
        #: operations, by category (1, 2): granted (initial + petitions and increases so
        #: far) and used (troika sentences so far)
        self.limit_granted_region = np.zeros((D, R, 2))
        self.limit_used_region = np.zeros((D, R, 2))
        self.flow = {k: np.zeros(D) for k in FLOWS}
        self.custody = np.zeros(D)
        self.camp_population = np.zeros(D)  # the model's political prisoners (weighted)
        #: releases from camp by cause (TERM_END, REVIEW, HALT), and prisoners taken back
        #: from camp to be tried again
        self.camp_released = np.zeros((D, N_CAUSES))
        self.camp_retried = np.zeros(D)
        self._custody = 0.0
        from .codes import State
        from .population import people_in

        in_camp = people_in(sim.pop.state, int(State.CAMP))  # e.g. prisoners of 1935
        self._camp = float(sim.pop.weight(in_camp).sum())
        #: the camp stock's account: start + admissions - deaths - releases - retried
        self.camp_start = self._camp
        self._camp_in = self._camp_died = self._camp_out = 0.0

    def _w(self, ids: np.ndarray) -> np.ndarray:
        return self.sim.pop.weight(ids)

    def suspected(self, ids: np.ndarray, cause: int) -> None:
        self.suspects[self.sim.day, cause] += self._w(ids).sum()

    def suspected_weights(self, w: np.ndarray, cause: int) -> None:
        """`suspected` given the people's weights (`engine._suspect_rows` computed them)."""
        self.suspects[self.sim.day, cause] += w.sum()

    def arrested(self, ids: np.ndarray, causes: np.ndarray, ops: np.ndarray,
                 regions: np.ndarray | None = None) -> None:
        d = self.sim.day
        w = self._w(ids)
        if regions is None:
            regions = self.sim.pop.regions_of(ids)
        _add_arrests(self.arrests[d], self.arrests_op[d], self.arrests_region[d],
                     causes, ops, regions, w)
        self._custody += w.sum()

    def into_custody(self, w: np.ndarray) -> None:
        """People arrested (their weights `w`) join the custody count; their arrests were
        added by cause, operation and region with the event log (`engine._arrest_rows`)."""
        self._custody += w.sum()

    def sentenced(self, ids: np.ndarray, outcome: str, ops: np.ndarray) -> None:
        """outcome: shot, camp, exile or acquitted (released by the tribunal)."""
        d = self.sim.day
        w = self._w(ids)
        total = w.sum()
        self._custody -= total
        self.flow[outcome][d] += total
        if outcome == "acquitted":
            self.flow["releases"][d] += total
            return
        self.flow["convictions"][d] += total
        regions = self.sim.pop.regions_of(ids)
        ops = np.ascontiguousarray(ops, dtype=np.int64)  # one compiled specialisation
        _add_sentences(self.convictions_region[d], self.convictions_op[d], regions, ops, w)
        if outcome == "shot":
            _add_sentences(self.shot_region[d], self.shot_op[d], regions, ops, w)
        if outcome == "camp":
            self._camp += total
            self._camp_in += total

    def left_camp(self, ids: np.ndarray, died: bool, cause: int = Cause.NONE) -> None:
        """Prisoners who died in camp, or were released from it for `cause`."""
        total = self._w(ids).sum()
        self._camp -= total
        self.flow["camp_deaths" if died else "releases"][self.sim.day] += total
        if died:
            self._camp_died += total
        else:
            self._camp_out += total
            self.camp_released[self.sim.day, int(cause)] += total

    def left_camp_for_trial(self, ids: np.ndarray) -> None:
        """Prisoners taken from camp to be tried again (Zinoviev and Kamenev, 1936): they
        leave the camp count without a release or a death."""
        total = self._w(ids).sum()
        self._camp -= total
        self._camp_out += total
        self.camp_retried[self.sim.day] += total

    def released_from_custody(self, ids: np.ndarray) -> None:
        total = self._w(ids).sum()
        self._custody -= total
        self.flow["releases"][self.sim.day] += total

    def confessions(self, n_confessors: np.ndarray, n_names: int) -> None:
        d = self.sim.day
        self.flow["confessions"][d] += self._w(n_confessors).sum()
        self.flow["names"][d] += n_names

    def troika_sentenced(self, regions: np.ndarray, lags: np.ndarray, w: np.ndarray) -> None:
        """Cases sentenced by a troika today: their regions, lags from arrest (days) and
        weights."""
        d = self.sim.day
        np.add.at(self.troika_region[d], regions, w)
        np.add.at(self.troika_lag_region[d], regions, w * lags)

    def end_of_day(self, day: int) -> None:
        self.custody[day] = self._custody
        self.camp_population[day] = self._camp
        quotas = self.sim.mechs["quotas"]
        if quotas.limit.size:
            self.limit_granted_region[day] = quotas.limit.sum(axis=0)
            self.limit_used_region[day] = quotas.used.sum(axis=0)
