"""Bad input, fuzzed: every scenario file and every `--set` either runs or is refused.

Hypothesis writes scenario files derived from `toy` (``base = "toy"`` plus overrides with
valid and invalid values of every type: numbers out of range, wrong types, strings, nested
tables, unknown keys, bad dates, huge and negative numbers, ``nan`` and ``inf``, empty lists,
unicode), malformed TOML (truncated, corrupted, not UTF-8), and `--set NAME=VALUE` strings
(every parameter of every mechanism, the scenario-level names, unknown names, random values).

The property: the input loads (and then the simulation runs a few days with every invariant
checked, or the command line writes a finished run), or it is refused with a ScenarioError
whose message is one line naming the problem; never another exception, a hang or a partial
output.  A valid scenario too large to simulate here is not run: it must be refused before
anything is allocated on a machine without the memory it needs.

All examples run in process (a subprocess per example would cost seconds of imports each);
a few representative bad files also go through `python -m purgesim run` in a subprocess.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import typing
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from conftest import cli_main, run_cli_many
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic_core import PydanticUndefined

from purgesim.engine import Sim
from purgesim.mechanisms import MECHANISMS
from purgesim.scenario import (
    Cohorts,
    Event,
    Faction,
    Named,
    Operation,
    Region,
    Scenario,
    ScenarioError,
    load,
    raw_scenario,
)
from purgesim.society import FIXED_BYTES, check_memory, estimate_memory

TOY = raw_scenario("toy")
#: simulated people above which a fuzzed scenario is not run here (toy has about 5,000)
MAX_PEOPLE_RUN = 200_000
#: days simulated for each fuzzed scenario that loads
DAYS_LOAD, DAYS_RUN = 5, 120

#: PURGESIM_FUZZ=10 multiplies every example count by 10 (a deeper search, by hand); CI
#: (CI set) draws the same examples every time, so that its verdict does not depend on luck
FUZZ = max(1, int(os.environ.get("PURGESIM_FUZZ", "1") or 1))
SETTINGS = dict(deadline=None, derandomize=bool(os.environ.get("CI")),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])

# =============================================================================================
# values and TOML
# =============================================================================================

_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
_keys = st.one_of(st.sampled_from(["x", "bogus", "enabled", "name", "p", "1937", "", "a b",
                                   "ключ", "é", "\n", "$"]), _text)
_odd_strings = st.sampled_from(["", " ", "1937-02-30", "1937-13-01", "1937-06-01", "nan",
                                "inf", "1e999", "true", "0x10", "１２３", "\x00", "\u2028",
                                "ümlaut", "a" * 300])
_scalars = st.one_of(
    st.integers(-3, 3),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 5e-324, 1e-300, 0.5, 1.0, 2.0, 1e300, math.inf, -math.inf,
                     math.nan]),
    st.booleans(),
    _text,
    _odd_strings,
    st.dates(),
)
VALUES = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(_keys, inner, max_size=3)), max_leaves=6)


def _field_values(info: Any, wild: bool = True) -> st.SearchStrategy[Any]:
    """Values of a field: inside its declared range, on both sides of each bound, of its type,
    or (when `wild`) anything at all."""
    lo = hi = None
    for m in info.metadata:
        for attr in ("ge", "gt"):
            lo = getattr(m, attr, None) if getattr(m, attr, None) is not None else lo
        for attr in ("le", "lt"):
            hi = getattr(m, attr, None) if getattr(m, attr, None) is not None else hi
    near: list[Any] = []
    for b in (lo, hi):
        if b is not None:
            near += [b, b - 1, b + 1, b * 10, -b]
    ann = info.annotation
    args = typing.get_args(ann)
    is_int = ann is int or int in args
    inside: st.SearchStrategy[Any] | None = None
    if lo is not None and hi is not None:
        inside = st.integers(int(lo), int(hi)) if is_int else \
            st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    elif lo is not None:
        inside = st.integers(int(lo), int(lo) + 100) if is_int else st.floats(lo, lo + 100)
    if is_int:
        near = [int(x) for x in near if math.isfinite(x)]
    if ann is bool:
        near = [True, False]
    if ann is str:
        near = ["", "x", "Leader"]
    if ann is dt.date or dt.date in args:
        inside = st.dates(dt.date(1936, 6, 1), dt.date(1938, 6, 1))
        near = [dt.date(1, 1, 1), dt.date(9998, 12, 31), "1937-02-30", "1937-06-01"]
    if typing.get_origin(ann) is typing.Literal:
        near = list(args) + ["nope"]
    if info.default not in (None, PydanticUndefined) and not callable(info.default):
        near.append(info.default)
    options = [st.sampled_from(near)] if near else []
    if inside is not None:
        options += [inside, inside]
    if wild or not options:
        options.append(VALUES)
    return st.one_of(*options)


_BARE = re.compile(r"[A-Za-z0-9_-]+")


def toml_string(s: str) -> str:
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_key(k: str) -> str:
    return k if _BARE.fullmatch(k) else toml_string(k)


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return toml_string(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def toml_document(doc: dict[str, Any], sections: bool) -> str:
    """`base = "toy"` and the overrides; tables as [sections] or inline, at random."""
    lines = ['base = "toy"']
    later: list[str] = []
    for k, v in doc.items():
        if sections and isinstance(v, dict) and v:
            later.append(f"\n[{toml_key(k)}]")
            later += [f"{toml_key(kk)} = {toml_value(vv)}" for kk, vv in v.items()]
        elif sections and isinstance(v, list) and v and all(
                isinstance(x, dict) for x in v):
            for x in v:
                later.append(f"\n[[{toml_key(k)}]]")
                later += [f"{toml_key(kk)} = {toml_value(vv)}" for kk, vv in x.items()]
        else:
            lines.append(f"{toml_key(k)} = {toml_value(v)}")
    return "\n".join(lines + later) + "\n"


# =============================================================================================
# scenario documents derived from toy
# =============================================================================================

SCALAR_FIELDS = [n for n, f in Scenario.model_fields.items()
                 if n not in ("base", "regions", "named", "factions", "operations", "events",
                              "cohorts") and n not in MECHANISMS]
LISTS: dict[str, type] = {"regions": Region, "operations": Operation, "events": Event,
                          "named": Named, "factions": Faction}
FACTION = {"name": "Mountain", "size": 30}


def _toy_list(key: str) -> list[dict[str, Any]]:
    items = [dict(x) for x in TOY.get(key, [])]
    return items or ([dict(FACTION)] if key == "factions" else [])


@st.composite
def mutation(draw: st.DrawFn, wild: bool = True) -> tuple[str, Any, list[str]]:
    """(top-level key, its new value, the names a refusal should mention).  Not `wild`: only
    values of the right type, mostly within range, in known fields."""
    kinds = ["scalar", "mechanism", "mechanism", "mechanism", "cohorts", "list", "list"]
    if wild:
        kinds += ["list", "unknown", "retype"]
    kind = draw(st.sampled_from(kinds))
    bogus = ["bogus"] if wild else []
    if kind == "scalar":
        name = draw(st.sampled_from(SCALAR_FIELDS))
        return name, draw(_field_values(Scenario.model_fields[name], wild)), [name]
    if kind == "mechanism":
        mech = draw(st.sampled_from(list(MECHANISMS)))
        fields = MECHANISMS[mech].Params.model_fields
        name = draw(st.sampled_from(list(fields) + bogus))
        value = draw(_field_values(fields[name], wild)) if name in fields else draw(VALUES)
        return mech, {name: value}, [mech, name]
    if kind == "cohorts":
        name = draw(st.sampled_from(list(Cohorts.model_fields) + bogus))
        value = draw(_field_values(Cohorts.model_fields[name], wild)) \
            if name in Cohorts.model_fields else draw(VALUES)
        return "cohorts", {name: value}, ["cohorts", name]
    if kind == "list":
        key = draw(st.sampled_from(list(LISTS)))
        items = _toy_list(key)
        model = LISTS[key]
        hows = ["field", "field", "field", "add"] + (["drop", "empty", "extra"] if wild else [])
        how = draw(st.sampled_from(hows))
        i = draw(st.integers(0, max(len(items) - 1, 0)))
        if how == "field" and items:
            name = draw(st.sampled_from(list(model.model_fields) + bogus))
            items[i][name] = draw(_field_values(model.model_fields[name], wild)) \
                if name in model.model_fields else draw(VALUES)
            return key, items, [key, name]
        if how == "drop" and items and items[i]:
            name = draw(st.sampled_from(sorted(items[i])))
            del items[i][name]
            return key, items, [key, name]
        if how == "add" and items:
            items.append(dict(items[i]))
            return key, items, [key]
        if how == "extra":
            items.append(draw(st.dictionaries(_keys, VALUES, max_size=3)))
            return key, items, [key]
        return key, items if not wild else [], [key]
    if kind == "unknown":
        return draw(_keys.filter(lambda k: k not in Scenario.model_fields)), draw(VALUES), []
    # a table or a list replaced by a value of another type
    key = draw(st.sampled_from(["cohorts", "regions", "events", "operations", "named",
                                "camp_mortality", "sources", *MECHANISMS]))
    return key, draw(VALUES), [key]


@st.composite
def scenario_doc(draw: st.DrawFn, wild: bool = True) -> tuple[str, list[str]]:
    """A TOML document `base = "toy"` + 1 to 3 overrides, and the names they touch."""
    doc: dict[str, Any] = {}
    names: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        key, value, touched = draw(mutation(wild))
        if isinstance(value, dict) and isinstance(doc.get(key), dict):
            doc[key].update(value)
        else:
            doc[key] = value
        names += touched + [key]
    return toml_document(doc, sections=draw(st.booleans())), names


@st.composite
def malformed(draw: st.DrawFn) -> bytes:
    """A generated document damaged at random: truncated, corrupted, duplicated, not UTF-8."""
    text, _ = draw(scenario_doc())
    data = text.encode()
    how = draw(st.sampled_from(["truncate", "insert", "duplicate", "date", "bytes"]))
    at = draw(st.integers(0, len(data)))
    if how == "truncate":
        return data[:at]
    if how == "insert":
        return data[:at] + draw(st.sampled_from([b"[", b"]", b"{", b"}", b"=", b'"', b"'",
                                                 b"\n", b"#", b",", b".", b"[[", b"\x00"])) \
            + data[at:]
    if how == "duplicate":
        lines = data.split(b"\n")
        j = draw(st.integers(0, len(lines) - 1))
        return b"\n".join(lines[: j + 1] + [lines[j]] + lines[j + 1:])
    if how == "date":
        bad = draw(st.sampled_from([b"1937-02-30", b"1937-13-01", b"1937-00-10", b"0000-01-01",
                                    b"1937-2-3", b"99999-01-01"]))
        return data + b"\nstart = " + bad + b"\n"
    return data[:at] + draw(st.binary(min_size=1, max_size=4)) + data[at:]


# =============================================================================================
# the property
# =============================================================================================


def _simulated_people(sc: Scenario) -> int:
    """Simulated people: the memory estimate's count, plus regional police and factions,
    which it leaves out."""
    extra = sum(r.police_officers or 0 for r in sc.regions) + sum(f.size for f in sc.factions)
    return (estimate_memory(sc) - FIXED_BYTES) // 14 + extra * sc.household_size


def _assert_one_line(msg: str, what: str) -> None:
    assert msg.strip(), f"empty message for {what}"
    assert len(msg.splitlines()) == 1, f"message of more than one line for {what}: {msg!r}"


def check_refusal(e: ScenarioError, names: list[str], what: str) -> None:
    msg = str(e)
    _assert_one_line(msg, what)
    if names:  # the message names a field the input touched (or the field it broke)
        words = set(names) | {"start", "end", "named", "event", "operation", "region",
                              "faction", "cohorts", "scale", "line", "TOML", "UTF-8"}
        assert any(w and w in msg for w in words), f"message names no field: {msg!r}\n{what}"


def load_or_refuse(path: Path, names: list[str], what: str,
                   sets: list[str] | None = None) -> Scenario | None:
    try:
        sc = load(str(path), sets=sets)
    except ScenarioError as e:
        event("refused")
        check_refusal(e, names, what)
        return None
    except Exception as e:  # noqa: BLE001 - any other exception is the bug we look for
        pytest.fail(f"{type(e).__name__} while loading: {e}\n{what}")
    event("loaded")
    return sc


def run_or_refuse(sc: Scenario, days: int, names: list[str], what: str) -> None:
    """Simulate `days` days with the invariants checked.  A scenario too large to simulate
    here is not run; if it needs more than 1 GiB it must be refused, before anything is
    allocated, on a machine with less memory than it needs."""
    if _simulated_people(sc) > MAX_PEOPLE_RUN:
        need = estimate_memory(sc)
        if need > 2**30:
            with mock.patch.dict(os.environ, {"PURGESIM_MEMORY_LIMIT": str(need - 1)}):
                with pytest.raises(ScenarioError) as e:
                    check_memory(sc)
            _assert_one_line(str(e.value), what)
        return
    try:
        sim = Sim(sc, check=True)
        for d in range(min(days, sc.n_days)):
            sim.step(d)
    except ScenarioError as e:
        check_refusal(e, names, what)
    except Exception as e:  # noqa: BLE001
        pytest.fail(f"{type(e).__name__} while simulating: {e}\n{what}")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@settings(max_examples=200 * FUZZ, **SETTINGS)
@given(doc=scenario_doc())
def test_fuzzed_scenario_files_load_or_are_refused(folder: Path,
                                                   doc: tuple[str, list[str]]) -> None:
    """200 documents derived from toy: each loads and runs a few days, or is refused with one
    line naming a field it touched."""
    text, names = doc
    path = folder / "fuzzed.toml"
    path.write_text(text, encoding="utf-8")
    what = f"input:\n{text}"
    sc = load_or_refuse(path, names, what)
    if sc is not None:
        run_or_refuse(sc, DAYS_LOAD, names, what)


@settings(max_examples=120 * FUZZ, **SETTINGS)
@given(data=malformed())
def test_malformed_toml_is_refused_with_one_line(folder: Path, data: bytes) -> None:
    """Damaged documents (truncated, corrupted, duplicated keys, impossible dates, bytes that
    are not UTF-8): loaded, or refused with one line."""
    path = folder / "malformed.toml"
    path.write_bytes(data)
    sc = load_or_refuse(path, [], f"input bytes: {data!r}")
    if sc is not None:
        run_or_refuse(sc, DAYS_LOAD, [], f"input bytes: {data!r}")


@settings(max_examples=25 * FUZZ, **SETTINGS)
@given(doc=scenario_doc(wild=False))
def test_fuzzed_scenarios_that_load_run_for_months(folder: Path,
                                                   doc: tuple[str, list[str]]) -> None:
    """Fewer documents, with values of the right types and mostly in range, simulated for
    their first 120 days (the toy's first events, show
    trials and the start of its operations) with every invariant checked."""
    text, names = doc
    path = folder / "months.toml"
    path.write_text(text, encoding="utf-8")
    sc = load_or_refuse(path, names, f"input:\n{text}")
    if sc is not None:
        run_or_refuse(sc, DAYS_RUN, names, f"input:\n{text}")


# =============================================================================================
# --set NAME=VALUE
# =============================================================================================

SET_NAMES = ["scale", "seed", "start", "end"] + [
    f"{m}.{p}" for m, mod in MECHANISMS.items() for p in mod.Params.model_fields]
SET_FIELDS = {n: Scenario.model_fields[n] for n in ("scale", "seed", "start", "end")} | {
    f"{m}.{p}": f for m, mod in MECHANISMS.items() for p, f in mod.Params.model_fields.items()}
BAD_NAMES = ["confession.nope", "nomech.x", "a.b.c", "", ".", "confession.", ".hazard",
             "Scale", "name", "regions", "cohorts.officers", "base", " scale ", "halt.mode.x"]
SET_VALUES = st.one_of(
    st.sampled_from(["0", "1", "-1", "0.5", "1.5", "2", "1e400", "-1e400", "nan", "inf",
                     "-inf", "+inf", "true", "false", '"text"', "'x'", "[1, 2]", "[]",
                     "{a = 1}", "1937-02-30", "1937-06-01", "1937-01-05", "2100-01-01",
                     "0001-01-01", "9999-12-31", "", " ", "=", "1 # comment", "0x10", "1_000",
                     "1e-300", "5e-324", "endogenous", "coup", "scripted", '"coup"',
                     "1\nbase = 'x'", "9223372036854775808", "1.0e2"]),
    st.integers().map(str),
    st.floats().map(repr),
    _text,
)


@st.composite
def set_items(draw: st.DrawFn) -> list[str]:
    items = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["known"] * 6 + ["bad", "text", "no value"]))
        if kind == "no value":
            items.append(draw(st.sampled_from(SET_NAMES + [""])))
            continue
        name = draw(st.sampled_from(SET_NAMES)) if kind == "known" else \
            draw(st.sampled_from(BAD_NAMES)) if kind == "bad" else draw(_text)
        info = SET_FIELDS.get(name)
        value = draw(SET_VALUES) if info is None or draw(st.booleans()) else \
            toml_value(draw(_field_values(info, wild=False)))
        items.append(f"{name}={value}")
    return items


@settings(max_examples=200 * FUZZ, **SETTINGS)
@given(sets=set_items())
def test_fuzzed_set_overrides_load_or_are_refused(sets: list[str]) -> None:
    """`--set` items on toy: the run starts (a few days simulated) or is refused with one line
    naming one of the items' names."""
    names = [s.split("=", 1)[0].strip() for s in sets]
    names += [p for n in names for p in n.split(".")] + ["--set"]
    what = f"--set {sets!r}"
    sc = load_or_refuse(Path("toy"), names, what, sets=sets)
    if sc is not None:
        run_or_refuse(sc, DAYS_LOAD, names, what)


