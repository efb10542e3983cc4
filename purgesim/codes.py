"""The vocabulary of the model: states, events, causes, tie kinds, posts and cohorts.

Codes are small integers so that they fit in one byte per person or per event; the names are
what a historian reads in every output.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class State(IntEnum):
    """Every person is in exactly one state at every moment."""

    FREE = 0
    SUSPECT = 1  # accused or named; waiting for the police to act
    ARRESTED = 2  # under interrogation
    AWAITING_TRIAL = 3  # investigation closed (confessed or not)
    SHOT = 4
    CAMP = 5
    EXILE = 6
    RELEASED = 7  # free again after arrest or camp
    DIED = 8  # died in camp, or dead before the run began
    ABROAD = 9  # out of reach (Trotsky)
    DISMISSED = 10  # removed from his post for political reasons (an officer discharged from
    # the army, a state-security officer dismissed): at large, may be arrested or reinstated


#: states in which a person can be accused, named or denounced and can act (denounce, defend)
AT_LARGE = (State.FREE, State.RELEASED, State.EXILE, State.DISMISSED)
#: state code -> at large (a lookup table: faster than isin, usable in numba kernels)
AT_LARGE_LUT = np.zeros(256, dtype=np.bool_)
AT_LARGE_LUT[[int(s) for s in AT_LARGE]] = True
#: state code -> an official in that state holds his post and serves (free, or released and
#: back at work): the police's own count of its officers at large (vigilance, quotas,
#: police_purge)
SERVING_LUT = np.zeros(256, dtype=np.bool_)
SERVING_LUT[[int(State.FREE), int(State.RELEASED)]] = True


class Event(IntEnum):
    SUSPECTED = 1
    ARRESTED = 2
    CONFESSED = 3
    NAMED = 4  # person = the one named, by = the confessor
    DENOUNCED = 5  # person = the one denounced, by = the denouncer
    DROPPED = 6  # suspicion not acted on; by = the officer who let it go
    SHOT = 7  # death sentence carried out
    CAMP = 8
    EXILE = 9
    RELEASED = 10
    DIED = 11  # died in camp
    PROMOTED = 12  # person took the post of `by`
    CHIEF_REPLACED = 13  # person = outgoing chief, by = incoming chief
    INVESTIGATION_CLOSED = 14  # without confession
    DISMISSED = 15  # removed from his post for political reasons (cause says why)
    REINSTATED = 16  # given his post back after appeal or review


class Cause(IntEnum):
    """Why someone became a suspect or was arrested (one per suspicion and arrest)."""

    NONE = 0
    ORDER = 1  # (a) the leader's order: show-trial defendants, targeted oppositionists
    QUOTA = 2  # (i) a mass operation filling its limit
    CONFESSION = 3  # (b) named in a forced confession
    DENUNCIATION = 4  # (c) denounced by a subordinate or neighbour
    VIGILANCE = 5  # (d) an officer arrested for lack of vigilance
    DEFENDER = 6  # (e) defended an accused person
    RELATIVE = 7  # (e) relative of a convicted person
    CHIEF_REPLACEMENT = 8  # (f) client of a replaced police chief, or the chief himself
    ROUTINE = 9  # ordinary political policing outside the campaigns (1936, 1939 levels)
    SENTENCE = 10  # outcomes decided by a tribunal, not a cause of arrest
    HALT = 11  # (h) released by the review after the halt
    TERM_END = 12  # released at the end of a camp term
    ARMY = 13  # (j) the army's own channels after the Tukhachevsky affair (military councils,
    # the NKVD's Special Departments in the army, the political administration)
    POLICE_PURGE = 14  # the purge of the NKVD's own staff by a new chief's men (1938-39)
    REVIEW = 15  # released or reinstated after an appeal or a review of the case (1938-40)


#: causes recorded on outcomes (sentences, releases, reinstatements), never on an arrest
NOT_ARREST_CAUSES = (Cause.NONE, Cause.SENTENCE, Cause.HALT, Cause.TERM_END, Cause.REVIEW)

TOP_DOWN = (Cause.ORDER, Cause.QUOTA, Cause.CHIEF_REPLACEMENT, Cause.POLICE_PURGE)
BOTTOM_UP = (Cause.CONFESSION, Cause.DENUNCIATION, Cause.VIGILANCE, Cause.DEFENDER, Cause.RELATIVE)


class Tie(IntEnum):
    FAMILY = 0
    WORK = 1
    ACQUAINTANCE = 2
    SUPERIOR = 3


class Post(IntEnum):
    """The post a person holds in the elite block (mass people hold NONE)."""

    NONE = 0
    RELATIVE = 1
    LEADER = 2
    POLITBURO = 3
    CENTRAL_COMMITTEE = 4
    DELEGATE = 5
    OLD_BOLSHEVIK = 6
    FOREIGN_COMMUNIST = 7
    MARSHAL = 8
    ARMY_COMMANDER = 9
    CORPS_DIVISION_COMMANDER = 10
    OFFICER = 11
    POLICE_CHIEF = 12
    POLICE_REGIONAL_CHIEF = 13
    POLICE_OFFICER = 14
    COMMISSAR = 15  # people's commissar (minister) or deputy: the state hierarchy
    NOTABLE = 16  # a public figure outside the assemblies (e.g. Hebert of the Paris Commune)
    POLICE_CENTRAL = 17  # officer of the NKVD's central apparatus (GUGB NKVD USSR, Moscow)
    POLICE_REGIONAL_DEPUTY = 18  # deputy chief or head of department of a regional NKVD


#: the NKVD's staff below its chief, every level: a mechanism that treats "the officers" alike
#: (they handle cases, they are clients of the chief, they are officials) reads this tuple
POLICE_STAFF = (Post.POLICE_REGIONAL_CHIEF, Post.POLICE_OFFICER, Post.POLICE_CENTRAL,
                Post.POLICE_REGIONAL_DEPUTY)

#: the levels of the NKVD in the outputs (issue 16): level key -> the posts that make it up
POLICE_LEVELS = {
    "commissar": (Post.POLICE_CHIEF,),
    "central_apparatus": (Post.POLICE_CENTRAL,),
    "regional_leadership": (Post.POLICE_REGIONAL_CHIEF, Post.POLICE_REGIONAL_DEPUTY),
    "operational": (Post.POLICE_OFFICER,),
}


class Cohort(IntEnum):
    """Bits of the cohort mask; a person may belong to several cohorts."""

    CENTRAL_COMMITTEE_1934 = 0
    CONGRESS_17 = 1
    MARSHALS = 2
    ARMY_COMMANDERS = 3
    CORPS_DIVISION_COMMANDERS = 4
    OFFICERS = 5
    STATE_SECURITY = 6
    FIRST_GOVERNMENT_1917 = 7
    POLITBURO_1934 = 8


COHORT_KEYS = {
    Cohort.CENTRAL_COMMITTEE_1934: "central_committee_1934",
    Cohort.CONGRESS_17: "congress_17",
    Cohort.MARSHALS: "marshals",
    Cohort.ARMY_COMMANDERS: "army_commanders",
    Cohort.CORPS_DIVISION_COMMANDERS: "corps_division_commanders",
    Cohort.OFFICERS: "officers",
    Cohort.STATE_SECURITY: "state_security",
    Cohort.FIRST_GOVERNMENT_1917: "first_government_1917",
    Cohort.POLITBURO_1934: "politburo_1934",
}

# Trait bits of the mass population (one byte per person).
TRAIT_ELEMENT = 1  # registered "anti-Soviet element" (Order 00447 target pool)
TRAIT_PARTY = 2
TRAIT_OPPOSITION = 4  # former oppositionist (party members expelled or reprimanded 1927-34)
NATION_SHIFT = 3  # bits 3-5: diaspora nationality code (0 = none)
NATION_MASK = 0b111 << NATION_SHIFT

#: diaspora nationalities of the national operations, in the order of their trait codes 1..5
NATION_KEYS = ("polish", "german", "harbin", "latvian", "other")


class Rank(IntEnum):
    """The rank group of an officer of the army (`Population.e_rank`, low 4 bits): the
    personal ranks of 1935, grouped as the issue's outputs count them.  The political staff
    (commissar ranks, politruks) is one group whatever its level."""

    NONE = 0
    MARSHAL = 1
    ARMY_COMMANDER_1 = 2  # komandarm 1st rank (and flagman of the fleet 1st rank)
    ARMY_COMMANDER_2 = 3  # komandarm 2nd rank (and flagman of the fleet 2nd rank)
    CORPS_COMMANDER = 4  # komkor
    DIVISION_COMMANDER = 5  # komdiv
    BRIGADE_COMMANDER = 6  # kombrig
    REGIMENT_COMMANDER = 7  # colonel (polkovnik)
    COMMAND_STAFF = 8  # the rest of the command staff (major to lieutenant)
    POLITICAL = 9  # political officers: army commissars to politruks


RANK_KEYS = {
    Rank.MARSHAL: "marshals",
    Rank.ARMY_COMMANDER_1: "army_commanders_1st_rank",
    Rank.ARMY_COMMANDER_2: "army_commanders_2nd_rank",
    Rank.CORPS_COMMANDER: "corps_commanders",
    Rank.DIVISION_COMMANDER: "division_commanders",
    Rank.BRIGADE_COMMANDER: "brigade_commanders",
    Rank.REGIMENT_COMMANDER: "regiment_commanders",
    Rank.COMMAND_STAFF: "command_staff",
    Rank.POLITICAL: "political_officers",
}
RANK_MASK = 0x0F


class Branch(IntEnum):
    """The service of an army officer (`Population.e_rank` >> 4): the land forces, the air
    force or the navy (its commanders of army rank are the flagmen of the fleet)."""

    GROUND = 0
    AIR_FORCE = 1
    NAVY = 2


BRANCH_SHIFT = 4
BRANCH_KEYS = {Branch.GROUND: "ground", Branch.AIR_FORCE: "air_force", Branch.NAVY: "navy"}
