"""The dashboard under abuse, over loopback against a real server process
(`python -m purgesim serve` in a child process), with raw sockets where a well-behaved client
library would refuse to misbehave: bodies larger than their Content-Length says or than the
limit, bodies that never finish, headers that never finish, huge headers and URLs, path
traversal in raw request targets, foreign Host headers, wrong types and out-of-range values,
and a flood of invalid requests mixed with valid ones.  Every abuse gets a clear 4xx (or, for
what is not HTTP at all, a closed connection), never a 5xx, and after each one the server
still answers a valid request.  The server listens on 127.0.0.1 only.

tests/test_server.py checks the same rules in process (Starlette's TestClient) in detail;
here the point is the real stack: uvicorn's HTTP parser, the sockets, the event loop.
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import random
import socket
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

from purgesim.server.app import BODY_TIMEOUT, MAX_BODY  # noqa: E402
from purgesim.server.guard import HEADER_TIMEOUT  # noqa: E402

pytestmark = pytest.mark.load

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_server_load.py"
HOST = "127.0.0.1"


def load_bench() -> ModuleType:
    if "bench_server_load" not in sys.modules:
        spec = importlib.util.spec_from_file_location("bench_server_load", BENCH)
        assert spec and spec.loader
        mod = importlib.util.module_from_spec(spec)
        sys.modules["bench_server_load"] = mod
        spec.loader.exec_module(mod)
    return sys.modules["bench_server_load"]


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One server process for the module, stopped at the end whatever happens."""
    with load_bench().server(tmp_path_factory.mktemp("abuse") / "srv", workers=2,
                             queue=8) as s:
        yield s


# ------------------------------------------------------------------------------ helpers


def head(path: str = "/api/runs", method: str = "POST", length: int | str | None = None,
         extra: str = "", host: str | None = HOST) -> bytes:
    lines = [f"{method} {path} HTTP/1.1"]
    if host is not None:
        lines.append(f"Host: {host}")
    lines.append("Content-Type: application/json")
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if extra:
        lines.append(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def exchange(port: int, data: bytes, timeout: float = 15.0, check_closed: bool = False
             ) -> tuple[int, bytes, bool]:
    """Send raw bytes; read the first response.  Returns (status, body, closed): status 0 if
    the server sent no response at all; closed, whether it closed the connection (checked,
    within 3 s, only if `check_closed`, or when it is plain)."""
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before reading everything: fine
        r = http.client.HTTPResponse(s)
        try:
            r.begin()
        except (http.client.RemoteDisconnected, ConnectionResetError):
            return 0, b"", True  # closed (a reset may discard an answer already sent)
        try:
            body = r.read()
        except (ConnectionResetError, http.client.IncompleteRead):
            return r.status, b"", True
        return r.status, body, _closed(s) if check_closed else False


def _closed(s: socket.socket, wait: float = 3.0) -> bool:
    """Whether the server closes the connection within `wait` seconds (reading any bytes)."""
    s.settimeout(wait)
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < wait:
            if not s.recv(65536):
                return True
    except TimeoutError:
        return False
    except (ConnectionResetError, OSError):
        return True
    return False


def serving(srv: Any) -> None:
    """A valid request on a fresh connection succeeds (each within its 15 s timeout; how fast
    is the benchmark's business, benchmarks/bench_server_load.py)."""
    r = httpx.get(srv.url + "/api/params", params={"scenario": "toy"}, timeout=15)
    assert r.status_code == 200 and r.json()["params"], r.text[:300]
    assert httpx.get(srv.url + "/api/health", timeout=15).json()["ok"] is True
    assert srv.proc.poll() is None, "the server died"


def json_error(body: bytes) -> str:
    err = json.loads(body)["error"]
    assert isinstance(err, str) and 0 < len(err) < 400
    return err


# ------------------------------------------------------------------------------ where it listens


def test_listens_on_loopback_only(srv: Any) -> None:
    tables = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
    if not tables[0].is_file():
        pytest.skip("no /proc/net/tcp on this system")
    listening = []
    for t in tables:
        if not t.is_file():
            continue
        for line in t.read_text().splitlines()[1:]:
            f = line.split()
            addr, port = f[1].split(":")
            if f[3] == "0A" and int(port, 16) == srv.port:  # 0A: LISTEN
                listening.append((t.name, addr))
    assert listening == [("tcp", "0100007F")], listening  # 127.0.0.1, little-endian hex


# ------------------------------------------------------------------------------ bodies


def test_body_over_the_limit(srv: Any) -> None:
    big = b'{"scenario": "toy", "label": "' + b"x" * (3 * MAX_BODY) + b'"}'
    status, body, _ = exchange(srv.port, head(length=len(big)) + big)
    assert status == 413 and "too large" in json_error(body)
    serving(srv)


def test_content_length_larger_than_the_body(srv: Any) -> None:
    """A gigabyte announced, two bytes sent: refused from the header (413), not after waiting
    for the body (that would be a 408 once the body timeout has passed)."""
    status, body, _ = exchange(srv.port, head(length=10**9) + b"{}")
    assert status == 413 and "1000000000 bytes is too large" in json_error(body)
    serving(srv)


def test_content_length_smaller_than_the_body(srv: Any) -> None:
    """20 bytes announced, 48 KiB sent: the 20 are a broken JSON body (400); the rest is not
    a request: the server says so (400) and closes the connection; nothing else happens."""
    runs_before = len(httpx.get(srv.url + "/api/runs", timeout=15).json())
    body = b'{"scenario": "toy", "label": "' + b"x" * (3 * MAX_BODY) + b'"}'
    status, answer, closed = exchange(srv.port, head(length=20) + body, check_closed=True)
    assert status == 400 and "not valid JSON" in json_error(answer)
    assert closed
    assert len(httpx.get(srv.url + "/api/runs", timeout=15).json()) == runs_before
    serving(srv)


def test_chunked_body_over_the_limit(srv: Any) -> None:
    """No Content-Length: the limit applies while the chunks arrive."""
    chunk = b"x" * 4096
    data = head(extra="Transfer-Encoding: chunked")
    data += b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(64)) + b"0\r\n\r\n"
    status, body, _ = exchange(srv.port, data)
    assert status == 413 and "too large" in json_error(body)
    serving(srv)


