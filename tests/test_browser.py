"""Browser tests: Playwright drives Debian's chromium (headless; installed by .ci/run, never
downloaded at run time).  The dashboard: run the toy, see a chart with data, switch a
mechanism off and see the totals change, compare, open a person's story.  The report: every
chart renders and the page logs no error and fetches nothing.  Screenshots are saved in
test-artifacts/ (gitignored)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

if not os.environ.get("CI"):
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium); .ci/run installs "
                    "it, or: apt-get install chromium", allow_module_level=True)
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed: "
                        "pip install -e '.[test]'")

from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The dashboard on a free localhost port, in a background thread."""
    import uvicorn

    from purgesim.server import create_app

    port = free_port()
    app = create_app(tmp_path_factory.mktemp("dash"), max_workers=2, max_queued=4,
                     allowed_hosts=["127.0.0.1", "localhost"])
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                        lifespan="on"))
    t = threading.Thread(target=srv.run, daemon=True)
    t.start()
    t0 = time.monotonic()
    while not srv.started:
        assert time.monotonic() - t0 < 30, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    t.join(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


class Watch:
    """Console errors, page errors, failed requests and requests leaving the allowed origin."""

    def __init__(self, page: Page, origin: str | None) -> None:
        self.errors: list[str] = []
        self.outside: list[str] = []
        page.on("console", self.console)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url}"))

        def request(r: Any) -> None:
            url = r.url
            ok = url.startswith(("data:", "blob:", "about:")) or \
                (origin is not None and url.startswith(origin)) or \
                (origin is None and url.startswith("file:"))
            if not ok:
                self.outside.append(url)

        page.on("request", request)

    def console(self, m: ConsoleMessage) -> None:
        if m.type == "error":
            self.errors.append(f"console: {m.text}")


def shot(page: Page, name: str, selector: str | None = None) -> None:
    path = ARTIFACTS / f"{name}.png"
    if selector:
        page.locator(selector).screenshot(path=str(path))
    else:
        page.screenshot(path=str(path), full_page=True)


def chart_points(page: Page, chart_id: str) -> int:
    """Non-zero values drawn in a rendered Plotly chart (read from the live chart)."""
    return int(page.evaluate(
        """(id) => { const gd = document.getElementById(id);
             if (!gd || !gd.data || !gd._fullLayout) return -1;
             let n = 0; for (const t of gd.data) for (const v of (t.y || [])) if (v) n++;
             return gd.querySelector('svg.main-svg') ? n : -1; }""", chart_id))


