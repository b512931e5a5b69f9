"""The studies by name: the one table the CLI and the report commands read.

A study is a short chain of the same stages (prepare → train → record → analyse → report)
with its own typed config and profiles. :data:`STUDIES` maps ``config.yaml``'s ``study``
key to it, so ``wmgeom run --config FILE`` runs the study the file is for and
``wmgeom report RUN_DIR`` reports a run of any study.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from wmgeom.errors import WmgeomError
from wmgeom.io import read_yaml
from wmgeom.references import cite
from wmgeom.studies import grid, nback, orientation
from wmgeom.studies.base import DEFAULT_STUDY, run_study

__all__ = ["STUDIES", "Study", "load_study_config", "study", "study_of_run"]


@dataclass(frozen=True)
class Study:
    """A registered study.

    Attributes:
        name: The ``study`` key of its configs.
        description: One line for help texts.
        config: Its pydantic config model.
        profiles: Named starting points (``quick``, ``paper``).
        make_config: ``make_config(profile, overrides) -> config``.
        load_config: ``load_config(path, profile) -> config``.
        run: ``run(config, run_dir, resume=..., progress=...) -> summary``.
        report: ``report(run_dir) -> path of report.html``.
    """

    name: str
    description: str
    config: type[BaseModel]
    profiles: Mapping[str, Mapping[str, Any]]
    make_config: Callable[..., BaseModel]
    load_config: Callable[..., BaseModel]
    run: Callable[..., dict[str, Any]]
    report: Callable[[Path], Path]


STUDIES: dict[str, Study] = {
    "nback": Study("nback",
                   f"{cite('lei2024')}: CNN + RNN on nine N-back tasks over rendered objects",
                   nback.NBackConfig, nback.PROFILES, nback.make_config, nback.load_config,
                   nback.run, nback.report),
    "two-orientation": Study("two-orientation",
                             f"{cite('cueva2021')}: continuous-time RNNs recalling two "
                             "orientations",
                             orientation.OrientationConfig, orientation.PROFILES,
                             orientation.make_config, orientation.load_config,
                             orientation.run, orientation.report),
    "nback-grid": Study("nback-grid", f"the comparisons of {cite('lei2024')}: architectures "
                        "× regimes (× sizes × seeds) trained, analysed and reported together",
                        grid.GridConfig, grid.PROFILES, grid.make_config, grid.load_config,
                        grid.run, grid.report),
}


def study(name: str) -> Study:
    """The registered study ``name``.

    Raises:
        WmgeomError: For an unknown name, listing the registered ones.
    """
    if name not in STUDIES:
        raise WmgeomError(f"unknown study '{name}'; choose one of {', '.join(STUDIES)}")
    return STUDIES[name]


def load_study_config(path: str | Path | None, profile: str | None = None,
                      name: str | None = None, command: str | None = None
                      ) -> tuple[Study, BaseModel]:
    """The study and config of a YAML file (its ``study`` key; ``nback`` by default).

    Args:
        path: The YAML file, or None for the profile's defaults.
        profile: Profile name (default: the file's ``profile`` key, else quick).
        name: The study asked for (``--study``, or the study whose stage ``command`` is);
            it must agree with the file.
        command: The stage command that asks for ``name`` (e.g. ``wmgeom train``), if any.

    Raises:
        WmgeomError: If the file is for another study than ``name``, or is invalid.
    """
    data = read_yaml(path) if path else {}
    in_file = data.get("study")
    if in_file is not None and (not isinstance(in_file, str) or in_file not in STUDIES):
        raise WmgeomError(f"config file {path}: study = {in_file!r}: choose one of "
                          f"{', '.join(STUDIES)}")
    if name is not None and in_file is not None and in_file != name:
        if command is not None:
            raise WmgeomError(f"config file {path} is for study {in_file!r}; `{command}` is a "
                              f"stage of the {name} study: run the whole study with `wmgeom "
                              f"run --config {path}`")
        raise WmgeomError(f"config file {path} is for study {in_file!r}, not {name!r}; "
                          "drop --study or pass a config of that study")
    chosen = study(name or in_file or "nback")
    return chosen, chosen.load_config(path, profile)


def study_of_run(run_dir: str | Path) -> Study:
    """The study a run directory belongs to (its ``config.yaml``; ``nback`` without one)."""
    return study(run_study(run_dir) or DEFAULT_STUDY)
