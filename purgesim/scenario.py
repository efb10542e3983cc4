"""Scenarios as TOML files, validated with pydantic.

A scenario gives the society (regions, cohorts, named people), the timeline (events), the
mass operations, and the values of every mechanism's parameters.  A user's file can extend a
built-in scenario with ``base = "ussr-1937"`` and override any part of it; tables are merged
key by key, lists are replaced whole.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from . import mechanisms as M
from .mechanisms import MECHANISMS
from .words import Key as LabelKey

SCENARIO_DIR = Path(__file__).parent / "scenarios"


class ScenarioError(Exception):
    """A problem with the user's input; the CLI prints it on one line and exits 2."""

    def __str__(self) -> str:
        # one line whatever the input holds: a key or a --set item with a line break in it
        return "".join(c if c.isprintable() else repr(c)[1:-1] for c in super().__str__())


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


#: bounds that keep a valid scenario runnable on one machine: the elite block is built one
#: post-holder at a time (ussr-1937 has about 165,000), limits are counts of people
MAX_POPULATION = 10**10
MAX_ELITE = 1_000_000
MAX_LIMIT = 1e9
LAST_DATE = dt.date(9999, 1, 1)  # outputs count whole years: the year after the end must exist
#: the longest run: 20 years (the recorder keeps days x regions x causes arrays, and the
#: model's mechanisms describe a purge of a few years; longer runs are nonsense, not history)
MAX_DAYS = 7305
#: largest scenario file read (bytes), deepest nesting of its tables and lists
MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_NESTING = 20
Share = Annotated[float, Field(ge=0, le=1)]


class Region(Strict):
    name: str
    population: int = Field(gt=0, le=MAX_POPULATION, description="people in 1937 (full scale)")
    element_share: float = Field(0.01, ge=0, le=1, description="share registered as 'elements'")
    party_share: float = Field(0.017, ge=0, le=1, description="party members and candidates")
    nationalities: dict[Literal["polish", "german", "harbin", "latvian", "other"], Share] = {}
    opposition_share: float = Field(0.05, ge=0, le=1,
                                    description="former oppositionists among party members")
    police_officers: int | None = Field(None, ge=1, le=MAX_ELITE,
                                       description="state-security officers here")
    routine_factor: float = Field(1.0, ge=0, le=100,
                                  description="multiplies routine arrests here (civil war)")
    shot_factor: float = Field(1.0, ge=0, le=100,
                               description="multiplies death sentences of ordinary cases here "
                                           "(civil-war regions)")


