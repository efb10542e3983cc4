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
(j) army          the army's own channels discharge officers; arrests; reinstatement on appeal
    routine       ordinary political policing outside the campaigns
    camps         deaths and releases in the camps

Each module registers itself: next to its `Params` (its parameters) and `Mechanism` (what it
does) it declares a `SPEC` (`base.Spec`: its letter, the place of its parameter table, the
phases of the day it runs, the states it uses).  This package finds every module in it (a
module whose name starts with an underscore is a helper, `base` the common part) and builds
from their declarations the registry `MECHANISMS`, the letters `LETTERS` and the day's plan
`PLAN`; the scenario's tables (`scenario.Scenario`) and the engine's day are built from
those.  Adding a mechanism is adding a module: see docs/adding-a-mechanism.md.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from .base import Spec


def _discover() -> dict[str, ModuleType]:
    """Every mechanism module of this package, keyed by its name, in the order of its
    declared position; refuses a module without a declaration, two modules at one position
    or two phases at one place in the day (the plan would depend on the file system)."""
    found: list[tuple[int, str, ModuleType]] = []
    for info in pkgutil.iter_modules(__path__):
        if info.name in ("base", "contract") or info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{__name__}.{info.name}")
        spec = getattr(mod, "SPEC", None)
        if not isinstance(spec, Spec) or not hasattr(mod, "Params") \
                or not hasattr(mod, "Mechanism"):
            raise ImportError(f"purgesim.mechanisms.{info.name}: a mechanism module declares "
                              "SPEC (base.Spec), Params and Mechanism; a helper module's "
                              "name starts with an underscore")
        found.append((spec.position, info.name, mod))
    found.sort(key=lambda t: (t[0], t[1]))
    positions = [p for p, _, _ in found]
    if len(set(positions)) != len(positions):
        raise ImportError(f"two mechanisms declare the same position: {positions}")
    return {key: mod for _, key, mod in found}


def _plan(mechanisms: dict[str, ModuleType]) -> list[tuple[str, str, str]]:
    """The day: every declared phase, in order; each (phase name, mechanism key, method)."""
    phases = sorted((ph.order, ph.name, key, ph.method)
                    for key, mod in mechanisms.items() for ph in mod.SPEC.phases)
    orders = [o for o, _, _, _ in phases]
    if len(set(orders)) != len(orders):
        raise ImportError(f"two phases of the day declare the same order: {orders}")
    for _, name, key, method in phases:
        if not callable(getattr(mechanisms[key].Mechanism, method, None)):
            raise ImportError(f"phase {name!r}: {key}.Mechanism has no method {method!r}")
    return [(name, key, method) for _, name, key, method in phases]


#: mechanism key (its module's name) -> its module, in the order of the declared positions
MECHANISMS: dict[str, ModuleType] = _discover()

#: mechanism key -> its letter in the design brief ("-" if none)
LETTERS: dict[str, str] = {key: mod.SPEC.letter for key, mod in MECHANISMS.items()}

#: the order of a day: (phase name, mechanism key, method name); the engine runs it
PLAN: list[tuple[str, str, str]] = _plan(MECHANISMS)
