"""What every study shares: run directories, configuration fingerprints, summaries.

A run directory is *owned*: its ``config.yaml`` records the study and the resolved config
that made it, and once the folder holds a result (a checkpoint, a recording, a table) no
command of another study or another configuration may write into it
(:func:`init_run_dir`, :func:`require_run`). A folder that holds nothing but a
``config.yaml`` — a run that failed before it wrote anything — accepts any run, so a
failed step never changes what a folder accepts. One process writes a folder at a time
(:func:`run_lock`, held by :func:`claimed_run_dir` for a whole command). A checkpoint made
under one configuration is never resumed under another: the *fingerprint* (a hash of the
resolved config without its device) must match. Output folders inside the cache, the
working directory itself, and names the file system cannot hold are refused before any
work (:func:`check_out_dir`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from wmgeom.config import dump_config
from wmgeom.errors import WmgeomError, validated
from wmgeom.io import (
    TEMPORARY_NAME,
    check_out_dir,
    check_writable,
    clean_stale_temporaries,
    content_key,
    read_json,
    read_tables,
    read_yaml,
    write_json_atomic,
    write_table,
    write_text_atomic,
)

__all__ = ["check_out_dir", "check_tables", "check_writable", "claimed_run_dir", "fingerprint",
           "holds_results", "init_run_dir", "read_run_config", "refuse_if_written",
           "require_run", "run_lock", "run_study", "write_tables"]

LOCK_FILE = ".wmgeom.lock"
CONFIG_FILE = "config.yaml"
#: What a run folder may hold and still count as holding no result: its claim, its lock,
#: the temporaries of interrupted writes and TensorBoard logs.
_NOT_RESULTS = (CONFIG_FILE, LOCK_FILE)
_LOGS = "tensorboard"
#: The default study of a run folder whose config.yaml names none (older runs).
DEFAULT_STUDY = "nback"

T = TypeVar("T", bound=BaseModel)


def fingerprint(config: BaseModel) -> str:
    """What a checkpoint must match to be resumed: everything but the device."""
    return content_key(config.model_dump(mode="json", exclude={"device"}))


def read_run_config(run_dir: Path, model: type[T]) -> T:
    """The resolved config saved in a run directory.

    Raises:
        WmgeomError: If ``run_dir`` is not a run directory or its config is invalid.
    """
    path = run_dir / "config.yaml"
    if not path.is_file():
        raise WmgeomError(f"{run_dir} is not a wmgeom run directory (no config.yaml); "
                          "start one with `wmgeom train --out DIR` or `wmgeom run --out DIR`.")
    return validated(model, read_yaml(path, "run config"), f"run config {path}")


def run_study(run_dir: str | Path) -> str | None:
    """The study whose run a folder holds (its ``config.yaml``'s ``study``), or None when it
    has no ``config.yaml``.

    Raises:
        WmgeomError: If ``config.yaml`` is unreadable.
    """
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        return None
    study = read_yaml(path, "run config").get("study", DEFAULT_STUDY)
    return study if isinstance(study, str) else repr(study)


def holds_results(run_dir: str | Path) -> bool:
    """Whether a folder holds anything a command wrote as its result: any file but
    ``config.yaml``, the lock, temporaries and TensorBoard logs, at any depth."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return False
    for _base, dirs, files in os.walk(run_dir):
        dirs[:] = [d for d in dirs if d != _LOGS and not TEMPORARY_NAME.match(d)]
        if any(f not in _NOT_RESULTS and not TEMPORARY_NAME.match(f) for f in files):
            return True
    return False


def _owner_problem(run_dir: Path, config: BaseModel, resume: bool, trained: bool,
                   extendable: bool = False) -> str | None:
    """Why ``run_dir`` may not take a run of ``config`` (None: it may)."""
    path = run_dir / CONFIG_FILE
    if path.exists() and not path.is_file():
        return f"{path} is not a file; choose another --out"
    if not (trained or holds_results(run_dir)):
        return None  # empty, or only the claim of a run that wrote nothing: free
    if not path.is_file():
        return (f"{run_dir} holds files but no config.yaml, so it is not a wmgeom run folder; "
                "choose a new folder for the run")
    try:
        data = read_yaml(path, "run config")
        owner = data.get("study", DEFAULT_STUDY)
        mine = getattr(config, "study", DEFAULT_STUDY)
        if owner != mine:
            return (f"{run_dir} holds a run of study {owner!r}; a run of study {mine!r} cannot "
                    "be written into it: choose another --out")
        old = validated(type(config), data, f"run config {path}")
    except WmgeomError as exc:
        return (f"{run_dir} holds a run whose config.yaml is unreadable ({exc}); choose "
                "another --out")
    if fingerprint(old) != fingerprint(config) and not extendable:
        return (f"{run_dir} holds a run with a different configuration; use its config.yaml "
                "(--config RUN_DIR/config.yaml) to resume it, or choose another --out.")
    if trained and not resume:
        return (f"{run_dir} already holds a trained run; pass --resume to continue it, or "
                "choose another --out.")
    return None


def init_run_dir(run_dir: Path, config: BaseModel, resume: bool, trained: bool = False,
                 extendable: bool = False) -> None:
    """Save the resolved config; refuse to mix two studies or configurations in one folder.

    Args:
        run_dir: The run directory (created if needed).
        config: The resolved configuration.
        resume: The caller continues an earlier run.
        trained: The directory already holds a checkpoint of this run.
        extendable: Another configuration of the same study may take the folder over.

    Raises:
        WmgeomError: If the folder cannot be an output folder (:func:`check_out_dir`), or it
            holds a result of another study or another configuration, or a trained run and
            ``resume`` is not set.
    """
    run_dir = Path(run_dir)
    check_out_dir(run_dir)
    problem = _owner_problem(run_dir, config, resume, trained, extendable)
    if problem:
        raise WmgeomError(problem)
    run_dir.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(run_dir)  # what an interrupted write left behind
    text, path = dump_config(config), run_dir / CONFIG_FILE
    if not (path.is_file() and path.read_text() == text):  # a folder resumed is left as it is
        write_text_atomic(path, text)


@contextlib.contextmanager
def claimed_run_dir(run_dir: Path, config: BaseModel, resume: bool,
                    trained: Callable[[Path], bool] = lambda _: False,
                    extendable: bool = False) -> Iterator[None]:
    """Own ``run_dir`` for the block: checked, locked, and its ``config.yaml`` written.

    The checks run once before the lock is taken (a refused command touches nothing, not
    even the lock file) and again under it (another process may have written meanwhile).

    Args:
        run_dir: The run directory.
        config: The resolved configuration.
        resume: The caller continues an earlier run.
        trained: ``trained(run_dir)``: whether it holds a checkpoint of this study's run.
        extendable: Another configuration of the same study may take the folder over (a
            grid, whose runs are folders of their own, each owned by its configuration).

    Raises:
        WmgeomError: As :func:`init_run_dir`, or :func:`run_lock`.
    """
    run_dir = Path(run_dir)
    check_out_dir(run_dir)
    problem = _owner_problem(run_dir, config, resume, trained(run_dir), extendable)
    if problem:
        raise WmgeomError(problem)
    with run_lock(run_dir):
        init_run_dir(run_dir, config, resume, trained(run_dir), extendable)
        yield


def require_run(run_dir: str | Path, studies: Iterable[str], command: str,
                hint: str = "") -> str:
    """Refuse a ``RUN_DIR`` argument that is not an existing run folder of ``studies``.

    Args:
        run_dir: The folder given.
        studies: The studies whose runs ``command`` works on.
        command: The command, for the message (e.g. ```wmgeom record```).
        hint: What to do with a run of another study (appended to its message).

    Returns:
        The study of the run.

    Raises:
        WmgeomError: If the folder is missing, is a file, has no ``config.yaml`` or holds a
            run of another study.
    """
    run_dir = Path(run_dir)
    studies = list(studies)
    if not run_dir.exists():
        raise WmgeomError(f"{run_dir} does not exist; pass the folder of a run (`wmgeom train "
                          "--out DIR` or `wmgeom run --out DIR` makes one)")
    if not run_dir.is_dir():
        raise WmgeomError(f"{run_dir} is a file; pass the folder of a run")
    study = run_study(run_dir)
    if study is None:
        raise WmgeomError(f"{run_dir} is not a wmgeom run directory (no config.yaml); start "
                          "one with `wmgeom train --out DIR` or `wmgeom run --out DIR`.")
    if study not in studies:
        raise WmgeomError(f"{run_dir} holds a run of study {study!r}; {command} works on runs "
                          f"of study {' or '.join(map(repr, studies))}"
                          + (f" ({hint})" if hint else ""))
    return study


@contextlib.contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold the run directory for the block: a second process writing the same run is refused.

    An advisory ``flock`` on ``RUN_DIR/.wmgeom.lock``: the operating system releases it when
    the process ends, so a killed run never leaves a lock behind.

    Raises:
        WmgeomError: If another process holds the lock.
    """
    import fcntl

    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / LOCK_FILE, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WmgeomError(f"another wmgeom process is writing {run_dir}; wait for it to "
                              "finish or choose another --out") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def refuse_if_written(run_dir: str | Path) -> None:
    """Refuse a folder another process is writing now (it holds :func:`run_lock`); the
    check takes the lock for an instant only, and never creates the lock file.

    Raises:
        WmgeomError: If a writer holds the folder.
    """
    import fcntl

    path = Path(run_dir) / LOCK_FILE
    if not path.is_file():
        return
    with open(path) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WmgeomError(f"another wmgeom process is writing {run_dir}; wait for it to "
                              "finish") from None
        fcntl.flock(handle, fcntl.LOCK_UN)


#: The file beside a folder of analysis tables that records their columns and kinds.
TABLES_FILE = "tables.json"


def _kind(column) -> str:
    import pandas as pd

    if pd.api.types.is_bool_dtype(column):
        return "bool"
    return "number" if pd.api.types.is_numeric_dtype(column) else "text"


def write_tables(tables: Mapping[str, Any], folder: Path) -> None:
    """Write every table as ``folder/<name>.csv`` and their columns in ``tables.json``,
    so that a table edited or damaged later is found before it is read
    (:func:`check_tables`)."""
    folder = Path(folder)
    for name, df in tables.items():
        write_table(df, folder / f"{name}.csv")
    write_json_atomic(folder / TABLES_FILE, {
        name: {str(c): _kind(df[c]) for c in df.columns} for name, df in tables.items()})


def check_tables(folder: Path, fix: str) -> None:
    """Refuse analysis tables that no longer hold what :func:`write_tables` wrote: a table
    missing, a column missing, or text in a column of numbers. Folders written before
    ``tables.json`` existed are not checked.

    Raises:
        WmgeomError: Naming the table, the column and ``fix``.
    """
    import pandas as pd

    folder = Path(folder)
    schema = read_json(folder / TABLES_FILE, "table list", fix)
    tables = read_tables(folder) if schema else {}
    for name, columns in schema.items():
        path = folder / f"{name}.csv"
        if name not in tables:
            raise WmgeomError(f"analysis table {path} is missing; {fix}")
        table = tables[name]
        if not columns:
            continue
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise WmgeomError(f"analysis table {path} lacks column(s) {', '.join(missing)}; "
                              f"{fix}")
        for column, kind in columns.items():
            if kind == "number" and not pd.api.types.is_numeric_dtype(table[column]):
                bad = pd.to_numeric(table[column], errors="coerce").isna() & \
                    table[column].notna()
                example = table[column][bad].iloc[0] if bad.any() else table[column].iloc[0]
                raise WmgeomError(f"analysis table {path}: column {column} holds text "
                                  f"({str(example)[:30]!r}) where numbers belong; {fix}")
