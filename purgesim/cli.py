"""The command line: thin wrappers over the scenario loader, the engine and the results."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import __version__, stop
from .mechanisms import LETTERS, MECHANISMS
from .params import describe
from .runfolder import (
    FolderError,
    check_input_file,
    check_output,
    check_output_file,
    remove_unfinished,
)
from .scenario import ScenarioError, builtin_names, load

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="purgesim: an agent-based model of the machine of political purges.")


def _cell(x: Any) -> str:
    """A table cell as plain text on one line: markup removed, no tab or newline left."""
    from rich.text import Text

    text = Text.from_markup(x).plain if isinstance(x, str) else \
        x.plain if isinstance(x, Text) else str(x)
    return " ".join(text.replace("\t", " ").splitlines()).strip()


class Out(Console):
    """Standard output: Rich tables on a terminal; in a pipe or a file, every table as
    tab-separated rows (its title as a line starting with '# ', then the header, then one line
    a row) and no line wrapped, so that grep, cut and head see each name whole."""

    @property
    def plain(self) -> bool:
        """True when standard output is not a terminal (a pipe, a file, a test)."""
        isatty = getattr(self.file, "isatty", None)
        try:
            return not (isatty is not None and isatty())
        except ValueError:  # a closed file
            return True

    def print(self, *objects: Any, **kw: Any) -> None:  # type: ignore[override]
        if not self.plain:
            super().print(*objects, **kw)
            return
        kw["soft_wrap"] = True
        for o in objects:
            if isinstance(o, Table):
                lines = [] if o.title is None else ["# " + _cell(o.title)]
                lines.append("\t".join(_cell(c.header) for c in o.columns))
                lines += ["\t".join(_cell(x) for x in row)
                          for row in zip(*(c._cells for c in o.columns))]
                self.file.write("\n".join(lines) + "\n")
                self.file.flush()
            else:
                super().print(o, **kw)


console = Out()
err = Console(stderr=True)


def count(v: float) -> str:
    """An integer as an integer: 1,024,640 on a terminal, 1024640 in a pipe (never 1.02e+06)."""
    return str(round(v)) if console.plain else f"{round(v):,}"


def amount(v: float | None) -> str:
    """A figure: whole numbers and anything from 100,000 up as counts, others to 6 digits."""
    if v is None or v != v:  # None or NaN
        return ""
    if float(v).is_integer() or abs(v) >= 100_000:
        return count(v)
    return f"{v:.6g}"


class UserError(Exception):
    """Bad input: printed on one line, exit code 2."""


#: the optional packages of `pip install 'purgesim[fit]'`, by the command that needs them
FIT_PACKAGES = {"calibrate": ("pyabc", "distributed"), "sensitivity": ("SALib", "distributed")}


def require_fit(command: str) -> None:
    """Refuse, before any work, a fitting command whose packages (the `fit` extra) are absent.

    The core install leaves them out (they bring about a hundred packages), so their absence
    is a user's choice to be answered with what to install, not with a traceback."""
    import importlib.util

    missing = []
    for name in FIT_PACKAGES[command]:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a parent or a blocked entry in sys.modules
            found = False
        if not found:
            missing.append(name)
    if missing:
        raise UserError(f"purgesim {command}: needs {', '.join(missing)}, not installed; "
                        "allowed: install the fit extra first, pip install 'purgesim[fit]'")


_Errors = tuple[type[BaseException], ...]


def _command_line_errors() -> tuple[_Errors, _Errors]:
    """(usage errors, aborts) raised by the command-line parser.

    Older typer raises click's exceptions; recent versions vendor click and raise their
    own (`typer.exceptions.TyperException` and subclasses).  Catch both."""
    usage: list[type[BaseException]] = []
    aborts: list[type[BaseException]] = [typer.Abort]
    try:
        import click

        usage.append(click.ClickException)
        aborts.append(click.exceptions.Abort)
    except ImportError:  # pragma: no cover - typer without click
        pass
    try:
        from typer.exceptions import TyperException

        usage.append(TyperException)
    except ImportError:  # pragma: no cover - older typer
        pass
    return tuple(usage), tuple(aborts)


_USAGE_ERRORS, _ABORTS = _command_line_errors()


def _default_out(name: str, seed: int, scale: float) -> Path:
    stem = Path(name).stem
    return Path("runs") / f"{stem}-seed{seed}-scale{scale:g}"


def _check_out(out: Path, force: bool) -> None:
    """Refuse, before the run, a --out the run could not be written to or must not replace
    (runfolder.check_output: --force replaces only a folder carrying purgesim's marker)."""
    check_output(out, force, "run")


def _reader_errors(what: str) -> tuple[type[BaseException], ...]:
    """Errors a reader raises on a run folder whose files are of an unexpected shape."""
    return (KeyError, TypeError, IndexError, ValueError, AttributeError)


def _misshapen(run_dir: Path, e: BaseException) -> UserError:
    """The one-line error for a run folder whose files a reader could not make sense of."""
    return UserError(f"run folder {str(run_dir)!r}: its files are not of the shape purgesim "
                     f"writes ({type(e).__name__}: {str(e)[:80]}); allowed: a complete "
                     "folder written by 'purgesim run'")


