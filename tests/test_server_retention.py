"""The dashboard's retention policy and connection limits (issue 11).

Retention, in process (Starlette's TestClient, one `client` address per TestClient): a flood
of runs from one client address deletes only that client's own runs or is refused with 429;
other clients' runs, runs found in the root at start (with or without a marker), runs queued
or running, and runs looked at recently are never deleted; only folders with this session's
marker, directly under the root and not symbolic links, are.  Damaged run folders are listed
as damaged and every request about them answers 409 naming the file.

Connections, against a real `purgesim serve` on 127.0.0.1: 70 idle connections from one
address lock out neither another address nor, once the header timeout has closed them, that
address itself; partial headers get 408.

No assertion here is on a duration: the tests wait for states (bounded polling) and assert
on states and counts.
"""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
httpx = pytest.importorskip("httpx")

with warnings.catch_warnings():  # starlette 1.x suggests httpx2 for its test client
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

from purgesim.server import create_app  # noqa: E402
from purgesim.server.jobs import MARKER, Job, client_key  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

A, B, C = ("10.0.0.1", 1), ("10.0.0.2", 1), ("10.0.0.3", 1)  # three client addresses


def until(cond: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    """Poll `cond` until it is true (bounded); fail naming `what` otherwise."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        v = cond()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError(f"not reached within {timeout} s: {what}")


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real toy run (its folder), copied by the fake runner below."""
    root = tmp_path_factory.mktemp("toy")
    with TestClient(create_app(root)) as c:
        rid = c.post("/api/runs", json={"scenario": "toy", "scale": 0.1}).json()["id"]
        until(lambda: c.get(f"/api/runs/{rid}").json()["status"] in ("done", "failed"),
              "the toy run finished", 300)
        assert c.get(f"/api/runs/{rid}").json()["status"] == "done"
    return root / rid


def copying(src: Path, gate: threading.Event | None = None) -> Callable[[Job, Any], None]:
    """A runner that writes a real run folder (a copy of `src`) at once, or when `gate` opens."""
    def run(job: Job, progress: Any) -> None:
        progress(1, 2)
        if gate is not None:
            assert gate.wait(60)
        shutil.copytree(src, job.dir, ignore=shutil.ignore_patterns(MARKER, "request.json"))

    return run


class Dash:
    """One app with several clients (addresses); `main` runs the app's lifespan."""

    def __init__(self, app: Any, gate: threading.Event | None = None) -> None:
        self.app = app
        self.gate = gate
        self.main = TestClient(app, client=A)
        self.clients: dict[tuple[str, int], TestClient] = {A: self.main}

    def __call__(self, addr: tuple[str, int]) -> TestClient:
        if addr not in self.clients:
            self.clients[addr] = TestClient(self.app, client=addr)
        return self.clients[addr]

    @property
    def manager(self) -> Any:
        return self.app.state.manager

    def submit(self, addr: tuple[str, int], seed: int) -> Any:
        """POST a run; wait for it to finish if accepted (so the queue never fills)."""
        r = self(addr).post("/api/runs", json={"scenario": "toy", "scale": 0.1, "seed": seed})
        if r.status_code == 202:
            rid = r.json()["id"]
            until(lambda: self.manager.jobs.get(rid) is None or
                  self.manager.jobs[rid].status in ("done", "failed"), f"run {rid} finished")
        return r

    def ids(self) -> set[str]:
        return {j["id"] for j in self.main.get("/api/runs").json()}


@pytest.fixture
def dash(request: pytest.FixtureRequest, tmp_path: Path, toy_run: Path) -> Iterator[Dash]:
    opts = dict(getattr(request, "param", {}))
    gate = opts.pop("gate", None)
    app = create_app(tmp_path / "root", max_workers=1, max_queued=4,
                     runner=copying(toy_run, gate), **opts)
    d = Dash(app, gate)
    try:
        with d.main:
            yield d
    finally:
        if gate is not None:
            gate.set()


def preexisting(root: Path, toy_run: Path, n: int) -> list[str]:
    """`n` finished runs in the root before the server starts: one copied with the marker of
    an earlier session, the others without any."""
    ids = []
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        rid = f"{0xabc000 + i:012x}"
        shutil.copytree(toy_run, root / rid, ignore=shutil.ignore_patterns(MARKER))
        if i == 0:
            (root / rid / MARKER).write_text(json.dumps(
                {"format": 1, "id": rid, "session": "0123456789abcdef", "created": 0}))
        ids.append(rid)
    return ids


# ------------------------------------------------------------------------------ retention


@pytest.mark.parametrize("grace", [0.0, 3600.0], ids=["not-viewed", "all-recent"])
def test_flood_from_one_client_spares_the_others(tmp_path: Path, toy_run: Path,
                                                 grace: float) -> None:
    """18 runs from B, 3 runs found at start, then 55 from A (the report's flood): B's runs
    and the runs found at start all remain.  A keeps at most its quota: with its older runs
    deletable (not looked at), its own oldest go; with all of them recent, it gets 429."""
    root = tmp_path / "root"
    before = preexisting(root, toy_run, 3)
    app = create_app(root, max_workers=1, max_queued=4, view_grace=grace,
                     runner=copying(toy_run))  # the defaults: keep 50, 20 per client
    d = Dash(app)
    with d.main:
        b_runs = [d.submit(B, k).json()["id"] for k in range(18)]
        codes: dict[int, int] = {}
        for k in range(55):
            code = d.submit(A, 100 + k).status_code
            codes[code] = codes.get(code, 0) + 1
        listed = d.ids()
        lost = [r for r in [*b_runs, *before]
                if r not in listed or not (root / r / "daily.parquet").is_file()]
        a_runs = [j for j in d.manager.jobs.values() if j.client == client_key(A[0])]
        folders = sorted(p.name for p in root.iterdir())
    assert lost == []
    assert len(a_runs) == 20
    assert codes == ({202: 55} if grace == 0 else {202: 20, 429: 35})
    assert len(folders) == len(listed) == 3 + 18 + 20


def test_quota_refusal_names_the_limit(tmp_path: Path, toy_run: Path) -> None:
    app = create_app(tmp_path, per_client=2, view_grace=3600, runner=copying(toy_run))
    d = Dash(app)
    with d.main:
        assert [d.submit(A, k).status_code for k in range(3)] == [202, 202, 429]
        err = d(A).post("/api/runs", json={"scenario": "toy"}).json()["error"]
        assert "at most 2 per address" in err and "try again later" in err
        assert d.submit(B, 9).status_code == 202  # another address is not affected


def test_global_limit_deletes_from_the_largest_holder(tmp_path: Path, toy_run: Path) -> None:
    """keep 6: A 4 runs, B 2, then C 1: one run goes, the oldest of A (the largest holder)."""
    app = create_app(tmp_path, max_kept=6, per_client=10, view_grace=0,
                     runner=copying(toy_run))
    d = Dash(app)
    with d.main:
        a = [d.submit(A, k).json()["id"] for k in range(4)]
        b = [d.submit(B, 10 + k).json()["id"] for k in range(2)]
        c = d.submit(C, 20).json()["id"]
        assert d.ids() == {*a[1:], *b, c}
        assert not (tmp_path / a[0]).exists()
        assert d.main.get("/api/health").json()["retention"]["deleted"] == 1


@pytest.mark.parametrize("dash", [{"max_kept": 0, "per_client": 100, "view_grace": 0,
                                   "gate": threading.Event()}], indirect=True)
def test_queued_and_running_runs_are_never_deleted(dash: Dash) -> None:
    """keep 0 and no grace (the strictest): one run running (held by the gate) and three
    queued stay through a prune; when the gate opens they finish (each seen done) and only
    then go."""
    m = dash.manager
    held = [dash(A).post("/api/runs", json={"scenario": "toy", "seed": k}).json()["id"]
            for k in range(4)]
    until(lambda: m.jobs[held[0]].status == "running", "the first run is running")
    assert [m.jobs[r].status for r in held] == ["running", "queued", "queued", "queued"]
    m._prune()
    assert set(held) <= dash.ids()
    seen_done: set[str] = set()

    def watch() -> bool:
        for r in held:
            j = m.jobs.get(r)
            if j is not None and j.status == "done":
                seen_done.add(r)
        return not set(held) & dash.ids()

    assert dash.gate is not None
    dash.gate.set()
    until(watch, "all finished and pruned")
    assert all(m.jobs.get(r) is None for r in held)


def test_a_run_being_looked_at_is_not_deleted(tmp_path: Path, toy_run: Path) -> None:
    """keep 2, a long grace: runs made old by hand, one of them then looked at (a request
    about it); a new run deletes an old one that nobody looked at, never the viewed one."""
    app = create_app(tmp_path, max_kept=2, per_client=100, view_grace=3600,
                     runner=copying(toy_run))
    d = Dash(app)
    with d.main:
        m = d.manager
        first, second = (d.submit(A, k).json()["id"] for k in range(2))
        for r in (first, second):
            m.jobs[r].touched = 0.0  # as if finished and last looked at long ago
        assert d(B).get(f"/api/runs/{first}/sections").status_code == 200  # B looks at it
        third = d.submit(A, 3).json()["id"]
        assert d.ids() == {first, third}
        # all three now recent: a fourth exceeds the limit, and nothing is deleted yet
        fourth = d.submit(A, 4).json()["id"]
        assert d.ids() == {first, third, fourth}


def test_only_this_sessions_marked_real_folders_are_deleted(tmp_path: Path,
                                                            toy_run: Path) -> None:
    """Finished runs of this session whose folder lost its marker, had it replaced by
    another session's or by a symbolic link, or was replaced by a symbolic link to a folder
    outside: retention forgets them but deletes none of those files."""
    outside = tmp_path / "outside"
    shutil.copytree(toy_run, outside)
    root = tmp_path / "root"
    app = create_app(root, max_kept=100, per_client=100, view_grace=0,
                     runner=copying(toy_run))
    d = Dash(app)
    with d.main:
        runs = [d.submit(A, k).json()["id"] for k in range(5)]
        tampered = runs[:4]
        (root / tampered[0] / MARKER).unlink()
        mark = json.loads((root / tampered[1] / MARKER).read_text())
        (root / tampered[1] / MARKER).write_text(json.dumps({**mark, "session": "other"}))
        (root / tampered[2] / MARKER).unlink()
        (root / tampered[2] / MARKER).symlink_to(outside / "summary.json")
        shutil.rmtree(root / tampered[3])
        (root / tampered[3]).symlink_to(outside, target_is_directory=True)
        d.manager.max_kept = 1
        last = d.submit(A, 99).json()["id"]  # the prune after it: keep 1, no grace
        assert d.ids() == {last}
        assert not (root / runs[4]).exists()  # untouched, marked: deleted
        for r in tampered:
            assert (root / r / "summary.json").is_file(), r  # forgotten, not deleted
        assert (outside / "people.parquet").is_file()


# ------------------------------------------------------------------------------ damaged folders

def _truncate(f: Path) -> None:
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])