# =============================================================================================
# the command line, in process
# =============================================================================================



@settings(max_examples=15 * FUZZ, **SETTINGS)
@given(doc=scenario_doc(wild=False), sets=st.one_of(st.just([]), set_items()))
def test_fuzzed_command_line_runs_or_exits_2(tmp_path_factory: pytest.TempPathFactory,
                                             doc: tuple[str, list[str]],
                                             sets: list[str]) -> None:
    """`purgesim run FILE [--set ...] --out DIR --check` (30 days at most, the invariants
    checked every day): a finished run folder, or exit 2 with one line on stderr, no traceback
    and no folder at all."""
    text, _ = doc
    folder = tmp_path_factory.mktemp("cli-fuzz")
    path = folder / "s.toml"
    path.write_text(text, encoding="utf-8")
    try:
        sc = load(str(path), sets=sets)
    except ScenarioError:
        extra: list[str] = []
    else:
        if _simulated_people(sc) > MAX_PEOPLE_RUN:
            return  # not run here (see run_or_refuse)
        extra = ["--set", f"end={min(sc.end, sc.start + dt.timedelta(days=30))}"]
    args = ["run", str(path), "--out", str(folder / "out"), "--quiet", "--no-report",
            "--check"]
    for s in sets:
        args += ["--set", s]
    code, err = cli_main(*args, *extra)
    event(f"exit {code}")
    what = f"input:\n{text}\nargs: {args + extra}\nstderr: {err}"
    assert "Traceback" not in err, what
    if code == 0:
        assert (folder / "out" / "summary.json").is_file(), what
    else:
        assert code == 2, what
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), what
        assert not (folder / "out").exists(), what
    assert not [p.name for p in folder.iterdir() if ".tmp-" in p.name], what


