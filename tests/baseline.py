"""The stored baseline: what `toy` and a small `ussr-1937` give today, to prove that a change
meant to be a pure refactor (or a pure speed-up) changes nothing.

For each case the baseline keeps the run's summary.json (as `results.summary` builds it,
cascade statistics included) and SHA-256 digests of the event log and of the daily table
(every column, in order, as bytes).  tests/test_baseline.py compares a fresh run with it.

When a change is *meant* to change the results (a mechanism, a calibrated value), update
the baseline in the same commit and say so in its message:

    python tests/baseline.py --update      # rewrite tests/baseline/*.json
    python tests/baseline.py               # compare only (what the test does), print diffs
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent / "baseline"
# the checkout this file is in, not whichever purgesim is installed (a worktree's own code)
sys.path.insert(0, str(HERE.parent.parent))

#: name -> (scenario, scale, seed)
CASES: dict[str, tuple[str, float | None, int]] = {
    "toy": ("toy", None, 1),
    "ussr-1937-scale0.002": ("ussr-1937", 0.002, 1),
}


def _digest(arrays: list[np.ndarray]) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def snapshot(name: str) -> dict[str, Any]:
    """Run one case and return what the baseline stores."""
    from purgesim.results import daily_table, summary
    from purgesim.runner import simulate

    scenario, scale, seed = CASES[name]
    sim = simulate(scenario, scale=scale, seed=seed)
    s = summary(sim)
    s.pop("version", None)
    log = sim.log.rows
    daily = daily_table(sim)
    return {
        "case": {"scenario": scenario, "scale": scale, "seed": seed},
        "summary": json.loads(json.dumps(s, default=float)),
        "events": {"rows": int(log.size),
                   "sha256": _digest([log[k] for k in log.dtype.names])},
        "daily": {"columns": daily.column_names,
                  "sha256": _digest([daily.column(c).to_numpy(zero_copy_only=False)
                                     for c in daily.column_names if c != "date"])},
    }


def differences(old: Any, new: Any, path: str = "") -> list[str]:
    """Where two JSON values differ (paths), at most a few per branch."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in sorted(set(old) | set(new), key=str):
            if k not in old or k not in new:
                out.append(f"{path}.{k}: only in {'new' if k in new else 'baseline'}")
            else:
                out += differences(old[k], new[k], f"{path}.{k}")
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        out = []
        for i, (a, b) in enumerate(zip(old, new)):
            out += differences(a, b, f"{path}[{i}]")
        return out
    return [] if old == new else [f"{path}: baseline {old!r}, now {new!r}"[:300]]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--update", action="store_true", help="rewrite the stored baseline")
    a = ap.parse_args()
    HERE.mkdir(exist_ok=True)
    bad = 0
    for name in CASES:
        new = snapshot(name)
        path = HERE / f"{name}.json"
        if a.update:
            tmp = path.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(new, indent=1, sort_keys=True) + "\n")
            tmp.replace(path)
            print(f"wrote {path}")
            continue
        diff = differences(json.loads(path.read_text()), new)
        bad += bool(diff)
        print(f"{name}: {'identical' if not diff else f'{len(diff)} differences'}")
        for d in diff[:20]:
            print("  " + d)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
