"""The two-orientation study of Cueva et al. 2021 end to end.

For every training condition (firing-rate noise level, with or without the ordinal output)
a :class:`~wmgeom.models.ctrnn.CTRNN` is trained on the
:class:`~wmgeom.tasks.orientation.TwoOrientationTask` with the shared
:class:`~wmgeom.train.trainer.Trainer`; it is then recorded on evaluation trials (with
noise, as behaviour) and on a noise-free θ1 × θ2 grid (for the manifold), and so is the
same network untrained (:func:`untrained_network`, the null control), on the same trials.
Every two-orientation analysis runs on the trained network, on the untrained one and on the
trained one's recordings with shuffled orientations
(:func:`wmgeom.analysis.orientation.analyze_networks`); the findings of Cueva et al. 2021 are
judged from the numbers of the three (:mod:`wmgeom.studies.orientation_findings`), and the
report draws its figures from the tables. Layout of the run directory::

    config.yaml                      resolved config (study: two-orientation)
    summary.json                     median_error_deg (default condition) + per condition
    conditions/<name>/train/         metrics.csv, checkpoints/, tensorboard/
    conditions/<name>/activations.nc evaluation trials: rates, outputs, inputs, θ1, θ2, W
    conditions/<name>/grid.nc        noise-free grid trials, same variables
    conditions/<name>/activations_untrained.nc, grid_untrained.nc
                                     the untrained network on the same trials
    analysis/findings.csv            the findings, each against its nulls
    analysis/measures.csv            every number: trained, untrained, shuffled
    analysis/*.csv                   tables (one condition column); *_null.csv: the
                                     untrained network's
    figures/*.png, *.svg             figures
    report.html                      the report

All defaults are documented in ``docs/orientation.md``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
from pydantic import Field, field_validator, model_validator

from wmgeom.analysis import behaviour
from wmgeom.analysis.orientation import (
    OrientationAnalysisConfig,
    analyze_networks,
    measures_table,
)
from wmgeom.config import StrictModel
from wmgeom.config import load_config as _load_config
from wmgeom.config import make_config as _make_config
from wmgeom.devices import resolve_device
from wmgeom.io import content_key, write_dataset, write_json_atomic
from wmgeom.models.ctrnn import CTRNN, CTRNNConfig, orientation_loss, run_trials
from wmgeom.record.orientation import record_orientation
from wmgeom.report.orientation import draw_figures, write_report
from wmgeom.studies import base
from wmgeom.studies.base import claimed_run_dir
from wmgeom.studies.orientation_findings import FINDINGS, findings
from wmgeom.tasks.orientation import OrientationTaskConfig, TwoOrientationTask, report_outputs
from wmgeom.train.trainer import TrainConfig, Trainer, TrainResult
from wmgeom.validation import Seed

__all__ = ["PROFILES", "Condition", "OrientationConfig", "load_config", "make_config",
           "report", "run", "train_condition", "untrained_network"]


class Condition(StrictModel):
    """One training condition: a firing-rate noise level, with or without the ordinal output."""

    name: str
    rate_noise: float = Field(ge=0)
    ordinal: bool = False

    @field_validator("name")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", v):
            raise ValueError(f"condition name {v!r} may only hold letters, digits, '-', '_', '.'")
        return v


def _default_conditions() -> list[Condition]:
    return [
        Condition(name="low-noise", rate_noise=0.05),
        Condition(name="high-noise", rate_noise=0.2),
        Condition(name="high-noise-ordinal", rate_noise=0.2, ordinal=True),
    ]


def _default_train() -> TrainConfig:
    return TrainConfig(optimizer="adam", lr=3e-3, batch_size=64, iterations=400,
                       milestones=[300], gamma=0.3, grad_clip=1.0, eval_every=100,
                       checkpoint_every=100)


class OrientationConfig(StrictModel):
    """Config of the two-orientation study (``study: two-orientation``).

    ``conditions`` override ``model.rate_noise`` and ``task.ordinal`` per condition;
    ``default_condition`` names the one whose error is ``summary.json``'s
    ``median_error_deg``.
    """

    study: Literal["two-orientation"] = "two-orientation"
    profile: Literal["quick", "paper"] = "quick"
    seed: Seed = 0
    device: str = Field("cpu", description="torch device; 'auto' picks CUDA when present")
    torch_threads: int | None = Field(
        1, ge=1, description="CPU threads while the study runs (None: leave torch's setting)"
    )
    task: OrientationTaskConfig = Field(default_factory=OrientationTaskConfig)
    model: CTRNNConfig = Field(default_factory=lambda: CTRNNConfig(n_units=64))
    train: TrainConfig = Field(default_factory=_default_train)
    conditions: list[Condition] = Field(default_factory=_default_conditions, min_length=1)
    default_condition: str = "low-noise"
    analysis: OrientationAnalysisConfig = Field(default_factory=OrientationAnalysisConfig)

    @model_validator(mode="after")
    def _check(self) -> OrientationConfig:
        names = [c.name for c in self.conditions]
        if len(set(names)) != len(names):
            raise ValueError(f"condition names must be unique, got {names}")
        if self.default_condition not in names:
            raise ValueError(
                f"default_condition {self.default_condition!r} is not one of the conditions {names}"
            )
        if self.model.n_units < 2:
            raise ValueError(f"model.n_units = {self.model.n_units}: the analyses (coding "
                             "planes, torus, topology) need at least 2 units")
        if abs(self.task.dt - self.model.dt) > 1e-9:
            raise ValueError(
                f"task.dt ({self.task.dt}) and model.dt ({self.model.dt}) must be equal"
            )
        return self


PROFILES: dict[str, dict[str, Any]] = {
    "quick": {},
    "paper": {
        "device": "auto",
        "model": {"n_units": 256},
        "train": {"batch_size": 128, "iterations": 5000, "milestones": [4000],
                  "eval_every": 250, "checkpoint_every": 250},
        "task": {"stimulus": 200, "delay1_min": 300, "delay1_max": 600, "delay2_min": 300,
                 "delay2_max": 600, "report": 200},
        "conditions": [
            {"name": f"noise{n}{'-ordinal' if o else ''}", "rate_noise": n, "ordinal": o}
            for o in (False, True)
            for n in (0.05, 0.1, 0.2)
        ],
        "default_condition": "noise0.05",
        "analysis": {"n_eval_trials": 2000, "n_grid": 20, "topology_points": 250},
    },
}
"""Named profiles: ``quick`` (2 CPU cores, minutes) and ``paper`` (larger, GPU-friendly)."""


def make_config(profile: str = "quick", overrides: Mapping[str, Any] | None = None
                ) -> OrientationConfig:
    """The profile's study config with ``overrides`` (nested dict) applied and validated."""
    return _make_config(OrientationConfig, PROFILES, profile, overrides)


