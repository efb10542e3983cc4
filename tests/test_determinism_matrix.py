"""The determinism matrix, beyond tests/test_determinism.py (which runs toy with 1 and 2
numba threads, repeats it in one process and changes its seed):

* the historical scenario, ussr-1937 at a small scale, gives the same society and the same
  history with 1 and 2 numba threads (its mass is large enough for the parallel kernel that
  fills the traits to split the work), and another seed gives another history;
* the calibration's Dask path: the simulated targets of a fixed list of parameter sets are
  the same evaluated in this process, on 1 Dask worker and on 2 Dask workers (local worker
  processes, one thread each, as `purgesim calibrate` starts them).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pytest

from purgesim.engine import Sim
from purgesim.results import summary
from purgesim.scenario import load

pytestmark = pytest.mark.slow

USSR_SCALE = 0.001  # 162,000 people of the mass beside the elite block


def _fingerprint(sim: Sim) -> dict[str, Any]:
    return {"traits": sim.pop.traits.copy(), "state": sim.pop.state.copy(),
            "log": sim.log.rows.copy(), "arrests": sim.rec.arrests.copy(),
            "summary": json.dumps(summary(sim), sort_keys=True)}


def _run_with_threads(threads: int, seed: int = 1) -> dict[str, Any]:
    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        return _fingerprint(Sim(load("ussr-1937", scale=USSR_SCALE, seed=seed)).run())
    finally:
        numba.set_num_threads(before)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2,
                    reason="numba was started with a single thread (NUMBA_NUM_THREADS=1 or "
                           "one core)")
def test_ussr_1937_same_seed_same_history_with_one_or_two_threads() -> None:
    one, two = _run_with_threads(1), _run_with_threads(2)
    assert one["log"].size > 1000
    for key in one:
        if isinstance(one[key], np.ndarray):
            assert np.array_equal(one[key], two[key]), key
        else:
            assert one[key] == two[key], key
    other = _run_with_threads(2, seed=2)
    assert not np.array_equal(one["traits"], other["traits"])
    assert not np.array_equal(one["log"], other["log"])
    assert one["summary"] != other["summary"]


# =============================================================================================
# the calibration's Dask workers
# =============================================================================================

QUANTITIES = {"yearly.1937.arrests": 1500.0, "yearly.1937.death_sentences": 150.0,
              "cascade.confessions": 300.0, "police.officers_arrested": 5.0}


PARAMS = ["confession.hazard", "confession.p_work", "vigilance.act_base",
          "denunciation.rate"]


def _model(tmp_path: Path) -> tuple[Any, list[dict[str, float]]]:
    """The calibration's model of toy (what pyabc calls on the workers) and four parameter
    sets near toy's own values (far into the prior, a toy run can take ten times longer)."""
    calibrate = pytest.importorskip("purgesim.calibrate")
    for name in ("SimModel", "local_cluster", "make_config"):
        if not hasattr(calibrate, name):
            pytest.skip(f"purgesim.calibrate has no {name} (the Dask evaluation API changed)")
    targets = tmp_path / "targets.json"
    targets.write_text(json.dumps(QUANTITIES))
    cfg = calibrate.make_config("toy", targets=str(targets), scale=1.0, seed=5, params=PARAMS)
    model = calibrate.SimModel(cfg.scenario, cfg.sets, cfg.priors, cfg.obs, cfg.scale,
                               cfg.seed)
    points = [{p.name: p.to_space(min(max(p.default * f, p.lo), p.hi)) for p in cfg.priors}
              for f in (0.7, 0.9, 1.1, 1.3)]
    return model, points


def _evaluate_on_workers(model: Any, points: list[dict[str, float]],
                         n_workers: int) -> list[dict[str, float]]:
    from purgesim.calibrate import local_cluster

    client = local_cluster(n_workers)
    try:
        workers = sorted(client.scheduler_info()["workers"])
        assert len(workers) == n_workers
        futures = [client.submit(model, p, pure=False, workers=[workers[k % n_workers]])
                   for k, p in enumerate(points)]  # each worker gets its share
        return client.gather(futures)
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()


def _same(a: dict[str, float], b: dict[str, float]) -> bool:
    return a.keys() == b.keys() and all(
        a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in a)


def test_calibration_targets_identical_on_one_or_two_dask_workers(tmp_path: Path) -> None:
    model, points = _model(tmp_path)
    here = [model(dict(p)) for p in points]
    assert all(set(s) == set(QUANTITIES) for s in here)
    assert any(not _same(here[0], s) for s in here[1:]), "parameters changed nothing"
    one = _evaluate_on_workers(model, points, 1)
    two = _evaluate_on_workers(model, points, 2)
    for k, p in enumerate(points):
        assert _same(one[k], here[k]), (p, one[k], here[k])
        assert _same(two[k], here[k]), (p, two[k], here[k])
