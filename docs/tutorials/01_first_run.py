# %% [markdown]
# # A first run and its charts
#
# This tutorial runs the `toy` scenario (an invented country of a few thousand people, every
# mechanism of the purge machine switched on), reads its results as pandas DataFrames and
# draws the report's charts; then it runs the USSR 1936-1940 at a small scale and sets its
# yearly totals beside the historical record.
#
# It is a plain Python file in the "percent" format: each `# %%` starts a cell.  Run it with
# `python docs/tutorials/01_first_run.py`, or open it as a notebook with jupytext.  In a
# notebook a figure shows when it is the last expression of a cell; in a script call
# `fig.show()` to open it in a browser.

# %%
import tempfile
from pathlib import Path

import purgesim as ps
from purgesim.history import by_id

ps.scenarios()[["description", "start", "end", "scale"]]

# %% [markdown]
# ## The toy scenario
#
# `ps.Sim` takes a scenario's name (or the path of a .toml file), a scale (the share of the
# mass population simulated one by one), a seed and parameter overrides.  `run()` returns
# the Sim itself.

# %%
sim = ps.Sim("toy", seed=1).run()
sim

# %% [markdown]
# `sim.results` holds DataFrames.  `daily` has one row a day, a DatetimeIndex and integer
# counts of people: arrests by the channel that started them, sentences, releases, the
# people in custody and in camps.

# %%
daily = sim.results.daily
print(daily[["arrests", "arrests_confession", "arrests_quota", "shot", "custody"]]
      .resample("MS").agg({"arrests": "sum", "arrests_confession": "sum",
                           "arrests_quota": "sum", "shot": "sum", "custody": "last"}))

# %%
print(sim.results.yearly)
print(sim.results.cohorts)

# %% [markdown]
# `summary` is the run's summary.json as a dict: totals, shares of arrests by channel,
# cohorts, mass operations, the named people's fates, the naming cascade.

# %%
channels = sim.summary["channels"]
print({k: f"{100 * v:.1f}%" for k, v in channels.items()})
print("mean names per confession:", sim.summary["cascade"]["mean_names_per_confession"])

# %% [markdown]
# ## Charts
#
# `sim.plot()` gives every chart of the HTML report as a Plotly figure, by name;
# `sim.plot("daily")` one of them.

# %%
figs = sim.plot()
print(list(figs))
fig = sim.plot("daily")
fig

# %%
sim.plot("cohorts")

# %% [markdown]
# ## Saving and reading back
#
# `sim.save(folder)` writes the run folder `purgesim run` writes (it never replaces a folder
# unless `force=True`, and then only a purgesim run folder).  `ps.load_run(folder)` gives
# the same results, figures and stories; `purgesim report FOLDER` and the dashboard read it
# too.

# %%
folder = sim.save(Path(tempfile.mkdtemp()) / "toy-seed1")
run = ps.load_run(folder)
assert run.results.daily.equals(sim.results.daily)
assert run.summary == sim.summary
run

# %% [markdown]
# ## The USSR, 1936-1940, at a small scale
#
# At scale 0.002 one simulated person of the mass stands for 500 people (the elite, about
# 165,000 post-holders, is always simulated one by one).  The figures are full-population
# figures.  A small scale is noisier: see the ensembles of tutorial 2 for intervals.

# %%
ussr = ps.Sim("ussr-1937", scale=0.002, seed=1).run()
yearly = ussr.results.yearly[["arrests", "convictions", "death_sentences"]].copy()
record = by_id()
for col, key in (("arrests", "ARR"), ("convictions", "CONV"), ("death_sentences", "DEATH")):
    yearly[f"{col} (record)"] = [
        record[f"SU-Y{y}-{key}"].value if f"SU-Y{y}-{key}" in record else None
        for y in yearly.index]
print(yearly.to_string())

# %% [markdown]
# The report's charts of a USSR run draw the record on the same axes.

# %%
ussr.plot("yearly")

# %%
ussr.plot("operations")