class Cohorts(Strict):
    """Sizes of the unscaled elite cohorts (real sizes at every scale)."""

    politburo: int = Field(15, ge=1, le=MAX_ELITE)
    central_committee: int = Field(139, ge=1, le=MAX_ELITE)
    congress: int = Field(1966, ge=1, le=MAX_ELITE)
    commissars: int = Field(60, ge=0, le=MAX_ELITE,
                            description="people's commissars and deputies")
    old_bolsheviks: int = Field(300, ge=0, le=MAX_ELITE)
    foreign_communists: int = Field(300, ge=0, le=MAX_ELITE)
    marshals: int = Field(5, ge=1, le=MAX_ELITE)
    army_commanders: int = Field(16, ge=0, le=MAX_ELITE)
    corps_division_commanders: int = Field(229, ge=1, le=MAX_ELITE)
    officers: int = Field(137000, ge=1, le=MAX_ELITE)
    state_security: int = Field(25000, ge=1, le=MAX_ELITE)
    police_central_apparatus: int = Field(
        0, ge=0, le=MAX_ELITE, description="state-security officers of the central apparatus "
        "(in Moscow, the first region), counted within state_security")
    police_regional_deputies: int = Field(
        0, ge=0, le=MAX_ELITE, description="deputy chiefs and heads of departments of the "
        "regional NKVDs, all regions together, counted within state_security")
    # the army by rank group (the officers' corps above is their total): None = derived
    army_commanders_1st_rank: int | None = Field(
        None, ge=0, le=MAX_ELITE, description="of the army commanders, those of the 1st rank "
        "(the rest are of the 2nd); default a third")
    corps_commanders: int | None = Field(
        None, ge=0, le=MAX_ELITE, description="of the corps and division commanders, the "
        "corps commanders (komkor; the rest are komdiv); default a quarter")
    brigade_commanders: int = Field(0, ge=0, le=MAX_ELITE, description="kombrig")
    regiment_commanders: int = Field(0, ge=0, le=MAX_ELITE, description="colonels")
    political_officers: int = Field(0, ge=0, le=MAX_ELITE,
                                    description="political staff (commissar ranks, politruks)")
    navy_commands: int = Field(0, ge=0, le=MAX_ELITE, description="of the army commanders' "
                               "formations, those of the navy (the fleets), with everyone "
                               "under them")
    air_force_commands: int = Field(0, ge=0, le=MAX_ELITE, description="of the army "
                                    "commanders' formations, those of the air force")
    opposition_share_of_elite: float = Field(0.1, ge=0, le=1)

    @model_validator(mode="after")
    def _check_army(self) -> Cohorts:
        top = self.marshals + self.army_commanders + self.corps_division_commanders
        ranks = (top + self.brigade_commanders + self.regiment_commanders
                 + self.political_officers)
        if ranks > self.officers:
            raise ValueError(
                f"field 'cohorts.officers': value {self.officers} is not allowed: the rank "
                f"groups add up to {ranks}; allowed: at least {ranks}")
        for key, v, most in (("army_commanders_1st_rank", self.army_commanders_1st_rank,
                              self.army_commanders),
                             ("corps_commanders", self.corps_commanders,
                              self.corps_division_commanders)):
            if v is not None and v > most:
                raise ValueError(f"field 'cohorts.{key}': value {v} is not allowed; allowed: "
                                 f"at most {most}")
        if self.navy_commands + self.air_force_commands > self.army_commanders:
            raise ValueError(
                f"field 'cohorts.navy_commands': value {self.navy_commands} is not allowed: "
                f"with {self.air_force_commands} air force commands more than the "
                f"{self.army_commanders} army commanders; allowed: at most "
                f"{self.army_commanders - self.air_force_commands}")
        return self


class Named(Strict):
    name: str
    place: Literal[
        "leader", "politburo", "central_committee", "delegate", "old_bolshevik", "commissar",
        "notable",
        "foreign_communist", "marshal", "army_commander", "police_chief", "first_government",
    ]
    first_government: bool = False
    central_committee: bool = False
    faction: str = ""
    protected: bool = Field(False, description="in the leader's inner circle: never arrested "
                                               "except by a scripted order")
    state: Literal["free", "camp", "died", "abroad"] = "free"
    real_fate: str = ""
    real_date: str = ""
    source: str = ""


from .codes import NATION_KEYS  # noqa: E402

TARGET_KEYS = ("element",) + NATION_KEYS


class RegionLimit(Strict):
    """A region's initial limits under an operation, as the order's appendix gives them; a
    category left out is not given by the order (or not found) and is shared as the rest."""

    cat1: float | None = Field(None, ge=0, le=MAX_LIMIT,
                               description="initial limit, category 1 (shoot), full scale")
    cat2: float | None = Field(None, ge=0, le=MAX_LIMIT,
                               description="initial limit, category 2 (camp), full scale")
    source: str = ""


class Operation(Strict):
    key: str
    name: str
    order: str = ""
    target: Literal["element", "polish", "german", "harbin", "latvian", "other"]
    start: dt.date
    end: dt.date | None = None
    cat1: float = Field(ge=0, le=MAX_LIMIT,
                        description="initial limit, category 1 (shoot), full scale")
    cat2: float = Field(ge=0, le=MAX_LIMIT,
                        description="initial limit, category 2 (camp), full scale")
    regions: list[str] = Field([], description="restrict the operation to these regions")
    limits_by_region: dict[str, RegionLimit] = Field(
        {}, description="initial limits the order gives a region (full scale); the regions "
                        "and categories not given share what remains of cat1 and cat2 in "
                        "proportion to their target pools")
    source: str = ""


