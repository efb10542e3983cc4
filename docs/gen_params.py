"""Generate the parameter tables of docs/model.md, so that the model description stays true
when defaults change.

The tables come from ``python -m purgesim params SCENARIO --json`` (every declared parameter
of every mechanism: name, value, unit, range, calibration flag, meaning) and, for the
scenario-level settings (scale, seed, household, workplace and acquaintance sizes, dates),
from the scenario loader.  Each table lives in docs/model.md between two markers::

    <!-- params:begin KEY -->
    ...generated table...
    <!-- params:end KEY -->

where KEY is a mechanism key (``orders``, ``quotas``, ...: that mechanism's parameters),
``free`` (all calibration parameters in one table), ``plan`` (the daily order of phases, as
``python -m purgesim plan`` prints it: ``engine.Sim.plan_text()``), or one of the scenario's
inputs: ``scenario`` (scale, seed, sizes, dates), ``regions``, ``cohorts``, ``named``,
``operations``, ``timeline``, ``camp_mortality``, ``sources``.

Usage::

    python docs/gen_params.py            # rewrite the tables in docs/model.md
    python docs/gen_params.py --check    # exit 1 if docs/model.md is out of date
    python docs/gen_params.py --print    # print the tables, change nothing
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "model.md"
SCENARIO = "ussr-1937"
#: scenario-level settings listed in the `scenario` table, with unit and meaning
SETTINGS = [
    ("start", "date", "first simulated day"),
    ("end", "date", "last simulated day (inclusive)"),
    ("scale", "share", "share of the mass population simulated (the elite block is never "
                       "scaled)"),
    ("seed", "", "key of every random draw"),
    ("household_size", "people", "rows per household block (H)"),
    ("workplace_size", "people", "positions per workplace block (W)"),
    ("acquaintance_rings", "rings", "keyed ring permutations giving acquaintances (K)"),
    ("immune_leader", "", "the leader can never be accused or arrested"),
    ("country", "", "the record's country the scenario answers to"),
]

BLOCK = re.compile(r"<!-- params:begin (?P<key>[\w-]+) -->\n(?P<body>.*?)"
                   r"<!-- params:end (?P=key) -->", re.S)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def purgesim(*args: str) -> str:
    """The standard output of `python -m purgesim ARGS` run on this checkout."""
    out = subprocess.run([sys.executable, "-m", "purgesim", *args], cwd=ROOT, env=_env(),
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"gen_params: 'purgesim {' '.join(args)}' failed:\n"
                         f"{out.stderr.strip()}")
    return out.stdout


def load_rows(scenario: str = SCENARIO) -> list[dict[str, Any]]:
    """The rows printed by `purgesim params SCENARIO --json`."""
    return json.loads(purgesim("params", scenario, "--json"))


def load_scenario(scenario: str = SCENARIO) -> Any:
    """The validated scenario (for the settings and input tables)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from purgesim.scenario import load

    return load(scenario)


def fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return f"{int(v):,}"
        return f"{v:g}"
    if v == "":
        return '""'
    return str(v)


def _range(r: dict[str, Any]) -> str:
    if r["lo"] is None and r["hi"] is None:
        return "—"
    return f"{fmt(r['lo'])} – {fmt(r['hi'])}"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def mechanism_table(rows: list[dict[str, Any]], scenario: str = SCENARIO) -> str:
    lines = [f"| parameter | {scenario} | unit | range | calibration | meaning |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append("| " + " | ".join([
            f"`{r['name']}`", f"`{fmt(r['value'])}`", _cell(r["unit"]) or "—", _range(r),
            "**free**" if r["free"] else "fixed", _cell(r["meaning"])]) + " |")
    return "\n".join(lines) + "\n"


def free_table(rows: list[dict[str, Any]], scenario: str = SCENARIO) -> str:
    lines = [f"| free parameter | {scenario} | unit | range |", "|---|---|---|---|"]
    for r in rows:
        if r["free"]:
            lines.append(f"| `{r['name']}` | `{fmt(r['value'])}` | {_cell(r['unit']) or '—'} "
                         f"| {_range(r)} |")
    return "\n".join(lines) + "\n"


def _table(head: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_cell(fmt(c)) if c != "" else "—" for c in r) + " |"
              for r in rows]
    return "\n".join(lines) + "\n"


def settings_table(sc: Any, scenario: str = SCENARIO) -> str:
    return _table(["setting", scenario, "unit", "meaning"],
                  [[f"`{n}`", f"`{fmt(getattr(sc, n))}`", u, m] for n, u, m in SETTINGS])


def regions_table(sc: Any) -> str:
    rows = []
    for rg in sc.regions:
        nat = ", ".join(f"{k} {v:g}" for k, v in rg.nationalities.items())
        rows.append([rg.name, rg.population, rg.element_share, rg.party_share,
                     rg.opposition_share,
                     rg.police_officers if rg.police_officers is not None else "by population",
                     getattr(rg, "routine_factor", 1.0), getattr(rg, "shot_factor", 1.0), nat])
    rows.append(["**total**", sum(rg.population for rg in sc.regions)] + [""] * 7)
    return _table(["region", "population", "element_share", "party_share", "opposition_share",
                   "police_officers", "routine_factor", "shot_factor", "diaspora shares"], rows)


def cohorts_table(sc: Any) -> str:
    co = sc.cohorts
    return _table(["cohorts field", "value"],
                  [[f"`{k}`", getattr(co, k)] for k in type(co).model_fields])


