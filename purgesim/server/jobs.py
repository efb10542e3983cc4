"""Runs launched from the dashboard: a small queue in front of a pool of worker threads, and
the retention of finished runs.

At most `max_workers` simulations run at once; up to `max_queued` more wait; beyond that a
submission is refused (the server answers 429).  Each run gets a server-generated id and a
folder `ROOT/ID` holding the usual run files, `request.json` (what was asked) and the
server's marker `MARKER` (this server's session, the run id, the client).

Retention (README, "The dashboard and why this web stack"):

* at most `max_kept` finished runs created by this server session are kept; beyond that the
  oldest finished run of the client address holding the most runs is deleted (ties: the
  client that submitted last) - a flood from one client deletes only that client's runs;
* a client address may have at most `per_client` runs on the server (queued, running or
  kept); one more deletes that client's own oldest finished run, or is refused (429) if none
  can be deleted;
* never deleted: a run queued or running, a run finished or looked at (any request about it)
  in the last `view_grace` seconds, a run that was in ROOT before the server started (an
  earlier session's or another tool's), and any folder that does not carry this session's
  marker or is not a real folder directly under ROOT (symbolic links are not followed).

Folders found in ROOT at start are listed; a damaged one (a missing or unreadable file,
summary.json of the wrong shape) is listed as "damaged" with one line naming the file.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import secrets
import shutil
import stat
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..runfolder import read_marker

RUN_ID = re.compile(r"[0-9a-f]{12}")
MARKER = ".purgesim-dashboard"  # written by the server in every run folder it creates
MARKER_FORMAT = 1
KEEP = 50  # finished runs kept (created by this server session)
PER_CLIENT = 20  # runs queued, running or kept per client address
VIEW_GRACE = 600.0  # seconds: a run finished or looked at this recently is not deleted
FINISHED = ("done", "failed", "damaged")  # the statuses retention may delete (if ours)

# the files of a finished run, with the columns the dashboard reads
PARQUET = {
    "daily": ("date", "arrests", "convictions", "shot"),
    "operations": ("date", "operation", "arrests"),
    "regions": ("date", "region", "arrests"),
    "events": ("person", "day", "date", "event", "cause", "by", "operation"),
    "people": ("person", "name", "final_state"),
}
SUMMARY_TYPES: dict[str, type | tuple[type, ...]] = {
    "scenario": str, "seed": int, "scale": (int, float), "people": dict, "parameters": dict,
    "yearly": dict, "windows": dict, "cohorts": dict, "factions": dict, "regions": dict,
    "operations": dict, "channels": dict, "named": dict, "cascade": dict, "events": dict,
    "mass_phase": dict, "trials": list, "lists": dict, "police": dict, "mechanisms": dict,
    "final_states": dict,
}


class QueueFull(Exception):
    pass


def client_key(host: str | None) -> str:
    """The unit of the per-client quotas: an IPv4 address, an IPv6 /64 network."""
    if not host:
        return "unknown"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))
    return str(ip)


def damage(d: Path) -> str:
    """'' if the run folder `d` is readable, otherwise one line naming the damaged file."""
    def regular(name: str) -> Path | None:
        f = d / name
        try:
            return f if stat.S_ISREG(os.stat(f).st_mode) else None
        except OSError:
            return None

    f = regular("summary.json")
    if f is None:
        return "summary.json: missing or not a file"
    try:
        s = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        return f"summary.json: not readable JSON ({str(e)[:80]})"
    if not isinstance(s, dict):
        return f"summary.json: a JSON {type(s).__name__}, not an object"
    for key, want in SUMMARY_TYPES.items():
        if key in s and not (isinstance(s[key], want) and not isinstance(s[key], bool)):
            return f"summary.json: '{key}' has the wrong type ({type(s[key]).__name__})"
    for key in ("scenario", "yearly"):
        if key not in s:
            return f"summary.json: no '{key}'"
    for year, v in s["yearly"].items():
        if not isinstance(v, dict) or not all(
                isinstance(x, (int, float)) and not isinstance(x, bool) for x in v.values()):
            return f"summary.json: 'yearly.{year}' is not a table of numbers"
    f = regular("request.json")
    if f is None:
        return "request.json: missing or not a file"
    try:
        r = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        return f"request.json: not readable JSON ({str(e)[:80]})"
    if not (isinstance(r, dict) and isinstance(r.get("scenario"), str)
            and isinstance(r.get("params", {}), dict)
            and isinstance(r.get("label", ""), str)):
        return "request.json: not an object with 'scenario', 'params', 'label'"
    import pyarrow.parquet as pq

    for name, cols in PARQUET.items():
        f = regular(f"{name}.parquet")
        if f is None:
            return f"{name}.parquet: missing or not a file"
        try:
            names = set(pq.read_schema(f).names)
        except Exception as e:  # noqa: BLE001 - pyarrow raises several kinds
            return f"{name}.parquet: not readable Parquet ({str(e)[:80]})"
        missing = [c for c in cols if c not in names]
        if missing:
            return f"{name}.parquet: no column {missing[0]!r}"
    return ""


@dataclass
class Job:
    id: str
    request: dict[str, Any]
    dir: Path
    status: str = "queued"  # queued, running, writing, done, failed, damaged
    day: int = 0
    days: int = 0
    error: str = ""
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    seconds: float | None = None
    client: str = ""  # client_key of the submitter ("" for a run found at start)
    owned: bool = True  # created by this server session: may be deleted by retention
    touched: float = 0.0  # last time it finished or a request asked about it

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id, "status": self.status, "request": self.request,
            "label": self.request.get("label") or "", "day": self.day, "days": self.days,
            "progress": round(self.day / self.days, 4) if self.days else
            (1.0 if self.status == "done" else 0.0),
            "error": self.error, "created": self.created, "started": self.started,
            "finished": self.finished, "seconds": self.seconds,
            "kept": "this session" if self.owned else "found at start (never deleted)",
        }


Runner = Callable[[Job, Callable[[int, int], None]], None]


def simulate(job: Job, progress: Callable[[int, int], None]) -> None:
    """The real work: build the scenario from the validated request, run, write the folder."""
    from ..runner import simulate as run_scenario
    from ..runner import write

    r = job.request
    sim = run_scenario(r["scenario"], sets=r.get("sets", []), scale=r.get("scale"),
                       seed=r.get("seed"), progress=progress)
    job.status = "writing"
    write(sim, job.dir, force=True)


class RunManager:
    def __init__(self, root: Path | str, max_workers: int = 2, max_queued: int = 8,
                 max_kept: int = KEEP, per_client: int = PER_CLIENT,
                 view_grace: float = VIEW_GRACE, runner: Runner | None = None) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_workers = max_workers
        self.max_queued = max_queued
        self.max_kept = max_kept
        self.per_client = per_client
        self.view_grace = view_grace
        self.runner = runner or simulate
        self.session = secrets.token_hex(8)  # written in the marker of every run it creates
        self.jobs: dict[str, Job] = {}
        self.deleted = 0  # runs deleted by retention (for /api/health)
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="purgesim-run")
        self._load_existing()

    def _load_existing(self) -> None:
        """Every run folder in ROOT, listed (damaged ones too), none ever deleted."""
        found = []
        for d in self.root.iterdir():
            if not RUN_ID.fullmatch(d.name):
                continue
            try:
                st = os.lstat(d)
            except OSError:
                continue
            if not stat.S_ISDIR(st.st_mode):
                continue  # a file or a symbolic link: not a run folder of ours
            marker = read_marker(d)
            if marker is not None and marker.get("kind") == "ensemble":
                continue  # an ensemble (run --seeds) put here: not one of the dashboard's runs
            found.append((st.st_mtime, d))
        for mtime, d in sorted(found):
            problem = damage(d)
            req: Any = {}
            if not problem or not problem.startswith("request.json"):
                try:
                    req = json.loads((d / "request.json").read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    req = {}
            if not isinstance(req, dict):
                req = {}
            try:
                mtime = (d / "summary.json").stat().st_mtime
            except OSError:
                pass
            job = Job(d.name, req, d, status="damaged" if problem else "done", created=mtime,
                      finished=mtime, owned=False, touched=mtime)
            if problem:
                job.error = f"damaged: {problem}"
            self.jobs[d.name] = job

    # ------------------------------------------------------------------ queue
    # self.jobs is changed by the worker threads (_prune) while the event loop reads it:
    # every walk over it holds the lock (a bare walk can fail with "dictionary changed size
    # during iteration", a 500 on /api/runs or /api/health).
    def active(self) -> int:
        with self.lock:
            return self._active()

    def _active(self) -> int:
        return sum(j.status in ("queued", "running", "writing") for j in self.jobs.values())

    def submit(self, request: dict[str, Any], client: str = "") -> Job:
        now = time.time()
        with self.lock:
            active = self._active()
            if active >= self.max_workers + self.max_queued:
                raise QueueFull(f"{active} runs are running or waiting; at most "
                                f"{self.max_workers + self.max_queued} at once: try again "
                                "when one has finished")
            mine = [j for j in self.jobs.values() if j.owned and j.client == client]
            if len(mine) >= self.per_client:
                old = self._evictable(mine, now)
                if not old:
                    raise QueueFull(
                        f"your address has {len(mine)} runs on this server (queued, running "
                        f"or kept); at most {self.per_client} per address, and none of its "
                        f"finished runs may be deleted yet (each is kept "
                        f"{self.view_grace / 60:g} min after it finished or was last looked "
                        "at): try again later")
                self._delete(old[0])
            rid = secrets.token_hex(6)
            while rid in self.jobs or os.path.lexists(self.root / rid):
                rid = secrets.token_hex(6)
            job = Job(rid, request, self.root / rid, client=client, created=now, touched=now)
            self.jobs[rid] = job
        self.pool.submit(self._run, job)
        return job

    def _run(self, job: Job) -> None:
        job.status = "running"
        job.started = time.time()

        def progress(d: int, n: int) -> None:
            job.day, job.days = d, n

        status = "failed"
        try:
            self.runner(job, progress)
            self._mark(job)
            (job.dir / "request.json").write_text(json.dumps(job.request, indent=1))
            status = "done"
        except Exception as e:  # noqa: BLE001 - reported to the client, logged here
            job.error = f"{type(e).__name__}: {e}"
            traceback.print_exc()
        finally:
            # The time first, the status last: a finished job without its time sorted as the
            # oldest in another worker's _prune, and the run just finished was deleted.
            job.finished = time.time()
            job.touched = job.finished
            job.seconds = round(job.finished - (job.started or job.finished), 3)
            job.status = status
            self._prune()

    def _mark(self, job: Job) -> None:
        """The marker that lets retention recognise the folder as this session's."""
        d = job.dir
        if not stat.S_ISDIR(os.lstat(d).st_mode):
            raise RuntimeError(f"run {job.id}: the runner did not write a folder")
        (d / MARKER).write_text(json.dumps({
            "format": MARKER_FORMAT, "kind": "purgesim dashboard run", "id": job.id,
            "session": self.session, "created": job.created}) + "\n")

    # ------------------------------------------------------------------ retention
    def touch(self, rid: str) -> None:
        job = self.get(rid)
        if job is not None:
            job.touched = max(job.touched, time.time())

    def _evictable(self, jobs: list[Job], now: float) -> list[Job]:
        """Of `jobs`, those retention may delete, oldest first."""
        out = [j for j in jobs if j.owned and j.status in FINISHED
               and now - j.touched >= self.view_grace]
        return sorted(out, key=lambda j: j.finished or 0.0)

    def _ours(self, d: Path) -> bool:
        """A real folder directly under ROOT, named as a run, with this session's marker."""
        if d.parent != self.root or not RUN_ID.fullmatch(d.name):
            return False
        try:
            if not stat.S_ISDIR(os.lstat(d).st_mode):
                return False
            m = d / MARKER
            if not stat.S_ISREG(os.lstat(m).st_mode):
                return False
            mark = json.loads(m.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return (isinstance(mark, dict) and mark.get("format") == MARKER_FORMAT
                and mark.get("id") == d.name and mark.get("session") == self.session)

    def _delete(self, job: Job) -> None:
        """Forget `job` and delete its folder if it is ours (the caller holds the lock)."""
        self.jobs.pop(job.id, None)
        self.deleted += 1
        if os.path.lexists(job.dir) and self._ours(job.dir):
            shutil.rmtree(job.dir, ignore_errors=True)  # does not follow symbolic links

    def _prune(self) -> None:
        """Beyond max_kept finished runs of this session: delete the oldest deletable run of
        the client holding the most (a client flooding the server deletes its own)."""
        now = time.time()
        with self.lock:
            while True:
                finished = [j for j in self.jobs.values() if j.owned and j.status in FINISHED]
                if len(finished) <= self.max_kept:
                    return
                held: dict[str, list[Job]] = {}
                for j in self.jobs.values():
                    if j.owned:
                        held.setdefault(j.client, []).append(j)
                top = max(held.values(), key=lambda js: (len(js), max(j.created for j in js)))
                old = self._evictable(top, now)
                if not old:
                    return  # all in use: kept for now, pruned when a later run finishes
                self._delete(old[0])

    # ------------------------------------------------------------------ lookup
    def get(self, rid: str) -> Job | None:
        if not RUN_ID.fullmatch(rid):
            return None
        return self.jobs.get(rid)

    def list(self) -> list[dict[str, Any]]:
        with self.lock:
            jobs = list(self.jobs.values())
        return [j.public() for j in sorted(jobs, key=lambda j: -j.created)]

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
