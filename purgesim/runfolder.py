"""The run-folder format: a marker that makes a folder recognisably ours, atomic writes, and
the one validation of output and input paths that every command makes before it works.

Every folder purgesim writes (`run`, `run --seeds`, `experiment`, `calibrate`, `sensitivity`,
`compare-terrors`) carries ``purgesim-run.json``::

    {"format": "purgesim-run", "version": 1, "kind": "run", "complete": true, ...}

written last, atomically, so that a folder holding it is ours and finished.  ``--force``
replaces (or writes into) only a folder that carries the marker; a folder that merely holds
a ``summary.json`` is not ours.

Replacing a folder (``run --force``) takes two renames: the old run is renamed to
``.NAME.old-PID-TOKEN`` next to it, the finished new one (written under
``.NAME.tmp-PID-TOKEN``) is renamed to ``NAME``, and the old one is deleted.  A
process killed between the two renames leaves ``NAME`` missing and the old run under its
``-old-`` name: the next command that writes to ``NAME`` (every writer calls
`check_output`, which calls `recover`) renames it back first, and deletes leftover ``.old-`` folders
(ours: they carry the marker) once ``NAME`` is in place, and ``.tmp-`` folders of processes
that are gone which hold nothing but the files of a run.  So an
interrupted ``--force`` never loses the old run and never hides it for long.

See docs/run-folder.md.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import re
import secrets
import shutil
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

MARKER = "purgesim-run.json"
FORMAT = "purgesim-run"
VERSION = 1
KINDS = ("run", "experiment", "calibrate", "sensitivity", "terrors", "ensemble")

#: largest files read as input (scenario TOML, --targets JSON) and as run-folder metadata
MAX_INPUT_BYTES = 4 * 1024 * 1024
MAX_SUMMARY_BYTES = 64 * 1024 * 1024


class FolderError(Exception):
    """A path the user gave cannot be used: one line, exit 2 (the CLI catches it)."""

    def __str__(self) -> str:
        return "".join(c if c.isprintable() else repr(c)[1:-1] for c in super().__str__())


# ------------------------------------------------------------------------------ writing


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: Path | str, data: bytes | str) -> Path:
    """Write `data` to `path` through a temporary file in the same folder (fsync, os.replace):
    the path holds either its old content or the whole new one, never a part."""
    path = Path(path)
    tmp = path.with_name(f".{path.name[:200]}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def write_marker(folder: Path | str, kind: str, **extra: Any) -> dict[str, Any]:
    """Mark `folder` as a complete purgesim folder of `kind` (written last)."""
    from . import __version__

    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    m = {"format": FORMAT, "version": VERSION, "kind": kind, "complete": True,
         "purgesim": __version__, "written": dt.datetime.now().isoformat(timespec="seconds"),
         **extra}
    atomic_write(Path(folder) / MARKER, json.dumps(m, indent=1) + "\n")
    return m


def read_marker(folder: Path | str) -> dict[str, Any] | None:
    """The folder's marker if it carries a valid one of our format, else None."""
    f = Path(folder) / MARKER
    try:
        st = f.lstat()
        if not stat.S_ISREG(st.st_mode) or st.st_size > 64 * 1024:
            return None
        m = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(m, dict) or m.get("format") != FORMAT:
        return None
    if not isinstance(m.get("version"), int) or isinstance(m.get("version"), bool):
        return None
    if m.get("kind") not in KINDS:
        return None
    return m


def is_ours(folder: Path | str, kind: str | None = None) -> bool:
    """A real folder (not a link) carrying our marker (of `kind`, if given)."""
    p = Path(folder)
    if os.path.islink(p) or not os.path.isdir(p):
        return False
    m = read_marker(p)
    return m is not None and (kind is None or m["kind"] == kind)


_SIBLING = re.compile(r"^\.(?P<name>.+)\.(?P<what>old|tmp)-(?P<pid>\d+)(-[0-9a-f]+)?$")

