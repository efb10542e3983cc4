"""The dashboard: a small Starlette (ASGI) app serving one static page and a JSON API.

Every request is validated on the server: bodies are limited in size (413), must be JSON
objects of the declared shape (400, 415, 422), parameters are checked against their declared
types and ranges (422), run ids are server-generated and matched against a pattern before
they are looked up (404), and no filesystem path is ever taken from the client.  Runs are
queued (`jobs.RunManager`); a full queue answers 429, and so does a client address over its
quota of runs (the retention policy is in `jobs`).  A run folder that cannot be read (a
missing or damaged file, summary.json of the wrong shape) answers 409 naming the file, never
500.  The connection limits (per client address, header and idle timeouts) are in `guard`.
The charts are `purgesim.charts`, the same code as the HTML report's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import typing
import unicodedata
from collections import OrderedDict
from collections.abc import AsyncIterator
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..charts import ChartError, RunView, compare_sections, dumps, find_people, person_timeline
from ..mechanisms import LETTERS, MECHANISMS
from ..params import describe
from ..scenario import ScenarioError, builtin_names, load
from .guard import HEADER_TIMEOUT, IDLE_TIMEOUT, MAX_CONNECTIONS, PER_CLIENT_CONNECTIONS
from .jobs import KEEP, PER_CLIENT, VIEW_GRACE, Job, QueueFull, RunManager, client_key, damage

STATIC = Path(__file__).resolve().parent.parent / "static"

MAX_BODY = 16 * 1024  # bytes of a request body
BODY_TIMEOUT = 10.0  # seconds for a request body to arrive in full (408 beyond)
MAX_PARAMS = 100  # parameters changed in one run
MAX_PEOPLE = 5_000_000  # simulated mass population of one dashboard run
MAX_QUERY = 64  # characters of a search or a person


class ApiError(Exception):
    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


def _json_error(status: int, message: str, field: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    if field:
        body["field"] = field
    return JSONResponse(body, status_code=status)


class Json(Response):
    """JSON without NaN (charts.dumps), compact."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content).encode("utf-8")


# ------------------------------------------------------------------------------ middleware


class _TooLarge(Exception):
    pass


class _TooSlow(Exception):
    pass


