"""The mechanisms of the purge machine, one module each, lettered as in the design brief.

(a) orders        orders from the top, show trials, targeted arrests of former oppositionists
(b) confession    interrogation until confession; the confession names accomplices
(c) denunciation  officials denounce their superiors for their posts
(d) vigilance     the police act on accusations; officers who let one go risk arrest
(e) association   defenders and relatives become suspects
(f) purgers       police officers are named; a replaced chief's clients are purged
(g) trials        troikas, lists, special boards; sentences
(h) halt          the halt of the mass phase (scripted or endogenous)
(i) quotas        the mass operations on regional limits, and petitions for more
    routine       ordinary political policing outside the campaigns
    camps         deaths and releases in the camps
"""

from __future__ import annotations

from types import ModuleType

from . import (
    association,
    camps,
    confession,
    denunciation,
    halt,
    orders,
    purgers,
    quotas,
    routine,
    trials,
    vigilance,
)

MECHANISMS: dict[str, ModuleType] = {
    "orders": orders,
    "quotas": quotas,
    "routine": routine,
    "denunciation": denunciation,
    "vigilance": vigilance,
    "confession": confession,
    "purgers": purgers,
    "association": association,
    "trials": trials,
    "camps": camps,
    "halt": halt,
}

LETTERS = {"orders": "a", "confession": "b", "denunciation": "c", "vigilance": "d",
           "association": "e", "purgers": "f", "trials": "g", "halt": "h", "quotas": "i",
           "routine": "-", "camps": "-"}