DAMAGES: dict[str, tuple[Callable[[Path], Any], str]] = {
    "truncated-daily": (lambda d: _truncate(d / "daily.parquet"), "daily.parquet"),
    "truncated-people": (lambda d: _truncate(d / "people.parquet"), "people.parquet"),
    "truncated-events": (lambda d: _truncate(d / "events.parquet"), "events.parquet"),
    "missing-operations": (lambda d: (d / "operations.parquet").unlink(),
                           "operations.parquet"),
    "empty-regions": (lambda d: (d / "regions.parquet").write_bytes(b""), "regions.parquet"),
    "summary-a-list": (lambda d: (d / "summary.json").write_text("[1, 2]"), "summary.json"),
    "summary-empty": (lambda d: (d / "summary.json").write_text("{}"), "summary.json"),
    "summary-truncated": (lambda d: _truncate(d / "summary.json"), "summary.json"),
    "summary-nulls": (lambda d: (d / "summary.json").write_text(json.dumps(
        {k: None for k in json.loads((d / "summary.json").read_text())})), "summary.json"),
    "yearly-strings": (lambda d: (d / "summary.json").write_text(json.dumps(
        {**json.loads((d / "summary.json").read_text()), "yearly": {"1937": "many"}})),
        "summary.json"),
    "request-a-list": (lambda d: (d / "request.json").write_text("[]"), "request.json"),
    "request-missing": (lambda d: (d / "request.json").unlink(), "request.json"),
    "daily-a-folder": (lambda d: ((d / "daily.parquet").unlink(),
                                  (d / "daily.parquet").mkdir()), "daily.parquet"),
}


