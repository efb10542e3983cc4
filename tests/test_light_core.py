"""The light core: everything but `calibrate` and `sensitivity` works without the fit extra.

pyabc, SALib and Dask's distributed are the optional `purgesim[fit]` packages.  A real fresh
virtual environment with only the core install is measured in docs/performance.md
("Install"); here the missing extra is simulated in a subprocess by a meta-path finder that
refuses to import those packages, as an environment without them would.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, cli_env

#: installed in the subprocess before purgesim is imported: the fit extra is "not installed"
BLOCKER = '''
import sys


class NoFitExtra:
    """An environment without pip install 'purgesim[fit]'."""

    blocked = ("pyabc", "SALib", "distributed", "dask")

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.blocked:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, NoFitExtra())
'''


def run_without_fit(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Python `code` in a subprocess where the fit extra's packages cannot be imported."""
    return subprocess.run([sys.executable, "-c", BLOCKER + code], cwd=cwd, env=cli_env(),
                          capture_output=True, text=True, timeout=300)


def cli_without_fit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`purgesim ARGS` where the fit extra is not installed."""
    return run_without_fit("from purgesim.cli import main\n"
                           f"sys.argv = ['purgesim', *{list(args)!r}]\nmain()\n", cwd)


def test_the_fit_extra_is_not_a_core_dependency() -> None:
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"]).lower()
    for name in ("pyabc", "salib", "distributed", "dask"):
        assert name not in core, name
    fit = " ".join(project["optional-dependencies"]["fit"]).lower()
    for name in ("pyabc", "salib", "distributed"):
        assert name in fit, name


def test_no_core_module_imports_the_fit_packages(tmp_path: Path) -> None:
    """Every module but calibrate and sensitivity imports without pyabc, SALib, Dask."""
    code = '''
import importlib, pkgutil
import purgesim
names = [m.name for m in pkgutil.walk_packages(purgesim.__path__, "purgesim.")
         if m.name not in ("purgesim.calibrate", "purgesim.sensitivity", "purgesim.__main__")]
for n in names:
    importlib.import_module(n)
print(len(names))
'''
    res = run_without_fit(code, tmp_path)
    assert res.returncode == 0, res.stderr
    assert int(res.stdout.strip()) > 20


@pytest.mark.parametrize("command", [
    ["calibrate", "toy", "--budget", "10", "--out", "cal"],
    ["sensitivity", "toy", "--trajectories", "2", "--out", "sens"],
])
def test_fit_commands_without_the_extra_say_what_to_install(tmp_path: Path,
                                                            command: list[str]) -> None:
    res = cli_without_fit(*command, cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith(f"error: purgesim {command[0]}: needs ")
    assert "pip install 'purgesim[fit]'" in lines[0]
    assert res.stdout.strip() == ""
    assert list(tmp_path.iterdir()) == []  # nothing written


@pytest.mark.slow
def test_core_commands_run_without_the_fit_extra(tmp_path: Path) -> None:
    """run (with its report), compare, story, params and history on the core install."""
    res = cli_without_fit("run", "toy", "--out", "run", "--quiet", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "run" / "summary.json").is_file()
    assert (tmp_path / "run" / "report.html").is_file()
    for args in (["compare", "run", "--json"], ["params", "toy", "--json"],
                 ["history", "--json"]):
        res = cli_without_fit(*args, cwd=tmp_path)
        assert res.returncode == 0, (args, res.stderr)
        assert res.stdout.strip(), args


def test_the_readme_test_command_and_ci_install_the_fit_extra() -> None:
    """The tests of calibrate and sensitivity need the extra: both install it."""
    readme = (REPO / "README.md").read_text()
    quickstart = readme.split("## Quickstart", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [ln for ln in quickstart.splitlines() if ln.strip()]
    assert len(commands) == 2, commands
    assert commands[1] == "python3 -m pip install -e '.[test,fit]' && python3 -m pytest"
    assert "-e '.[test,fit]'" in (REPO / ".ci" / "run").read_text()
