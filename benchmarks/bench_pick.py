"""What a try of the rejection sampler costs, and where it goes (issue 13).

`population._pick` draws people at large from a pool (people whose traits match) by keyed
tries.  In a sparse pool most of a run's tries fail: at scale 1 the campaign against former
oppositionists draws among the few still at large, about 1 person in 14,000.  This benchmark
builds such a pool over the USSR's 162,658,896 people (1 in 700 in the pool, 95 % of the
pool arrested: ASSUMPTION, the order of magnitude of the scale-1 run in 1937, not a figure
of the record) and measures, in one process:

* ``_pick`` itself: nanoseconds per try over `--calls` calls in one region of 10 million
  people (the tries counted by the plain definition: `max_tries x count` at most, or
  `5 x max_tries` failures in a row);
* its parts, each as a simple loop over the same tries: the keyed hash of a try alone; the
  hash and the coarse map (1 bit per 64 people); the hash, the coarse map and the fine map
  (1 bit a person) behind a branch, as one-by-one tries read them.

    python benchmarks/bench_pick.py            # 4,000 calls
    python benchmarks/bench_pick.py --calls 1000
    python benchmarks/bench_pick.py --tree ../old-checkout   # an earlier commit's _pick

Writes ``benchmarks/results/pick.json`` and prints it.  The load average before and after is
recorded (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

_ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
_ap.add_argument("--calls", type=int, default=4000)
_ap.add_argument("--tree", type=Path, default=Path(__file__).resolve().parents[1],
                 help="the checkout whose purgesim is measured (default: this one)")
ARGS = _ap.parse_args()
sys.path.insert(0, str(ARGS.tree.resolve()))

import numpy as np  # noqa: E402
from numba import njit  # noqa: E402

from purgesim import rng  # noqa: E402
from purgesim.codes import AT_LARGE_LUT, TRAIT_OPPOSITION, State  # noqa: E402
from purgesim.population import _pick, _pool_bits  # noqa: E402

PEOPLE = 162_658_896
OUT = Path(__file__).parent / "results"


@njit(cache=False)
def hash_only(h: np.uint64, lo: int, n: int, tries: int) -> int:
    s = 0
    for k in range(tries):
        s += lo + int(rng.kth(h, k) * n)
    return s


@njit(cache=False)
def hash_and_coarse(h: np.uint64, lo: int, n: int, tries: int, coarse: np.ndarray) -> int:
    s = 0
    for k in range(tries):
        i = lo + int(rng.kth(h, k) * n)
        c = i >> 6
        s += (coarse[c >> 3] >> (c & 7)) & 1
    return s


@njit(cache=False)
def hash_coarse_fine(h: np.uint64, lo: int, n: int, tries: int, coarse: np.ndarray,
                     bits: np.ndarray) -> int:
    s = 0
    for k in range(tries):
        i = lo + int(rng.kth(h, k) * n)
        c = i >> 6
        if (coarse[c >> 3] >> (c & 7)) & 1:
            s += (bits[i >> 3] >> (i & 7)) & 1
    return s


@njit(cache=False)
def count_tries(seed: int, day: int, subject: int, purpose: int, lo: int, hi: int, count: int,
                bits: np.ndarray, state: np.ndarray, at_large: np.ndarray,
                max_tries: int) -> int:
    """The tries one-by-one sampling makes (the plain definition of `_pick`)."""
    n = hi - lo
    found = np.empty(count, dtype=np.int64)
    got = tries = fails = 0
    while got < count and tries < max_tries * count and fails < 5 * max_tries:
        i = lo + int(rng.uniform_k(seed, day, subject, purpose, tries) * n)
        tries += 1
        fails += 1
        if (bits[i >> 3] >> (i & 7)) & 1 and at_large[state[i]]:
            fails = 0
            dup = False
            for j in range(got):
                dup = dup or found[j] == i
            if not dup:
                found[got] = i
                got += 1
    return tries


def load() -> str:
    return " ".join(open("/proc/loadavg").read().split()[:3])


def main() -> None:
    a = ARGS
    g = np.random.default_rng(0)
    traits = np.zeros(PEOPLE, dtype=np.uint8)
    members = g.choice(PEOPLE, PEOPLE // 700, replace=False)
    traits[members] = TRAIT_OPPOSITION
    state = np.full(PEOPLE, int(State.FREE), dtype=np.int8)
    state[members[g.random(members.size) < 0.95]] = int(State.ARRESTED)
    bits, coarse = _pool_bits(traits, TRAIT_OPPOSITION, TRAIT_OPPOSITION)
    lo, hi, count, max_tries = 40_000_000, 50_000_000, 3, 5000
    calls = [(1, d, r, 7) for d in range(a.calls // 5) for r in range(5)]
    args = (traits, TRAIT_OPPOSITION, TRAIT_OPPOSITION, bits, coarse, True, state, AT_LARGE_LUT,
            max_tries)
    _pick(1, 0, 0, 7, lo, hi, count, *args)  # compile
    count_tries(1, 0, 0, 7, lo, hi, count, bits, state, AT_LARGE_LUT, max_tries)
    tries = sum(count_tries(s, d, r, p, lo, hi, count, bits, state, AT_LARGE_LUT, max_tries)
                for s, d, r, p in calls)
    before = load()
    t = time.process_time()
    got = sum(_pick(s, d, r, p, lo, hi, count, *args).size for s, d, r, p in calls)
    pick_s = time.process_time() - t
    n = 50_000_000
    parts: dict[str, float] = {}
    for name, fn, extra in (("hash", hash_only, ()), ("hash + coarse map", hash_and_coarse,
                                                      (coarse,)),
                            ("hash + coarse map + fine map (branch)", hash_coarse_fine,
                             (coarse, bits))):
        if not hasattr(rng, "kth"):  # a tree older than the keyed k-th draw: _pick alone
            break
        h = rng.key(1, 2, 3, 7)
        fn(h, lo, hi - lo, 10, *extra)
        t = time.process_time()
        fn(h, lo, hi - lo, n, *extra)
        parts[name] = round((time.process_time() - t) / n * 1e9, 3)
    res = {"people": PEOPLE, "pool": int(members.size), "at_large_in_pool": int(
        (state[members] == int(State.FREE)).sum()), "calls": len(calls), "tries": int(tries),
        "found": int(got), "pick_seconds": round(pick_s, 3),
        "pick_ns_per_try": round(pick_s / max(tries, 1) * 1e9, 3),
        "parts_ns_per_try": parts, "load_before": before, "load_after": load(),
        "cpu": os.cpu_count(), "tree": str(a.tree.resolve())}
    OUT.mkdir(exist_ok=True)
    (OUT / ("pick.json" if a.tree.resolve() == Path(__file__).resolve().parents[1]
            else "pick-other-tree.json")).write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