@pytest.fixture(scope="module")
def damaged(tmp_path_factory: pytest.TempPathFactory, toy_run: Path
            ) -> Iterator[tuple[TestClient, str, dict[str, str]]]:
    root = tmp_path_factory.mktemp("damaged")
    ids = {}
    for i, (name, (spoil, _)) in enumerate(DAMAGES.items()):
        rid = f"{0xdead00 + i:012x}"
        shutil.copytree(toy_run, root / rid)
        spoil(root / rid)
        ids[name] = rid
    good = f"{0x600d:012x}"
    shutil.copytree(toy_run, root / good)
    with TestClient(create_app(root), raise_server_exceptions=False) as c:
        yield c, good, ids


def test_damaged_folders_are_listed_as_damaged(damaged: Any) -> None:
    c, good, ids = damaged
    r = c.get("/api/runs")
    assert r.status_code == 200
    runs = {j["id"]: j for j in r.json()}
    assert runs[good]["status"] == "done"
    for name, rid in ids.items():
        assert runs[rid]["status"] == "damaged", name
        assert DAMAGES[name][1] in runs[rid]["error"], (name, runs[rid]["error"])


@pytest.mark.parametrize("name", list(DAMAGES))
def test_damaged_folder_requests_answer_409_naming_the_file(damaged: Any, name: str) -> None:
    c, good, ids = damaged
    rid = ids[name]
    for path in (f"/api/runs/{rid}", f"/api/runs/{rid}/sections", f"/api/runs/{rid}/report",
                 f"/api/runs/{rid}/people?q=comrade",
                 f"/api/runs/{rid}/story?person=Old%20Comrade",
                 f"/api/compare?a={good}&b={rid}", f"/api/compare?a={rid}&b={good}"):
        r = c.get(path)
        assert r.status_code < 500, (path, r.status_code, r.text[:300])
        if path != f"/api/runs/{rid}":
            assert r.status_code == 409, (path, r.status_code, r.text[:300])
            err = r.json()["error"]
            assert DAMAGES[name][1] in err and len(err) < 400 and "\n" not in err, err
    assert c.get(f"/api/runs/{good}/sections").status_code == 200


