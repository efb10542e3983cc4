"""Sensitivity analysis: Morris elementary effects (SALib) of the free parameters on the targets.

The design is SALib's Morris sampler over the calibration priors (`purgesim.calibrate`: the
declared ranges, narrowed by the scenario's ``[calibration.prior]``, log10 for log priors).
Every run uses the same seed (common random numbers), so an elementary effect measures the
parameter, not the luck of the draw.  The response is each fitted target on log scale, so
``mu*`` is a (scaled) change of ln(quantity) over the prior range.

Outputs in the folder: ``design.csv`` (the runs: parameter values and the responses),
``morris.csv`` (``mu_star``, ``sigma`` and ``mu_star`` normalised per target), and
``sensitivity.png``, a heatmap of parameter x target (normalised ``mu*``).
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from .calibrate import (
    CalibrationError,
    atomic_write,
    local_cluster,
    make_config,
    read_quantity,
    simulate,
)


def _response(scenario: str, sets: list[str], values: dict[str, float], scale: float,
              seed: int, names: list[str]) -> list[float]:
    from .compare import RunData

    run = RunData(sim=simulate(scenario, sets, values, scale, seed))
    out = []
    for n in names:
        v = read_quantity(run, n)
        out.append(math.log(max(v, 1e-9)) if v is not None else float("nan"))
    return out


def run_sensitivity(scenario: str, out: Path, *, trajectories: int = 10,
                    scale: float | None = None, workers: int = 2, levels: int = 4,
                    seed: int = 1, params: list[str] | None = None,
                    sets: list[str] | None = None, targets: str | None = None,
                    quiet: bool = False, console: Any = None,
                    client: Any = None, force: bool = False) -> dict[str, Any]:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from SALib.analyze import morris as analyze
    from SALib.sample import morris as sample

    if levels < 2 or levels % 2:
        raise CalibrationError(f"--levels {levels}: allowed: an even integer >= 2")
    cfg = make_config(scenario, sets=sets or [], scale=scale, params=params, targets=targets)
    names = [o.id for o in cfg.obs]
    problem = {"num_vars": len(cfg.priors), "names": [p.name for p in cfg.priors],
               "bounds": [list(p.space) for p in cfg.priors]}
    X = sample.sample(problem, trajectories, num_levels=levels, seed=seed)
    from .runfolder import check_output, fresh_folder, write_marker

    out = check_output(out, force, "sensitivity")
    fresh_folder(out, force, "sensitivity")
    t0 = time.perf_counter()
    own = client is None
    if client is None:
        client = local_cluster(workers)
    try:
        from distributed import as_completed

        from .calibrate import _warm

        client.run(_warm)
        futs = {}
        for i, x in enumerate(X):
            values = {p.name: p.to_value(float(v)) for p, v in zip(cfg.priors, x)}
            f = client.submit(_response, cfg.scenario, cfg.sets, values, cfg.scale, seed,
                              names, pure=False)
            futs[f] = i
        Y = np.full((len(X), len(names)), np.nan)
        with Progress(TextColumn("[bold]Morris runs"), BarColumn(),
                      TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                      console=console, disable=quiet, transient=True) as bar:
            task = bar.add_task("runs", total=len(X))
            for f in as_completed(list(futs)):
                Y[futs[f]] = f.result()
                bar.advance(task)
    finally:
        if own:
            cluster = getattr(client, "cluster", None)
            client.close()
            if cluster is not None:
                cluster.close()
    seconds = time.perf_counter() - t0
    answered = np.isfinite(Y).any(axis=0)  # targets the scenario speaks to
    names = [n for n, ok in zip(names, answered) if ok]
    Y = Y[:, answered]
    mu_star = np.zeros((len(cfg.priors), len(names)))
    sigma = np.zeros_like(mu_star)
    for j in range(len(names)):
        y = Y[:, j]
        if not np.all(np.isfinite(y)):
            y = np.where(np.isfinite(y), y, np.nanmin(y) if np.isfinite(y).any() else 0.0)
        res = analyze.analyze(problem, X, y, num_levels=levels, print_to_console=False)
        mu_star[:, j] = res["mu_star"]
        sigma[:, j] = res["sigma"]
    norm = mu_star / np.maximum(mu_star.max(axis=0, keepdims=True), 1e-12)
    import pandas as pd

    design = pd.DataFrame(X, columns=[f"x:{n}" for n in problem["names"]])
    for j, n in enumerate(names):
        design[n] = Y[:, j]
    atomic_write(out / "design.csv", design.to_csv(index=False))
    rows = []
    for i, p in enumerate(problem["names"]):
        for j, n in enumerate(names):
            rows.append({"parameter": p, "target": n, "mu_star": float(mu_star[i, j]),
                         "sigma": float(sigma[i, j]), "normalised": float(norm[i, j])})
    atomic_write(out / "morris.csv", pd.DataFrame(rows).to_csv(index=False))
    heatmap(problem["names"], names, norm, out / "sensitivity.png",
            f"{Path(cfg.scenario).stem}: Morris mu* (normalised per target), "
            f"{trajectories} trajectories, scale {cfg.scale:g}")
    result = {"scenario": cfg.scenario, "scale": cfg.scale, "trajectories": trajectories,
              "levels": levels, "seed": seed, "runs": int(len(X)), "seconds": seconds,
              "params": problem["names"], "targets": names,
              "mu_star": mu_star.tolist(), "sigma": sigma.tolist(),
              "normalised": norm.tolist(),
              "overall": dict(zip(problem["names"], norm.mean(axis=1).tolist()))}
    atomic_write(out / "sensitivity.json", json.dumps(result, indent=1))
    write_marker(out, "sensitivity")
    return result


def heatmap(params: list[str], targets: list[str], norm: np.ndarray, path: Path,
            title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(0.32 * len(targets) + 3.5, 0.3 * len(params) + 2.2))
    im = ax.imshow(norm, aspect="auto", cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(len(targets)))
    ax.set_xticklabels(targets, rotation=90, fontsize=6)
    ax.set_yticks(range(len(params)))
    ax.set_yticklabels(params, fontsize=7)
    ax.set_title(title, fontsize=8)
    fig.colorbar(im, ax=ax, fraction=0.03, label="mu* / largest mu* of the target")
    fig.tight_layout()
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)


def print_table(r: dict[str, Any], console: Any) -> None:
    """Parameters by overall influence; for each, the targets it drives most."""
    from rich.table import Table

    norm = np.array(r["normalised"])
    order = np.argsort(-norm.mean(axis=1))
    t = Table(title=f"Morris sensitivity of {Path(r['scenario']).stem} (mu* normalised per "
                    "target; 1 = the strongest driver of that target)")
    t.add_column("parameter")
    t.add_column("mean", justify="right")
    t.add_column("targets it drives most (normalised mu*)", overflow="fold")
    for i in order:
        top = np.argsort(-norm[i])[:4]
        t.add_row(r["params"][i], f"{norm[i].mean():.2f}",
                  ", ".join(f"{r['targets'][j]} {norm[i, j]:.2f}" for j in top
                            if norm[i, j] > 0.05) or "-")
    console.print(t)
