"""The dashboard server (Starlette TestClient): validation answers 4xx naming the field,
oversized bodies 413, no path traversal, a bounded queue (429), a toy run end to end, and
the server keeps serving after every refusal."""

from __future__ import annotations

import threading
import time
import warnings
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

with warnings.catch_warnings():  # starlette 1.x suggests httpx2 for its test client
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

from purgesim.server import create_app  # noqa: E402
from purgesim.server.jobs import Job  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def wait_done(c: TestClient, rid: str, timeout: float = 120.0) -> dict[str, Any]:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        s = c.get(f"/api/runs/{rid}").json()
        if s["status"] in ("done", "failed", "damaged"):
            return s
        time.sleep(0.1)
    raise AssertionError(f"run {rid} did not finish in {timeout} s")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    app = create_app(tmp_path_factory.mktemp("dash"), max_workers=2, max_queued=4)
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def toy_id(client: TestClient) -> str:
    r = client.post("/api/runs", json={"scenario": "toy", "label": "baseline"})
    assert r.status_code == 202, r.text
    s = wait_done(client, r.json()["id"])
    assert s["status"] == "done", s
    return s["id"]


# ------------------------------------------------------------------------------ validation

BAD_BODIES = [
    ({"scenario": "nowhere"}, "scenario"),
    ({"scenario": "../../etc/passwd"}, "scenario"),
    ({"scenario": "toy/../toy"}, "scenario"),
    ({"scenario": "/etc/passwd.toml"}, "scenario"),
    ({"scenario": 5}, "scenario"),
    ({"scenario": "x" * 65}, "scenario"),
    ({}, "scenario"),
    ({"scenario": "toy", "seed": "1"}, "seed"),
    ({"scenario": "toy", "seed": -1}, "seed"),
    ({"scenario": "toy", "seed": 2**40}, "seed"),
    ({"scenario": "toy", "seed": 1.5}, "seed"),
    ({"scenario": "toy", "scale": 0}, "scale"),
    ({"scenario": "toy", "scale": 2}, "scale"),
    ({"scenario": "toy", "scale": "big"}, "scale"),
    ({"scenario": "ussr-1937", "scale": 0.5}, "scale"),  # too many people for the dashboard
    ({"scenario": "toy", "params": {"confession.p_work": 5}}, "params.confession.p_work"),
    ({"scenario": "toy", "params": {"confession.p_work": -0.1}}, "params.confession.p_work"),
    ({"scenario": "toy", "params": {"confession.p_work": "0.1"}}, "params.confession.p_work"),
    ({"scenario": "toy", "params": {"confession.p_work": True}}, "params.confession.p_work"),
    ({"scenario": "toy", "params": {"confession.enabled": 0}}, "params.confession.enabled"),
    ({"scenario": "toy", "params": {"confession.max_days": 2.5}}, "params.confession.max_days"),
    ({"scenario": "toy", "params": {"halt.mode": "never"}}, "params.halt.mode"),
    ({"scenario": "toy", "params": {"nosuch.thing": 1}}, "params.nosuch.thing"),
    ({"scenario": "toy", "params": {"confession.nosuch": 1}}, "params.confession.nosuch"),
    ({"scenario": "toy", "params": {"../x": 1}}, "params.../x"),
    ({"scenario": "toy", "params": [1, 2]}, "params"),
    ({"scenario": "toy", "params": {f"confession.p{i}": 0 for i in range(101)}}, "params"),
    ({"scenario": "toy", "label": "x" * 81}, "label"),
    ({"scenario": "toy", "out": "/tmp/x"}, "out"),
]


@pytest.mark.parametrize("body,field", BAD_BODIES,
                         ids=[f"{i}-{f}" for i, (_, f) in enumerate(BAD_BODIES)])
