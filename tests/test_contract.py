"""The mechanism contract (issue 14): mechanisms use only what `contract.Engine` declares,
the engine provides all of it, and no mechanism reaches another through the engine."""

from __future__ import annotations

import ast
from pathlib import Path

from purgesim.engine import Sim
from purgesim.mechanisms import MECHANISMS
from purgesim.mechanisms.contract import NAMES, Engine
from purgesim.scenario import load

MECH_DIR = Path(__file__).resolve().parents[1] / "purgesim" / "mechanisms"


def _uses_of_sim(path: Path) -> dict[str, int]:
    """Attributes read or called on `sim` or `self.sim` in a module: name -> line."""
    out: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Attribute):
            continue
        v = node.value
        on_sim = (isinstance(v, ast.Name) and v.id == "sim") or (
            isinstance(v, ast.Attribute) and v.attr == "sim"
            and isinstance(v.value, ast.Name) and v.value.id == "self")
        if on_sim:
            out.setdefault(node.attr, node.lineno)
    return out


def test_mechanisms_use_only_what_the_contract_declares() -> None:
    outside = []
    for key, mod in MECHANISMS.items():
        for name, line in _uses_of_sim(Path(mod.__file__)).items():
            if name not in NAMES:
                outside.append(f"mechanisms/{key}.py:{line} sim.{name}")
    assert outside == [], outside


def test_no_mechanism_reaches_another_through_the_engine() -> None:
    for path in sorted(MECH_DIR.glob("*.py")):
        assert "mechs" not in _uses_of_sim(path), path.name


def test_the_contract_imports_nothing_from_the_engine() -> None:
    tree = ast.parse((MECH_DIR / "contract.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.module in ("__future__", "typing"), node.module
        if isinstance(node, ast.Import):
            assert [a.name for a in node.names] == ["numpy"]


def test_the_engine_provides_the_whole_contract() -> None:
    sim = Sim(load("toy"))
    assert isinstance(sim, Engine)
    assert sorted(n for n in NAMES if not hasattr(sim, n)) == []
    for m in sim.mechs.values():
        assert m.sim is sim


def test_the_contract_is_checked_against_something() -> None:
    # the test above would pass on an empty contract: it is not empty, and the mechanisms
    # use most of it
    used = set()
    for mod in MECHANISMS.values():
        used |= set(_uses_of_sim(Path(mod.__file__)))
    assert len(NAMES) > 30 and len(used & NAMES) > 30
