"""The ODD description (docs/model.md) says what the code does, where that can be checked.

test_docs.py checks that every declared parameter and every phase is named in the document
and that its generated tables are up to date (docs/gen_params.py --check).  This module checks
the statements of the prose that can be checked mechanically, in this process (no
subprocess, no simulation):

* the phases of section 3 (the generated list and the numbered prose) are `engine.PLAN`, in
  its order, each with its mechanism and method;
* the states, causes, tie kinds, posts, cohorts and events the document lists are those of
  `purgesim.codes`;
* every `X.enabled` switch the document names belongs to a mechanism whose code reads its
  switch; no sentence says a switch is never read; every mechanism's section says what
  switching it off does;
* every row of a parameter table is a declared parameter of its mechanism (and every declared
  parameter has its row, in order);
* every backticked reference to the code (`module.name`, `Sim.method`, `mechanism.param`,
  the engine services of section 7.0 with their arguments) names something that exists.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

from purgesim import codes
from purgesim.engine import PLAN, Sim
from purgesim.mechanisms import MECHANISMS
from purgesim.params import describe
from purgesim.population import Population
from purgesim.scenario import Scenario, load

DOC = Path(__file__).resolve().parent.parent / "docs" / "model.md"
BLOCK = re.compile(r"<!-- params:begin (?P<key>[\w-]+) -->\n(?P<body>.*?)"
                   r"<!-- params:end (?P=key) -->", re.S)


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def prose(doc: str) -> str:
    """The document without its generated blocks (what a person wrote)."""
    return BLOCK.sub("", doc)


def blocks(doc: str) -> dict[str, str]:
    return {m["key"]: m["body"] for m in BLOCK.finditer(doc)}


def between(text: str, start: str, end: str) -> str:
    """The text from the first `start` to the next `end` after it."""
    i = text.index(start)
    return text[i:text.index(end, i + len(start))]


def mechanism_sections(prose: str) -> dict[str, str]:
    """Section 7's subsections by mechanism key (the heading names `mechanisms/KEY.py`)."""
    out = {}
    parts = re.split(r"(?m)^(?=### 7\.)", between(prose, "## 7. Submodels", "## 8."))
    for part in parts:
        m = re.match(r"### 7\.\d+ .*`mechanisms/(\w+)\.py`", part)
        if m:
            out[m[1]] = part
    return out


# ------------------------------------------------------------------------------ phases


def test_generated_plan_is_engine_plan(doc: str) -> None:
    lines = [ln for ln in blocks(doc)["plan"].splitlines() if re.match(r"\s*\d+\.", ln)]
    phases = [re.match(r"\s*\d+\. (.+?)\s+\((\w+)\.(\w+)\)$", ln) for ln in lines[:-1]]
    assert all(phases), lines
    assert [(m[1], m[2], m[3]) for m in phases] == PLAN  # type: ignore[index]
    assert lines[-1].split() == [f"{len(PLAN) + 1}.", "recording"]


def test_numbered_phases_of_section_3_are_engine_plan(prose: str) -> None:
    """The prose list that explains each phase names them in the order of the plan."""
    sec = between(prose, "## 3. Process overview", "## 4.")
    items = re.findall(r"(?m)^(\d+)\. \*\*(.+?)\*\*(?: \(`(\w+)\.(\w+)`\))?", sec)
    assert [int(n) for n, *_ in items] == list(range(1, len(PLAN) + 2))
    assert [(name, mech, meth) for _, name, mech, meth in items[:-1]] == PLAN
    assert items[-1][1:] == ("recording", "", "")


# ------------------------------------------------------------------------------ codes


def test_state_table_is_codes_state(prose: str) -> None:
    sec = between(prose, "#### The person state machine", "#### Causes")
    rows = re.findall(r"(?m)^\| (\d+) \| `([A-Z_]+)` \|", sec)
    assert [(int(c), n) for c, n in rows] == [(int(s), s.name) for s in codes.State]
    assert set(re.findall(r"`([A-Z_]+)` are the states \*\*at large\*\*",
                          sec.replace("\n", " "))) <= {s.name for s in codes.State}
    at_large = re.search(r"((?:`\w+`, )*`\w+` and `\w+`) are the states \*\*at large\*\*",
                         sec.replace("\n", " "))
    assert at_large
    assert {codes.State[n] for n in re.findall(r"`(\w+)`", at_large.group(1))} == \
        set(codes.AT_LARGE)