def test_bad_run_requests(client: TestClient, body: dict[str, Any], field: str) -> None:
    r = client.post("/api/runs", json=body)
    assert r.status_code == 422, r.text
    err = r.json()
    assert err["error"] and len(err["error"]) < 400
    assert err.get("field") == field or field in err["error"], err


def test_range_message_names_what_is_allowed(client: TestClient) -> None:
    r = client.post("/api/runs", json={"scenario": "toy", "params": {"confession.p_work": 5}})
    assert "allowed: 0 <= confession.p_work <= 1" in r.json()["error"]


@pytest.mark.parametrize("content,ctype,status", [
    (b'{"scenario": "toy"', "application/json", 400),  # malformed
    (b'{"scenario": NaN}', "application/json", 400),  # NaN is not JSON
    (b'[1, 2, 3]', "application/json", 422),  # not an object
    (b'"toy"', "application/json", 422),
    (b"\xff\xfe", "application/json", 400),  # not UTF-8
    (b"scenario=toy", "application/x-www-form-urlencoded", 415),
    (b'{"scenario": "toy"}', "text/plain", 415),
])
def test_bad_bodies(client: TestClient, content: bytes, ctype: str, status: int) -> None:
    r = client.post("/api/runs", content=content, headers={"content-type": ctype})
    assert r.status_code == status, r.text
    assert "error" in r.json()


