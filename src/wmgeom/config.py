"""Validated configurations and named profiles, shared by every study (SPEC U1, U2, L1).

A study describes a run by one pydantic model (``NBackConfig``, ``OrientationConfig``)
whose sections belong to the stages (``StimulusConfig``, ``TrainConfig``, ...). Profiles
are starting points — ``quick`` (the default: a CPU run of minutes) and ``paper`` (the
seed's setup, for a GPU) — that a YAML file overrides key by key. Every value is validated;
an unknown key or a bad value becomes one :class:`~wmgeom.errors.WmgeomError` line that
names the key and the value.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict

from wmgeom.errors import WmgeomError, validated
from wmgeom.io import read_yaml

__all__ = ["StrictModel", "deep_merge", "dump_config", "load_config", "make_config"]

T = TypeVar("T", bound=BaseModel)


class StrictModel(BaseModel):
    """A config section: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")


def deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` applied key by key onto a copy of ``base`` (nested dicts merge)."""
    out = copy.deepcopy(base)
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def make_config(model: type[T], profiles: Mapping[str, Mapping[str, Any]],
                profile: str = "quick", overrides: Mapping[str, Any] | None = None,
                prefix: str = "config") -> T:
    """``model``'s defaults, then the ``profile``'s values, then ``overrides``, validated.

    Raises:
        WmgeomError: For an unknown profile or any invalid value (one line naming the key).
    """
    if profile not in profiles:
        raise WmgeomError(f"unknown profile '{profile}'; choose one of {', '.join(profiles)}.")
    data = deep_merge(model().model_dump(mode="json"), profiles[profile])
    data = deep_merge(data, {**(overrides or {}), "profile": profile})
    return validated(model, data, prefix)


def load_config(model: type[T], profiles: Mapping[str, Mapping[str, Any]],
                path: str | Path | None = None, profile: str | None = None,
                prefix: str = "config") -> T:
    """Profile (the argument, else the file's ``profile`` key, else quick) + the YAML file."""
    data = read_yaml(path) if path else {}
    profile = profile or data.get("profile") or "quick"
    data.pop("profile", None)
    return make_config(model, profiles, profile, data, prefix)


def dump_config(config: BaseModel) -> str:
    """The resolved config as YAML text."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