@app.command()
def run(
    scenario: Annotated[str, typer.Argument(help="built-in scenario name or a .toml file")],
    scale: Annotated[Optional[float], typer.Option(help="share of the mass population")] = None,
    seed: Annotated[Optional[int], typer.Option(help="random seed (>= 0)")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="NAME=VALUE override")] = None,
    out: Annotated[Optional[Path], typer.Option(help="run folder to write")] = None,
    force: Annotated[bool, typer.Option(help="overwrite an existing run folder")] = False,
    profile: Annotated[bool, typer.Option(help="print the time of each phase")] = False,
    check: Annotated[bool, typer.Option(help="verify the invariants every day")] = False,
    quiet: Annotated[bool, typer.Option(help="no progress bar or tables")] = False,
    no_report: Annotated[bool, typer.Option("--no-report",
                                            help="do not write report.html")] = False,
    seeds: Annotated[Optional[int], typer.Option(
        help="run N seeds (1..N, or --seed S..S+N-1) as an ensemble: each run's folder, "
             "ensemble.json with medians and 5-95% intervals, report.html with bands")] = None,
    workers: Annotated[Optional[int], typer.Option(
        help="processes for --seeds (default 2, or 1 on one core)")] = None,
    end: Annotated[Optional[str], typer.Option(
        help="end the run earlier, on this day (YYYY-MM-DD, not after the scenario's end)")]
        = None,
) -> None:
    """Run a scenario and write its outputs (summary.json, Parquet series, event log) and its
    HTML report (report.html in the run folder); with --seeds N, an ensemble of N runs."""
    from .runner import simulate, write

    if seeds is not None or workers is not None:
        _check_ensemble_options(seeds, workers, profile, check)
    sets = set_ or []
    if end is not None:  # checked against the scenario's own dates, then an ordinary --set
        sc = load(scenario, sets, scale=scale, seed=seed, end=end)
        sets = [*sets, f"end={sc.end.isoformat()}"]
    if seeds is not None and seeds > 1:
        run_ensemble(scenario, scale, seed, sets, out, force, seeds, workers, quiet,
                     no_report)
        return
    sc = load(scenario, sets, scale=scale, seed=seed)
    out = out or _default_out(scenario, sc.seed, sc.scale)
    _check_out(out, force)
    report_fn = None
    if not no_report:
        from .report import ReportError, write_report

        def report_fn(folder: Path, name: str) -> None:
            try:
                write_report(folder, name=name)
            except ReportError as e:  # the run folder is written; say why its page is not
                err.print(f"warning: report not written: {e}", highlight=False,
                          soft_wrap=True)

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total} days"), TimeElapsedColumn(),
                  console=err, transient=True, disable=quiet) as bar:
        if not quiet:
            _compile_first(bar)
        task = bar.add_task(f"building {sc.name}", total=sc.n_days)
        sim = simulate(sc, check=check, progress=lambda d, n: bar.update(
            task, completed=d, description=f"{sc.name} {sc.date_of(d - 1).isoformat()}"))
    s = write(sim, out, force=force, check=stop.check, report=report_fn)
    if not quiet:
        print_summary(s, out, sim.run_seconds, sim.build_seconds)
        if (out / "report.html").is_file():
            console.print(f"report: {out / 'report.html'}", highlight=False, soft_wrap=True)
    if profile:
        t = Table(title="time per phase")
        t.add_column("phase")
        t.add_column("seconds", justify="right")
        t.add_column("share", justify="right")
        total = sum(p.seconds for p in sim.timing) or 1.0
        for p in sim.timing:
            t.add_row(p.name, f"{p.seconds:.3f}", f"{100 * p.seconds / total:.1f}%")
        t.add_row("build society", f"{sim.build_seconds:.3f}", "")
        console.print(t)


def _check_ensemble_options(seeds: int | None, workers: int | None, profile: bool,
                            check: bool) -> None:
    """Refuse, before any work, --seeds and --workers values and companions that cannot be."""
    if seeds is not None and seeds < 1:
        raise UserError(f"--seeds {seeds}: not allowed; allowed: a whole number >= 1 (1: a "
                        "single run, as without --seeds; N >= 2: an ensemble of N seeds)")
    if workers is not None and workers < 1:
        raise UserError(f"--workers {workers}: not allowed; allowed: a whole number >= 1")
    if seeds is not None and seeds > 1:
        for name, given in (("--profile", profile), ("--check", check)):
            if given:
                raise UserError(f"{name}: not allowed with --seeds {seeds}; allowed: {name} "
                                "with a single run (without --seeds)")


def run_ensemble(scenario: str, scale: float | None, seed: int | None, sets: list[str],
                 out: Path | None, force: bool, n: int, workers: int | None, quiet: bool,
                 no_report: bool) -> None:
    """`run --seeds N`: N seeds in parallel processes, written as one ensemble folder
    (purgesim/ensemble.py); prints the medians and 5-95% intervals over the seeds."""
    from . import ensemble

    seed_list = ensemble.seeds_of(seed, n)
    sc = load(scenario, sets, scale=scale, seed=seed_list[0])
    if seed_list[-1] > 2**63 - 1:
        raise UserError(f"--seeds {n}: with --seed {seed_list[0]} the last seed would be "
                        f"{seed_list[-1]}; allowed: --seed S and --seeds N with S + N - 1 <= "
                        f"{2**63 - 1}")
    out = out or ensemble.default_out(scenario, seed_list, sc.scale)
    check_output(out, force, ensemble.KIND,
                 again="--force to replace a purgesim ensemble folder")
    w = workers or ensemble.workers_default(n)
    from . import kernels

    if kernels.cold():  # compile once here, not in every worker at once
        if not quiet:
            err.print("compiling kernels, first run only ...", highlight=False)
        kernels.warm_up()
    if not quiet:
        err.print(f"running {sc.name} with seeds {seed_list[0]} to {seed_list[-1]} "
                  f"({n} runs) in {min(w, n)} process(es) ...", highlight=False,
                  soft_wrap=True)
    t0 = time.perf_counter()
    e = ensemble.write_ensemble(sc, seed_list, out, force=force, workers=w,
                                report=not no_report, overrides=sets, check=stop.check,
                                warn=lambda m: err.print(f"warning: {m}", highlight=False,
                                                         soft_wrap=True))
    if not quiet:
        print_ensemble(e, sc.name, sc.scale, out, time.perf_counter() - t0)


