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
    BRANCH_SHIFT,
    NATION_SHIFT,
    TRAIT_OPPOSITION,
    TRAIT_PARTY,
    Branch,
    Cohort,
    Post,
    Rank,
    State,
)
from .population import MAX_SPAN, Population, S, _fill_traits
from .scenario import NATION_KEYS, Cohorts, Scenario

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
        self.rank: dict[int, int] = {}  # head -> army rank group | branch << 4 (army only)
        self.rank_runs: list[tuple[int, int, int]] = []  # (lo, hi, code) of add_many runs
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
                 region: int, rank: int = 0) -> None:
        """`k` identical post-holders in one unit (the officer corps: 160,000 calls saved)."""
        assert self.unit_hi[unit] == len(self.post), "units must be filled contiguously"
        if rank and k > 0:
            self.rank_runs.append((len(self.post), len(self.post) + k, rank))
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


def _ranks(el: _Elite) -> np.ndarray:
    out = np.zeros(len(el.post), dtype=np.uint8)
    for g, code in el.rank.items():
        out[g] = code
    for lo, hi, code in el.rank_runs:
        out[lo:hi] = code
    return out


def _round_robin(n_child: int, n_parent: int) -> np.ndarray:
    """How many of `n_child` children each of `n_parent` parents gets when child j goes to
    parent j % n_parent."""
    if n_parent == 0:
        return np.zeros(0, dtype=np.int64)
    return np.array([n_child // n_parent + (1 if p < n_child % n_parent else 0)
                     for p in range(n_parent)], dtype=np.int64)


def army_sizes(co: Cohorts) -> dict[Rank, int]:
    """The size of each rank group of the army (`Rank`) from the scenario's cohorts: the
    rank groups below the corps and division commanders are given, the rest of the officer
    corps is the command staff."""
    ac1 = co.army_commanders_1st_rank
    ac1 = co.army_commanders // 3 if ac1 is None else ac1
    kk = co.corps_commanders
    kk = co.corps_division_commanders // 4 if kk is None else kk
    sizes = {
        Rank.MARSHAL: co.marshals,
        Rank.ARMY_COMMANDER_1: ac1,
        Rank.ARMY_COMMANDER_2: co.army_commanders - ac1,
        Rank.CORPS_COMMANDER: kk,
        Rank.DIVISION_COMMANDER: co.corps_division_commanders - kk,
        Rank.BRIGADE_COMMANDER: co.brigade_commanders,
        Rank.REGIMENT_COMMANDER: co.regiment_commanders,
        Rank.POLITICAL: co.political_officers,
    }
    sizes[Rank.COMMAND_STAFF] = co.officers - sum(sizes.values())
    return sizes


