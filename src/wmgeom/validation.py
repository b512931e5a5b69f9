"""The rules values must pass, shared by the config models and the public functions.

Each ``check_*`` function returns the value (as the type it checked) or raises
:class:`~wmgeom.errors.ArgumentError` — a ``ValueError`` — whose one line names the
argument, its value and what it must be: ``seed = -1: a seed is a non-negative integer``.
The config models call the same functions with ``name=None`` (:data:`Seed`,
:func:`pydantic_rule`): pydantic then names the value by its dotted key
(``config: train.seed = -1: a seed is a non-negative integer``), so a config file and a
Python call are refused by the same rule in the same words.

Booleans are never taken for numbers, and a number is finite unless a rule says otherwise.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Annotated, Any

import numpy as np
from pydantic import AfterValidator

from wmgeom.errors import ArgumentError

__all__ = ["Seed", "check_array", "check_choice", "check_increasing", "check_integer",
           "check_number", "check_seed", "check_unique", "pydantic_rule"]


def _show(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def fail(name: str | None, value: Any, reason: str) -> None:
    """Raise the one-line :class:`ArgumentError` of a refused ``value``."""
    if name is None:
        raise ArgumentError(reason)
    if isinstance(value, np.ndarray) or value is _NO_VALUE:
        raise ArgumentError(f"{name}: {reason}")
    raise ArgumentError(f"{name} = {_show(value)}: {reason}")


_NO_VALUE = object()


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool | np.bool_)


def check_integer(value: Any, name: str | None = None, minimum: int | None = None,
                  maximum: int | None = None) -> int:
    """``value`` as an ``int`` (numpy integers too; not a bool, a float or a string).

    Raises:
        ArgumentError: If it is not an integer or lies outside ``[minimum, maximum]``.
    """
    if _is_bool(value) or not isinstance(value, numbers.Integral):
        fail(name, value, "give an integer" + (f" >= {minimum}" if minimum is not None else ""))
    value = int(value)
    if minimum is not None and value < minimum:
        fail(name, value, f"must be at least {minimum}")
    if maximum is not None and value > maximum:
        fail(name, value, f"must be at most {maximum}")
    return value


def check_seed(value: Any, name: str | None = None) -> int:
    """A random seed: a non-negative integer (what numpy and torch accept).

    Raises:
        ArgumentError: Otherwise.
    """
    if _is_bool(value) or not isinstance(value, numbers.Integral) or value < 0:
        fail(name, value, "a seed is a non-negative integer (0, 1, 2, ...)")
    return int(value)


def check_number(value: Any, name: str | None = None, minimum: float | None = None,
                 maximum: float | None = None, positive: bool = False) -> float:
    """``value`` as a finite ``float`` (not a bool), optionally bounded.

    Args:
        value: The value.
        name: The argument's name for the message (None: the rule alone).
        minimum, maximum: Inclusive bounds.
        positive: Require ``value > 0``.

    Raises:
        ArgumentError: If it is not a finite number or lies out of bounds.
    """
    if _is_bool(value) or not isinstance(value, numbers.Real):
        fail(name, value, "give a number")
    value = float(value)
    if not np.isfinite(value):
        fail(name, value, "must be a finite number")
    if positive and value <= 0:
        fail(name, value, "must be positive")
    if minimum is not None and value < minimum:
        fail(name, value, f"must be at least {minimum}")
    if maximum is not None and value > maximum:
        fail(name, value, f"must be at most {maximum}")
    return value


def check_choice(value: Any, choices: Iterable[Any], name: str | None = None) -> Any:
    """``value`` if it is one of ``choices``.

    Raises:
        ArgumentError: Listing the choices.
    """
    choices = list(choices)
    try:
        if value in choices:
            return value
    except TypeError:  # an unhashable or incomparable value
        pass
    fail(name, value, f"choose one of {', '.join(map(repr, choices))}")
    return value


def check_unique(values: Sequence[Any], name: str | None = None) -> Sequence[Any]:
    """``values`` if none of them appears twice.

    Raises:
        ArgumentError: Naming the repeated values.
    """
    seen, repeated = set(), []
    for v in values:
        key = repr(v)
        if key in seen and v not in repeated:
            repeated.append(v)
        seen.add(key)
    if repeated:
        fail(name, list(values), f"lists {', '.join(map(repr, repeated))} more than once; "
             "give each value once")
    return values


def check_increasing(values: Sequence[Any], name: str | None = None) -> Sequence[Any]:
    """``values`` if they strictly increase.

    Raises:
        ArgumentError: Otherwise.
    """
    if any(b <= a for a, b in zip(values, values[1:], strict=False)):
        fail(name, list(values), "must increase")
    return values


def check_array(value: Any, name: str, ndim: int | None = None, min_rows: int = 1,
                min_columns: int | None = None, finite: bool = True) -> np.ndarray:
    """``value`` as a float64 array of ``ndim`` dimensions with finite entries.

    Args:
        value: Array-like.
        name: The argument's name.
        ndim: The number of dimensions it must have (None: any).
        min_rows: The fewest entries along the first axis.
        min_columns: The fewest entries along the last axis (None: any).
        finite: Refuse NaN and infinite entries.

    Raises:
        ArgumentError: If it is not numeric, has another shape, or holds non-finite values.
    """
    if isinstance(value, np.ndarray) and value.dtype == bool:
        fail(name, value, "give numbers, not booleans")
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        fail(name, _NO_VALUE, "give a numeric array")
    if ndim is not None and array.ndim != ndim:
        fail(name, array, f"must be a {ndim}-D array, got shape {array.shape}")
    if array.ndim and array.shape[0] < min_rows:
        fail(name, array, f"needs at least {min_rows} row{'s' if min_rows != 1 else ''}")
    if min_columns is not None and array.ndim and array.shape[-1] < min_columns:
        fail(name, array, f"needs at least {min_columns} column"
             f"{'s' if min_columns != 1 else ''}")
    if finite and not np.isfinite(array).all():
        bad = int((~np.isfinite(array)).sum())
        fail(name, array, f"holds {bad} NaN or infinite value{'s' if bad != 1 else ''}; "
             "give finite values")
    return array


def pydantic_rule(check: Callable[..., Any], **options: Any) -> AfterValidator:
    """A pydantic validator running ``check(value, None, **options)`` (the rule's message
    without a name: pydantic names the key)."""
    return AfterValidator(lambda v: check(v, None, **options))


#: A config field holding a random seed (a non-negative integer).
Seed = Annotated[int, pydantic_rule(check_seed)]