class Event(Strict):
    date: dt.date
    kind: Literal[
        "chief_change", "show_trial", "closed_trial", "arrest", "limits", "halt",
        "intensity", "vigilance", "opposition_campaign", "note", "tribunal",
    ]
    label: str = ""
    new: str = ""  # chief_change: incoming chief's name
    defendants: list[str] = []  # show_trial/closed_trial/arrest: named people
    anonymous: int = Field(0, ge=0)  # extra unnamed defendants
    anonymous_from: str = Field(
        "old_bolshevik", pattern=r"^(old_bolshevik|army_commander|corps_division_commander|"
        r"central_committee|police_officer|delegate|notable|faction:[A-Za-z' -]+)$")
    settings: dict[str, float | bool] = {}  # tribunal: new values of trials parameters
    death: list[str] = []  # names sentenced to death ("*" = all)
    anonymous_death: int = Field(0, ge=0)
    operation: str = ""  # limits
    cat1: float = Field(0, ge=0, le=MAX_LIMIT)
    cat2: float = Field(0, ge=0, le=MAX_LIMIT)
    level: float = Field(1.0, ge=0, le=100)
    rate: float = Field(0.0, ge=0, le=1)  # opposition_campaign: share per day
    source: str = ""


class Faction(Strict):
    """A faction of the assembly (the Convention): its deputies form one unit."""

    name: str
    size: int = Field(ge=1, le=100000)


class Window(Strict):
    """A period the record counts over (the NKVD's own statistics run from 1 October 1936):
    summary.json gives its totals under the label ``START/END`` when the run covers it."""

    start: dt.date
    end: dt.date = Field(description="the first day after the period")

    @property
    def label(self) -> str:
        return f"{self.start.isoformat()}/{self.end.isoformat()}"

    @model_validator(mode="after")
    def _check(self) -> Window:
        if self.end <= self.start:
            raise ValueError(f"field 'windows.end': value {self.end} is not allowed: must be "
                             f"after start; allowed: a date after {self.start}")
        return self