class BodyLimit:
    """Refuse request bodies over `max_body` bytes with 413, by header or while streaming, and
    bodies that have not arrived in full `body_timeout` seconds after the app first asks for
    them with 408 (a client that sends part of a body and stalls would otherwise hold its
    connection, and one of the server's connection slots, forever)."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY,
                 body_timeout: float = BODY_TIMEOUT) -> None:
        self.app = app
        self.max_body = max_body
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            text = length.decode("latin-1").strip()
            if not text.isdigit():
                await _json_error(400, "Content-Length is not a number")(scope, receive, send)
                return
            if int(text) > self.max_body:
                await _json_error(413, f"request body of {int(text)} bytes is too large; "
                                       f"allowed: at most {self.max_body} bytes")(
                    scope, receive, send)
                return
        seen = 0
        started = False
        more = True  # the body is not complete yet
        deadline: float | None = None

        async def limited() -> Message:
            nonlocal seen, more, deadline
            if not more:
                return await receive()
            now = asyncio.get_running_loop().time()
            deadline = deadline or now + self.body_timeout
            try:
                msg = await asyncio.wait_for(receive(), max(0.0, deadline - now))
            except TimeoutError:
                raise _TooSlow from None
            more = msg["type"] == "http.request" and bool(msg.get("more_body"))
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_body:
                    raise _TooLarge
            return msg

        async def tracking_send(msg: Message) -> None:
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, limited, tracking_send)
        except _TooLarge:
            if not started:
                await _json_error(413, f"request body too large; allowed: at most "
                                       f"{self.max_body} bytes")(scope, receive, send)
        except _TooSlow:
            if not started:
                r = _json_error(408, f"request body not received in full within "
                                     f"{self.body_timeout:g} s")
                r.headers["connection"] = "close"
                await r(scope, receive, send)
        except ClientDisconnect:
            pass  # the client left before sending its whole body: nobody to answer


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                h = list(msg.get("headers", []))
                h += [(b"x-content-type-options", b"nosniff"),
                      (b"referrer-policy", b"no-referrer"),
                      (b"x-frame-options", b"SAMEORIGIN")]
                msg = {**msg, "headers": h}
            await send(msg)

        await self.app(scope, receive, send_with_headers)


# ------------------------------------------------------------------------------ validation

ParamName = Annotated[str, StringConstraints(min_length=3, max_length=64)]
ParamValue = bool | int | float | Annotated[str, StringConstraints(max_length=32)]


class RunRequest(BaseModel):
    """The body of POST /api/runs."""

    model_config = ConfigDict(extra="forbid", strict=True)
    scenario: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    scale: float | None = Field(None, gt=0, le=1)
    seed: int = Field(1, ge=0, le=2**31 - 1)
    params: dict[ParamName, ParamValue] = Field(default_factory=dict, max_length=MAX_PARAMS)
    label: Annotated[str, StringConstraints(max_length=80)] = ""


def _kind(model: type[BaseModel], name: str) -> tuple[str, list[str]]:
    ann = model.model_fields[name].annotation
    args = typing.get_args(ann)
    if type(None) in args and len(args) == 2:  # an optional number: unset means a fallback
        ann = next(a for a in args if a is not type(None))
    if typing.get_origin(ann) is typing.Literal:
        return "choice", [str(a) for a in typing.get_args(ann)]
    if ann is bool:
        return "bool", []
    if ann is int:
        return "int", []
    if ann is float:
        return "float", []
    return "other", []


@lru_cache(maxsize=16)
def param_specs(scenario: str) -> tuple[dict[str, Any], ...]:
    """Every parameter of a built-in scenario with its kind, value, range, unit, meaning."""
    sc = load(scenario)
    out = []
    for key in MECHANISMS:
        p = sc.mechanism_params(key)
        for r in describe(p, key):
            kind, choices = _kind(type(p), r["name"].split(".", 1)[1])
            out.append({**r, "mechanism": key, "letter": LETTERS.get(key, "-"), "kind": kind,
                        "choices": choices})
    return tuple(out)


def mechanism_order() -> dict[str, int]:
    """Mechanisms in the order of their letters (a, b, c, ...), the unlettered ones last."""
    keys = sorted(MECHANISMS, key=lambda k: (LETTERS.get(k, "-") == "-", LETTERS.get(k, "-"),
                                             k))
    return {k: i for i, k in enumerate(keys)}


def _specs_by_name(scenario: str) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in param_specs(scenario)}


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value)


def _pydantic_message(e: ValidationError) -> tuple[str, str]:
    err = e.errors()[0]
    loc = ".".join(str(x) for x in err["loc"]) or "body"
    value = err.get("input")
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    if err["type"] == "extra_forbidden":
        return loc, (f"field '{loc}': unknown field; allowed: "
                     f"{', '.join(RunRequest.model_fields)}")
    return loc, f"field '{loc}': value {shown} is not allowed: {err['msg']}"


def validate_run(body: Any, max_people: int = MAX_PEOPLE) -> dict[str, Any]:
    """A run request checked in full; raises ApiError(422) naming the field and what is allowed."""
    if not isinstance(body, dict):
        raise ApiError(422, "the body must be a JSON object with 'scenario' and optionally "
                            "'scale', 'seed', 'params', 'label'")
    try:
        req = RunRequest.model_validate(body)
    except ValidationError as e:
        field, msg = _pydantic_message(e)
        raise ApiError(422, msg, field) from None
    names = builtin_names()
    if req.scenario not in names:
        raise ApiError(422, f"field 'scenario': value {req.scenario[:64]!r} is not allowed: "
                            f"unknown scenario; allowed: {', '.join(names)}", "scenario")
    if req.scale is not None and not math.isfinite(req.scale):
        raise ApiError(422, "field 'scale': must be a finite number", "scale")
    specs = _specs_by_name(req.scenario)
    sets = []
    for name, value in req.params.items():
        field = f"params.{name}"
        spec = specs.get(name)
        if spec is None:
            raise ApiError(422, f"field '{field}': unknown parameter; allowed: MECHANISM.NAME "
                                f"as listed by GET /api/params?scenario={req.scenario}", field)
        kind = spec["kind"]
        if kind == "bool" and not isinstance(value, bool):
            raise ApiError(422, f"field '{field}': value {value!r} is not allowed: must be "
                                "true or false", field)
        if kind in ("int", "float"):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                    (kind == "int" and not isinstance(value, int)):
                raise ApiError(422, f"field '{field}': value {value!r} is not allowed: must be "
                                    f"{'an integer' if kind == 'int' else 'a number'}", field)
            if not math.isfinite(value):
                raise ApiError(422, f"field '{field}': must be a finite number", field)
            lo, hi = spec["lo"], spec["hi"]
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                raise ApiError(422, f"field '{field}': value {value!r} is not allowed: out of "
                                    f"range; allowed: {lo:g} <= {name} <= {hi:g}"
                                    f"{' ' + spec['unit'] if spec['unit'] else ''}", field)
        if kind == "choice" and value not in spec["choices"]:
            raise ApiError(422, f"field '{field}': value {value!r} is not allowed; allowed: "
                                f"{', '.join(spec['choices'])}", field)
        if kind == "other":
            raise ApiError(422, f"field '{field}': this parameter cannot be set here", field)
        sets.append(f"{name}={_toml(value)}")
    try:
        sc = load(req.scenario, sets, scale=req.scale, seed=req.seed)
    except ScenarioError as e:
        raise ApiError(422, str(e)) from None
    mass = sum(r.population for r in sc.regions) * sc.scale
    if mass > max_people:
        raise ApiError(422, f"field 'scale': value {sc.scale:g} is not allowed: "
                            f"{mass:,.0f} simulated people is too many for the dashboard; "
                            f"allowed: at most {max_people:,} (scale <= "
                            f"{max_people / sum(r.population for r in sc.regions):.4g})",
                       "scale")
    return {"scenario": req.scenario, "scale": sc.scale, "seed": sc.seed,
            "params": dict(req.params), "sets": sets, "label": req.label.strip()}


def _query(request: Request, name: str, required: bool = True) -> str:
    """One query parameter: valid UTF-8 (400), at most MAX_QUERY characters, none of them a
    control character or a lone surrogate (422); returned in Unicode normal form NFC (an
    accent typed as a combining mark finds the name written with the accented letter)."""
    raw = request.scope.get("query_string", b"")
    try:
        pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True, encoding="utf-8",
                          errors="strict")
    except UnicodeDecodeError:
        raise ApiError(400, "the query string is not valid UTF-8 once percent-decoded") \
            from None
    v = next((value for key, value in pairs if key == name), None)
    if v is None or v == "":
        if required:
            raise ApiError(422, f"query parameter '{name}' is required", name)
        return ""
    if len(v) > MAX_QUERY or any(unicodedata.category(c) in ("Cc", "Cs") for c in v):
        raise ApiError(422, f"query parameter '{name}': at most {MAX_QUERY} printable "
                            "characters (no control characters)", name)
    v = unicodedata.normalize("NFC", v)
    if not v.strip():
        if required:
            raise ApiError(422, f"query parameter '{name}': only blanks; allowed: a name "
                                "or an id", name)
        return ""
    return v


# what reading a damaged run folder raises (pyarrow's errors are OSError or ValueError)
READ_ERRORS = (ChartError, OSError, ValueError, KeyError, TypeError, AttributeError,
               IndexError, LookupError, ArithmeticError)


# ------------------------------------------------------------------------------ the app


def create_app(root: Path | str = "runs/dashboard", max_workers: int = 2, max_queued: int = 8,
               max_kept: int = KEEP, per_client: int = PER_CLIENT,
               view_grace: float = VIEW_GRACE, max_body: int = MAX_BODY,
               max_people: int = MAX_PEOPLE, body_timeout: float = BODY_TIMEOUT,
               allowed_hosts: list[str] | None = None, runner: Any = None) -> Starlette:
    """The dashboard app; runs are written under `root` (one folder per run id)."""
    manager = RunManager(root, max_workers=max_workers, max_queued=max_queued,
                         max_kept=max_kept, per_client=per_client, view_grace=view_grace,
                         runner=runner)
    views: OrderedDict[str, RunView] = OrderedDict()
    sections_cache: OrderedDict[str, str] = OrderedDict()

    def job_done(rid: str) -> Job:
        job = manager.get(rid)
        if job is None:
            raise ApiError(404, f"run {rid[:20]!r}: no such run")
        manager.touch(rid)  # looked at: retention keeps it a while
        if job.status == "damaged":
            raise ApiError(409, f"run {rid} cannot be read: {job.error}")
        if job.status != "done":
            raise ApiError(409, f"run {rid}: not finished (status {job.status})")
        return job

    def damaged(job: Job, e: BaseException) -> ApiError:
        """The answer when reading a run folder failed: 409 naming the damaged file."""
        problem = damage(job.dir)
        views.pop(job.id, None)
        sections_cache.pop(job.id, None)
        if problem:
            job.status, job.error = "damaged", f"damaged: {problem}"
            return ApiError(409, f"run {job.id} cannot be read: damaged: {problem}")
        return ApiError(409, f"run {job.id} cannot be read by purgesim {__version__}: "
                             f"{type(e).__name__}: {str(e)[:160]}")

    def view_of(rid: str) -> RunView:
        job = job_done(rid)
        if rid in views:
            views.move_to_end(rid)
            return views[rid]
        try:
            v = RunView(job.dir)
            if not isinstance(v.s, dict):
                raise TypeError("summary.json is not a JSON object")
        except READ_ERRORS as e:
            raise damaged(job, e) from None
        views[rid] = v
        while len(views) > 6:
            views.popitem(last=False)
        return v

    async def reading(rid: str, fn: Any, *args: Any) -> Any:
        """fn(*args) in a worker thread; a damaged run folder is a 409, not a 500."""
        job = job_done(rid)
        try:
            return await run_in_threadpool(fn, *args)
        except READ_ERRORS as e:
            raise damaged(job, e) from None

    def label_of(rid: str) -> str:
        job = manager.get(rid)
        if job is None:
            return rid
        r = job.request
        if r.get("label"):
            return str(r["label"])
        params = r.get("params") if isinstance(r.get("params"), dict) else {}
        changes = ", ".join(f"{k}={v}" for k, v in params.items())
        return f"{r.get('scenario', '?')} seed {r.get('seed', '?')}" + (
            f" ({changes})" if changes else "")

    # -------------------------------------------------------------- pages
    static_files = {"dashboard.js": "text/javascript", "sections.js": "text/javascript",
                    "style.css": "text/css"}

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "dashboard.html", media_type="text/html")

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name == "plotly.min.js":
            from ..report import plotly_js_path

            return FileResponse(plotly_js_path(), media_type="text/javascript",
                                headers={"cache-control": "max-age=86400"})
        if name not in static_files:
            raise ApiError(404, "no such file")
        return FileResponse(STATIC / name, media_type=static_files[name])

    # -------------------------------------------------------------- API
    async def health(request: Request) -> Response:
        return Json({"ok": True, "version": __version__, "active": manager.active(),
                     "retention": {"keep": manager.max_kept, "per_client": manager.per_client,
                                   "view_grace_seconds": manager.view_grace,
                                   "deleted": manager.deleted}})

    async def scenarios(request: Request) -> Response:
        def work() -> list[dict[str, Any]]:
            out = []
            for n in builtin_names():
                sc = load(n)
                out.append({"name": n, "description": sc.description, "scale": sc.scale,
                            "seed": sc.seed, "start": sc.start.isoformat(),
                            "end": sc.end.isoformat(),
                            "population": sum(r.population for r in sc.regions),
                            "max_scale": min(1.0, max_people / sum(r.population
                                                                   for r in sc.regions))})
            return out

        return Json(await run_in_threadpool(work))

    async def params(request: Request) -> Response:
        name = _query(request, "scenario")
        if name not in builtin_names():
            raise ApiError(422, f"query parameter 'scenario': {name!r} is unknown; allowed: "
                                f"{', '.join(builtin_names())}", "scenario")
        specs = await run_in_threadpool(param_specs, name)
        order = mechanism_order()
        mechs = [{"key": k, "letter": LETTERS.get(k, "-"),
                  "doc": (m.__doc__ or "").strip().splitlines()[0] if m.__doc__ else ""}
                 for k, m in sorted(MECHANISMS.items(), key=lambda km: order[km[0]])]
        params = sorted(specs, key=lambda s: order.get(s["mechanism"], len(order)))
        return Json({"scenario": name, "mechanisms": mechs, "params": params})

    async def submit(request: Request) -> Response:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise ApiError(415, "the body must be JSON (Content-Type: application/json)")
        raw = await request.body()
        try:
            body = json.loads(raw, parse_constant=_no_constants)
        except (ValueError, UnicodeDecodeError, RecursionError) as e:  # deep [[[[ nesting
            raise ApiError(400, f"the body is not valid JSON: {str(e)[:120]}") from None
        req = await run_in_threadpool(validate_run, body, max_people)
        try:
            job = manager.submit(req, client_key(request.client.host if request.client
                                                 else None))
        except QueueFull as e:
            raise ApiError(429, str(e)) from None
        return Json(job.public(), status_code=202)

    totals_cache: dict[str, dict[str, Any] | None] = {}

    def totals_of(job: dict[str, Any]) -> dict[str, Any] | None:
        """A finished run's headline totals (read once from its summary.json), else None."""
        rid = job["id"]
        j = manager.get(rid)
        if job["status"] != "done" or j is None:
            return None
        if rid not in totals_cache:
            try:  # not view_of: this runs in a worker thread; a damaged run is told by its
                totals_cache[rid] = RunView(j.dir).totals()  # status and by run_status
            except READ_ERRORS:
                return None
        return totals_cache[rid]

    async def runs(request: Request) -> Response:
        def work() -> list[dict[str, Any]]:
            jobs = manager.list()
            for rid in set(totals_cache) - {j["id"] for j in jobs}:
                totals_cache.pop(rid, None)  # pruned by retention
            for j in jobs:
                j["totals"] = totals_of(j)
            return jobs

        return Json(await run_in_threadpool(work))

    async def run_status(request: Request) -> Response:
        rid = request.path_params["rid"]
        job = manager.get(rid)
        if job is None:
            raise ApiError(404, f"run {rid[:20]!r}: no such run")
        manager.touch(rid)
        totals = None
        if job.status == "done":
            try:
                totals = view_of(rid).totals()
            except ApiError:
                pass  # damaged: the status and error now say so
            except READ_ERRORS as e:
                damaged(job, e)
        out = job.public()
        out["totals"] = totals
        return Json(out)

    async def sections(request: Request) -> Response:
        rid = request.path_params["rid"]
        job = job_done(rid)  # kept: the run may be pruned meanwhile (it was a KeyError, a 500)
        if rid not in sections_cache:
            v = view_of(rid)
            text = await reading(rid, lambda: dumps(
                {"id": rid, "label": label_of(rid), "title": v.title,
                 "user_label": job.request.get("label", ""), "totals": v.totals(),
                 "sections": v.sections()}))
            sections_cache[rid] = text
            while len(sections_cache) > 8:
                sections_cache.popitem(last=False)
        return Response(sections_cache[rid], media_type="application/json")

    async def report(request: Request) -> Response:
        rid = request.path_params["rid"]
        job = job_done(rid)
        path = job.dir / "report.html"
        if path.is_symlink() or (path.exists() and not path.is_file()):
            raise ApiError(409, f"run {rid} cannot be read: damaged: report.html: not a file")
        if not path.is_file():
            from ..report import ReportError, write_report

            try:
                await reading(rid, write_report, job.dir)
            except ReportError as e:
                raise damaged(job, e) from None
        return FileResponse(path, media_type="text/html")

    async def people(request: Request) -> Response:
        rid = request.path_params["rid"]
        q = _query(request, "q")
        v = view_of(rid)
        return Json(await reading(rid, find_people, v, q))

    async def story(request: Request) -> Response:
        from ..story import StoryError
        from ..story import story as make_story

        rid = request.path_params["rid"]
        who = _query(request, "person")
        v = view_of(rid)

        def work() -> dict[str, Any]:
            s = make_story(v, who)  # the open view: the folder is not read again
            if len(s["events"]) > 500:
                s["events"] = s["events"][:500]
            if len(s["acts"]) > 500:
                s["acts"] = s["acts"][:500]
            return {"story": s, "timeline": person_timeline(s),
                    "graph": v.neighbourhood(int(s["id"]))}

        try:
            return Json(await reading(rid, work))
        except StoryError as e:
            problem = damage(v.dir)
            if problem:
                raise damaged(manager.get(rid) or job_done(rid), e) from None
            raise ApiError(404, str(e)[:300]) from None

    async def compare(request: Request) -> Response:
        a, b = _query(request, "a"), _query(request, "b")
        va, vb = view_of(a), view_of(b)
        la, lb = label_of(a), label_of(b)
        if la == lb:
            la, lb = f"{la} [{a[:4]}]", f"{lb} [{b[:4]}]"
        try:
            secs = await run_in_threadpool(compare_sections, va, vb, la, lb)
        except READ_ERRORS as e:
            ja, jb = job_done(a), job_done(b)
            raise damaged(jb if damage(jb.dir) and not damage(ja.dir) else ja, e) from None
        return Json({"a": a, "b": b, "label_a": la, "label_b": lb, "sections": secs})

    # -------------------------------------------------------------- errors
    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return _json_error(exc.status, exc.message, exc.field)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return _json_error(exc.status_code, str(exc.detail))

    async def server_error(request: Request, exc: Exception) -> Response:
        return _json_error(500, f"internal error: {type(exc).__name__}")

    routes = [
        Route("/", index),
        Route("/static/{name}", static),
        Route("/api/health", health),
        Route("/api/scenarios", scenarios),
        Route("/api/params", params),
        Route("/api/runs", runs, methods=["GET"]),
        Route("/api/runs", submit, methods=["POST"]),
        Route("/api/runs/{rid}", run_status),
        Route("/api/runs/{rid}/sections", sections),
        Route("/api/runs/{rid}/report", report),
        Route("/api/runs/{rid}/people", people),
        Route("/api/runs/{rid}/story", story),
        Route("/api/compare", compare),
    ]
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        manager.shutdown()

    middleware = [Middleware(SecurityHeaders), Middleware(BodyLimit, max_body=max_body,
                                                          body_timeout=body_timeout)]
    if allowed_hosts:
        middleware.insert(0, Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts))
    app = Starlette(routes=routes, middleware=middleware,
                    exception_handlers={ApiError: api_error, HTTPException: http_error,
                                        Exception: server_error},
                    lifespan=lifespan)
    app.state.manager = manager
    return app


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