@pytest.mark.parametrize("data", [
    head(length="abc") + b"{}",
    head(length=-1) + b"{}",
    head(length="1e3") + b"{}",
    head(length=5, extra="Content-Length: 7") + b"{}",  # two different lengths
    head(length=2, extra="Transfer-Encoding: chunked") + b"0\r\n\r\n",  # both framings
    head(extra="Transfer-Encoding: gzip, chunked") + b"0\r\n\r\n",
    head(length=2).replace(b"HTTP/1.1", b"HTTP/9.9") + b"{}",
    b"POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length 2\r\n\r\n{}",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(64),  # a TLS hello
    b"GARBAGE\r\n\r\n",
], ids=["length-text", "length-negative", "length-float", "two-lengths", "length-and-chunked",
        "unknown-coding", "http-9.9", "header-no-colon", "tls-hello", "garbage"])
def test_malformed_framing(srv: Any, data: bytes) -> None:
    status, body, closed = exchange(srv.port, data)
    assert status == 0 or 400 <= status < 500, (status, body[:200])
    assert status != 0 or closed
    serving(srv)


def test_huge_header_and_url(srv: Any) -> None:
    """A megabyte of header line: uvicorn's parser gives up (400, closed); a 20 KB query
    string: the value is refused (422)."""
    status, _, closed = exchange(
        srv.port, b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 2**20
        + b"\r\n\r\n", check_closed=True)
    assert status == 0 or 400 <= status < 500
    assert closed
    status, body, _ = exchange(
        srv.port, b"GET /api/params?scenario=" + b"a" * 20_000
        + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert status == 422 and "scenario" in json_error(body)
    serving(srv)


# ------------------------------------------------------------------------------ paths and hosts

TRAVERSALS = [
    "/static/../../../../etc/passwd",
    "/static/..%2f..%2f..%2fpyproject.toml",
    "/static/%2e%2e/%2e%2e/pyproject.toml",
    "/static/..%5c..%5cpyproject.toml",
    "/static/....//....//pyproject.toml",
    "/static/%252e%252e%252fpyproject.toml",
    "/static/dashboard.js%00.html",
    "/api/runs/..%2f..%2f..%2fetc%2fpasswd",
    "/api/runs/../../etc/passwd/sections",
    "/api/runs/000000000000%00/report",
    "/api/runs/%2e%2e%2f%2e%2e%2fsrv-server.log/report",
    "//etc/passwd",
    "http://127.0.0.1/../../etc/passwd",
]


@pytest.mark.parametrize("target", TRAVERSALS)
def test_traversal_in_raw_targets(srv: Any, target: str) -> None:
    """Sent byte for byte (a client library would normalise the dots away first)."""
    status, body, _ = exchange(srv.port, f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                         "Connection: close\r\n\r\n".encode())
    assert status in (400, 404), (target, status, body[:200])
    for leak in (b"root:", b"[project]", b"import ", b"purgesim dashboard on"):
        assert leak not in body


def test_foreign_or_missing_host(srv: Any) -> None:
    """Another name for this address (DNS rebinding) or none at all: 400."""
    for host in ("evil.example", "127.0.0.1.nip.io", None):
        status, _, _ = exchange(srv.port, head("/api/health", "GET", host=host))
        assert status == 400, host
    serving(srv)


# ------------------------------------------------------------------------------ values

BAD_VALUES = [
    ({"scenario": "toy", "seed": "1"}, "seed"),
    ({"scenario": "toy", "seed": -5}, "seed"),
    ({"scenario": "toy", "seed": 2**63}, "seed"),
    ({"scenario": "toy", "scale": 1e308}, "scale"),
    ({"scenario": "toy", "scale": -0.0}, "scale"),
    ({"scenario": "toy", "scale": [0.1]}, "scale"),
    ({"scenario": "ussr-1937", "scale": 1.0}, "scale"),
    ({"scenario": ["toy"]}, "scenario"),
    ({"scenario": "../../../etc/passwd"}, "scenario"),
    ({"scenario": "toy\u0000"}, "scenario"),
    ({"scenario": "toy", "params": {"confession.p_work": 1e9}}, "params.confession.p_work"),
    ({"scenario": "toy", "params": {"confession.p_work": None}}, "params.confession.p_work"),
    ({"scenario": "toy", "params": {"confession.p_work": {"$gt": 0}}},
     "params.confession.p_work"),
    ({"scenario": "toy", "params": {"confession.enabled": "yes"}},
     "params.confession.enabled"),
    ({"scenario": "toy", "params": {"../../x.y": 1}}, "params"),
    ({"scenario": "toy", "params": "confession.p_work=0.5"}, "params"),
    ({"scenario": "toy", "label": 42}, "label"),
    ({"scenario": "toy", "root": "/tmp"}, "root"),
]


@pytest.mark.parametrize("body,field", BAD_VALUES, ids=[f"{i}-{f}" for i, (_, f) in
                                                        enumerate(BAD_VALUES)])
def test_wrong_types_and_ranges(srv: Any, body: dict[str, Any], field: str) -> None:
    r = httpx.post(srv.url + "/api/runs", json=body, timeout=15)
    assert r.status_code == 422, r.text
    err = r.json()
    assert (err.get("field") or "").startswith(field) or field in err["error"], err
    assert len(err["error"]) < 400


def test_deep_and_wide_json(srv: Any) -> None:
    """Nesting 5,000 deep (10 KB, within the limit) and a thousand unknown keys: 4xx, not a
    crash (the nesting was a RecursionError in the JSON parser, a 500)."""
    deep = b'{"scenario": "toy", "params": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    status, body, _ = exchange(srv.port, head(length=len(deep), extra="Connection: close")
                               + deep)
    assert status == 400 and "not valid JSON" in json_error(body), (status, body[:200])
    wide = json.dumps({"scenario": "toy", **{f"k{i}": i for i in range(1000)}}).encode()
    assert len(wide) < MAX_BODY
    status, body, _ = exchange(srv.port, head(length=len(wide), extra="Connection: close")
                               + wide)
    assert status == 422 and "unknown field" in json_error(body)
    serving(srv)