def test_a_folder_damaged_after_the_start_is_found_on_reading(tmp_path: Path,
                                                              toy_run: Path) -> None:
    shutil.copytree(toy_run, tmp_path / "00000000beef")
    with TestClient(create_app(tmp_path), raise_server_exceptions=False) as c:
        assert c.get("/api/runs/00000000beef").json()["status"] == "done"
        _truncate(tmp_path / "00000000beef" / "events.parquet")
        r = c.get("/api/runs/00000000beef/sections")
        assert r.status_code == 409 and "events.parquet" in r.json()["error"]
        s = c.get("/api/runs/00000000beef").json()
        assert s["status"] == "damaged" and "events.parquet" in s["error"]


# ------------------------------------------------------------------------------ connections


def _bench() -> Any:
    import importlib.util
    import sys

    if "bench_server_load" not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_server_load.py"
        spec = importlib.util.spec_from_file_location("bench_server_load", path)
        assert spec and spec.loader
        mod = importlib.util.module_from_spec(spec)
        sys.modules["bench_server_load"] = mod
        spec.loader.exec_module(mod)
    return sys.modules["bench_server_load"]


def _outcome(s: socket.socket) -> str | None:
    """What the server did with an idle socket so far: None (still open), 'refused' (a 429
    and closed), 'timeout' (a 408 and closed), 'closed' (closed without a word)."""
    s.setblocking(False)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except BlockingIOError:
        if not data:
            return None
    except OSError:
        pass
    if data.startswith(b"HTTP/1.1 429"):
        return "refused"
    if data.startswith(b"HTTP/1.1 408"):
        return "timeout"
    return "closed" if not data else data[:40].decode("latin-1")


