"""Files are data: scenarios are TOML only, nothing a user names is evaluated or unpickled, and
outputs go exactly where the user said.

* Python (or template, or shell) code written in a scenario, or in a `--set` value, stays a
  string: it is never run, and a number field refuses it.
* A scenario is a built-in name or a `.toml` file: a `.py`, `.json` or `.yaml` file, a device,
  a FIFO or a system file named as the scenario or as its `base` is refused with one line
  (and never read: /dev/zero would never end).
* `--out` with `..` in it writes the run where the operating system resolves the path, and
  nothing anywhere else; `--force` replaces only a run folder.
* No module of purgesim calls eval, exec, pickle, marshal or yaml on anything; the one
  unpickling (calibrate: cloudpickle of the function the calibration itself scatters to its
  Dask workers) never reads a file.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path
from unittest import mock

import pytest
from conftest import REPO, cli_main, run_cli, write_scenario

from purgesim.engine import Sim
from purgesim.results import summary
from purgesim.scenario import ScenarioError, load

CODE = [
    "__import__('pathlib').Path('MARKER').touch()",
    "{{ 7 * 7 }} ${HOME} $(touch MARKER) `touch MARKER`",
    "</script><script>alert(1)</script>",
    "!!python/object/apply:os.system ['touch MARKER']",
]


def _toml(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'



# =============================================================================================
# code in a scenario stays text
# =============================================================================================


def test_code_in_a_scenario_stays_a_string(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    name, desc, country, label = CODE
    path = write_scenario(tmp_path, "\n".join([
        f"name = {_toml(name)}", f"description = {_toml(desc)}", f"country = {_toml(country)}",
        f"sources = {{ code = {_toml(label)} }}",
        f"cohort_labels = {{ marshals = {_toml(desc)} }}",
        "[halt]", f"coup_faction = {_toml(name)}"]))
    sc = load(str(path))
    assert (sc.name, sc.description, sc.country) == (name, desc, country)
    assert sc.sources["code"] == label and sc.halt.coup_faction == name
    sim = Sim(sc)
    for day in range(30):
        sim.step(day)
    assert summary(sim)["scenario"] == name
    assert not (tmp_path / "MARKER").exists()


@pytest.mark.parametrize("item", [
    f"confession.hazard={CODE[0]}", f"seed={CODE[0]}", f"scale={CODE[1]}",
    f"start={CODE[0]}", f"halt.mode={CODE[0]}", "confession.hazard=1 + 1",
])
def test_code_in_a_set_value_is_refused(item: str, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A `--set` value is read as a TOML value or kept as text: code in a number, date or
    choice field is refused, never run."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ScenarioError) as e:
        load("toy", [item])
    assert item.split("=")[0] in str(e.value)
    assert not (tmp_path / "MARKER").exists()


def test_code_in_a_set_text_value_stays_text(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    sc = load("toy", [f"halt.coup_faction={CODE[0]}"])
    assert sc.halt.coup_faction == CODE[0]
    assert not (tmp_path / "MARKER").exists()


@pytest.mark.parametrize("body", [
    "__class__ = 'x'", "model_config = { extra = 'allow' }", "__dict__ = {}",
    "[confession]\n__class__ = 'x'", "[confession]\nmodel_config = { extra = 'allow' }",
    "[[regions]]\nname = 'A'\npopulation = 10\n__init__ = 1",
])
def test_python_attribute_names_are_unknown_fields(tmp_path: Path, body: str) -> None:
    with pytest.raises(ScenarioError, match="unknown field"):
        load(str(write_scenario(tmp_path, body)))


# =============================================================================================
# scenarios are TOML files (or built-in names), nothing else
# =============================================================================================


@pytest.mark.parametrize("name, text", [
    ("s.py", "import pathlib\npathlib.Path('MARKER').touch()\n"),
    ("s.json", '{"base": "toy"}'),
    ("s.yaml", "base: toy\n"),
    ("s.toml.py", 'base = "toy"\n'),
    ("s.pkl", "cos\nsystem\n(S'touch MARKER'\ntR."),
])
def test_only_toml_files_are_scenarios(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       name: str, text: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_text(text)
    with pytest.raises(ScenarioError, match=r"\.toml"):
        load(name)
    with pytest.raises(ScenarioError, match=r"\.toml"):
        load(str(write_scenario(tmp_path, "", base=name)))
    assert not (tmp_path / "MARKER").exists()


@pytest.mark.parametrize("target", ["/etc/passwd", "/etc/hostname", "/dev/zero", "/dev/null",
                                    "/proc/self/environ", "/", "../../../../../../etc/passwd"])
def test_base_cannot_name_a_system_file(tmp_path: Path, target: str) -> None:
    with pytest.raises(ScenarioError) as e:
        load(str(write_scenario(tmp_path, "", base=target)))
    assert target in str(e.value) and "toml" in str(e.value)


def test_devices_and_fifos_named_toml_are_not_read(tmp_path: Path) -> None:
    """A symbolic link `x.toml` to /dev/zero, or a FIFO `y.toml`, is not a file: refused at
    once (reading either would never end)."""
    (tmp_path / "zero.toml").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "fifo.toml")
    for name in ("zero.toml", "fifo.toml"):
        with pytest.raises(ScenarioError, match="not a regular file"):
            load(str(tmp_path / name))
        with pytest.raises(ScenarioError, match="not a regular file"):
            load(str(write_scenario(tmp_path, "", base=str(tmp_path / name))))


def test_a_base_chain_that_loops_is_refused(tmp_path: Path) -> None:
    a = tmp_path / "a.toml"
    a.write_text(f'base = "{tmp_path / "b.toml"}"\n')
    (tmp_path / "b.toml").write_text(f'base = "{a}"\n')
    with pytest.raises(ScenarioError, match="deeper than 5"):
        load(str(a))


def test_base_naming_etc_passwd_exits_2_through_the_command_line(tmp_path: Path) -> None:
    write_scenario(tmp_path, "", name="evil", base="/etc/passwd")
    res = run_cli("run", "evil.toml", "--out", "out", cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "/etc/passwd" in lines[0] and ".toml" in lines[0], lines
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.toml"]


# =============================================================================================
# outputs go where the user said
# =============================================================================================


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_out_with_dotdot_writes_where_the_path_resolves(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """`--out here/../runs/x` from `work/`: the run is `work/runs/x` (where the operating
    system resolves the path); the only other thing made is the folder `work/here` that the
    path walks through; nothing outside `work/`, no temporary folder left."""
    work = tmp_path / "work"
    (work / "here").mkdir(parents=True)
    outside = _tree(tmp_path)
    monkeypatch.chdir(work)
    code, err = cli_main("run", "toy", "--out", "here/../runs/x", "--quiet", "--no-report")
    assert code == 0, err
    assert (work / "runs" / "x" / "summary.json").is_file()
    made = _tree(tmp_path) - outside
    assert {m for m in made if not m.startswith("work/runs/x/")} == {"work/runs",
                                                                       "work/runs/x"}
    assert list((work / "here").iterdir()) == []

    code, err = cli_main("run", "toy", "--out", str(work / "a" / ".." / "abs"), "--quiet",
                         "--no-report")
    assert code == 0, err
    assert (work / "abs" / "summary.json").is_file()
    assert not [p for p in work.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("out", [".", "..", "here/..", "/", "f/x", "f"])
def test_out_that_is_no_run_folder_is_refused_even_with_force(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, out: str) -> None:
    """`--force` replaces a run, never another folder: `--out . --force` (or `..`, `/`, the
    user's home...) used to rename the folder away and delete it after the run.  A path
    through a file, or a file, is refused as well; all before the simulation starts."""
    (tmp_path / "here").mkdir()
    (tmp_path / "here" / "precious.txt").write_text("keep me")
    (tmp_path / "f").write_text("a file")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    monkeypatch.chdir(tmp_path / "here")
    with mock.patch("purgesim.engine.Sim.run", side_effect=AssertionError("ran")):
        code, err = cli_main("run", "toy", "--out", out if out != "f" and out != "f/x"
                             else f"../{out}", "--force", "--quiet", "--no-report")
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "--out" in lines[0] and "allowed" in lines[0], err
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


# =============================================================================================
# nothing is evaluated or unpickled
# =============================================================================================

#: (module, call) pairs allowed, with the reason
ALLOWED = {
    ("calibrate.py", "cloudpickle.loads"): "the function the calibration itself pickled and "
                                            "scattered to its Dask workers; never a file",
    ("stop.py", "exec"): "exec('None'), a constant string: resets CPython's flag of an "
                         "unhandled KeyboardInterrupt so that a stopped command exits 130",
    ("mechanisms/__init__.py", "importlib.import_module"):
        "self-registration: the package's own mechanism modules, found by pkgutil in the "
        "package's own folder; never a name or path from input",
}
FORBIDDEN = {"eval", "exec", "compile", "__import__", "pickle.load", "pickle.loads",
             "cloudpickle.load", "cloudpickle.loads", "dill.load", "dill.loads",
             "marshal.load", "marshal.loads", "shelve.open", "yaml.load",
             "yaml.unsafe_load", "yaml.full_load", "pd.read_pickle", "pandas.read_pickle",
             "np.load", "numpy.load", "joblib.load", "torch.load", "runpy.run_path",
             "importlib.import_module", "importlib.util.spec_from_file_location"}


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return "?"


def test_no_module_evaluates_or_unpickles() -> None:
    found = []
    for path in sorted((REPO / "purgesim").rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _dotted(node.func) in FORBIDDEN:
                key = (path.relative_to(REPO / "purgesim").as_posix(), _dotted(node.func))
                if key not in ALLOWED:
                    found.append(f"{path.relative_to(REPO)}:{node.lineno} {key[1]}")
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", "") or ""]
                bad = {"pickle", "marshal", "shelve", "yaml", "dill"} & set(names)
                if bad:
                    found.append(f"{path.relative_to(REPO)}:{node.lineno} import {bad}")
    assert found == [], found
