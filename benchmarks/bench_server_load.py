"""The dashboard server under load: many concurrent clients asking for runs and results.

Starts ``python -m purgesim serve`` as a child process on 127.0.0.1 (a free port, a temporary
``--root``), then lets N clients (one ``httpx.AsyncClient`` each, so one connection each)
work at once.  Each client, R times: submits a small ``toy`` run (scale 0.1, its own seed);
on 429 (queue full) waits with exponential backoff and jitter and submits again; polls the
run's status, reading the run list and the health endpoint between polls; when the run is
done, fetches its results (``/api/runs/ID/sections``) and checks them.  A probe meanwhile asks
``/api/health`` and ``/api/runs`` every quarter of a second and records how long the answers
take, and how many runs the server says are running or waiting.

Everything is bounded: N x R runs, a deadline for the whole load, a timeout per request.
The server is stopped at the end, even on failure.  Latencies are measured by the clients:
on a busy machine their own event loop can wake late, which inflates them; the benchmark
reports how often that happened (``client_stalls``).  A request that meets a kept-alive
connection the server has just closed (idle for uvicorn's 5 s keep-alive, which a stalled
client can exceed) is sent again once on a new connection, as browsers do, and counted
(``retried_after_connection_closed``); a second failure is a transport error.

    python benchmarks/bench_server_load.py                     # 50 clients x 6 runs
    python benchmarks/bench_server_load.py --clients 50 --runs 2 --no-write

Prints requests per second, latency percentiles (all requests, per kind, the probe), runs
submitted / accepted / completed / failed / lost, 429s and 5xx, and writes
``benchmarks/results/server_load.json``.  ``tests/test_load.py`` runs the same code, smaller.

A run is *lost* if the server accepted it (202) and its client never saw it finish with its
results readable before the deadline (a 404 for an accepted id, a run stuck in the queue, a
failed results request).  The server keeps at most ``--keep`` (50) finished runs, deleting
the oldest of the client holding the most once they have not been looked at for
``--view-grace`` minutes; the benchmark reports how many accepted runs the server still
lists at the end.

Every client here has the same address (127.0.0.1), and ``purgesim serve`` limits each
address to ``--keep-per-client`` runs and ``--connections-per-client`` open connections: the
benchmark starts the server with both raised (``LOAD_ARGS``), so that it measures the server
under many clients, not one client over its quota.  A 503 (over the server's limit of open
connections in all) never created a run: the clients ask again, and the 503s are counted
apart (``shed_503``).
The exit status is 1 if a run was lost, a 429 came while the queue was not full, a request
got no answer, or a 5xx other than those 503s came back.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import random
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"

# One TLS context for every client: httpx builds one per client otherwise (about 70 ms of CPU
# each, on the clients' event loop), which would stall the clients, not the server, and be
# counted as the server's latency.  The URLs are plain http on loopback; it is never used.
_TLS = ssl.create_default_context()

# the clients all come from 127.0.0.1: the per-address quotas raised to fit them
LOAD_ARGS = ("--keep-per-client", "10000", "--connections-per-client", "1000")

FULL = re.compile(r"(\d+) runs are running or waiting; at most (\d+) at once")


# ------------------------------------------------------------------------------ the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    port: int
    root: Path
    log: Path
    proc: subprocess.Popen[bytes]

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""


@contextlib.contextmanager
def server(root: Path, workers: int = 2, queue: int = 8, startup: float = 90.0,
           args: Sequence[str] = ()) -> Iterator[Server]:
    """`python -m purgesim serve` on 127.0.0.1 and a free port (more options of `serve` in
    `args`); stopped on exit, always."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    log = root.parent / f"{root.name}-server.log"
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("FORCE_COLOR", None)
    proc = None
    for _ in range(3):  # a free port can be taken between the look-up and the bind
        port = free_port()
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "purgesim", "serve", "--host", "127.0.0.1",
                 "--port", str(port), "--root", str(root / "runs"), "--workers", str(workers),
                 "--queue", str(queue), *args],
                cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
        srv = Server(f"http://127.0.0.1:{port}", port, root / "runs", log, proc)
        try:
            if _wait_ready(srv, startup):
                break
        except BaseException:
            _stop(proc)
            raise
        _stop(proc)
        if "cannot listen" not in srv.log_text():
            raise RuntimeError(f"the server did not start:\n{srv.log_text()[-3000:]}")
    else:
        raise RuntimeError(f"the server did not start:\n{srv.log_text()[-3000:]}")
    try:
        yield srv
    finally:
        _stop(proc)