@pytest.mark.parametrize("args", [
    ["toy"],
    ["ussr-1937", "--scale", "0.0005", "--set", "end=1936-12-31"],
], ids=["toy", "ussr-1937"])
def test_check_flag_verifies_the_invariants_every_day(tmp_path: Path, args: list[str]) -> None:
    """`purgesim run ... --check` calls the invariant checker after every simulated day (toy
    whole; ussr-1937 at scale 0.0005 over 1936, the elite block at its real size; the whole
    four years are checked in test_invariants.py)."""
    from purgesim import invariants

    days: list[int] = []
    real = invariants.check_day

    def counting(sim: Sim, day: int) -> None:
        days.append(day)
        real(sim, day)

    with mock.patch.object(invariants, "check_day", counting):
        code, err = cli_main("run", *args, "--out", str(tmp_path / "run"), "--check",
                             "--quiet", "--no-report")
    assert code == 0, err
    n = load(args[0], sets=args[4:5]).n_days
    assert days == list(range(n))
    assert (tmp_path / "run" / "summary.json").is_file()


# =============================================================================================
# bugs found by fuzzing, kept as regressions, through the real command line
# =============================================================================================

BAD_FILES = {
    # each was a traceback or a hang before the scenario loader refused it
    "not UTF-8": (b'base = "toy"\nname = "\xff\xfe"\n', ["UTF-8", "byte"]),
    "infinite limit": (b'base = "toy"\n[[operations]]\nkey = "x"\nname = "x"\n'
                       b'target = "element"\nstart = 1937-02-01\ncat1 = inf\ncat2 = 1\n',
                       ["operations.0.cat1", "inf", "1e+09"]),
    "police officers (hang)": (b'base = "toy"\n[[regions]]\nname = "A"\npopulation = 1000\n'
                               b'police_officers = 1000000000000\n',
                               ["regions.0.police_officers", "1000000"]),
    "tribunal setting out of range": (b'base = "toy"\n[[events]]\ndate = 1937-01-05\n'
                                      b'kind = "tribunal"\nsettings = {p_shot = 5.0}\n',
                                      ["p_shot", "5.0", "0 <= p_shot <= 1"]),
    "no region": (b'base = "toy"\nregions = []\n', ["regions"]),
    "end in the year 9999": (b'base = "toy"\nstart = 9999-12-01\nend = 9999-12-31\n',
                             ["end", "9999-12-31", "9999-01-01"]),
    "negative camp mortality": (b'base = "toy"\ncamp_mortality = { "1937" = -3.0 }\n',
                                ["camp_mortality.1937", "-3.0", ">= 0"]),
}


@pytest.fixture(scope="module")
def bad_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Any, Path]]:
    jobs, folders = {}, {}
    for case, (data, _) in BAD_FILES.items():
        folders[case] = tmp_path_factory.mktemp("bad")
        (folders[case] / "bad.toml").write_bytes(data)
        jobs[case] = (["run", "bad.toml", "--out", "out"], folders[case], {})
    res = run_cli_many(jobs)
    return {k: (res[k], folders[k]) for k in jobs}


@pytest.mark.parametrize("case", list(BAD_FILES))
@pytest.mark.slow
def test_bad_file_exits_2_with_one_line_and_no_folder(bad_runs: dict, case: str) -> None:
    res, folder = bad_runs[case]
    assert res.returncode == 2, (res.returncode, res.stderr[-2000:])
    assert "Traceback" not in res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    for word in BAD_FILES[case][1]:
        assert word in lines[0], (word, lines[0])
    assert sorted(p.name for p in folder.iterdir()) == ["bad.toml"]