def named_table(sc: Any) -> str:
    rows = []
    for n in sc.named:
        flags = ", ".join(f for f, on in (("first government", n.first_government),
                                          ("Central Committee", n.central_committee),
                                          (f"faction {getattr(n, 'faction', '')}",
                                           getattr(n, "faction", ""))) if on)
        rows.append([n.name, n.place, flags, n.state,
                     f"{n.real_fate} {n.real_date}".strip(), n.source])
    return _table(["name", "place", "cohort flags", "initial state", "real fate", "source"], rows)


def operations_table(sc: Any) -> str:
    rows = [[f"`{o.key}`", o.order, o.target, ", ".join(getattr(o, "regions", [])) or "all",
             o.start, o.end or "open", o.cat1, o.cat2, o.source] for o in sc.operations]
    return _table(["key", "order", "target pool", "regions", "start", "end", "cat. 1 limit",
                   "cat. 2 limit", "source"], rows)


def _details(e: Any) -> str:
    out = []
    if e.new:
        out.append(f"new chief {e.new}")
    if e.defendants:
        out.append("defendants " + ", ".join(e.defendants))
    if e.anonymous:
        out.append(f"+{e.anonymous} anonymous ({e.anonymous_from})")
    if e.kind in ("show_trial", "closed_trial"):
        death = "all named" if "*" in e.death else (", ".join(e.death) or "no named")
        out.append(f"death: {death} + {e.anonymous_death} anonymous")
    if e.kind == "limits":
        out.append(f"{e.operation}: +{fmt(e.cat1)} cat. 1, +{fmt(e.cat2)} cat. 2")
    if e.kind in ("intensity", "vigilance"):
        out.append(f"level {fmt(e.level)}")
    if e.kind == "opposition_campaign":
        out.append(f"rate {fmt(e.rate)}/day")
    for k, v in getattr(e, "settings", {}).items():
        out.append(f"trials.{k} = {fmt(v)}")
    return "; ".join(out)


def timeline_table(sc: Any) -> str:
    rows = [[e.date, f"`{e.kind}`", e.label, _details(e), e.source] for e in sc.events]
    return _table(["date", "kind", "label", "details", "source"], rows)


def mortality_table(sc: Any) -> str:
    return _table(["year", "camp mortality (1/year)"],
                  [[y, m] for y, m in sorted(sc.camp_mortality.items())])


def sources_list(sc: Any) -> str:
    return "".join(f"- **{k}**: {_cell(v)}\n" for k, v in sc.sources.items()) or "- (none)\n"


def tables(scenario: str = SCENARIO) -> dict[str, str]:
    """Every generated block, by marker key, in the order of `purgesim params`."""
    rows = load_rows(scenario)
    by_mech: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_mech.setdefault(r["name"].split(".")[0], []).append(r)
    sc = load_scenario(scenario)
    out = {"scenario": settings_table(sc, scenario), "regions": regions_table(sc),
           "cohorts": cohorts_table(sc), "named": named_table(sc),
           "operations": operations_table(sc), "timeline": timeline_table(sc),
           "camp_mortality": mortality_table(sc), "sources": sources_list(sc)}
    out.update({k: mechanism_table(v, scenario) for k, v in by_mech.items()})
    out["free"] = free_table(rows, scenario)
    from purgesim.engine import Sim  # `purgesim plan` prints Sim.plan_text()

    out["plan"] = "```\n" + Sim.plan_text().rstrip("\n") + "\n```\n"
    return out


def blocks_in(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for m in BLOCK.finditer(text):
        if m["key"] in found:
            raise SystemExit(f"gen_params: block {m['key']!r} appears twice in {DOC.name}")
        found[m["key"]] = m["body"]
    return found


def problems(text: str, generated: dict[str, str]) -> list[str]:
    """Why the doc is not up to date (empty when it is)."""
    found = blocks_in(text)
    out = [f"no block <!-- params:begin {k} --> ... <!-- params:end {k} -->"
           for k in generated if k not in found]
    out += [f"block {k!r} is out of date" for k in generated
            if k in found and found[k] != generated[k]]
    out += [f"block {k!r} matches no generated table" for k in found if k not in generated]
    return out


def rewrite(text: str, generated: dict[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        k = m["key"]
        body = generated.get(k, m["body"])
        return f"<!-- params:begin {k} -->\n{body}<!-- params:end {k} -->"

    return BLOCK.sub(sub, text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 1 if the doc is out of date")
    mode.add_argument("--print", action="store_true", help="print the tables")
    ap.add_argument("--doc", type=Path, default=DOC, help="the document to update")
    ap.add_argument("--scenario", default=SCENARIO, help="scenario whose defaults are shown")
    a = ap.parse_args(argv)
    generated = tables(a.scenario)
    if a.print:
        for k, body in generated.items():
            print(f"<!-- params:begin {k} -->\n{body}<!-- params:end {k} -->\n")
        return 0
    text = a.doc.read_text(encoding="utf-8")
    if a.check:
        bad = problems(text, generated)
        if bad:
            print(f"{a.doc}: parameter tables are not up to date "
                  "(run: python docs/gen_params.py):", file=sys.stderr)
            for b in bad:
                print(f"  - {b}", file=sys.stderr)
            return 1
        print(f"{a.doc}: parameter tables are up to date")
        return 0
    missing = [k for k in generated if k not in blocks_in(text)]
    new = rewrite(text, generated)
    if new != text:
        a.doc.write_text(new, encoding="utf-8")
        print(f"{a.doc}: parameter tables rewritten")
    else:
        print(f"{a.doc}: parameter tables already up to date")
    if missing:
        print(f"{a.doc}: no place for the tables of {', '.join(missing)}: add "
              "<!-- params:begin KEY --> / <!-- params:end KEY --> markers", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