# Everything a scenario gives but the mechanisms' tables: `Scenario` below adds one table per
# registered mechanism.  (No docstring: the JSON schema of `Scenario` would inherit it.)
class ScenarioCore(Strict):
    name: str
    description: str = ""
    country: str = Field("USSR", description="the record's country this scenario answers to")
    base: str | None = None
    start: dt.date
    end: dt.date
    scale: float = Field(0.01, gt=0, le=1)
    seed: int = Field(1, ge=0, le=2**63 - 1)
    household_size: int = Field(4, ge=2, le=8)
    workplace_size: int = Field(12, ge=2, le=40)
    acquaintance_rings: int = Field(4, ge=1, le=10)
    regions: list[Region] = Field(min_length=1)
    cohorts: Cohorts = Cohorts()
    named: list[Named] = []
    factions: list[Faction] = []
    immune_leader: bool = Field(True, description="the leader can never be arrested")
    cohort_labels: dict[str, str] = Field(
        default_factory=dict, description="rename cohorts in outputs ('' hides one)")
    labels: dict[LabelKey, str] = Field(
        default_factory=dict, description="the outputs' words for sentences, institutions and "
        "places of detention (purgesim.words.DEFAULTS: the USSR's)")
    operations: list[Operation] = []
    events: list[Event] = []
    camp_mortality: dict[str, Share] = Field(
        default_factory=dict, description="yearly death rate in camps by year")
    windows: list[Window] = Field(
        default_factory=list, description="periods the record counts over, totalled in "
                                          "summary.json 'windows' when the run covers them")
    calibration: dict[str, Any] = {}
    sources: dict[str, str] = {}

    @model_validator(mode="after")
    def _check(self) -> ScenarioCore:
        if self.end <= self.start:
            raise ValueError(f"field 'end': value {self.end} is not allowed: must be after "
                             f"start; allowed: a date after {self.start}")
        if (self.end - self.start).days + 1 > MAX_DAYS:
            raise ValueError(f"field 'end': value {self.end} is not allowed: the run may last "
                             f"at most {MAX_DAYS} days (20 years); allowed: a date at most "
                             f"{MAX_DAYS - 1} days after start ({self.start})")
        if self.end >= LAST_DATE:
            raise ValueError(f"field 'end': value {self.end} is not allowed; allowed: a date "
                             f"before {LAST_DATE}")
        if len(self.regions) > 250:
            raise ValueError("at most 250 regions")
        for what, keys in (("region name", [r.name for r in self.regions]),
                           ("operation key", [o.key for o in self.operations]),
                           ("named person", [n.name for n in self.named]),
                           ("faction name", [f.name for f in self.factions])):
            seen: set[str] = set()
            for k in keys:
                if k in seen:
                    raise ValueError(f"{what} {k!r} is given twice; allowed: each {what} once")
                seen.add(k)
        for r in self.regions:
            if r.population * self.scale < 1:
                raise ValueError(
                    f"field 'scale': value {self.scale:g} is not allowed: region {r.name!r} "
                    f"({r.population:,} people) would have no simulated person; allowed: "
                    f"scale >= {1 / min(x.population for x in self.regions):.3g} for this "
                    "scenario")
        # an event before the start would be silently ignored: refused.  Events (and
        # operations) after the end are allowed: `--set end=...` runs the first part of a
        # scenario's timeline, and what comes later simply does not happen in the run.
        for e in self.events:
            if e.date < self.start:
                raise ValueError(f"event {e.kind} on {e.date}: before the start of the run "
                                 f"({self.start}); allowed: a date from {self.start} on")
        for o in self.operations:
            if o.end is not None and o.end < o.start:
                raise ValueError(f"operation {o.key}: end {o.end} before its start {o.start}; "
                                 "allowed: an end on or after the start")
        co = self.cohorts
        elite = (co.politburo + co.central_committee + co.congress + co.commissars
                 + co.old_bolsheviks + co.foreign_communists + co.marshals
                 + co.army_commanders + co.corps_division_commanders + co.officers
                 + co.state_security + len(self.named) + sum(f.size for f in self.factions)
                 + sum(r.police_officers or 0 for r in self.regions))
        if elite > MAX_ELITE:
            raise ValueError(f"field 'cohorts': {elite:,} elite post-holders (cohorts, "
                             "factions, named people, regional police officers) are not "
                             f"allowed; allowed: at most {MAX_ELITE:,} in all")
        levels = 1 + len(self.regions) + co.police_central_apparatus \
            + co.police_regional_deputies
        if (co.police_central_apparatus or co.police_regional_deputies) \
                and levels + len(self.regions) > co.state_security:
            raise ValueError(
                f"field 'cohorts.police_central_apparatus': value "
                f"{co.police_central_apparatus:,} (with police_regional_deputies "
                f"{co.police_regional_deputies:,}) is not allowed: the chief, the "
                f"{len(self.regions)} regional chiefs, the central apparatus, the deputies and "
                "at least one operational officer per region must fit within "
                f"state_security = {co.state_security:,}")
        names = {n.name for n in self.named}
        ops = {o.key for o in self.operations}
        for e in self.events:
            for who in e.defendants + [e.new] * bool(e.new):
                if who not in names:
                    raise ValueError(f"event on {e.date} names {who!r}, who is not among 'named'")
            if e.kind == "limits" and e.operation not in ops:
                raise ValueError(f"event on {e.date}: unknown operation {e.operation!r}")
            if e.kind == "tribunal":
                fields = M.trials.Params.model_fields
                for k, v in e.settings.items():
                    if k not in fields or k == "enabled":
                        raise ValueError(f"event on {e.date}: unknown trials parameter {k!r}")
                    try:
                        M.trials.Params.model_validate({k: v})
                    except ValidationError:
                        allowed = ", ".join(x for x in (_allowed_type(fields[k]),
                                                        _allowed_range(k, fields[k])) if x)
                        raise ValueError(f"event on {e.date}: tribunal setting {k} = {v!r} is "
                                         f"not allowed; allowed: {allowed}") from None
            if e.anonymous_from.startswith("faction:") and \
                    e.anonymous_from[8:] not in {f.name for f in self.factions}:
                raise ValueError(f"event on {e.date}: unknown faction {e.anonymous_from[8:]!r}")
        regions = {r.name for r in self.regions}
        for o in self.operations:
            for r in o.regions:
                if r not in regions:
                    raise ValueError(f"operation {o.key}: unknown region {r!r}")
            for r in o.limits_by_region:
                if r not in regions:
                    raise ValueError(f"operation {o.key}: limits_by_region names an unknown "
                                     f"region {r!r}; allowed: {', '.join(sorted(regions))}")
                if o.regions and r not in o.regions:
                    raise ValueError(f"operation {o.key}: limits_by_region gives {r!r} a "
                                     "limit but the operation does not run there")
            runs_in = set(o.regions) if o.regions else regions
            for cat in ("cat1", "cat2"):
                given = sum(getattr(v, cat) or 0.0 for v in o.limits_by_region.values())
                if given > getattr(o, cat) * (1 + 1e-9):
                    raise ValueError(f"operation {o.key}: limits_by_region {cat} sum to "
                                     f"{given:,.0f}, more than the operation's {cat} "
                                     f"{getattr(o, cat):,.0f}; allowed: at most the national "
                                     "limit")
                every = all(getattr(o.limits_by_region.get(r), cat, None) is not None
                            for r in runs_in)
                if every and abs(given - getattr(o, cat)) > 1e-9 * max(getattr(o, cat), 1):
                    raise ValueError(f"operation {o.key}: limits_by_region gives every region "
                                     f"a {cat} limit, summing to {given:,.0f}, not the "
                                     f"operation's {cat} {getattr(o, cat):,.0f}; allowed: "
                                     "limits that sum to the national one, or a region left "
                                     "out to take the rest")
        for n in self.named:
            if n.faction and n.faction not in {f.name for f in self.factions}:
                raise ValueError(f"named {n.name}: unknown faction {n.faction!r}")
        for year in self.camp_mortality:
            if not year.isdigit():
                raise ValueError(f"camp_mortality key {year!r} must be a year")
        return self

    @property
    def n_days(self) -> int:
        return (self.end - self.start).days + 1

    def day_of(self, d: dt.date) -> int:
        return (d - self.start).days

    def date_of(self, day: int) -> dt.date:
        return self.start + dt.timedelta(days=int(day))

    def mechanism_params(self, key: str) -> Any:
        return getattr(self, key)