def load_config(path: str | Path | None = None, profile: str | None = None
                ) -> OrientationConfig:
    """Profile (argument, else the file's ``profile``, else quick) + the YAML file's keys."""
    return _load_config(OrientationConfig, PROFILES, path, profile)


# --------------------------------------------------------------------------- stages


def untrained_network(config: OrientationConfig, condition: Condition,
                      task: TwoOrientationTask) -> CTRNN:
    """The network of ``condition`` as training starts it (same size, configuration, noise
    and initial weights, seeded by ``config.seed``): the trained network's null control.
    The caller's random state stays as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return CTRNN(task.n_inputs, task.n_outputs, config.model,
                     rate_noise=condition.rate_noise).eval()


def train_condition(config: OrientationConfig, condition: Condition, run_dir: Path,
                    progress: bool = True, resume: bool = False
                    ) -> tuple[TwoOrientationTask, CTRNN, TrainResult]:
    """Train one condition with the shared trainer; return the task, model and result.

    Every evaluation reports the behaviour (:func:`wmgeom.analysis.behaviour.error_summary`)
    on 256 fixed noisy trials.
    """
    task = TwoOrientationTask(config.task, ordinal=condition.ordinal)
    model = untrained_network(config, condition, task).to(resolve_device(config.device))
    eval_batch = task.sample(256, np.random.default_rng(config.seed + 1), fixed_delays=True)
    bs = config.train.batch_size

    def evaluate_fn(m: CTRNN) -> list[dict[str, Any]]:
        res = run_trials(m, eval_batch.inputs, noise=True, seed=config.seed)
        rep = report_outputs(res["outputs"], eval_batch.mask)
        r1, r2 = behaviour.reports_from_outputs(rep)
        ordinal = rep[:, 4] if task.config.ordinal else None
        return [{"split": "eval", **behaviour.error_summary(
            eval_batch.theta1, eval_batch.theta2, r1, r2, ordinal)}]

    fingerprint = content_key({
        "study": config.model_dump(mode="json", exclude={"conditions", "analysis"}),
        "condition": condition.model_dump(),
    })
    trainer = Trainer(model, orientation_loss, lambda rng: task.sample(bs, rng), config.train,
                      run_dir, evaluate_fn=evaluate_fn, fingerprint=fingerprint,
                      progress=progress)
    result = trainer.fit(resume=resume)
    model.eval()
    return task, model, result


def _with_condition(table: pd.DataFrame, name: str, **columns: Any) -> pd.DataFrame:
    """``table`` with a first ``condition`` column (and ``columns`` after it)."""
    front = {"condition": name, **columns}
    return pd.concat([pd.DataFrame(front, index=table.index), table], axis=1)


def write_tables(analysis_dir: Path, results: dict[str, dict[str, dict[str, Any]]],
                 conditions: list[Condition]) -> dict[str, pd.DataFrame]:
    """Write every condition's tables, concatenated with a ``condition`` column, as CSV.

    Args:
        analysis_dir: Output folder.
        results: Per condition, :func:`~wmgeom.analysis.orientation.analyze_networks`.
        conditions: The conditions (noise level and ordinal output of each).

    Returns:
        The tables: ``conditions`` (the trained networks' numbers), ``measures`` (every
        number beside its nulls), each analysis table of the trained networks and, as
        ``<name>_null``, of the untrained ones, and ``findings``.
    """
    trained = {n: r["trained"] for n, r in results.items()}
    tables = {"conditions": behaviour.compare_conditions(
        {n: r["numbers"] for n, r in trained.items()}).reset_index()}
    spec = {c.name: c for c in conditions}
    tables["measures"] = pd.concat(
        [_with_condition(measures_table(r), n, rate_noise=spec[n].rate_noise,
                         ordinal=int(spec[n].ordinal)) for n, r in results.items()],
        ignore_index=True)
    for network, suffix in (("trained", ""), ("untrained", "_null")):
        if not all(network in r for r in results.values()):
            continue
        for key in next(iter(results.values()))[network]["tables"]:
            tables[key + suffix] = pd.concat(
                [_with_condition(r[network]["tables"][key], n) for n, r in results.items()],
                ignore_index=True)
    tables["findings"] = findings(tables)
    base.write_tables(tables, analysis_dir)
    return tables


def report(run_dir: str | Path) -> Path:
    """Write ``RUN_DIR/report.html`` from the summary and analysis tables, checked first
    (:func:`~wmgeom.studies.base.check_tables`): an edited or damaged table is one line."""
    run_dir = Path(run_dir)
    base.check_tables(run_dir / "analysis", "run the study again (`wmgeom run --config "
                      f"{run_dir}/config.yaml --out {run_dir} --resume`)")
    return write_report(run_dir, FINDINGS)


def run(config: OrientationConfig, run_dir: str | Path, resume: bool = False,
        progress: bool = True) -> dict[str, Any]:
    """Train, record and analyse every condition; write tables, figures, summary, report."""
    threads = torch.get_num_threads()
    if config.torch_threads is not None:
        # The network's matrices are tiny: extra threads only add contention.
        torch.set_num_threads(config.torch_threads)
    try:
        return _run(Path(run_dir), config, progress, resume)
    finally:
        torch.set_num_threads(threads)


def _trained(out: Path) -> bool:
    return any(out.glob("conditions/*/train/checkpoints/last.pt"))


def _run(out: Path, config: OrientationConfig, progress: bool, resume: bool) -> dict:
    # a run of the same configuration may be repeated (it trains again unless resuming);
    # one of another study or configuration is refused once the folder holds a result
    with claimed_run_dir(out, config, resume=True, trained=_trained):
        return _run_claimed(out, config, progress, resume)


def _run_claimed(out: Path, config: OrientationConfig, progress: bool, resume: bool) -> dict:
    t0 = time.perf_counter()
    results, per_condition = {}, {}
    for cond in config.conditions:
        cdir = out / "conditions" / cond.name
        task, model, res = train_condition(config, cond, cdir / "train", progress, resume)
        attrs = {"condition": cond.name, "rate_noise": cond.rate_noise,
                 "ordinal": int(cond.ordinal), "config": json.dumps(config.model_dump(mode="json"))}
        rng = np.random.default_rng(config.seed + 2)
        eval_batch = task.sample(config.analysis.n_eval_trials, rng, fixed_delays=True)
        t1, t2 = task.grid(config.analysis.n_grid)
        grid_batch = task.sample(len(t1), rng, t1, t2, fixed_delays=True, input_noise=False)
        untrained = untrained_network(config, cond, task).to(next(model.parameters()).device)
        recorded = {}
        for network, net, suffix in (("trained", model, ""), ("untrained", untrained,
                                                              "_untrained")):
            a = {**attrs, "network": network}
            recorded[network] = (
                record_orientation(net, task, eval_batch, noise=True, seed=config.seed,
                                   attrs=a),
                record_orientation(net, task, grid_batch, noise=False, attrs=a))
            write_dataset(recorded[network][0], cdir / f"activations{suffix}.nc")
            write_dataset(recorded[network][1], cdir / f"grid{suffix}.nc")
        results[cond.name] = analyze_networks(*recorded["trained"], config.analysis,
                                              cond.ordinal, untrained=recorded["untrained"],
                                              seed=config.seed)
        per_condition[cond.name] = {"rate_noise": cond.rate_noise, "ordinal": cond.ordinal,
                                    "iterations": res.iterations, "train_seconds": res.seconds,
                                    **results[cond.name]["trained"]["numbers"]}
    tables = write_tables(out / "analysis", results, config.conditions)
    draw_figures(out / "figures", tables, config.default_condition)
    summary = {
        "study": "two-orientation",
        "default_condition": config.default_condition,
        "median_error_deg": per_condition[config.default_condition]["median_error_deg"],
        "seconds": time.perf_counter() - t0,
        "conditions": per_condition,
    }
    write_json_atomic(out / "summary.json", summary)
    report(out)
    return summary
