"""The two-orientation study of seed 001, end to end (SPEC T4, M4, A9, U1).

For every training condition (firing-rate noise level, with or without the ordinal output)
a :class:`~wmgeom.models.ctrnn.CTRNN` is trained on the
:class:`~wmgeom.tasks.orientation.TwoOrientationTask` with the shared
:class:`~wmgeom.train.trainer.Trainer`; it is then recorded on evaluation trials (with
noise, as behaviour) and on a noise-free θ1 × θ2 grid (for the manifold), and every A9
analysis runs on the recordings. Layout of ``out_dir``::

    config.yaml                      resolved config (study: two-orientation)
    summary.json                     median_error_deg (default condition) + per condition
    conditions/<name>/train/         metrics.csv, checkpoints/, tensorboard/
    conditions/<name>/activations.nc evaluation trials: rates, outputs, inputs, θ1, θ2, W
    conditions/<name>/grid.nc        noise-free grid trials, same variables
    analysis/*.csv                   tables
    figures/*.png, *.svg             figures
    report.html                      the report

All defaults are documented in ``docs/orientation.md``.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from wmgeom.analysis import behaviour, connectivity, dynamics, manifold, topology
from wmgeom.devices import resolve_device
from wmgeom.errors import WmgeomError
from wmgeom.io import atomic_path, content_key, write_json_atomic, write_text_atomic
from wmgeom.models.ctrnn import CTRNN, CTRNNConfig, orientation_loss
from wmgeom.tasks.orientation import EPOCHS, OrientationTaskConfig, TwoOrientationTask
from wmgeom.train.trainer import TrainConfig, Trainer


class Condition(BaseModel):
    """One training condition: a firing-rate noise level, with or without the ordinal output."""

    model_config = ConfigDict(extra="forbid")

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


class AnalysisSettings(BaseModel):
    """Sizes and thresholds of the A9 analyses (see ``docs/orientation.md``)."""

    model_config = ConfigDict(extra="forbid")

    n_eval_trials: int = Field(512, ge=20, description="noisy evaluation trials per condition")
    n_grid: int = Field(16, ge=3, description="orientations per item on the noise-free grid")
    topology_points: int = Field(150, ge=10, description="greedy landmarks for ripser")
    betti_rel_threshold: float = Field(0.3, gt=0, lt=1)
    tuning_bins: int = Field(8, ge=3)
    min_r2: float = Field(0.1, ge=0, le=1, description="tuned-unit criterion")
    max_corr: float = Field(0.5, ge=-1, le=1, description="changed-tuning criterion")
    connectivity_bins: int = Field(12, ge=4)
    decoding_alpha: float = Field(1.0, gt=0)
    decoding_folds: int = Field(5, ge=2)
    repulsion_max_diff: float = Field(90.0, gt=0, le=90)


def _default_train() -> TrainConfig:
    return TrainConfig(
        optimizer="adam",
        lr=3e-3,
        batch_size=64,
        iterations=400,
        milestones=[300],
        gamma=0.3,
        grad_clip=1.0,
        eval_every=100,
        checkpoint_every=100,
    )


class OrientationStudyConfig(BaseModel):
    """Config of the two-orientation study (``study: two-orientation``; SPEC U2).

    ``conditions`` override ``model.rate_noise`` and ``task.ordinal`` per condition;
    ``default_condition`` names the one whose error is ``summary.json``'s
    ``median_error_deg``.
    """

    model_config = ConfigDict(extra="forbid")

    study: Literal["two-orientation"] = "two-orientation"
    profile: Literal["quick", "paper"] = "quick"
    seed: int = 0
    device: str = Field("cpu", description="torch device; 'auto' picks CUDA when present")
    torch_threads: int | None = Field(
        1, ge=1, description="CPU threads while the study runs (None: leave torch's setting)"
    )
    task: OrientationTaskConfig = Field(default_factory=OrientationTaskConfig)
    model: CTRNNConfig = Field(default_factory=lambda: CTRNNConfig(n_units=64))
    train: TrainConfig = Field(default_factory=_default_train)
    conditions: list[Condition] = Field(default_factory=_default_conditions, min_length=1)
    default_condition: str = "low-noise"
    analysis: AnalysisSettings = Field(default_factory=AnalysisSettings)

    @model_validator(mode="after")
    def _check(self) -> OrientationStudyConfig:
        names = [c.name for c in self.conditions]
        if len(set(names)) != len(names):
            raise ValueError(f"condition names must be unique, got {names}")
        if self.default_condition not in names:
            raise ValueError(
                f"default_condition {self.default_condition!r} is not one of the conditions {names}"
            )
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
        "train": {
            "batch_size": 128,
            "iterations": 5000,
            "milestones": [4000],
            "eval_every": 250,
            "checkpoint_every": 250,
        },
        "task": {
            "stimulus": 200,
            "delay1_min": 300,
            "delay1_max": 600,
            "delay2_min": 300,
            "delay2_max": 600,
            "report": 200,
        },
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


def make_study_config(
    profile: str = "quick", overrides: dict[str, Any] | None = None
) -> OrientationStudyConfig:
    """The profile's study config with ``overrides`` (nested dict) applied and validated."""
    from wmgeom.config import deep_merge, format_validation_error

    if profile not in PROFILES:
        raise WmgeomError(f"unknown profile '{profile}'; choose one of {', '.join(PROFILES)}")
    data = deep_merge(OrientationStudyConfig().model_dump(mode="json"), PROFILES[profile])
    data = deep_merge(data, {"profile": profile, **(overrides or {})})
    try:
        return OrientationStudyConfig.model_validate(data)
    except ValidationError as exc:
        raise WmgeomError(format_validation_error(exc)) from None