# ------------------------------------------------------------------------------ slow clients


def test_stalled_clients_do_not_block_others(srv: Any) -> None:
    """Clients that send part of a body and stall get 408 after BODY_TIMEOUT seconds (one
    that trickles a byte a second too) and are disconnected; clients that stall inside their
    headers get 408 once the header timeout has passed (guard.HEADER_TIMEOUT) and are
    disconnected too; meanwhile the others are served as usual."""
    port = srv.port
    t0 = time.monotonic()
    bodies: list[socket.socket] = []
    heads: list[socket.socket] = []
    try:
        for _ in range(4):
            s = socket.create_connection((HOST, port), timeout=BODY_TIMEOUT + 20)
            s.sendall(head(length=200) + b'{"scenario": "t')
            bodies.append(s)
        trickle = socket.create_connection((HOST, port), timeout=BODY_TIMEOUT + 20)
        bodies.append(trickle)
        trickle.sendall(head(length=200) + b"{")
        for _ in range(8):
            s = socket.create_connection((HOST, port), timeout=HEADER_TIMEOUT + 20)
            s.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            heads.append(s)
        n = 0
        while time.monotonic() - t0 < BODY_TIMEOUT - 2:  # others are served meanwhile
            serving(srv)
            try:
                trickle.sendall(b" ")
            except OSError:
                break
            n += 1
            time.sleep(1.0)
        assert n >= 3
        for s in bodies:
            r = http.client.HTTPResponse(s)
            r.begin()
            assert r.status == 408, r.status
            assert "not received in full" in json_error(r.read())
            assert _closed(s)
        for s in heads:
            r = http.client.HTTPResponse(s)
            r.begin()
            assert r.status == 408, r.status
            assert "headers not received in full" in json_error(r.read())
            assert _closed(s)
    finally:
        for s in [*bodies, *heads]:
            s.close()
    serving(srv)