def serve(host: str = "127.0.0.1", port: int = 8765, root: Path | str = "runs/dashboard",
          max_workers: int = 2, max_queued: int = 8, keep: int = KEEP,
          per_client: int = PER_CLIENT, view_grace: float = VIEW_GRACE,
          connections_per_client: int = PER_CLIENT_CONNECTIONS,
          max_connections: int = MAX_CONNECTIONS, header_timeout: float = HEADER_TIMEOUT,
          idle_timeout: float = IDLE_TIMEOUT, log_level: str = "info") -> None:
    """uvicorn with the guarded HTTP protocol (`guard`): no global concurrency limit (which
    answered every request 503 once 64 connections were open, idle or not), but at most
    `connections_per_client` connections per client address and `max_connections` in all,
    `header_timeout` seconds for a request's headers, `idle_timeout` between requests.  The
    client address is the peer's: X-Forwarded-For is not trusted (a client could choose
    its quota's address)."""
    import uvicorn

    from .guard import guarded_protocol

    loopback = host in ("127.0.0.1", "localhost", "::1")
    hosts = ["127.0.0.1", "localhost", "[::1]", "::1"] if loopback else None
    app = create_app(root, max_workers=max_workers, max_queued=max_queued, max_kept=keep,
                     per_client=per_client, view_grace=view_grace, allowed_hosts=hosts)
    protocol = guarded_protocol(per_client=connections_per_client,
                                max_connections=max_connections,
                                header_timeout=header_timeout)
    uvicorn.run(app, host=host, port=port, log_level=log_level, http=protocol,
                timeout_keep_alive=max(1, round(idle_timeout)), proxy_headers=False)