def test_dashboard(server: str, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    watch = Watch(page, server)
    page.goto(server + "/")
    page.wait_for_selector('body[data-ready="1"]', timeout=30_000)
    assert page.input_value("#scenario") == "toy"
    # parameters know their ranges and units
    p = page.locator("#p-confession-p_work")
    assert p.get_attribute("min") == "0" and p.get_attribute("max") == "1"
    # mechanisms: ticked means on, and they come in the order of their letters
    assert page.inner_text("#mechanisms legend") == "Mechanisms"
    assert "Ticked: on" in page.inner_text("#mechanisms")
    assert page.is_checked("#mech-confession")
    boxes = page.locator("#mechanisms label").all_inner_texts()
    letters = [b.strip()[1] for b in boxes if b.strip().startswith("(")]
    assert len(letters) >= 5 and letters == sorted(letters), boxes
    assert all(b.strip().startswith("(") for b in boxes[:len(letters)]), boxes
    summaries = page.locator("#params details.mech summary").all_inner_texts()
    lettered = [s[1] for s in summaries if s.startswith("(")]
    assert lettered == sorted(lettered) and summaries[:len(lettered)] == [
        s for s in summaries if s.startswith("(")], summaries
    shot(page, "dashboard-start", "aside")

    # run the toy: live progress, then the charts with data
    page.click("#run-btn")
    page.wait_for_selector("#run-list tr[data-run]", timeout=30_000)
    page.wait_for_selector("#sections[data-rendered]", timeout=120_000)
    first = page.get_attribute("#sections", "data-rendered")
    assert chart_points(page, "chart-arrests") > 10
    assert chart_points(page, "chart-cascade") > 0
    arrests_on = int(page.inner_text("#totals [data-total=arrests] b").replace(",", ""))
    assert arrests_on > 0
    # the toy has no record: no chart or section claims to be "against the record"
    assert "against the record" not in page.inner_text("#sections")
    # the runs table shows the totals of a finished run, not "—"
    page.click("nav.tabs button[data-tab=runs]")
    cell = f"#run-list tr[data-run='{first}'] td[data-col=arrests]"
    page.wait_for_function("(sel) => { const c = document.querySelector(sel);"
                           " return c && c.textContent !== '—'; }", arg=cell, timeout=10_000)
    assert int(page.inner_text(cell).replace(",", "")) == arrests_on
    page.click("nav.tabs button[data-tab=charts]")
    shot(page, "dashboard-charts", "main")

    # switch forced naming off: the totals change
    page.uncheck("#mech-confession")
    page.fill("#label", "no confessions")
    page.click("#run-btn")
    page.wait_for_function(
        "(first) => { const s = document.getElementById('sections').dataset.rendered;"
        " return s && s !== (first); }", arg=first, timeout=120_000)
    arrests_off = int(page.inner_text("#totals [data-total=arrests] b").replace(",", ""))
    assert arrests_off < arrests_on, (arrests_off, arrests_on)
    assert chart_points(page, "chart-arrests") > 0
    shot(page, "dashboard-no-confession", "main")

    # compare the two side by side
    page.click("nav.tabs button[data-tab=compare]")
    page.click("#cmp-btn")
    page.wait_for_selector("#tab-compare[data-rendered]", timeout=60_000)
    assert chart_points(page, "cmp-chart-cmp-daily") > 0
    assert page.locator("#cmp-col-a .js-plotly-plot").count() >= 3
    assert page.locator("#cmp-col-b .js-plotly-plot").count() >= 3
    shot(page, "dashboard-compare", "main")

    # a bad value is refused by the server with a clear message; the page goes on
    page.evaluate("document.getElementById('p-confession-p_work').value = '7'")
    page.click("#run-btn")
    page.wait_for_function("document.getElementById('form-error').textContent.length > 0")
    assert "confession.p_work" in page.inner_text("#form-error")
    assert watch.errors[-1:] and "422" in watch.errors[-1]  # the browser logs the refusal
    watch.errors.pop()
    page.click("#reset-btn")

    # a person's story, on the first run (with confessions)
    page.click("nav.tabs button[data-tab=runs]")
    page.click(f"#run-list tr[data-run='{first}'] button.view-run")
    page.wait_for_function("(f) => document.getElementById('sections').dataset.rendered === f",
                           arg=first, timeout=60_000)
    page.click("nav.tabs button[data-tab=person]")
    page.fill("#person-q", "Old Comrade")
    page.click("#person-btn")
    page.wait_for_selector("#person-story[data-person]", timeout=30_000)
    assert "Old Comrade" in page.inner_text("#person-story h2")
    assert chart_points(page, "person-timeline") >= 0
    assert page.locator("#person-timeline svg.main-svg").count() >= 1
    assert page.locator("#person-graph svg.main-svg").count() >= 1
    assert page.locator("#person-events tbody tr").count() >= 2
    # who named him: before his arrest (what can explain it) apart from afterwards, with dates
    named = page.inner_text("#person-named-by")
    assert "Named by:" not in page.inner_text("#person-story")
    assert all(line.startswith("Named ") and "(19" in line for line in named.splitlines()
               if line.strip()), named
    shot(page, "dashboard-person", "main")

    assert watch.errors == [], watch.errors
    assert watch.outside == [], watch.outside
    page.close()

    # a fresh page: the person search needs no run chosen first (the latest finished one)
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    watch = Watch(page, server)
    page.goto(server + "/")
    page.wait_for_selector('body[data-ready="1"]', timeout=30_000)
    page.click("nav.tabs button[data-tab=person]")
    assert "Searching run" in page.inner_text("#person-run")
    page.fill("#person-q", "Old Comrade")
    page.click("#person-btn")
    page.wait_for_selector("#person-story[data-person]", timeout=30_000)
    assert "choose a run" not in page.inner_text("#person-error")
    assert "Old Comrade" in page.inner_text("#person-story h2")
    assert "named by:" not in page.inner_text("#person-story").lower()
    shot(page, "dashboard-person-fresh", "main")
    assert watch.errors == [], watch.errors
    page.close()


def test_report_renders(toy_run: Path, browser: Browser) -> None:
    report = toy_run / "report.html"
    assert report.is_file()
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    watch = Watch(page, None)
    page.route("http*://**", lambda route: route.abort())  # offline: nothing may be fetched
    page.goto(report.as_uri())
    page.wait_for_selector('body[data-rendered="1"]', timeout=60_000)
    charts = page.locator(".js-plotly-plot")
    assert charts.count() >= 10
    for cid in ("chart-arrests", "chart-sentences", "chart-operations", "chart-yearly",
                "chart-cohorts", "chart-limits", "chart-cascade-rates", "chart-cascade"):
        assert chart_points(page, cid) > 0, cid
    assert page.locator("svg.main-svg").count() >= 10
    assert page.locator("table.claims tbody tr").count() >= 5
    shot(page, "report-toy")
    page.locator("#sec-cascade").screenshot(path=str(ARTIFACTS / "report-toy-cascade.png"))
    assert watch.errors == [], watch.errors
    assert watch.outside == [], watch.outside
    page.close()