def test_cause_table_is_codes_cause(prose: str) -> None:
    sec = between(prose, "#### Causes", "#### Posts and cohorts")
    rows = re.findall(r"(?m)^\| (\d+) \| `([A-Z_]+)` \|", sec)
    assert [(int(c), n) for c, n in rows] == [(int(c), c.name) for c in codes.Cause
                                              if c != codes.Cause.NONE]
    top = between(sec, "`ORDER`, `QUOTA`", "**top-down**")
    bottom = between(sec, "**top-down**", "**bottom-up**")
    assert set(re.findall(r"`([A-Z_]+)`", top)) == {codes.Cause(c).name
                                                   for c in codes.TOP_DOWN}
    assert set(re.findall(r"`([A-Z_]+)`", bottom)) == {codes.Cause(c).name
                                                      for c in codes.BOTTOM_UP}


def test_every_event_is_named(prose: str) -> None:
    sec = between(prose, "#### The person state machine", "#### Posts and cohorts")
    missing = [e.name for e in codes.Event if f"`{e.name}`" not in sec]
    assert not missing, f"events of codes.Event not described in section 2.1: {missing}"


def test_tie_kinds_are_codes_tie(prose: str) -> None:
    sec = between(prose, "### 2.2 Ties", "**Keyed Feistel")
    assert [(n, int(c)) for n, c in re.findall(r"`([A-Z_]+)` \((\d+)\)", sec)] == [
        (t.name, int(t)) for t in codes.Tie]


def test_posts_and_cohorts_are_codes(prose: str) -> None:
    sec = between(prose, "Posts (`codes.Post`)", "Cohorts (`codes.Cohort`")
    assert set(re.findall(r"`([A-Z_]+)`", sec)) == {p.name for p in codes.Post}
    sec = between(prose, "Cohorts (`codes.Cohort`", "How heads receive")
    assert set(re.findall(r"`([A-Z_0-9]+)`", sec)) == {c.name for c in codes.Cohort}


# ------------------------------------------------------------------------------ switches


def reads_its_switch(key: str) -> bool:
    src = Path(inspect.getfile(MECHANISMS[key])).read_text(encoding="utf-8")
    return bool(re.search(r"\bself\.on\b|\.enabled\b", src))


def test_every_switch_named_is_read_by_the_code(prose: str) -> None:
    named = set(re.findall(r"`([a-z]\w*)\.enabled`", prose))  # not `Params.enabled`
    assert named, "no `X.enabled` in docs/model.md"
    assert named <= set(MECHANISMS), named - set(MECHANISMS)
    assert [k for k in named if not reads_its_switch(k)] == []
    for key in MECHANISMS:  # and every mechanism has a switch that does something
        assert reads_its_switch(key), key


def test_no_sentence_says_a_switch_is_ignored(prose: str) -> None:
    for sentence in re.split(r"(?<=[.;])\s", prose.replace("\n", " ")):
        if ".enabled" in sentence:
            assert not re.search(r"no effect|never read|is ignored|without effect", sentence) \
                or "have since been fixed" in sentence, sentence


def test_every_mechanism_section_says_what_switching_off_does(prose: str) -> None:
    sections = mechanism_sections(prose)
    assert set(sections) == set(MECHANISMS), set(MECHANISMS) ^ set(sections)
    said = re.compile(r"[Ss]witch(ed|ing)\b[^.]{0,60}\boff\b|`\w+\.enabled`|"
                      r"\b(if|when|only if|unless)\b[^.]{0,30}\b(enabled|disabled)\b")
    silent = [k for k, text in sections.items() if not said.search(text.replace("\n", " "))]
    assert not silent, f"sections that do not say what switching off does: {silent}"