#: what a run folder holds (a leftover temporary folder is deleted only if it holds no more)
RUN_FILES = {"summary.json", "timing.json", "daily.parquet", "operations.parquet",
             "regions.parquet", "events.parquet", "people.parquet", "report.html", MARKER}
#: what an ensemble folder holds besides run files: its summary, and its runs' folders
ENSEMBLE_FILES = {"ensemble.json"}
_MEMBER = re.compile(r"^(set\d+-)?seed\d+$")


def _only_run_files(folder: Path, ensemble: bool = True) -> bool:
    """The folder holds nothing but what a run (or an ensemble of runs) writes: a leftover
    temporary folder of either may be deleted without losing anything of the user's."""
    try:
        for e in os.scandir(folder):
            if e.name in RUN_FILES or (e.name.startswith(".") and ".tmp-" in e.name):
                continue
            if ensemble and e.name in ENSEMBLE_FILES:
                continue
            if ensemble and _MEMBER.match(e.name) and e.is_dir(follow_symlinks=False) and \
                    _only_run_files(Path(e.path), ensemble=False):
                continue
            return False
        return True
    except OSError:
        return False


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def recover(out: Path | str) -> list[str]:
    """Undo what an interrupted replacement of `out` left behind; returns what was done.

    A ``-old-`` folder (the previous run, set aside) is renamed back to `out` if `out` is
    missing, deleted if `out` is in place; a ``-tmp-`` folder of a process that is gone is
    deleted.  Only folders that match our names are touched, and an ``-old-`` one only if it
    carries our marker."""
    out = Path(out)
    parent = out.parent if str(out.parent) else Path(".")
    done: list[str] = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return done
    for e in sorted(entries, key=lambda e: e.name):
        m = _SIBLING.match(e.name)
        if m is None or m["name"] != out.name[:200]:
            continue
        p = parent / e.name
        if m["what"] == "old":
            if not is_ours(p):
                continue
            if not os.path.lexists(out):
                os.rename(p, out)
                done.append(f"restored {out} from {e.name}")
            elif int(m["pid"]) == os.getpid() or not _alive(int(m["pid"])):
                shutil.rmtree(p, ignore_errors=True)
                done.append(f"removed {e.name}")
        elif not _alive(int(m["pid"])) and e.is_dir(follow_symlinks=False) and \
                _only_run_files(p):
            shutil.rmtree(p, ignore_errors=True)
            done.append(f"removed {e.name}")
    return done


#: the temporary folders this process has named for writing and not yet put in place or
#: removed (`staged`): `remove_unfinished` removes them when a command stops
_UNFINISHED: set[Path] = set()


