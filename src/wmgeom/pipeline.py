"""The N-back study end to end: stimuli → features → training → recording (SPEC U1).

Each stage is a function over a run directory, so the CLI's sub-commands and
``wmgeom run`` call the same code. A run directory holds ``config.yaml`` (resolved),
``metrics.csv``, ``checkpoints/``, ``tensorboard/``, ``activations.nc``,
``summary.json`` and, after analysis, ``analysis/``, ``figures/`` and ``report.html``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from wmgeom.config import RunConfig, dump_config, load_config
from wmgeom.devices import resolve_device
from wmgeom.errors import WmgeomError
from wmgeom.io import content_key, write_json_atomic, write_text_atomic
from wmgeom.models.features import FeatureCache, channel_pca, load_or_compute_features
from wmgeom.record import record_activations, write_activations
from wmgeom.train.checkpoint import load_checkpoint
from wmgeom.train.nback import (
    accuracy_rows,
    build_data,
    build_model,
    evaluation_sets,
    nback_loss,
    paper_criterion,
    summary_accuracy,
)
from wmgeom.train.trainer import Trainer


@dataclass
class Prepared:
    """Stimuli and the features the model reads, ready for training or recording."""

    config: RunConfig
    stimset: Any
    cache: FeatureCache
    channel_variance_kept: float | None
    device: torch.device


def fingerprint(config: RunConfig) -> str:
    """What a checkpoint must match to be resumed: everything but the device."""
    return content_key(config.model_dump(mode="json", exclude={"device"}))


def prepare(config: RunConfig, progress: bool = True) -> Prepared:
    """Render (or load) the stimuli and compute (or load) the feature cache."""
    from wmgeom.stimuli.stimset import load_or_render

    device = resolve_device(config.device)
    stimset = load_or_render(config.stimuli, progress=progress)
    m = config.model
    if m.online and m.channel_components is not None:
        raise WmgeomError("model.online runs the backbone in the loop and cannot use "
                          "model.channel_components; set it to null.")
    cache = load_or_compute_features(stimset, m.backbone, m.weights, device=device,
                                     progress=progress)
    kept = None
    if m.channel_components is not None:
        cache, kept = channel_pca(cache, m.channel_components)
    return Prepared(config, stimset, cache, kept, device)


def _online_backbone(config: RunConfig):
    """The backbone to run in the loop when ``model.online`` is set, else None."""
    if not config.model.online:
        return None
    from wmgeom.models.backbones import build_backbone

    return build_backbone(config.model.backbone, config.model.weights)


def _read_run_config(run_dir: Path) -> RunConfig:
    path = run_dir / "config.yaml"
    if not path.is_file():
        raise WmgeomError(f"{run_dir} is not a wmgeom run directory (no config.yaml); "
                          "start one with `wmgeom train --out DIR` or `wmgeom run --out DIR`.")
    return load_config(path)


def init_run_dir(run_dir: Path, config: RunConfig, resume: bool) -> None:
    """Save the resolved config; refuse to mix two configurations in one directory."""
    path = run_dir / "config.yaml"
    if path.is_file():
        old = load_config(path)
        if fingerprint(old) != fingerprint(config):
            raise WmgeomError(
                f"{run_dir} holds a run with a different configuration; use its config.yaml "
                "(--config RUN_DIR/config.yaml) to resume it, or choose another --out."
            )
        if not resume and (run_dir / "checkpoints" / "last.pt").exists():
            raise WmgeomError(f"{run_dir} already holds a trained run; pass --resume to "
                              "continue it, or choose another --out.")
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, dump_config(config))


def train(config: RunConfig, run_dir: str | Path, resume: bool = False,
          progress: bool = True, prepared: Prepared | None = None) -> dict[str, Any]:
    """Train the configured model; write metrics, checkpoints and ``summary.json``."""
    run_dir = Path(run_dir)
    init_run_dir(run_dir, config, resume)
    prep = prepared or prepare(config, progress)
    data = build_data(prep.cache, prep.stimset, config.tasks, prep.device,
                      backbone=_online_backbone(config))
    torch.manual_seed(config.train.seed)
    model = build_model(data, config.model)
    model.to(prep.device)
    sets = evaluation_sets(data, config.eval.trials_per_task, seed=config.train.seed + 1)
    trainer = Trainer(
        model, nback_loss(data),
        lambda rng: data.mixture.sample(config.train.batch_size, "train", rng),
        config.train, run_dir,
        evaluate_fn=lambda m: accuracy_rows(m, data, sets),
        criterion_fn=paper_criterion(config.eval.criterion_train, config.eval.criterion_val_angle),
        fingerprint=fingerprint(config), progress=progress,
    )
    result = trainer.fit(resume=resume)
    summary = {
        "accuracy": summary_accuracy(trainer.rows),
        "iterations": result.iterations,
        "seconds": round(result.seconds, 2),
        "device": str(prep.device),
        "stopped_early": result.stopped_early,
        "criterion": {"train": config.eval.criterion_train,
                      "val_angle": config.eval.criterion_val_angle,
                      "frames": "executive"},
        "model": {"architecture": config.model.architecture,
                  "hidden_size": config.model.hidden_size,
                  "backbone": prep.cache.spec.name, "weights": prep.cache.spec.weights,
                  "parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
                  "channel_variance_kept": prep.channel_variance_kept},
        "regime": config.tasks.regime,
    }
    write_json_atomic(run_dir / "summary.json", summary)
    return summary


def load_trained(run_dir: str | Path, progress: bool = False,
                 prepared: Prepared | None = None):
    """``(config, prepared, data, model)`` of a trained run, weights from its checkpoint.

    ``prepared`` reuses stimuli and features already loaded for this run's config.
    """
    run_dir = Path(run_dir)
    config = _read_run_config(run_dir)
    payload = load_checkpoint(run_dir / "checkpoints" / "last.pt", fingerprint(config))
    prep = prepared or prepare(config, progress)
    data = build_data(prep.cache, prep.stimset, config.tasks, prep.device)
    model = build_model(data, config.model)
    model.load_state_dict(payload["model"])
    model.to(prep.device).eval()
    return config, prep, data, model


def load_run_model(run_dir: str | Path):
    """The trained model of a run directory (eval mode), e.g. for causal perturbation."""
    return load_trained(run_dir)[3]


def record(run_dir: str | Path, progress: bool = True,
           prepared: Prepared | None = None) -> Path:
    """Record activations of a trained run into ``RUN_DIR/activations.nc``."""
    run_dir = Path(run_dir)
    config, prep, data, model = load_trained(run_dir, progress, prepared)
    r = config.record
    ds = record_activations(
        model, data, tuple(config.tasks.n_values), config.tasks.length, r.trials_per_task,
        tuple(r.splits), r.seed, r.perceptual_components,
        attrs={"architecture": config.model.architecture, "regime": config.tasks.regime,
               "hidden_size": config.model.hidden_size, "backbone": prep.cache.spec.name,
               "weights": prep.cache.spec.weights, "profile": config.profile,
               "run": run_dir.name, "config": dump_config(config)},
    )
    return write_activations(ds, run_dir / "activations.nc")


def run(config: RunConfig, run_dir: str | Path, resume: bool = False,
        progress: bool = True, analyze: bool = True) -> dict[str, Any]:
    """Everything: stimuli, features, training, recording, analyses and the report."""
    run_dir = Path(run_dir)
    start = time.perf_counter()
    prep = prepare(config, progress)  # stimuli and features once, for training and recording
    summary = train(config, run_dir, resume=resume, progress=progress, prepared=prep)
    record(run_dir, progress=progress, prepared=prep)
    if analyze:
        from wmgeom.analysis.pipeline import analyze_runs
        from wmgeom.report import write_report

        analyze_runs([run_dir], progress=progress)
        write_report(run_dir)
    summary["total_seconds"] = round(time.perf_counter() - start, 2)
    write_json_atomic(run_dir / "summary.json", summary)
    return summary
