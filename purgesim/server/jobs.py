"""Runs launched from the dashboard: a small queue in front of a pool of worker threads.

At most `max_workers` simulations run at once; up to `max_queued` more wait; beyond that a
submission is refused (the server answers 429).  Each run gets a server-generated id and a
folder `ROOT/ID` holding the usual run files plus `request.json` (what was asked).  Finished
runs found in ROOT when the server starts are listed again; the oldest finished runs are
deleted beyond `max_kept`.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RUN_ID = re.compile(r"[0-9a-f]{12}")


class QueueFull(Exception):
    pass


@dataclass
class Job:
    id: str
    request: dict[str, Any]
    dir: Path
    status: str = "queued"  # queued, running, writing, done, failed
    day: int = 0
    days: int = 0
    error: str = ""
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    seconds: float | None = None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id, "status": self.status, "request": self.request,
            "label": self.request.get("label") or "", "day": self.day, "days": self.days,
            "progress": round(self.day / self.days, 4) if self.days else
            (1.0 if self.status == "done" else 0.0),
            "error": self.error, "created": self.created, "started": self.started,
            "finished": self.finished, "seconds": self.seconds,
        }


Runner = Callable[[Job, Callable[[int, int], None]], None]


def simulate(job: Job, progress: Callable[[int, int], None]) -> None:
    """The real work: build the scenario from the validated request, run, write the folder."""
    from ..engine import Sim
    from ..results import write_run
    from ..scenario import load

    r = job.request
    sc = load(r["scenario"], r.get("sets", []), scale=r.get("scale"), seed=r.get("seed"))
    sim = Sim(sc, progress=progress)
    t0 = time.perf_counter()
    sim.run()
    job.status = "writing"
    write_run(sim, job.dir, time.perf_counter() - t0, force=True)


class RunManager:
    def __init__(self, root: Path | str, max_workers: int = 2, max_queued: int = 8,
                 max_kept: int = 50, runner: Runner | None = None) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_workers = max_workers
        self.max_queued = max_queued
        self.max_kept = max_kept
        self.runner = runner or simulate
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="purgesim-run")
        self._load_existing()

    def _load_existing(self) -> None:
        for d in sorted(self.root.iterdir(), key=lambda p: p.stat().st_mtime):
            if not (d.is_dir() and RUN_ID.fullmatch(d.name) and (d / "summary.json").is_file()):
                continue
            try:
                req = json.loads((d / "request.json").read_text())
            except (OSError, ValueError):
                continue
            mtime = (d / "summary.json").stat().st_mtime
            self.jobs[d.name] = Job(d.name, req, d, status="done", created=mtime,
                                    finished=mtime)

    # ------------------------------------------------------------------ queue
    # self.jobs is changed by the worker threads (_prune) while the event loop reads it:
    # every walk over it holds the lock (a bare walk can fail with "dictionary changed size
    # during iteration", a 500 on /api/runs or /api/health).
    def active(self) -> int:
        with self.lock:
            return self._active()

    def _active(self) -> int:
        return sum(j.status in ("queued", "running", "writing") for j in self.jobs.values())

    def submit(self, request: dict[str, Any]) -> Job:
        with self.lock:
            active = self._active()
            if active >= self.max_workers + self.max_queued:
                raise QueueFull(f"{active} runs are running or waiting; at most "
                                f"{self.max_workers + self.max_queued} at once: try again "
                                "when one has finished")
            rid = secrets.token_hex(6)
            while rid in self.jobs or (self.root / rid).exists():
                rid = secrets.token_hex(6)
            job = Job(rid, request, self.root / rid)
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
            (job.dir / "request.json").write_text(json.dumps(job.request, indent=1))
            status = "done"
        except Exception as e:  # noqa: BLE001 - reported to the client, logged here
            job.error = f"{type(e).__name__}: {e}"
            traceback.print_exc()
        finally:
            # The time first, the status last: a finished job without its time sorted as the
            # oldest in another worker's _prune, and the run just finished was deleted.
            job.finished = time.time()
            job.seconds = round(job.finished - (job.started or job.finished), 3)
            job.status = status
            self._prune()

    def _prune(self) -> None:
        with self.lock:
            done = sorted((j for j in self.jobs.values() if j.status in ("done", "failed")),
                          key=lambda j: j.finished or 0.0)
            for j in done[:max(0, len(done) - self.max_kept)]:
                self.jobs.pop(j.id, None)
                if RUN_ID.fullmatch(j.dir.name) and j.dir.parent == self.root:
                    shutil.rmtree(j.dir, ignore_errors=True)

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
