# %% [markdown]
# # A person's story and the naming graph
#
# Every arrest, confession, naming and sentence is in the run's event log.  This tutorial
# follows one person (Bukharin, in a run of the USSR 1936-1940), shows who named him and
# whom he named, and draws the naming graph around him and the largest naming cascade.

# %%
import purgesim as ps

sim = ps.Sim("ussr-1937", scale=0.002, seed=1).run()
print(sim.results.named[["fate", "date", "real_fate"]].head(12).to_string())

# %% [markdown]
# ## One story
#
# `sim.story(name)` takes a name of the scenario's named people or a person's id.

# %%
story = sim.story("Bukharin")
print(story["person"], "-", story["post"], "-", story["final_state"])
for e in story["events"]:
    print(e["date"], e["event"], e["cause"], e["by"])

# %% [markdown]
# "Named by" lists everyone who named him in a confession, at any time of the run.  Only
# the namings before his arrest can explain it; the later ones are confessions that added his
# name to their own.

# %%
ev = sim.results.events
pid = story["id"]
arrested = ev[(ev.person == pid) & (ev.event == "arrested")]["date"].min()
named = ev[(ev.person == pid) & (ev.event == "named")]
people = sim.results.people
named = named.assign(by_whom=[people.loc[b, "name"] or f"#{b}" for b in named["by"]],
                     before_arrest=named["date"] < arrested)
print(f"arrested {arrested.date()}")
print(named[["date", "by_whom", "before_arrest"]].to_string(index=False))

# %%
sim.plot_story("Bukharin")

# %% [markdown]
# ## The naming graph
#
# `plot_network` draws who named whom around a person (here up to two steps away); the
# report's "largest naming cascade" follows the arrests caused by confessions from one root.

# %%
sim.plot_network("Bukharin", radius=2)

# %%
sim.plot("cascade")

# %% [markdown]
# ## Anyone, not only the famous
#
# The event log holds every person arrested.  The longest chain of confessions, and the
# person at its end:

# %%
arrests = ev[(ev.event == "arrested") & (ev.cause == "confession")]
print(f"{len(arrests):,} arrests (simulated people) started by a confession; the deepest "
      f"chain is {sim.summary['cascade']['deepest_chain']} confessions long")
someone = int(arrests.iloc[len(arrests) // 2]["person"])
s = sim.story(someone)
print(s["person"], "- final state:", s["final_state"], "- arrested:", s["arrested"],
      "- named before his arrest:", [(n["by"], n["date"]) for n in s["named_by"][:3]])

# %%
sim.find_people("Tukh")