def test_oversized_body(client: TestClient) -> None:
    big = b'{"scenario": "toy", "label": "' + b"x" * 40_000 + b'"}'
    r = client.post("/api/runs", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert "too large" in r.json()["error"]

    def chunks():  # no Content-Length: the limit applies while reading
        for _ in range(40):
            yield b"x" * 1024

    r = client.post("/api/runs", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    r = client.post("/api/runs", content=b"{}", headers={"content-type": "application/json",
                                                          "content-length": "abc"})
    assert r.status_code == 400
    assert client.get("/api/health").status_code == 200


@pytest.mark.parametrize("path", [
    "/api/runs/..%2F..%2Fetc%2Fpasswd", "/api/runs/../../etc/passwd", "/api/runs/ABCDEF123456",
    "/api/runs/000000000000", "/api/runs/0000000000001", "/api/runs/%2e%2e/sections",
    "/static/..%2Fserver%2Fapp.py", "/static/../cli.py", "/static/%2e%2e%2fcli.py",
    "/static/dashboard.html%00.js", "/static/nosuch.js", "/api/runs/000000000000/report",
    "/api/runs/000000000000/story?person=Stalin", "/nosuch",
])
def test_no_path_traversal(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code in (404, 405), (path, r.status_code)
    assert "root:" not in r.text and "import" not in r.text


@pytest.mark.parametrize("path,status", [
    ("/api/params?scenario=../../etc/passwd", 422),
    ("/api/params", 422),
    ("/api/params?scenario=" + "x" * 100, 422),
    ("/api/compare?a=000000000000&b=000000000001", 404),
    ("/api/compare?a=../x&b=y", 404),
    ("/api/compare", 422),
])
def test_bad_queries(client: TestClient, path: str, status: int) -> None:
    r = client.get(path)
    assert r.status_code == status, r.text


def test_wrong_method(client: TestClient) -> None:
    assert client.delete("/api/runs").status_code == 405
    assert client.put("/api/health").status_code == 405


# ------------------------------------------------------------------------------ the queue


def test_queue_limit(tmp_path: Path) -> None:
    """One run at a time, one waiting: the third is refused with 429; the server serves on."""
    gate = threading.Event()
    started = []

    def slow(job: Job, progress: Any) -> None:
        started.append(job.id)
        progress(1, 10)
        assert gate.wait(30)
        job.dir.mkdir(parents=True)
        (job.dir / "summary.json").write_text("{}")

    app = create_app(tmp_path, max_workers=1, max_queued=1, runner=slow)
    with TestClient(app) as c:
        a = c.post("/api/runs", json={"scenario": "toy"})
        b = c.post("/api/runs", json={"scenario": "toy", "seed": 2})
        assert a.status_code == 202 and b.status_code == 202
        r = c.post("/api/runs", json={"scenario": "toy", "seed": 3})
        assert r.status_code == 429, r.text
        assert "at most 2" in r.json()["error"]
        assert c.get("/api/health").json()["active"] == 2
        statuses = {j["id"]: j["status"] for j in c.get("/api/runs").json()}
        assert statuses[b.json()["id"]] == "queued"
        t0 = time.monotonic()
        while len(started) < 1 and time.monotonic() - t0 < 10:
            time.sleep(0.02)
        assert c.get(f"/api/runs/{a.json()['id']}").json()["progress"] == 0.1
        gate.set()
        for rid in (a.json()["id"], b.json()["id"]):  # finished; the fake files are no run
            assert wait_done(c, rid)["status"] == "damaged"
        assert c.post("/api/runs", json={"scenario": "toy", "seed": 3}).status_code == 202


def test_run_ids_are_the_servers(client: TestClient) -> None:
    r = client.post("/api/runs", json={"scenario": "toy", "id": "../../x"})
    assert r.status_code == 422


# ------------------------------------------------------------------------------ end to end


def test_pages(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and "purgesim dashboard" in r.text
    assert r.headers["x-content-type-options"] == "nosniff"
    for name in ("dashboard.js", "sections.js", "style.css", "plotly.min.js"):
        r = client.get(f"/static/{name}")
        assert r.status_code == 200 and len(r.content) > 500, name
    sc = client.get("/api/scenarios").json()
    assert "toy" in [s["name"] for s in sc]
    p = client.get("/api/params", params={"scenario": "toy"}).json()
    names = {s["name"]: s for s in p["params"]}
    assert names["confession.p_work"]["lo"] == 0 and names["confession.p_work"]["hi"] == 1
    assert names["confession.enabled"]["kind"] == "bool"
    assert names["halt.mode"]["kind"] == "choice" and "scripted" in names["halt.mode"]["choices"]
    # the mechanisms in the order of their letters, the unlettered last; ticked means on
    letters = [m["letter"] for m in p["mechanisms"]]
    lettered = [x for x in letters if x != "-"]
    assert lettered == sorted(lettered) and letters == lettered + ["-"] * (len(letters)
                                                                          - len(lettered))
    order = [m["key"] for m in p["mechanisms"]]
    seen = list(dict.fromkeys(s["mechanism"] for s in p["params"]))
    assert seen == [k for k in order if k in seen]
    page = client.get("/").text
    assert "<legend>Mechanisms</legend>" in page and "switch off" not in page
    assert "Ticked: on" in page


def test_toy_end_to_end(client: TestClient, toy_id: str) -> None:
    s = client.get(f"/api/runs/{toy_id}").json()
    assert s["progress"] == 1.0 and s["totals"]["arrests"] > 0
    listed = {j["id"]: j for j in client.get("/api/runs").json()}
    assert listed[toy_id]["totals"] == s["totals"]  # the runs table shows them, not "—"
    assert listed[toy_id]["totals"]["death_sentences"] >= 0
    sec = client.get(f"/api/runs/{toy_id}/sections").json()
    ids = [x["id"] for x in sec["sections"]]
    for want in ("arrests", "yearly", "cohorts", "cascade", "named", "claims"):
        assert want in ids
    arrests = next(x for x in sec["sections"] if x["id"] == "arrests")["figure"]
    assert any(any(v for v in t["y"]) for t in arrests["data"])
    people = client.get(f"/api/runs/{toy_id}/people", params={"q": "comrade"}).json()
    assert people and people[0]["label"].startswith("Old Comrade")
    st = client.get(f"/api/runs/{toy_id}/story", params={"person": "Old Comrade"}).json()
    assert st["story"]["events"] and st["timeline"]["data"] and st["graph"]["data"]
    story = st["story"]
    assert {"named_by", "named_after", "arrested", "at_the_end"} <= set(story)
    for n in story["named_by"]:
        assert n["date"] <= (story["arrested"] or "9999") and n["by"]
    assert all("what" in e for e in story["events"])
    assert people[0]["fate"] == people[0]["final_state"]  # the toy speaks the USSR's words
    st = client.get(f"/api/runs/{toy_id}/story", params={"person": str(people[0]["id"])})
    assert st.status_code == 200
    miss = client.get(f"/api/runs/{toy_id}/story", params={"person": "Nobody At All"})
    assert miss.status_code == 404 and "unknown" in miss.json()["error"]
    assert client.get(f"/api/runs/{toy_id}/story",
                      params={"person": "x" * 65}).status_code == 422
    rep = client.get(f"/api/runs/{toy_id}/report")
    assert rep.status_code == 200 and "plotly.js v" in rep.text and "<script src" not in rep.text


def test_mechanism_switch_changes_totals(client: TestClient, toy_id: str) -> None:
    r = client.post("/api/runs", json={"scenario": "toy", "label": "no confessions",
                                       "params": {"confession.enabled": False}})
    assert r.status_code == 202, r.text
    s = wait_done(client, r.json()["id"])
    assert s["status"] == "done"
    base = client.get(f"/api/runs/{toy_id}").json()["totals"]
    assert s["totals"]["arrests"] < base["arrests"]
    cmp = client.get("/api/compare", params={"a": toy_id, "b": s["id"]}).json()
    assert cmp["label_a"] == "baseline" and cmp["label_b"] == "no confessions"
    assert [x["id"] for x in cmp["sections"]][:2] == ["cmp-totals", "cmp-daily"]


def test_unfinished_run_is_409(tmp_path: Path) -> None:
    gate = threading.Event()

    def slow(job: Job, progress: Any) -> None:
        gate.wait(30)
        raise RuntimeError("stopped")

    with TestClient(create_app(tmp_path, runner=slow)) as c:
        rid = c.post("/api/runs", json={"scenario": "toy"}).json()["id"]
        assert c.get(f"/api/runs/{rid}/sections").status_code == 409
        gate.set()
        s = wait_done(c, rid)
        assert s["status"] == "failed" and "stopped" in s["error"]


def test_trusted_hosts(tmp_path: Path) -> None:
    app = create_app(tmp_path, allowed_hosts=["127.0.0.1", "localhost"])
    with TestClient(app, base_url="http://127.0.0.1") as c:
        assert c.get("/api/health").status_code == 200
        assert c.get("/api/health", headers={"host": "evil.example"}).status_code == 400


def test_finished_runs_are_listed_after_a_restart(client: TestClient, toy_id: str) -> None:
    root = client.app.state.manager.root
    app = create_app(root)
    with TestClient(app) as c:
        assert c.get(f"/api/runs/{toy_id}").json()["status"] == "done"
        assert c.get(f"/api/runs/{toy_id}/sections").status_code == 200


# ------------------------------------------------------------------------------ the command


@pytest.mark.parametrize("args,expect", [
    (["--port", "0"], "--port 0"),
    (["--port", "70000"], "--port 70000"),
    (["--workers", "9"], "--workers 9"),
    (["--queue", "-1"], "--queue -1"),
    (["--host", "no.such.host.invalid"], "cannot listen"),
    (["--keep", "0"], "--keep 0"),
    (["--keep-per-client", "0"], "--keep-per-client 0"),
    (["--view-grace", "-1"], "--view-grace -1"),
    (["--connections-per-client", "0"], "--connections-per-client 0"),
    (["--header-timeout", "nan"], "--header-timeout nan"),
])
def test_serve_bad_options(args: list[str], expect: str, monkeypatch: pytest.MonkeyPatch,
                           capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    from purgesim.cli import main

    monkeypatch.setattr(sys, "argv", ["purgesim", "serve", *args])
    with pytest.raises(SystemExit) as e:
        main()
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and expect in err, err


def test_serve_port_in_use(monkeypatch: pytest.MonkeyPatch,
                           capsys: pytest.CaptureFixture[str]) -> None:
    import socket
    import sys

    from purgesim.cli import main

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        monkeypatch.setattr(sys, "argv", ["purgesim", "serve", "--port", str(port)])
        with pytest.raises(SystemExit) as e:
            main()
    assert e.value.code == 2
    assert "cannot listen" in capsys.readouterr().err


def test_an_optional_number_is_listed_and_can_be_set(client: TestClient) -> None:
    """routine.rate_in_operations (unset: rate_per_year applies) is a number field whose
    value may be null; a number within its range is accepted, a string is not."""
    specs = {s["name"]: s for s in client.get("/api/params?scenario=toy").json()["params"]}
    spec = specs["routine.rate_in_operations"]
    assert spec["kind"] == "float" and spec["value"] is None
    r = client.post("/api/runs", json={"scenario": "toy",
                                       "params": {"routine.rate_in_operations": 100.0}})
    assert r.status_code == 202, r.text
    assert wait_done(client, r.json()["id"])["status"] == "done"
    r = client.post("/api/runs", json={"scenario": "toy",
                                       "params": {"routine.rate_in_operations": "x"}})
    assert r.status_code == 422 and "rate_in_operations" in r.json()["error"]


# ------------------------------------------------------------------------------ search strings

SEARCH_SPECIALS = ["\ud800", "a\udfffb", "\x00", "comrade\x00", "e\u0301", "\u0301", "\u200f",
                   "\u202e abc", "x" * 64, "x" * 65, "x" * 10_000, "²", "①", "#²", "٣", "১২",
                   "1_0", "#", " ", "\ufeff", "\x7f", "\u0085", "\u2028", "🙂", "\U0010ffff",
                   "9" * 64, "-1", "0x10", "İ", "ß", "%", "Old Comrade"]


def _raw_query(text: str) -> str:
    """Percent-encoded as a browser would, but lone surrogates too (as the bytes of their
    UTF-8-like encoding: not valid UTF-8, which the server must refuse cleanly)."""
    from urllib.parse import quote

    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def _check_search(client: TestClient, toy_id: str, text: str) -> None:
    for path, key in (("people", "q"), ("story", "person")):
        r = client.get(f"/api/runs/{toy_id}/{path}?{key}={_raw_query(text)}")
        assert r.status_code in (200, 400, 404, 422), (path, repr(text)[:80], r.status_code,
                                                        r.text[:200])
        body = r.json()
        if r.status_code != 200:
            assert isinstance(body["error"], str) and 0 < len(body["error"]) < 400, body
        elif path == "people":
            assert isinstance(body, list)


@pytest.mark.parametrize("text", SEARCH_SPECIALS, ids=range(len(SEARCH_SPECIALS)))
def test_search_strings(client: TestClient, toy_id: str, text: str) -> None:
    """Unicode digits ('²' passed str.isdigit but not int(): a 500), lone surrogates (invalid
    UTF-8 once percent-decoded: 400), control characters and over-long strings (422)."""
    _check_search(client, toy_id, text)


@pytest.mark.slow
def test_search_strings_hypothesis(client: TestClient, toy_id: str) -> None:
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies

    odd = st.characters(categories=["Cs", "Cc", "Cf", "Mn", "Me", "Nd", "No", "Nl", "Zl",
                                     "Zp", "Co", "Cn"])

    @hypothesis.settings(max_examples=150, deadline=None, database=None,
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(st.one_of(st.text(max_size=80),
                                st.lists(st.one_of(st.characters(), odd),
                                         max_size=80).map("".join),
                                st.sampled_from(SEARCH_SPECIALS)))
    def search(text: str) -> None:
        _check_search(client, toy_id, text)

    search()

