"""The N-back study of Lei et al. 2024 end to end: prepare → train → record → analyze → report.

Each stage is a function over a run directory, so the CLI's sub-commands and ``wmgeom run``
call the same code. A run directory holds ``config.yaml`` (resolved), ``metrics.csv``,
``checkpoints/``, ``tensorboard/``, ``summary.json``, ``activations.nc`` and, after
analysis, ``analysis/`` (tables), ``figures/`` and ``report.html``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
import xarray as xr
from pydantic import Field

from wmgeom.config import StrictModel, dump_config
from wmgeom.config import load_config as _load_config
from wmgeom.config import make_config as _make_config
from wmgeom.devices import resolve_device
from wmgeom.errors import WmgeomError
from wmgeom.io import (
    clean_stale_temporaries,
    open_dataset,
    progress_bar,
    read_json,
    read_yaml,
    write_dataset,
    write_json_atomic,
)
from wmgeom.models.features import FeatureCache, channel_pca, load_or_compute_features
from wmgeom.models.registry import ARCHITECTURES, BACKBONES, build_backbone
from wmgeom.models.sensory_cognitive import SensoryCognitiveConfig, SensoryCognitiveModel
from wmgeom.record.nback import RecordConfig, check_recording, record_activations
from wmgeom.stimuli.sources import load_stimuli, source_kind
from wmgeom.stimuli.stimset import StimulusConfig, StimulusSet
from wmgeom.studies.base import (
    check_out_dir,
    check_tables,
    check_writable,
    claimed_run_dir,
    fingerprint,
    read_run_config,
    refuse_if_written,
    require_run,
    run_lock,
    run_study,
    write_tables,
)
from wmgeom.studies.nback.analyses import (
    findings,
    merge_tables,
    run_analyses,
    select_analyses,
)
from wmgeom.studies.nback.analysis import (
    AnalysisProtocol,
    Recording,
    label_sizes,
    model_label,
    resolve_protocol,
    sizes_to_label,
)
from wmgeom.studies.nback.report import draw_figures, write_report
from wmgeom.tasks.registry import RegimeConfig, family_name
from wmgeom.tasks.registry import names as task_names
from wmgeom.tasks.vocabulary import FEATURES, SPLITS
from wmgeom.train.checkpoint import load_checkpoint, load_weights
from wmgeom.train.nback import (
    EvalConfig,
    NBackData,
    accuracy_rows,
    build_data,
    build_model,
    evaluation_sets,
    nback_loss,
    paper_criterion,
    summary_accuracy,
    task_accuracy,
)
from wmgeom.train.trainer import TrainConfig, Trainer

__all__ = ["PROFILES", "NBackConfig", "Prepared", "TrainedRun", "analyze", "load_config",
           "load_model", "load_recording", "load_trained", "make_config", "model_table", "prepare",
           "record", "report", "run", "skipped_lines", "train", "train_run"]

ACTIVATIONS_FILE = "activations.nc"
UNTRAINED_FILE = "activations_untrained.nc"
log = logging.getLogger(__name__)


class NBackConfig(StrictModel):
    """Everything an N-back run does, resolved and saved as ``config.yaml``."""

    study: Literal["nback"] = "nback"
    profile: Literal["quick", "paper"] = "quick"
    device: str = "auto"
    stimuli: StimulusConfig = Field(default_factory=StimulusConfig)
    tasks: RegimeConfig = Field(default_factory=RegimeConfig)
    model: SensoryCognitiveConfig = Field(default_factory=SensoryCognitiveConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    record: RecordConfig = Field(default_factory=RecordConfig)


PROFILES: dict[str, dict[str, Any]] = {
    "quick": {
        "stimuli": {"elevations": [15.0]},
        "train": {"iterations": 3000, "milestones": [2400]},
    },
    "paper": {
        "model": {"backbone": "resnet50", "architecture": "gru", "hidden_size": 256,
                  "channel_components": None},
        "train": {"lr": 3e-5, "batch_size": 256, "iterations": 14000,
                  "milestones": [8000, 12000], "eval_every": 500, "checkpoint_every": 500,
                  "early_stop": True, "grad_clip": None, "weight_decay": 0.01},
        "eval": {"trials_per_task": 256},
        "record": {"trials_per_task": 256, "perceptual_components": 256},
    },
}
"""Named profiles: ``quick`` (2 CPU cores, minutes) and ``paper`` (the paper's setup, a GPU)."""


def make_config(profile: str = "quick", overrides: Mapping[str, Any] | None = None
                ) -> NBackConfig:
    """The ``profile``'s config with ``overrides`` (a nested dict) applied and validated."""
    return _make_config(NBackConfig, PROFILES, profile, overrides)


def load_config(path: str | Path | None = None, profile: str | None = None) -> NBackConfig:
    """Profile (the argument, else the file's ``profile`` key, else quick) + a YAML file."""
    return _load_config(NBackConfig, PROFILES, path, profile)


def _memory_bytes() -> int | None:
    import os

    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # not a POSIX system
        return None


def check_config(config: NBackConfig, run_dir: Path | None = None) -> None:
    """Everything about a config that can be checked before any loading or writing.

    The device exists, the model fits in memory (parameters, gradients and AdamW's two
    moments, float32), and the output folder can be written.

    Raises:
        WmgeomError: Naming the value and the fix.
    """
    resolve_device(config.device)
    source_kind(config.stimuli.source)  # a stimulus folder that is not there
    m, info = config.model, BACKBONES[config.model.backbone]
    h, c = m.hidden_size, m.channel_components or info.channels
    flat = h * info.spatial[0] * info.spatial[1]
    params = c * h + h + (flat + len(FEATURES) + len(config.tasks.n_values)) * h + 3 * h + \
        ARCHITECTURES[m.architecture].parameters_at(h) + 3 * h + 3
    need = 4 * 4 * params
    have = _memory_bytes()
    if have is not None and need > 0.8 * have:
        raise WmgeomError(f"model.hidden_size={h} needs about {need / 2**30:.1f} GiB for its "
                          f"{params:,} parameters, gradients and optimiser state, more than "
                          f"this machine's {have / 2**30:.1f} GiB; choose a smaller hidden size")
    if run_dir is not None:
        check_out_dir(run_dir)


# --------------------------------------------------------------------------- prepare


@dataclass
class Prepared:
    """Stimuli and the features the model reads, ready for training or recording.

    It holds no run config: the runs that share a stimulus set and model (a grid's points)
    share one, and each brings its own tasks (:func:`_data`)."""

    stimset: StimulusSet
    cache: FeatureCache
    channel_variance_kept: float | None
    device: torch.device


def prepare(config: NBackConfig, progress: bool = True) -> Prepared:
    """Render (or load) the stimuli and compute (or load) the feature cache."""
    device = resolve_device(config.device)
    m = config.model
    if m.online and m.channel_components is not None:
        raise WmgeomError("model.online runs the backbone in the loop and cannot use "
                          "model.channel_components; set it to null.")
    stimset = load_stimuli(config.stimuli, progress=progress)
    missing = [s for s in SPLITS if s not in stimset.splits]
    if missing:
        log.warning("the stimulus set has no %s split; it is left out of evaluation, "
                    "recording and analysis", ", ".join(missing))
    cache = load_or_compute_features(stimset, m.backbone, m.weights, device=device,
                                     progress=progress)
    kept = None
    if m.channel_components is not None:
        cache, kept = channel_pca(cache, m.channel_components)
    return Prepared(stimset, cache, kept, device)


def _data(prep: Prepared, config: NBackConfig, online: bool = False) -> NBackData:
    """The tasks of ``config`` on ``prep``'s stimuli and features; ``online`` runs the
    backbone in the loop."""
    backbone = build_backbone(config.model.backbone, config.model.weights) if online else None
    return build_data(prep.cache, prep.stimset, config.tasks, prep.device, backbone=backbone)


# --------------------------------------------------------------------------- train


@dataclass
class TrainedRun:
    """A trained run in memory: its config, stimuli and features, data and model (eval mode)."""

    run_dir: Path
    config: NBackConfig
    prepared: Prepared
    data: NBackData
    model: SensoryCognitiveModel
    finished: bool = True
    iteration: int = 0


def _checkpoint(run_dir: Path) -> Path:
    return run_dir / "checkpoints" / "last.pt"


def _trained(run_dir: Path) -> bool:
    return _checkpoint(run_dir).exists()


def train_run(config: NBackConfig, run_dir: Path, prep: Prepared, resume: bool = False,
              progress: bool = True) -> tuple[dict[str, Any], TrainedRun]:
    """Train with stimuli and features already prepared; the summary and the trained run."""
    with claimed_run_dir(run_dir, config, resume, _trained):
        return _train_locked(config, run_dir, prep, resume, progress)


def _train_locked(config: NBackConfig, run_dir: Path, prep: Prepared, resume: bool,
                  progress: bool) -> tuple[dict[str, Any], TrainedRun]:
    """Train in a run folder the caller has claimed (:func:`claimed_run_dir`)."""
    data = _data(prep, config, online=config.model.online)
    torch.manual_seed(config.train.seed)
    model = build_model(config.model, config.tasks)
    model.to(prep.device)
    sets = evaluation_sets(data, config.eval.trials_per_task, seed=config.train.seed + 1,
                           splits=prep.stimset.splits)
    trainer = Trainer(
        model, nback_loss(data),
        lambda rng: data.mixture.sample(config.train.batch_size, "train", rng),
        config.train, run_dir,
        evaluate_fn=lambda m: accuracy_rows(m, data, sets),
        criterion_fn=paper_criterion(config.eval.criterion_train, config.eval.criterion_val_angle,
                                     config.eval.criterion_per_task),
        fingerprint=fingerprint(config), progress=progress,
    )
    result = trainer.fit(resume=resume)
    # the summary's accuracies come from fresh trials: the evaluation sets above decided when
    # training stopped, so judging the model on them would be circular
    model.eval()
    fresh = evaluation_sets(data, config.eval.trials_per_task, seed=config.train.seed + 2,
                            splits=prep.stimset.splits)
    held_out = accuracy_rows(model, data, fresh)
    # the null of the accuracy finding: the network as training started it, same trials
    untrained = accuracy_rows(untrained_model(config).to(prep.device), data, fresh)
    summary = {
        "finished": result.finished,
        "accuracy": summary_accuracy(held_out),
        "accuracy_per_task": task_accuracy(held_out),
        "accuracy_per_task_untrained": task_accuracy(untrained),
        "same_category_non_matches": task_accuracy(held_out, "acc_same_category"),
        "accuracy_at_stop": summary_accuracy(trainer.rows),
        "iterations": result.iterations,
        "seconds": round(result.seconds, 2),
        "device": str(prep.device),
        "stopped_early": result.stopped_early,
        "met_criterion": result.criterion_met_at is not None,
        "iterations_to_criterion": result.criterion_met_at,
        "precision": "bfloat16" if trainer.autocast_dtype is not None else "float32",
        "criterion": {"train": config.eval.criterion_train,
                      "val_angle": config.eval.criterion_val_angle,
                      "frames": "executive", "per_task": config.eval.criterion_per_task},
        "model": {"architecture": config.model.architecture,
                  "hidden_size": config.model.hidden_size,
                  "backbone": prep.cache.spec.name, "weights": prep.cache.spec.weights,
                  "parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
                  "channel_variance_kept": prep.channel_variance_kept},
        "regime": config.tasks.regime,
        "missing_splits": [s for s in SPLITS if s not in prep.stimset.splits],
    }
    write_json_atomic(run_dir / "summary.json", summary)
    model.eval()
    # recordings read the feature cache, also when training ran the backbone online
    return summary, TrainedRun(run_dir, config, prep, _data(prep, config) if config.model.online
                               else data, model, finished=result.finished,
                               iteration=result.iterations)


def train(config: NBackConfig, run_dir: str | Path, resume: bool = False,
          progress: bool = True, prepared: Prepared | None = None) -> dict[str, Any]:
    """Train the configured model; write metrics, checkpoints and ``summary.json``."""
    run_dir = Path(run_dir)
    check_config(config, run_dir)
    with claimed_run_dir(run_dir, config, resume, _trained):
        prep = prepared or prepare(config, progress)
        return _train_locked(config, run_dir, prep, resume, progress)[0]


def load_model(run_dir: str | Path, device: str | torch.device = "cpu"
               ) -> SensoryCognitiveModel:
    """The trained model of a run directory (eval mode), without loading its stimuli."""
    run_dir = Path(run_dir)
    config = read_run_config(run_dir, NBackConfig)
    payload = load_checkpoint(_checkpoint(run_dir), fingerprint(config),
                              missing_hint=_train_hint(run_dir))
    model = build_model(config.model, config.tasks)
    load_weights(model, payload, _checkpoint(run_dir))
    return model.to(resolve_device(device)).eval()


def _train_hint(run_dir: Path) -> str:
    return f"train the run first (`wmgeom train --out {run_dir}`)"


def training_finished(payload: dict[str, Any], config: NBackConfig) -> bool:
    """Whether a checkpoint is of a run that reached its end (or stopped at the criterion)."""
    return bool(payload.get("finished", payload.get("iteration", 0) >= config.train.iterations))


def load_trained(run_dir: str | Path, progress: bool = False,
                 prepared: Prepared | None = None) -> TrainedRun:
    """A trained run with its stimuli and features, weights from its checkpoint.

    ``prepared`` reuses stimuli and features already loaded for this run's config.
    """
    run_dir = Path(run_dir)
    config = read_run_config(run_dir, NBackConfig)
    payload = load_checkpoint(_checkpoint(run_dir), fingerprint(config),
                              missing_hint=_train_hint(run_dir))
    if not training_finished(payload, config):
        log.warning("run %s stopped at iteration %d of %d; its recording is of an unfinished "
                    "model (continue it with `wmgeom train --out %s --resume`)", run_dir,
                    payload.get("iteration", 0), config.train.iterations, run_dir)
    model = build_model(config.model, config.tasks)
    load_weights(model, payload, _checkpoint(run_dir))
    prep = prepared or prepare(config, progress)
    model.to(prep.device).eval()
    return TrainedRun(run_dir, config, prep, _data(prep, config), model,
                      finished=training_finished(payload, config),
                      iteration=int(payload.get("iteration", 0)))


# --------------------------------------------------------------------------- record


def untrained_model(config: NBackConfig) -> SensoryCognitiveModel:
    """The network as training starts it: same architecture, size and initial weights."""
    with torch.random.fork_rng(devices=[]):  # the caller's random state stays as it was
        torch.manual_seed(config.train.seed)
        return build_model(config.model, config.tasks).eval()


#: What ``wmgeom record`` and ``wmgeom analyze`` say of a run of another study.
_OTHER_STUDY_HINT = ("a run of another study is recorded and analysed by `wmgeom run --config "
                     "RUN_DIR/config.yaml --out RUN_DIR --resume`")


def record(run: str | Path | TrainedRun, progress: bool = True) -> Path:
    """Record activations of a trained run into ``RUN_DIR/activations.nc`` (and, as the
    analyses' null control, those of the untrained network on the same trials into
    ``RUN_DIR/activations_untrained.nc``).

    Raises:
        WmgeomError: If ``run`` is not a trained N-back run folder, or another process is
            writing it.
    """
    if isinstance(run, TrainedRun):  # the caller holds the run folder
        return _record(run, progress)
    run_dir = Path(run)
    require_run(run_dir, ["nback"], "`wmgeom record`", _OTHER_STUDY_HINT)
    with run_lock(run_dir):
        return _record(load_trained(run_dir, progress), progress)


def _record(trained: TrainedRun, progress: bool) -> Path:
    config, prep = trained.config, trained.prepared
    r = config.record
    tasks = config.tasks.task_names() if r.tasks == "trained" else None
    attrs = {"architecture": config.model.architecture, "regime": config.tasks.regime,
             "hidden_size": config.model.hidden_size, "backbone": prep.cache.spec.name,
             "weights": prep.cache.spec.weights, "profile": config.profile,
             "run": trained.run_dir.name, "config": dump_config(config),
             "training_finished": int(trained.finished),
             "training_iterations": trained.iteration, "network": "trained"}

    def one(model: SensoryCognitiveModel, network: str) -> xr.Dataset:
        return record_activations(
            model, trained.data, tuple(config.tasks.n_values), config.tasks.length,
            r.trials_per_task, tuple(s for s in r.splits if s in prep.stimset.splits), r.seed,
            r.perceptual_components, attrs={**attrs, "network": network}, tasks=tasks)

    path = write_dataset(one(trained.model, "trained"), trained.run_dir / ACTIVATIONS_FILE)
    null_path = trained.run_dir / UNTRAINED_FILE
    if r.untrained_null:
        model = untrained_model(config).to(next(trained.model.parameters()).device)
        write_dataset(one(model, "untrained"), null_path)
    elif null_path.exists():
        null_path.unlink()  # never pair a recording with another configuration's null
    return path


# --------------------------------------------------------------------------- analyse


def model_table(runs: Iterable[str | Path | Recording]) -> pd.DataFrame:
    """One row per run with a training summary: its model, size and accuracies.

    Columns ``model``, ``architecture``, ``regime``, ``run``, ``hidden_size``,
    ``parameters``, ``iterations``, ``met_criterion`` and ``iterations_to_criterion`` (the
    first evaluation at which every task met the paper's criterion; empty for runs trained
    before it was recorded), ``acc_<split>`` (all tasks) and ``acc_<split>_min_task``
    (the worst task), ``acc_untrained_<split>_min_task`` (the worst task of the untrained
    network on the same fresh trials; runs trained before it was recorded lack it),
    ``acc_same_category_<split>`` (identity tasks' same-category non-matches); runs
    without ``summary.json`` are left out.
    """
    rows = []
    for r in runs:
        run_dir = Path(r.name) if isinstance(r, Recording) else Path(r)
        summary = read_json(run_dir / "summary.json", "run summary", "train the run again")
        if not summary.get("accuracy"):
            continue
        rec_model = summary.get("model", {})
        config_path = run_dir / "config.yaml"
        seed = (read_yaml(config_path, "run config").get("train", {}).get("seed")
                if config_path.is_file() else None)
        arch = str(rec_model.get("architecture", "model"))
        regime = str(summary.get("regime", ""))
        row = {"model": model_label(arch, regime), "architecture": arch,
               "regime": regime, "run": str(run_dir),
               "hidden_size": rec_model.get("hidden_size"),
               "parameters": rec_model.get("parameters"),
               "iterations": summary.get("iterations"),
               "seed": seed if isinstance(seed, int) else None,
               "met_criterion": summary.get("met_criterion"),
               "iterations_to_criterion": summary.get("iterations_to_criterion")}
        tasks = [t for per_task in summary.get("accuracy_per_task", {}).values()
                 for t in per_task]
        row["task_family"] = family_name(tasks)
        for split, acc in summary["accuracy"].items():
            if isinstance(acc, int | float):
                row[f"acc_{split}"] = float(acc)
        for split, per_task in summary.get("accuracy_per_task", {}).items():
            row[f"acc_{split}_min_task"] = min(per_task.values())
        for split, per_task in summary.get("accuracy_per_task_untrained", {}).items():
            row[f"acc_untrained_{split}_min_task"] = min(per_task.values())
        for split, per_task in summary.get("same_category_non_matches", {}).items():
            row[f"acc_same_category_{split}"] = float(np.mean(list(per_task.values())))
        rows.append(row)
    table = pd.DataFrame(rows)
    if not table.empty and table["hidden_size"].notna().all():
        sized = sizes_to_label(zip(table["run"], table["architecture"], table["regime"],
                                   table["hidden_size"], strict=True))
        table["model"] = [model_label(a, g, sized.get(r)) for r, a, g in
                          zip(table["run"], table["architecture"], table["regime"], strict=True)]
    return table


def _lazy_model(run_dir: Path):
    """The rollout and step of the run's model, which load it on first use (the causal test
    and the fixed points need it)."""
    model: list[SensoryCognitiveModel] = []

    def get() -> SensoryCognitiveModel:
        if not model:
            model.append(load_model(run_dir))
        return model[0]

    return (lambda state, encodings: get().rollout(state, encodings),
            lambda state, encoding: get().step(state, encoding))


def _cpu_step(model: SensoryCognitiveModel):
    """``model.step`` on CPU tensors (from a CPU copy, made on first use, when the model
    is on another device)."""
    import copy

    if next(model.parameters()).device.type == "cpu":
        return model.step
    on_cpu: list[SensoryCognitiveModel] = []

    def step(state, encoding):
        if not on_cpu:
            on_cpu.append(copy.deepcopy(model).cpu())
        return on_cpu[0].step(state, encoding)

    return step


def load_recording(run_dir: str | Path, model: SensoryCognitiveModel | None = None
                   ) -> Recording:
    """A run directory's recording, with its architecture, regime, a rollout and a step.

    The rollout (for the causal test) and the step (for the fixed points) are ``model``'s
    when given, else ones that load the run's checkpoint on first use; None when the run
    has no checkpoint. The untrained network's recording, when the run has one, is the
    null control (``Recording.null``).

    Raises:
        WmgeomError: If the recording is missing or unreadable, or does not match its run's
            config (:func:`~wmgeom.record.nback.check_recording`).
    """
    run_dir = Path(run_dir)
    path = run_dir / ACTIVATIONS_FILE
    ds = open_dataset(path, f"record activations first (`wmgeom record {run_dir}`)")
    config_path = run_dir / "config.yaml"
    config = read_yaml(config_path, "run config") if config_path.is_file() else {}
    _check_against_config(ds, str(path), config, f"record it again (`wmgeom record {run_dir}`)")
    architecture = ds.attrs.get("architecture") or config.get("model", {}).get("architecture")
    regime = ds.attrs.get("regime") or config.get("tasks", {}).get("regime")
    if model is not None:
        rollout, step = model.rollout, _cpu_step(model)
    elif _checkpoint(run_dir).is_file() and config.get("study", "nback") == "nback":
        rollout, step = _lazy_model(run_dir)
    else:
        rollout = step = None
    null = None
    seed = config.get("train", {}).get("seed")
    seed = int(seed) if isinstance(seed, int) else None
    if (run_dir / UNTRAINED_FILE).is_file():
        fix = f"record it again (`wmgeom record {run_dir}`)"
        null_ds = open_dataset(run_dir / UNTRAINED_FILE, fix)
        _check_against_config(null_ds, str(run_dir / UNTRAINED_FILE), config, fix)
        null = Recording(null_ds, f"{run_dir}#untrained", str(architecture or "model"),
                         str(regime or ""), seed=seed)
    return Recording(ds, str(run_dir), str(architecture or "model"), str(regime or ""),
                     rollout, null, step, seed=seed)


def _check_against_config(ds: Any, where: str, config: Mapping[str, Any], fix: str) -> None:
    """:func:`~wmgeom.record.nback.check_recording` with what the run's ``config.yaml``
    states (a hand-written one may state little)."""
    model = config.get("model") if isinstance(config.get("model"), dict) else {}
    tasks = config.get("tasks") if isinstance(config.get("tasks"), dict) else {}
    architecture = ARCHITECTURES.get(str(model.get("architecture")))
    n_values = tasks.get("n_values")
    check_recording(
        ds, where, hidden_size=model.get("hidden_size"), length=tasks.get("length"),
        cell=architecture.has_cell_state if architecture is not None else None,
        tasks=task_names(n_values) if isinstance(n_values, list) else None, fix=fix)


def _run_folders(runs: list[Any]) -> None:
    """Refuse, before any analysis, a run given twice, a folder that is not an N-back run
    and a run another process is writing."""
    seen: dict[Path, Any] = {}
    for r in runs:
        if isinstance(r, Recording):
            continue
        key = Path(r).resolve()
        if key in seen:
            raise WmgeomError(f"{r} is given twice (as {seen[key]} and {r}); give each run "
                              "once")
        seen[key] = r
        if not Path(r).is_dir():
            require_run(r, ["nback"], "`wmgeom analyze`")
        if run_study(r) not in (None, "nback"):
            require_run(r, ["nback"], "`wmgeom analyze`", _OTHER_STUDY_HINT)
        refuse_if_written(r)
    names = [r.name for r in runs if isinstance(r, Recording)]
    if len(set(names)) != len(names):
        raise WmgeomError(f"two recordings are named alike ({names}); give each run once")


class _Steps:
    """A progress bar over analysis steps, advanced as each next step begins."""

    def __init__(self, enabled: bool, total: int):
        self.bar = progress_bar(total, "analysis", "step", enabled)
        self.started = False

    def __call__(self, label: str) -> None:
        if self.started:
            self.bar.update(1)
        self.started = True
        self.bar.set_postfix_str(label, refresh=False)

    def close(self) -> None:
        self.bar.update(self.bar.total - self.bar.n)
        self.bar.close()


def _analyze_one(run_dir: str, protocol: AnalysisProtocol, selected: list[str],
                 size: int | None = None) -> dict[str, pd.DataFrame]:
    """:func:`run_analyses` of one run directory (in a worker process, one thread: the
    workers fill the cores, and BLAS threads beside them only wait on each other); ``size``
    names the hidden size in the model's label (:func:`label_sizes`)."""
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    rec = load_recording(run_dir)
    rec = rec.with_size(size) if size is not None else rec
    with threadpool_limits(1):
        return run_analyses([rec], protocol, selected)


def _analyze_in_parallel(paths: list[Path], protocol: AnalysisProtocol, selected: list[str],
                         jobs: int, progress: bool, sizes: list[int | None]
                         ) -> dict[str, pd.DataFrame]:
    """The tables of :func:`run_analyses` over ``paths``, one recording per worker."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ctx = multiprocessing.get_context("spawn")
    bar = progress_bar(len(paths), "analysis", "run", progress)
    try:
        with ProcessPoolExecutor(max_workers=min(jobs, len(paths)), mp_context=ctx) as pool:
            futures = [pool.submit(_analyze_one, str(p), protocol, selected, size)
                       for p, size in zip(paths, sizes, strict=True)]
            parts = []
            for fut in futures:  # in run order, so the tables are too
                parts.append(fut.result())
                bar.update(1)
    finally:
        bar.close()
    return merge_tables(parts, selected)


def analyze(
    runs: Iterable[str | Path | Recording],
    out_dir: str | Path | None = None,
    protocol: AnalysisProtocol | dict | None = None,
    analyses: Iterable[str] | None = None,
    figures: bool = True,
    progress: bool = True,
    jobs: int = 1,
) -> dict[str, pd.DataFrame]:
    """Run every declared analysis the recordings allow; write tables and figures.

    Args:
        runs: Run directories (each with ``activations.nc`` and ``config.yaml``) or
            :class:`~wmgeom.studies.nback.analysis.Recording` objects. Several runs (e.g. the
            3 architectures × 3 regimes grid) are compared in the figures.
        out_dir: Where ``analysis/`` (CSV tables, ``protocol.json``) and ``figures/`` go;
            the first run directory by default.
        protocol: Decoding protocol (an :class:`AnalysisProtocol` or its fields as a dict);
            by default :meth:`AnalysisProtocol.for_profile` of the first run's profile.
        analyses: Names of analyses to run (default all).
        figures: Draw the figures too.
        progress: Show a progress bar over the analyses.
        jobs: Worker processes analysing run directories in parallel, one recording each
            (the tables are the same as with 1; ``Recording`` objects are analysed in
            this process).

    Returns:
        The tables of :func:`~wmgeom.studies.nback.analyses.run_analyses`.

    Raises:
        WmgeomError: If no run is given, a run is given twice, is not an N-back run or is
            being written by another process, a recording cannot be read or does not match
            its run, the output folder cannot be written (:func:`check_writable`), or an
            analysis name is unknown — all before any analysis.
    """
    runs = list(runs)
    if not runs:
        raise WmgeomError("no run directory given; pass at least one RUN_DIR")
    _run_folders(runs)
    if out_dir is not None:
        check_out_dir(Path(out_dir))
    base = Path(out_dir) if out_dir is not None else (
        Path(runs[0].name) if isinstance(runs[0], Recording) else Path(runs[0]))
    check_writable(base)
    owner = run_study(base)
    if owner not in (None, "nback", "nback-grid"):
        require_run(base, ["nback", "nback-grid"], "`wmgeom analyze --out`")
    analysed = {Path(r.name if isinstance(r, Recording) else r).resolve() for r in runs}
    if owner == "nback" and base.resolve() not in analysed:
        raise WmgeomError(f"--out {base} holds another run, whose analysis would be replaced "
                          "by that of these runs; choose a new folder or one of the runs "
                          "analysed")
    select_analyses(analyses)  # an unknown name, before any loading
    with run_lock(base):
        return analyze_held(runs, base, protocol, analyses, figures, progress, jobs)


def analyze_held(runs: list[Any], base: Path, protocol: AnalysisProtocol | dict | None,
                 analyses: Iterable[str] | None, figures: bool, progress: bool, jobs: int,
                 excluded: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """:func:`analyze` into ``base``, a folder the caller holds already (:func:`run_lock`:
    a run's own folder, or a grid's), without the checks of its arguments. ``excluded``
    (columns ``run``, ``model``, ``reason``): runs left out of the analysis, written as the
    ``excluded`` table for the report."""
    recordings = label_sizes([r if isinstance(r, Recording) else load_recording(r)
                              for r in runs])
    profile = recordings[0].activations.attrs.get("profile")
    if profile is None and not isinstance(runs[0], Recording):
        path = Path(runs[0]) / "config.yaml"
        profile = read_yaml(path, "run config").get("profile") if path.is_file() else None
    protocol = resolve_protocol(protocol, profile)
    selected = [a.name for a in select_analyses(analyses)]
    paths = [None if isinstance(r, Recording) else Path(r) for r in runs]
    if jobs > 1 and len(recordings) > 1 and all(p is not None for p in paths):
        tables = _analyze_in_parallel(paths, protocol, selected, jobs, progress,
                                      [r.size for r in recordings])
    else:
        declared = [a for a in select_analyses(selected) if a.compute is not None]
        steps = _Steps(progress, sum(1 + (a.untrained_null and r.null is not None)
                                     for a in declared for r in recordings))
        try:
            tables = run_analyses(recordings, protocol, selected, on_step=steps)
        finally:
            steps.close()
    for folder in (base / "analysis", base / "figures"):
        clean_stale_temporaries(folder)
    models = model_table(runs)
    if not models.empty:
        tables["models"] = models
    if excluded is not None and not excluded.empty:
        tables["excluded"] = excluded
    tables["findings"] = findings({**tables, "models": models})
    if figures:
        tables["timing"] = pd.concat([tables["timing"], draw_figures(tables, base / "figures")],
                                     ignore_index=True)
    write_tables(tables, base / "analysis")
    write_json_atomic(base / "analysis" / "protocol.json",
                      {**asdict(protocol), "runs": [r.name for r in recordings],
                       "analyses": selected})
    return tables


def report(run_dir: str | Path) -> Path:
    """Write ``RUN_DIR/report.html`` from the analysis tables, checked first
    (:func:`~wmgeom.studies.base.check_tables`): an edited or damaged table is one line."""
    run_dir = Path(run_dir)
    check_tables(run_dir / "analysis", "run `wmgeom analyze` again")
    return write_report(run_dir)


def skipped_lines(tables: dict[str, pd.DataFrame]) -> list[str]:
    """One line per analysis a recording could not support: ``name (model): reason``."""
    skipped = tables.get("skipped")
    if skipped is None or skipped.empty:
        return []
    return [f"{r['analysis']} ({r['model']}): {r['reason']}" for _, r in skipped.iterrows()]


# --------------------------------------------------------------------------- the chain


def run(config: NBackConfig, run_dir: str | Path, resume: bool = False,
        progress: bool = True, with_analysis: bool = True) -> dict[str, Any]:
    """Everything: stimuli, features, training, recording, analyses and the report."""
    run_dir = Path(run_dir)
    start = time.perf_counter()
    check_config(config, run_dir)  # before any loading or writing
    with claimed_run_dir(run_dir, config, resume, _trained):
        prep = prepare(config, progress)  # stimuli and features once, for every stage
        summary, trained = _train_locked(config, run_dir, prep, resume, progress)
        _record(trained, progress)
        if with_analysis:
            tables = analyze_held([load_recording(run_dir, trained.model)], run_dir, None, None,
                              True, progress, 1)
            summary["skipped_analyses"] = skipped_lines(tables)
            report(run_dir)
        summary["total_seconds"] = round(time.perf_counter() - start, 2)
        write_json_atomic(run_dir / "summary.json", summary)
    return summary