# ------------------------------------------------------------------------------ the flood

INVALID: list[tuple[str, str, Any, int]] = [  # method, path, JSON body or raw bytes, status
    ("POST", "/api/runs", {"scenario": "nowhere"}, 422),
    ("POST", "/api/runs", {"scenario": "toy", "seed": "x"}, 422),
    ("POST", "/api/runs", {"scenario": "toy", "params": {"confession.p_work": 7}}, 422),
    ("POST", "/api/runs", b'{"scenario": ', 400),
    ("POST", "/api/runs", b"x" * (MAX_BODY + 1), 413),
    ("POST", "/api/runs", [1, 2], 422),
    ("GET", "/api/runs/../../etc/passwd", None, 404),
    ("GET", "/api/runs/zzzzzzzzzzzz", None, 404),
    ("GET", "/api/runs/000000000000/sections", None, 404),
    ("GET", "/api/params?scenario=../../x", None, 422),
    ("GET", "/api/compare?a=1&b=2", None, 404),
    ("GET", "/static/../app.py", None, 404),
    ("DELETE", "/api/runs", None, 405),
]
VALID = ["/api/health", "/api/runs", "/api/scenarios", "/api/params?scenario=toy",
         "/static/style.css"]


def test_flood_of_invalid_requests_among_valid_ones(srv: Any) -> None:
    """30 threads, 16 requests each, invalid and valid alternating (plus a few real runs):
    every invalid one gets its 4xx, every valid one its 2xx, the runs complete."""
    rng = random.Random(7)
    plans = [[(rng.choice(INVALID) if k % 2 == 0 else ("GET", rng.choice(VALID), None, 200))
              for k in range(16)] for _ in range(30)]
    for i in range(0, 30, 10):  # three real runs in the crowd
        plans[i][5] = ("POST", "/api/runs", {"scenario": "toy", "scale": 0.1, "seed": 900 + i,
                                             "label": f"flood {i}"}, 202)

    def worker(plan: list[tuple[str, str, Any, int]]) -> list[tuple[str, str, int, int, str]]:
        out = []
        with httpx.Client(base_url=srv.url, timeout=30) as c:
            for method, path, body, want in plan:
                if isinstance(body, bytes):
                    r = c.request(method, path, content=body,
                                  headers={"content-type": "application/json"})
                elif body is not None:
                    r = c.request(method, path, json=body)
                else:
                    r = c.request(method, path)
                out.append((method, path, want, r.status_code,
                            r.text[:200] if r.status_code != want else
                            (r.json()["id"] if want == 202 else "")))
        return out

    with ThreadPoolExecutor(max_workers=30) as pool:
        results = [x for xs in pool.map(worker, plans) for x in xs]
    wrong = [x for x in results if x[3] != x[2] and not (x[2] == 202 and x[3] == 429)]
    assert not wrong, wrong[:10]
    assert not [x for x in results if x[3] >= 500]
    assert len(results) == 30 * 16
    for rid in [x[4] for x in results if x[2] == 202 and x[3] == 202]:
        t1 = time.monotonic()
        while time.monotonic() - t1 < 120:
            s = httpx.get(f"{srv.url}/api/runs/{rid}", timeout=15).json()
            if s["status"] in ("done", "failed"):
                break
            time.sleep(0.2)
        assert s["status"] == "done", s
    serving(srv)


# ------------------------------------------------------------------------------ afterwards


def test_after_all_that_a_run_still_works(srv: Any) -> None:
    r = httpx.post(srv.url + "/api/runs", json={"scenario": "toy", "scale": 0.1, "seed": 77,
                                                "label": "after the abuse"}, timeout=15)
    assert r.status_code == 202, r.text
    rid = r.json()["id"]
    t0 = time.monotonic()
    while time.monotonic() - t0 < 120:
        s = httpx.get(f"{srv.url}/api/runs/{rid}", timeout=15).json()
        if s["status"] in ("done", "failed"):
            break
        time.sleep(0.2)
    assert s["status"] == "done" and s["totals"]["arrests"] > 0, s
    sec = httpx.get(f"{srv.url}/api/runs/{rid}/sections", timeout=30)
    assert sec.status_code == 200 and sec.json()["user_label"] == "after the abuse"
    assert srv.proc.poll() is None
    log = srv.log_text()
    assert "Traceback" not in log and "Exception in ASGI" not in log, log[-3000:]