@contextmanager
def staged(out: Path | str, force: bool,
           check: Callable[[], None] | None = None) -> Iterator[Path]:
    """A folder written under a temporary sibling name (the body writes into it, its marker
    last) and put in place at `out` when the body ends (`replace_folder`); on any exception,
    a stop included, the temporary folder is removed and `out` left as it was.  `check` is
    called just before the folder is put in place: it may raise to stop (the command line
    re-raises a stop signal a library swallowed while the files were written).

    The folder is listed in `_UNFINISHED` before it is made, and taken off the list once it
    is in place or removed: a stop that lands where this function cannot clean up (after
    the folder is made but before the body runs, such as in contextlib's ``__enter__``) is
    cleaned up by the command line (`remove_unfinished`).  CI saw such an empty folder left
    once after a Ctrl-C (tests/test_signals.py)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(out)
    _UNFINISHED.add(tmp)
    try:
        tmp.mkdir(mode=0o700)
    except OSError:  # not made (a name someone else holds, say): never removed
        _UNFINISHED.discard(tmp)
        raise
    except BaseException:  # stopped during mkdir: the folder, if made, is ours
        _remove_unfinished(tmp)
        raise
    try:
        yield tmp
        if check is not None:
            check()
        replace_folder(tmp, out, force)
    except BaseException:
        _remove_unfinished(tmp)
        raise
    _UNFINISHED.discard(tmp)  # in place: the name is `out` now


def _remove_unfinished(tmp: Path) -> None:
    shutil.rmtree(tmp, ignore_errors=True)
    if not os.path.lexists(tmp):
        _UNFINISHED.discard(tmp)


def remove_unfinished() -> None:
    """Remove every temporary folder this process named in `staged` and did not finish
    (called by the command line on its way out; names carry this process's id and a random
    token, and a name that turned out to be someone else's was never listed)."""
    for tmp in list(_UNFINISHED):
        _remove_unfinished(tmp)


def temp_name(out: Path) -> Path:
    """The name of a new private folder next to `out`, for writing a run before it is put
    in place (named before it is made: a signal at any moment after mkdir finds it)."""
    return out.with_name(f".{out.name[:200]}.tmp-{os.getpid()}-{secrets.token_hex(4)}")


def replace_folder(tmp: Path, out: Path, force: bool,
                   between: Callable[[], None] | None = None) -> None:
    """Put the finished folder `tmp` in place as `out`.

    If `out` exists it must be ours and `force` given; it is renamed aside, `tmp` renamed in,
    then the old one deleted.  If anything fails between the renames the old one is put back
    here, and if the process dies there `recover` puts it back later.  (`between` is a test
    hook called between the two renames.)"""
    if os.path.isdir(out) and not os.path.islink(out):
        try:
            out.rmdir()  # an empty folder is replaced without --force
        except OSError:
            pass
    if not os.path.lexists(out):
        os.rename(tmp, out)
        _fsync_dir(out.parent)
        return
    if not force:
        raise FolderError(f"--out {str(out)!r}: a folder already exists there; allowed: a new "
                          "folder, or --force to replace a purgesim folder")
    if not is_ours(out):
        raise FolderError(f"--out {str(out)!r}: exists and is not a purgesim folder (no "
                          f"{MARKER}); --force replaces only a folder purgesim wrote")
    old = out.with_name(f".{out.name[:200]}.old-{os.getpid()}-{secrets.token_hex(4)}")
    os.rename(out, old)
    try:
        if between is not None:
            between()
        os.rename(tmp, out)
    except BaseException:
        if not os.path.lexists(out):
            os.rename(old, out)
        raise
    _fsync_dir(out.parent)
    shutil.rmtree(old, ignore_errors=True)


def fresh_folder(out: Path | str, force: bool, kind: str) -> Path:
    """Make `out` an empty folder to write into: a new one, or with `force` an existing
    non-empty folder of ours (of `kind`) set aside and deleted once the new one exists (as
    in `replace_folder`, a kill in between is undone by `recover`)."""
    out = Path(out)
    if not os.path.islink(out) and os.path.isdir(out) and any(os.scandir(out)):
        if not force or not is_ours(out, kind):
            raise FolderError(f"--out {str(out)!r}: a folder already exists there; allowed: a "
                              f"new folder, or --force to replace a purgesim {kind} folder")
        old = out.with_name(f".{out.name[:200]}.old-{os.getpid()}-{secrets.token_hex(4)}")
        os.rename(out, old)
        try:
            out.mkdir()
        except BaseException:
            if not os.path.lexists(out):
                os.rename(old, out)
            raise
        shutil.rmtree(old, ignore_errors=True)
        return out
    out.mkdir(parents=True, exist_ok=True)
    return out


# ------------------------------------------------------------------------------ checking


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def _existing_ancestor(path: Path) -> Path:
    up = path.parent if str(path.parent) else Path(".")
    while not os.path.lexists(up) and up != up.parent:
        up = up.parent
    return up


def _check_parent(path: Path, option: str) -> None:
    """The folders above `path` exist or can be made, and the nearest existing one is a
    writable folder; every name fits the file system."""
    shown = f"{option} {str(path)!r}"
    anc = _existing_ancestor(path)
    if not os.path.isdir(anc):
        raise FolderError(f"{shown}: {str(anc)!r} is not a folder; allowed: a path whose "
                          "parents are folders")
    limit = _name_max(anc)
    for part in path.parts:
        if len(os.fsencode(part)) > limit:
            raise FolderError(f"{shown}: the name {part[:40]!r}... is {len(os.fsencode(part))} "
                              f"bytes long; allowed: names of at most {limit} bytes")
    if not os.access(anc, os.W_OK | os.X_OK):
        raise FolderError(f"{shown}: the folder {str(anc)!r} is not writable; allowed: a "
                          "path in a folder you can write to")


def check_output(path: Path | str, force: bool, kind: str, *, option: str = "--out",
                 resume: bool = False,
                 again: str = "--force to replace a purgesim folder") -> Path:
    """Refuse, before any work, an output folder that cannot be written or must not be
    replaced; returns the path.  `kind` is the kind of folder the command writes.

    Refused: no folder name (``.``, ``..``, ``/``); a symbolic link (even to a folder); a
    path through a file; a name too long; a parent that is not writable; an existing file or
    other non-folder; an existing non-empty folder without ``--force``/``--resume``; with
    ``--force``, a non-empty folder that does not carry our marker of the same kind."""
    path = Path(path)
    shown = f"{option} {str(path)!r}"
    if path.name in ("", ".", ".."):
        raise FolderError(f"{shown}: not a folder name; allowed: a path ending in the name "
                          "of the folder to write, e.g. runs/mine")
    _check_parent(path, option)
    try:
        recover(path)
    except OSError:
        pass
    if os.path.islink(path):
        raise FolderError(f"{shown}: is a symbolic link; allowed: a real folder or a new "
                          "name (purgesim does not write through links)")
    if not os.path.lexists(path):
        return path
    if not os.path.isdir(path):
        raise FolderError(f"{shown}: exists and is not a folder; allowed: a new name or a "
                          "folder purgesim wrote")
    try:
        empty = not any(os.scandir(path))
    except OSError as e:
        raise FolderError(f"{shown}: cannot be read ({e.strerror}); allowed: a folder you can "
                          "read and write") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise FolderError(f"{shown}: the folder is not writable; allowed: a folder you can "
                          "write to")
    if empty:
        return path
    marker = read_marker(path)
    if resume:
        return path  # the command checks what it resumes
    if not force:
        raise FolderError(f"{shown}: a folder already exists there; allowed: a new folder, or "
                          f"{again}")
    if marker is None:
        raise FolderError(f"{shown}: exists and is not a purgesim folder (no {MARKER}); "
                          "--force replaces only a folder purgesim wrote; allowed: a new "
                          "folder")
    if marker["kind"] != kind:
        a = "an" if kind[0] in "aeiou" else "a"
        raise FolderError(f"{shown}: holds a purgesim {marker['kind']} folder, not {a} {kind} "
                          f"folder; allowed: a new folder, or {a} {kind} folder with --force")
    return path


def check_output_file(path: Path | str, force: bool, option: str, *,
                      ours: Callable[[Path], bool] | None = None,
                      what: str = "file") -> Path:
    """Refuse, before any work, a file that cannot be written or must not be overwritten:
    the rules of `check_output` for the folder above; the file must not be a link or a
    non-regular file; an existing file only with `force`, and only if `ours(path)` says
    purgesim wrote it (when `ours` is given)."""
    path = Path(path)
    shown = f"{option} {str(path)!r}"
    if path.name in ("", ".", ".."):
        raise FolderError(f"{shown}: not a file name; allowed: a path ending in a file name")
    _check_parent(path, option)
    if os.path.islink(path):
        raise FolderError(f"{shown}: is a symbolic link; allowed: a regular file or a new "
                          "name (purgesim does not write through links)")
    if not os.path.lexists(path):
        return path
    if os.path.isdir(path):
        raise FolderError(f"{shown}: is a folder; allowed: a {what} name")
    if not os.path.isfile(path):
        raise FolderError(f"{shown}: exists and is not a regular file; allowed: a new name "
                          f"or a {what} purgesim wrote")
    if not force:
        raise FolderError(f"{shown}: a file already exists there; allowed: a new name, or "
                          "--force to overwrite it")
    if ours is not None and not ours(path):
        raise FolderError(f"{shown}: exists and was not written by purgesim; --force "
                          f"overwrites only a {what} purgesim wrote; allowed: a new name")
    if not os.access(path.parent if str(path.parent) else ".", os.W_OK | os.X_OK):
        raise FolderError(f"{shown}: its folder is not writable")
    return path


def check_input_file(path: Path | str, option: str, max_bytes: int = MAX_INPUT_BYTES) -> Path:
    """A file to read: it exists, is a regular file (not a FIFO, device or folder) and is
    at most `max_bytes` long."""
    path = Path(path)
    shown = f"{option} {str(path)!r}"
    try:
        st = path.stat()
    except FileNotFoundError:
        raise FolderError(f"{shown}: no such file; allowed: an existing file") from None
    except OSError as e:
        if e.errno == errno.ENAMETOOLONG:
            raise FolderError(f"{shown}: the name is too long") from None
        raise FolderError(f"{shown}: cannot be read ({e.strerror}); allowed: an existing "
                          "file") from None
    if not stat.S_ISREG(st.st_mode):
        raise FolderError(f"{shown}: not a regular file; allowed: a regular file (not a "
                          "folder, pipe or device)")
    if st.st_size > max_bytes:
        raise FolderError(f"{shown}: {st.st_size:,} bytes; allowed: at most {max_bytes:,} "
                          "bytes")
    if not os.access(path, os.R_OK):
        raise FolderError(f"{shown}: not readable; allowed: a file you can read")
    return path


def read_input(path: Path | str, option: str, max_bytes: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of an input file checked by `check_input_file` (read without following a
    swap to a FIFO: opened non-blocking, checked again, read up to the limit)."""
    path = check_input_file(path, option, max_bytes)
    shown = f"{option} {str(path)!r}"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as e:
        raise FolderError(f"{shown}: cannot be read ({e.strerror})") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise FolderError(f"{shown}: not a regular file; allowed: a regular file")
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FolderError(f"{shown}: longer than {max_bytes:,} bytes; allowed: at most "
                          f"{max_bytes:,} bytes")
    return data


# ------------------------------------------------------------------------------ reading


#: summary.json keys every reader relies on, and the type each must have
SUMMARY_SHAPE: dict[str, type | tuple[type, ...]] = {
    "scenario": str, "seed": int, "scale": (int, float), "people": dict,
    "parameters": dict, "yearly": dict, "cohorts": dict, "channels": dict,
    "operations": dict, "named": dict, "mass_phase": dict, "events": dict,
}


def _bad(folder: Path, name: str, why: str) -> FolderError:
    return FolderError(f"run folder {str(folder)!r}: {name}: {why}; allowed: a complete "
                       "folder written by 'purgesim run' (run it again)")


def open_run(folder: Path | str) -> dict[str, Any]:
    """Validate a run folder and return its summary; refuse a damaged one with one line
    naming the file.  Checks: a folder; the marker, if any, of our format, a version this
    purgesim reads, complete, of kind run; summary.json a regular JSON object of the shape
    every reader uses.  (Parquet files are checked as they are read: `read_table`.)

    A folder without the marker (written before the format had one) is read if the rest
    holds."""
    folder = Path(folder)
    if not os.path.isdir(folder):
        what = "does not exist" if not os.path.lexists(folder) else "is not a folder"
        raise FolderError(f"run folder {str(folder)!r}: not a finished run ({what}); "
                          "allowed: a folder written by 'purgesim run'")
    mf = folder / MARKER
    if os.path.lexists(mf):
        m = read_marker(folder)
        if m is None:
            raise _bad(folder, MARKER, "unreadable or not of the purgesim format")
        if m["version"] > VERSION:
            raise FolderError(f"run folder {str(folder)!r}: {MARKER}: format version "
                              f"{m['version']}; allowed: versions up to {VERSION} (written by "
                              "a newer purgesim)")
        if m["kind"] != "run":
            raise FolderError(f"run folder {str(folder)!r}: a purgesim {m['kind']} folder, "
                              "not a run; allowed: a folder written by 'purgesim run'")
        if m.get("complete") is not True:
            raise _bad(folder, MARKER, "the run is not complete")
    f = folder / "summary.json"
    try:
        st = f.stat()
    except OSError:
        raise FolderError(f"run folder {str(folder)!r}: not a finished run (no summary.json); "
                          "allowed: a folder written by 'purgesim run'") from None
    if not stat.S_ISREG(st.st_mode):
        raise _bad(folder, "summary.json", "not a regular file")
    if st.st_size > MAX_SUMMARY_BYTES:
        raise _bad(folder, "summary.json", f"{st.st_size:,} bytes, more than "
                   f"{MAX_SUMMARY_BYTES:,}")
    try:
        s = json.loads(f.read_bytes())
    except (OSError, ValueError, RecursionError) as e:
        raise _bad(folder, "summary.json", f"unreadable JSON ({str(e)[:80]})") from None
    if not isinstance(s, dict):
        raise _bad(folder, "summary.json", f"a JSON {type(s).__name__}, not an object")
    for key, typ in SUMMARY_SHAPE.items():
        v = s.get(key)
        if not isinstance(v, typ) or isinstance(v, bool):
            raise _bad(folder, "summary.json", f"field {key!r} is missing or of the wrong "
                       "type")
    for key in ("simulated", "represented"):
        v = s["people"].get(key)
        if not isinstance(v, int | float) or isinstance(v, bool) or v <= 0:
            raise _bad(folder, "summary.json", f"field 'people.{key}' is missing or not a "
                       "positive number")
    for y, v in s["yearly"].items():
        if not isinstance(v, dict) or not all(isinstance(v.get(k), int | float) for k in (
                "arrests", "convictions", "death_sentences")):
            raise _bad(folder, "summary.json", f"field 'yearly.{y}' is not of the right shape")
    for name in TABLES:
        check_table(folder, name)
    for k in ("start", "end"):
        v = s["mass_phase"].get(k)
        try:
            dt.date.fromisoformat(v)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise _bad(folder, "summary.json", f"field 'mass_phase.{k}' is not a date") \
                from None
    return s


TABLES = ("daily.parquet", "operations.parquet", "regions.parquet", "events.parquet",
          "people.parquet")


def _run_file(folder: Path, name: str) -> Path:
    """A file of a run folder that exists and is a regular file (else one line naming it)."""
    f = folder / name
    try:
        st = f.stat()
    except OSError:
        raise _bad(folder, name, "missing") from None
    if not stat.S_ISREG(st.st_mode):
        raise _bad(folder, name, "not a regular file")
    return f


def check_table(folder: Path, name: str) -> None:
    """A run's Parquet file is there, a regular file, with a readable footer (cheap: the
    data is read later, by `read_table`)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    f = _run_file(folder, name)
    try:
        pq.read_metadata(f)
    except (OSError, ValueError, pa.ArrowException) as e:
        raise _bad(folder, name, f"unreadable Parquet ({' '.join(str(e).split())[:80]})") \
            from None


def read_table(folder: Path | str, name: str, columns: list[str] | None = None,
               require: list[str] | None = None) -> Any:
    """A Parquet table of a run folder (pyarrow Table: `columns`, or all); a missing,
    truncated or malformed file, or one without the columns asked for or required, is
    refused with one line naming it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = Path(folder)
    f = _run_file(folder, name)
    try:
        t = pq.read_table(f, columns=columns)
    except (OSError, ValueError, pa.ArrowException) as e:
        raise _bad(folder, name, f"unreadable Parquet ({' '.join(str(e).split())[:80]})") \
            from None
    if columns is not None or require is not None:
        missing = [c for c in (columns or []) + (require or []) if c not in t.column_names]
        if missing:
            raise _bad(folder, name, f"no column {missing[0]!r}")
    return t
