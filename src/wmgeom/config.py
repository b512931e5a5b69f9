"""Validated configurations and named profiles, shared by every study.

A study describes a run by one pydantic model (``NBackConfig``, ``OrientationConfig``)
whose sections belong to the stages (``StimulusConfig``, ``TrainConfig``, ...). Profiles
are starting points — ``quick`` (the default: a CPU run of minutes) and ``paper`` (the
paper's setup, for a GPU) — that a YAML file overrides key by key. Every value is validated;
an unknown key or a bad value becomes one :class:`~wmgeom.errors.WmgeomError` line that
names the key and the value. Every section is a :class:`StrictModel`: no unknown keys, no
NaN or infinite numbers, no ``true``/``false`` where a number belongs; the rules of single
values (seeds, ...) are those of :mod:`wmgeom.validation`, which the public functions apply
to their arguments too.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar, get_args

import yaml
from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from wmgeom.errors import WmgeomError, validated
from wmgeom.io import read_yaml

__all__ = ["StrictModel", "deep_merge", "dump_config", "load_config", "make_config"]

T = TypeVar("T", bound=BaseModel)


def _numeric(annotation: Any) -> bool:
    """Whether a field's type takes numbers and not booleans (``int``, ``list[float]``...)."""
    if annotation is bool:
        return False
    args = get_args(annotation)
    if not args:
        return annotation in (int, float)
    parts = [a for a in args if isinstance(a, type) or get_args(a)]
    return any(_numeric(a) for a in parts) and not any(_has_bool(a) for a in parts)


def _has_bool(annotation: Any) -> bool:
    return annotation is bool or any(_has_bool(a) for a in get_args(annotation))


def _holds_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    return isinstance(value, list | tuple) and any(_holds_bool(v) for v in value)


class StrictModel(BaseModel):
    """A config section: unknown keys, NaN and infinite numbers, and ``true``/``false`` where
    a number belongs are refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _booleans_are_not_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is not None and _holds_bool(value) and _numeric(field.annotation):
            raise ValueError("give a number, not true/false")
        return value


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
    if not isinstance(profile, str) or profile not in profiles:
        raise WmgeomError(f"unknown profile {_quoted(profile)}; choose one of "
                          f"{', '.join(profiles)}.")
    data = deep_merge(model().model_dump(mode="json"), profiles[profile])
    data = deep_merge(data, {**(overrides or {}), "profile": profile})
    return validated(model, data, prefix)


def _quoted(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else repr(value)


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