def load_study_config(
    path: str | Path | None = None, profile: str | None = None
) -> OrientationStudyConfig:
    """Profile (argument, else the file's ``profile``, else quick) + the YAML file's keys."""
    from wmgeom.config import read_yaml

    data = read_yaml(path) if path else {}
    if data.get("study", "two-orientation") != "two-orientation":
        raise WmgeomError(
            f"config file {path} is for study {data['study']!r}, not 'two-orientation'; "
            "drop --study two-orientation or pass a two-orientation config"
        )
    profile = profile or data.pop("profile", None) or "quick"
    data.pop("profile", None)
    return make_study_config(profile, data)


# --------------------------------------------------------------------------- building blocks


def build_condition(config: OrientationStudyConfig, condition: Condition):
    """Task and freshly initialised model (seeded by ``config.seed``) of one condition."""
    task = TwoOrientationTask(config.task, ordinal=condition.ordinal)
    torch.manual_seed(config.seed)
    model = CTRNN(task.n_inputs, task.n_outputs, config.model, rate_noise=condition.rate_noise)
    return task, model.to(resolve_device(config.device))


def report_outputs(outputs: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Outputs averaged over each trial's report epoch (``mask``): ``[B, n_outputs]``."""
    m = mask[..., :1]
    return (outputs * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1)


def run_trials(model: CTRNN, batch, noise: bool, seed: int = 0) -> dict[str, np.ndarray]:
    """Run ``model`` on a batch: ``rates [B, T, N]``, ``outputs [B, T, n_out]`` (numpy)."""
    device = next(model.parameters()).device
    gen = torch.Generator(device=device).manual_seed(seed)
    with torch.no_grad():
        out, rates = model(torch.as_tensor(batch.inputs, device=device), noise=noise, generator=gen)
    return {"rates": rates.cpu().numpy(), "outputs": out.cpu().numpy()}


def behaviour_of(model: CTRNN, task: TwoOrientationTask, batch, seed: int = 0) -> dict:
    """Error summary (:func:`wmgeom.analysis.behaviour.error_summary`) of ``model``."""
    res = run_trials(model, batch, noise=True, seed=seed)
    rep = report_outputs(res["outputs"], batch.mask)
    r1, r2 = behaviour.reports_from_outputs(rep)
    ordinal = rep[:, 4] if task.config.ordinal else None
    return behaviour.error_summary(batch.theta1, batch.theta2, r1, r2, ordinal)


def record(
    model: CTRNN,
    task: TwoOrientationTask,
    batch,
    noise: bool,
    seed: int = 0,
    attrs: dict | None = None,
) -> xr.Dataset:
    """Activations of ``model`` on ``batch`` as a self-describing xarray Dataset (SPEC D1).

    Dims ``trial``, ``time`` (ms), ``unit``, ``unit_pre``, ``output``, ``input``; variables
    ``rates``, ``outputs``, ``inputs``, ``targets``, ``theta1``, ``theta2`` (degrees),
    ``<epoch>_start`` / ``<epoch>_stop`` (time steps) and ``recurrent_weight``
    (``[unit, unit_pre]``, post × pre).
    """
    res = run_trials(model, batch, noise=noise, seed=seed)
    B, T, N = res["rates"].shape
    ds = xr.Dataset(
        {
            "rates": (("trial", "time", "unit"), res["rates"]),
            "outputs": (("trial", "time", "output"), res["outputs"]),
            "inputs": (("trial", "time", "input"), batch.inputs),
            "targets": (("trial", "time", "output"), batch.targets),
            "theta1": ("trial", batch.theta1),
            "theta2": ("trial", batch.theta2),
            "recurrent_weight": (
                ("unit", "unit_pre"),
                model.recurrent.weight.detach().cpu().numpy(),
            ),
            **{f"{e}_start": ("trial", batch.epoch_start[e]) for e in EPOCHS},
            **{f"{e}_stop": ("trial", batch.epoch_stop[e]) for e in EPOCHS},
        },
        coords={
            "trial": np.arange(B),
            "time": np.arange(T) * task.config.dt,
            "unit": np.arange(N),
            "unit_pre": np.arange(N),
            "output": list(task.output_names),
        },
        attrs={"noise": int(noise), "dt_ms": task.config.dt, **(attrs or {})},
    )
    ds["theta1"].attrs["units"] = ds["theta2"].attrs["units"] = "degrees"
    ds["time"].attrs["units"] = "ms"
    return ds


def write_dataset(ds: xr.Dataset, path: Path) -> None:
    """Write a Dataset to netCDF atomically."""
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf")


def _step(ds: xr.Dataset, epoch: str, which: str = "last") -> int:
    """Time step of ``epoch`` (first or last) in time-aligned recordings."""
    if which == "last":
        return int(ds[f"{epoch}_stop"].values[0]) - 1
    return int(ds[f"{epoch}_start"].values[0])


def analyse_condition(
    acts: xr.Dataset, grid: xr.Dataset, settings: AnalysisSettings, ordinal: bool
) -> dict[str, Any]:
    """Every A9 analysis of one condition from its recordings (pure; no disk access).

    Returns:
        dict with ``numbers`` (flat floats for the summary) and the tables and arrays the
        figures use: ``errors``, ``bias``, ``geometry``, ``grid_pca``, ``diagrams``,
        ``groups``, ``profile``, ``ring``, ``tuning``, ``ctd``.
    """
    s = settings
    th1, th2 = acts["theta1"].values, acts["theta2"].values
    t = np.arange(acts.sizes["time"])[None, :]
    mask = (t >= acts["report_start"].values[:, None]) & (t < acts["report_stop"].values[:, None])
    rep = report_outputs(acts["outputs"].values, mask[..., None].astype(float))
    r1, r2 = behaviour.reports_from_outputs(rep)
    beh = behaviour.error_summary(
        th1, th2, r1, r2, rep[:, 4] if ordinal else None, s.repulsion_max_diff
    )
    e1, e2 = behaviour.report_errors(th1, r1), behaviour.report_errors(th2, r2)
    bias = behaviour.bias_curve(th1, th2, e1, e2)

    t_mem = _step(grid, "delay2")
    states = grid["rates"].values[:, t_mem]
    g1, g2 = grid["theta1"].values, grid["theta2"].values
    geom = manifold.torus_geometry(states, g1, g2)
    diagrams = topology.persistence_diagrams(states, maxdim=2, n_points=s.topology_points)
    betti = topology.betti_numbers(diagrams, s.betti_rel_threshold)
    rel = topology.lifetimes(diagrams, top=3, relative=True)
    rel_life = {
        f"h{k}_lifetime{i + 1}_rel": float(rel[k][i]) if len(rel[k]) > i else 0.0
        for k in (1, 2)
        for i in range(3)
    }

    groups = connectivity.group_units(states, g1, g2, s.min_r2)
    W = acts["recurrent_weight"].values
    profile = connectivity.connectivity_profile(W, groups, s.connectivity_bins)
    ring = connectivity.ring_summary(profile)

    rates = acts["rates"].values
    early, late = _step(acts, "delay1"), _step(acts, "delay2")
    tuning = dynamics.tuning_change(
        rates[:, early], rates[:, late], th1, s.tuning_bins, s.min_r2, s.max_corr
    )
    ctd = dynamics.cross_temporal_decoding(rates, th1, s.decoding_alpha, s.decoding_folds)
    tuned = tuning[tuning["tuned"]]
    ring_t = ring.set_index(["post_group", "pre_group"])

    def _ring(g: str) -> float:
        return float(ring_t.loc[(g, g), "contrast"]) if (g, g) in ring_t.index else float("nan")

    numbers = {
        **beh,
        **{k: (float(v) if not isinstance(v, bool) else v) for k, v in geom.items()},
        "betti0": betti[0],
        "betti1": betti[1],
        "betti2": betti[2],
        **rel_life,
        "n_theta1_units": int((groups["group"] == "theta1").sum()),
        "n_theta2_units": int((groups["group"] == "theta2").sum()),
        "ring_contrast_theta1": _ring("theta1"),
        "ring_contrast_theta2": _ring("theta2"),
        "fraction_tuning_changed": dynamics.fraction_changed(tuning),
        "median_tuning_corr": float(tuned["corr"].median()) if len(tuned) else float("nan"),
        "median_abs_shift_deg": float(tuned["shift_deg"].abs().median())
        if len(tuned)
        else float("nan"),
        "ctd_within_delay1_deg": float(ctd[early, early]),
        "ctd_delay1_to_delay2_deg": float(ctd[early, late]),
        "ctd_within_delay2_deg": float(ctd[late, late]),
    }
    return {
        "numbers": numbers,
        "errors": pd.DataFrame({"theta1": th1, "theta2": th2, "error1_deg": e1, "error2_deg": e2}),
        "bias": bias,
        "geometry": geom,
        "grid_pca": manifold.pca(states, n_components=6),
        "grid_theta": (g1, g2),
        "diagrams": diagrams,
        "groups": groups,
        "weights": W,
        "profile": profile,
        "ring": ring,
        "tuning": tuning,
        "ctd": ctd,
        "ctd_marks": {
            "delay1_end": early,
            "delay2_end": late,
            "stimulus2": _step(acts, "stimulus2", "first"),
        },
        "time_ms": acts["time"].values,
    }


# --------------------------------------------------------------------------- the study


def train_condition(
    config: OrientationStudyConfig,
    condition: Condition,
    run_dir: Path,
    progress: bool = True,
    resume: bool = False,
):
    """Train one condition with the shared trainer; return ``(task, model, TrainResult)``."""
    task, model = build_condition(config, condition)
    eval_batch = task.sample(256, np.random.default_rng(config.seed + 1), fixed_delays=True)
    bs = config.train.batch_size

    def sample_fn(rng: np.random.Generator):
        return task.sample(bs, rng)

    def evaluate_fn(m):
        return [{"split": "eval", **behaviour_of(m, task, eval_batch, seed=config.seed)}]

    fingerprint = content_key(
        {
            "study": config.model_dump(mode="json", exclude={"conditions", "analysis"}),
            "condition": condition.model_dump(),
        }
    )
    trainer = Trainer(
        model,
        orientation_loss,
        sample_fn,
        config.train,
        run_dir,
        evaluate_fn=evaluate_fn,
        fingerprint=fingerprint,
        progress=progress,
    )
    result = trainer.fit(resume=resume)
    model.eval()
    return task, model, result


def run_orientation_study(
    out_dir: str | Path,
    config: OrientationStudyConfig | None = None,
    progress: bool = True,
    resume: bool = False,
) -> dict[str, Any]:
    """Train, record and analyse every condition; write tables, figures, summary, report.

    Args:
        out_dir: run directory.
        config: study config (quick profile defaults if ``None``).
        progress: progress bars.
        resume: continue training from checkpoints in ``out_dir``.

    Returns:
        The summary written to ``summary.json``.
    """
    config = config or OrientationStudyConfig()
    threads = torch.get_num_threads()
    if config.torch_threads is not None:
        # The network's matrices are tiny: extra threads only add contention.
        torch.set_num_threads(config.torch_threads)
    try:
        return _run(Path(out_dir), config, progress, resume)
    finally:
        torch.set_num_threads(threads)


def _run(out: Path, config: OrientationStudyConfig, progress: bool, resume: bool) -> dict:
    from wmgeom.config import dump_config
    from wmgeom.report import orientation as figs

    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "config.yaml", dump_config(config))
    t0 = time.perf_counter()
    results, per_condition = {}, {}
    for cond in config.conditions:
        cdir = out / "conditions" / cond.name
        task, model, res = train_condition(config, cond, cdir / "train", progress, resume)
        attrs = {
            "condition": cond.name,
            "rate_noise": cond.rate_noise,
            "ordinal": int(cond.ordinal),
            "config": json.dumps(config.model_dump(mode="json")),
        }
        rng = np.random.default_rng(config.seed + 2)
        eval_batch = task.sample(config.analysis.n_eval_trials, rng, fixed_delays=True)
        acts = record(model, task, eval_batch, noise=True, seed=config.seed, attrs=attrs)
        t1, t2 = task.grid(config.analysis.n_grid)
        grid_batch = task.sample(len(t1), rng, t1, t2, fixed_delays=True, input_noise=False)
        grid = record(model, task, grid_batch, noise=False, attrs=attrs)
        write_dataset(acts, cdir / "activations.nc")
        write_dataset(grid, cdir / "grid.nc")
        results[cond.name] = analyse_condition(acts, grid, config.analysis, cond.ordinal)
        per_condition[cond.name] = {
            "rate_noise": cond.rate_noise,
            "ordinal": cond.ordinal,
            "iterations": res.iterations,
            "train_seconds": res.seconds,
            **results[cond.name]["numbers"],
        }
    write_tables(out / "analysis", results)
    figs.write_figures(out / "figures", results, config.default_condition)
    summary = {
        "study": "two-orientation",
        "default_condition": config.default_condition,
        "median_error_deg": per_condition[config.default_condition]["median_error_deg"],
        "seconds": time.perf_counter() - t0,
        "conditions": per_condition,
    }
    write_json_atomic(out / "summary.json", summary)
    from wmgeom.report.html import write_report

    write_report(out)
    return summary


