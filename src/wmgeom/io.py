"""Side effects at the edge: atomic writes, readers, cache folders, progress bars.

Every result and checkpoint is written to a temporary name in the same folder and
renamed into place, so an interrupted run never leaves a file that looks complete;
the temporaries a killed write leaves behind are removed by
:func:`clean_stale_temporaries` on the next run. Every YAML, JSON and netCDF file wmgeom
reads goes through one reader here, which turns a missing or damaged file into one
:class:`~wmgeom.errors.WmgeomError` line. Cache entries record the size and checksum of
their files (:func:`file_record`, :func:`damaged_files`) so that a damaged entry is found
and rebuilt. :func:`progress_bar` is the one progress bar: live in a terminal,
a few plain lines in a log file or a pipe.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from wmgeom.errors import WmgeomError


def cache_root() -> Path:
    """Folder for cached stimuli and features (``$WMGEOM_CACHE`` or ``~/.cache/wmgeom``)."""
    path = _cache_location()
    check_cache_folder(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _cache_location() -> Path:
    """Where :func:`cache_root` is, without making it."""
    root = os.environ.get("WMGEOM_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "wmgeom"


def check_cache_folder(folder: str | os.PathLike) -> Path:
    """Refuse a cache folder that is a file (or lies under one), before anything is computed.

    Raises:
        WmgeomError: Naming the file and the fix.
    """
    folder = Path(folder)
    for path in (folder, *folder.parents):
        if path.exists() and not path.is_dir():
            raise WmgeomError(f"the wmgeom cache folder {folder} cannot be made: {path} is a "
                              "file; move it away, or set WMGEOM_CACHE to a folder")
        if path.exists():
            break
    return folder


def content_key(params: Any, length: int = 16) -> str:
    """A stable short hash of JSON-serialisable parameters, used to key caches."""
    blob = json.dumps(params, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:length]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds.

    Works for files and folders. On error the temporary is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.unlink(tmp)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if path.is_dir() and tmp_path.is_dir():
            shutil.rmtree(path)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.is_dir():
            shutil.rmtree(tmp_path, ignore_errors=True)
        elif tmp_path.exists():
            tmp_path.unlink()


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as strict JSON, atomically: NaN and infinite numbers become ``null``
    (``NaN``/``Infinity`` are not JSON, and other readers refuse them)."""
    write_text_atomic(path, json.dumps(_strict(obj), indent=2, sort_keys=False,
                                       default=_json_default, allow_nan=False) + "\n")


