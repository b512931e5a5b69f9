"""The analyses of Lei et al. 2024 on anyone's activations or recordings.

:func:`recording_of` turns :class:`~wmgeom.data.TrialData` into the
:class:`~wmgeom.studies.nback.analysis.Recording` the declared analyses read;
:func:`analyze_data` runs every declared analysis the data support on one or more of them
(with :func:`~wmgeom.studies.nback.driver.analyze`), says which ran and which were skipped
and why, and writes the same ``analysis/*.csv`` tables, findings, figures and
``report.html`` as a wmgeom run. ``wmgeom analyze --recording FILE --config CONFIG --out
DIR`` calls it; :class:`RecordingConfig` is the YAML file's schema.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import Field

from wmgeom.config import StrictModel
from wmgeom.data import TrialData, read_data
from wmgeom.errors import WmgeomError, validated
from wmgeom.io import read_yaml, write_table
from wmgeom.studies.nback.analysis import AnalysisProtocol, Recording, resolve_protocol
from wmgeom.studies.nback.driver import analyze
from wmgeom.studies.nback.report import write_report

__all__ = ["FrameConfig", "ReadConfig", "RecordingConfig", "analysis_status", "analyze_data",
           "load_recording_config", "recording_of"]

log = logging.getLogger(__name__)

RECORDING_TABLE = "recording"
"""Name of the table (``analysis/recording.csv``) describing the data analysed."""


class ReadConfig(StrictModel):
    """How a file is read into :class:`~wmgeom.data.TrialData` (:func:`wmgeom.data.read_data`;
    None leaves an option at its default)."""

    features: list[str] | None = None
    items: list[str] | None = None
    onset: str | None = None
    task: str | None = None
    response: str | None = None
    relevant: str | None = None
    activity: str | None = None
    trials: str | None = None
    bin_size: float | None = Field(default=None, gt=0)
    window: tuple[float, float] | None = None
    align: str | None = None
    name: str | None = None


class FrameConfig(StrictModel):
    """How trials are cut into frames (:meth:`wmgeom.data.TrialData.to_activations`)."""

    mode: Literal["items", "time"] = "items"
    window: tuple[float, float] | None = None
    step: float | None = Field(default=None, gt=0)


class RecordingConfig(StrictModel):
    """Everything ``wmgeom analyze --recording`` does, from a YAML file.

    Attributes:
        profile: Decoding protocol to start from (``quick``: 5 folds, C = 0.1; ``paper``:
            Lei et al. 2024's 10 folds and C grid).
        read: Reading options of the file.
        frames: How trials become frames.
        protocol: Fields of :class:`~wmgeom.studies.nback.analysis.AnalysisProtocol` that
            override the profile's. ``standardize`` is on unless set here: data come in any
            unit (spikes per second, ΔF/F, a model's states), and a fixed ``C`` means
            something else at every scale (Lei et al. 2024 fit ``SVC`` on their own
            networks' raw states, as the N-back runs do).
        analyses: Names of the analyses to run (default every declared one).
    """

    profile: Literal["quick", "paper"] = "quick"
    read: ReadConfig = Field(default_factory=ReadConfig)
    frames: FrameConfig = Field(default_factory=FrameConfig)
    protocol: dict[str, Any] = Field(default_factory=dict)
    analyses: list[str] | None = None


def load_recording_config(config: RecordingConfig | Mapping[str, Any] | str | Path | None
                          ) -> RecordingConfig:
    """A :class:`RecordingConfig` from itself, a dict, a YAML file or None (the defaults).

    Raises:
        WmgeomError: For a missing or invalid file, or an invalid value (one line naming
            the key).
    """
    if isinstance(config, RecordingConfig):
        return config
    if config is None:
        return RecordingConfig()
    data = dict(config) if isinstance(config, Mapping) else read_yaml(config, "recording config")
    return validated(RecordingConfig, data, "recording config")


def protocol_of(config: RecordingConfig) -> AnalysisProtocol:
    """The profile's protocol, units standardised, with the config's ``protocol`` fields
    applied."""
    base = AnalysisProtocol.for_profile(config.profile)
    fields = {k: getattr(base, k) for k in AnalysisProtocol.__dataclass_fields__}
    return resolve_protocol({**fields, "standardize": True, **config.protocol})


def recording_of(data: TrialData, frames: str = "items", window: Sequence[float] | None = None,
                 step: float | None = None) -> Recording:
    """The :class:`~wmgeom.studies.nback.analysis.Recording` of ``data``: its Activations
    Dataset (:meth:`~wmgeom.data.TrialData.to_activations`), named and labelled in the
    figures by ``data.name``; no model to run on (so no causal test) and no untrained
    null."""
    ds = data.to_activations(frames, window, step)
    return Recording(ds, data.name, architecture=data.name, regime="")


def analysis_status(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per analysis and recording: ``ran`` or ``skipped``, with the reason.

    Read from the ``timing`` and ``skipped`` tables of
    :func:`~wmgeom.studies.nback.driver.analyze` (shared fits and figures left out).
    """
    timing = tables.get("timing", pd.DataFrame(columns=["analysis", "run", "status"]))
    steps = timing[~timing["analysis"].astype(str).str.startswith(("fit ", "figure "))]
    skipped = tables.get("skipped", pd.DataFrame(columns=["analysis", "run", "reason"]))
    reasons = {(r["analysis"], r["run"]): r["reason"] for _, r in skipped.iterrows()}
    rows = [{"analysis": r["analysis"], "reference": r.get("reference", ""), "run": r["run"],
             "status": "ran" if r["status"] == "ok" else "skipped",
             "reason": reasons.get((r["analysis"], r["run"]), "")}
            for _, r in steps.iterrows()]
    return pd.DataFrame(rows, columns=["analysis", "reference", "run", "status", "reason"])


def analyze_data(
    data: TrialData | str | Path | Sequence[TrialData | str | Path],
    out_dir: str | Path,
    config: RecordingConfig | Mapping[str, Any] | str | Path | None = None,
    *,
    analyses: Iterable[str] | None = None,
    figures: bool = True,
    report: bool = True,
    progress: bool = False,
) -> dict[str, pd.DataFrame]:
    """Run every declared analysis the data support; write tables, findings and a report.

    Within- and cross-time decoding, encoding-space sharing, Procrustes reconstruction and
    swaps (Lei et al. 2024, Figs. 2, 4, A4, A5) run on any data with two or more frames
    and a feature of two or more values; cross-task generalisation needs two or more
    tasks, orthogonalisation perceptual features, and the causal test a trained model that
    data do not carry: each analysis a recording cannot support is listed with its reason
    (the ``skipped`` table, the report's "Analyses not run", and :func:`analysis_status`).

    Args:
        data: :class:`~wmgeom.data.TrialData`, a file :func:`~wmgeom.data.read_data`
            opens, or several of them (analysed together and compared in the figures).
        out_dir: Folder for ``analysis/`` (tables, ``protocol.json``), ``figures/`` and
            ``report.html``.
        config: :class:`RecordingConfig`, its fields as a dict, or a YAML file.
        analyses: Names of analyses to run (default: the config's, else all).
        figures: Draw the figures.
        report: Write ``report.html`` (needs ``figures``).
        progress: Show a progress bar over the analyses.

    Returns:
        The tables of :func:`~wmgeom.studies.nback.driver.analyze`, plus ``recording``
        (what each data set holds) and ``status`` (:func:`analysis_status`).

    Raises:
        WmgeomError: If a file cannot be read, the config is invalid, or an analysis name
            is unknown; :class:`~wmgeom.errors.ArgumentError` if the data fail a check.
    """
    cfg = load_recording_config(config)
    items = [data] if isinstance(data, TrialData | str | Path) else list(data)
    if not items:
        raise WmgeomError("no recording given; pass at least one")
    read = cfg.read.model_dump(exclude_none=True)
    loaded = [d if isinstance(d, TrialData) else read_data(d, **read) for d in items]
    names = [d.name for d in loaded]
    if len(set(names)) != len(names):
        raise WmgeomError(f"two recordings share the name {sorted(n for n in names if names.count(n) > 1)[0]!r}; "
                          "give each its own name")
    recordings = [recording_of(d, cfg.frames.mode, cfg.frames.window, cfg.frames.step)
                  for d in loaded]
    if cfg.frames.mode == "time" and analyses is None and cfg.analyses is None:
        log.warning("frames are time bins: a bin after an item's onset repeats that item, so "
                    "the analyses that take each frame for a new stimulus (encoding sharing, "
                    "Procrustes and swaps) do not mean what they say; name the analyses to run "
                    "(e.g. within_time, cross_time) or cut frames by item")
    out_dir = Path(out_dir)
    tables = analyze(recordings, out_dir=out_dir, protocol=protocol_of(cfg),
                     analyses=analyses if analyses is not None else cfg.analyses,
                     figures=figures, progress=progress)
    described = pd.concat([d.describe().assign(run=d.name) for d in loaded], ignore_index=True)
    tables[RECORDING_TABLE] = described
    tables["status"] = analysis_status(tables)
    for name in (RECORDING_TABLE, "status"):
        write_table(tables[name], out_dir / "analysis" / f"{name}.csv")
    if report and figures:
        write_report(out_dir)
    return tables