def write_tables(analysis_dir: Path, results: dict[str, dict[str, Any]]) -> None:
    """Write the analysis tables of every condition as CSV (one file per analysis)."""

    def cat(key: str, index: bool = False) -> pd.DataFrame:
        frames = []
        for name, r in results.items():
            df = r[key].reset_index() if index else r[key].copy()
            df.insert(0, "condition", name)
            frames.append(df)
        return pd.concat(frames, ignore_index=True)

    tables = {
        "conditions": behaviour.compare_conditions(
            {n: r["numbers"] for n, r in results.items()}
        ).reset_index(),
        "bias_curve": cat("bias"),
        "report_errors": cat("errors"),
        "unit_groups": cat("groups", index=True),
        "connectivity_profile": cat("profile"),
        "ring_summary": cat("ring"),
        "tuning_change": cat("tuning", index=True),
    }
    frames = []
    for name, r in results.items():
        T = r["ctd"].shape[0]
        frames.append(
            pd.DataFrame(
                {
                    "condition": name,
                    "train_time_ms": np.repeat(r["time_ms"], T),
                    "test_time_ms": np.tile(r["time_ms"], T),
                    "error_deg": r["ctd"].ravel(),
                }
            )
        )
    tables["cross_temporal_decoding"] = pd.concat(frames, ignore_index=True)
    for key, df in tables.items():
        with atomic_path(analysis_dir / f"{key}.csv") as tmp:
            df.to_csv(tmp, index=False)
