"""What every study shares: run directories, configuration fingerprints, summaries (SPEC R5, L2).

A run directory holds the resolved ``config.yaml`` beside everything the run writes. A
checkpoint made under one configuration is never resumed under another: the *fingerprint*
(a hash of the resolved config without its device) must match.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from wmgeom.config import dump_config
from wmgeom.errors import WmgeomError, validated
from wmgeom.io import clean_stale_temporaries, content_key, read_yaml, write_text_atomic

__all__ = ["check_writable", "fingerprint", "init_run_dir", "read_run_config", "run_lock"]

LOCK_FILE = ".wmgeom.lock"

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


def init_run_dir(run_dir: Path, config: BaseModel, resume: bool, trained: bool) -> None:
    """Save the resolved config; refuse to mix two configurations in one directory.

    Args:
        run_dir: The run directory (created if needed).
        config: The resolved configuration.
        resume: The caller continues an earlier run.
        trained: The directory already holds a checkpoint of this run.

    Raises:
        WmgeomError: If the directory holds a run with another configuration, or a trained
            run and ``resume`` is not set.
    """
    path = run_dir / "config.yaml"
    if path.exists() and not path.is_file():
        raise WmgeomError(f"{path} is not a file; choose another --out")
    if path.is_file() and trained:  # without a checkpoint a run directory is never a lock
        try:
            old = validated(type(config), read_yaml(path, "run config"), f"run config {path}")
        except WmgeomError as exc:
            raise WmgeomError(f"{run_dir} holds a trained run whose config.yaml is unreadable "
                              f"({exc}); choose another --out") from None
        if fingerprint(old) != fingerprint(config):
            raise WmgeomError(
                f"{run_dir} holds a run with a different configuration; use its config.yaml "
                "(--config RUN_DIR/config.yaml) to resume it, or choose another --out."
            )
        if not resume:
            raise WmgeomError(f"{run_dir} already holds a trained run; pass --resume to "
                              "continue it, or choose another --out.")
    check_writable(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(run_dir)  # what an interrupted write left behind
    write_text_atomic(path, dump_config(config))


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


def check_writable(run_dir: Path) -> None:
    """Refuse, before any work, an output folder that is a file, lies under a file, or
    cannot be written.

    Raises:
        WmgeomError: Naming the path and the fix.
    """
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise WmgeomError(f"--out {run_dir} is a file; choose a folder")
    parent = run_dir
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise WmgeomError(f"--out {run_dir} lies under {parent}, which is a file; choose "
                          "another folder")
    import os

    if not os.access(parent, os.W_OK | os.X_OK):
        raise WmgeomError(f"--out {run_dir}: {parent} is not writable; choose a folder you "
                          "can write to")
