"""The N-back study of Lei et al. 2024: configs and stages (:mod:`.driver`), the analysis
framework (:mod:`.analysis`), one module per declared analysis (:mod:`.analyses`), the rules
that judge the paper's findings (:mod:`wmgeom.studies.findings`) and the report (:mod:`.report`)."""

from wmgeom.studies.findings import Finding, Threshold
from wmgeom.studies.nback.analyses import ANALYSES, findings, register, run_analyses
from wmgeom.studies.nback.analysis import Analysis, AnalysisProtocol, Figure, Recording
from wmgeom.studies.nback.driver import (
    ACTIVATIONS_FILE,
    PROFILES,
    NBackConfig,
    Prepared,
    TrainedRun,
    analyze,
    check_config,
    load_config,
    load_model,
    load_recording,
    load_trained,
    make_config,
    model_table,
    prepare,
    record,
    report,
    run,
    skipped_lines,
    train,
    train_run,
)

__all__ = ["ACTIVATIONS_FILE", "ANALYSES", "PROFILES", "Analysis", "AnalysisProtocol", "Figure",
           "Finding", "NBackConfig", "Prepared", "Recording", "Threshold", "TrainedRun",
           "analyze", "check_config", "findings", "load_config", "load_model", "load_recording",
           "load_trained", "make_config", "model_table", "prepare", "record", "register",
           "report", "run", "run_analyses", "skipped_lines", "train", "train_run"]