# ------------------------------------------------------------------------------ parameters


@pytest.fixture(scope="module")
def declared() -> dict[str, list[dict]]:
    sc = load("ussr-1937")
    return {key: describe(sc.mechanism_params(key), key) for key in MECHANISMS}


def table_names(body: str) -> list[str]:
    return re.findall(r"(?m)^\| `([\w.]+)` \|", body)


def test_parameter_tables_are_the_declared_parameters(doc: str,
                                                      declared: dict[str, list[dict]]) -> None:
    found = blocks(doc)
    for key, rows in declared.items():
        assert key in found, f"no parameter table for {key}"
        assert table_names(found[key]) == [r["name"] for r in rows], key
        free = {r["name"] for r in rows if r["free"]}
        marked = set(re.findall(r"(?m)^\| `([\w.]+)` \|.*\| \*\*free\*\* \|", found[key]))
        assert marked == free, key
    all_free = [r["name"] for key in MECHANISMS for r in declared[key] if r["free"]]
    assert table_names(found["free"]) == all_free


def test_every_parameter_named_in_the_prose_is_declared(prose: str,
                                                        declared: dict[str, list[dict]]) -> None:
    names = {r["name"] for rows in declared.values() for r in rows}
    methods = {k: {n for n, _ in inspect.getmembers(m.Mechanism)} for k, m in MECHANISMS.items()}
    unknown = [f"{k}.{a}" for k, a in re.findall(r"`(\w+)\.(\w+)`", prose)
               if k in MECHANISMS and f"{k}.{a}" not in names and a not in methods[k]]
    assert not unknown, f"`mechanism.name` that is neither a parameter nor a method: {unknown}"


# ------------------------------------------------------------------------------ references


#: backticked dotted names that are not code: files, summary.json keys, scenario-file keys
NOT_CODE = re.compile(r"\.(py|json|parquet|csv|toml|md)$|^(events|people|cohorts|owner|"
                      r"mechanism|Params)\.")
CLASSES = {"Sim": Sim, "Population": Population}


def _has(obj: object, attr: str) -> bool:
    if hasattr(obj, attr) or attr in getattr(obj, "__dataclass_fields__", {}):
        return True
    if inspect.isclass(obj):  # instance attributes: assigned somewhere in the class
        return re.search(rf"self\.{attr}\b\s*(:[^=]*)?=", inspect.getsource(obj)) is not None
    return False


def test_code_references_exist(prose: str) -> None:
    refs = set(re.findall(r"`([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)(?:\([^`]*\))?`", prose))
    broken, checked = [], 0
    for ref in sorted(refs):
        head, *rest = ref.split(".")
        if NOT_CODE.search(ref) or head in MECHANISMS:
            continue  # mechanisms: test_every_parameter_named_in_the_prose_is_declared
        if head in CLASSES:
            obj: object = CLASSES[head]
        elif head == "scenario" and rest[0] in Scenario.model_fields:
            checked += 1
            continue
        else:
            try:
                obj = importlib.import_module(f"purgesim.{head}")
            except ImportError:
                broken.append(ref)
                continue
        for attr in rest:
            if not _has(obj, attr):
                broken.append(ref)
                break
            obj = getattr(obj, attr, None)
        checked += 1
    assert checked >= 20, checked
    assert not broken, f"references to code that does not exist: {broken}"


def test_engine_services_have_the_documented_arguments(prose: str) -> None:
    sec = between(prose, "### 7.0 Shared machinery", "### 7.1")
    services = re.findall(r"\*\*`(\w+)\(([^)]*)\)`\*\*", sec)
    assert {name for name, _ in services} >= {"accuse", "arrest", "schedule", "draws"}
    for name, args in services:
        params = list(inspect.signature(getattr(Sim, name)).parameters.values())[1:]
        said = [a.strip() for a in args.split(",")]
        # the arguments named, in order; those left unsaid are optional
        assert said == [p.name for p in params[:len(said)]], (name, params)
        assert all(p.default is not p.empty for p in params[len(said):]), (name, params)
