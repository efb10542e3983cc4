"""Build the synthetic society of a scenario: the elite block and the scaled mass population.

The elite block holds the cohorts at their real sizes (Central Committee, Congress delegates,
the army's command and officer corps, the state-security officers, old Bolsheviks, foreign
communists) and the named people of the source at their posts.  Each elite post-holder heads a
household of relatives.  The mass block holds each region's people, scaled.
"""

from __future__ import annotations

import math
import os

import numpy as np

from . import rng
from .codes import (
    NATION_SHIFT,
    TRAIT_OPPOSITION,
    TRAIT_PARTY,
    Cohort,
    Post,
    State,
)
from .population import Population, S, _fill_traits
from .scenario import NATION_KEYS, Scenario

_MASK63 = 0x7FFFFFFFFFFFFFFF
_TRAIT_STREAMS = np.array([S.trait_element, S.trait_party, S.trait_opposition, S.trait_nation],
                          dtype=np.int64)


class _Elite:
    """Accumulates elite heads (post-holders) and their units before arrays are made."""

    def __init__(self, n_regions: int) -> None:
        self.post: list[int] = []
        self.cohorts: list[int] = []
        self.superior: list[int] = []
        self.unit: list[int] = []
        self.region: list[int] = []
        self.unit_names: list[str] = []
        self.unit_lo: list[int] = []
        self.unit_hi: list[int] = []
        self.n_regions = n_regions

    def unit_open(self, name: str) -> int:
        self.unit_names.append(name)
        self.unit_lo.append(len(self.post))
        self.unit_hi.append(len(self.post))
        return len(self.unit_names) - 1

    def add(self, post: Post, cohorts: int, superior: int, unit: int, region: int) -> int:
        assert self.unit_hi[unit] == len(self.post), "units must be filled contiguously"
        self.post.append(int(post))
        self.cohorts.append(cohorts)
        self.superior.append(superior)
        self.unit.append(unit)
        self.region.append(region % self.n_regions)
        self.unit_hi[unit] += 1
        return len(self.post) - 1

    def add_many(self, k: int, post: Post, cohorts: int, superior: int, unit: int,
                 region: int) -> None:
        """`k` identical post-holders in one unit (the officer corps: 160,000 calls saved)."""
        assert self.unit_hi[unit] == len(self.post), "units must be filled contiguously"
        self.post.extend([int(post)] * k)
        self.cohorts.extend([cohorts] * k)
        self.superior.extend([superior] * k)
        self.unit.extend([unit] * k)
        self.region.extend([region % self.n_regions] * k)
        self.unit_hi[unit] += k


def _bit(*cs: Cohort) -> int:
    out = 0
    for c in cs:
        out |= 1 << int(c)
    return out


#: bytes of peak memory per simulated person, and the fixed part, for the whole `purgesim run`
#: (simulation, Parquet outputs and report.html), measured on ussr-1937 (docs/performance.md):
#: at scale 1, 162.7 million people, peak RSS 3.75 GiB (6.2 M events; 4.36 GiB with the 7.4 M
#: events of the uncalibrated defaults), 0.67 GiB at scale 0.1; rounded up to stay above all.
BYTES_PER_PERSON = 28
FIXED_BYTES = 600 * 2**20


def estimate_memory(sc: Scenario) -> int:
    """Peak memory a run of this scenario needs, estimated before anything is allocated."""
    n = sum(max(int(math.ceil(rg.population * sc.scale / sc.household_size))
                * sc.household_size, 2 * sc.household_size) for rg in sc.regions)
    co = sc.cohorts
    heads = (co.politburo + co.central_committee + co.congress + co.commissars
             + co.old_bolsheviks + co.foreign_communists + co.officers + co.state_security
             + len(sc.named))
    return FIXED_BYTES + BYTES_PER_PERSON * (n + heads * sc.household_size)


def available_memory() -> int | None:
    """MemAvailable from /proc/meminfo, capped by $PURGESIM_MEMORY_LIMIT (bytes) if set."""
    have = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    have = int(line.split()[1]) * 1024
    except OSError:
        pass
    limit = os.environ.get("PURGESIM_MEMORY_LIMIT")
    if limit and limit.isdigit():
        have = int(limit) if have is None else min(have, int(limit))
    return have


def check_memory(sc: Scenario) -> None:
    """Refuse a run that would not fit.  Runs under 1 GiB are never refused: their estimate is
    mostly the interpreter itself, already loaded, and refusing them on a busy machine would
    only be noise."""
    need = estimate_memory(sc)
    have = available_memory()
    if have is not None and need > have and need > 2**30:
        from .scenario import ScenarioError

        raise ScenarioError(
            f"field 'scale': value {sc.scale:g} is not allowed on this machine: the run needs "
            f"about {need / 2**30:.1f} GiB of memory and {have / 2**30:.1f} GiB is available; "
            "use a smaller scale")