#: A scenario: `ScenarioCore` and one table per registered mechanism (`mechanisms.MECHANISMS`,
#: in its order), validated against that mechanism's declared `Params`.  Built from the
#: registry so that a new mechanism module brings its table with it.
Scenario = create_model(
    "Scenario", __base__=ScenarioCore, __module__=__name__,
    **{key: (mod.Params, mod.Params()) for key, mod in MECHANISMS.items()})


def builtin_names() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _depth(x: Any, limit: int) -> int:
    """Nesting depth of tables and lists (stops counting past `limit`)."""
    stack = [(x, 0)]
    deepest = 0
    while stack:
        v, d = stack.pop()
        deepest = max(deepest, d)
        if d > limit:
            return d
        if isinstance(v, dict):
            stack.extend((w, d + 1) for w in v.values())
        elif isinstance(v, list):
            stack.extend((w, d + 1) for w in v)
    return deepest


def _read_toml(path: Path) -> dict[str, Any]:
    from .runfolder import FolderError, read_input

    try:
        raw = read_input(path, "scenario", MAX_FILE_BYTES)
    except FolderError as e:
        raise ScenarioError(str(e)) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except RecursionError:
        raise ScenarioError(f"{path}: nested too deeply; allowed: tables and lists nested at "
                            f"most {MAX_NESTING} deep") from None
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(_describe_toml_error(path, e)) from None
    except UnicodeDecodeError as e:
        raise ScenarioError(f"{path}: byte {e.start} is not UTF-8 text; allowed: a TOML file "
                            "in UTF-8") from None
    if _depth(data, MAX_NESTING) > MAX_NESTING:
        raise ScenarioError(f"{path}: nested too deeply; allowed: tables and lists nested at "
                            f"most {MAX_NESTING} deep")
    return data


_DATE_LINE = re.compile(r"^\s*([A-Za-z0-9_.\"'-]+)\s*=\s*(\d{4}-\d{1,2}-\d{1,2})\b")


