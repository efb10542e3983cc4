# %% [markdown]
# # A counterfactual with common random numbers
#
# What if the arrested had not named others under interrogation?  Switch the confession
# mechanism off (`pars={"confession.enabled": False}`, the `--set confession.enabled=false`
# of the command line) and run again with the same seed.
#
# purgesim draws every random number from a stream keyed by (seed, day, person, stream): two
# runs with the same seed share their draws wherever they do the same thing.  The difference
# between them is then the effect of the change, not of different luck ("common random
# numbers").

# %%
import purgesim as ps

base = ps.Sim("toy", seed=1).run()
off = ps.Sim("toy", seed=1, pars={"confession.enabled": False}).run()

# %%
cols = ["arrests", "convictions", "death_sentences"]
print("with confessions:\n", base.results.yearly[cols])
print("without confessions:\n", off.results.yearly[cols])

# %% [markdown]
# The same seed gives the same run, bit for bit: a rerun of the baseline is identical.

# %%
again = ps.Sim("toy", seed=1).run()
assert again.results.daily.equals(base.results.daily)

# %% [markdown]
# The arrests month by month, by channel: without confessions the naming channel is gone,
# and so are the arrests it fed (relatives and defenders of the arrested).

# %%
channels = ["arrests_confession", "arrests_quota", "arrests_relative", "arrests_defender",
            "arrests_routine"]
print((base.results.daily[channels].resample("MS").sum()
       - off.results.daily[channels].resample("MS").sum()).to_string())

# %% [markdown]
# ## Several seeds: an ensemble
#
# One seed is one possible history.  `ps.MultiSim` runs every parameter set with every seed
# (here 4 seeds, the same for both sets) and gives medians and 5-95% intervals.  `workers`
# runs that many processes at once (in a script, as this one, put a parallel ensemble under
# `if __name__ == "__main__":`; in a notebook it needs nothing).

# %%
ms = ps.MultiSim("toy", seeds=4, pars=[{}, {"confession.enabled": False}],
                 labels=["baseline", "no confessions"], workers=1).run()
s = ms.summary()
print(s.loc[(slice(None), ["yearly.1937.arrests", "yearly.1937.death_sentences"]), :])

# %% [markdown]
# Because the two sets share their seeds, the effect can be measured seed by seed (a paired
# comparison); its spread is that of the effect alone.

# %%
t = ms.table()["yearly.1937.arrests"].unstack("set")
effect = t["baseline"] - t["no confessions"]
print(t.assign(effect=effect))
print(f"arrests caused by the naming: median {effect.median():,.0f} "
      f"(range {effect.min():,.0f} to {effect.max():,.0f} over {len(effect)} seeds)")

# %%
ms.plot("daily", columns=["arrests"])

# %%
ms.plot("yearly")

# %% [markdown]
# ## The same question for the USSR
#
# At scale 0.002 (one simulated person of the mass for 500), one seed each.  A negative
# difference is a figure the confessions lowered: without them the quota operations still
# fill their limits, with other people, and the NKVD's own officers survive longer.

# %%
u_base = ps.Sim("ussr-1937", scale=0.002, seed=1).run()
u_off = ps.Sim("ussr-1937", scale=0.002, seed=1, pars={"confession.enabled": False}).run()
print((u_base.results.yearly[cols] - u_off.results.yearly[cols])
      .rename(columns=lambda c: f"{c} caused by confessions"))