def build_population(sc: Scenario) -> Population:
    R = len(sc.regions)
    H = sc.household_size
    co = sc.cohorts
    el = _Elite(R)
    named_at: dict[str, int] = {}  # name -> head index
    named = list(sc.named)

    def take(place: str) -> list[tuple[str, bool, bool]]:
        return [(n.name, n.first_government, n.central_committee) for n in named
                if n.place == place]

    extra_cc = sum(1 for n in named if n.central_committee and n.place not in
                   ("leader", "politburo", "central_committee"))
    CC = _bit(Cohort.CENTRAL_COMMITTEE_1934, Cohort.CONGRESS_17)
    FG = _bit(Cohort.FIRST_GOVERNMENT_1917)

    # --- party: Politburo (with the leader), Central Committee, Congress delegations
    u = el.unit_open("Politburo")
    leader_n = take("leader")
    pb_named = take("politburo")
    pb = []
    for i in range(co.politburo):
        post = Post.LEADER if i == 0 else Post.POLITBURO
        c = CC | _bit(Cohort.POLITBURO_1934)
        name = None
        if i == 0 and leader_n:
            name, fg, _ = leader_n[0]
            c |= FG if fg else 0
        elif i > 0 and i - 1 < len(pb_named):
            name, fg, _ = pb_named[i - 1]
            c |= FG if fg else 0
        g = el.add(post, c, -1 if i == 0 else 0, u, 0)
        pb.append(g)
        if name:
            named_at[name] = g
    u = el.unit_open("Central Committee")
    cc_named = take("central_committee")
    n_cc = max(co.central_committee - co.politburo - extra_cc, len(cc_named))
    cc = []
    for i in range(n_cc):
        c = CC
        name = None
        if i < len(cc_named):
            name, fg, _ = cc_named[i]
            c |= FG if fg else 0
        g = el.add(Post.CENTRAL_COMMITTEE, c, pb[1 + i % max(len(pb) - 1, 1)] if len(pb) > 1
                   else pb[0], u, i)
        cc.append(g)
        if name:
            named_at[name] = g
    n_del = max(co.congress - co.central_committee, 0)
    dl_named = take("delegate")
    faction_heads: dict[str, list[int]] = {}
    if sc.factions:
        # the assembly is organised by faction, not by region (the Convention)
        groups = [(f.name, f.size) for f in sc.factions]
        rest = n_del - sum(size for _, size in groups)
        if rest > 0:
            groups.append(("", rest))
        k = 0
        for fname, size in groups:
            u = el.unit_open(f"Faction {fname}" if fname else "Unaligned deputies")
            mine = [n for n in named if n.place == "delegate" and n.faction == fname]
            heads = faction_heads.setdefault(fname, [])
            for j in range(max(size, len(mine))):
                g = el.add(Post.DELEGATE, _bit(Cohort.CONGRESS_17), cc[k % len(cc)] if cc else 0,
                           u, k)
                heads.append(g)
                if j < len(mine):
                    named_at[mine[j].name] = g
                k += 1
    else:
        per = max(1, math.ceil(n_del / max(R, 1)))
        k = 0
        for r in range(R):
            if k >= n_del:
                break
            u = el.unit_open(f"Congress delegation {sc.regions[r].name}")
            for _ in range(min(per, n_del - k)):
                name = dl_named[k][0] if k < len(dl_named) else None
                g = el.add(Post.DELEGATE, _bit(Cohort.CONGRESS_17),
                           cc[k % len(cc)] if cc else 0, u, r)
                if name:
                    named_at[name] = g
                k += 1

    # --- the state: people's commissars and their deputies, under the Politburo
    u = el.unit_open("Council of People's Commissars")
    cm_named = take("commissar")
    for i in range(max(co.commissars, len(cm_named))):
        g = el.add(Post.COMMISSAR, 0, pb[i % len(pb)], u, 0)
        if i < len(cm_named):
            named_at[cm_named[i][0]] = g

    # --- old Bolsheviks (former oppositionists, the first government of 1917)
    u = el.unit_open("Old Bolsheviks")
    ob_named = take("old_bolshevik") + take("first_government")
    for i in range(max(co.old_bolsheviks, len(ob_named))):
        c = 0
        name = None
        if i < len(ob_named):
            name, fg, is_cc = ob_named[i]
            c |= (FG if fg else 0) | (CC if is_cc else 0)
        g = el.add(Post.OLD_BOLSHEVIK, c, -1, u, 0)
        if name:
            named_at[name] = g
    nt_named = take("notable")
    if nt_named:
        u = el.unit_open("Notables")
        for name, _, _ in nt_named:
            named_at[name] = el.add(Post.NOTABLE, 0, -1, u, 0)
    u = el.unit_open("Comintern")
    fc_named = take("foreign_communist")
    for i in range(max(co.foreign_communists, len(fc_named))):
        g = el.add(Post.FOREIGN_COMMUNIST, 0, -1, u, 0)
        if i < len(fc_named):
            named_at[fc_named[i][0]] = g

    # --- army: high command, divisions
    army_lo = len(el.post)
    OFF = _bit(Cohort.OFFICERS)
    u = el.unit_open("High command")
    ma_named = take("marshal")
    marshals = []
    for i in range(co.marshals):
        c = OFF | _bit(Cohort.MARSHALS)
        name = None
        if i < len(ma_named):
            name, fg, is_cc = ma_named[i]
            c |= CC if is_cc else 0
        g = el.add(Post.MARSHAL, c, pb[0] if i == 0 else -2, u, 0)
        marshals.append(g)
        if name:
            named_at[name] = g
    for g in marshals[1:]:
        el.superior[g] = marshals[0]
    ac_named = take("army_commander")
    armies = []
    for i in range(co.army_commanders):
        sup = marshals[1 + i % (len(marshals) - 1)] if len(marshals) > 1 else marshals[0]
        c = OFF | _bit(Cohort.ARMY_COMMANDERS)
        g = el.add(Post.ARMY_COMMANDER, c, sup, u, i)
        armies.append(g)
        if i < len(ac_named):
            named_at[ac_named[i][0]] = g
    n_div = co.corps_division_commanders
    n_plain = max(co.officers - co.marshals - co.army_commanders - n_div, 0)
    per_div = n_plain // n_div
    extra = n_plain - per_div * n_div
    for d in range(n_div):
        u = el.unit_open(f"Division {d + 1}")
        up = armies[d % len(armies)] if armies else marshals[d % len(marshals)]
        cmd = el.add(Post.CORPS_DIVISION_COMMANDER, OFF | _bit(Cohort.CORPS_DIVISION_COMMANDERS),
                     up, u, d)
        el.add_many(per_div + (1 if d < extra else 0), Post.OFFICER, OFF, cmd, u, d)

    # --- police: the chief and his central apparatus, the regional chiefs with their deputies
    # and heads of departments, the operational officers by region (levels: codes.POLICE_LEVELS)
    police_lo = len(el.post)
    SS = _bit(Cohort.STATE_SECURITY)
    u = el.unit_open("NKVD leadership")
    pc_named = take("police_chief")
    c = SS | (CC if pc_named and pc_named[0][2] else 0)
    chief = el.add(Post.POLICE_CHIEF, c, pb[0], u, 0)
    if pc_named:
        named_at[pc_named[0][0]] = chief
    reg_chiefs = [el.add(Post.POLICE_REGIONAL_CHIEF, SS, chief, u, r) for r in range(R)]
    n_central = co.police_central_apparatus
    n_deputies = co.police_regional_deputies
    n_off = max(co.state_security - 1 - R - n_central - n_deputies, R)
    given = [rg.police_officers for rg in sc.regions]
    if all(g is not None for g in given):
        alloc = np.array(given, dtype=np.int64)
    else:
        pops = np.array([rg.population for rg in sc.regions], dtype=np.float64)
        alloc = np.maximum(np.floor(n_off * pops / pops.sum()).astype(np.int64), 1)
        alloc[np.argmax(pops)] += max(n_off - int(alloc.sum()), 0)
    part = 0
    left = n_central  # the central apparatus sits in the capital (the first region)
    while left > 0:
        size = min(40, left)
        u = el.unit_open(f"NKVD central apparatus {part + 1}")
        el.add_many(size, Post.POLICE_CENTRAL, SS, chief, u, 0)
        left -= size
        part += 1
    if n_deputies:  # by region in proportion to its operational officers
        dep = np.floor(n_deputies * alloc / alloc.sum()).astype(np.int64)
        dep[np.argmax(alloc)] += n_deputies - int(dep.sum())
        for r in range(R):
            if dep[r]:
                u = el.unit_open(f"NKVD {sc.regions[r].name} leadership")
                el.add_many(int(dep[r]), Post.POLICE_REGIONAL_DEPUTY, SS, reg_chiefs[r], u, r)
    for r in range(R):
        left = int(alloc[r])
        part = 0
        while left > 0:
            size = min(40, left)
            u = el.unit_open(f"NKVD {sc.regions[r].name} {part + 1}")
            el.add_many(size, Post.POLICE_OFFICER, SS, reg_chiefs[r], u, r)
            left -= size
            part += 1

    missing = [n.name for n in named if n.name not in named_at]
    if missing:
        from .scenario import ScenarioError

        raise ScenarioError(f"field 'named': no free post for {', '.join(missing)}")

    # --- arrays
    n_heads = len(el.post)
    n_elite = n_heads * H
    sizes = [max(int(math.ceil(rg.population * sc.scale / H)) * H, 2 * H) for rg in sc.regions]
    region_start = np.zeros(R + 1, dtype=np.int64)
    region_start[0] = n_elite
    region_start[1:] = n_elite + np.cumsum(sizes)
    n = int(region_start[-1])
    state = np.zeros(n, dtype=np.uint8)
    traits = np.zeros(n, dtype=np.uint8)
    seed = int(sc.seed)
    for r, rg in enumerate(sc.regions):
        shares = np.array([rg.nationalities.get(k, 0.0) for k in NATION_KEYS])
        cum = np.cumsum(shares)
        if cum[-1] > 1:
            from .scenario import ScenarioError

            raise ScenarioError(
                f"field 'regions.{r}.nationalities': value {float(cum[-1]):.3f} is not "
                "allowed: shares must add up to at most 1")
        _fill_traits(traits, int(region_start[r]), int(region_start[r + 1]), seed, H,
                     rg.element_share, rg.party_share, rg.opposition_share, cum.astype(np.float64),
                     _TRAIT_STREAMS)
    e_post = np.array(el.post, dtype=np.uint8)
    party_posts = np.isin(e_post, [Post.LEADER, Post.POLITBURO, Post.CENTRAL_COMMITTEE,
                                   Post.DELEGATE, Post.OLD_BOLSHEVIK, Post.COMMISSAR])
    heads = np.arange(n_heads, dtype=np.int64) * H
    opp = rng.uniforms(seed, -1, heads, S.elite_opposition) < co.opposition_share_of_elite
    traits[heads[party_posts]] |= TRAIT_PARTY
    traits[heads[party_posts & opp]] |= TRAIT_OPPOSITION
    traits[heads[e_post == Post.OLD_BOLSHEVIK]] |= TRAIT_PARTY | TRAIT_OPPOSITION
    fc = heads[e_post == Post.FOREIGN_COMMUNIST]
    traits[fc] |= TRAIT_PARTY | (5 << NATION_SHIFT)
    key_work = np.array([int(rng.key(seed, -1, r, S.perm_work)) & _MASK63 for r in range(R)],
                        dtype=np.int64).astype(np.uint64)
    key_acq = np.array([[int(rng.key(seed, k, r, S.perm_acq)) & _MASK63
                         for k in range(sc.acquaintance_rings)] for r in range(R)],
                       dtype=np.int64).astype(np.uint64)
    pop = Population(
        seed=seed, scale=float(sc.scale), hsize=H, wsize=sc.workplace_size,
        rings=sc.acquaintance_rings, n_elite=n_elite,
        region_names=[rg.name for rg in sc.regions], region_start=region_start,
        state=state, traits=traits, e_post=e_post,
        e_cohorts=np.array(el.cohorts, dtype=np.uint16),
        e_superior=np.array(el.superior, dtype=np.int32),
        e_unit=np.array(el.unit, dtype=np.int32),
        e_region=np.array(el.region, dtype=np.uint8),
        unit_lo=np.array(el.unit_lo, dtype=np.int64), unit_hi=np.array(el.unit_hi, dtype=np.int64),
        unit_names=el.unit_names, key_work=key_work, key_acq=key_acq,
        branches=[("party and state", 0, army_lo), ("army", army_lo, police_lo),
                  ("police", police_lo, n_heads)],
    )
    for name, g in named_at.items():
        pop.names[name] = g * H
    for nm in named:
        if nm.faction:
            faction_heads.setdefault(nm.faction, [])
            if named_at[nm.name] not in faction_heads[nm.faction]:
                faction_heads[nm.faction].append(named_at[nm.name])
    pop.factions = {f: np.array(sorted(h), dtype=np.int64) * H
                    for f, h in faction_heads.items() if f}
    initial = {"free": State.FREE, "camp": State.CAMP, "died": State.DIED,
               "abroad": State.ABROAD}
    for nm in named:
        pop.state[pop.names[nm.name]] = initial[nm.state]
    return pop
