"""The model description (docs/model.md) stays true to the code.

* every parameter printed by `purgesim params ussr-1937 --json` is named in the document;
* every phase of the daily plan (`engine.PLAN`) is named in the document;
* the generated tables in the document are up to date (`docs/gen_params.py --check`).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "model.md"
GEN = ROOT / "docs" / "gen_params.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          check=False, timeout=300)


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def params() -> list[dict]:
    out = _run("-m", "purgesim", "params", "ussr-1937", "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_every_parameter_is_described(doc: str, params: list[dict]) -> None:
    assert params, "purgesim params printed no parameter"
    missing = [r["name"] for r in params if f"`{r['name']}`" not in doc]
    assert not missing, f"parameters missing from docs/model.md: {missing}"


def test_every_phase_is_described(doc: str) -> None:
    from purgesim.engine import PLAN

    missing = [name for name, _, _ in PLAN if name not in doc]
    assert not missing, f"phases of engine.PLAN missing from docs/model.md: {missing}"
    for _, mech, meth in PLAN:  # and the method that runs it
        assert f"{mech}.{meth}" in doc, f"{mech}.{meth} missing from docs/model.md"


def test_generated_tables_are_up_to_date() -> None:
    out = _run(str(GEN), "--check")
    assert out.returncode == 0, (
        "docs/model.md is out of date; run `python docs/gen_params.py`\n" + out.stderr)


def _gen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_params", GEN)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_check_detects_stale_and_missing_tables(doc: str) -> None:
    """The comparison behind --check, against the document's own (checked) tables."""
    gen = _gen()
    current = gen.blocks_in(doc)
    assert {"plan", "free", "confession", "regions"} <= set(current)
    assert gen.problems(doc, current) == []
    marker = "<!-- params:begin confession -->\n"
    stale = doc.replace(marker, marker + "| stale row |\n", 1)
    assert gen.problems(stale, current) == ["block 'confession' is out of date"]
    assert gen.rewrite(stale, current) == doc
    begin, end = doc.index("<!-- params:begin halt -->"), doc.index("<!-- params:end halt -->")
    gone = doc[:begin] + doc[end + len("<!-- params:end halt -->"):]
    assert any("halt" in p for p in gen.problems(gone, current))