def build_army(el: _Elite, co: Cohorts, leader: int, ma_named: list, ac_named: list,
               named_at: dict[str, int], CC: int) -> None:
    """The army's chain of command.  The marshals and the army commanders (1st rank first)
    form the high command: the first marshal (the people's commissar of defence) answers to
    the leader, the other marshals to him, the army commanders to them in turn.  Below, each
    level answers to the one above in turn (corps to army commanders, divisions to corps,
    brigades to divisions, regiments to brigades; an empty level is skipped), and each
    commander from army commander down heads a unit of his own: himself and his staff,
    the rest of the command staff and the political officers, shared so that every chief
    has about as many direct subordinates (about 60 in ussr-1937; `population.MAX_SPAN` at
    most for the tie to be symmetric).  Commanders, not staff officers, are the superiors:
    the posts a rival denounces his chief for (mechanism c counts denunciations per
    superior), as the division commanders were before issue 16.  The last
    `navy_commands` army commanders' formations are the navy's, the
    `air_force_commands` before them the air force's; everyone under them belongs to that branch.

    ASSUMPTION (structure): a tree in turn, not the real order of battle; staffs of equal
    size at every level; the political officers spread over the staffs in proportion."""
    OFF = _bit(Cohort.OFFICERS)
    sizes = army_sizes(co)
    u = el.unit_open("High command")
    marshals = []
    for i in range(co.marshals):
        c = OFF | _bit(Cohort.MARSHALS)
        name = None
        if i < len(ma_named):
            name, fg, is_cc = ma_named[i]
            c |= CC if is_cc else 0
        g = el.add(Post.MARSHAL, c, leader if i == 0 else -2, u, 0)
        el.rank[g] = int(Rank.MARSHAL)
        marshals.append(g)
        if name:
            named_at[name] = g
    for g in marshals[1:]:
        el.superior[g] = marshals[0]
    n_ac = co.army_commanders
    branch = [Branch.NAVY if i >= n_ac - co.navy_commands else
              Branch.AIR_FORCE if i >= n_ac - co.navy_commands - co.air_force_commands else
              Branch.GROUND for i in range(n_ac)]
    armies = []
    for i in range(n_ac):
        sup = marshals[1 + i % (len(marshals) - 1)] if len(marshals) > 1 else marshals[0]
        r = Rank.ARMY_COMMANDER_1 if i < sizes[Rank.ARMY_COMMANDER_1] else Rank.ARMY_COMMANDER_2
        g = el.add(Post.ARMY_COMMANDER, OFF | _bit(Cohort.ARMY_COMMANDERS), sup, u, i)
        el.rank[g] = int(r) | int(branch[i]) << BRANCH_SHIFT
        armies.append(g)
        if i < len(ac_named):
            named_at[ac_named[i][0]] = g
    CDC = OFF | _bit(Cohort.CORPS_DIVISION_COMMANDERS)
    levels = [(Rank.CORPS_COMMANDER, Post.CORPS_DIVISION_COMMANDER, CDC, "Corps"),
              (Rank.DIVISION_COMMANDER, Post.CORPS_DIVISION_COMMANDER, CDC, "Division"),
              (Rank.BRIGADE_COMMANDER, Post.OFFICER, OFF, "Brigade"),
              (Rank.REGIMENT_COMMANDER, Post.OFFICER, OFF, "Regiment")]
    # who answers to whom, level by level: (parents, their branches) -> children
    parents = armies if armies else marshals[:1]
    p_branch = branch if armies else [Branch.GROUND]
    plan = []  # (rank, post, cohorts, label, superiors, branches)
    for rank, post, c, label in levels:
        n = sizes[rank]
        if n == 0:
            continue
        sup = [parents[j % len(parents)] for j in range(n)]
        br = [p_branch[j % len(parents)] for j in range(n)]
        plan.append((rank, post, c, label, sup, br))
        parents = list(range(n))  # placeholders: filled in as the level is built
        p_branch = br
    # staff: every commander from army commander down gets an equal share of subordinates
    chiefs = n_ac + sum(len(x[4]) for x in plan)
    n_pol = sizes[Rank.POLITICAL]
    n_staff = sizes[Rank.COMMAND_STAFF] + n_pol
    kids = [_round_robin(len(plan[0][4]), n_ac) if plan and armies else np.zeros(n_ac, int)]
    for k, x in enumerate(plan):
        nxt = len(plan[k + 1][4]) if k + 1 < len(plan) else 0
        kids.append(_round_robin(nxt, len(x[4])))
    kids_all = np.concatenate(kids) if chiefs else np.zeros(0, dtype=np.int64)
    staff = np.zeros(chiefs, dtype=np.int64)
    if chiefs:
        target = -(-(n_staff + int(kids_all.sum())) // chiefs)
        staff = np.maximum(target - kids_all, 0)
        over = int(staff.sum()) - n_staff  # take the surplus back from the last chiefs
        for j in range(chiefs - 1, -1, -1):
            if over <= 0:
                break
            t = min(over, int(staff[j]))
            staff[j] -= t
            over -= t
    pol_cum = np.floor(np.cumsum(staff) * (n_pol / max(n_staff, 1)) + 1e-9).astype(np.int64)
    pol = np.diff(np.concatenate([[0], pol_cum]))

    def add_staff(j: int, chief: int, unit: int, region: int, br: int) -> None:
        """The chief's staff in his unit, all answering to him: the commissar (a political
        officer) first, the command staff, the other political officers."""
        m = int(staff[j])
        p = int(pol[j])
        b = int(br) << BRANCH_SHIFT
        for k, code in ((min(p, 1), Rank.POLITICAL), (m - p, Rank.COMMAND_STAFF),
                        (max(p - 1, 0), Rank.POLITICAL)):
            el.add_many(k, Post.OFFICER, OFF, chief, unit, region, int(code) | b)

    j = 0
    for i, g in enumerate(armies):
        u = el.unit_open(f"Staff of army commander {i + 1}")
        add_staff(j, g, u, i, branch[i])
        j += 1
    prev: list[int] = armies if armies else marshals[:1]
    for rank, post, c, label, sup_idx, br in plan:
        heads = []
        for i in range(len(sup_idx)):
            # the superior: a head of the previous level (its index in that level)
            sup = prev[i % len(prev)]
            u = el.unit_open(f"{label} {i + 1}")
            g = el.add(post, c, sup, u, i)
            el.rank[g] = int(rank) | int(br[i]) << BRANCH_SHIFT
            add_staff(j, g, u, i, br[i])
            j += 1
            heads.append(g)
        prev = heads
    if not chiefs and n_staff:  # no commander below the marshals: the staff answers to them
        u = el.unit_open("Staff of the high command")
        el.add_many(n_pol, Post.OFFICER, OFF, marshals[0], u, 0, int(Rank.POLITICAL))
        el.add_many(n_staff - n_pol, Post.OFFICER, OFF, marshals[0], u, 0,
                    int(Rank.COMMAND_STAFF))


def _balanced_tree(n: int, levels: int) -> tuple[np.ndarray, list[int]]:
    """A balanced chain of command of `n` people under one chief, in tiers: the first `b`
    answer to the chief, the next `b**2` to them, ... and the rest, the last tier, to the
    tier above; `b` is the smallest span that holds everyone in `levels` tiers (more tiers if
    it would exceed `MAX_SPAN`).  Returns (the superior of each person as an index into the
    n, -1 for the chief; the tier sizes).  Each tier is spread over the one above in
    contiguous blocks of equal size (within one), so no span exceeds `b`."""
    if n <= 0:
        return np.zeros(0, dtype=np.int64), []
    levels = max(levels, 1)
    while True:
        b = 1
        while sum(b ** i for i in range(1, levels + 1)) < n:
            b += 1
        if b <= MAX_SPAN:
            break
        levels += 1
    sizes: list[int] = []
    left = n
    for i in range(1, levels + 1):
        t = left if i == levels else min(b ** i, left)
        if t == 0:
            break
        sizes.append(t)
        left -= t
    parent = np.full(n, -1, dtype=np.int64)
    start = 0
    for i in range(1, len(sizes)):
        up, child0 = sizes[i - 1], start + sizes[i - 1]
        j = np.arange(sizes[i], dtype=np.int64)
        parent[child0 + j] = start + j * up // sizes[i]
        start = child0
    return parent, sizes


def _spread(n: int, heads: np.ndarray) -> np.ndarray:
    """The head of each of `n` people spread over `heads` in contiguous blocks of equal size
    (within one), in the heads' order."""
    if n == 0 or heads.size == 0:
        return np.zeros(0, dtype=np.int64)
    return heads[np.arange(n, dtype=np.int64) * heads.size // n]


def police_region_plan(d: int, o: int) -> tuple[int, np.ndarray, np.ndarray]:
    """The levels of command of one region's NKVD below its chief: `d` deputies and `o`
    operational officers.  The deputies form two tiers (`_balanced_tree`): the chief's
    deputies, about the square root of `d`, answer to him, the heads of departments to
    them; the officers are spread evenly over the heads of departments (every deputy with no
    deputy under him).  If the deputies are too few for the officers at `MAX_SPAN` each, the
    first `k` officers (senior operational officers) join them as heads, after the deputies:
    sizes stay as the scenario gives them.  Returns (k; the superior of each of the `d + k`
    heads, an index into them, -1 for the regional chief; the head of each of the other
    `o - k` officers, likewise, -1 if the chief heads them himself)."""
    if o <= MAX_SPAN and d == 0:
        return 0, np.zeros(0, dtype=np.int64), np.full(o, -1, dtype=np.int64)
    k = max(0, -(-(o - MAX_SPAN * d) // (MAX_SPAN + 1)))
    while True:
        h = d + k
        parent, _ = _balanced_tree(h, 2)
        leaves = np.setdiff1d(np.arange(h, dtype=np.int64), parent)
        if leaves.size and -(-(o - k) // leaves.size) <= MAX_SPAN:
            return k, parent, _spread(o - k, leaves)
        k += 1


def build_police_levels(el: _Elite, sc: Scenario, chief: int, reg_chiefs: list[int],
                        n_central: int, n_deputies: int, alloc: np.ndarray, SS: int) -> None:
    """The NKVD's levels of command below the chief and the regional chiefs, spans at most
    `population.MAX_SPAN` so that the chain of command is a symmetric tie (section 2.2 of
    docs/model.md).  Posts, their numbers and their order are those of the scenario:

    * the central apparatus (`POLICE_CENTRAL`, in the capital) in three tiers under the
      chief (`_balanced_tree`): heads of departments, heads of sections, the officers of each
      section.  The heads sit together in one unit, each section's officers in a unit of
      their own.  ASSUMPTION (structure): a balanced tree, not the GUGB's real departments;
      at 1,500 it gives 12 heads of departments (the GUGB of 1934 had eight, scenario
      [sources].cohorts), 144 heads of sections and 1,344 officers, 9 or 10 to a section.
    * each region's deputies (`POLICE_REGIONAL_DEPUTY`, in one unit per region, as before)
      in two tiers under the regional chief, and its operational officers under the heads
      of departments, one unit per department (`police_region_plan`).  ASSUMPTION
      (structure): spans balanced between the chief's deputies and the heads of
      departments; in ussr-1937 95 deputies under the 14 regional chiefs, 1,005 heads of
      departments under them, 20 to 34 operational officers to each."""
    # the central apparatus: heads of departments and sections, then the sections
    parent, sizes = _balanced_tree(n_central, 3)
    lo = len(el.post)
    n_heads = n_central - sizes[-1] if len(sizes) > 1 else n_central
    if n_heads:
        u = el.unit_open("NKVD central apparatus: heads of departments and sections")
        for j in range(n_heads):
            el.add(Post.POLICE_CENTRAL, SS, chief if parent[j] < 0 else lo + int(parent[j]),
                   u, 0)
    j = n_heads
    section = 0
    while j < n_central:  # the last tier, in blocks under their head of section
        p = int(parent[j])
        m = int(np.searchsorted(parent[n_heads:], p, side="right")) + n_heads - j
        section += 1
        u = el.unit_open(f"NKVD central apparatus: section {section}")
        el.add_many(m, Post.POLICE_CENTRAL, SS, chief if p < 0 else lo + p, u, 0)
        j += m
    # the regions: deputies (all regions), then operational officers (all regions)
    R = len(reg_chiefs)
    dep = np.zeros(R, dtype=np.int64)
    if n_deputies:  # by region in proportion to its operational officers
        dep = np.floor(n_deputies * alloc / alloc.sum()).astype(np.int64)
        dep[np.argmax(alloc)] += n_deputies - int(dep.sum())
    plans = [police_region_plan(int(dep[r]), int(alloc[r])) for r in range(R)]
    dep_lo = np.zeros(R, dtype=np.int64)
    for r in range(R):
        dep_lo[r] = len(el.post)
        d = int(dep[r])
        if d:
            parent = plans[r][1]
            u = el.unit_open(f"NKVD {sc.regions[r].name} leadership")
            for i in range(d):
                el.add(Post.POLICE_REGIONAL_DEPUTY, SS,
                       reg_chiefs[r] if parent[i] < 0 else int(dep_lo[r] + parent[i]), u, r)
    for r in range(R):
        d = int(dep[r])
        k, parent, head = plans[r]
        off_lo = len(el.post)
        # local head x of the region: -1 its chief, then its deputies, then senior officers
        local = np.concatenate([[reg_chiefs[r]], dep_lo[r] + np.arange(d),
                                off_lo + np.arange(k)]).astype(np.int64)
        if k:
            u = el.unit_open(f"NKVD {sc.regions[r].name} senior officers")
            for i in range(k):
                el.add(Post.POLICE_OFFICER, SS, int(local[parent[d + i] + 1]), u, r)
        i = 0
        dept = 0
        while i < head.size:
            m = int(np.searchsorted(head, head[i], side="right")) - i
            dept += 1
            u = el.unit_open(f"NKVD {sc.regions[r].name} department {dept}")
            el.add_many(m, Post.POLICE_OFFICER, SS, int(local[head[i] + 1]), u, r)
            i += m


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

    # --- army: the high command and the chain of command by rank group (build_army)
    army_lo = len(el.post)
    build_army(el, co, pb[0], take("marshal"), take("army_commander"), named_at, CC)

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
    build_police_levels(el, sc, chief, reg_chiefs, n_central, n_deputies, alloc, SS)

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
        e_rank=_ranks(el),
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