def _describe_toml_error(path: Path, e: tomllib.TOMLDecodeError) -> str:
    """One line naming the offending line; a bad date names its field and value."""
    m = re.search(r"\(at line (\d+), column \d+\)", str(e))
    if m is None:
        return f"{path}: malformed TOML: {e}"
    lineno = int(m.group(1))
    try:
        line = path.read_text(errors="replace").splitlines()[lineno - 1]
    except (OSError, IndexError):
        return f"{path}: malformed TOML: {e}"
    d = _DATE_LINE.match(line)
    if d is not None:
        try:
            dt.date.fromisoformat(d.group(2))
        except ValueError:
            return (f"{path} line {lineno}: field '{d.group(1)}': value {d.group(2)} is not "
                    "allowed: not a valid date; allowed: a real date written YYYY-MM-DD")
    return (f"{path} line {lineno} ({line.strip()!r}): malformed TOML: {e}; "
            "allowed: TOML syntax (https://toml.io)")


def raw_scenario(name_or_path: str, _depth: int = 0,
                 _folder: Path | None = None) -> dict[str, Any]:
    """The scenario as a dict, with its `base` chain merged in.  A `base` that is a path is
    read relative to the folder of the file that names it (not the current folder)."""
    if _depth > 5:
        raise ScenarioError(f"scenario {name_or_path!r}: 'base' chain deeper than 5")
    p = Path(name_or_path)
    if _folder is not None and not p.is_absolute():
        p = _folder / p
    if name_or_path in builtin_names():
        data = _read_toml(SCENARIO_DIR / f"{name_or_path}.toml")
        p = SCENARIO_DIR / f"{name_or_path}.toml"
    elif p.suffix == ".toml" and os.path.lexists(p):
        data = _read_toml(p)
    else:
        raise ScenarioError(
            f"scenario {name_or_path!r}: unknown; allowed: {', '.join(builtin_names())} "
            "or a path to a .toml file")
    base = data.get("base")
    if base is not None:
        if not isinstance(base, str):
            raise ScenarioError(f"field 'base': value {base!r} is not allowed: must be a name")
        parent = raw_scenario(base, _depth + 1, p.parent)
        data = _merge(parent, {k: v for k, v in data.items() if k != "base"})
    return data


def parse_value(text: str) -> Any:
    """A --set value: TOML syntax (numbers, true/false, quoted strings); bare words are strings."""
    try:
        v = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    except RecursionError:
        raise ScenarioError(f"--set value {text[:40]!r}...: nested too deeply; allowed: a "
                            "number, true/false, a date or a string") from None
    if _depth(v, MAX_NESTING) > MAX_NESTING:
        raise ScenarioError(f"--set value {text[:40]!r}...: nested too deeply; allowed: a "
                            "number, true/false, a date or a string")
    return v


def apply_sets(data: dict[str, Any], sets: list[str]) -> dict[str, Any]:
    data = dict(data)
    for item in sets:
        if "=" not in item:
            raise ScenarioError(f"--set {item!r}: no value; allowed: NAME=VALUE")
        name, text = item.split("=", 1)
        name = name.strip()
        parts = name.split(".")
        if len(parts) == 2 and parts[0] in MECHANISMS:
            fields = MECHANISMS[parts[0]].Params.model_fields
            if parts[1] not in fields:
                raise ScenarioError(
                    f"--set {item}: unknown parameter {parts[1]!r}; allowed for {parts[0]}: "
                    f"{', '.join(fields)}")
        elif len(parts) == 1 and parts[0] in ("scale", "seed", "start", "end"):
            pass
        else:
            raise ScenarioError(
                f"--set {item}: unknown parameter {name!r}; allowed: scale, seed, start, end, "
                f"or MECHANISM.NAME with MECHANISM "
                f"one of {', '.join(MECHANISMS)} (see 'purgesim params SCENARIO')")
        value = parse_value(text.strip())
        if len(parts) == 2:
            section = dict(data.get(parts[0], {}))
            section[parts[1]] = value
            data[parts[0]] = section
        else:
            data[parts[0]] = value
    return data


def _field_at(loc: tuple[Any, ...]) -> tuple[type[BaseModel] | None, Any]:
    """The model holding the field at `loc` (walking down from Scenario) and the field's info
    (None for a field the model does not have)."""
    model: type[BaseModel] | None = Scenario
    parent: type[BaseModel] | None = None
    info = None
    for part in loc:
        if isinstance(part, int):
            continue
        if model is None or part not in model.model_fields:
            return model, None
        parent, info = model, model.model_fields[part]
        ann = info.annotation
        inner = typing.get_args(ann)[0] if typing.get_origin(ann) is list else ann
        model = inner if isinstance(inner, type) and issubclass(inner, BaseModel) else None
    return parent, info


