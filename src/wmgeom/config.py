"""Validated run configuration and the named profiles (SPEC U1, U2, L1).

A run is described by one :class:`RunConfig`. Profiles are starting points —
``quick`` (the default: a CPU run of minutes) and ``paper`` (seed 000's setup for a
GPU) — that a YAML file overrides key by key. Every value is validated by pydantic;
an unknown key or a bad value becomes one :class:`~wmgeom.errors.WmgeomError` line
that names the key and the value.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from wmgeom.errors import WmgeomError
from wmgeom.stimuli.stimset import StimulusConfig
from wmgeom.train.trainer import TrainConfig

PROFILES = ("quick", "paper")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TaskSettings(_Strict):
    """Which N-back tasks a model trains on (SPEC R1, T1, T2)."""

    regime: Literal["STSF", "STMF", "MTMF"] = "MTMF"
    task: str | None = Field(None, description="STSF: the task name, e.g. nback-2-location")
    n: int | None = Field(None, description="STMF: the N whose three features are trained")
    n_values: list[int] = Field(default_factory=lambda: [1, 2, 3])
    length: int = Field(6, ge=2)

    @model_validator(mode="after")
    def _check(self) -> TaskSettings:
        if not self.n_values or any(n < 1 for n in self.n_values):
            raise ValueError(f"n_values must be positive integers, got {self.n_values}")
        if max(self.n_values) >= self.length:
            raise ValueError(
                f"every N must be smaller than the sequence length {self.length}, "
                f"got n_values={self.n_values}"
            )
        if self.regime == "STSF" and self.task is None:
            raise ValueError("regime STSF needs tasks.task, e.g. nback-1-location")
        if self.regime == "STMF" and self.n is None:
            raise ValueError("regime STMF needs tasks.n, e.g. 2")
        return self


class ModelSettings(_Strict):
    """The sensory-cognitive model (SPEC M1–M3)."""

    backbone: Literal["efficientnet_lite0", "resnet50"] = "efficientnet_lite0"
    weights: str | None = Field(
        None, description="None = ImageNet weights; a path to a state_dict file; or 'random'"
    )
    architecture: Literal["rnn", "gru", "lstm"] = "gru"
    hidden_size: int = Field(128, ge=1)
    channel_components: int | None = Field(
        128, ge=1, description="PCA of backbone channels before the 1x1 conv; None keeps all"
    )
    online: bool = Field(False, description="run the backbone in the loop instead of the cache")


class EvalSettings(_Strict):
    """Evaluation during training (SPEC R3)."""

    trials_per_task: int = Field(64, ge=1)
    criterion_train: float = Field(0.95, gt=0, le=1)
    criterion_val_angle: float = Field(0.90, gt=0, le=1)


class RecordSettings(_Strict):
    """What ``record`` stores (SPEC D1)."""

    trials_per_task: int = Field(96, ge=2)
    splits: list[Literal["train", "val_angle", "val_identity"]] = Field(
        default_factory=lambda: ["train", "val_angle", "val_identity"]
    )
    perceptual_components: int = Field(128, ge=2)
    seed: int = 12345


class RunConfig(_Strict):
    """Everything a ``wmgeom run`` does, resolved and saved as ``config.yaml``."""

    study: Literal["nback"] = "nback"
    profile: Literal["quick", "paper"] = "quick"
    device: str = "auto"
    stimuli: StimulusConfig = Field(default_factory=StimulusConfig)
    tasks: TaskSettings = Field(default_factory=TaskSettings)
    model: ModelSettings = Field(default_factory=ModelSettings)
    train: TrainConfig = Field(default_factory=TrainConfig)
    eval: EvalSettings = Field(default_factory=EvalSettings)
    record: RecordSettings = Field(default_factory=RecordSettings)


_PROFILE_OVERRIDES: dict[str, dict[str, Any]] = {
    "quick": {
        "stimuli": {"elevations": [15.0]},
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


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` applied key by key onto a copy of ``base`` (nested dicts merge)."""
    out = copy.deepcopy(base)
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def format_validation_error(exc: ValidationError, prefix: str = "config") -> str:
    """One line per problem: ``config: model.hidden_size = -3: Input should be ≥ 1``."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            parts.append(f"unknown key '{loc}'")
        elif "input" in err and not isinstance(err["input"], dict):
            parts.append(f"{loc} = {err['input']!r}: {msg}")
        else:
            parts.append(f"{loc}: {msg}")
    return f"{prefix}: " + "; ".join(parts)


def make_config(profile: str = "quick", overrides: dict[str, Any] | None = None) -> RunConfig:
    """The ``profile``'s config with ``overrides`` (a nested dict) applied and validated."""
    if profile not in PROFILES:
        raise WmgeomError(f"unknown profile '{profile}'; choose one of {', '.join(PROFILES)}.")
    data = deep_merge({"profile": profile}, _PROFILE_OVERRIDES[profile])
    data = deep_merge(data, overrides or {})
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise WmgeomError(format_validation_error(exc)) from None


def read_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML mapping from ``path``, with clear errors for a missing or malformed file."""
    path = Path(path)
    if not path.is_file():
        raise WmgeomError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise WmgeomError(f"config file {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise WmgeomError(f"config file {path} must hold a mapping of keys, not {type(data).__name__}")
    return data


def load_config(path: str | Path | None = None, profile: str | None = None) -> RunConfig:
    """Profile (from the argument, else the file's ``profile`` key, else quick) + YAML file."""
    data = read_yaml(path) if path else {}
    profile = profile or data.get("profile") or "quick"
    data.pop("profile", None)
    return make_config(profile, data)


def dump_config(config: BaseModel) -> str:
    """The resolved config as YAML text."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