def print_ensemble(e: dict, name: str, scale: float, out: Path, seconds: float) -> None:
    """The ensemble's summary: medians and 5-95% intervals over the seeds."""
    from .ensemble import halt_text, iv_text, words_of, yearly_words

    seeds = e["seeds"]
    console.print(f"[bold]{name}[/] seeds {seeds[0]} to {seeds[-1]} ({len(seeds)} runs) "
                  f"scale {scale:g}: ran in {seconds:.1f} s; outputs in {out}",
                  highlight=False, soft_wrap=True)
    first: dict = {}
    try:  # the parameters are the same in every run: the first one's say it
        first = json.loads((out / e["runs"][0]["folder"] / "summary.json").read_text())
        from .calstatus import status

        console.print(f"calibration: {status(first['scenario'], first['parameters'])}; the "
                      "intervals below are the spread over seeds at these parameters",
                      highlight=False, soft_wrap=True)
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        pass
    t = Table(title=f"yearly totals: median (5–95%) over {len(seeds)} seeds "
                    "(full-population figures)")
    t.add_column("year", justify="right")
    yearly = yearly_words(words_of(first))
    for _, words in yearly:
        t.add_column(words, justify="right")
    for y, v in e["yearly"].items():
        t.add_row(y, *[iv_text(v.get(k), count) for k, _ in yearly])
    console.print(t)
    t = Table(title="cohorts: median (5–95%)")
    for col in ("cohort", "size", "arrested", words_of(first)["shot"]):
        t.add_column(col, justify="right" if col != "cohort" else "left")
    for k, v in e["cohorts"].items():
        size = (v.get("size") or {}).get("median")
        t.add_row(k.replace("_", " "), "" if size is None else count(size),
                  iv_text(v.get("arrested"), count), iv_text(v.get("shot"), count))
    console.print(t)
    if e["operations"]:
        t = Table(title=f"{words_of(first)['mass_operations']}: median (5–95%)")
        for col in ("operation", "arrests", "convictions", words_of(first)["shot"]):
            t.add_column(col, justify="right" if col != "operation" else "left")
        for k, v in e["operations"].items():
            t.add_row(k, *[iv_text(v.get(m), count) for m in ("arrests", "convictions",
                                                                "shot")])
        console.print(t)
    console.print("arrests by channel, median (5–95%): " + ", ".join(
        f"{k} {iv_text(v, lambda x: f'{100 * x:.1f}%')}" for k, v in e["channels"].items()
        if v is not None), highlight=False, soft_wrap=True)
    console.print(halt_text(e["halt"]), highlight=False, soft_wrap=True)
    if (out / "report.html").is_file():
        console.print(f"report: {out / 'report.html'}", highlight=False, soft_wrap=True)


def _compile_first(bar: Progress) -> None:
    """On a fresh machine, compile the kernels first and say so (about 10 s, once)."""
    from . import kernels

    if not kernels.cold():
        return
    what = "compiling kernels, first run only"
    if not err.is_terminal:
        err.print(f"{what} ...", highlight=False, soft_wrap=True)
    task = bar.add_task(what, total=None)
    kernels.warm_up()
    bar.remove_task(task)


def print_summary(s: dict, out: Path, seconds: float, build: float) -> None:
    people = s["people"]
    console.print(f"[bold]{s['scenario']}[/] seed {s['seed']} scale {s['scale']:g}: "
                  f"{people['simulated']:,} people simulated for {people['represented']:,}; "
                  f"built in {build:.1f} s, ran in {seconds:.1f} s; outputs in {out}")
    from .calstatus import status

    console.print(f"calibration: {status(s['scenario'], s.get('parameters', {}))}",
                  highlight=False)
    t = Table(title="yearly totals (full-population figures, this seed)")
    for col in ("year", "arrests", "convictions", "death sentences", "camp", "releases",
                "camp deaths"):
        t.add_column(col, justify="right")
    for y, v in s["yearly"].items():
        t.add_row(y, count(v["arrests"]), count(v["convictions"]), count(v["death_sentences"]),
                  count(v["camp_sentences"]), count(v["releases"]), count(v["camp_deaths"]))
    console.print(t)
    print_predictive(s)
    t = Table(title="cohorts")
    for col in ("cohort", "size", "arrested", "shot"):
        t.add_column(col, justify="right" if col != "cohort" else "left")
    for k, v in s["cohorts"].items():
        t.add_row(k.replace("_", " "), count(v["size"]), count(v["arrested"]), count(v["shot"]))
    console.print(t)
    if s["operations"]:
        t = Table(title="mass operations")
        for col in ("operation", "limit cat.1 initial→final", "limit cat.2 initial→final",
                    "arrests", "convictions", "shot"):
            t.add_column(col, justify="right" if col != "operation" else "left")
        for k, v in s["operations"].items():
            li, lf = v["limits_initial"], v["limits_final"]
            t.add_row(k, f"{count(li['cat1'])}→{count(lf['cat1'])}",
                      f"{count(li['cat2'])}→{count(lf['cat2'])}",
                      count(v["arrests"]), count(v["convictions"]), count(v["shot"]))
        console.print(t)
    ch = s["channels"]
    console.print("arrests by channel: " + ", ".join(
        f"{k} {100 * v:.1f}%" for k, v in ch.items() if k not in ("top_down", "bottom_up",
                                                                   "routine")))
    console.print(f"top-down {100 * ch['top_down']:.1f}%, bottom-up "
                  f"{100 * ch['bottom_up']:.1f}%, routine {100 * ch['routine']:.1f}%; "
                  f"mean names per confession {s['cascade']['mean_names_per_confession']:.2f}; "
                  f"deepest naming chain {s['cascade']['deepest_chain']}")
    t = Table(title="named people: simulated fate (real fate)")
    t.add_column("name")
    t.add_column("simulated")
    t.add_column("real")
    for k, v in s["named"].items():
        t.add_row(k, f"{v['fate']} {v['date'] or ''}", f"{v['real_fate']} {v['real_date']}")
    console.print(t)


def print_predictive(s: dict) -> None:
    """Beside one seed's yearly totals, the spread the calibrated model gives (the
    calibration's posterior-predictive intervals), so that one seed is not read as the answer;
    only for a run that uses the calibrated values unchanged."""
    from .ensemble import predictive

    pred = predictive(s["scenario"], s.get("parameters", {}))
    measures = [(k, w) for k, w in (("arrests", "arrests"), ("convictions", "convictions"),
                                    ("death_sentences", "death sentences"))
                if any(f"yearly.{y}.{k}" in pred for y in s["yearly"])]
    if not measures:
        return
    t = Table(title="this seed beside the calibrated model's range (calibration, 5–95% over "
                    "the posterior and seeds)")
    t.add_column("year", justify="right")
    for _, words in measures:
        t.add_column(f"{words}: this seed", justify="right")
        t.add_column("calibration 5–95%", justify="right")
    for y, v in s["yearly"].items():
        row = [y]
        for k, _ in measures:
            q = pred.get(f"yearly.{y}.{k}")
            row += [count(v[k]), "" if q is None else f"{count(q[0])}–{count(q[2])}"]
        t.add_row(*row)
    console.print(t)
    console.print("calibration range: the calibration's posterior predictive (posterior draws, "
                  "each with its own seed; docs/calibration.md). For this model's spread over "
                  f"seeds: purgesim run {s['scenario']} --seeds 10", highlight=False,
                  soft_wrap=True)