def _num(x: Any) -> str:
    return str(x) if isinstance(x, int) else f"{x:g}"


def _allowed_range(name: str, info: Any) -> str:
    lo = hi = ""
    for m in getattr(info, "metadata", []):
        if getattr(m, "ge", None) is not None:
            lo = f"{_num(m.ge)} <= "
        elif getattr(m, "gt", None) is not None:
            lo = f"{_num(m.gt)} < "
        if getattr(m, "le", None) is not None:
            hi = f" <= {_num(m.le)}"
        elif getattr(m, "lt", None) is not None:
            hi = f" < {_num(m.lt)}"
    return f"{lo}{name}{hi}" if lo or hi else ""


_TYPE_WORDS = {bool: "true or false", int: "a whole number", float: "a number", str: "text",
               dt.date: "a date written YYYY-MM-DD"}


def _allowed_type(info: Any) -> str:
    """What kind of value a field takes, in words ("" if unknown)."""
    ann = getattr(info, "annotation", None)
    if typing.get_origin(ann) in (typing.Union, types.UnionType):
        ann = next((a for a in typing.get_args(ann) if a is not type(None)), None)
    if typing.get_origin(ann) is Literal:
        return "one of " + ", ".join(str(a) for a in typing.get_args(ann))
    return _TYPE_WORDS.get(ann, "")


def _describe_error(e: ValidationError) -> str:
    err = e.errors()[0]
    loc = ".".join(str(x) for x in err["loc"]) or "scenario"
    msg = err["msg"]
    if not err["loc"] and err["type"] == "value_error":
        # whole-scenario checks (dates, names) word their own message
        return msg.removeprefix("Value error, ")
    value = err.get("input")
    shown = value.isoformat() if isinstance(value, dt.date) else repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    parent, info = _field_at(tuple(err["loc"]))
    if err["type"] == "extra_forbidden":
        names = ", ".join(parent.model_fields) if parent is not None else "see 'purgesim params'"
        return f"field '{loc}': value {shown} is not allowed: unknown field; allowed: {names}"
    rng_ = _allowed_range(str(err["loc"][-1]), info) if err["loc"] else ""
    ctx = err.get("ctx") or {}
    if not rng_ and err["loc"]:  # a constrained value inside a table (e.g. camp_mortality)
        rng_ = ", ".join(f"a number {op} {_num(ctx[k])}" for k, op in (
            ("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")) if k in ctx)
    allowed = ", ".join(x for x in (_allowed_type(info), rng_) if x)
    if allowed:
        msg = f"{msg}; allowed: {allowed}"
    return f"field '{loc}': value {shown} is not allowed: {msg}"


def _as_date(v: Any) -> dt.date | None:
    if isinstance(v, dt.date):
        return v
    try:
        return dt.date.fromisoformat(str(v))
    except ValueError:
        return None


def early_end(data: dict[str, Any], end: str) -> dt.date:
    """The date of `--end`: a run of the scenario `data` ended earlier than its own end (the
    first part of its timeline).  ScenarioError, naming the value and what is allowed,
    unless it is a date after the start and not after the scenario's end."""
    start, last = _as_date(data.get("start")), _as_date(data.get("end"))
    allowed = (f"a date YYYY-MM-DD after the start {start} and not after the scenario's "
               f"end {last}" if start and last else "a date YYYY-MM-DD")
    d = _as_date(end)
    if d is None or (start is not None and d <= start) or (last is not None and d > last):
        raise ScenarioError(f"--end: value {end!r} is not allowed; allowed: {allowed}")
    return d


def load(name_or_path: str, sets: list[str] | None = None, scale: float | None = None,
         seed: int | None = None, end: str | None = None) -> Scenario:
    data = raw_scenario(name_or_path)
    data = apply_sets(data, sets or [])
    if end is not None:
        data["end"] = early_end(data, end)
    if scale is not None:
        data["scale"] = scale
    if seed is not None:
        data["seed"] = seed
    data.pop("base", None)
    try:
        return Scenario.model_validate(data)
    except ValidationError as e:
        raise ScenarioError(f"scenario {name_or_path}: {_describe_error(e)}") from None