def _strict(obj: Any) -> Any:
    """``obj`` with every non-finite float (numpy's too) replaced by None."""
    import numpy as np

    if isinstance(obj, dict):
        return {k: _strict(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        obj = obj.tolist()
    if isinstance(obj, list | tuple):
        return [_strict(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def _json_default(o: Any) -> Any:
    try:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


# --------------------------------------------------------------------------- readers


def _unique_key_loader():
    """A safe YAML loader that refuses a mapping listing the same key twice."""
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        pass

    def construct_mapping(loader, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise WmgeomError(f"key {key!r} appears twice (lines {seen[key]} and {line}); "
                                  "keep one")
            seen[key] = key_node.start_mark.line + 1
        return yaml.SafeLoader.construct_mapping(loader, node, deep)

    UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                                    construct_mapping)
    return UniqueKeyLoader


def read_yaml(path: str | os.PathLike, what: str = "config file") -> dict[str, Any]:
    """The mapping in a YAML file.

    Raises:
        WmgeomError: If the file is missing, is not valid YAML, lists a key twice, or does
            not hold a mapping.
    """
    import yaml

    path = Path(path)
    if path.is_dir():
        raise WmgeomError(f"{what} {path} is a folder; pass a YAML file")
    if not path.is_file():
        raise WmgeomError(f"{what} not found: {path}")
    try:
        data = yaml.load(path.read_text(), Loader=_unique_key_loader())  # noqa: S506
    except WmgeomError as exc:
        raise WmgeomError(f"{what} {path}: {exc}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        problem = getattr(exc, "problem", None) or " ".join(str(exc).split())
        raise WmgeomError(f"{what} {path} is not valid YAML{at}: {problem}") from None
    if data is None:  # an empty file
        data = {}
    if not isinstance(data, dict):
        raise WmgeomError(f"{what} {path} must hold a mapping of keys, not "
                          f"{type(data).__name__}")
    return data


def read_json(path: str | os.PathLike, what: str = "file", fix: str = "delete it") -> dict:
    """The object in a JSON file, ``{}`` when the file does not exist.

    Raises:
        WmgeomError: If the file exists but is not a JSON object (the message says ``fix``).
    """
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WmgeomError(f"{what} {path} is not valid JSON ({exc}); {fix}") from None
    if not isinstance(data, dict):
        raise WmgeomError(f"{what} {path} does not hold a JSON object; {fix}")
    return data


def write_dataset(ds: Any, path: str | os.PathLike) -> Path:
    """Write an :class:`xarray.Dataset` as netCDF (h5netcdf engine), atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf")
    return path


def open_dataset(path: str | os.PathLike, fix: str) -> Any:
    """Read a netCDF file written by :func:`write_dataset` into memory.

    Raises:
        WmgeomError: If it is missing or unreadable; the message ends with ``fix``.
    """
    import xarray as xr

    path = Path(path)
    if not path.is_file():
        raise WmgeomError(f"{path} not found; {fix}")
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            return ds.load()
    except Exception as exc:  # corrupt, truncated or foreign file
        raise WmgeomError(f"{path} is unreadable ({type(exc).__name__}); {fix}") from None


def read_tables(folder: str | os.PathLike) -> dict[str, Any]:
    """Every ``*.csv`` table of a folder, by file stem (pandas DataFrames).

    Raises:
        WmgeomError: If a table cannot be parsed (naming the file and the fix).
    """
    import pandas as pd

    tables = {}
    for csv in sorted(Path(folder).glob("*.csv")):
        try:
            tables[csv.stem] = pd.read_csv(csv)
        except pd.errors.EmptyDataError:
            tables[csv.stem] = pd.DataFrame()
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
            raise WmgeomError(f"table {csv} is damaged ({type(exc).__name__}); delete it and "
                              "run `wmgeom analyze` again") from None
    return tables


def write_table(df: Any, path: str | os.PathLike) -> Path:
    """Write a DataFrame as CSV (no index), atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)
    return path


# --------------------------------------------------------------------------- output folders

#: Characters a temporary sibling adds to a name: ``.<name>.<8 characters>.tmp``.
TEMPORARY_EXTRA = len("..12345678.tmp")


def _name_max(folder: Path) -> int:
    while not folder.exists():
        folder = folder.parent
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        return 255


def check_writable(run_dir: Path, option: str = "--out") -> None:
    """Refuse, before any work, an output folder that is a file, lies under a file, cannot
    be written, has a name the file system cannot hold, or lies inside the cache.

    Raises:
        WmgeomError: Naming the path and the fix.
    """
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise WmgeomError(f"{option} {run_dir} is a file; choose a folder")
    longest = _name_max(run_dir)
    for i, part in enumerate(run_dir.parts):
        # the last name also gets temporary siblings, ``.<name>.<8 characters>.tmp``
        room = longest - (TEMPORARY_EXTRA if i == len(run_dir.parts) - 1 else 0)
        if len(os.fsencode(part)) > room:
            raise WmgeomError(f"{option}: the name {part[:40]}... has "
                              f"{len(os.fsencode(part))} bytes; this file system holds names "
                              f"of up to {room} there; choose a shorter name")
    parent = run_dir
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise WmgeomError(f"{option} {run_dir} lies under {parent}, which is a file; choose "
                          "another folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise WmgeomError(f"{option} {run_dir}: {parent} is not writable; choose a folder you "
                          "can write to")
    cache = _cache_location().resolve()
    if run_dir.resolve().is_relative_to(cache):
        raise WmgeomError(f"{option} {run_dir} lies inside the wmgeom cache ({cache}), whose "
                          "entries are deleted when they are rebuilt; choose a folder outside "
                          "it")


def check_out_dir(run_dir: Path, option: str = "--out") -> None:
    """:func:`check_writable`, and refuse the working directory (or a folder holding it):
    a run there would write over the files beside it.

    Raises:
        WmgeomError: Naming the path and the fix.
    """
    run_dir = Path(run_dir)
    check_writable(run_dir, option)
    here = Path.cwd().resolve()
    if here.is_relative_to(run_dir.resolve()):
        what = "is" if run_dir.resolve() == here else "holds"
        raise WmgeomError(f"{option} {run_dir} {what} the working directory; choose a new "
                          "folder (e.g. --out runs/one)")


# --------------------------------------------------------------------------- temporaries

log = logging.getLogger(__name__)

#: The names :func:`atomic_path` gives its temporaries: ``.<name>.<8 random chars>.tmp``.
TEMPORARY_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")
#: Default age (seconds since the last change of a temporary or anything in it) past which
#: :func:`clean_stale_temporaries` takes it for the leftover of an interrupted write.
STALE_AFTER_S = 600.0


def _newest_change(path: Path) -> float:
    """The latest modification time of ``path`` and, for a folder, of anything beneath it."""
    newest = path.lstat().st_mtime
    if path.is_dir() and not path.is_symlink():
        for base, dirs, files in os.walk(path):
            for name in dirs + files:
                with contextlib.suppress(OSError):
                    newest = max(newest, os.lstat(os.path.join(base, name)).st_mtime)
    return newest


def clean_stale_temporaries(folder: str | os.PathLike,
                            older_than_s: float = STALE_AFTER_S) -> list[Path]:
    """Remove what interrupted atomic writes left in ``folder``.

    :func:`atomic_path` writes ``.<name>.<random>.tmp`` beside its target; a process killed
    mid-write (SIGKILL, power loss) leaves it behind. This removes the files and folders of
    ``folder`` (not below it) whose name has that pattern and in which nothing changed for
    ``older_than_s`` seconds, so a writer still at work is not disturbed. Anything else,
    and symbolic links, are left alone.

    Returns:
        The paths removed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    now = time.time()
    removed = []
    for entry in sorted(folder.iterdir()):
        if not TEMPORARY_NAME.match(entry.name) or entry.is_symlink():
            continue
        try:
            if now - _newest_change(entry) < older_than_s:
                continue
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError:  # gone meanwhile, or not ours to remove
            continue
        removed.append(entry)
    if removed:
        log.info("removed %d temporary file(s) left by an interrupted write in %s",
                 len(removed), folder)
    return removed


# --------------------------------------------------------------------------- checksums


def file_record(path: str | os.PathLike) -> dict[str, Any]:
    """Size and sha256 of a file, as stored in a cache entry's metadata."""
    path = Path(path)
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def damaged_files(folder: str | os.PathLike, records: Any) -> str | None:
    """What is wrong with the files of a cache entry, or ``None`` if they match ``records``.

    Args:
        folder: the entry's folder.
        records: ``{file name: file_record(...)}`` stored when the entry was written.

    Returns:
        A short description of the first problem (missing file, other size, other
        checksum, unusable records), or ``None``.
    """
    folder = Path(folder)
    if not isinstance(records, Mapping) or not records:
        return "its metadata lists no file checksums"
    for name, rec in records.items():
        if not (isinstance(rec, Mapping) and isinstance(rec.get("bytes"), int)
                and isinstance(rec.get("sha256"), str)):
            return f"its metadata for {name} is unusable"
        path = folder / str(name)
        if not path.is_file():
            return f"{name} is missing"
        size = path.stat().st_size
        if size != rec["bytes"]:
            return f"{name} has {size} bytes, expected {rec['bytes']}"
        if file_record(path)["sha256"] != rec["sha256"]:
            return f"{name} does not match its checksum"
    return None


# --------------------------------------------------------------------------- progress

#: Outside a terminal, a plain line each time progress passes another multiple of this
#: percentage of the total ...
PLAIN_STEP_PERCENT = 5
#: ... or when this many seconds passed since the last line (a slow stage shows it is alive).
PLAIN_INTERVAL_S = 30.0


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class PlainProgress:
    """A progress bar for log files and pipes: a few whole lines instead of one per update.

    It prints ``desc: n/total unit (p%), elapsed, rate[, postfix]`` when progress passes
    another multiple of ``step_percent`` of the total, when ``interval_s`` seconds passed
    since the last line, and on :meth:`close` if something changed since. A run of any
    number of updates writes at most ``100 / step_percent + 1`` lines plus one per
    ``interval_s``. It offers the tqdm attributes and methods wmgeom uses: ``n``,
    ``total``, ``update``, ``set_postfix``, ``set_postfix_str``, ``close`` and use as a
    context manager.
    """

    def __init__(self, total: int | None, desc: str = "", unit: str = "it", initial: int = 0,
                 file: Any = None, step_percent: float = PLAIN_STEP_PERCENT,
                 interval_s: float = PLAIN_INTERVAL_S):
        self.total, self.desc, self.unit = total, desc, unit
        self.n = self._printed_n = self._initial = initial
        self.file = file
        self.step_percent, self.interval_s = step_percent, interval_s
        self.postfix = ""
        self._start = self._last = time.monotonic()
        self._step = self._step_of(initial)
        self._closed = False

    def _step_of(self, n: int) -> int:
        if not self.total:
            return 0
        return int(100 * n / self.total // self.step_percent)

    def update(self, n: int = 1) -> None:
        self.n += n
        step = self._step_of(self.n)
        now = time.monotonic()
        if step > self._step or now - self._last >= self.interval_s:
            self._step = step
            self._line(now)

    def set_postfix(self, ordered_dict: Mapping[str, Any] | None = None, refresh: bool = True,
                    **kwargs: Any) -> None:
        items = {**(ordered_dict or {}), **kwargs}
        self.postfix = ", ".join(f"{k}={v}" for k, v in items.items())

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        self.postfix = str(s)

    def _line(self, now: float) -> None:
        self._last, self._printed_n = now, self.n
        elapsed = now - self._start
        count = f"{self.n}/{self.total}" if self.total else f"{self.n}"
        percent = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
        done = self.n - self._initial
        rate = f", {_rate(done / elapsed, self.unit)}" if elapsed > 0 and done > 0 else ""
        post = f", {self.postfix}" if self.postfix else ""
        stream = self.file if self.file is not None else sys.stderr
        print(f"{self.desc}: {count} {self.unit}{percent}, {_clock(elapsed)} elapsed{rate}{post}",
              file=stream, flush=True)

    def close(self) -> None:
        if not self._closed and self.n != self._printed_n:
            self._line(time.monotonic())
        self._closed = True

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _rate(per_s: float, unit: str) -> str:
    if per_s >= 100:
        return f"{per_s:.0f} {unit}/s"
    if per_s >= 1:
        return f"{per_s:.1f} {unit}/s"
    return f"{1 / per_s:.1f} s/{unit}"


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def progress_bar(total: int | None, desc: str, unit: str = "it", enabled: bool = True,
                 initial: int = 0, file: Any = None) -> Any:
    """The one progress bar of long stages.

    In a terminal (``file``, default ``sys.stderr``, is a TTY) a live tqdm bar (in a
    notebook, tqdm's widget); written to
    a file or a pipe a :class:`PlainProgress` that prints a line every few percent or every
    half minute, so a log holds tens of lines, not one per update; ``enabled=False`` shows
    nothing. Either way the object has ``n``, ``total``, ``update(n)``, ``set_postfix(...)``,
    ``set_postfix_str(s)`` and ``close()`` and is a context manager.
    """
    import warnings

    from tqdm.std import tqdm

    stream = file if file is not None else sys.stderr
    if not enabled:
        return tqdm(total=total, disable=True)
    if file is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from tqdm.autonotebook import tqdm as maybe_notebook
        if maybe_notebook is not tqdm:  # in a notebook: tqdm's widget
            return maybe_notebook(total=total, initial=initial, desc=desc, unit=unit)
    if _is_terminal(stream):
        return tqdm(total=total, initial=initial, desc=desc, unit=unit, file=stream,
                    dynamic_ncols=True)
    return PlainProgress(total, desc, unit, initial=initial, file=file)
