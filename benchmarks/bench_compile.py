"""Where the first run's compilation goes: each kernel's own compilation time.

`kernels.warm_up` in this process with an empty numba cache (a temporary folder), timed by
numba's ``numba:compile`` events; a kernel's own time excludes the kernels it compiles
while it compiles.  The count of specialisations is a test (tests/test_compilation.py);
the time is measured here, not asserted.

    python benchmarks/bench_compile.py            # the 25 costliest kernels
    python benchmarks/bench_compile.py --top 80
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--top", type=int, default=25)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-compile-") as d:
        os.environ["NUMBA_CACHE_DIR"] = d  # before numba is imported
        sys.path.insert(0, str(ROOT))
        from numba.core import event

        stack: list[list] = []
        own: collections.Counter[str] = collections.Counter()

        class Listener(event.Listener):
            def on_start(self, e: event.Event) -> None:
                stack.append([e.data["dispatcher"].py_func.__qualname__, time.process_time(),
                              0.0])

            def on_end(self, e: event.Event) -> None:
                name, t0, inner = stack.pop()
                spent = time.process_time() - t0
                own[name] += spent - inner
                if stack:
                    stack[-1][2] += spent

        event.register("numba:compile", Listener())
        from purgesim import kernels

        load = os.getloadavg()
        t = time.process_time()
        kernels.warm_up()
        total = time.process_time() - t
    print(f"kernels.warm_up with an empty cache: {total:.2f} CPU s, of which compiling "
          f"{sum(own.values()):.2f} s in {len(own)} functions (load before "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f})")
    for name, s in own.most_common(a.top):
        print(f"{s:7.2f}  {name}")


if __name__ == "__main__":
    main()