@pytest.mark.load
def test_idle_connections_lock_out_nobody(tmp_path: Path) -> None:
    """70 idle connections from 127.0.0.1 (and one that sends half its headers): the server
    takes `--connections-per-client` 16 of them and refuses the rest with 429; a client at
    127.0.0.2 is served meanwhile; after the header timeout the server has closed all of
    them (the half-header one with 408), and 127.0.0.1 is served again."""
    try:
        with socket.create_connection(("127.0.0.1", 9), timeout=1,
                                      source_address=("127.0.0.2", 0)):
            pass
    except ConnectionRefusedError:
        pass  # bound fine: nothing listens on port 9
    except OSError as e:
        pytest.skip(f"cannot use 127.0.0.2 as a source address: {e}")
    per_client, n = 16, 70
    with _bench().server(tmp_path / "srv", workers=1, queue=1, args=(
            "--connections-per-client", str(per_client), "--header-timeout", "6")) as srv:
        socks: list[socket.socket] = []
        other = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"),
                             timeout=15)
        try:
            half = socket.create_connection(("127.0.0.1", srv.port), timeout=15)
            half.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            socks.append(half)
            for _ in range(n - 1):
                socks.append(socket.create_connection(("127.0.0.1", srv.port), timeout=15))
            r = other.get(srv.url + "/api/health")
            assert r.status_code == 200 and r.json()["ok"] is True
            outcomes: dict[int, str] = {}

            def all_closed() -> bool:
                for i, s in enumerate(socks):
                    if i not in outcomes:
                        o = _outcome(s)
                        if o is not None:
                            outcomes[i] = o
                return len(outcomes) == n

            all_closed()
            assert len(outcomes) < n, "all closed before 127.0.0.2 was served: no test"
            until(all_closed, "the server closed every idle connection", 120)
            counts = {k: list(outcomes.values()).count(k) for k in set(outcomes.values())}
            assert outcomes[0] == "timeout", outcomes[0]
            assert counts == {"timeout": 1, "closed": per_client - 1,
                              "refused": n - per_client}, counts
            r = until(lambda: _get_ok(srv.url), "127.0.0.1 served again", 30)
            assert r.json()["ok"] is True
            assert other.get(srv.url + "/api/health").status_code == 200
        finally:
            other.close()
            for s in socks:
                s.close()
        assert srv.proc.poll() is None
        log = srv.log_text()
        assert "Traceback" not in log, log[-3000:]


def _get_ok(url: str) -> Any:
    try:
        r = httpx.get(url + "/api/health", timeout=15)
    except httpx.HTTPError:
        return None
    return r if r.status_code == 200 else None


def test_an_ensemble_folder_in_the_root_is_not_listed_as_a_damaged_run(tmp_path: Path,
                                                                       toy_run: Path) -> None:
    from purgesim.runfolder import write_marker

    ens = tmp_path / f"{0xe45:012x}"  # named like a dashboard run
    ens.mkdir()
    shutil.copytree(toy_run, ens / "seed1")
    write_marker(ens, "ensemble", runs=1, report=False)
    good = f"{0x600d:012x}"
    shutil.copytree(toy_run, tmp_path / good)
    with TestClient(create_app(tmp_path), raise_server_exceptions=False) as c:
        runs = {j["id"]: j for j in c.get("/api/runs").json()}
    assert ens.name not in runs
    assert runs[good]["status"] == "done"
    assert (ens / "seed1" / "summary.json").is_file()  # and nothing of it was touched
