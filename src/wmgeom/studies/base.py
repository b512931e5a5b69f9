"""What every study shares: run directories, configuration fingerprints, summaries (SPEC R5, L2).

A run directory holds the resolved ``config.yaml`` beside everything the run writes. A
checkpoint made under one configuration is never resumed under another: the *fingerprint*
(a hash of the resolved config without its device) must match.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from wmgeom.config import dump_config
from wmgeom.errors import WmgeomError, validated
from wmgeom.io import content_key, read_yaml, write_text_atomic

__all__ = ["fingerprint", "init_run_dir", "read_run_config"]

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
    if path.is_file():
        old = validated(type(config), read_yaml(path, "run config"), f"run config {path}")
        if fingerprint(old) != fingerprint(config):
            raise WmgeomError(
                f"{run_dir} holds a run with a different configuration; use its config.yaml "
                "(--config RUN_DIR/config.yaml) to resume it, or choose another --out."
            )
        if not resume and trained:
            raise WmgeomError(f"{run_dir} already holds a trained run; pass --resume to "
                              "continue it, or choose another --out.")
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, dump_config(config))
