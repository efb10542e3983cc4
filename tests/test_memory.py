"""A run that would not fit in memory is refused before anything is allocated."""

from __future__ import annotations

import os
import subprocess
import sys

from purgesim import scenario
from purgesim.society import estimate_memory


def test_estimate_grows_with_scale() -> None:
    small = estimate_memory(scenario.load("ussr-1937", scale=0.01))
    full = estimate_memory(scenario.load("ussr-1937", scale=1.0))
    assert full > 3 * small
    # 162 million people at a few bytes each: between 1 and 8 GiB
    assert 2**30 < full < 8 * 2**30


def test_too_little_memory_exits_2_with_one_line(tmp_path) -> None:
    env = {**os.environ, "PURGESIM_MEMORY_LIMIT": str(100 * 2**20)}
    out = tmp_path / "run"
    p = subprocess.run([sys.executable, "-m", "purgesim", "run", "ussr-1937", "--scale", "1",
                        "--out", str(out), "--quiet"], capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=120)
    assert p.returncode == 2
    lines = [x for x in p.stderr.strip().splitlines() if x.strip()]
    assert len(lines) == 1, p.stderr
    assert "scale" in lines[0] and "GiB" in lines[0]
    assert "Traceback" not in p.stderr
    assert not out.exists()