def _wait_ready(srv: Server, startup: float) -> bool:
    t0 = time.monotonic()
    while time.monotonic() - t0 < startup:
        if srv.proc.poll() is not None:
            return False
        try:
            if httpx.get(srv.url + "/api/health", timeout=2.0).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer within {startup} s:\n{srv.log_text()[-3000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (uvicorn shuts down cleanly), then SIGKILL to the process group."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


# ------------------------------------------------------------------------------ the load


@dataclass
class Config:
    clients: int = 50
    runs: int = 6  # runs per client
    scale: float = 0.1  # of the toy scenario: about 0.3 s of simulation on an idle core
    poll: float = 0.3  # seconds between status polls (with jitter)
    backoff: float = 0.25  # first wait after a 429 (doubled each time, with jitter)
    backoff_max: float = 2.0  # x 1.5 jitter: well under uvicorn's 5 s keep-alive
    deadline: float = 600.0  # seconds for the whole load
    timeout: float = 30.0  # seconds for one request
    probe_every: float = 0.25


@dataclass
class Stats:
    t0: float = field(default_factory=time.perf_counter)
    # kind, status, seconds, start (seconds after t0)
    requests: list[tuple[str, int, float, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # transport errors, timeouts
    retried: list[str] = field(default_factory=list)  # connection closed under the request
    unexpected: list[str] = field(default_factory=list)  # wrong status or content
    full_messages: list[str] = field(default_factory=list)  # bodies of the 429s
    not_full_429: list[str] = field(default_factory=list)  # a 429 while the queue was not full
    submitted: int = 0  # run requests the clients set out to make
    accepted: list[str] = field(default_factory=list)
    bodies: dict[str, dict[str, Any]] = field(default_factory=dict)  # run id -> what was asked
    gave_up: int = 0  # run requests still refused (429) at the deadline
    completed: list[str] = field(default_factory=list)  # done, results read and checked
    failed: list[str] = field(default_factory=list)  # finished with status "failed"
    lost: dict[str, str] = field(default_factory=dict)  # accepted, never seen completed
    probe: list[tuple[str, int, float, float]] = field(default_factory=list)
    client_stalls: list[tuple[float, float]] = field(default_factory=list)  # at s, late s
    max_running: int = 0  # runs the server listed as running/writing at once (probe)
    max_active: int = 0  # runs the server said were running or waiting (probe)
    seconds: float = 0.0


async def _req(c: httpx.AsyncClient, st: Stats, kind: str, method: str, url: str,
               into: list[tuple[str, int, float, float]] | None = None, **kw: Any
               ) -> httpx.Response | None:
    for attempt in (1, 2):
        t0 = time.perf_counter()
        try:
            r = await c.request(method, url, **kw)
        except httpx.HTTPError as e:
            what = (f"{kind} {method} {url} at {t0 - st.t0:.2f} s, after "
                    f"{time.perf_counter() - t0:.2f} s: {type(e).__name__}: {e}")
            # A kept-alive connection that the server closed (idle 5 s: uvicorn's keep-alive)
            # just as the request went out: asked again once, on a new connection, as
            # browsers do.  A server that closes an idle connection has not read the request
            # (orphans_listed, and tests/test_load.py, check that no run was made twice).
            if attempt == 1 and isinstance(e, (httpx.ReadError, httpx.WriteError,
                                               httpx.RemoteProtocolError)):
                st.retried.append(what)
                continue
            st.errors.append(what)
            return None
        (st.requests if into is None else into).append((kind, r.status_code,
                                                        time.perf_counter() - t0, t0 - st.t0))
        return r
    return None


async def _submit(c: httpx.AsyncClient, st: Stats, cfg: Config, body: dict[str, Any],
                  stop: float) -> str | None:
    delay = cfg.backoff
    while True:
        r = await _req(c, st, "submit", "POST", "/api/runs", json=body)
        if r is not None and r.status_code == 202:
            rid = str(r.json()["id"])
            st.accepted.append(rid)
            st.bodies[rid] = body
            return rid
        if r is not None and r.status_code == 429:
            msg = r.json().get("error", "")
            st.full_messages.append(msg)
            m = FULL.search(msg)
            if m is None or int(m.group(1)) < int(m.group(2)):
                st.not_full_429.append(msg)
        elif r is not None and r.status_code == 503:
            pass  # over uvicorn's connection limit: refused before the app; try again
        elif r is not None:
            st.unexpected.append(f"submit: {r.status_code} {r.text[:200]}")
            return None
        if time.monotonic() + delay > stop:
            st.gave_up += 1
            return None
        await asyncio.sleep(delay * random.uniform(0.5, 1.5))
        delay = min(delay * 2, cfg.backoff_max)


async def _follow(c: httpx.AsyncClient, st: Stats, cfg: Config, rid: str, stop: float) -> None:
    """Poll a run until it finishes, reading the list and the health between polls; then
    read and check its results.  A GET that gets no answer or a 503 is asked again."""
    n = 0
    while True:
        r = await _req(c, st, "status", "GET", f"/api/runs/{rid}")
        if r is None or r.status_code == 503:
            pass  # asked again below
        elif r.status_code != 200:
            st.lost[rid] = f"status {r.status_code}: {r.text[:200]}"
            return
        else:
            s = r.json()
            if s["status"] == "failed":
                st.failed.append(rid)
                st.unexpected.append(f"run {rid} failed: {s['error'][:200]}")
                return
            if s["status"] == "done":
                if not (s.get("totals") or {}).get("arrests"):
                    st.unexpected.append(f"run {rid}: done without totals: {s}")
                break
        if time.monotonic() > stop:
            st.lost[rid] = "not finished at the deadline"
            return
        n += 1
        await _req(c, st, "list" if n % 2 else "health", "GET",
                   "/api/runs" if n % 2 else "/api/health")
        await asyncio.sleep(cfg.poll * random.uniform(0.5, 1.5))
    while True:
        r = await _req(c, st, "results", "GET", f"/api/runs/{rid}/sections")
        if (r is not None and r.status_code != 503) or time.monotonic() > stop:
            break
        await asyncio.sleep(cfg.poll)
    if r is None or r.status_code != 200:
        st.lost[rid] = f"results: {'no answer' if r is None else r.status_code}"
        return
    sec = r.json()
    ids = [x["id"] for x in sec.get("sections", [])]
    if sec.get("id") != rid or "arrests" not in ids or not sec.get("totals", {}).get("arrests"):
        st.unexpected.append(f"run {rid}: results incomplete: {ids}")
        st.lost[rid] = "results incomplete"
        return
    st.completed.append(rid)


async def _client(i: int, url: str, st: Stats, cfg: Config, stop: float) -> None:
    await asyncio.sleep(random.uniform(0, 0.5))  # not all in the same millisecond
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=url, timeout=cfg.timeout, limits=limits,
                                 verify=_TLS) as c:
        for k in range(cfg.runs):
            st.submitted += 1
            body = {"scenario": "toy", "scale": cfg.scale, "seed": 1 + i * 1000 + k,
                    "label": f"load client {i} run {k}"}
            rid = await _submit(c, st, cfg, body, stop)
            if rid is not None:
                await _follow(c, st, cfg, rid, stop)


async def _probe(url: str, st: Stats, cfg: Config, done: asyncio.Event, workers: int) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=cfg.timeout, verify=_TLS) as c:
        while not done.is_set():
            r = await _req(c, st, "probe-health", "GET", "/api/health", into=st.probe)
            if r is not None and r.status_code == 200:
                st.max_active = max(st.max_active, int(r.json()["active"]))
            r = await _req(c, st, "probe-list", "GET", "/api/runs", into=st.probe)
            if r is not None and r.status_code == 200:
                running = sum(j["status"] in ("running", "writing") for j in r.json())
                st.max_running = max(st.max_running, running)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(done.wait(), cfg.probe_every)


async def load(url: str, cfg: Config, workers: int = 2) -> Stats:
    """N clients at once against a running server; returns what they saw."""
    st = Stats()
    t0 = time.monotonic()
    stop = t0 + cfg.deadline
    done = asyncio.Event()
    probe = asyncio.create_task(_probe(url, st, cfg, done, workers))
    lag = asyncio.create_task(_lag(st, done))
    try:
        await asyncio.gather(*(_client(i, url, st, cfg, stop) for i in range(cfg.clients)))
    finally:
        st.seconds = time.monotonic() - t0
        done.set()
        await probe
        await lag
    return st


async def _lag(st: Stats, done: asyncio.Event) -> None:
    """How late the clients' own event loop wakes up: a late client inflates every latency
    it measures (the machine may be busy with other work)."""
    while not done.is_set():
        t = time.perf_counter()
        await asyncio.sleep(0.05)
        late = time.perf_counter() - t - 0.05
        if late > 0.5:
            st.client_stalls.append((round(t - st.t0, 2), round(late, 2)))


# ------------------------------------------------------------------------------ figures


def percentiles(xs: list[float]) -> dict[str, float | None]:
    if not xs:
        return {"n": 0, "p50_ms": None, "p90_ms": None, "p99_ms": None, "max_ms": None}
    s = sorted(xs)

    def p(q: float) -> float:  # nearest rank
        return round(1000 * s[min(len(s) - 1, max(0, int(-(-q * len(s) // 1)) - 1))], 1)

    return {"n": len(s), "p50_ms": p(0.5), "p90_ms": p(0.9), "p99_ms": p(0.99),
            "max_ms": round(1000 * s[-1], 1)}


def summarize(st: Stats, cfg: Config) -> dict[str, Any]:
    statuses: dict[str, int] = {}
    for _, code, _, _ in st.requests:
        statuses[str(code)] = statuses.get(str(code), 0) + 1
    kinds = sorted({k for k, _, _, _ in st.requests})
    unaccounted = (set(st.accepted) - set(st.completed) - set(st.failed) - set(st.lost))
    return {
        "requests": len(st.requests),
        "seconds": round(st.seconds, 2),
        "requests_per_second": round(len(st.requests) / st.seconds, 1) if st.seconds else None,
        "statuses": dict(sorted(statuses.items())),
        "server_errors_5xx": sum(1 for _, c, _, _ in st.requests if c >= 500),
        "transport_errors": len(st.errors),
        "retried_after_connection_closed": len(st.retried),
        "client_stalls_over_0.5s": len(st.client_stalls),
        "client_stall_max_s": max((x for _, x in st.client_stalls), default=0.0),
        "latency_all": percentiles([t for _, _, t, _ in st.requests]),
        "latency_by_kind": {k: percentiles([t for kk, _, t, _ in st.requests if kk == k])
                            for k in kinds},
        "latency_probe_health": percentiles([t for k, _, t, _ in st.probe if k == "probe-health"]),
        "latency_probe_list": percentiles([t for k, _, t, _ in st.probe if k == "probe-list"]),
        "runs": {
            "submitted": st.submitted, "accepted": len(st.accepted),
            "completed": len(st.completed), "failed": len(st.failed),
            "lost": len(st.lost) + len(unaccounted), "gave_up_429": st.gave_up,
            "runs_per_second": round(len(st.completed) / st.seconds, 2) if st.seconds else None,
        },
        "refused_429": len(st.full_messages),
        "shed_503": statuses.get("503", 0),  # over uvicorn's connection limit; asked again
        "refused_429_while_not_full": len(st.not_full_429),
        "max_running_seen": st.max_running,
        "max_active_seen": st.max_active,
        "unexpected": st.unexpected[:20],
        "errors": st.errors[:20],
        "retried": st.retried[:20],
        "lost_runs": dict(list(st.lost.items())[:20]),
    }


def machine() -> dict[str, Any]:
    import purgesim

    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                             capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        rev = ""
    return {"date": dt.datetime.now().isoformat(timespec="seconds"), "commit": rev,
            "purgesim": purgesim.__version__, "python": platform.python_version(),
            "httpx": httpx.__version__, "cpus": os.cpu_count(),
            "machine": platform.machine()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--runs", type=int, default=6, help="runs per client")
    ap.add_argument("--scale", type=float, default=0.1, help="scale of each toy run")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--queue", type=int, default=8)
    ap.add_argument("--deadline", type=float, default=600.0, help="seconds for the whole load")
    ap.add_argument("--seed", type=int, default=1, help="of the clients' jitter")
    ap.add_argument("--no-write", action="store_true", help="print only")
    a = ap.parse_args(argv)
    if not (1 <= a.clients <= 500 and 1 <= a.runs <= 100 and 0 < a.deadline <= 3600):
        ap.error("--clients 1-500, --runs 1-100, --deadline up to 3600 s")
    random.seed(a.seed)
    cfg = Config(clients=a.clients, runs=a.runs, scale=a.scale, deadline=a.deadline)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="purgesim-load-") as tmp, \
            server(Path(tmp) / "srv", workers=a.workers, queue=a.queue,
                   args=LOAD_ARGS) as srv:
        st = asyncio.run(load(srv.url, cfg, a.workers))
        listed = {j["id"]: j["status"] for j in httpx.get(srv.url + "/api/runs",
                                                          timeout=30).json()}
        log = srv.log_text()
    load_after = os.getloadavg()
    out = {
        "benchmark": "server_load", **machine(),
        "config": {"clients": cfg.clients, "runs_per_client": cfg.runs, "scale": cfg.scale,
                   "scenario": "toy", "workers": a.workers, "queue": a.queue,
                   "deadline_s": cfg.deadline, "poll_s": cfg.poll,
                   "backoff_s": [cfg.backoff, cfg.backoff_max]},
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        **summarize(st, cfg),
        "accepted_still_listed": sum(1 for r in st.accepted if r in listed),
        "orphans_listed": sum(1 for r in listed if r not in st.bodies),  # runs nobody asked
        "server_log_tracebacks": log.count("Traceback"),
    }
    print(render(out))
    if not a.no_write:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "server_load.json").write_text(json.dumps(out, indent=1) + "\n")
        print(f"wrote {RESULTS / 'server_load.json'}")
    ok = (out["server_errors_5xx"] == out["shed_503"] and out["runs"]["lost"] == 0
          and out["orphans_listed"] == 0
          and out["refused_429_while_not_full"] == 0 and not st.errors)
    return 0 if ok else 1


def render(o: dict[str, Any]) -> str:
    r = o["runs"]
    lines = [
        f"server load: {o['config']['clients']} clients x {o['config']['runs_per_client']} "
        f"toy runs (scale {o['config']['scale']}), {o['config']['workers']} workers, "
        f"queue {o['config']['queue']}; load average before "
        f"{o['load_average_before'][0]:.2f}, after {o['load_average_after'][0]:.2f} "
        f"({o['cpus']} CPUs)",
        f"requests: {o['requests']} in {o['seconds']} s = {o['requests_per_second']} req/s; "
        f"statuses {o['statuses']}; 5xx {o['server_errors_5xx']}; transport errors "
        f"{o['transport_errors']} (after one retry; retried: "
        f"{o['retried_after_connection_closed']}); the clients' own loop stalled "
        f"{o['client_stalls_over_0.5s']} times over 0.5 s (at most {o['client_stall_max_s']} s)",
        f"runs: submitted {r['submitted']}, accepted {r['accepted']}, completed "
        f"{r['completed']}, failed {r['failed']}, lost {r['lost']}, gave up {r['gave_up_429']}; "
        f"{r['runs_per_second']} runs/s",
        f"429 refusals: {o['refused_429']} (while the queue was not full: "
        f"{o['refused_429_while_not_full']}); 503 (over the connection limit): "
        f"{o['shed_503']}; most runs running at once {o['max_running_seen']}, "
        f"running or waiting {o['max_active_seen']}",
        "latency ms          n      p50      p90      p99      max",
    ]

    def row(name: str, p: dict[str, Any]) -> str:
        if not p["n"]:
            return f"{name:<14} {0:>6}"
        return (f"{name:<14} {p['n']:>6} {p['p50_ms']:>8} {p['p90_ms']:>8} {p['p99_ms']:>8} "
                f"{p['max_ms']:>8}")

    lines.append(row("all", o["latency_all"]))
    for k, p in o["latency_by_kind"].items():
        lines.append(row(k, p))
    lines.append(row("probe health", o["latency_probe_health"]))
    lines.append(row("probe list", o["latency_probe_list"]))
    for key in ("unexpected", "errors"):
        for x in o[key]:
            lines.append(f"{key}: {x}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
