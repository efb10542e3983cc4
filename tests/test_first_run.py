"""A first run on a fresh machine says that it compiles the kernels (issue 13), once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from purgesim import kernels

REPO = Path(__file__).resolve().parents[1]
MESSAGE = "compiling kernels, first run only"


def test_an_empty_cache_is_cold_and_a_filled_one_warm(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "cache"))
    assert kernels.cold()
    (tmp_path / "cache" / "purgesim").mkdir(parents=True)
    (tmp_path / "cache" / "purgesim" / "rng.uniform-1.py311.nbi").write_bytes(b"")
    assert not kernels.cold()
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    assert not kernels.cold()  # unknown: say nothing rather than something wrong


@pytest.mark.slow
def test_the_first_run_says_it_compiles_and_the_second_does_not(tmp_path: Path) -> None:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba"), "COLUMNS": "120"}
    cmd = [sys.executable, "-m", "purgesim", "run", "toy", "--no-report", "--force"]
    first = subprocess.run([*cmd, "--out", str(tmp_path / "a")], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    assert MESSAGE in first.stderr
    assert list((tmp_path / "numba").rglob("*.nbi"))  # the kernels are now cached
    second = subprocess.run([*cmd, "--out", str(tmp_path / "b")], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr
    assert MESSAGE not in second.stderr
    # the warm-up changes nothing: the same seed gives the same summary
    assert (tmp_path / "a" / "summary.json").read_bytes() == \
        (tmp_path / "b" / "summary.json").read_bytes()
