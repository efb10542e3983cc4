# %% [markdown]
# # Fitting a parameter
#
# A free parameter (marked `free` in `ps.params`) is one the record must decide.  This
# tutorial fits one of them by hand: a small grid over `quotas.pace` (the share of its
# unused limit a region arrests each day in a mass operation), run at a small scale, compared
# with a target of the historical record: the arrests of 1937.
#
# This is the idea of `purgesim calibrate` (ABC-SMC over all free parameters, several seeds,
# a larger scale) in a few lines; at scale 0.001 and one seed a value, the answer is rough.

# %%
import numpy as np

import purgesim as ps
from purgesim.history import by_id

p = ps.params("ussr-1937")
print(p[p["free"]][["value", "lo", "hi", "unit"]].head(10).to_string())
print(p.loc["quotas.pace", "meaning"])

# %% [markdown]
# The target: rows of the record with the role `target`.

# %%
record = by_id()
target = record["SU-Y1937-ARR"]
print(target.quantity, target.period_start, f"{target.value:,.0f}", "-", target.source[:80])

# %% [markdown]
# The grid: five values of `quotas.pace`, one seed each (the same seed: common random
# numbers make the curve smoother than independent runs would).  A `MultiSim` over parameter
# sets runs them.

# %%
values = [0.01, 0.02, 0.04, 0.08, 0.16]
ms = ps.MultiSim("ussr-1937", scale=0.001, seeds=[1],
                 pars=[{"quotas.pace": v} for v in values],
                 labels=[str(v) for v in values], workers=1).run()
arrests = ms.table()["yearly.1937.arrests"].droplevel("seed")
fit = arrests.to_frame("arrests 1937").assign(
    error=lambda d: d["arrests 1937"] / target.value - 1)
print(fit.to_string(formatters={"arrests 1937": "{:,.0f}".format, "error": "{:+.1%}".format}))

# %% [markdown]
# The best value of the grid, and a finer estimate where the simulated arrests cross the
# target (linear interpolation on a log scale of the parameter).

# %%
best = float(fit["error"].abs().idxmin())
x = np.log(values)
y = fit["arrests 1937"].to_numpy(dtype=float)
order = np.argsort(y)
estimate = float(np.exp(np.interp(target.value, y[order], x[order])))
print(f"best of the grid: {best}; interpolated: {estimate:.3f}; "
      f"the scenario's calibrated value: {p.loc['quotas.pace', 'value']}")

# %% [markdown]
# The scenario's own value was fitted to every target at once (arrests, convictions and
# death sentences of each year, the operations, the cohorts), by ABC-SMC over all free
# parameters with several seeds at a larger scale (docs/calibration.md): one target, one
# parameter and one seed at scale 0.001 lead elsewhere.  To do it properly, give each value
# several seeds (`seeds=5`) and weigh the spread as well as the median (`ms.summary()`).

# %%
import plotly.graph_objects as go

fig = go.Figure([go.Scatter(x=values, y=y, mode="lines+markers", name="simulated"),
                 go.Scatter(x=[values[0], values[-1]], y=[target.value] * 2, mode="lines",
                            name=f"record ({target.id})", line={"dash": "dot"})])
fig.update_layout(xaxis={"type": "log", "title": "quotas.pace"},
                  yaxis={"title": "arrests in 1937"}, title="A one-parameter fit")
fig