@app.command()
def scenarios(
    json_: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List the built-in scenarios."""
    rows = []
    for name in builtin_names():
        sc = load(name)
        rows.append({"name": name, "start": str(sc.start), "end": str(sc.end),
                     "description": sc.description})
    if json_:
        typer.echo(json.dumps(rows, indent=1))
        return
    t = Table()
    t.add_column("name")
    t.add_column("period")
    t.add_column("description")
    for r in rows:
        t.add_row(r["name"], f"{r['start']} to {r['end']}", r["description"])
    console.print(t)


@app.command()
def params(
    scenario: Annotated[str, typer.Argument(help="built-in scenario name or a .toml file")],
    json_: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """The parameters of a scenario: name, value, unit, range, meaning."""
    sc = load(scenario)
    rows = []
    for key in MECHANISMS:
        rows += describe(sc.mechanism_params(key), key)
    if json_:
        typer.echo(json.dumps(rows, indent=1, default=str))
        return
    plain = console.plain
    t = Table(title=f"parameters of {sc.name}")
    # in a pipe the name stands alone in its column (grep, cut), the letter and mark beside it
    for col in (("name", "mechanism", "free") if plain else ("name",)) + (
            "value", "unit", "range", "meaning"):
        t.add_column(col, overflow="fold")
    for r in rows:
        mech = r["name"].split(".")[0]
        value = r["value"]
        value = amount(value) if isinstance(value, (int, float)) and not isinstance(
            value, bool) else str(value)
        rng_ = "" if r["lo"] is None else f"{amount(r['lo'])} – {amount(r['hi'])}"
        if plain:
            name = [r["name"], LETTERS[mech], "*" if r["free"] else ""]
        else:
            name = [f"({LETTERS[mech]}) {r['name']}" + (" *" if r["free"] else "")]
        t.add_row(*name, value, r["unit"], rng_, r["meaning"])
    console.print(t)
    from .calstatus import status

    console.print("* free parameter: one that calibration fits", highlight=False)
    console.print(f"calibration: {status(sc.name, {r['name']: r['value'] for r in rows})}",
                  highlight=False)


@app.command()
def story(
    run_dir: Annotated[Path, typer.Argument(help="a finished run folder")],
    person: Annotated[str, typer.Argument(help="a name (e.g. Bukharin) or a person id")],
    json_: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Every event of one person, who named him and whom he named."""
    from .story import StoryError, named_text
    from .story import story as make_story

    try:
        s = make_story(run_dir, person)
    except StoryError as e:
        raise UserError(str(e)) from None
    except _reader_errors("story") as e:
        raise _misshapen(run_dir, e) from None
    if json_:
        typer.echo(json.dumps(s, indent=1))
        return
    console.print(f"[bold]{s['person']}[/] — {s['post'].replace('_', ' ')}"
                  f"{'; ' + s['cohorts'] if s['cohorts'] else ''}; at the end: "
                  f"{s['at_the_end']}")
    t = Table(title="what happened to him")
    for col in ("date", "event", "cause", "by"):
        t.add_column(col)
    for e in s["events"]:
        t.add_row(e["date"], e["what"], e["cause"], e["by"])
    console.print(t)
    for text in named_text(s):
        console.print(text)
    if s["acts"]:
        t = Table(title="what he did to others")
        for col in ("date", "event", "person"):
            t.add_column(col)
        for e in s["acts"]:
            t.add_row(e["date"], e["what"], e["person"])
        console.print(t)


@app.command()
def plan(
    json_: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Print the order of phases of a simulated day."""
    from .engine import PLAN, Sim

    if json_:
        rows = [{"order": i + 1, "phase": name, "mechanism": mech, "method": meth}
                for i, (name, mech, meth) in enumerate(PLAN)]
        rows.append({"order": len(PLAN) + 1, "phase": "recording", "mechanism": None,
                     "method": None})
        typer.echo(json.dumps(rows, indent=1))
        return
    typer.echo(Sim.plan_text())


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


@app.command()
def history(
    country: Annotated[Optional[str], typer.Option(help="USSR or France")] = None,
    topic: Annotated[Optional[str], typer.Option(help="words in the topic")] = None,
    role: Annotated[Optional[str], typer.Option(
        help="target, input, event, claim or context")] = None,
    json_: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """The historical record shipped with purgesim, with its sources."""
    from dataclasses import asdict

    from .history import ROLES, select

    if role is not None and role not in ROLES:
        raise UserError(f"--role {role!r}: not allowed; allowed: {', '.join(ROLES)}")
    rows = select(country, topic, role)
    if json_:
        typer.echo(json.dumps([asdict(r) for r in rows], indent=1))
        return
    t = Table(title=f"historical record ({len(rows)} rows)")
    for col in ("id", "quantity", "period", "value", "unit", "role", "reliability", "source"):
        t.add_column(col, overflow="fold")
    for r in rows:
        value = amount(r.value)
        if r.value_low is not None or r.value_high is not None:
            value += f" ({amount(r.low)}–{amount(r.high)})"
        t.add_row(r.id, r.quantity, f"{r.period_start}–{r.period_end}", value, r.unit,
                  r.role, r.reliability, r.source if console.plain else r.source[:120])
    console.print(t)


@app.command()
def compare(
    run_dir: Annotated[Path, typer.Argument(help="a finished run folder")],
    other: Annotated[Optional[Path], typer.Argument(
        help="a second run folder: the two side by side instead")] = None,
    json_: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """A run against the historical record: every target it speaks to, and the claims.

    With two runs, RUN_A RUN_B: the two side by side (totals, differences, channel shares,
    cohorts, record targets within tolerance)."""
    from .compare import CompareError, RunData
    from .compare import compare as do_compare

    if other is not None:
        compare_two(run_dir, other, json_)
        return
    try:
        run = RunData(run_dir)
        c = do_compare(run)
    except CompareError as e:
        raise UserError(str(e)) from None
    except _reader_errors("compare") as e:
        raise _misshapen(run_dir, e) from None
    if json_:
        typer.echo(json.dumps(c, indent=1, default=float))
        return
    t = Table(title=f"{c['scenario']} (seed {c['seed']}, scale {c['scale']:g}) against the "
                    "record")
    for col in ("id", "quantity", "period", "record", "simulated", "error", "tolerance", "ok",
                "fit"):
        t.add_column(col, overflow="fold", justify="right" if col in (
            "record", "simulated", "error") else "left")
    for r in c["targets"]:
        rec = amount(r["record"])
        if r["low"] != r["high"]:
            rec += f" ({amount(r['low'])}–{amount(r['high'])})"
        t.add_row(r["id"], r["quantity"] if console.plain else r["quantity"][:60], r["period"],
                  rec, amount(r["simulated"]),
                  f"{100 * r['rel_error']:+.0f}%", r["tolerance"],
                  "[green]yes[/]" if r["within"] else "[red]no[/]", "fit" if r["fit"] else "")
    console.print(t)
    sc = c["score"]
    console.print(f"this run (one seed): {sc['within_tolerance']} of {sc['targets']} record "
                  f"targets within tolerance, {sc['fitted_within_tolerance']} of the "
                  f"{sc['fitted']} that calibration fits; mean |ln(sim/record)| over those "
                  f"{sc['fitted']} = {sc['mean_abs_log_error_fitted']:.3f}. Not the acceptance "
                  "criteria over seeds (docs/calibration.md).", highlight=False)
    from .calstatus import status

    console.print(f"calibration: {status(c['scenario'], run.s.get('parameters', {}))}",
                  highlight=False)
    if c.get("missing"):
        console.print(f"targets this run cannot answer (it does not cover them): "
                      f"{', '.join(c['missing'])}", highlight=False, soft_wrap=True)
    if c.get("kept_back"):
        t = Table(title="camp and colony population: predictions kept back (never fitted)")
        for col in ("date", "record rows", "record", "simulated", "error"):
            t.add_column(col, overflow="fold")
        for r in c["kept_back"]:
            t.add_row(r["date"], " + ".join(r["rows"]), amount(r["record"]),
                      amount(r["simulated"]), f"{100 * r['rel_error']:+.0f}%")
        console.print(t)
    t = Table(title="the source article's claims, checked")
    for col in ("claim", "record", "model"):
        t.add_column(col, overflow="fold")
    for r in c["claims"]:
        t.add_row(r["claim"], r["record"], r["model"])
    console.print(t)


def compare_two(run_a: Path, run_b: Path, json_: bool) -> None:
    """`compare RUN_A RUN_B`: the two runs side by side (purgesim.pair)."""
    from .charts import ChartError
    from .compare import CompareError
    from .pair import side_by_side

    try:
        p = side_by_side(run_a, run_b)
    except (ChartError, CompareError) as e:
        raise UserError(str(e)) from None
    except _reader_errors("compare") as e:
        raise UserError(f"run folders {str(run_a)!r}, {str(run_b)!r}: their files are not of "
                        f"the shape purgesim writes ({type(e).__name__}: {str(e)[:80]}); "
                        "allowed: complete folders written by 'purgesim run'") from None
    if json_:
        typer.echo(json.dumps(p, indent=1, default=float))
        return
    for lab, r in zip("AB", p["runs"]):
        console.print(f"{lab}: {r['dir']} ({r['scenario']}, seed {r['seed']}, scale "
                      f"{r['scale']:g})", highlight=False)

    def value(x: Any, share: bool) -> str:
        if x is None:
            return ""
        if isinstance(x, str):
            return x
        return f"{100 * x:.1f}%" if share else amount(x) if abs(x) >= 10 else f"{x:.3g}"

    for title, rows, share in (("totals", p["totals"], False),
                               ("share of arrests by channel", p["channels"], True),
                               ("cohorts", p["cohorts"], False)):
        if not rows:
            continue
        t = Table(title=title)
        t.add_column("measure")
        for col in ("A", "B", "B − A", "change"):
            t.add_column(col, justify="right")
        for r in rows:
            d = r["difference"]
            if d is None:
                diff = ""
            elif share:
                diff = f"{100 * d:+.1f} points"
            else:
                diff = ("+" if d > 0 else "") + value(d, False)
            rel = "" if r["relative"] is None or share else f"{100 * r['relative']:+.0f}%"
            t.add_row(r["measure"], value(r["a"], share), value(r["b"], share), diff, rel)
        console.print(t)
    ra, rb = p["record"]
    console.print(f"record targets within tolerance (one seed each): A {ra['within_tolerance']} "
                  f"of {ra['targets']}, B {rb['within_tolerance']} of {rb['targets']}",
                  highlight=False)


@app.command()
def experiment(
    scenario: Annotated[str, typer.Argument(help="built-in scenario name or a .toml file")],
    seeds: Annotated[int, typer.Option(help="seeds per variant")] = 10,
    scale: Annotated[float, typer.Option(help="share of the mass population")] = 0.01,
    variant: Annotated[Optional[list[str]], typer.Option(help="variants to run (all)")] = None,
    out: Annotated[Optional[Path], typer.Option(help="experiment folder (resumable)")] = None,
    findings_file: Annotated[Optional[Path], typer.Option(
        "--findings", help="write the findings page here (e.g. docs/findings.md)")] = None,
    resume: Annotated[bool, typer.Option(
        help="continue an interrupted experiment in --out (its finished runs are kept)")] = False,
    force: Annotated[bool, typer.Option(
        help="replace an existing experiment folder, overwrite an existing findings file "
             "written by purgesim")] = False,
) -> None:
    """Counterfactuals with common random numbers; --resume continues an interrupted one."""
    from .experiment import check_experiment, findings, is_findings, run_experiment

    if resume and force:
        raise UserError("--resume and --force: give one or the other")
    out = out or Path("runs") / f"experiment-{Path(scenario).stem}-scale{scale:g}"
    check_experiment(scenario, seeds, scale, variant)
    check_output(out, force, "experiment", resume=resume,
                 again="--resume to continue the experiment there, or --force to replace it")
    if findings_file:
        check_output_file(findings_file, force, "--findings", ours=is_findings,
                          what="findings page")
    with Progress(TextColumn("[bold]{task.description}"), console=err, transient=True) as bar:
        task = bar.add_task("experiment")
        results = run_experiment(scenario, seeds, scale, out, variant,
                                 progress=lambda m: bar.update(task, description=m),
                                 resume=resume, force=force)
    command = "purgesim " + " ".join(a for a in sys.argv[1:] if a != "--resume")
    text = findings(results, scenario, scale, command)
    if findings_file:
        from .runfolder import atomic_write

        findings_file.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(findings_file, text)
        console.print(f"findings written to {findings_file}")
    else:
        console.print(text)


@app.command()
def calibrate(
    scenario: Annotated[str, typer.Argument(help="built-in scenario name or a .toml file")],
    budget: Annotated[Optional[int], typer.Option(help="largest number of simulations")] = None,
    workers: Annotated[Optional[int], typer.Option(
        help="local worker processes (default: the number of cores)")] = None,
    scheduler: Annotated[Optional[str], typer.Option(
        help="a Dask scheduler, tcp://HOST:PORT, instead of local workers")] = None,
    out: Annotated[Optional[Path], typer.Option(help="calibration folder")] = None,
    resume: Annotated[bool, typer.Option(help="continue the calibration in --out")] = False,
    scale: Annotated[Optional[float], typer.Option(help="calibration scale")] = None,
    population: Annotated[Optional[int], typer.Option(help="particles per generation")] = None,
    generations: Annotated[Optional[int], typer.Option(help="largest number of generations")]
    = None,
    params_: Annotated[Optional[str], typer.Option(
        "--params", help="comma-separated free parameters to fit (default: the scenario's)")]
    = None,
    targets: Annotated[Optional[Path], typer.Option(
        help="JSON file {quantity: value} to fit instead of the historical record")] = None,
    seed: Annotated[Optional[int], typer.Option(help="calibration seed")] = None,
    predictive: Annotated[Optional[int], typer.Option(
        help="posterior draws rerun for the predictive intervals")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="NAME=VALUE override")]
    = None,
    quiet: Annotated[bool, typer.Option(help="no progress display")] = False,
    force: Annotated[bool, typer.Option(
        help="replace an existing calibration folder (one purgesim wrote)")] = False,
) -> None:
    """ABC-SMC calibration (pyabc) of the scenario's free parameters; resumable.

    Needs the fit extra: pip install 'purgesim\\[fit]'."""
    import os

    require_fit("calibrate")
    from .calibrate import command_line, make_config, run_calibration

    if workers is not None and scheduler is not None:
        raise UserError("--workers and --scheduler: give one or the other")
    if workers is not None and workers < 1:
        raise UserError(f"--workers {workers}: allowed: an integer >= 1")
    if scheduler is not None:
        from .calibrate import check_scheduler

        check_scheduler(scheduler)
    if resume and force:
        raise UserError("--resume and --force: give one or the other")
    if targets is not None:
        check_input_file(targets, "--targets")
    out = out or Path("runs") / f"calibrate-{Path(scenario).stem}"
    check_output(out, force, "calibrate", resume=resume,
                 again="--resume to continue the calibration there, or --force to replace it")
    if not resume and out.exists() and any(out.iterdir()) and not force:
        raise UserError(f"--out {str(out)!r}: a calibration already exists there; allowed: a "
                        "new folder, or --resume to continue it")
    if resume and not (out / "config.json").is_file():
        raise UserError(f"--resume: {str(out)!r} holds no calibration to resume")
    names = [n.strip() for n in params_.split(",") if n.strip()] if params_ else None
    cfg = None
    if resume:
        from .calibrate import check_resume

        check_resume(out, scenario, sets=set_, scale=scale, population=population,
                     generations=generations, params=names,
                     targets=str(targets) if targets else None, seed=seed)
    else:
        cfg = make_config(scenario, sets=set_, budget=budget, scale=scale,
                          population=population, generations=generations, params=names,
                          targets=str(targets) if targets else None, seed=seed,
                          predictive=predictive, command=command_line())
    r = run_calibration(cfg, out, resume=resume, budget=budget,
                        workers=workers or os.cpu_count() or 1, scheduler=scheduler,
                        quiet=quiet, console=err, force=force)
    if quiet:
        return
    t = Table(title=f"posterior of {Path(r['scenario']).stem}: median and 90% interval")
    for col in ("parameter", "median", "5%", "95%"):
        t.add_column(col, justify="left" if col == "parameter" else "right")
    for n in r["params"]:
        lo, hi = r["intervals_90"][n]
        t.add_row(n, f"{r['medians'][n]:.4g}", f"{lo:.4g}", f"{hi:.4g}")
    console.print(t)
    console.print(f"{r['simulations']} simulations ({r['simulations_run']} run and stored), "
                  f"{r['generations']} generations, final ε {r['final_epsilon']:.3f}, "
                  f"{r['seconds']:.0f} s; outputs in {out}")


@app.command()
def sensitivity(
    scenario: Annotated[str, typer.Argument(help="built-in scenario name or a .toml file")],
    trajectories: Annotated[int, typer.Option(help="Morris trajectories")] = 10,
    scale: Annotated[Optional[float], typer.Option(help="scale of the runs")] = None,
    out: Annotated[Optional[Path], typer.Option(help="output folder")] = None,
    workers: Annotated[Optional[int], typer.Option(help="local worker processes")] = None,
    levels: Annotated[int, typer.Option(help="Morris grid levels")] = 4,
    seed: Annotated[int, typer.Option(help="seed of the design and the runs")] = 1,
    params_: Annotated[Optional[str], typer.Option(
        "--params", help="comma-separated free parameters (default: the scenario's)")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="NAME=VALUE override")]
    = None,
    targets: Annotated[Optional[Path], typer.Option(
        help="JSON file of quantities (as for calibrate) instead of the record's targets")]
    = None,
    quiet: Annotated[bool, typer.Option(help="no progress display")] = False,
    force: Annotated[bool, typer.Option(
        help="replace an existing sensitivity folder (one purgesim wrote)")] = False,
) -> None:
    """Morris elementary effects (SALib): which free parameters drive which targets.

    Needs the fit extra: pip install 'purgesim\\[fit]'."""
    import os

    require_fit("sensitivity")
    from .sensitivity import print_table, run_sensitivity

    if trajectories < 2:
        raise UserError(f"--trajectories {trajectories}: allowed: an integer >= 2")
    if workers is not None and workers < 1:
        raise UserError(f"--workers {workers}: allowed: an integer >= 1")
    if targets is not None:
        check_input_file(targets, "--targets")
    out = out or Path("runs") / f"sensitivity-{Path(scenario).stem}"
    check_output(out, force, "sensitivity")
    names = [n.strip() for n in params_.split(",") if n.strip()] if params_ else None
    r = run_sensitivity(scenario, out, trajectories=trajectories, scale=scale,
                        workers=workers or os.cpu_count() or 1, levels=levels, seed=seed,
                        params=names, sets=set_ or [],
                        targets=str(targets) if targets else None, quiet=quiet, console=err,
                        force=force)
    if not quiet:
        print_table(r, console)
        console.print(f"{r['runs']} runs in {r['seconds']:.0f} s; outputs in {out}")


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="a finished run folder")],
    out: Annotated[Optional[Path], typer.Option(
        help="HTML file to write (default: RUN_DIR/report.html)")] = None,
    force: Annotated[bool, typer.Option(
        help="overwrite an existing report written by purgesim")] = False,
) -> None:
    """One self-contained HTML report of a run (charts against the record, opens offline),
    or of an ensemble folder of `run --seeds N` (bands and intervals over the seeds)."""
    from .report import ReportError, is_report, write_report
    from .runfolder import open_run, read_marker

    if out is not None and out.suffix.lower() not in (".html", ".htm"):
        raise UserError(f"--out {str(out)!r}: not allowed; allowed: a file name ending in .html")
    marker = read_marker(run_dir) if run_dir.is_dir() and not run_dir.is_symlink() else None
    if marker is not None and marker["kind"] == "ensemble":
        report_ensemble(run_dir, out, force)
        return
    open_run(run_dir)
    if out is not None:
        check_output_file(out, force, "--out", ours=is_report, what="report")
    else:  # the run's own report: regenerated only over a report purgesim wrote
        own = run_dir / "report.html"
        check_output_file(own, force or is_report(own), "--out", ours=is_report, what="report")
    try:
        path = write_report(run_dir, out)
    except ReportError as e:
        raise UserError(str(e)) from None
    except _reader_errors("report") as e:
        raise _misshapen(run_dir, e) from None
    typer.echo(str(path))


def report_ensemble(folder: Path, out: Path | None, force: bool) -> None:
    """`report ENSEMBLE_DIR`: the ensemble's report again, from its runs' folders."""
    from . import ensemble
    from .report import is_report

    ensemble.open_ensemble(folder)
    own = folder / "report.html"
    target = out if out is not None else own
    check_output_file(target, force or (out is None and is_report(own)), "--out",
                      ours=is_report, what="report")
    from .charts import ChartError
    from .report import ReportError

    try:
        path = ensemble.write_report(folder, out)
    except (ChartError, ReportError) as e:
        raise UserError(f"{e}; allowed: a complete folder written by 'purgesim run SCENARIO "
                        "--seeds N'") from None
    except _reader_errors("report") as e:
        raise UserError(f"ensemble folder {str(folder)!r}: its files are not of the shape "
                        f"purgesim writes ({type(e).__name__}: {str(e)[:80]}); allowed: a "
                        "complete folder written by 'purgesim run SCENARIO --seeds N'") from None
    typer.echo(str(path))


@app.command(epilog=(
    "Never deleted: runs that were in --root before the server started, runs queued or "
    "running, runs finished or looked at in the last --view-grace minutes, and any folder "
    "without this session's marker file (.purgesim-dashboard). Connections: 5 s idle between "
    "requests, --header-timeout for headers, 1000 open in all. README: 'The dashboard and why "
    "this web stack'."))
def serve(
    host: Annotated[str, typer.Option(help="address to listen on (default: this machine only)")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8765,
    root: Annotated[Path, typer.Option(help="folder for the dashboard's runs")]
    = Path("runs/dashboard"),
    workers: Annotated[int, typer.Option(help="runs at once (1-4)")] = 2,
    queue: Annotated[int, typer.Option(help="runs waiting at most (0-100)")] = 8,
    keep: Annotated[int, typer.Option(
        help="finished runs of this session kept at most (1-10000); beyond, the oldest of the "
             "client holding the most is deleted")] = 50,
    keep_per_client: Annotated[int, typer.Option(
        help="runs one client address may have queued, running or kept (1-10000); one more "
             "deletes its own oldest, or is refused (429)")] = 20,
    view_grace: Annotated[int, typer.Option(
        help="minutes a run finished or looked at is never deleted (0-1440)")] = 10,
    connections_per_client: Annotated[int, typer.Option(
        help="open connections per client address (1-1000); more are refused (429)")] = 32,
    header_timeout: Annotated[float, typer.Option(
        help="seconds for a request's headers to arrive (1-300); then the connection is "
             "closed")] = 10.0,
) -> None:
    """The dashboard in the browser: run scenarios, see the charts, compare, read stories."""
    import socket

    if not 1 <= port <= 65535:
        raise UserError(f"--port {port}: not allowed; allowed: 1 <= port <= 65535")
    if not 1 <= workers <= 4:
        raise UserError(f"--workers {workers}: not allowed; allowed: 1 <= workers <= 4")
    if not 0 <= queue <= 100:
        raise UserError(f"--queue {queue}: not allowed; allowed: 0 <= queue <= 100")
    for name, value, lo, hi in (("--keep", keep, 1, 10000),
                                ("--keep-per-client", keep_per_client, 1, 10000),
                                ("--view-grace", view_grace, 0, 1440),
                                ("--connections-per-client", connections_per_client, 1, 1000),
                                ("--header-timeout", header_timeout, 1, 300)):
        if not lo <= value <= hi:  # NaN fails too
            raise UserError(f"{name} {value}: not allowed; allowed: {lo} <= {name[2:]} <= {hi}")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(infos[0][4])
    except OSError as e:
        raise UserError(f"--host {host} --port {port}: cannot listen there "
                        f"({e.strerror or e}); allowed: a free port on a local address") \
            from None
    if host not in ("127.0.0.1", "localhost", "::1"):
        err.print(f"warning: listening on {host}: the dashboard is reachable from other "
                  "machines and has no login", highlight=False)
    from .server import serve as run_server

    console.print(f"purgesim dashboard on http://{host if ':' not in host else f'[{host}]'}"
                  f":{port}/ (runs in {root}); Ctrl-C to stop", highlight=False,
                  soft_wrap=True)
    run_server(host=host, port=port, root=root, max_workers=workers, max_queued=queue,
               keep=keep, per_client=keep_per_client, view_grace=view_grace * 60.0,
               connections_per_client=connections_per_client, header_timeout=header_timeout,
               log_level="warning")


@app.command("compare-terrors")
def compare_terrors(
    ussr: Annotated[Optional[Path], typer.Option(help="a finished ussr-1937 run folder")] = None,
    france: Annotated[Optional[Path], typer.Option(
        help="a finished france-1793 run folder")] = None,
    out: Annotated[Path, typer.Option(help="folder for the table and figure")] = Path(
        "runs/terrors"),
    json_: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    force: Annotated[bool, typer.Option(
        help="write into an existing compare-terrors folder (its finished runs are reused)")]
    = False,
) -> None:
    """The USSR and France side by side on a common clock; runs them if no folder is given.

    The runs it makes are kept in OUT/ussr-1937 and OUT/france-1793; with --force an existing
    OUT written by compare-terrors is reused (its complete runs kept, the rest replaced)."""
    from .runfolder import atomic_write, is_ours, open_run, write_marker
    from .runner import simulate, write
    from .terrors import figure, measures

    for name, given in (("ussr", ussr), ("france", france)):
        if given is not None:
            try:
                open_run(given)
            except FolderError as e:
                raise UserError(f"--{name}: {e}") from None
    check_output(out, force, "terrors")
    dirs = []
    for name, given in (("ussr-1937", ussr), ("france-1793", france)):
        if given is not None:
            dirs.append(given)
            continue
        target = out / name
        if os.path.lexists(target) and not is_ours(target, "run"):
            raise UserError(f"--out {str(out)!r}: {str(target)!r} exists and is not a purgesim "
                            "run folder; allowed: a new --out folder")
        reuse = False
        if is_ours(target, "run"):
            try:
                reuse = open_run(target)["scenario"] == name
            except FolderError:
                reuse = False
        if not reuse:
            write(simulate(name), target, force=True, seconds=0.0, check=stop.check)
        dirs.append(target)
    try:
        ms = [measures(d) for d in dirs]
    except (FolderError, UserError):
        raise
    except _reader_errors("compare-terrors") as e:
        raise UserError(f"run folder: its summary.json lacks {e}: written by an older "
                        "version, or damaged; run it again") from None
    out.mkdir(parents=True, exist_ok=True)
    fig = figure(ms, out)
    table = [{k: v for k, v in m.items() if k not in ("clock", "arrests_per_million_per_day")}
             for m in ms]
    atomic_write(out / "terrors.json", json.dumps(table, indent=1) + "\n")
    write_marker(out, "terrors")
    if json_:
        typer.echo(json.dumps(table, indent=1))
        return
    t = Table(title="two terrors on a common clock")
    t.add_column("measure")
    for m in ms:
        t.add_column(m["scenario"], justify="right")

    def pct(x: float | None, digits: int = 2) -> str:
        return "n/a" if x is None else f"{100 * x:.{digits}f}%"

    rows = [
        ("mass phase", [f"{m['mass_phase']['start']} → {m['mass_phase']['end']} "
                        f"({m['days']} days)" for m in ms]),
        ("arrested in the mass phase (share of population)",
         [pct(m["arrested_share_mass_phase"], 3) for m in ms]),
        ("executed in the mass phase", [pct(m["executed_share_mass_phase"], 3) for m in ms]),
        ("elite cohort arrested", [f"{pct(m['elite_arrested_share'], 0)} of "
                                   f"{m['elite_cohort']}" for m in ms]),
        ("elite cohort executed", [pct(m["elite_shot_share"], 0) for m in ms]),
        ("the purgers arrested", [f"{pct(m['police_arrested_share'], 1)} of "
                                  f"{m['police_cohort']}" for m in ms]),
        ("top-down share of arrests", [pct(m["channels"]["top_down"], 1) for m in ms]),
        ("bottom-up share of arrests", [pct(m["channels"]["bottom_up"], 1) for m in ms]),
        ("routine share of arrests", [pct(m["channels"]["routine"], 1) for m in ms]),
    ]
    for label, vals in rows:
        t.add_row(label, *vals)
    console.print(t)
    console.print(f"figure: {fig}")


def main() -> None:
    try:
        stop.install()
    except ValueError:  # pragma: no cover - main() called outside the main thread
        pass
    try:
        _main()
    except BaseException as e:
        if not stop.RECEIVED or (isinstance(e, SystemExit) and e.code == stop.exit_code()):
            raise
        # a stop signal that surfaced as another error (numba interrupted while compiling)
        err.print("aborted")
        sys.exit(stop.exit_code())
    finally:
        remove_unfinished()  # a folder a stop left half-made (runfolder.staged)


def _main() -> None:
    try:
        code = app(standalone_mode=False)
        if isinstance(code, int) and not isinstance(code, bool) and code != 0:
            # typer returns (does not raise) the exit code of Ctrl-C (130) and of typer.Exit
            if code == 130:
                err.print("aborted")
            sys.exit(code)
    except (ScenarioError, UserError, FolderError) as e:
        err.print(f"error: {e}", highlight=False, soft_wrap=True, markup=False)
        sys.exit(2)
    except _ABORTS:
        err.print("aborted")
        sys.exit(130)
    except _USAGE_ERRORS as e:
        if type(e).__name__ == "NoArgsIsHelpError":  # the help has been printed
            sys.exit(0)
        msg = " ".join(str(e.format_message()).split())  # type: ignore[attr-defined]
        cause = e.__cause__  # typer's own coercion wraps a pydantic error holding the value
        if cause is not None and hasattr(cause, "errors"):
            try:
                msg += f" (value {cause.errors()[0]['input']!r})"
            except (IndexError, KeyError, TypeError):
                pass
        err.print(f"error: {msg}", highlight=False, soft_wrap=True, markup=False)
        sys.exit(2)
    except FileExistsError as e:
        err.print(f"error: --out {e}: a run folder already exists there; use --force",
                  highlight=False, soft_wrap=True, markup=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
